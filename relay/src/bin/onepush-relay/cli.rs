//! The command line: `serve`, `tenant add|list|rotate-key|set-push-fatigue|rotate-webhook-secret`,
//! `maintenance on|off|status` (in [`crate::maintenance`]).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use onepush_relay::settings::Deprecated;
use onepush_relay::{Relay, Settings};

/// OnePush relay: bank API, device API, Web Push delivery.
#[derive(Debug, Parser)]
#[command(name = "onepush-relay", version, about)]
pub struct Cli {
    /// Where to find the settings and data.
    #[command(flatten)]
    pub common: Common,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Common {
    /// TOML settings file (`[SECTION] KEY = ...`; `ONEPUSH_<SECTION>__<KEY>` variables override it).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data folder: database, VAPID key, master key [default: ./onepush-data].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: `sqlite://PATH`, or `postgres://USER[:PASSWORD]@HOST[:PORT]/DB` for
    /// several relays on one database.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        help = "Database URL: sqlite://PATH, or postgres://USER[:PASSWORD]@HOST[:PORT]/DB for several relays on one database [default: sqlite://DATA_DIR/onepush.db]"
    )]
    pub database: Option<String>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the relay until SIGINT or SIGTERM.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8420].
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
    },
    /// Manage tenants (banks).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Suspend one-push for maintenance (R18), for every bank or one; every relay on the
    /// database honours it within a second.
    #[command(subcommand)]
    Maintenance(crate::maintenance::MaintenanceCommand),
}

/// Tenant commands.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant and print its API key (shown once).
    Add {
        /// The tenant's slug: lower-case letters, digits and '-'.
        name: String,
        /// The name shown on phones [default: NAME].
        #[arg(long)]
        display_name: Option<String>,
        /// URL to POST decided challenges to (Standard Webhooks signed).
        #[arg(long, value_name = "URL")]
        webhook: Option<String>,
        /// Push fatigue: refuse new challenges for a user after this many ended denied or
        /// unanswered within the window; 0 = off [default: the relay settings' default].
        #[arg(long, value_name = "N")]
        push_fatigue_threshold: Option<u32>,
        /// Push fatigue window in seconds [default: the relay settings' default].
        #[arg(long, value_name = "SECONDS")]
        push_fatigue_window: Option<u32>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change a tenant's push-fatigue limit (N denied or unanswered challenges per window).
    SetPushFatigue {
        /// The tenant's slug.
        name: String,
        /// Challenges ended denied or unanswered that lock new ones out; 0 = off.
        #[arg(long, value_name = "N")]
        threshold: u32,
        /// The window, in seconds (60 to 604800).
        #[arg(long, value_name = "SECONDS")]
        window: u32,
    },
    /// List tenants.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Replace a tenant's API key; the old one stops working at once.
    RotateKey {
        /// The tenant's slug.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Replace a tenant's webhook signing secret and print the new one (shown once);
    /// messages are signed with it from now on.
    RotateWebhookSecret {
        /// The tenant's slug.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

impl Cli {
    /// The settings: defaults < file < environment < command-line flags; with the old
    /// flat names read, to be logged as deprecated once the log is set up.
    pub fn settings(&self) -> anyhow::Result<(Settings, Vec<Deprecated>)> {
        let (mut settings, deprecated) =
            Settings::load_noting_deprecated(self.common.config.as_deref(), std::env::vars())?;
        if let Some(dir) = &self.common.data_dir {
            settings.data_dir.clone_from(dir);
        }
        if let Some(url) = &self.common.database {
            settings.database.url = Some(url.clone());
        }
        if let Command::Serve { listen: Some(addr) } = &self.command {
            settings.http.listen = *addr;
        }
        settings.validate()?;
        Ok((settings, deprecated))
    }
}

/// Runs a tenant command, printing to stdout.
pub async fn tenant(relay: &Relay, command: TenantCommand) -> anyhow::Result<()> {
    let service = relay.service();
    match command {
        TenantCommand::Add {
            name,
            display_name,
            webhook,
            push_fatigue_threshold,
            push_fatigue_window,
            json,
        } => {
            let display = display_name.unwrap_or_else(|| name.clone());
            let created = service.add_tenant(&name, &display, webhook).await?;
            if push_fatigue_threshold.is_some() || push_fatigue_window.is_some() {
                let settings = service.settings();
                service
                    .set_push_fatigue(
                        &name,
                        push_fatigue_threshold.unwrap_or(settings.push_fatigue.threshold),
                        push_fatigue_window.unwrap_or(settings.push_fatigue.window_seconds),
                    )
                    .await?;
            }
            if json {
                let out = serde_json::json!({
                    "tenant_id": created.tenant_id,
                    "api_key": created.api_key,
                    "webhook_secret": created.webhook_secret,
                });
                println!("{out}");
            } else {
                println!("tenant:  {}", created.tenant_id);
                println!(
                    "API key: {}   (shown once; keep it secret)",
                    created.api_key
                );
                if let Some(secret) = created.webhook_secret {
                    println!("webhook secret: {secret}");
                }
            }
        }
        TenantCommand::SetPushFatigue {
            name,
            threshold,
            window,
        } => {
            service
                .set_push_fatigue(&name, threshold, window)
                .await
                .with_context(|| format!("cannot change the push-fatigue limit of {name}"))?;
            if threshold == 0 {
                println!("push-fatigue lockout for {name}: off");
            } else {
                println!(
                    "push-fatigue lockout for {name}: after {threshold} denied or unanswered challenges within {window} s"
                );
            }
        }
        TenantCommand::List { json } => {
            let tenants = service.list_tenants().await?;
            if json {
                let list: Vec<_> = tenants
                    .iter()
                    .map(|t| serde_json::json!({ "tenant_id": t.id, "display_name": t.display_name, "webhook_url": t.webhook_url, "push_fatigue_threshold": t.push_fatigue_threshold, "push_fatigue_window_seconds": t.push_fatigue_window_seconds }))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                for t in tenants {
                    println!(
                        "{}\t{}\t{}",
                        t.id,
                        t.display_name,
                        t.webhook_url.as_deref().unwrap_or("-")
                    );
                }
            }
        }
        TenantCommand::RotateKey { name, json } => {
            let key = service
                .rotate_key(&name)
                .await
                .with_context(|| format!("cannot rotate the key of {name}"))?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "tenant_id": name, "api_key": key })
                );
            } else {
                println!("new API key for {name}: {key}   (the old key no longer works)");
            }
        }
        TenantCommand::RotateWebhookSecret { name, json } => {
            rotate_webhook_secret(relay, &name, json).await?;
        }
    }
    Ok(())
}

/// `tenant rotate-webhook-secret NAME`: prints the new secret (shown once).
async fn rotate_webhook_secret(relay: &Relay, name: &str, json: bool) -> anyhow::Result<()> {
    let secret = relay
        .service()
        .rotate_webhook_secret(name)
        .await
        .with_context(|| format!("cannot rotate the webhook secret of {name}"))?;
    if json {
        println!(
            "{}",
            serde_json::json!({ "tenant_id": name, "webhook_secret": secret.as_str() })
        );
    } else {
        println!(
            "new webhook secret for {name}: {}   (shown once; the old one no longer signs)",
            secret.as_str()
        );
    }
    Ok(())
}
