//! `authsome serve`: the daemon.

use std::time::Duration;

use poem::EndpointExt;
use tokio::net::TcpListener;

use crate::commands::CommandError;
use crate::settings::Settings;

/// File descriptors kept for everything but client connections (database and Redis
/// connections, vault files, logs), when judging whether the open-file limit fits the
/// connection limit.
const DESCRIPTORS_BESIDES_CONNECTIONS: u64 = 256;

/// Raises the soft open-file limit to the hard one (each connection is a descriptor, and the
/// usual soft default of 1 024 is far below what a server needs); warns when even that leaves
/// less room than the connection limit, in which case accepting backs off at the limit.
fn raise_open_file_limit(max_connections: usize) {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => {
            let wanted = max_connections as u64 + DESCRIPTORS_BESIDES_CONNECTIONS;
            if limit < wanted {
                tracing::warn!(
                    open_file_limit = limit,
                    max_connections,
                    "the open-file limit is below what the connection limit needs: raise it, or lower \
                     AUTHSOME_MAX_CONNECTIONS (at the limit, accepting pauses until descriptors free up)"
                );
            } else {
                tracing::debug!(open_file_limit = limit, "open-file limit");
            }
        }
        Err(error) => tracing::warn!(%error, "cannot read or raise the open-file limit"),
    }
}

/// Builds every backend from the settings, then serves until SIGTERM or SIGINT; in-flight
/// requests get the configured grace period to finish.
pub async fn run(settings: &Settings) -> Result<String, CommandError> {
    let state = crate::composition::build_state(settings).await?;
    // Device-code logins are polled by every replica, from the shared schedule.
    tokio::spawn(authsome_services::oauth::device::run_poller(state.clone()));
    let address = format!("{}:{}", settings.server.host, settings.server.port);
    let grace = Duration::from_secs(settings.server.shutdown_grace_seconds);
    let limits = settings.server.connections;
    raise_open_file_limit(limits.max_connections);
    let listener = TcpListener::bind(&address)
        .await
        .map_err(|source| CommandError::Serve {
            address: address.clone(),
            source,
        })?;
    tracing::info!(
        %address,
        base_url = %settings.server.policy.base_url,
        database = settings.database.backend_name(),
        env = ?settings.env,
        providers = state.catalog.bundled_count(),
        max_connections = limits.max_connections,
        header_timeout_seconds = limits.header_timeout_seconds,
        "authsome-rs serving"
    );
    eprintln!(
        "authsome-rs listening on http://{address} (base URL {})",
        settings.server.policy.base_url
    );
    crate::http::server::serve(
        listener,
        crate::http::endpoint(state).boxed(),
        limits,
        shutdown_signal(),
        grace,
    )
    .await
    .map_err(|source| CommandError::Serve { address, source })?;
    Ok("authsome-rs stopped".to_owned())
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
