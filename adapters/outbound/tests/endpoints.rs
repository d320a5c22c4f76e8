//! The outbound client against small local servers that show what a real authorization
//! server cannot be made to: a hung connection, an endless or huge answer, a redirect, an
//! HTML error page. The OAuth login tests run against a real one (oidc-provider).

use std::time::{Duration, Instant};

use authsome_outbound::{HttpProviderEndpoints, OutboundSettings};
use authsome_ports::{EndpointBody, EndpointError, EndpointRequest, ProviderEndpoints};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves one connection: reads the request, hands it to `answer`, writes what it returns
/// (nothing: the connection hangs). Returns the URL to call.
async fn serve_once(answer: impl FnOnce(String) -> Option<Vec<u8>> + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let mut request = Vec::new();
        let mut buffer = [0u8; 8192];
        // Read the head and a body announced by Content-Length.
        loop {
            let Ok(read) = socket.read(&mut buffer).await else {
                return;
            };
            if read == 0 {
                return;
            }
            request.extend_from_slice(&buffer[..read]);
            let text = String::from_utf8_lossy(&request).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                if request.len() >= end + 4 + length {
                    break;
                }
            }
        }
        match answer(String::from_utf8_lossy(&request).into_owned()) {
            Some(bytes) => {
                let _ = socket.write_all(&bytes).await;
                let _ = socket.shutdown().await;
            }
            None => tokio::time::sleep(Duration::from_secs(3600)).await,
        }
    });
    format!("http://127.0.0.1:{}/token", address.port())
}

fn response(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn client(settings: OutboundSettings) -> HttpProviderEndpoints {
    HttpProviderEndpoints::new(settings).expect("client")
}

#[tokio::test]
async fn a_form_post_carries_its_fields_basic_auth_and_asks_for_json() {
    let (seen_sender, seen) = tokio::sync::oneshot::channel::<String>();
    let url = serve_once(move |request| {
        let _ = seen_sender.send(request);
        Some(response(
            "200 OK",
            "application/json",
            r#"{"access_token":"at","token_type":"Bearer"}"#,
        ))
    })
    .await;
    let fields = [("grant_type", "authorization_code"), ("code", "c 1&x")];
    let reply = client(OutboundSettings::default())
        .send(&EndpointRequest {
            url: &url,
            body: EndpointBody::Form(&fields),
            basic_auth: Some(("client", "secret")),
        })
        .await
        .expect("answered");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json.as_ref().and_then(|j| j.get("access_token")),
        Some(&json!("at"))
    );
    let request = seen.await.expect("request");
    let lower = request.to_ascii_lowercase();
    assert!(lower.starts_with("post /token http/1.1"), "{request}");
    assert!(lower.contains("accept: application/json"), "{request}");
    assert!(
        lower.contains("content-type: application/x-www-form-urlencoded"),
        "{request}"
    );
    // base64("client:secret")
    assert!(request.contains("Basic Y2xpZW50OnNlY3JldA=="), "{request}");
    assert!(
        request.ends_with("grant_type=authorization_code&code=c+1%26x"),
        "{request}"
    );
}

#[tokio::test]
async fn json_bodies_are_posted_as_json_and_gets_have_no_body() {
    let (seen_sender, seen) = tokio::sync::oneshot::channel::<String>();
    let url = serve_once(move |request| {
        let _ = seen_sender.send(request);
        Some(response("201 Created", "application/json", r#"{"client_id":"c"}"#))
    })
    .await;
    let document = json!({"client_name": "authsome-x"});
    let reply = client(OutboundSettings::default())
        .send(&EndpointRequest {
            url: &url,
            body: EndpointBody::Json(&document),
            basic_auth: None,
        })
        .await
        .expect("answered");
    assert_eq!(reply.status, 201);
    let request = seen.await.expect("request");
    assert!(request.to_ascii_lowercase().contains("content-type: application/json"));
    assert!(request.ends_with(r#"{"client_name":"authsome-x"}"#), "{request}");

    let url = serve_once(|request| {
        assert!(request.starts_with("GET /token"), "{request}");
        Some(response("200 OK", "application/json", r#"{"issuer":"x"}"#))
    })
    .await;
    let reply = client(OutboundSettings::default())
        .send(&EndpointRequest {
            url: &url,
            body: EndpointBody::Empty,
            basic_auth: None,
        })
        .await
        .expect("answered");
    assert_eq!(reply.json.as_ref().and_then(|j| j.get("issuer")), Some(&json!("x")));
}

#[tokio::test]
async fn a_redirect_is_returned_not_followed() {
    let url = serve_once(|_| {
        Some(b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/steal\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec())
    })
    .await;
    let fields = [("refresh_token", "secret-refresh-token")];
    let reply = client(OutboundSettings::default())
        .send(&EndpointRequest {
            url: &url,
            body: EndpointBody::Form(&fields),
            basic_auth: None,
        })
        .await
        .expect("answered");
    assert_eq!((reply.status, reply.json), (302, None));
}

#[tokio::test]
async fn a_provider_that_never_answers_times_out_within_the_bound() {
    let url = serve_once(|_| None).await;
    let settings = OutboundSettings {
        timeout: Duration::from_millis(800),
        ..OutboundSettings::default()
    };
    let started = Instant::now();
    let error = client(settings)
        .send(&EndpointRequest {
            url: &url,
            body: EndpointBody::Form(&[("a", "b")]),
            basic_auth: None,
        })
        .await
        .expect_err("no answer");
    assert!(matches!(error, EndpointError::TimedOut(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

#[tokio::test]
async fn answers_past_the_size_bound_are_refused_announced_or_not() {
    let settings = OutboundSettings {
        max_answer_bytes: 1024,
        ..OutboundSettings::default()
    };
    let url = serve_once(|_| Some(response("200 OK", "application/json", &"x".repeat(4096)))).await;
    let error = client(settings.clone())
        .send(&EndpointRequest {
            url: &url,
            body: EndpointBody::Empty,
            basic_auth: None,
        })
        .await
        .expect_err("too large");
    assert!(matches!(error, EndpointError::TooLarge(1024)), "{error:?}");
    // No length announced: counted as it arrives.
    let url = serve_once(|_| {
        let mut bytes = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n".to_vec();
        bytes.extend(std::iter::repeat_n(b'y', 100_000));
        Some(bytes)
    })
    .await;
    let error = client(settings)
        .send(&EndpointRequest {
            url: &url,
            body: EndpointBody::Empty,
            basic_auth: None,
        })
        .await
        .expect_err("too large");
    assert!(matches!(error, EndpointError::TooLarge(1024)), "{error:?}");
}

#[tokio::test]
async fn html_and_form_answers_are_told_apart() {
    let url = serve_once(|_| Some(response("502 Bad Gateway", "text/html", "<html>upstream down</html>"))).await;
    let reply = client(OutboundSettings::default())
        .send(&EndpointRequest {
            url: &url,
            body: EndpointBody::Empty,
            basic_auth: None,
        })
        .await
        .expect("answered");
    assert_eq!(
        (reply.status, reply.json, reply.content_type.as_deref()),
        (502, None, Some("text/html"))
    );
    let url = serve_once(|_| {
        Some(response(
            "200 OK",
            "application/x-www-form-urlencoded",
            "access_token=gho_x&scope=repo&token_type=bearer",
        ))
    })
    .await;
    let reply = client(OutboundSettings::default())
        .send(&EndpointRequest {
            url: &url,
            body: EndpointBody::Empty,
            basic_auth: None,
        })
        .await
        .expect("answered");
    assert_eq!(
        reply.json.as_ref().and_then(|j| j.get("access_token")),
        Some(&json!("gho_x"))
    );
}

#[tokio::test]
async fn plain_http_is_refused_unless_local_or_allowed_and_other_schemes_always() {
    let endpoints = client(OutboundSettings::default());
    for url in ["http://auth.example.com/token", "ftp://127.0.0.1/token", "not a url"] {
        let error = endpoints
            .send(&EndpointRequest {
                url,
                body: EndpointBody::Empty,
                basic_auth: None,
            })
            .await
            .expect_err("refused");
        assert!(matches!(error, EndpointError::Refused(_)), "{url}: {error:?}");
    }
    // Allowed by the operator: it gets as far as name resolution (the .invalid domain fails there).
    let allowed = client(OutboundSettings {
        allow_plain_http: true,
        ..OutboundSettings::default()
    });
    let error = allowed
        .send(&EndpointRequest {
            url: "http://auth.example.invalid/token",
            body: EndpointBody::Empty,
            basic_auth: None,
        })
        .await
        .expect_err("unresolvable");
    assert!(matches!(error, EndpointError::Unreachable(_)), "{error:?}");
}

#[test]
fn an_unusable_ca_file_is_named() {
    let missing = HttpProviderEndpoints::new(OutboundSettings {
        extra_ca_file: Some("/nonexistent/ca.pem".into()),
        ..OutboundSettings::default()
    });
    assert!(matches!(missing, Err(ref e) if e.to_string().contains("/nonexistent/ca.pem")));
    let dir = tempfile::tempdir().expect("dir");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate").expect("write");
    assert!(
        HttpProviderEndpoints::new(OutboundSettings {
            extra_ca_file: Some(empty),
            ..OutboundSettings::default()
        })
        .is_err()
    );
}
