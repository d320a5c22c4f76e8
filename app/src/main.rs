//! The `authsome` binary: parses the command line, reads settings, runs the command, and
//! turns failures into a one-line message and an exit code (2 for unusable settings, 1 for
//! everything else). No stack traces, no secrets.

use std::io::Write;
use std::process::ExitCode;

use authsome_app::cli::{Cli, Command, DaemonCommand};
use authsome_app::commands::{self, CommandError};
use authsome_app::settings::{EnvironmentVariables, Settings};
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let vars = EnvironmentVariables::from_process();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let telemetry = {
        let _inside = runtime.enter();
        authsome_app::telemetry::init(&vars)
    };
    for name in vars.unknown_authsome_variables() {
        tracing::warn!(variable = name, "unknown AUTHSOME_* variable is ignored (a typo?)");
    }
    // `serve --host/--port` stand for AUTHSOME_HOST/AUTHSOME_PORT and win over them.
    let (command, vars) = match cli.command {
        Command::Serve(args)
        | Command::Daemon {
            command: DaemonCommand::Serve(args),
        } => {
            let vars = args.apply(vars);
            (Command::Serve(args), vars)
        }
        other => (other, vars),
    };
    let outcome = runtime.block_on(run(command, &vars));
    telemetry.finish();
    match outcome {
        Ok(report) => {
            // A closed stdout (`authsome openapi | head`) is not a failure worth a panic.
            let _ = writeln!(std::io::stdout(), "{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {}", authsome_app::error_chain(&error));
            match error {
                CommandError::Settings(_) | CommandError::Usage(_) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

async fn run(command: Command, vars: &EnvironmentVariables) -> Result<String, CommandError> {
    match command {
        Command::Openapi => return commands::openapi::run(),
        Command::Healthcheck { ready } => {
            // Only the server's own settings: a probe must not depend on database or vault settings.
            let env = Settings::deployment_env(vars)?;
            let server = authsome_app::settings::ServerSettings::from_env(vars, env)?;
            return tokio::task::spawn_blocking(move || {
                commands::healthcheck::run(&server, if ready { "/ready" } else { "/health" })
            })
            .await
            .map_err(|e| CommandError::Failed(e.to_string()))?;
        }
        _ => {}
    }
    let settings = Settings::from_env(vars)?;
    match command {
        Command::Openapi => commands::openapi::run(),
        Command::Healthcheck { .. } => Err(CommandError::Usage("unreachable".to_owned())),
        Command::Serve(_) | Command::Daemon { .. } => commands::serve::run(&settings).await,
        Command::Init { admin_email } => commands::init::run(&settings, admin_email.as_deref()).await,
        Command::Migrate => commands::migrate::run(&settings).await,
        Command::RotateMasterKey { new_key_file } => {
            commands::rotate_master_key::run(&settings, vars, new_key_file).await
        }
        Command::ImportHome { path } => commands::import_home::run(&settings, &path).await,
    }
}
