//! Every response the in-process daemon gives is checked against the committed OpenAPI
//! document: an operation's status must be one it documents, and a JSON body must match the
//! schema documented for that status. A 405 for a documented path must name the allowed
//! methods. This runs for every request the test suites send through [`super::Daemon`], so
//! each suite is also a conformance test.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use poem::http::{HeaderMap, Method, StatusCode};
use serde_json::{Map, Value, json};

/// The committed document, converted once.
struct Document {
    /// Path templates with their operations (`get`, `post`, ...).
    paths: Vec<(Vec<Segment>, String, Map<String, Value>)>,
    /// The components, converted to JSON Schema.
    components: Value,
    /// Compiled validators by operation and status.
    validators: Mutex<HashMap<String, std::sync::Arc<jsonschema::Validator>>>,
}

enum Segment {
    Literal(String),
    Parameter,
}

fn document() -> &'static Document {
    static DOCUMENT: OnceLock<Document> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let committed: Value =
            serde_json::from_str(include_str!("../../../../openapi/openapi.json")).expect("committed document");
        let mut paths = Vec::new();
        for (template, item) in committed["paths"].as_object().expect("paths") {
            let segments: Vec<Segment> = template
                .trim_start_matches('/')
                .split('/')
                .map(|part| {
                    if part.starts_with('{') {
                        Segment::Parameter
                    } else {
                        Segment::Literal(part.to_owned())
                    }
                })
                .collect();
            paths.push((segments, template.clone(), item.as_object().expect("path item").clone()));
        }
        // Literal segments first, so `/api/identities/by-did/{did}` wins over
        // `/api/identities/{handle}/detail`-like neighbours.
        paths.sort_by_key(|(segments, _, _)| {
            segments
                .iter()
                .map(|s| matches!(s, Segment::Parameter) as usize)
                .collect::<Vec<_>>()
        });
        let components = json_schema(&committed["components"]);
        Document {
            paths,
            components,
            validators: Mutex::new(HashMap::new()),
        }
    })
}

/// OpenAPI 3.0 schema -> JSON Schema 2020-12: `nullable` becomes a `null` alternative.
fn json_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(object) => {
            let mut converted: Map<String, Value> = object
                .iter()
                .map(|(key, value)| (key.clone(), json_schema(value)))
                .collect();
            if converted.remove("nullable") == Some(Value::Bool(true)) {
                return json!({"anyOf": [Value::Object(converted), {"type": "null"}]});
            }
            converted.remove("discriminator");
            Value::Object(converted)
        }
        Value::Array(items) => Value::Array(items.iter().map(json_schema).collect()),
        other => other.clone(),
    }
}

fn matches(segments: &[Segment], path: &str) -> bool {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    parts.len() == segments.len()
        && segments.iter().zip(&parts).all(|(segment, part)| match segment {
            Segment::Literal(literal) => literal == part,
            Segment::Parameter => !part.is_empty(),
        })
}

/// Panics, naming the operation, when the response breaks the committed document.
#[track_caller]
pub(crate) fn check(method: &Method, uri: &str, status: StatusCode, headers: &HeaderMap, body: &[u8]) {
    let document = document();
    let path = uri.split('?').next().unwrap_or(uri);
    let Some((_, template, item)) = document.paths.iter().find(|(segments, _, _)| matches(segments, path)) else {
        return;
    };
    let method_name = method.as_str().to_ascii_lowercase();
    let Some(operation) = item.get(&method_name) else {
        if status == StatusCode::METHOD_NOT_ALLOWED {
            let allow = headers.get("allow").and_then(|v| v.to_str().ok()).unwrap_or("");
            for documented in item.keys() {
                assert!(
                    allow.to_ascii_lowercase().contains(documented.as_str()),
                    "405 for {method} {template} does not allow {documented}: Allow: {allow:?}"
                );
            }
        }
        return;
    };
    let responses = operation["responses"].as_object().expect("responses");
    let Some(response) = responses.get(status.as_str()).or_else(|| responses.get("default")) else {
        panic!(
            "{method} {template} answered {status}, which the document does not list ({:?}); body: {}",
            responses.keys().collect::<Vec<_>>(),
            String::from_utf8_lossy(body)
        );
    };
    let Some(schema) = response
        .pointer("/content/application~1json; charset=utf-8/schema")
        .or_else(|| response.pointer("/content/application~1json/schema"))
    else {
        return;
    };
    let instance: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!(
            "{method} {template} answered {status} with a body that is not JSON ({e}): {}",
            String::from_utf8_lossy(body)
        )
    });
    // One validator per documented response, compiled the first time it is needed.
    let validator = {
        let mut validators = document.validators.lock().expect("validators");
        validators
            .entry(format!("{method_name} {template} {status}"))
            .or_insert_with(|| {
                let mut root = json_schema(schema);
                if let Value::Object(root) = &mut root {
                    root.insert("components".to_owned(), document.components.clone());
                }
                std::sync::Arc::new(
                    jsonschema::draft202012::new(&root)
                        .unwrap_or_else(|e| panic!("schema of {method} {template} {status} does not compile: {e}")),
                )
            })
            .clone()
    };
    let problems: Vec<String> = validator
        .iter_errors(&instance)
        .take(5)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    if !problems.is_empty() {
        let body: String = instance.to_string().chars().take(1500).collect();
        panic!("{method} {template} answered {status} with a body that breaks its schema: {problems:?}; body: {body}");
    }
}
