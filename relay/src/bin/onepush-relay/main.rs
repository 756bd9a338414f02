//! `onepush-relay`: parses the command line and runs it.

mod cli;
mod maintenance;

use clap::Parser as _;
use cli::{Cli, Command};
use onepush_relay::Relay;
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc malloc: the relay allocates per request on several threads,
/// where glibc's arenas lock (what it cost: BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let (settings, deprecated) = cli.settings()?;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.log));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    for old in deprecated {
        tracing::warn!("{old}");
    }
    let listen = settings.http.listen;
    let command = match cli.command {
        Command::Maintenance(command) => {
            return maintenance::run(settings, command).await;
        }
        other => other,
    };
    let relay = Relay::open(settings).await?;
    match command {
        Command::Serve { .. } => {
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
            relay.serve(listener, shutdown_signal()).await
        }
        Command::Tenant(command) => cli::tenant(&relay, command).await,
        Command::Maintenance(_) => unreachable!("handled above"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
