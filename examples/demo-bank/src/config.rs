//! Command line and environment configuration of the demo bank.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// `onepush-demo-bank`: a demo corporate internet bank that asks the OnePush relay
/// to approve logins, transfers and admin operations.
#[derive(Clone, Parser)]
#[command(version, about)]
pub struct Config {
    /// Address to serve the bank's pages on.
    #[arg(long, env = "ONEPUSH_BANK_LISTEN", default_value = "127.0.0.1:8430")]
    pub listen: SocketAddr,
    /// The relay's base URL.
    #[arg(
        long,
        env = "ONEPUSH_BANK_RELAY_URL",
        default_value = "http://127.0.0.1:8420"
    )]
    pub relay_url: String,
    /// The bank's tenant API key on the relay (`onepush-relay tenant add`).
    #[arg(long, env = "ONEPUSH_BANK_API_KEY", hide_env_values = true)]
    pub api_key: String,
    /// Folder for the bank's SQLite database.
    #[arg(long, env = "ONEPUSH_BANK_DATA_DIR", default_value = "demo-bank-data")]
    pub data_dir: PathBuf,
    /// Seconds a user has to answer a push (10–600).
    #[arg(long, env = "ONEPUSH_BANK_TTL_SECONDS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(10..=600))]
    pub ttl_seconds: u32,
    /// Turn number matching off for logins, transfers and payments (on by default).
    #[arg(long)]
    pub no_number_matching: bool,
    /// Days of password-only use after the bank suspends or unregisters a token.
    #[arg(long, default_value_t = 14)]
    pub grace_days: u32,
    /// Password of the bank staff's token status page.
    #[arg(
        long,
        env = "ONEPUSH_BANK_STAFF_PASSWORD",
        default_value = "staff1234",
        hide_env_values = true
    )]
    pub staff_password: String,
    /// Mark cookies `Secure` (when served behind HTTPS).
    #[arg(long)]
    pub secure_cookies: bool,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("relay_url", &self.relay_url)
            .field("api_key", &"<redacted>")
            .field("data_dir", &self.data_dir)
            .field("ttl_seconds", &self.ttl_seconds)
            .field("no_number_matching", &self.no_number_matching)
            .field("grace_days", &self.grace_days)
            .field("staff_password", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// The settings the pages use.
#[derive(Clone)]
pub struct Settings {
    /// Seconds a user has to answer.
    pub ttl_seconds: u32,
    /// Number matching for logins, transfers and payments.
    pub number_matching: bool,
    /// Grace days after suspend / unregister.
    pub grace_days: u32,
    /// Staff page password.
    pub staff_password: String,
    /// `Secure` cookies.
    pub secure_cookies: bool,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("ttl_seconds", &self.ttl_seconds)
            .field("number_matching", &self.number_matching)
            .field("grace_days", &self.grace_days)
            .finish_non_exhaustive()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            ttl_seconds: 90,
            number_matching: true,
            grace_days: 14,
            staff_password: "staff1234".to_owned(),
            secure_cookies: false,
        }
    }
}

impl From<&Config> for Settings {
    fn from(c: &Config) -> Self {
        Self {
            ttl_seconds: c.ttl_seconds,
            number_matching: !c.no_number_matching,
            grace_days: c.grace_days,
            staff_password: c.staff_password.clone(),
            secure_cookies: c.secure_cookies,
        }
    }
}
