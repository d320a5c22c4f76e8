//! Where a browser may be sent after a form or a sign-in: a path on this server, never
//! another site.
//!
//! The value arrives from the browser (`next=` in a query or a form), so it is hostile. A
//! browser resolves a `Location` after stripping every tab and newline from it and reading
//! `\` as `/`, so `/\t/evil.example` and `/\evil.example` both mean `//evil.example`, another
//! host. The rule is therefore strict: printable ASCII only (no spaces, tabs, newlines or
//! other controls, nothing a header cannot carry as it is), a leading `/`, and neither `/`
//! nor `\` after it. Anything else returns to `/`.

/// A local path to return to (`/` when what was asked for is not one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnPath(String);

impl ReturnPath {
    /// `candidate` when it is a local path by the rule above, else `/`.
    pub fn parse(candidate: Option<&str>) -> Self {
        match candidate {
            Some(path) if Self::is_local(path) => Self(path.to_owned()),
            _ => Self("/".to_owned()),
        }
    }

    fn is_local(path: &str) -> bool {
        path.as_bytes().first() == Some(&b'/')
            && !matches!(path.as_bytes().get(1), Some(b'/' | b'\\'))
            && path.bytes().all(|byte| byte.is_ascii_graphic())
    }

    /// The path.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(candidate: &str) -> String {
        ReturnPath::parse(Some(candidate)).into_string()
    }

    #[test]
    fn local_paths_are_kept() {
        for path in [
            "/",
            "/claim?token=abc",
            "/connections/detail?provider=openai&connection=default",
            "/a\\b",
        ] {
            assert_eq!(parsed(path), path);
        }
        assert_eq!(ReturnPath::parse(None).as_str(), "/");
    }

    #[test]
    fn anything_a_browser_could_read_as_another_site_returns_home() {
        for hostile in [
            "//evil.example/steal",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "https://evil.example/",
            "evil.example",
            " /evil",
            "/ /evil",
            "/caf\u{e9}",
            "/\u{0}",
            "",
        ] {
            assert_eq!(parsed(hostile), "/", "{hostile:?}");
        }
    }
}
