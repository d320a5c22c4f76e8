//! What a page request carries: the fields of a URL-encoded form body and the query.

use std::collections::HashMap;

use poem::Request;
use poem::http::header;

use crate::http::caller::RawBody;

/// The fields of a URL-encoded form body (captured by the body middleware). Repeated names
/// keep their first value.
pub fn form_fields(request: &Request) -> HashMap<String, String> {
    let mut fields = HashMap::new();
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return fields;
    }
    if let Some(RawBody(body)) = request.extensions().get::<RawBody>() {
        for (name, value) in form_urlencoded::parse(body) {
            fields.entry(name.into_owned()).or_insert_with(|| value.into_owned());
        }
    }
    fields
}

/// A query parameter's decoded value.
pub fn query_param(request: &Request, name: &str) -> Option<String> {
    let query = request.uri().query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

/// `a=b&c=d`, percent-encoded.
pub fn encode_query(pairs: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_round_trip() {
        let query = encode_query(&[("next", "/claim?token=a b&c")]);
        assert_eq!(query, "next=%2Fclaim%3Ftoken%3Da+b%26c");
        let request = Request::builder().uri_str(format!("/login?{query}")).finish();
        assert_eq!(query_param(&request, "next").as_deref(), Some("/claim?token=a b&c"));
    }
}
