//! `authsome serve`: the daemon.

use std::time::Duration;

use poem::Server;
use poem::listener::TcpListener;

use crate::commands::CommandError;
use crate::settings::Settings;

/// Builds every backend from the settings, then serves until SIGTERM or SIGINT; in-flight
/// requests get the configured grace period to finish.
pub async fn run(settings: &Settings) -> Result<String, CommandError> {
    let state = crate::composition::build_state(settings).await?;
    let address = format!("{}:{}", settings.server.host, settings.server.port);
    let grace = Duration::from_secs(settings.server.shutdown_grace_seconds);
    let listener = TcpListener::bind(address.clone());
    tracing::info!(
        %address,
        base_url = %settings.server.base_url,
        database = settings.database.backend_name(),
        env = ?settings.env,
        providers = state.catalog.bundled_count(),
        "authsome-rs serving"
    );
    eprintln!(
        "authsome-rs listening on http://{address} (base URL {})",
        settings.server.base_url
    );
    Server::new(listener)
        .run_with_graceful_shutdown(crate::http::endpoint(state), shutdown_signal(), Some(grace))
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
