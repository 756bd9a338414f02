//! `onepush-device`: the OnePush phone emulator. Each `--home` folder is one phone.

// The doc comments of the clap types are the `--help` text, read in a terminal, not Markdown.
#![allow(clippy::doc_markdown)]

mod commands;
mod number;
mod render;
mod subscription;
mod unlock;
mod watch;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use onepush_device::{ClientError, DeviceError, ShownError, VaultError};
use onepush_protocol::api::TokenKind;
use zeroize::Zeroizing;

/// The OnePush phone emulator: provision a credential, show codes, approve or deny
/// challenges. Each --home folder is one emulated phone.
#[derive(Debug, Parser)]
#[command(name = "onepush-device", version)]
pub struct Cli {
    /// The phone's folder (its vault).
    #[arg(long, global = true, env = "ONEPUSH_DEVICE_HOME", value_name = "DIR")]
    home: Option<PathBuf>,
    /// Print JSON (one object per line) instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Read the vault PIN from this file (else ONEPUSH_DEVICE_PIN, else a prompt).
    #[arg(long, global = true, value_name = "FILE")]
    pin_file: Option<PathBuf>,
    /// Keep the vault unencrypted: for emulators and tests only.
    /// The environment variable takes 1/0, true/false, yes/no, on/off.
    #[arg(
        long,
        global = true,
        env = "ONEPUSH_DEVICE_INSECURE",
        value_parser = clap::builder::BoolishValueParser::new(),
        num_args = 0,
        default_missing_value = "true"
    )]
    insecure_no_pin: bool,
    /// With init, where no OS keystore is available: keep the vault's key in a file
    /// beside the vault (vault.onepush.key) instead of the keystore. Weaker: a copy of
    /// the folder then opens anywhere with the PIN alone.
    #[arg(long, global = true)]
    file_key: bool,
    #[command(subcommand)]
    command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up this phone: create its keys and get a credential ID from the relay.
    Init {
        /// The relay's public URL.
        #[arg(
            long,
            env = "ONEPUSH_RELAY_URL",
            default_value = "http://127.0.0.1:8420"
        )]
        relay: String,
        /// The kind of token: push (approves challenges with one push, shows codes) or
        /// otp (a code-only token, such as a PC token: codes, no push approvals).
        #[arg(long, value_name = "push|otp", default_value = "push", value_parser = parse_token_kind)]
        kind: TokenKind,
    },
    /// Show the credential ID, the current code and the relay.
    Show,
    /// Show the security codes.
    Codes {
        /// Print two consecutive codes (current and next) for registration at the bank.
        #[arg(long)]
        enroll: bool,
    },
    /// List the users this phone serves (asks the relay).
    Accounts,
    /// List the challenges waiting for an answer.
    Pending,
    /// Show what a challenge asks to approve.
    ShowChallenge {
        /// The challenge ID.
        id: String,
    },
    /// Approve a challenge shown before (show-challenge, pending, watch) and unchanged since.
    Approve {
        /// The challenge ID.
        id: String,
        /// The number shown on the bank's page (number matching).
        #[arg(long)]
        number: Option<u8>,
    },
    /// Deny a challenge shown before (show-challenge, pending, watch) and unchanged since.
    Deny {
        /// The challenge ID.
        id: String,
        /// "This wasn't me": report the push as fraud (the bank locks the user).
        #[arg(long)]
        not_me: bool,
    },
    /// Answer an offline challenge without network: show the transaction in PAYLOAD
    /// (the text of the bank's QR code), ask to confirm, then print the 8-digit code to
    /// type into the bank's page (RFC 6287 OCRA).
    OfflineCode {
        /// The bank's offline payload ("-" reads it from standard input).
        payload: String,
        /// Confirm without asking (tests and scripts).
        #[arg(long)]
        yes: bool,
    },
    /// List the answers given on this phone.
    History,
    /// Show or change this phone's settings.
    Settings {
        /// Ask for the PIN again before each approval in `watch` (on / off).
        #[arg(long, value_name = "on|off", value_parser = clap::builder::BoolishValueParser::new())]
        pin_before_approve: Option<bool>,
        /// The app's language.
        #[arg(long, value_parser = ["ja", "en"])]
        language: Option<String>,
    },
    /// Revoke the credential at the relay, then delete this phone's vault.
    Reset {
        /// Delete the vault even when the relay cannot be reached.
        #[arg(long)]
        force: bool,
    },
    /// Follow the event stream (and Web Push with --push-listen) and answer challenges.
    Watch {
        #[command(flatten)]
        answer: AnswerArgs,
        /// Also serve a Web Push endpoint on this address and register it.
        #[arg(long, value_name = "ADDR")]
        push_listen: Option<SocketAddr>,
    },
    /// Register where the relay pushes this phone's challenges: a real phone's APNs or
    /// FCM token (to drive a staging relay), a Web Push endpoint, or --clear.
    PushSubscription {
        #[command(flatten)]
        target: subscription::Target,
    },
    /// Serve a local Web Push endpoint, register it, and answer the pushes.
    PushEndpoint {
        /// Where to listen, like 127.0.0.1:8430.
        #[arg(long, value_name = "ADDR")]
        listen: SocketAddr,
        /// The base URL the relay reaches this endpoint at (default http://ADDR).
        #[arg(long, value_name = "URL")]
        public_url: Option<String>,
        #[command(flatten)]
        answer: AnswerArgs,
    },
}

fn parse_token_kind(text: &str) -> Result<TokenKind, String> {
    text.parse()
}

/// How `watch` and `push-endpoint` answer.
#[derive(Debug, Clone, clap::Args)]
pub struct AnswerArgs {
    /// Answer without asking.
    #[arg(long, value_enum)]
    auto: Option<Auto>,
    /// With --auto deny: deny as "this wasn't me".
    #[arg(long)]
    not_me: bool,
    /// Wait this long before answering, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    delay: u64,
    /// Read the number to type from this file (a number, or lines of "ID NUMBER").
    #[arg(long, value_name = "FILE")]
    number_from: Option<PathBuf>,
    /// Stop after this many challenges.
    #[arg(long, value_name = "N")]
    count: Option<u32>,
}

/// An automatic answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Auto {
    /// Approve every challenge.
    Approve,
    /// Deny every challenge.
    Deny,
    /// Show every challenge and leave it unanswered.
    Ignore,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ONEPUSH_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match commands::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            exit_code(&err)
        }
    }
}

/// Exit status by cause: 3 the relay refused, 4 the relay is unreachable, 5 the vault
/// (missing, locked, wrong PIN), 6 the challenge was never shown or changed since it was
/// shown (nothing signed), 1 anything else.
fn exit_code(err: &anyhow::Error) -> ExitCode {
    for cause in err.chain() {
        if cause.downcast_ref::<ShownError>().is_some() {
            return ExitCode::from(6);
        }
        let client = cause.downcast_ref::<ClientError>().or_else(|| {
            match cause.downcast_ref::<DeviceError>() {
                Some(DeviceError::Client(c)) => Some(c),
                _ => None,
            }
        });
        if let Some(client) = client {
            return ExitCode::from(if client.status().is_some() { 3 } else { 4 });
        }
        let vault = cause.downcast_ref::<VaultError>().is_some()
            || matches!(
                cause.downcast_ref::<DeviceError>(),
                Some(DeviceError::Vault(_))
            );
        if vault {
            return ExitCode::from(5);
        }
    }
    ExitCode::FAILURE
}

impl Cli {
    /// How to unlock the vault, from the options and the environment.
    fn unlock(&self) -> unlock::Unlock {
        unlock::Unlock {
            home: self.home.clone().unwrap_or_else(unlock::default_home),
            pin_file: self.pin_file.clone(),
            pin_env: std::env::var("ONEPUSH_DEVICE_PIN")
                .ok()
                .filter(|p| !p.is_empty())
                .map(Zeroizing::new),
            insecure: self.insecure_no_pin,
            file_key: self.file_key,
        }
    }
}
