//! `authsome healthcheck`: asks the local server for `/health` (or `/ready` with `--ready`),
//! so that a container image needs no curl. Exit 0 when it answers 200, 1 otherwise.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::commands::CommandError;
use crate::settings::ServerSettings;

const TIMEOUT: Duration = Duration::from_secs(3);

/// Where to reach the server from inside its own container or host: its bind address, with a
/// wildcard bind (`0.0.0.0`, `::`) replaced by loopback.
fn local_address(settings: &ServerSettings) -> Result<SocketAddr, CommandError> {
    let host = match settings.host.as_str() {
        "0.0.0.0" | "" => "127.0.0.1",
        "::" | "[::]" => "::1",
        other => other,
    };
    (host, settings.port)
        .to_socket_addrs()
        .map_err(|e| CommandError::Failed(format!("cannot resolve {host}: {e}")))?
        .next()
        .ok_or_else(|| CommandError::Failed(format!("cannot resolve {host}")))
}

/// One `GET path` with a short timeout; `Ok` with a one-line report when the status is 200.
pub fn run(settings: &ServerSettings, path: &str) -> Result<String, CommandError> {
    let address = local_address(settings)?;
    let failed = |what: &str, e: std::io::Error| CommandError::Failed(format!("{what} http://{address}{path}: {e}"));
    let mut stream = TcpStream::connect_timeout(&address, TIMEOUT).map_err(|e| failed("cannot reach", e))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| failed("cannot use", e))?;
    stream
        .set_write_timeout(Some(TIMEOUT))
        .map_err(|e| failed("cannot use", e))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nUser-Agent: authsome-healthcheck\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| failed("cannot ask", e))?;
    let mut response = Vec::with_capacity(1024);
    stream
        .take(64 * 1024)
        .read_to_end(&mut response)
        .map_err(|e| failed("no answer from", e))?;
    let text = String::from_utf8_lossy(&response);
    let status_line = text.lines().next().unwrap_or_default();
    if status_line.split_whitespace().nth(1) == Some("200") {
        Ok(format!("healthy: http://{address}{path} answered 200"))
    } else {
        Err(CommandError::Failed(format!(
            "unhealthy: http://{address}{path} answered {status_line:?}"
        )))
    }
}
