//! The methods each path answers, for the `Allow` header of a 405 (RFC 9110 §15.5.6 requires
//! it; poem's router does not set it).
//!
//! The table is built once from the API's own operation metadata (documented operations) plus
//! the few hidden page routes that share a documented path.

use std::sync::OnceLock;

use poem::http::Method;
use poem_openapi::OpenApi;

use crate::http::api::Apis;

/// Hidden routes (browser pages) on paths that also carry documented operations.
const HIDDEN_ROUTES_ON_DOCUMENTED_PATHS: &[(&str, Method)] = &[("/api/auth/sessions/{session_id}/input", Method::POST)];

enum Segment {
    Literal(String),
    Parameter,
}

struct AllowedMethods {
    segments: Vec<Segment>,
    methods: Vec<Method>,
}

fn segments(template: &str) -> Vec<Segment> {
    template
        .trim_start_matches('/')
        .split('/')
        .map(|part| {
            if part.starts_with('{') || part.starts_with(':') {
                Segment::Parameter
            } else {
                Segment::Literal(part.to_owned())
            }
        })
        .collect()
}

fn table() -> &'static [AllowedMethods] {
    static TABLE: OnceLock<Vec<AllowedMethods>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table: Vec<AllowedMethods> = Vec::new();
        let mut add = |template: &str, method: Method| {
            let key = segments(template);
            match table.iter_mut().find(|entry| same_template(&entry.segments, &key)) {
                Some(entry) if !entry.methods.contains(&method) => entry.methods.push(method),
                Some(_) => {}
                None => table.push(AllowedMethods {
                    segments: key,
                    methods: vec![method],
                }),
            }
        };
        for api in <Apis as OpenApi>::meta() {
            for path in api.paths {
                for operation in path.operations {
                    add(&path.path, operation.method);
                }
            }
        }
        for (template, method) in HIDDEN_ROUTES_ON_DOCUMENTED_PATHS {
            add(template, method.clone());
        }
        table
    })
}

fn same_template(a: &[Segment], b: &[Segment]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|pair| match pair {
            (Segment::Literal(x), Segment::Literal(y)) => x == y,
            (Segment::Parameter, Segment::Parameter) => true,
            _ => false,
        })
}

fn matches(template: &[Segment], path: &str) -> bool {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    parts.len() == template.len()
        && template.iter().zip(&parts).all(|(segment, part)| match segment {
            Segment::Literal(literal) => literal == part,
            Segment::Parameter => !part.is_empty(),
        })
}

/// The `Allow` value for `path` (`GET, POST`), when a documented route has that path.
pub(super) fn allow_header(path: &str) -> Option<String> {
    let mut methods: Vec<&str> = Vec::new();
    for entry in table().iter().filter(|entry| matches(&entry.segments, path)) {
        for method in &entry.methods {
            if !methods.contains(&method.as_str()) {
                methods.push(method.as_str());
            }
        }
    }
    (!methods.is_empty()).then(|| methods.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_and_hidden_methods_are_allowed() {
        assert_eq!(allow_header("/api/whoami").as_deref(), Some("GET"));
        let audit = allow_header("/api/audit/events").unwrap_or_default();
        assert!(audit.contains("GET") && audit.contains("POST"), "{audit}");
        let input = allow_header("/api/auth/sessions/abc/input").unwrap_or_default();
        assert!(input.contains("GET") && input.contains("POST"), "{input}");
        assert_eq!(allow_header("/nowhere"), None);
    }
}
