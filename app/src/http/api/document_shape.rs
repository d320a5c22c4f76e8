//! The last touch to the generated document, so that client generators read it as meant.
//!
//! poem-openapi documents a field whose type is a named schema and that has its own
//! description (or is nullable) as `allOf: [{"$ref": ...}, {"description": ...}]`. For an
//! object that is fine; for an enum or a union (`oneOf`), generators such as
//! openapi-python-client refuse it ("cannot take allOf a non-object") and drop the whole
//! model. Such fields are rewritten as `oneOf: [{"$ref": ...}]` with the description and
//! `nullable` beside it, which means the same and which every generator tried reads.

use serde_json::{Map, Value};

/// `document` with enum and union references no longer wrapped in `allOf`.
pub fn for_generators(mut document: Value) -> Value {
    let non_objects: Vec<String> = document
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|schemas| {
            schemas
                .iter()
                .filter(|(_, schema)| {
                    schema.get("type").and_then(Value::as_str) != Some("object")
                        || schema.get("oneOf").is_some()
                        || schema.get("anyOf").is_some()
                })
                .map(|(name, _)| format!("#/components/schemas/{name}"))
                .collect()
        })
        .unwrap_or_default();
    rewrite(&mut document, &non_objects);
    document
}

fn rewrite(value: &mut Value, non_objects: &[String]) {
    match value {
        Value::Object(object) => {
            if let Some(replacement) = unwrapped(object, non_objects) {
                *object = replacement;
            }
            for child in object.values_mut() {
                rewrite(child, non_objects);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rewrite(item, non_objects)),
        _ => {}
    }
}

/// `{"allOf": [{"$ref": R}, {patch}], ...}` with `R` a non-object, as `{"oneOf": [{"$ref": R}],
/// ...patch}`.
fn unwrapped(object: &Map<String, Value>, non_objects: &[String]) -> Option<Map<String, Value>> {
    let parts = object.get("allOf")?.as_array()?;
    let reference = parts.first()?.get("$ref")?.as_str()?;
    if !non_objects.iter().any(|name| name == reference) || parts.len() > 2 {
        return None;
    }
    let mut replacement: Map<String, Value> = object
        .iter()
        .filter(|(key, _)| key.as_str() != "allOf" && key.as_str() != "type")
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    if let Some(Value::Object(patch)) = parts.get(1) {
        for (key, value) in patch {
            replacement.insert(key.clone(), value.clone());
        }
    }
    replacement.insert(
        "oneOf".to_owned(),
        Value::Array(vec![serde_json::json!({"$ref": reference})]),
    );
    Some(replacement)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn enum_references_are_unwrapped_and_object_references_kept() {
        let document = json!({
            "components": {"schemas": {
                "Role": {"type": "string", "enum": ["admin", "user"]},
                "Thing": {"type": "object", "properties": {
                    "role": {"allOf": [{"$ref": "#/components/schemas/Role"}, {"description": "The role."}]},
                    "maybe": {"type": "object", "allOf": [{"$ref": "#/components/schemas/Role"}, {"nullable": true}]},
                    "child": {"allOf": [{"$ref": "#/components/schemas/Thing"}, {"description": "Nested."}]}
                }}
            }}
        });
        let shaped = for_generators(document);
        let properties = &shaped["components"]["schemas"]["Thing"]["properties"];
        assert_eq!(
            properties["role"],
            json!({"oneOf": [{"$ref": "#/components/schemas/Role"}], "description": "The role."})
        );
        assert_eq!(
            properties["maybe"],
            json!({"oneOf": [{"$ref": "#/components/schemas/Role"}], "nullable": true})
        );
        assert!(properties["child"].get("allOf").is_some());
    }
}
