//! The HTTP/1.1 server: accepts connections, within bounds, and hands their requests to the
//! endpoint.
//!
//! poem's own server loop has none of the bounds a network-facing vault needs: a connection
//! that sends nothing, trickles its headers or idles between requests stays open forever, any
//! number may be open at once, and an accept error (`EMFILE` at the open-file limit) is
//! retried at once, so the loop spins a core while the listen backlog fills. This loop:
//!
//! - closes a connection that has not delivered a complete request head within
//!   [`ConnectionLimits::header_timeout_seconds`] of opening or of its previous response
//!   (hyper's header-read timer; it covers silent connections, trickled heads and idle
//!   keep-alives alike);
//! - closes a connection on which nothing moves for
//!   [`ConnectionLimits::idle_timeout_seconds`] while no request is being handled (a response
//!   its client will not read);
//! - serves at most [`ConnectionLimits::max_connections`] at once: past it, new connections
//!   wait in the kernel's listen backlog until one closes;
//! - backs off (10 ms doubling to 1 s) when accepting fails, and says so in the log.
//!
//! Bodies are bounded in time by the body-capture middleware, which reads them. Only HTTP/1.1
//! is spoken, as by the reference daemon (uvicorn).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use poem::endpoint::BoxEndpoint;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::settings::ConnectionLimits;
use authsome_services::repeated_warning::RepeatedWarning;

/// The body type hyper writes responses from (poem's).
type ResponseBody = http_body_util::combinators::BoxBody<Bytes, io::Error>;

/// The first pause after a failed accept; doubled on each further failure.
const FIRST_ACCEPT_BACKOFF: Duration = Duration::from_millis(10);
/// The longest pause after failed accepts.
const LONGEST_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

static ACCEPT_FAILING: RepeatedWarning = RepeatedWarning::every(Duration::from_secs(10));
static AT_CONNECTION_LIMIT: RepeatedWarning = RepeatedWarning::every(Duration::from_secs(60));
static HEADER_TIMEOUTS: RepeatedWarning = RepeatedWarning::every(Duration::from_secs(60));
static IDLE_CLOSES: RepeatedWarning = RepeatedWarning::every(Duration::from_secs(60));

/// Serves `endpoint` on `listener` within `limits` until `shutdown` resolves; then stops
/// accepting, lets in-flight requests finish for up to `grace`, and returns.
pub async fn serve(
    listener: TcpListener,
    endpoint: BoxEndpoint<'static, Response>,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> io::Result<()> {
    let local = listener.local_addr()?;
    let endpoint = Arc::new(endpoint);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let stopping = CancellationToken::new();
    tokio::pin!(shutdown);
    let mut backoff = FIRST_ACCEPT_BACKOFF;
    loop {
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if let Some(left_out) = AT_CONNECTION_LIMIT.due() {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        similar_left_out = left_out,
                        "at the connection limit: new connections wait until one closes"
                    );
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                backoff = FIRST_ACCEPT_BACKOFF;
                accepted
            }
            // The client gave up before we took the connection: nothing to wait for.
            Err(error) if is_peer_error(&error) => continue,
            Err(error) => {
                if let Some(left_out) = ACCEPT_FAILING.due() {
                    tracing::warn!(
                        %error,
                        retry_in_ms = backoff.as_millis() as u64,
                        similar_left_out = left_out,
                        "cannot accept connections (at the open-file limit?): pausing before the next attempt"
                    );
                }
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = &mut shutdown => break,
                }
                backoff = (backoff * 2).min(LONGEST_ACCEPT_BACKOFF);
                continue;
            }
        };
        let (endpoint, stopping) = (endpoint.clone(), stopping.clone());
        tokio::spawn(async move {
            serve_connection(stream, local, peer, endpoint, limits, stopping).await;
            drop(slot);
        });
    }
    drop(listener);
    stopping.cancel();
    // Every connection holds a slot until it is done: having them all back means all are done.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(grace, slots.acquire_many(all)).await.is_err() {
        tracing::warn!(
            grace_seconds = grace.as_secs(),
            "connections still open after the shutdown grace period: closing them"
        );
    }
    Ok(())
}

/// Errors of one pending connection rather than of the listener.
fn is_peer_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::Interrupted
    )
}

/// What a connection is doing, for the idle check.
struct Activity {
    opened: Instant,
    /// Milliseconds after `opened` of the last read or write that moved bytes.
    last_progress_ms: AtomicU64,
    /// Requests whose handler is running.
    handling: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            last_progress_ms: AtomicU64::new(0),
            handling: AtomicUsize::new(0),
        }
    }

    fn progressed(&self) {
        let now = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_progress_ms.store(now, Ordering::Relaxed);
    }

    /// When the connection counts as idle if nothing moves before then.
    fn idle_deadline(&self, idle: Duration) -> Instant {
        self.opened + Duration::from_millis(self.last_progress_ms.load(Ordering::Relaxed)) + idle
    }
}

/// Decrements the running-handler count however the handler ends (done or dropped).
struct Handling(Arc<Activity>);

impl Handling {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.handling.fetch_add(1, Ordering::AcqRel);
        Self(activity.clone())
    }
}

impl Drop for Handling {
    fn drop(&mut self) {
        self.0.handling.fetch_sub(1, Ordering::AcqRel);
        self.0.progressed();
    }
}

/// The socket, noting each read and write that moves bytes.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.progressed();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.progressed();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.progressed();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

async fn serve_connection(
    stream: TcpStream,
    local: SocketAddr,
    peer: SocketAddr,
    endpoint: Arc<BoxEndpoint<'static, Response>>,
    limits: ConnectionLimits,
    stopping: CancellationToken,
) {
    // Small responses go out at once rather than waiting for more to send.
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        stream,
        activity: activity.clone(),
    });
    let service = hyper::service::service_fn({
        let activity = activity.clone();
        move |request: hyper::Request<Incoming>| {
            let (endpoint, handling) = (endpoint.clone(), Handling::start(&activity));
            async move {
                let request = poem::Request::from((
                    request,
                    LocalAddr(Addr::SocketAddr(local)),
                    RemoteAddr(Addr::SocketAddr(peer)),
                    poem::http::uri::Scheme::HTTP,
                ));
                let response = endpoint.get_response(request).await;
                drop(handling);
                Ok::<_, Infallible>(hyper::Response::<ResponseBody>::from(response))
            }
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(limits.header_timeout_seconds))
        .serve_connection(io, service);
    tokio::pin!(connection);
    let idle = Duration::from_secs(limits.idle_timeout_seconds);
    let mut shutting_down = false;
    loop {
        // While a handler runs the connection is not idle (the handler bounds itself); look
        // again a period later. Otherwise it is idle a period after bytes last moved.
        let deadline = if activity.handling.load(Ordering::Acquire) > 0 {
            Instant::now() + idle
        } else {
            activity.idle_deadline(idle)
        };
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(error) = served {
                    if error.is_timeout() {
                        if let Some(left_out) = HEADER_TIMEOUTS.due() {
                            tracing::info!(
                                timeout_seconds = limits.header_timeout_seconds,
                                similar_left_out = left_out,
                                "closed a connection that sent no complete request head in time"
                            );
                        }
                    } else {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                }
                return;
            }
            () = tokio::time::sleep_until(deadline.into()) => {
                let idle_now = activity.handling.load(Ordering::Acquire) == 0
                    && activity.idle_deadline(idle) <= Instant::now();
                if idle_now {
                    if let Some(left_out) = IDLE_CLOSES.due() {
                        tracing::info!(
                            timeout_seconds = limits.idle_timeout_seconds,
                            similar_left_out = left_out,
                            "closed a connection on which nothing moved (a response its client does not read)"
                        );
                    }
                    return;
                }
            }
            () = stopping.cancelled(), if !shutting_down => {
                // Finish the request in flight, if any, then close; an idle connection closes now.
                connection.as_mut().graceful_shutdown();
                shutting_down = true;
            }
        }
    }
}
