//! The relay's configuration: defaults < TOML file < `ONEPUSH_*` environment, then `validate()`.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The TOML file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML file is not valid.
    #[error("config file {path} is invalid: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// An environment variable has a value of the wrong kind.
    #[error("environment variable {name}={value:?} is invalid: {message}")]
    Env {
        /// The variable.
        name: String,
        /// Its value (never a secret: secrets are not parsed this way).
        value: String,
        /// Why.
        message: String,
    },
    /// A setting is out of range.
    #[error("setting `{key}` is invalid: {message}")]
    Invalid {
        /// The setting's key.
        key: &'static str,
        /// Why.
        message: String,
    },
}

/// A secret string that never shows in `Debug`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Everything the relay can be configured with. The TOML keys and the
/// `ONEPUSH_<KEY>` environment variables have the field names.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on (`127.0.0.1:8420`).
    pub listen: SocketAddr,
    /// Folder for the database, the VAPID key and the master key (`./onepush-data`).
    pub data_dir: PathBuf,
    /// Database URL: `sqlite://PATH` or `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`;
    /// default `sqlite://<data_dir>/onepush.db`.
    pub database_url: Option<String>,
    /// Most database connections this relay opens (its PostgreSQL pool size; SQLite uses
    /// one connection for everything, plus one for WAL checkpoints).
    pub database_max_connections: u32,
    /// Longest a database statement may run, in milliseconds (PostgreSQL
    /// `statement_timeout`; `0` = no limit; SQLite ignores it). A request whose statement
    /// times out is answered 503 `database-unavailable`.
    pub database_statement_timeout_ms: u64,
    /// The URL devices use to reach the relay, checked against a proof's `htu`;
    /// default `http://<listen>`.
    pub public_url: Option<String>,
    /// How far a device proof's `iat` may be from the relay's clock, in seconds.
    pub proof_skew_seconds: u32,
    /// How many 30 s steps around now the two enrollment codes may be.
    pub enrollment_window_steps: u32,
    /// How many 30 s steps around now an OTP code may be (±).
    pub otp_window_steps: u32,
    /// How many steps around now a resync searches.
    pub resync_window_steps: u32,
    /// Consecutive OTP failures that lock a binding (per tenant default).
    pub otp_lock_threshold: u32,
    /// Enrollment attempts with one credential ID after which it cannot be enrolled for
    /// [`enrollment_lock_seconds`](Self::enrollment_lock_seconds) (counted per credential,
    /// cleared by a successful enrollment).
    pub enrollment_lock_threshold: u32,
    /// How long a credential stays locked for enrollment, in seconds.
    pub enrollment_lock_seconds: u32,
    /// Largest request body, in bytes.
    pub body_limit_bytes: usize,
    /// Largest total size of a request's headers (names, values and request line), in
    /// bytes; larger requests get 431.
    pub header_limit_bytes: usize,
    /// Maintenance mode (R18) for this relay alone, from its start: new challenges get
    /// 503. Not stored; `onepush-relay maintenance on` suspends every relay at run time.
    pub maintenance: bool,
    /// `Retry-After` answered in maintenance mode when the suspension has no `until`, in
    /// seconds.
    pub maintenance_retry_after_seconds: u32,
    /// The four-letter prefix of new credential IDs.
    pub credential_prefix: String,
    /// Provisioning requests allowed per client address per minute (token bucket).
    pub provision_per_minute: u32,
    /// Pending challenges allowed per user at once (push fatigue guard).
    pub max_pending_per_user: u32,
    /// Push fatigue by history, default for new tenants: after this many challenges of a
    /// user ended denied or expired unanswered within the window (no approval since), new
    /// challenges are refused; 0 = off.
    pub push_fatigue_threshold: u32,
    /// Push fatigue window, in seconds (default for new tenants).
    pub push_fatigue_window_seconds: u32,
    /// VAPID `sub` claim (a `mailto:` or `https:` contact).
    pub vapid_subject: String,
    /// The 32-byte master key for secrets at rest, base64url; when absent a
    /// `master.key` file in the data folder is created and used.
    pub master_key: Option<Secret>,
    /// Log filter (`RUST_LOG` syntax).
    pub log: String,
    /// Address of the operations listener (`/metrics`), apart from the public one
    /// (`127.0.0.1:8421`: loopback only, unless an operator opens it).
    pub admin_listen: SocketAddr,
    /// Device API requests allowed per client address per minute (token bucket, burst
    /// the same); 0 = no limit.
    pub device_per_address_per_minute: u32,
    /// Device API requests allowed per credential per minute, counted once the
    /// request's proof or decision verified (so that no one can use up another's
    /// allowance); 0 = no limit.
    pub device_per_credential_per_minute: u32,
    /// Days after which a credential that was never bound to a user is deleted; 0 = kept.
    pub unbound_credential_days: u32,
    /// Event streams open at once per credential (in this relay); one more closes the
    /// oldest.
    pub event_streams_per_credential: u32,
    /// Event streams open at once in this relay; past it, 503 with `Retry-After`.
    pub event_streams_max: u32,
    /// Long-polls (`GET /v1/challenges/{id}?wait=`) waiting at once per tenant in this
    /// relay; past it, 503 with `Retry-After`.
    pub long_polls_per_tenant: u32,
    /// Connections open at once on the public listener; past it, a connection is
    /// answered 503 with `Retry-After` and closed.
    pub connections_max: u32,
    /// Seconds a client has to send a request's headers (HTTP/1.1) before the
    /// connection is closed; also how long an HTTP/1.1 keep-alive connection waits for
    /// its next request (the wait for a head counts from the end of the previous answer).
    pub header_read_timeout_seconds: u32,
    /// Seconds a connection may stay open with no request in flight.
    pub idle_timeout_seconds: u32,
    /// Seconds between HTTP/2 keep-alive pings; a ping unanswered for as long closes
    /// the connection.
    pub http2_keep_alive_seconds: u32,
    /// Time each webhook attempt may take, in seconds (1 to 60).
    pub webhook_timeout_seconds: u32,
    /// Webhook deliveries this relay runs at once, over all tenants.
    pub webhook_concurrency: u32,
    /// Webhook deliveries this relay runs at once for one tenant (at most
    /// `webhook_concurrency`): a tenant's slow endpoint holds only these.
    pub webhook_per_tenant: u32,
    /// Consecutive failed attempts (no answer, 429, 5xx) that open a tenant's webhook
    /// circuit: its messages wait instead of being tried.
    pub webhook_circuit_failures: u32,
    /// How long an opened circuit waits before one probe, in seconds (doubles after each
    /// failed probe, up to an hour).
    pub webhook_circuit_open_seconds: u32,
    /// How often each retention job runs (one relay per run, across relays), in seconds.
    pub retention_interval_seconds: u32,
    /// Rows deleted per statement by a retention job.
    pub retention_batch: u32,
    /// Ended challenges are deleted this many days after they were created; 0 = kept.
    pub retention_challenges_days: u32,
    /// Audit events are deleted this many days after they happened; 0 = kept.
    pub retention_audit_days: u32,
    /// Delivered and given-up webhook messages are deleted this many days after their last
    /// attempt; 0 = kept.
    pub retention_outbox_days: u32,
    /// Idempotency keys are deleted this many hours after their challenge was created
    /// (a retry after that creates a new challenge); 0 = kept.
    pub retention_idempotency_hours: u32,
    /// The request header whose last address is the client's, for the per-address rate
    /// limits behind a balancer that appends it (`x-forwarded-for`); unset: the socket's
    /// peer. Set it only when clients cannot reach the relay but through that balancer.
    pub client_address_header: Option<String>,
    /// Send Web Push to plain `http://` endpoints too (demo and tests only).
    pub push_allow_insecure_endpoints: bool,
    /// Send Web Push to internal addresses (loopback, private, link-local, CGNAT...)
    /// too (demo and tests only).
    pub push_allow_private_endpoints: bool,
    /// Extra trust anchors (PEM certificates) for connections to push services (APNs,
    /// FCM, OAuth, Web Push), beside the system's.
    pub push_ca_file: Option<PathBuf>,
    /// The APNs provider key (`AuthKey_<KEY ID>.p8`, PKCS#8 PEM); APNs is off without it.
    pub apns_key_file: Option<PathBuf>,
    /// The APNs key's 10-character key ID.
    pub apns_key_id: Option<String>,
    /// The Apple developer team ID (10 characters).
    pub apns_team_id: Option<String>,
    /// The `apns-topic`: the app's bundle ID.
    pub apns_topic: Option<String>,
    /// The APNs base URL for every subscription (default: Apple's production or sandbox
    /// host, by the subscription's environment).
    pub apns_base_url: Option<String>,
    /// The Firebase service-account JSON key; FCM is off without it.
    pub fcm_service_account_file: Option<PathBuf>,
    /// The FCM HTTP v1 base URL (default `https://fcm.googleapis.com`).
    pub fcm_base_url: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8420)),
            data_dir: PathBuf::from("./onepush-data"),
            database_url: None,
            database_max_connections: 8,
            database_statement_timeout_ms: 5_000,
            public_url: None,
            proof_skew_seconds: 60,
            enrollment_window_steps: 2,
            otp_window_steps: 1,
            resync_window_steps: 20,
            otp_lock_threshold: 5,
            enrollment_lock_threshold: 5,
            enrollment_lock_seconds: 900,
            body_limit_bytes: 64 * 1024,
            header_limit_bytes: 16 * 1024,
            maintenance: false,
            maintenance_retry_after_seconds: 300,
            credential_prefix: "ONEP".to_owned(),
            provision_per_minute: 10,
            max_pending_per_user: 5,
            push_fatigue_threshold: 5,
            push_fatigue_window_seconds: 15 * 60,
            vapid_subject: "mailto:ops@onepush.invalid".to_owned(),
            master_key: None,
            log: "info".to_owned(),
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 8421)),
            device_per_address_per_minute: 1200,
            device_per_credential_per_minute: 300,
            unbound_credential_days: 30,
            event_streams_per_credential: 3,
            event_streams_max: 10_000,
            long_polls_per_tenant: 1_000,
            connections_max: 20_000,
            header_read_timeout_seconds: 30,
            idle_timeout_seconds: 120,
            http2_keep_alive_seconds: 30,
            webhook_timeout_seconds: 10,
            webhook_concurrency: 16,
            webhook_per_tenant: 4,
            webhook_circuit_failures: 5,
            webhook_circuit_open_seconds: 60,
            retention_interval_seconds: 3600,
            retention_batch: 500,
            retention_challenges_days: 90,
            retention_audit_days: 400,
            retention_outbox_days: 7,
            retention_idempotency_hours: 24,
            client_address_header: None,
            push_allow_insecure_endpoints: false,
            push_allow_private_endpoints: false,
            push_ca_file: None,
            apns_key_file: None,
            apns_key_id: None,
            apns_team_id: None,
            apns_topic: None,
            apns_base_url: None,
            fcm_service_account_file: None,
            fcm_base_url: None,
        }
    }
}

/// Checks a push-fatigue setting: threshold 0 (off) to 1000, window 60 s to 7 days.
pub fn check_push_fatigue(threshold: u32, window_seconds: u32) -> Result<(), String> {
    if threshold > 1000 {
        return Err(format!(
            "threshold must be 0 (off) to 1000, got {threshold}"
        ));
    }
    if !(60..=7 * 24 * 3600).contains(&window_seconds) {
        return Err(format!(
            "window must be 60 to 604800 seconds (7 days), got {window_seconds}"
        ));
    }
    Ok(())
}

impl Settings {
    /// Defaults, then the TOML file (if given), then `ONEPUSH_*` variables from `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        let mut settings = match file {
            Some(path) => Self::from_toml_file(path)?,
            None => Self::default(),
        };
        settings.apply_env(env)?;
        Ok(settings)
    }

    fn from_toml_file(path: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| SettingsError::Toml {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// Applies `ONEPUSH_<FIELD>` overrides (upper-case field names).
    pub fn apply_env(
        &mut self,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), SettingsError> {
        for (name, value) in env {
            let Some(key) = name.strip_prefix("ONEPUSH_") else {
                continue;
            };
            self.set(&key.to_ascii_lowercase(), &value)
                .map_err(|message| SettingsError::Env {
                    value: if key == "MASTER_KEY" {
                        "<redacted>".into()
                    } else {
                        value.clone()
                    },
                    name: name.clone(),
                    message,
                })?;
        }
        Ok(())
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        fn num<T: std::str::FromStr>(v: &str) -> Result<T, String>
        where
            T::Err: fmt::Display,
        {
            v.trim().parse().map_err(|e: T::Err| e.to_string())
        }
        match key {
            "listen" => self.listen = num(value)?,
            "data_dir" => self.data_dir = PathBuf::from(value),
            "database_url" => self.database_url = Some(value.to_owned()),
            "database_max_connections" => self.database_max_connections = num(value)?,
            "database_statement_timeout_ms" => self.database_statement_timeout_ms = num(value)?,
            "public_url" => self.public_url = Some(value.to_owned()),
            "proof_skew_seconds" => self.proof_skew_seconds = num(value)?,
            "enrollment_window_steps" => self.enrollment_window_steps = num(value)?,
            "otp_window_steps" => self.otp_window_steps = num(value)?,
            "resync_window_steps" => self.resync_window_steps = num(value)?,
            "otp_lock_threshold" => self.otp_lock_threshold = num(value)?,
            "enrollment_lock_threshold" => self.enrollment_lock_threshold = num(value)?,
            "enrollment_lock_seconds" => self.enrollment_lock_seconds = num(value)?,
            "body_limit_bytes" => self.body_limit_bytes = num(value)?,
            "header_limit_bytes" => self.header_limit_bytes = num(value)?,
            "maintenance" => self.maintenance = parse_bool(value)?,
            "maintenance_retry_after_seconds" => {
                self.maintenance_retry_after_seconds = num(value)?;
            }
            "credential_prefix" => value.clone_into(&mut self.credential_prefix),
            "provision_per_minute" => self.provision_per_minute = num(value)?,
            "max_pending_per_user" => self.max_pending_per_user = num(value)?,
            "push_fatigue_threshold" => self.push_fatigue_threshold = num(value)?,
            "push_fatigue_window_seconds" => self.push_fatigue_window_seconds = num(value)?,
            "vapid_subject" => value.clone_into(&mut self.vapid_subject),
            "master_key" => self.master_key = Some(Secret(value.to_owned())),
            "log" => value.clone_into(&mut self.log),
            "admin_listen" => self.admin_listen = num(value)?,
            "device_per_address_per_minute" => self.device_per_address_per_minute = num(value)?,
            "device_per_credential_per_minute" => {
                self.device_per_credential_per_minute = num(value)?;
            }
            "unbound_credential_days" => self.unbound_credential_days = num(value)?,
            "event_streams_per_credential" => self.event_streams_per_credential = num(value)?,
            "event_streams_max" => self.event_streams_max = num(value)?,
            "long_polls_per_tenant" => self.long_polls_per_tenant = num(value)?,
            "connections_max" => self.connections_max = num(value)?,
            "header_read_timeout_seconds" => self.header_read_timeout_seconds = num(value)?,
            "idle_timeout_seconds" => self.idle_timeout_seconds = num(value)?,
            "http2_keep_alive_seconds" => self.http2_keep_alive_seconds = num(value)?,
            "webhook_timeout_seconds" => self.webhook_timeout_seconds = num(value)?,
            "webhook_concurrency" => self.webhook_concurrency = num(value)?,
            "webhook_per_tenant" => self.webhook_per_tenant = num(value)?,
            "webhook_circuit_failures" => self.webhook_circuit_failures = num(value)?,
            "webhook_circuit_open_seconds" => self.webhook_circuit_open_seconds = num(value)?,
            "retention_interval_seconds" => self.retention_interval_seconds = num(value)?,
            "retention_batch" => self.retention_batch = num(value)?,
            "retention_challenges_days" => self.retention_challenges_days = num(value)?,
            "retention_audit_days" => self.retention_audit_days = num(value)?,
            "retention_outbox_days" => self.retention_outbox_days = num(value)?,
            "retention_idempotency_hours" => self.retention_idempotency_hours = num(value)?,
            "client_address_header" => {
                self.client_address_header =
                    Some(value.trim().to_ascii_lowercase()).filter(|v| !v.is_empty());
            }
            "push_allow_insecure_endpoints" => {
                self.push_allow_insecure_endpoints = parse_bool(value)?;
            }
            "push_allow_private_endpoints" => {
                self.push_allow_private_endpoints = parse_bool(value)?;
            }
            "push_ca_file" => self.push_ca_file = Some(PathBuf::from(value)),
            "apns_key_file" => self.apns_key_file = Some(PathBuf::from(value)),
            "apns_key_id" => self.apns_key_id = Some(value.to_owned()),
            "apns_team_id" => self.apns_team_id = Some(value.to_owned()),
            "apns_topic" => self.apns_topic = Some(value.to_owned()),
            "apns_base_url" => self.apns_base_url = Some(value.to_owned()),
            "fcm_service_account_file" => {
                self.fcm_service_account_file = Some(PathBuf::from(value));
            }
            "fcm_base_url" => self.fcm_base_url = Some(value.to_owned()),
            // Other ONEPUSH_* variables belong to other programs (the device CLI, the demo).
            _ => {}
        }
        Ok(())
    }

    /// Checks ranges and formats, with a message that names the setting.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let invalid = |key, message: &str| {
            Err(SettingsError::Invalid {
                key,
                message: message.to_owned(),
            })
        };
        if self.credential_prefix.len() != 4
            || !self
                .credential_prefix
                .chars()
                .all(|c| c.is_ascii_uppercase())
        {
            return invalid(
                "credential_prefix",
                "must be 4 upper-case letters A-Z, like ONEP",
            );
        }
        if !(1..=600).contains(&self.proof_skew_seconds) {
            return invalid("proof_skew_seconds", "must be 1 to 600");
        }
        if !(1..=10).contains(&self.enrollment_window_steps) {
            return invalid("enrollment_window_steps", "must be 1 to 10");
        }
        if self.otp_window_steps > 5 {
            return invalid("otp_window_steps", "must be 0 to 5");
        }
        if !(1..=200).contains(&self.resync_window_steps) {
            return invalid("resync_window_steps", "must be 1 to 200");
        }
        if !(1..=100).contains(&self.otp_lock_threshold) {
            return invalid("otp_lock_threshold", "must be 1 to 100");
        }
        if !(1..=100).contains(&self.enrollment_lock_threshold) {
            return invalid("enrollment_lock_threshold", "must be 1 to 100");
        }
        if !(1..=86_400).contains(&self.enrollment_lock_seconds) {
            return invalid("enrollment_lock_seconds", "must be 1 to 86400");
        }
        if !(1024..=16 * 1024 * 1024).contains(&self.body_limit_bytes) {
            return invalid("body_limit_bytes", "must be 1024 to 16777216");
        }
        if !(1024..=1024 * 1024).contains(&self.header_limit_bytes) {
            return invalid("header_limit_bytes", "must be 1024 to 1048576");
        }
        if self.max_pending_per_user == 0 {
            return invalid("max_pending_per_user", "must be at least 1");
        }
        if let Err(message) = check_push_fatigue(
            self.push_fatigue_threshold,
            self.push_fatigue_window_seconds,
        ) {
            let key = if message.starts_with("threshold") {
                "push_fatigue_threshold"
            } else {
                "push_fatigue_window_seconds"
            };
            return invalid(key, &message);
        }
        if !(self.vapid_subject.starts_with("mailto:") || self.vapid_subject.starts_with("https:"))
        {
            return invalid("vapid_subject", "must start with mailto: or https:");
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return invalid("public_url", "must start with http:// or https://");
        }
        if !(1..=1000).contains(&self.database_max_connections) {
            return invalid("database_max_connections", "must be 1 to 1000");
        }
        if self.database_statement_timeout_ms > 3_600_000 {
            return invalid(
                "database_statement_timeout_ms",
                "must be 0 (no limit) to 3600000 (one hour)",
            );
        }
        let url = self.database_url();
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        if !matches!(
            scheme.as_deref(),
            Some("sqlite" | "postgres" | "postgresql")
        ) {
            return Err(SettingsError::Invalid {
                key: "database_url",
                message: format!(
                    "{:?} is not supported: use sqlite://PATH or postgres://USER@HOST[:PORT]/DATABASE",
                    crate::store::redact_url(&url)
                ),
            });
        }
        if let Some((key, message)) = self.push_settings_problem() {
            return invalid(key, message);
        }
        if let Some(key) = &self.master_key
            && onepush_protocol::b64::decode_array::<32>(&key.0).is_none()
        {
            return invalid("master_key", "must be 32 bytes, base64url without padding");
        }
        self.validate_limits()?;
        self.validate_ops()
    }

    /// The limits of issue 22: each at least 1 (the rate limits and the credential
    /// deletion may be 0, off), the timeouts at most an hour.
    fn validate_limits(&self) -> Result<(), SettingsError> {
        let invalid = |key, message: &str| {
            Err(SettingsError::Invalid {
                key,
                message: message.to_owned(),
            })
        };
        if self.admin_listen == self.listen && self.listen.port() != 0 {
            return invalid("admin_listen", "must differ from `listen`");
        }
        for (key, value) in [
            (
                "event_streams_per_credential",
                self.event_streams_per_credential,
            ),
            ("event_streams_max", self.event_streams_max),
            ("long_polls_per_tenant", self.long_polls_per_tenant),
            ("connections_max", self.connections_max),
        ] {
            if value == 0 {
                return invalid(key, "must be at least 1");
            }
        }
        for (key, value) in [
            (
                "header_read_timeout_seconds",
                self.header_read_timeout_seconds,
            ),
            ("idle_timeout_seconds", self.idle_timeout_seconds),
            ("http2_keep_alive_seconds", self.http2_keep_alive_seconds),
        ] {
            if !(1..=3600).contains(&value) {
                return invalid(key, "must be 1 to 3600 seconds");
            }
        }
        if let Some(name) = &self.client_address_header
            && axum::http::HeaderName::from_bytes(name.as_bytes()).is_err()
        {
            return invalid("client_address_header", "must be a header name");
        }
        if self.unbound_credential_days > 3650 {
            return invalid("unbound_credential_days", "must be 0 (keep) to 3650");
        }
        Ok(())
    }

    /// The webhook and retention settings (issue 22).
    fn validate_ops(&self) -> Result<(), SettingsError> {
        let ranges: [(&'static str, u32, u32, u32); 11] = [
            (
                "webhook_timeout_seconds",
                self.webhook_timeout_seconds,
                1,
                60,
            ),
            ("webhook_concurrency", self.webhook_concurrency, 1, 1000),
            (
                "webhook_per_tenant",
                self.webhook_per_tenant,
                1,
                self.webhook_concurrency.max(1),
            ),
            (
                "webhook_circuit_failures",
                self.webhook_circuit_failures,
                1,
                1000,
            ),
            (
                "webhook_circuit_open_seconds",
                self.webhook_circuit_open_seconds,
                1,
                3600,
            ),
            (
                "retention_interval_seconds",
                self.retention_interval_seconds,
                60,
                86_400,
            ),
            ("retention_batch", self.retention_batch, 1, 10_000),
            (
                "retention_challenges_days",
                self.retention_challenges_days,
                0,
                36_500,
            ),
            ("retention_audit_days", self.retention_audit_days, 0, 36_500),
            (
                "retention_outbox_days",
                self.retention_outbox_days,
                0,
                36_500,
            ),
            (
                "retention_idempotency_hours",
                self.retention_idempotency_hours,
                0,
                876_000,
            ),
        ];
        for (key, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                return Err(SettingsError::Invalid {
                    key,
                    message: format!("must be {min} to {max}, got {value}"),
                });
            }
        }
        // Push fatigue counts the challenges that ended within its window (7 days at
        // most): they must outlive it.
        if (1..8).contains(&self.retention_challenges_days) {
            return Err(SettingsError::Invalid {
                key: "retention_challenges_days",
                message: format!(
                    "must be 0 (kept) or at least 8, longer than the longest push-fatigue window (7 days), got {}",
                    self.retention_challenges_days
                ),
            });
        }
        Ok(())
    }

    /// The Web Push endpoint policy these settings give ([`crate::push::guard`]).
    pub fn endpoint_policy(&self) -> crate::push::EndpointPolicy {
        crate::push::EndpointPolicy {
            allow_insecure: self.push_allow_insecure_endpoints,
            allow_private: self.push_allow_private_endpoints,
        }
    }

    /// The first push setting that cannot be used, and why: APNs needs its key ID, team
    /// ID and topic with its key file; base URLs must be `https://`.
    fn push_settings_problem(&self) -> Option<(&'static str, &'static str)> {
        if self.apns_key_file.is_some() {
            for (key, value) in [
                ("apns_key_id", &self.apns_key_id),
                ("apns_team_id", &self.apns_team_id),
                ("apns_topic", &self.apns_topic),
            ] {
                if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                    return Some((key, "must be set when apns_key_file is"));
                }
            }
        }
        for (key, value) in [
            ("apns_base_url", &self.apns_base_url),
            ("fcm_base_url", &self.fcm_base_url),
        ] {
            if value.as_deref().is_some_and(|v| !v.starts_with("https://")) {
                return Some((key, "must start with https://"));
            }
        }
        None
    }

    /// The setting a channel's sender needs, when it is not set (APNs, FCM).
    pub fn push_channel_setting_missing(
        &self,
        channel: &onepush_protocol::PushChannel,
    ) -> Option<&'static str> {
        match channel {
            onepush_protocol::PushChannel::Apns(_) if self.apns_key_file.is_none() => {
                Some("apns_key_file")
            }
            onepush_protocol::PushChannel::Fcm(_) if self.fcm_service_account_file.is_none() => {
                Some("fcm_service_account_file")
            }
            _ => None,
        }
    }

    /// The database URL in use.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("onepush.db").display()))
    }

    /// The database URL with any password hidden (for logs and errors).
    pub fn database_url_redacted(&self) -> String {
        crate::store::redact_url(&self.database_url())
    }

    /// The connection settings of the store.
    pub fn store_options(&self) -> crate::store::StoreOptions {
        crate::store::StoreOptions {
            max_connections: self.database_max_connections,
            statement_timeout: (self.database_statement_timeout_ms > 0)
                .then(|| std::time::Duration::from_millis(self.database_statement_timeout_ms)),
            ..crate::store::StoreOptions::default()
        }
    }

    /// The public base URL, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_owned()
    }
}

fn parse_bool(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        other => Err(format!("expected true or false, got {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn push_sender_settings_are_checked_together() {
        let apns = Settings::load(
            None,
            env(&[
                (
                    "ONEPUSH_APNS_KEY_FILE",
                    "/etc/onepush/AuthKey_ABC123DEFG.p8",
                ),
                ("ONEPUSH_APNS_KEY_ID", "ABC123DEFG"),
                ("ONEPUSH_APNS_TEAM_ID", "DEF123GHIJ"),
            ]),
        )
        .unwrap();
        let err = apns.validate().unwrap_err().to_string();
        assert!(err.contains("apns_topic"), "{err}");
        let http = Settings {
            fcm_base_url: Some("http://fcm.test".into()),
            ..Settings::default()
        };
        let err = http.validate().unwrap_err().to_string();
        assert!(err.contains("fcm_base_url"), "{err}");
        let on = Settings::load(
            None,
            env(&[
                ("ONEPUSH_PUSH_ALLOW_INSECURE_ENDPOINTS", "true"),
                ("ONEPUSH_PUSH_ALLOW_PRIVATE_ENDPOINTS", "yes"),
            ]),
        )
        .unwrap();
        assert!(on.push_allow_insecure_endpoints && on.push_allow_private_endpoints);
        assert!(!Settings::default().endpoint_policy().allow_private);
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("relay.toml");
        std::fs::write(&file, "listen = \"0.0.0.0:9000\"\notp_lock_threshold = 3\n").unwrap();
        let s = Settings::load(Some(&file), env(&[("ONEPUSH_OTP_LOCK_THRESHOLD", "7")])).unwrap();
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.otp_lock_threshold, 7);
        s.validate().unwrap();
    }

    #[test]
    fn unknown_file_keys_are_refused_with_the_key_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("relay.toml");
        std::fs::write(&file, "lisen = \"0.0.0.0:9000\"\n").unwrap();
        let err = Settings::load(Some(&file), []).unwrap_err().to_string();
        assert!(err.contains("lisen"), "{err}");
    }

    #[test]
    fn bad_values_name_the_setting() {
        let err = Settings::load(None, env(&[("ONEPUSH_LISTEN", "nope")])).unwrap_err();
        assert!(err.to_string().contains("ONEPUSH_LISTEN"), "{err}");
        let s = Settings {
            credential_prefix: "on1".into(),
            ..Settings::default()
        };
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("credential_prefix")
        );
    }

    #[test]
    fn push_fatigue_and_header_limits_come_from_the_environment_and_are_checked() {
        let s = Settings::load(
            None,
            env(&[
                ("ONEPUSH_PUSH_FATIGUE_THRESHOLD", "3"),
                ("ONEPUSH_PUSH_FATIGUE_WINDOW_SECONDS", "600"),
                ("ONEPUSH_HEADER_LIMIT_BYTES", "8192"),
            ]),
        )
        .unwrap();
        s.validate().unwrap();
        assert_eq!(
            (
                s.push_fatigue_threshold,
                s.push_fatigue_window_seconds,
                s.header_limit_bytes
            ),
            (3, 600, 8192)
        );
        for (bad, key) in [
            (
                Settings {
                    push_fatigue_window_seconds: 59,
                    ..Settings::default()
                },
                "push_fatigue_window_seconds",
            ),
            (
                Settings {
                    push_fatigue_threshold: 1001,
                    ..Settings::default()
                },
                "push_fatigue_threshold",
            ),
            (
                Settings {
                    header_limit_bytes: 100,
                    ..Settings::default()
                },
                "header_limit_bytes",
            ),
        ] {
            let err = bad.validate().unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
        }
        let off = Settings {
            push_fatigue_threshold: 0,
            ..Settings::default()
        };
        off.validate().unwrap();
    }

    #[test]
    fn secrets_are_hidden_from_debug() {
        let s = Settings {
            master_key: Some(Secret("c2VjcmV0".into())),
            ..Settings::default()
        };
        assert!(!format!("{s:?}").contains("c2VjcmV0"));
    }

    #[test]
    fn database_pool_settings_come_from_the_environment() {
        let s = Settings::load(
            None,
            env(&[
                (
                    "ONEPUSH_DATABASE_URL",
                    "postgres://relay@db.internal/onepush",
                ),
                ("ONEPUSH_DATABASE_MAX_CONNECTIONS", "32"),
                ("ONEPUSH_DATABASE_STATEMENT_TIMEOUT_MS", "2500"),
            ]),
        )
        .unwrap();
        s.validate().unwrap();
        let options = s.store_options();
        assert_eq!(options.max_connections, 32);
        assert_eq!(
            options.statement_timeout,
            Some(std::time::Duration::from_millis(2500))
        );
        let off = Settings {
            database_statement_timeout_ms: 0,
            ..Settings::default()
        };
        assert_eq!(off.store_options().statement_timeout, None);
    }

    #[test]
    fn unsupported_database_urls_are_refused_at_start_without_their_password() {
        let s = Settings {
            database_url: Some("mysql://root:hunter2@localhost/onepush".into()),
            ..Settings::default()
        };
        let err = s.validate().unwrap_err().to_string();
        assert!(
            err.contains("database_url") && err.contains("postgres://"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        let zero = Settings {
            database_max_connections: 0,
            ..Settings::default()
        };
        assert!(
            zero.validate()
                .unwrap_err()
                .to_string()
                .contains("database_max_connections")
        );
    }

    #[test]
    fn webhook_and_retention_settings_come_from_the_environment_and_are_checked() {
        let s = Settings::load(
            None,
            env(&[
                ("ONEPUSH_WEBHOOK_PER_TENANT", "2"),
                ("ONEPUSH_RETENTION_AUDIT_DAYS", "0"),
                ("ONEPUSH_RETENTION_CHALLENGES_DAYS", "30"),
            ]),
        )
        .unwrap();
        s.validate().unwrap();
        assert_eq!(
            (
                s.webhook_per_tenant,
                s.retention_audit_days,
                s.retention_challenges_days
            ),
            (2, 0, 30)
        );
        for (bad, key) in [
            (
                Settings {
                    webhook_per_tenant: 17,
                    ..Settings::default()
                },
                "webhook_per_tenant",
            ),
            (
                Settings {
                    retention_interval_seconds: 10,
                    ..Settings::default()
                },
                "retention_interval_seconds",
            ),
            (
                Settings {
                    webhook_timeout_seconds: 0,
                    ..Settings::default()
                },
                "webhook_timeout_seconds",
            ),
            (
                Settings {
                    retention_challenges_days: 3,
                    ..Settings::default()
                },
                "retention_challenges_days",
            ),
        ] {
            let err = bad.validate().unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
        }
    }

    #[test]
    fn abuse_limits_come_from_the_environment_and_are_checked() {
        let s = Settings::load(
            None,
            env(&[
                ("ONEPUSH_ADMIN_LISTEN", "127.0.0.1:9421"),
                ("ONEPUSH_EVENT_STREAMS_PER_CREDENTIAL", "2"),
                ("ONEPUSH_CONNECTIONS_MAX", "500"),
                ("ONEPUSH_HEADER_READ_TIMEOUT_SECONDS", "5"),
                ("ONEPUSH_DEVICE_PER_ADDRESS_PER_MINUTE", "0"),
                ("ONEPUSH_UNBOUND_CREDENTIAL_DAYS", "7"),
            ]),
        )
        .unwrap();
        s.validate().unwrap();
        assert_eq!(s.admin_listen.port(), 9421);
        assert_eq!(
            (
                s.event_streams_per_credential,
                s.connections_max,
                s.header_read_timeout_seconds,
                s.device_per_address_per_minute,
                s.unbound_credential_days
            ),
            (2, 500, 5, 0, 7)
        );
        for (bad, key) in [
            (
                Settings {
                    event_streams_per_credential: 0,
                    ..Settings::default()
                },
                "event_streams_per_credential",
            ),
            (
                Settings {
                    idle_timeout_seconds: 0,
                    ..Settings::default()
                },
                "idle_timeout_seconds",
            ),
            (
                Settings {
                    admin_listen: Settings::default().listen,
                    ..Settings::default()
                },
                "admin_listen",
            ),
        ] {
            let err = bad.validate().unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
        }
    }

    #[test]
    fn defaults_listen_on_loopback_8420() {
        let s = Settings::default();
        assert_eq!(s.public_url(), "http://127.0.0.1:8420");
        assert!(s.database_url().ends_with("onepush-data/onepush.db"));
    }
}
