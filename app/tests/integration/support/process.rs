//! `authsome serve` as a child process on a free port, with its log collected and its memory
//! and CPU time readable from `/proc`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running server.
pub(crate) struct ServerProcess {
    pub child: Child,
    pub port: u16,
    log: Arc<Mutex<String>>,
    _home: tempfile::TempDir,
}

/// A port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

impl ServerProcess {
    /// `authsome serve` on the local default (SQLite and disk under a temp home), at log level
    /// info, with `extra` settings.
    pub(crate) fn start(extra: &[(&str, &str)]) -> Self {
        Self::start_limited(None, extra)
    }

    /// The same, with the open-file limit (soft and hard) set to `open_files` first.
    pub(crate) fn start_limited(open_files: Option<u64>, extra: &[(&str, &str)]) -> Self {
        let home = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let binary = env!("CARGO_BIN_EXE_authsome");
        let mut command = match open_files {
            // `ulimit -n` in the shell that then becomes the server: no unsafe pre-exec hook.
            Some(limit) => {
                let mut command = Command::new("sh");
                command.args(["-c", &format!("ulimit -n {limit} && exec \"$0\" serve"), binary]);
                command
            }
            None => {
                let mut command = Command::new(binary);
                command.arg("serve");
                command
            }
        };
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", "/nonexistent-home")
            .env("AUTHSOME_KEYRING", "off")
            .env("AUTHSOME_HOME", home.path())
            .env("AUTHSOME_MASTER_KEY", "process test master secret")
            .env("AUTHSOME_PORT", port.to_string())
            .env("AUTHSOME_LOG", "info");
        for (name, value) in extra {
            command.env(name, value);
        }
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the server");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let collected = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = collected.lock().unwrap_or_else(|p| p.into_inner());
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut server = Self {
            child,
            port,
            log,
            _home: home,
        };
        server.wait_until_healthy();
        server
    }

    fn wait_until_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            assert!(
                self.child.try_wait().expect("poll").is_none(),
                "the server exited during startup: {}",
                self.log()
            );
            if self.health_within(Duration::from_secs(2)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the server never became healthy: {}", self.log());
    }

    /// Whether `GET /health` answers 200 on a new connection within `limit`.
    pub(crate) fn health_within(&self, limit: Duration) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(limit));
        if stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .is_err()
        {
            return false;
        }
        let mut response = String::new();
        stream.read_to_string(&mut response).is_ok() && response.starts_with("HTTP/1.1 200")
    }

    /// Everything logged so far.
    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Resident memory, in KiB.
    pub(crate) fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .expect("VmRSS")
    }

    /// CPU time used so far (user and system), in seconds.
    pub(crate) fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).expect("stat");
        // After the command name in parentheses: fields 14 and 15 are utime and stime, in ticks.
        let after_name = &stat[stat.rfind(')').expect("name") + 2..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
        ticks as f64 / 100.0
    }

    /// Open descriptors of the server.
    pub(crate) fn open_files(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .map(|dir| dir.count())
            .unwrap_or(0)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
