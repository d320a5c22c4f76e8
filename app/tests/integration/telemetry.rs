//! OpenTelemetry export: `authsome serve` with `OTEL_EXPORTER_OTLP_ENDPOINT` sends one server
//! span per request to an OTLP/gRPC receiver (here, one in the test), named by method and
//! route pattern, continuing the caller's `traceparent`, flushed on SIGTERM.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;

#[derive(Default, Clone)]
struct Receiver {
    spans: Arc<Mutex<Vec<(String, Span)>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().expect("lock");
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|a| a.key == "service.name")
                .and_then(|a| a.value.as_ref())
                .and_then(|v| match &v.value {
                    Some(AnyValue::StringValue(s)) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    spans.push((service.clone(), span));
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

fn get(port: u16, path: &str, headers: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref())
        .map(|v| match &v.value {
            Some(AnyValue::StringValue(s)) => s.clone(),
            Some(AnyValue::IntValue(i)) => i.to_string(),
            other => format!("{other:?}"),
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_spans_reach_an_otlp_receiver() {
    let receiver = Receiver::default();
    let collector_port = free_port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tonic::transport::Server::builder()
        .add_service(TraceServiceServer::new(receiver.clone()))
        .serve_with_shutdown(([127, 0, 0, 1], collector_port).into(), async {
            let _ = stopped.await;
        });
    let collector = tokio::spawn(server);

    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_authsome"))
        .env_clear()
        .env("HOME", "/nonexistent-home")
        .env("AUTHSOME_KEYRING", "off")
        .env("AUTHSOME_HOME", dir.path())
        .env("AUTHSOME_MASTER_KEY", "telemetry test secret")
        .env("AUTHSOME_PORT", port.to_string())
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{collector_port}"),
        )
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "the server never answered");
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent = get(
        port,
        "/health",
        &format!("traceparent: 00-{trace_id}-00f067aa0ba902b7-01\r\n"),
    );
    assert!(parent.starts_with("HTTP/1.1 200"), "{parent}");
    assert!(get(port, "/api/identities/some-agent", "").starts_with("HTTP/1.1 404"));

    // SIGTERM flushes the batch exporter before the process exits.
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill")
            .success()
    );
    assert!(child.wait().expect("exit").success());
    let spans = receiver.spans.lock().expect("lock").clone();
    let _ = stop.send(());
    let _ = collector.await;

    let health = spans
        .iter()
        .find(|(_, s)| s.name == "GET /health")
        .unwrap_or_else(|| panic!("no GET /health span in {spans:?}"));
    assert_eq!(health.0, "authsome-rs");
    assert_eq!(
        authsome_domain::hex::encode(&health.1.trace_id),
        trace_id,
        "the caller's trace continues"
    );
    assert_eq!(
        attribute(&health.1, "http.response.status_code").as_deref(),
        Some("200")
    );
    let lookup = spans
        .iter()
        .find(|(_, s)| s.name.starts_with("GET /api/identities/"))
        .unwrap_or_else(|| panic!("no identity span in {spans:?}"));
    assert_eq!(
        lookup.1.name, "GET /api/identities/:param0",
        "named by route pattern, not by the handle"
    );
    assert_eq!(
        attribute(&lookup.1, "http.response.status_code").as_deref(),
        Some("404")
    );
    assert!(
        spans.iter().all(|(_, s)| !format!("{s:?}").contains("some-agent")),
        "no identifiers in spans"
    );
}
