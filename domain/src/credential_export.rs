//! The pure rules of `authsome export`: the variable names a connection's values get, how
//! collisions between connections are told apart, and the three text formats. The reference
//! daemon's naming, kept byte for byte because people `eval` its output.

use serde_json::Value;

/// `<NAME>` of export variables: upper case, runs of other characters as `_`, trimmed.
pub fn export_name_part(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut pending_underscore = false;
    for c in value.to_uppercase().chars() {
        if c.is_ascii_uppercase() || c.is_ascii_digit() {
            if pending_underscore && !out.is_empty() {
                out.push('_');
            }
            pending_underscore = false;
            out.push(c);
        } else {
            pending_underscore = true;
        }
    }
    out
}

/// A variable name that none of `existing` has: `<NAME>_<PROVIDER>_<CONNECTION>`, then with
/// `_2`, `_3`... appended.
pub fn disambiguate(name: &str, provider: &str, connection: &str, existing: &[(String, String)]) -> String {
    let suffix: Vec<String> = [export_name_part(provider), export_name_part(connection)]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
    let suffix = suffix.join("_");
    let taken = |candidate: &str| existing.iter().any(|(n, _)| n == candidate);
    let mut candidate = if suffix.is_empty() {
        name.to_owned()
    } else {
        format!("{name}_{suffix}")
    };
    let mut counter = 2;
    while taken(&candidate) {
        candidate = if suffix.is_empty() {
            format!("{name}_{counter}")
        } else {
            format!("{name}_{suffix}_{counter}")
        };
        counter += 1;
    }
    candidate
}

/// Sets `name` to `value`: a name set twice keeps its first position (and takes the later
/// value), as a Python dict does in the reference.
pub fn put(values: &mut Vec<(String, String)>, name: String, value: String) {
    match values.iter_mut().find(|(n, _)| *n == name) {
        Some(existing) => existing.1 = value,
        None => values.push((name, value)),
    }
}

/// Export output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// `K=V` lines.
    Env,
    /// `export K=V` lines.
    Shell,
    /// A JSON object, two-space indent.
    Json,
}

impl ExportFormat {
    /// Parses `env`, `shell` or `json`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "env" => Some(Self::Env),
            "shell" => Some(Self::Shell),
            "json" => Some(Self::Json),
            _ => None,
        }
    }

    /// `values` in this format (no trailing newline, as the reference prints it).
    pub fn render(self, values: &[(String, String)]) -> String {
        let lines = |prefix: &str| {
            values
                .iter()
                .map(|(k, v)| format!("{prefix}{k}={v}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        match self {
            Self::Env => lines(""),
            Self::Shell => lines("export "),
            Self::Json if values.is_empty() => "{}".to_owned(),
            Self::Json => {
                let members: Vec<String> = values
                    .iter()
                    .map(|(k, v)| format!("  {}: {}", Value::String(k.clone()), Value::String(v.clone())))
                    .collect();
                format!("{{\n{}\n}}", members.join(",\n"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_names_follow_the_reference() {
        assert_eq!(export_name_part("brave-search-mcp"), "BRAVE_SEARCH_MCP");
        assert_eq!(export_name_part("  my conn!! "), "MY_CONN");
        assert_eq!(export_name_part("a.b_c"), "A_B_C");
        let existing = vec![
            ("X".to_owned(), "1".to_owned()),
            ("X_OPENAI_WORK".to_owned(), "2".to_owned()),
        ];
        assert_eq!(disambiguate("X", "openai", "work", &existing), "X_OPENAI_WORK_2");
    }

    #[test]
    fn a_name_set_twice_keeps_its_place_and_the_later_value() {
        let mut values = Vec::new();
        put(&mut values, "A".to_owned(), "1".to_owned());
        put(&mut values, "B".to_owned(), "2".to_owned());
        put(&mut values, "A".to_owned(), "3".to_owned());
        assert_eq!(
            values,
            [("A".to_owned(), "3".to_owned()), ("B".to_owned(), "2".to_owned())]
        );
    }

    #[test]
    fn formats_parse_and_render_as_the_reference_prints_them() {
        assert_eq!(ExportFormat::parse("shell"), Some(ExportFormat::Shell));
        assert_eq!(ExportFormat::parse("yaml"), None);
        let values = [("K".to_owned(), "v \"q\"".to_owned()), ("L".to_owned(), "w".to_owned())];
        assert_eq!(ExportFormat::Env.render(&values), "K=v \"q\"\nL=w");
        assert_eq!(ExportFormat::Shell.render(&values), "export K=v \"q\"\nexport L=w");
        assert_eq!(
            ExportFormat::Json.render(&values),
            "{\n  \"K\": \"v \\\"q\\\"\",\n  \"L\": \"w\"\n}"
        );
        assert_eq!(ExportFormat::Json.render(&[]), "{}");
    }
}
