//! Logs and traces. Logs go to stderr as text or JSON lines (`AUTHSOME_LOG`,
//! `AUTHSOME_LOG_FORMAT`). When `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, spans are also exported over OTLP/gRPC, one
//! server span per request, continuing the caller's W3C `traceparent` when it sends one.

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer};

use crate::settings::EnvironmentVariables;

/// The service name reported with every span, unless `OTEL_SERVICE_NAME` says otherwise.
pub const SERVICE_NAME: &str = "authsome-rs";

/// Keeps the trace exporter alive; [`finish`](Self::finish) flushes what is still buffered.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Whether spans are exported.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Flushes and stops the exporter (call before the process exits).
    pub fn finish(self) {
        if let Some(provider) = self.provider
            && let Err(error) = provider.shutdown()
        {
            eprintln!("warning: could not flush the last traces: {error}");
        }
    }
}

fn otlp_endpoint_set(vars: &EnvironmentVariables) -> bool {
    ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"]
        .iter()
        .any(|name| vars.get(name).is_some_and(|v| !v.trim().is_empty()))
}

/// Installs the global subscriber. Must run inside the tokio runtime (the gRPC exporter needs
/// it). An exporter that cannot be built is reported and tracing continues without it.
pub fn init(vars: &EnvironmentVariables) -> Telemetry {
    let filter =
        EnvFilter::try_new(vars.get("AUTHSOME_LOG").unwrap_or("warn")).unwrap_or_else(|_| EnvFilter::new("warn"));
    let json = vars
        .get("AUTHSOME_LOG_FORMAT")
        .is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let logs = if json {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed()
    };
    let mut problem = None;
    let provider = if otlp_endpoint_set(vars) {
        match opentelemetry_otlp::SpanExporter::builder().with_tonic().build() {
            Ok(exporter) => {
                let service = vars.get("OTEL_SERVICE_NAME").unwrap_or(SERVICE_NAME).to_owned();
                let resource = opentelemetry_sdk::Resource::builder()
                    .with_service_name(service)
                    .build();
                Some(
                    SdkTracerProvider::builder()
                        .with_batch_exporter(exporter)
                        .with_resource(resource)
                        .build(),
                )
            }
            Err(error) => {
                problem = Some(error.to_string());
                None
            }
        }
    } else {
        None
    };
    let traces = provider.as_ref().map(|provider| {
        // Only this crate's request spans (and their children) go out, not every log line.
        let spans = EnvFilter::new("authsome_app=info");
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer(SERVICE_NAME))
            .with_filter(spans)
    });
    let installed = tracing_subscriber::registry().with(logs).with(traces).try_init();
    if installed.is_ok() && provider.is_some() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    }
    if let Some(problem) = problem {
        tracing::warn!(%problem, "OpenTelemetry export is off: the OTLP exporter could not be built");
    }
    Telemetry { provider }
}

struct HeaderCarrier<'a>(&'a poem::http::HeaderMap);

impl Extractor for HeaderCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(poem::http::HeaderName::as_str).collect()
    }
}

/// Makes `span` continue the trace of the request's `traceparent` header, if any.
pub fn continue_trace(span: &tracing::Span, headers: &poem::http::HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    if headers.contains_key("traceparent") {
        let parent = TraceContextPropagator::new().extract(&HeaderCarrier(headers));
        let _ = span.set_parent(parent);
    }
}

/// Names the request's span after its route pattern once it is known (`GET /api/x/:param0`):
/// the span was started before routing, and OpenTelemetry span names must stay low-cardinality.
pub fn name_span(span: &tracing::Span, name: String) {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    span.context().span().update_name(name);
}
