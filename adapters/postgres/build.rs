//! `sqlx::migrate!` embeds the migration files at compile time but does not notice new files on
//! its own; without this line a new migration would silently be left out of the binary.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations/postgres");
}
