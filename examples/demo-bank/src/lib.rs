//! OnePush demo bank: a corporate internet bank like the one in the seeds, which asks
//! the OnePush relay (over its public bank API only) to approve logins, transfers and
//! admin operations, and checks every signed decision itself. It speaks to the relay
//! through the bank SDK, [`onepush_bank`]: the client of the bank API and the
//! decision verification a bank would use.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`config`] | command line, environment and page settings |
//! | [`store`] | the bank's SQLite database (users, sessions, approvals, transfers, outbox) |
//! | [`flow`] | starting a challenge, the bank's own check of the signed decision, applying it |
//! | [`payments`] | the payment screens per transaction type and their contexts |
//! | [`http`] | the pages |

pub mod config;
pub mod flow;
pub mod http;
pub mod passwords;
pub mod payments;
pub mod seed;
pub mod store;

use std::sync::Arc;

pub use config::{Config, Settings};
pub use http::app;

use store::Store;

/// Everything a page handler needs.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The bank's database.
    pub store: Store,
    /// The relay's bank API.
    pub relay: onepush_bank::Client,
    /// Page settings.
    pub settings: Arc<Settings>,
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Opens the database, seeds the demo contract and serves the bank until Ctrl-C.
pub async fn run(config: Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)?;
    let store = Store::open(&config.data_dir).await?;
    if seed::seed(&store, now()).await? {
        tracing::info!(
            contract = seed::CONTRACT,
            "seeded the demo contract and users"
        );
    }
    let relay = onepush_bank::Client::new(
        &config.relay_url,
        onepush_bank::ApiKey::new(config.api_key.clone()),
    )?;
    if !relay.healthy().await {
        tracing::warn!(relay = %config.relay_url, "the relay does not answer yet; logins with one-push will fail until it does");
    }
    let state = AppState {
        store,
        relay,
        settings: Arc::new(Settings::from(&config)),
    };
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    tracing::info!(url = %format!("http://{}", listener.local_addr()?), "demo bank listening");
    serve(listener, state).await
}

/// Serves the bank on a bound listener until Ctrl-C.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> anyhow::Result<()> {
    let service = app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
