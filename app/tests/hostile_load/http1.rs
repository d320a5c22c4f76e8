//! A minimal HTTP/1.1 client over one kept-alive TCP connection, for tests that need real
//! sockets (client addresses, floods, connection limits) rather than the in-process endpoint.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// One connection to the server.
pub(crate) struct Http1 {
    stream: TcpStream,
    buffer: Vec<u8>,
}

/// A response: status and body.
pub(crate) struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Http1 {
    /// Connects to `server`.
    pub(crate) async fn connect(server: SocketAddr) -> Self {
        Self::connect_from(server, None).await
    }

    /// Connects to `server` from `local` (for example `127.0.0.2`, another client address on
    /// the loopback network).
    pub(crate) async fn connect_from(server: SocketAddr, local: Option<std::net::IpAddr>) -> Self {
        let socket = TcpSocket::new_v4().expect("socket");
        if let Some(ip) = local {
            socket.bind(SocketAddr::new(ip, 0)).expect("bind the client address");
        }
        let stream = socket.connect(server).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Self {
            stream,
            buffer: Vec::with_capacity(16 * 1024),
        }
    }

    /// Sends one request and reads its response (which must carry `content-length`).
    pub(crate) async fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        self.stream.write_all(&request).await.expect("send the request");
        self.read_answer().await
    }

    async fn read_answer(&mut self) -> Answer {
        loop {
            if let Some(end) = find(&self.buffer, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buffer[..end]).into_owned();
                let status = head
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| panic!("not an HTTP response: {head}"));
                let length: usize = head
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse().ok())
                            .flatten()
                    })
                    .unwrap_or_else(|| panic!("no content-length in {head}"));
                let start = end + 4;
                while self.buffer.len() < start + length {
                    self.fill().await;
                }
                let body = self.buffer[start..start + length].to_vec();
                self.buffer.drain(..start + length);
                return Answer { status, body };
            }
            self.fill().await;
        }
    }

    async fn fill(&mut self) {
        let mut chunk = [0u8; 16 * 1024];
        let read = tokio::time::timeout(Duration::from_secs(30), self.stream.read(&mut chunk))
            .await
            .expect("an answer within 30 s")
            .expect("read");
        assert!(read > 0, "the server closed the connection mid-response");
        self.buffer.extend_from_slice(&chunk[..read]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// The `q` quantile (0 to 1) of `samples`, sorted in place.
pub(crate) fn quantile(samples: &mut [Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort_unstable();
    let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
    samples[index.min(samples.len() - 1)]
}
