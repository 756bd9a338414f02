//! `onepush-demo-bank`: serves the demo bank's pages.

use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "onepush_demo_bank=info,warn".into()),
        )
        .init();
    onepush_demo_bank::run(onepush_demo_bank::Config::parse()).await
}
