//! `onepush-relay maintenance on|off|status` (R18): suspend one-push for every bank on
//! the database or for one bank, from the operator's shell. The change is stored, so
//! every relay on the database (and one already running on the same SQLite file) honours
//! it within a second. Errors are one line on stderr: exit 2 for bad arguments, 1 for
//! anything else.

use std::process::exit;

use clap::Subcommand;
use onepush_protocol::api::{MaintenanceOverview, MaintenanceStatus, SetMaintenance};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use onepush_relay::Relay;
use onepush_relay::service::maintenance::{MaintenanceError, Operator};
use onepush_relay::settings::Settings;

/// `maintenance` commands.
#[derive(Debug, Subcommand)]
pub enum MaintenanceCommand {
    /// Suspend one-push: new challenges get 503 `maintenance` with the message and
    /// `Retry-After`; running it again changes the message or end.
    On {
        /// Only this bank (tenant slug) [default: every bank on the relay].
        #[arg(long, value_name = "TENANT")]
        tenant: Option<String>,
        /// The announcement banks show their customers (at most 500 characters).
        #[arg(long, value_name = "TEXT")]
        message: Option<String>,
        /// When it ends by itself, RFC 3339 (`2026-12-07T06:00:00+09:00`) [default: when
        /// turned off].
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// End the suspension.
    Off {
        /// Only this bank's own suspension [default: the relay-wide one].
        #[arg(long, value_name = "TENANT")]
        tenant: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show every suspension in force.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `maintenance` command; on an error prints one line on stderr and exits.
pub async fn run(settings: Settings, command: MaintenanceCommand) -> anyhow::Result<()> {
    let until = match &command {
        MaintenanceCommand::On {
            until: Some(text), ..
        } => match OffsetDateTime::parse(text, &Rfc3339) {
            Ok(t) => Some(t),
            Err(e) => fail(
                2,
                &format!(
                    "--until {text:?} is not an RFC 3339 time like 2026-12-07T06:00:00+09:00 ({e})"
                ),
            ),
        },
        _ => None,
    };
    let relay = match Relay::open(settings).await {
        Ok(relay) => relay,
        Err(e) => fail(1, &format!("{e:#}")),
    };
    let service = relay.service();
    let outcome = match command {
        MaintenanceCommand::On {
            tenant,
            message,
            json,
            ..
        } => service
            .maintenance_on(
                tenant.as_deref(),
                SetMaintenance { message, until },
                Operator::Cli,
            )
            .await
            .map(|status| print_on(tenant.as_deref(), &status, json)),
        MaintenanceCommand::Off { tenant, json } => service
            .maintenance_off(tenant.as_deref(), Operator::Cli)
            .await
            .map(|was_on| print_off(tenant.as_deref(), was_on, json)),
        MaintenanceCommand::Status { json } => service
            .maintenance_overview()
            .await
            .map(|overview| print_status(&overview, json))
            .map_err(MaintenanceError::from),
    };
    match outcome {
        Ok(()) => Ok(()),
        Err(e @ (MaintenanceError::Invalid(_) | MaintenanceError::UnknownTenant(_))) => {
            fail(2, &e.to_string())
        }
        Err(e) => fail(1, &e.to_string()),
    }
}

fn fail(code: i32, message: &str) -> ! {
    eprintln!("onepush-relay maintenance: {}", message.replace('\n', " "));
    exit(code)
}

fn whom(tenant: Option<&str>) -> String {
    tenant.map_or_else(|| "every bank".to_owned(), |t| format!("tenant {t}"))
}

fn when(t: Option<OffsetDateTime>) -> String {
    t.and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "-".to_owned())
}

fn print_on(tenant: Option<&str>, status: &MaintenanceStatus, json: bool) {
    if json {
        println!("{}", serde_json::to_string(status).unwrap_or_default());
        return;
    }
    println!(
        "maintenance on for {}: new challenges get 503 (until {}, Retry-After {} s){}",
        whom(tenant),
        status
            .until
            .map_or_else(|| "turned off".to_owned(), |t| when(Some(t))),
        status.retry_after_seconds.unwrap_or_default(),
        status
            .message
            .as_ref()
            .map(|m| format!("; message: {m}"))
            .unwrap_or_default()
    );
}

fn print_off(tenant: Option<&str>, was_on: bool, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({ "tenant_id": tenant, "was_on": was_on })
        );
    } else if was_on {
        println!("maintenance off for {}", whom(tenant));
    } else {
        println!("maintenance was not on for {}", whom(tenant));
    }
}

fn print_status(overview: &MaintenanceOverview, json: bool) {
    if json {
        println!("{}", serde_json::to_string(overview).unwrap_or_default());
        return;
    }
    let line = |who: &str, s: &MaintenanceStatus| {
        if s.on {
            println!(
                "{who}\ton\tsince {}\tuntil {}\t{}",
                when(s.since),
                when(s.until),
                s.message.as_deref().unwrap_or("-").replace('\n', " ")
            );
        } else {
            println!("{who}\toff");
        }
    };
    line("relay", &overview.relay);
    for t in &overview.tenants {
        line(t.tenant_id.as_str(), &t.status);
    }
}
