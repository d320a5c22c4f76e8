//! `authsome serve` as an operator runs it: it refuses unusable settings by name, logs each
//! request with its id, finishes in-flight requests on SIGTERM, and `init --admin-email`
//! prints a setup link that the served pages accept.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn command(home: &Path, port: u16, extra: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_authsome"));
    command
        .env_clear()
        .env("HOME", "/nonexistent-home")
        .env("AUTHSOME_KEYRING", "off")
        .env("AUTHSOME_HOME", home)
        .env("AUTHSOME_MASTER_KEY", "serve test master secret")
        .env("AUTHSOME_PORT", port.to_string())
        .env("AUTHSOME_LOG", "info");
    for (name, value) in extra {
        command.env(name, value);
    }
    command
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// One HTTP/1.1 exchange on a fresh connection; returns the raw response text.
fn http(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

fn wait_until_healthy(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        assert!(
            child.try_wait().expect("poll").is_none(),
            "the server exited during startup"
        );
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut response = String::new();
            if stream.read_to_string(&mut response).is_ok() && response.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the server never became healthy");
}

/// The child's exit status, failing the test (and killing it) when it has not exited within
/// `limit`: a broken graceful stop fails rather than hangs the suite.
fn exit_within(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("poll") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("the server did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

#[test]
fn an_unusable_setting_stops_serve_and_names_the_variable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = command(dir.path(), 7998, &[("AUTHSOME_PORT", "seventy")])
        .arg("serve")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("AUTHSOME_PORT"), "{stderr}");
    let out = command(dir.path(), 7998, &[("AUTHSOME_OPEN_SIGNUP", "perhaps")])
        .arg("serve")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AUTHSOME_OPEN_SIGNUP"));
}

#[test]
fn sigterm_lets_an_in_flight_request_finish_and_logs_carry_request_ids() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let mut child = command(dir.path(), port, &[])
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_until_healthy(port, &mut child);

    let logged = http(
        port,
        "GET /health HTTP/1.1\r\nHost: x\r\nX-Request-Id: op-check-42\r\nConnection: close\r\n\r\n",
    );
    assert!(
        logged.to_ascii_lowercase().contains("x-request-id: op-check-42"),
        "{logged}"
    );

    // Login-session ids open their input page to whoever holds them: never logged.
    let session = http(
        port,
        "GET /api/auth/sessions/sess_probe0secret0id HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(session.starts_with("HTTP/1.1 401"), "{session}");

    // A request whose body is still arriving when SIGTERM comes.
    let body = br#"{"handle": "slow-agent", "did": "not-a-did"}"#;
    let mut slow = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        slow,
        "POST /api/identities/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .expect("headers");
    slow.write_all(&body[..10]).expect("first part");
    std::thread::sleep(Duration::from_millis(300));
    terminate(&child);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().expect("poll").is_none(),
        "the server waits for the in-flight request"
    );
    slow.write_all(&body[10..]).expect("rest of the body");
    let mut response = String::new();
    slow.read_to_string(&mut response).expect("response");
    assert!(
        response.starts_with("HTTP/1.1 400"),
        "the request was answered: {response}"
    );
    assert!(response.contains("did:key"), "{response}");

    let status = exit_within(&mut child, Duration::from_secs(15));
    assert!(status.success(), "a graceful stop exits 0: {status:?}");
    let mut log = String::new();
    BufReader::new(child.stderr.take().expect("stderr"))
        .lines()
        .map_while(Result::ok)
        .for_each(|line| {
            log.push_str(&line);
            log.push('\n');
        });
    assert!(log.contains("op-check-42") && log.contains("/health"), "{log}");
    assert!(log.contains("/api/identities/register"), "{log}");
    assert!(!log.contains("serve test master secret"));
    assert!(log.contains("/api/auth/sessions/{session}"), "{log}");
    assert!(!log.contains("sess_probe0secret0id"), "{log}");
}

#[test]
fn init_admin_email_prints_a_setup_link_the_server_accepts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let prod_like = [("AUTHSOME_OPEN_SIGNUP", "false")];
    let out = command(dir.path(), port, &prod_like)
        .args(["init", "--admin-email", "ops@example.com"])
        .output()
        .expect("init");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let link = stdout
        .lines()
        .find_map(|line| {
            line.split_once("setup link (valid 24 hours, use it once): ")
                .map(|(_, l)| l.to_owned())
        })
        .unwrap_or_else(|| panic!("no setup link in {stdout}"));
    assert!(
        link.starts_with(&format!("http://127.0.0.1:{port}/login?setup=")),
        "{link}"
    );
    let bad = command(dir.path(), port, &[])
        .args(["init", "--admin-email", "not an email"])
        .output()
        .expect("init");
    assert_eq!(bad.status.code(), Some(2));

    let mut child = command(dir.path(), port, &prod_like)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    wait_until_healthy(port, &mut child);
    let path = &link[link.find("/login").expect("path")..];
    let page = http(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    );
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.contains("Choose the password for the account an administrator created"),
        "{page}"
    );
    let closed = http(port, "GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(closed.contains("Sign-up is closed"), "{closed}");
    terminate(&child);
    assert!(exit_within(&mut child, Duration::from_secs(15)).success());
}

/// `serve --host --port` (and the reference's spelling, `daemon serve`) win over
/// AUTHSOME_HOST / AUTHSOME_PORT; `--version` names the protocol; each subcommand's help
/// names the settings it reads.
#[test]
fn the_command_line_takes_the_references_spellings_and_says_what_it_reads() {
    let dir = tempfile::tempdir().expect("temp dir");
    for spelling in [&["serve"][..], &["daemon", "serve"][..]] {
        let port = free_port();
        // AUTHSOME_PORT names a port nobody listens on: the flag must win.
        let mut child = command(dir.path(), free_port(), &[("AUTHSOME_HOST", "0.0.0.0")])
            .args(spelling)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        wait_until_healthy(port, &mut child);
        terminate(&child);
        assert!(
            exit_within(&mut child, Duration::from_secs(15)).success(),
            "{spelling:?}"
        );
    }

    let version = command(dir.path(), 7998, &[]).arg("--version").output().expect("run");
    let version = String::from_utf8_lossy(&version.stdout);
    assert!(
        version.starts_with(&format!("authsome {}", env!("CARGO_PKG_VERSION"))) && version.contains("protocol 0.7.2"),
        "{version}"
    );
    for (subcommand, settings) in [
        (
            &["serve", "--help"][..],
            &[
                "AUTHSOME_HOST",
                "AUTHSOME_PORT",
                "AUTHSOME_DATABASE_URL",
                "AUTHSOME_REDIS_URL",
            ][..],
        ),
        (&["healthcheck", "--help"][..], &["AUTHSOME_HOST", "AUTHSOME_PORT"][..]),
        (&["migrate", "--help"][..], &["AUTHSOME_DATABASE_URL"][..]),
        (&["init", "--help"][..], &["AUTHSOME_ADMIN_EMAIL", "AUTHSOME_HOME"][..]),
        (&["rotate-master-key", "--help"][..], &["AUTHSOME_NEW_MASTER_KEY"][..]),
    ] {
        let help = command(dir.path(), 7998, &[]).args(subcommand).output().expect("run");
        let help = String::from_utf8_lossy(&help.stdout);
        for setting in settings {
            assert!(help.contains(setting), "{subcommand:?} does not name {setting}: {help}");
        }
    }
}
