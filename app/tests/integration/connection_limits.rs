//! Connections as the outside probe held them, against `authsome serve`: thousands that send
//! nothing, trickle their headers or idle between requests must be closed within the
//! documented timeouts; past the connection limit, new ones wait rather than fail; and at the
//! open-file limit the server pauses accepting (and says so) instead of spinning, then serves
//! again as descriptors free up. Each test prints its figures.

use crate::support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use support::process::ServerProcess;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const EACH_KIND: usize = 1_000;
const HEADER_TIMEOUT_SECONDS: u64 = 2;

/// Waits until the server closes `stream` (end of file or reset); returns when it did.
async fn closed_by_server(mut stream: TcpStream, limit: Duration) -> Option<Instant> {
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(Instant::now()),
            // A response (the kept-alive kind read theirs already; a 408 or 400 is fine too).
            Ok(Ok(_)) => {}
        }
    }
}

async fn connect(address: SocketAddr) -> TcpStream {
    TcpStream::connect(address).await.expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_trickling_and_kept_alive_connections_are_closed_within_the_header_timeout() {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let timeout = HEADER_TIMEOUT_SECONDS.to_string();
    let server = ServerProcess::start(&[("AUTHSOME_HTTP_HEADER_TIMEOUT_SECONDS", &timeout)]);
    let address: SocketAddr = ([127, 0, 0, 1], server.port).into();
    let rss_before = server.rss_kib();

    let opened = Instant::now();
    let mut waiting = tokio::task::JoinSet::new();
    let limit = Duration::from_secs(HEADER_TIMEOUT_SECONDS + 10);
    // Connections that never send a byte.
    for _ in 0..EACH_KIND {
        let stream = connect(address).await;
        waiting.spawn(async move { ("silent", closed_by_server(stream, limit).await) });
    }
    // Connections that send half a request head, then one more byte every 500 ms.
    for _ in 0..EACH_KIND {
        let mut stream = connect(address).await;
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("half a head");
        waiting.spawn(async move {
            let (mut reader, mut writer) = stream.into_split();
            let trickle = async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    if writer.write_all(b"X").await.is_err() {
                        return;
                    }
                }
            };
            let mut buffer = [0u8; 1024];
            let read_until_closed = async {
                loop {
                    match reader.read(&mut buffer).await {
                        Ok(0) | Err(_) => return Instant::now(),
                        Ok(_) => {}
                    }
                }
            };
            tokio::select! {
                () = trickle => ("trickling", Some(Instant::now())),
                closed = tokio::time::timeout(limit, read_until_closed) => ("trickling", closed.ok()),
            }
        });
    }
    // Connections that make one request, read the answer and keep the connection.
    for _ in 0..EACH_KIND {
        let mut stream = connect(address).await;
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("request");
        let mut answer = vec![0u8; 4096];
        let read = stream.read(&mut answer).await.expect("answer");
        assert!(answer[..read].starts_with(b"HTTP/1.1 200"));
        waiting.spawn(async move { ("kept-alive", closed_by_server(stream, limit).await) });
    }
    let all_open = opened.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_open = server.rss_kib();
    let files_open = server.open_files();

    let mut latest = opened;
    let mut still_open = Vec::new();
    while let Some(outcome) = waiting.join_next().await {
        match outcome.expect("watcher") {
            (_, Some(closed)) => latest = latest.max(closed),
            (kind, None) => still_open.push(kind),
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = server.rss_kib();
    support::report_figure(&format!(
        "{} connections ({EACH_KIND} silent, {EACH_KIND} trickling a byte every 500 ms, {EACH_KIND} idle \
         keep-alive) opened in {:.1} s; all closed by the server {:.1} s after the first opened (header \
         timeout {HEADER_TIMEOUT_SECONDS} s); server RSS {} KiB before, {} KiB with them open ({} descriptors), \
         {} KiB after",
        3 * EACH_KIND,
        all_open.as_secs_f64(),
        (latest - opened).as_secs_f64(),
        rss_before,
        rss_open,
        files_open,
        rss_after,
    ));
    assert!(
        still_open.is_empty(),
        "{} connections still open: {:?}",
        still_open.len(),
        &still_open[..still_open.len().min(5)]
    );
    assert!(
        latest - opened <= all_open + Duration::from_secs(HEADER_TIMEOUT_SECONDS + 2),
        "closed within the timeout of being opened (or of their response)"
    );
    assert!(
        server.health_within(Duration::from_secs(2)),
        "and the server still answers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_limit_new_connections_wait_for_a_free_one() {
    let server = ServerProcess::start(&[
        ("AUTHSOME_MAX_CONNECTIONS", "20"),
        ("AUTHSOME_HTTP_HEADER_TIMEOUT_SECONDS", "60"),
    ]);
    let address: SocketAddr = ([127, 0, 0, 1], server.port).into();
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(connect(address).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !server.health_within(Duration::from_millis(800)),
        "a 21st connection is not served while 20 are open"
    );
    drop(held.pop());
    let started = Instant::now();
    assert!(server.health_within(Duration::from_secs(5)), "served once one closes");
    support::report_figure(&format!(
        "connection limit 20: the 21st waited, and was served {:?} after one closed",
        started.elapsed()
    ));
    assert!(server.log().contains("at the connection limit"), "{}", server.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_open_file_limit_accepting_pauses_is_logged_and_recovers() {
    // Low enough that a few dozen connections exhaust it; the server's own files (SQLite,
    // vault, runtime) take about 30.
    let server = ServerProcess::start_limited(
        Some(96),
        &[
            ("AUTHSOME_HTTP_HEADER_TIMEOUT_SECONDS", "120"),
            ("AUTHSOME_HTTP_IDLE_TIMEOUT_SECONDS", "120"),
        ],
    );
    assert!(
        server
            .log()
            .contains("the open-file limit is below what the connection limit needs"),
        "{}",
        server.log()
    );
    let address: SocketAddr = ([127, 0, 0, 1], server.port).into();
    let mut held = Vec::new();
    for _ in 0..150 {
        held.push(connect(address).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let files = server.open_files();
    let cpu_before = server.cpu_seconds();
    let watched = Duration::from_secs(3);
    tokio::time::sleep(watched).await;
    let cpu_used = server.cpu_seconds() - cpu_before;
    support::report_figure(&format!(
        "open-file limit 96, 150 connections: the server holds {files} descriptors and used {cpu_used:.2} s of CPU \
         in {} s at the limit",
        watched.as_secs()
    ));
    assert!(
        cpu_used < 0.5,
        "the accept loop must not spin at the limit: {cpu_used:.2} s of CPU in {watched:?}"
    );
    assert!(
        server.log().contains("cannot accept connections"),
        "the limit is logged: {}",
        server.log()
    );
    let warnings = server.log().matches("cannot accept connections").count();
    assert!(warnings <= 2, "and not once per attempt: {warnings} lines");

    // Descriptors free up: the server accepts again.
    held.clear();
    let started = Instant::now();
    let mut served = false;
    while started.elapsed() < Duration::from_secs(10) {
        if server.health_within(Duration::from_secs(2)) {
            served = true;
            break;
        }
    }
    support::report_figure(&format!(
        "after the connections closed, served again within {:?}",
        started.elapsed()
    ));
    assert!(
        served,
        "the server serves again once descriptors free up: {}",
        server.log()
    );
}
