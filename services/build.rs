//! Embeds the bundled provider definitions (`providers/*.json`) in the binary, so that the
//! catalog needs no files at run time.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=providers");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("providers");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut code = String::from(
        "/// `(file name, JSON text)` of every bundled provider definition.\npub(crate) const BUNDLED_PROVIDERS: &[(&str, &str)] = &[\n",
    );
    for name in &names {
        let path = dir.join(name);
        let _ = writeln!(code, "    ({name:?}, include_str!({:?})),", path.display().to_string());
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|_| ".".to_owned())).join("bundled_providers.rs");
    if let Err(error) = std::fs::write(&out, code) {
        println!("cargo:warning=cannot write {}: {error}", out.display());
    }
}
