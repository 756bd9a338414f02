//! The relay's configuration, in sections: defaults < TOML file < `ONEPUSH_*` environment,
//! layered with `figment`, then [`Settings::validate`].
//!
//! A setting `SECTION.KEY` is written `[SECTION] KEY = ...` in the file and
//! `ONEPUSH_<SECTION>__<KEY>` in the environment (`push.apns.key_file` is
//! `ONEPUSH_PUSH__APNS__KEY_FILE`); the few settings outside a section (`data_dir`, `log`,
//! `master_key`) are `ONEPUSH_DATA_DIR`, `ONEPUSH_LOG`, `ONEPUSH_MASTER_KEY`. The flat names
//! of the release before ([`LEGACY_NAMES`]) are still read, each with a [`Deprecated`]
//! warning naming its new name.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
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
    /// The TOML file is not valid TOML.
    #[error("config file {path} is invalid: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A value in the file or the environment is of the wrong kind, or the key is unknown.
    #[error("setting `{key}` ({origin}) is invalid: {message}")]
    Value {
        /// The setting's key (`http.listen`).
        key: String,
        /// Where the value came from: the variable's name or the file's path.
        origin: String,
        /// Why.
        message: String,
    },
    /// A setting is out of range.
    #[error("setting `{key}` ({}) is invalid: {message}", env_name(key))]
    Invalid {
        /// The setting's key (`http.listen`).
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

/// Everything the relay can be configured with, by section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Folder for the database, the VAPID key and the master key (`./onepush-data`).
    pub data_dir: PathBuf,
    /// Log filter (`RUST_LOG` syntax; `info`).
    pub log: String,
    /// The 32-byte master key for secrets at rest, base64url; when absent a
    /// `master.key` file in the data folder is created and used.
    pub master_key: Option<Secret>,
    /// The listeners and what a connection or request may take.
    pub http: Http,
    /// The database.
    pub database: Database,
    /// Device credentials and their proofs.
    pub device: Device,
    /// Enrollment: the two codes and the lock on repeated attempts.
    pub enrollment: Enrollment,
    /// OTP codes.
    pub otp: Otp,
    /// Push delivery (Web Push, APNs, FCM).
    pub push: Push,
    /// Push fatigue guards (defaults for new tenants, and the pending cap).
    pub push_fatigue: PushFatigue,
    /// Maintenance mode (R18).
    pub maintenance: Maintenance,
    /// Rate limits and caps on long-lived requests.
    pub limits: Limits,
    /// Webhook delivery.
    pub webhooks: Webhooks,
    /// What is deleted when.
    pub retention: Retention,
}

/// `[http]`: the listeners and what a connection or request may take.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Http {
    /// Address to listen on (`127.0.0.1:8420`).
    pub listen: SocketAddr,
    /// The URL devices use to reach the relay, checked against a proof's `htu`;
    /// default `http://<listen>`.
    pub public_url: Option<String>,
    /// Address of the operations listener (`/metrics`), apart from the public one
    /// (`127.0.0.1:8421`: loopback only, unless an operator opens it).
    pub admin_listen: SocketAddr,
    /// The request header whose last address is the client's, for the per-address rate
    /// limits behind a balancer that appends it (`x-forwarded-for`); unset: the socket's
    /// peer. Set it only when clients cannot reach the relay but through that balancer.
    pub client_address_header: Option<String>,
    /// Largest request body, in bytes.
    pub body_limit_bytes: usize,
    /// Largest total size of a request's headers (names, values and request line), in
    /// bytes; larger requests get 431.
    pub header_limit_bytes: usize,
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
}

impl Default for Http {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8420)),
            public_url: None,
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 8421)),
            client_address_header: None,
            body_limit_bytes: 64 * 1024,
            header_limit_bytes: 16 * 1024,
            connections_max: 20_000,
            header_read_timeout_seconds: 30,
            idle_timeout_seconds: 120,
            http2_keep_alive_seconds: 30,
        }
    }
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Database {
    /// Database URL: `sqlite://PATH` or `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`;
    /// default `sqlite://<data_dir>/onepush.db`.
    pub url: Option<String>,
    /// Most database connections this relay opens (its PostgreSQL pool size; SQLite uses
    /// one connection for everything, plus one for WAL checkpoints).
    pub max_connections: u32,
    /// Longest a database statement may run, in milliseconds (PostgreSQL
    /// `statement_timeout`; `0` = no limit; SQLite ignores it). A request whose statement
    /// times out is answered 503 `database-unavailable`.
    pub statement_timeout_ms: u64,
    /// When a SQLite commit reaches the disk: `full` (default: before any write in it is
    /// answered) or `normal` (within ≈ 25 ms: a power cut can undo what was answered in
    /// that window). PostgreSQL follows the server's `synchronous_commit`.
    pub sqlite_synchronous: crate::store::SqliteSynchronous,
}

impl Default for Database {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 8,
            statement_timeout_ms: 5_000,
            sqlite_synchronous: crate::store::SqliteSynchronous::default(),
        }
    }
}

/// `[device]`: device credentials and their proofs.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Device {
    /// How far a device proof's `iat` may be from the relay's clock, in seconds.
    pub proof_skew_seconds: u32,
    /// The four-letter prefix of new credential IDs.
    pub credential_prefix: String,
}

impl Default for Device {
    fn default() -> Self {
        Self {
            proof_skew_seconds: 60,
            credential_prefix: "ONEP".to_owned(),
        }
    }
}

/// `[enrollment]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Enrollment {
    /// How many 30 s steps around now the two enrollment codes may be.
    pub window_steps: u32,
    /// Enrollment attempts with one credential ID after which it cannot be enrolled for
    /// [`lock_seconds`](Self::lock_seconds) (counted per credential, cleared by a
    /// successful enrollment).
    pub lock_threshold: u32,
    /// How long a credential stays locked for enrollment, in seconds.
    pub lock_seconds: u32,
}

impl Default for Enrollment {
    fn default() -> Self {
        Self {
            window_steps: 2,
            lock_threshold: 5,
            lock_seconds: 900,
        }
    }
}

/// `[otp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Otp {
    /// How many 30 s steps around now an OTP code may be (±).
    pub window_steps: u32,
    /// How many steps around now a resync searches.
    pub resync_window_steps: u32,
    /// Consecutive OTP failures that lock a binding (default for new tenants).
    pub lock_threshold: u32,
}

impl Default for Otp {
    fn default() -> Self {
        Self {
            window_steps: 1,
            resync_window_steps: 20,
            lock_threshold: 5,
        }
    }
}

/// `[push]`: push delivery; `[push.webpush]`, `[push.apns]`, `[push.fcm]` per channel.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Push {
    /// Extra trust anchors (PEM certificates) for connections to push services (APNs,
    /// FCM, OAuth, Web Push), beside the system's.
    pub ca_file: Option<PathBuf>,
    /// Web Push (always on).
    pub webpush: WebPush,
    /// APNs (on with its key file).
    pub apns: Apns,
    /// FCM (on with its service account).
    pub fcm: Fcm,
}

/// `[push.webpush]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebPush {
    /// VAPID `sub` claim (a `mailto:` or `https:` contact).
    pub vapid_subject: String,
    /// Send Web Push to plain `http://` endpoints too (demo and tests only).
    pub allow_insecure_endpoints: bool,
    /// Send Web Push to internal addresses (loopback, private, link-local, CGNAT...)
    /// too (demo and tests only).
    pub allow_private_endpoints: bool,
}

impl Default for WebPush {
    fn default() -> Self {
        Self {
            vapid_subject: "mailto:ops@onepush.invalid".to_owned(),
            allow_insecure_endpoints: false,
            allow_private_endpoints: false,
        }
    }
}

/// `[push.apns]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Apns {
    /// The APNs provider key (`AuthKey_<KEY ID>.p8`, PKCS#8 PEM); APNs is off without it.
    pub key_file: Option<PathBuf>,
    /// The APNs key's 10-character key ID.
    pub key_id: Option<String>,
    /// The Apple developer team ID (10 characters).
    pub team_id: Option<String>,
    /// The `apns-topic`: the app's bundle ID.
    pub topic: Option<String>,
    /// The APNs base URL for every subscription (default: Apple's production or sandbox
    /// host, by the subscription's environment).
    pub base_url: Option<String>,
}

/// `[push.fcm]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Fcm {
    /// The Firebase service-account JSON key; FCM is off without it.
    pub service_account_file: Option<PathBuf>,
    /// The FCM HTTP v1 base URL (default `https://fcm.googleapis.com`).
    pub base_url: Option<String>,
}

/// `[push_fatigue]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PushFatigue {
    /// Push fatigue by history, default for new tenants: after this many challenges of a
    /// user ended denied or expired unanswered within the window (no approval since), new
    /// challenges are refused; 0 = off.
    pub threshold: u32,
    /// Push fatigue window, in seconds (default for new tenants).
    pub window_seconds: u32,
    /// Pending challenges allowed per user at once.
    pub max_pending_per_user: u32,
}

impl Default for PushFatigue {
    fn default() -> Self {
        Self {
            threshold: 5,
            window_seconds: 15 * 60,
            max_pending_per_user: 5,
        }
    }
}

/// `[maintenance]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Maintenance {
    /// Maintenance mode (R18) for this relay alone, from its start: new challenges get
    /// 503. Not stored; `onepush-relay maintenance on` suspends every relay at run time.
    pub enabled: bool,
    /// `Retry-After` answered in maintenance mode when the suspension has no `until`, in
    /// seconds.
    pub retry_after_seconds: u32,
}

impl Default for Maintenance {
    fn default() -> Self {
        Self {
            enabled: false,
            retry_after_seconds: 300,
        }
    }
}

/// `[limits]`: rate limits and caps on long-lived requests.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Provisioning requests allowed per client address per minute (token bucket).
    pub provision_per_minute: u32,
    /// Device API requests allowed per client address per minute (token bucket, burst
    /// the same); 0 = no limit.
    pub device_per_address_per_minute: u32,
    /// Device API requests allowed per credential per minute, counted once the
    /// request's proof or decision verified (so that no one can use up another's
    /// allowance); 0 = no limit.
    pub device_per_credential_per_minute: u32,
    /// Event streams open at once per credential (in this relay); one more closes the
    /// oldest.
    pub event_streams_per_credential: u32,
    /// Event streams open at once in this relay; past it, 503 with `Retry-After`.
    pub event_streams_max: u32,
    /// Long-polls (`GET /v1/challenges/{id}?wait=`) waiting at once per tenant in this
    /// relay; past it, 503 with `Retry-After`.
    pub long_polls_per_tenant: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            provision_per_minute: 10,
            device_per_address_per_minute: 1200,
            device_per_credential_per_minute: 300,
            event_streams_per_credential: 3,
            event_streams_max: 10_000,
            long_polls_per_tenant: 1_000,
        }
    }
}

/// `[webhooks]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Webhooks {
    /// Time each webhook attempt may take, in seconds (1 to 60).
    pub timeout_seconds: u32,
    /// Webhook deliveries this relay runs at once, over all tenants.
    pub concurrency: u32,
    /// Webhook deliveries this relay runs at once for one tenant (at most
    /// `concurrency`): a tenant's slow endpoint holds only these.
    pub per_tenant: u32,
    /// Consecutive failed attempts (no answer, 429, 5xx) that open a tenant's webhook
    /// circuit: its messages wait instead of being tried.
    pub circuit_failures: u32,
    /// How long an opened circuit waits before one probe, in seconds (doubles after each
    /// failed probe, up to an hour).
    pub circuit_open_seconds: u32,
}

impl Default for Webhooks {
    fn default() -> Self {
        Self {
            timeout_seconds: 10,
            concurrency: 16,
            per_tenant: 4,
            circuit_failures: 5,
            circuit_open_seconds: 60,
        }
    }
}

/// `[retention]`: what is deleted when.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Retention {
    /// How often each retention job runs (one relay per run, across relays), in seconds.
    pub interval_seconds: u32,
    /// Rows deleted per statement by a retention job.
    pub batch: u32,
    /// Ended challenges are deleted this many days after they were created; 0 = kept.
    pub challenges_days: u32,
    /// Audit events are deleted this many days after they happened; 0 = kept.
    pub audit_days: u32,
    /// Delivered and given-up webhook messages are deleted this many days after their last
    /// attempt; 0 = kept.
    pub outbox_days: u32,
    /// Idempotency keys are deleted this many hours after their challenge was created
    /// (a retry after that creates a new challenge); 0 = kept.
    pub idempotency_hours: u32,
    /// Days after which a credential that was never bound to a user is deleted; 0 = kept.
    pub unbound_credential_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            interval_seconds: 3600,
            batch: 500,
            challenges_days: 90,
            audit_days: 400,
            outbox_days: 7,
            idempotency_hours: 24,
            unbound_credential_days: 30,
        }
    }
}

/// The flat names of the release before sections, and their new keys. Each is still read
/// (file key or `ONEPUSH_<OLD>` variable) with a [`Deprecated`] warning; the next release
/// drops this table. `data_dir`, `log` and `master_key` kept their names.
pub const LEGACY_NAMES: &[(&str, &str)] = &[
    ("listen", "http.listen"),
    ("public_url", "http.public_url"),
    ("admin_listen", "http.admin_listen"),
    ("client_address_header", "http.client_address_header"),
    ("body_limit_bytes", "http.body_limit_bytes"),
    ("header_limit_bytes", "http.header_limit_bytes"),
    ("connections_max", "http.connections_max"),
    (
        "header_read_timeout_seconds",
        "http.header_read_timeout_seconds",
    ),
    ("idle_timeout_seconds", "http.idle_timeout_seconds"),
    ("http2_keep_alive_seconds", "http.http2_keep_alive_seconds"),
    ("database_url", "database.url"),
    ("database_max_connections", "database.max_connections"),
    (
        "database_statement_timeout_ms",
        "database.statement_timeout_ms",
    ),
    ("proof_skew_seconds", "device.proof_skew_seconds"),
    ("credential_prefix", "device.credential_prefix"),
    ("enrollment_window_steps", "enrollment.window_steps"),
    ("enrollment_lock_threshold", "enrollment.lock_threshold"),
    ("enrollment_lock_seconds", "enrollment.lock_seconds"),
    ("otp_window_steps", "otp.window_steps"),
    ("resync_window_steps", "otp.resync_window_steps"),
    ("otp_lock_threshold", "otp.lock_threshold"),
    ("push_ca_file", "push.ca_file"),
    ("vapid_subject", "push.webpush.vapid_subject"),
    (
        "push_allow_insecure_endpoints",
        "push.webpush.allow_insecure_endpoints",
    ),
    (
        "push_allow_private_endpoints",
        "push.webpush.allow_private_endpoints",
    ),
    ("apns_key_file", "push.apns.key_file"),
    ("apns_key_id", "push.apns.key_id"),
    ("apns_team_id", "push.apns.team_id"),
    ("apns_topic", "push.apns.topic"),
    ("apns_base_url", "push.apns.base_url"),
    ("fcm_service_account_file", "push.fcm.service_account_file"),
    ("fcm_base_url", "push.fcm.base_url"),
    ("push_fatigue_threshold", "push_fatigue.threshold"),
    ("push_fatigue_window_seconds", "push_fatigue.window_seconds"),
    ("max_pending_per_user", "push_fatigue.max_pending_per_user"),
    ("maintenance", "maintenance.enabled"),
    (
        "maintenance_retry_after_seconds",
        "maintenance.retry_after_seconds",
    ),
    ("provision_per_minute", "limits.provision_per_minute"),
    (
        "device_per_address_per_minute",
        "limits.device_per_address_per_minute",
    ),
    (
        "device_per_credential_per_minute",
        "limits.device_per_credential_per_minute",
    ),
    (
        "event_streams_per_credential",
        "limits.event_streams_per_credential",
    ),
    ("event_streams_max", "limits.event_streams_max"),
    ("long_polls_per_tenant", "limits.long_polls_per_tenant"),
    ("webhook_timeout_seconds", "webhooks.timeout_seconds"),
    ("webhook_concurrency", "webhooks.concurrency"),
    ("webhook_per_tenant", "webhooks.per_tenant"),
    ("webhook_circuit_failures", "webhooks.circuit_failures"),
    (
        "webhook_circuit_open_seconds",
        "webhooks.circuit_open_seconds",
    ),
    ("retention_interval_seconds", "retention.interval_seconds"),
    ("retention_batch", "retention.batch"),
    ("retention_challenges_days", "retention.challenges_days"),
    ("retention_audit_days", "retention.audit_days"),
    ("retention_outbox_days", "retention.outbox_days"),
    ("retention_idempotency_hours", "retention.idempotency_hours"),
    (
        "unbound_credential_days",
        "retention.unbound_credential_days",
    ),
];

/// The settings outside any section.
const TOP_LEVEL: [&str; 3] = ["data_dir", "log", "master_key"];

/// The environment variable of setting `key`: `http.listen` → `ONEPUSH_HTTP__LISTEN`.
pub fn env_name(key: &str) -> String {
    format!("ONEPUSH_{}", key.replace('.', "__").to_ascii_uppercase())
}

/// An old flat name that was read: say so once the log is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deprecated {
    /// What was written: `ONEPUSH_LISTEN`, or `listen` in the config file.
    pub old: String,
    /// What to write instead.
    pub new: String,
}

impl fmt::Display for Deprecated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is deprecated and will stop working in the next release: use {}",
            self.old, self.new
        )
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

/// One layer for figment: a dictionary already read, with where it came from.
struct Layer {
    /// `environment` or `config file`.
    name: &'static str,
    /// The file, for the file layer.
    file: Option<PathBuf>,
    dict: Dict,
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        let metadata = Metadata::named(self.name);
        match &self.file {
            Some(path) => metadata.source(path.as_path()),
            None => metadata.interpolater(|_: &Profile, keys: &[&str]| env_name(&keys.join("."))),
        }
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

/// Puts `value` at the dotted `key` of `dict`, unless something is there already (a new
/// name wins over an old one).
fn insert_new(dict: &mut Dict, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            dict.entry(key.to_owned()).or_insert(value);
        }
        Some((section, rest)) => {
            let entry = dict
                .entry(section.to_owned())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, inner) = entry {
                insert_new(inner, rest, value);
            }
        }
    }
}

/// Puts `value` at the dotted `key` of `dict`, over what is there.
fn insert(dict: &mut Dict, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            dict.insert(key.to_owned(), value);
        }
        Some((section, rest)) => {
            let entry = dict
                .entry(section.to_owned())
                .or_insert_with(|| Value::from(Dict::new()));
            if !matches!(entry, Value::Dict(..)) {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

fn legacy(old: &str) -> Option<&'static str> {
    LEGACY_NAMES
        .iter()
        .find(|(flat, _)| *flat == old)
        .map(|(_, new)| *new)
}

impl Settings {
    /// Defaults, then the TOML file (if given), then `ONEPUSH_*` variables from `env`;
    /// old flat names are logged as deprecated (see [`Settings::load_noting_deprecated`]
    /// to log them later, once the log is set up).
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        let (settings, deprecated) = Self::load_noting_deprecated(file, env)?;
        for d in deprecated {
            tracing::warn!("{d}");
        }
        Ok(settings)
    }

    /// [`Settings::load`], answering the old flat names it read instead of logging them.
    pub fn load_noting_deprecated(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Self, Vec<Deprecated>), SettingsError> {
        let mut deprecated = Vec::new();
        let mut figment = Figment::new();
        if let Some(path) = file {
            figment = figment.merge(Self::file_layer(path, &mut deprecated)?);
        }
        figment = figment.merge(Self::env_layer(env, &mut deprecated));
        let mut settings: Self = figment.extract_lossy().map_err(value_error)?;
        settings.http.client_address_header = settings
            .http
            .client_address_header
            .take()
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty());
        Ok((settings, deprecated))
    }

    fn file_layer(path: &Path, deprecated: &mut Vec<Deprecated>) -> Result<Layer, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.to_owned(),
            source,
        })?;
        let toml_error = |message: String| SettingsError::Toml {
            path: path.to_owned(),
            message,
        };
        let table: toml::Table = toml::from_str(&text).map_err(|e| toml_error(e.to_string()))?;
        let Value::Dict(_, parsed) =
            Value::serialize(&table).map_err(|e| toml_error(e.to_string()))?
        else {
            return Err(toml_error("not a table".to_owned()));
        };
        let mut dict = Dict::new();
        let mut old = Vec::new();
        for (key, value) in parsed {
            // `maintenance = true` is the old flag; `[maintenance]` is the section.
            match legacy(&key).filter(|_| !matches!(value, Value::Dict(..))) {
                Some(new) => old.push((key, new, value)),
                None => {
                    dict.insert(key, value);
                }
            }
        }
        for (key, new, value) in old {
            let (section, name) = new.rsplit_once('.').unwrap_or(("", new));
            deprecated.push(Deprecated {
                old: format!("`{key}` in config file {}", path.display()),
                new: format!("`{name}` in section [{section}]"),
            });
            insert_new(&mut dict, new, value);
        }
        Ok(Layer {
            name: "config file",
            file: Some(path.to_owned()),
            dict,
        })
    }

    fn env_layer(
        env: impl IntoIterator<Item = (String, String)>,
        deprecated: &mut Vec<Deprecated>,
    ) -> Layer {
        let mut new_names = Dict::new();
        let mut old_names = Vec::new();
        for (name, value) in env {
            let Some(rest) = name.strip_prefix("ONEPUSH_") else {
                continue;
            };
            // An empty variable is as good as unset.
            if value.trim().is_empty() {
                continue;
            }
            let flat = rest.to_ascii_lowercase();
            let value = Value::from(value);
            if flat.contains("__") {
                insert(&mut new_names, &flat.replace("__", "."), value);
            } else if TOP_LEVEL.contains(&flat.as_str()) {
                insert(&mut new_names, &flat, value);
            } else if let Some(new) = legacy(&flat) {
                old_names.push((name.clone(), new, value));
            }
            // Other ONEPUSH_* variables belong to other programs (the device CLI, tests).
        }
        for (name, new, value) in old_names {
            deprecated.push(Deprecated {
                old: name,
                new: env_name(new),
            });
            insert_new(&mut new_names, new, value);
        }
        Layer {
            name: "environment",
            file: None,
            dict: new_names,
        }
    }
}

/// The first value figment could not use, as one error naming its key and origin.
fn value_error(errors: figment::Error) -> SettingsError {
    let Some(error) = errors.into_iter().next() else {
        return SettingsError::Value {
            key: String::new(),
            origin: String::new(),
            message: "invalid settings".to_owned(),
        };
    };
    let mut key = error.path.join(".");
    let message = match &error.kind {
        figment::error::Kind::UnknownField(field, _) => {
            // The path names the field already, or only its section.
            if error.path.last() != Some(field) {
                if !key.is_empty() {
                    key.push('.');
                }
                key.push_str(field);
            }
            "no such setting".to_owned()
        }
        // A secret's value must not reach the log.
        _ if key == "master_key" => "not a string".to_owned(),
        kind => kind.to_string(),
    };
    let origin = match &error.metadata {
        Some(m) if m.name == "environment" => env_name(&key),
        Some(m) => match &m.source {
            Some(source) => format!("{} {source}", m.name),
            None => m.name.to_string(),
        },
        None => "settings".to_owned(),
    };
    SettingsError::Value {
        key,
        origin,
        message,
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./onepush-data"),
            log: "info".to_owned(),
            master_key: None,
            http: Http::default(),
            database: Database::default(),
            device: Device::default(),
            enrollment: Enrollment::default(),
            otp: Otp::default(),
            push: Push::default(),
            push_fatigue: PushFatigue::default(),
            maintenance: Maintenance::default(),
            limits: Limits::default(),
            webhooks: Webhooks::default(),
            retention: Retention::default(),
        }
    }
}

impl Settings {
    /// Checks ranges and formats, with a message that names the setting.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let invalid = |key, message: &str| {
            Err(SettingsError::Invalid {
                key,
                message: message.to_owned(),
            })
        };
        let prefix = &self.device.credential_prefix;
        if prefix.len() != 4 || !prefix.chars().all(|c| c.is_ascii_uppercase()) {
            return invalid(
                "device.credential_prefix",
                "must be 4 upper-case letters A-Z, like ONEP",
            );
        }
        if !(1..=600).contains(&self.device.proof_skew_seconds) {
            return invalid("device.proof_skew_seconds", "must be 1 to 600");
        }
        if !(1..=10).contains(&self.enrollment.window_steps) {
            return invalid("enrollment.window_steps", "must be 1 to 10");
        }
        if !(1..=100).contains(&self.enrollment.lock_threshold) {
            return invalid("enrollment.lock_threshold", "must be 1 to 100");
        }
        if !(1..=86_400).contains(&self.enrollment.lock_seconds) {
            return invalid("enrollment.lock_seconds", "must be 1 to 86400");
        }
        if self.otp.window_steps > 5 {
            return invalid("otp.window_steps", "must be 0 to 5");
        }
        if !(1..=200).contains(&self.otp.resync_window_steps) {
            return invalid("otp.resync_window_steps", "must be 1 to 200");
        }
        if !(1..=100).contains(&self.otp.lock_threshold) {
            return invalid("otp.lock_threshold", "must be 1 to 100");
        }
        if self.push_fatigue.max_pending_per_user == 0 {
            return invalid("push_fatigue.max_pending_per_user", "must be at least 1");
        }
        if let Err(message) = check_push_fatigue(
            self.push_fatigue.threshold,
            self.push_fatigue.window_seconds,
        ) {
            let key = if message.starts_with("threshold") {
                "push_fatigue.threshold"
            } else {
                "push_fatigue.window_seconds"
            };
            return invalid(key, &message);
        }
        let vapid = &self.push.webpush.vapid_subject;
        if !(vapid.starts_with("mailto:") || vapid.starts_with("https:")) {
            return invalid(
                "push.webpush.vapid_subject",
                "must start with mailto: or https:",
            );
        }
        if let Some((key, message)) = self.push_settings_problem() {
            return invalid(key, message);
        }
        if let Some(key) = &self.master_key
            && onepush_protocol::b64::decode_array::<32>(&key.0).is_none()
        {
            return invalid("master_key", "must be 32 bytes, base64url without padding");
        }
        self.validate_database()?;
        self.validate_http()?;
        self.validate_ops()
    }

    fn validate_database(&self) -> Result<(), SettingsError> {
        if !(1..=1000).contains(&self.database.max_connections) {
            return Err(SettingsError::Invalid {
                key: "database.max_connections",
                message: "must be 1 to 1000".to_owned(),
            });
        }
        if self.database.statement_timeout_ms > 3_600_000 {
            return Err(SettingsError::Invalid {
                key: "database.statement_timeout_ms",
                message: "must be 0 (no limit) to 3600000 (one hour)".to_owned(),
            });
        }
        let url = self.database_url();
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        if !matches!(
            scheme.as_deref(),
            Some("sqlite" | "postgres" | "postgresql")
        ) {
            return Err(SettingsError::Invalid {
                key: "database.url",
                message: format!(
                    "{:?} is not supported: use sqlite://PATH or postgres://USER@HOST[:PORT]/DATABASE",
                    crate::store::redact_url(&url)
                ),
            });
        }
        Ok(())
    }

    /// `[http]` and `[limits]`: the caps at least 1 (the rate limits may be 0, off), the
    /// timeouts at most an hour.
    fn validate_http(&self) -> Result<(), SettingsError> {
        let invalid = |key, message: &str| {
            Err(SettingsError::Invalid {
                key,
                message: message.to_owned(),
            })
        };
        let http = &self.http;
        if let Some(url) = &http.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return invalid("http.public_url", "must start with http:// or https://");
        }
        if http.admin_listen == http.listen && http.listen.port() != 0 {
            return invalid("http.admin_listen", "must differ from `http.listen`");
        }
        if !(1024..=16 * 1024 * 1024).contains(&http.body_limit_bytes) {
            return invalid("http.body_limit_bytes", "must be 1024 to 16777216");
        }
        if !(1024..=1024 * 1024).contains(&http.header_limit_bytes) {
            return invalid("http.header_limit_bytes", "must be 1024 to 1048576");
        }
        for (key, value) in [
            (
                "limits.event_streams_per_credential",
                self.limits.event_streams_per_credential,
            ),
            ("limits.event_streams_max", self.limits.event_streams_max),
            (
                "limits.long_polls_per_tenant",
                self.limits.long_polls_per_tenant,
            ),
            ("http.connections_max", http.connections_max),
        ] {
            if value == 0 {
                return invalid(key, "must be at least 1");
            }
        }
        for (key, value) in [
            (
                "http.header_read_timeout_seconds",
                http.header_read_timeout_seconds,
            ),
            ("http.idle_timeout_seconds", http.idle_timeout_seconds),
            (
                "http.http2_keep_alive_seconds",
                http.http2_keep_alive_seconds,
            ),
        ] {
            if !(1..=3600).contains(&value) {
                return invalid(key, "must be 1 to 3600 seconds");
            }
        }
        if let Some(name) = &http.client_address_header
            && axum::http::HeaderName::from_bytes(name.as_bytes()).is_err()
        {
            return invalid("http.client_address_header", "must be a header name");
        }
        Ok(())
    }

    /// `[webhooks]` and `[retention]`.
    fn validate_ops(&self) -> Result<(), SettingsError> {
        let (w, r) = (&self.webhooks, &self.retention);
        let ranges: [(&'static str, u32, u32, u32); 12] = [
            ("webhooks.timeout_seconds", w.timeout_seconds, 1, 60),
            ("webhooks.concurrency", w.concurrency, 1, 1000),
            ("webhooks.per_tenant", w.per_tenant, 1, w.concurrency.max(1)),
            ("webhooks.circuit_failures", w.circuit_failures, 1, 1000),
            (
                "webhooks.circuit_open_seconds",
                w.circuit_open_seconds,
                1,
                3600,
            ),
            ("retention.interval_seconds", r.interval_seconds, 60, 86_400),
            ("retention.batch", r.batch, 1, 10_000),
            ("retention.challenges_days", r.challenges_days, 0, 36_500),
            ("retention.audit_days", r.audit_days, 0, 36_500),
            ("retention.outbox_days", r.outbox_days, 0, 36_500),
            (
                "retention.idempotency_hours",
                r.idempotency_hours,
                0,
                876_000,
            ),
            (
                "retention.unbound_credential_days",
                r.unbound_credential_days,
                0,
                3650,
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
        if (1..8).contains(&r.challenges_days) {
            return Err(SettingsError::Invalid {
                key: "retention.challenges_days",
                message: format!(
                    "must be 0 (kept) or at least 8, longer than the longest push-fatigue window (7 days), got {}",
                    r.challenges_days
                ),
            });
        }
        Ok(())
    }

    /// The Web Push endpoint policy these settings give ([`crate::push::guard`]).
    pub fn endpoint_policy(&self) -> crate::push::EndpointPolicy {
        crate::push::EndpointPolicy {
            allow_insecure: self.push.webpush.allow_insecure_endpoints,
            allow_private: self.push.webpush.allow_private_endpoints,
        }
    }

    /// The first push setting that cannot be used, and why: APNs needs its key ID, team
    /// ID and topic with its key file; base URLs must be `https://`.
    fn push_settings_problem(&self) -> Option<(&'static str, &'static str)> {
        let (apns, fcm) = (&self.push.apns, &self.push.fcm);
        if apns.key_file.is_some() {
            for (key, value) in [
                ("push.apns.key_id", &apns.key_id),
                ("push.apns.team_id", &apns.team_id),
                ("push.apns.topic", &apns.topic),
            ] {
                if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                    return Some((key, "must be set when push.apns.key_file is"));
                }
            }
        }
        for (key, value) in [
            ("push.apns.base_url", &apns.base_url),
            ("push.fcm.base_url", &fcm.base_url),
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
            onepush_protocol::PushChannel::Apns(_) if self.push.apns.key_file.is_none() => {
                Some("push.apns.key_file")
            }
            onepush_protocol::PushChannel::Fcm(_)
                if self.push.fcm.service_account_file.is_none() =>
            {
                Some("push.fcm.service_account_file")
            }
            _ => None,
        }
    }

    /// The database URL in use.
    pub fn database_url(&self) -> String {
        self.database
            .url
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
            max_connections: self.database.max_connections,
            statement_timeout: (self.database.statement_timeout_ms > 0)
                .then(|| std::time::Duration::from_millis(self.database.statement_timeout_ms)),
            sqlite_synchronous: self.database.sqlite_synchronous,
            ..crate::store::StoreOptions::default()
        }
    }

    /// The public base URL, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.http
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.http.listen))
            .trim_end_matches('/')
            .to_owned()
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

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn invalid_key(settings: &Settings) -> String {
        match settings.validate().unwrap_err() {
            SettingsError::Invalid { key, .. } => key.to_owned(),
            other => panic!("not a range error: {other}"),
        }
    }

    #[test]
    fn sections_come_from_the_file_and_the_environment_overrides_them() {
        let (_dir, path) = file(
            "log = \"debug\"\n[http]\nlisten = \"0.0.0.0:9000\"\n[otp]\nlock_threshold = 3\n\
             [push.apns]\nkey_id = \"ABC123DEFG\"\n",
        );
        let (s, deprecated) = Settings::load_noting_deprecated(
            Some(&path),
            env(&[
                ("ONEPUSH_OTP__LOCK_THRESHOLD", "7"),
                ("ONEPUSH_PUSH__APNS__TEAM_ID", "0123456789"),
                ("ONEPUSH_PUSH_FATIGUE__WINDOW_SECONDS", "600"),
                ("ONEPUSH_MAINTENANCE__ENABLED", "yes"),
                ("ONEPUSH_DATA_DIR", "/var/lib/onepush"),
            ]),
        )
        .unwrap();
        assert!(deprecated.is_empty(), "{deprecated:?}");
        assert_eq!(s.http.listen.port(), 9000);
        assert_eq!(s.otp.lock_threshold, 7);
        assert_eq!(s.log, "debug");
        // Digits only, and still a string.
        assert_eq!(s.push.apns.team_id.as_deref(), Some("0123456789"));
        assert_eq!(s.push.apns.key_id.as_deref(), Some("ABC123DEFG"));
        assert_eq!(s.push_fatigue.window_seconds, 600);
        assert!(s.maintenance.enabled);
        assert_eq!(s.data_dir, Path::new("/var/lib/onepush"));
        // What was not given keeps its default.
        assert_eq!(s.http.admin_listen.port(), 8421);
        assert_eq!(s.retention.audit_days, 400);
        s.validate().unwrap();
    }

    #[test]
    fn old_flat_names_still_read_with_a_warning_naming_the_new_name() {
        let (_dir, path) =
            file("listen = \"0.0.0.0:9000\"\nmaintenance = true\n[otp]\nwindow_steps = 2\n");
        let (s, deprecated) = Settings::load_noting_deprecated(
            Some(&path),
            env(&[
                ("ONEPUSH_OTP_LOCK_THRESHOLD", "7"),
                ("ONEPUSH_APNS_TEAM_ID", "DEF123GHIJ"),
                // The new name wins over the old one.
                ("ONEPUSH_WEBHOOK_PER_TENANT", "2"),
                ("ONEPUSH_WEBHOOKS__PER_TENANT", "3"),
                // Another program's variable is none of the relay's business.
                ("ONEPUSH_DEVICE_HOME", "/tmp/phone"),
            ]),
        )
        .unwrap();
        assert_eq!(s.http.listen.port(), 9000);
        assert!(s.maintenance.enabled);
        assert_eq!(s.otp.window_steps, 2);
        assert_eq!(s.otp.lock_threshold, 7);
        assert_eq!(s.push.apns.team_id.as_deref(), Some("DEF123GHIJ"));
        assert_eq!(s.webhooks.per_tenant, 3);
        let said: Vec<String> = deprecated.iter().map(ToString::to_string).collect();
        assert_eq!(said.len(), 5, "{said:?}");
        for (old, new) in [
            ("`listen` in config file", "`listen` in section [http]"),
            (
                "`maintenance` in config file",
                "`enabled` in section [maintenance]",
            ),
            ("ONEPUSH_OTP_LOCK_THRESHOLD", "ONEPUSH_OTP__LOCK_THRESHOLD"),
            ("ONEPUSH_APNS_TEAM_ID", "ONEPUSH_PUSH__APNS__TEAM_ID"),
            ("ONEPUSH_WEBHOOK_PER_TENANT", "ONEPUSH_WEBHOOKS__PER_TENANT"),
        ] {
            assert!(
                said.iter().any(|s| s.contains(old) && s.contains(new)),
                "no warning {old} -> {new} in {said:?}"
            );
        }
    }

    #[test]
    fn every_old_name_maps_to_a_setting_that_exists() {
        for (old, new) in LEGACY_NAMES {
            // A value no number, address or flag parses from: string settings take it,
            // the others refuse it naming the new key; none may be unknown.
            let result = Settings::load_noting_deprecated(None, env(&[(&env_name(old), "@@")]));
            match result {
                Ok((_, deprecated)) => assert_eq!(
                    deprecated,
                    vec![Deprecated {
                        old: env_name(old),
                        new: env_name(new)
                    }]
                ),
                Err(SettingsError::Value {
                    key,
                    origin,
                    message,
                }) => {
                    assert_eq!((key.as_str(), origin), (*new, env_name(new)), "{message}");
                    assert_ne!(message, "no such setting");
                }
                Err(other) => panic!("{old}: {other}"),
            }
            assert!(
                !TOP_LEVEL.contains(old) && new.contains('.'),
                "{old} -> {new}"
            );
        }
    }

    #[test]
    fn unknown_keys_are_refused_with_the_key_named() {
        let (_dir, path) = file("lisen = \"0.0.0.0:9000\"\n");
        let err = Settings::load(Some(&path), []).unwrap_err().to_string();
        assert!(
            err.contains("`lisen`") && err.contains("relay.toml"),
            "{err}"
        );
        let (_dir, path) = file("[http]\nlisen = \"0.0.0.0:9000\"\n");
        let err = Settings::load(Some(&path), []).unwrap_err().to_string();
        assert!(err.contains("`http.lisen`"), "{err}");
        let err = Settings::load(None, env(&[("ONEPUSH_HTTP__LISEN", "x")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`http.lisen`") && err.contains("ONEPUSH_HTTP__LISEN"),
            "{err}"
        );
    }

    #[test]
    fn bad_values_name_the_setting_and_where_it_came_from() {
        let err = Settings::load(None, env(&[("ONEPUSH_HTTP__LISTEN", "nope")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`http.listen`") && err.contains("ONEPUSH_HTTP__LISTEN"),
            "{err}"
        );
        let err = Settings::load(None, env(&[("ONEPUSH_LISTEN", "nope")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("ONEPUSH_HTTP__LISTEN"), "{err}");
        let (_dir, path) = file("[retention]\naudit_days = \"forever\"\n");
        let err = Settings::load(Some(&path), []).unwrap_err().to_string();
        assert!(
            err.contains("`retention.audit_days`") && err.contains("relay.toml"),
            "{err}"
        );
        let (_dir, path) = file("[http\n");
        let err = Settings::load(Some(&path), []).unwrap_err().to_string();
        assert!(err.contains("relay.toml"), "{err}");
        let mut s = Settings::default();
        "on1".clone_into(&mut s.device.credential_prefix);
        let err = s.validate().unwrap_err().to_string();
        assert!(
            err.contains("`device.credential_prefix`")
                && err.contains("ONEPUSH_DEVICE__CREDENTIAL_PREFIX"),
            "{err}"
        );
    }

    #[test]
    fn push_sender_settings_are_checked_together() {
        let apns = Settings::load(
            None,
            env(&[
                (
                    "ONEPUSH_PUSH__APNS__KEY_FILE",
                    "/etc/onepush/AuthKey_ABC123DEFG.p8",
                ),
                ("ONEPUSH_PUSH__APNS__KEY_ID", "ABC123DEFG"),
                ("ONEPUSH_PUSH__APNS__TEAM_ID", "DEF123GHIJ"),
            ]),
        )
        .unwrap();
        assert_eq!(invalid_key(&apns), "push.apns.topic");
        let mut http = Settings::default();
        http.push.fcm.base_url = Some("http://fcm.test".into());
        assert_eq!(invalid_key(&http), "push.fcm.base_url");
        let on = Settings::load(
            None,
            env(&[
                ("ONEPUSH_PUSH__WEBPUSH__ALLOW_INSECURE_ENDPOINTS", "true"),
                ("ONEPUSH_PUSH__WEBPUSH__ALLOW_PRIVATE_ENDPOINTS", "yes"),
            ]),
        )
        .unwrap();
        assert!(on.endpoint_policy().allow_insecure && on.endpoint_policy().allow_private);
        assert!(!Settings::default().endpoint_policy().allow_private);
    }

    #[test]
    fn push_fatigue_and_header_limits_are_checked() {
        let mut bad = Settings::default();
        bad.push_fatigue.window_seconds = 59;
        assert_eq!(invalid_key(&bad), "push_fatigue.window_seconds");
        let mut bad = Settings::default();
        bad.push_fatigue.threshold = 1001;
        assert_eq!(invalid_key(&bad), "push_fatigue.threshold");
        let mut bad = Settings::default();
        bad.http.header_limit_bytes = 100;
        assert_eq!(invalid_key(&bad), "http.header_limit_bytes");
        let mut off = Settings::default();
        off.push_fatigue.threshold = 0;
        off.validate().unwrap();
    }

    #[test]
    fn secrets_are_hidden_from_debug_and_errors() {
        let s = Settings {
            master_key: Some(Secret("c2VjcmV0".into())),
            ..Settings::default()
        };
        assert!(!format!("{s:?}").contains("c2VjcmV0"));
        let err = s.validate().unwrap_err().to_string();
        assert!(
            err.contains("master_key") && !err.contains("c2VjcmV0"),
            "{err}"
        );
        let (_dir, path) = file("master_key = [1, 2]\n");
        let err = Settings::load(Some(&path), []).unwrap_err().to_string();
        // The message says what is wrong, never the value (the path may hold digits).
        assert!(
            err.contains("`master_key`") && err.ends_with("is invalid: not a string"),
            "{err}"
        );
    }

    #[test]
    fn database_pool_settings_come_from_the_environment() {
        let s = Settings::load(
            None,
            env(&[
                (
                    "ONEPUSH_DATABASE__URL",
                    "postgres://relay@db.internal/onepush",
                ),
                ("ONEPUSH_DATABASE__MAX_CONNECTIONS", "32"),
                ("ONEPUSH_DATABASE__STATEMENT_TIMEOUT_MS", "2500"),
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
        let mut off = Settings::default();
        off.database.statement_timeout_ms = 0;
        assert_eq!(off.store_options().statement_timeout, None);
    }

    #[test]
    fn sqlite_commits_are_durable_unless_the_bank_chooses_normal() {
        use crate::store::SqliteSynchronous;
        assert_eq!(
            Settings::default().store_options().sqlite_synchronous,
            SqliteSynchronous::Full
        );
        let normal = Settings::load(
            None,
            env(&[("ONEPUSH_DATABASE__SQLITE_SYNCHRONOUS", "normal")]),
        )
        .unwrap();
        assert_eq!(
            normal.store_options().sqlite_synchronous,
            SqliteSynchronous::Normal
        );
        let err = Settings::load(
            None,
            env(&[("ONEPUSH_DATABASE__SQLITE_SYNCHRONOUS", "off")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("database.sqlite_synchronous") && err.contains("`full`"),
            "{err}"
        );
    }

    #[test]
    fn unsupported_database_urls_are_refused_at_start_without_their_password() {
        let mut s = Settings::default();
        s.database.url = Some("mysql://root:hunter2@localhost/onepush".into());
        let err = s.validate().unwrap_err().to_string();
        assert!(
            err.contains("database.url") && err.contains("postgres://"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        let mut zero = Settings::default();
        zero.database.max_connections = 0;
        assert_eq!(invalid_key(&zero), "database.max_connections");
    }

    #[test]
    fn webhook_and_retention_settings_are_checked() {
        let mut bad = Settings::default();
        bad.webhooks.per_tenant = 17;
        assert_eq!(invalid_key(&bad), "webhooks.per_tenant");
        let mut bad = Settings::default();
        bad.retention.interval_seconds = 10;
        assert_eq!(invalid_key(&bad), "retention.interval_seconds");
        let mut bad = Settings::default();
        bad.webhooks.timeout_seconds = 0;
        assert_eq!(invalid_key(&bad), "webhooks.timeout_seconds");
        let mut bad = Settings::default();
        bad.retention.challenges_days = 3;
        assert_eq!(invalid_key(&bad), "retention.challenges_days");
        let mut bad = Settings::default();
        bad.retention.unbound_credential_days = 4000;
        assert_eq!(invalid_key(&bad), "retention.unbound_credential_days");
    }

    #[test]
    fn abuse_limits_are_checked() {
        let s = Settings::load(
            None,
            env(&[
                ("ONEPUSH_HTTP__ADMIN_LISTEN", "127.0.0.1:9421"),
                ("ONEPUSH_HTTP__CLIENT_ADDRESS_HEADER", " X-Forwarded-For "),
                ("ONEPUSH_LIMITS__DEVICE_PER_ADDRESS_PER_MINUTE", "0"),
            ]),
        )
        .unwrap();
        s.validate().unwrap();
        assert_eq!(s.http.admin_listen.port(), 9421);
        assert_eq!(
            s.http.client_address_header.as_deref(),
            Some("x-forwarded-for")
        );
        assert_eq!(s.limits.device_per_address_per_minute, 0);
        let mut bad = Settings::default();
        bad.limits.event_streams_per_credential = 0;
        assert_eq!(invalid_key(&bad), "limits.event_streams_per_credential");
        let mut bad = Settings::default();
        bad.http.idle_timeout_seconds = 0;
        assert_eq!(invalid_key(&bad), "http.idle_timeout_seconds");
        let mut bad = Settings::default();
        bad.http.admin_listen = bad.http.listen;
        assert_eq!(invalid_key(&bad), "http.admin_listen");
    }

    #[test]
    fn defaults_listen_on_loopback_8420() {
        let s = Settings::default();
        assert_eq!(s.public_url(), "http://127.0.0.1:8420");
        assert!(s.database_url().ends_with("onepush-data/onepush.db"));
        s.validate().unwrap();
    }
}
