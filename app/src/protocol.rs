//! Which authsome protocol this server speaks: the reference release whose CLI and stored
//! records it is compatible with. Reported by `GET /health`, the metrics' build info and
//! `authsome --version`; kept here so that none of them depends on another.

/// The protocol version (0.7.2's CLI restarts a daemon on its default address whose
/// `GET /health` version differs from its own, so this is what we report there).
pub const PROTOCOL_VERSION: &str = "0.7.2";

/// What `authsome --version` prints after the name: ours, then the protocol's.
pub const VERSION_TEXT: &str = concat!(env!("CARGO_PKG_VERSION"), " (authsome protocol 0.7.2)");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_names_the_protocol_spoken() {
        assert!(VERSION_TEXT.ends_with(&format!("(authsome protocol {PROTOCOL_VERSION})")));
    }
}
