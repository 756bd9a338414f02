//! Persistence: the [`Store`] trait and its records. SQL lives only in this folder.
//!
//! Two backends implement it, picked by the database URL's scheme ([`open`]):
//! [`sqlite::SqliteStore`] (`sqlite://`, the default: one relay, one file) and
//! [`postgres::PgStore`] (`postgres://`: several relays on one database). Each has its
//! own migrations (`migrations/sqlite`, `migrations/postgres`).
//!
//! Every method is written once (`sql/`): its statements, one SQL text each with
//! `$1..$N` parameters, run through `plan` on either backend; the SQL differs only
//! where the databases do (`FOR UPDATE`, `SKIP LOCKED`, PostgreSQL's one-statement hot
//! path). PostgreSQL runs on sqlx; SQLite on `rusqlite` on the calling thread (a sqlx
//! SQLite call is a hand-off to a worker thread and back, which cost more than the
//! statements). The contract suite (`tests/store_contract`) runs against both.
//!
//! Several relays may share one PostgreSQL database, so every "do it once" rule is in
//! SQL: a challenge ends through a conditional update (`WHERE status = 'pending'`, the
//! first writer wins), idempotency keys and proof `jti`s are primary keys, a used TOTP
//! step is a conditional update, every binding change is one conditional statement
//! ([`BindingStore`]: a compare-and-set on the state, OTP failures counted with the lock
//! decided in the same `UPDATE`), and webhook messages are leased
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL) so exactly one relay sends each attempt.

pub(crate) mod bindings;
mod codec;
mod decode;
pub mod maintenance;
mod ops;
pub(crate) mod plan;
pub mod postgres;
mod records;
mod sql;
pub mod sqlite;
pub mod upkeep;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use onepush_protocol::api::{AuditEvent, DecisionRecord};
use onepush_protocol::{ChallengeId, ChallengeStatus, CredentialId, PushChannel, TenantId, UserId};

pub use bindings::{
    BindingChange, BindingChanged, BindingStore, EndPrompts, OtpFailure, PromptNotice,
};
pub use maintenance::{MaintenanceRecord, MaintenanceStore};
pub use upkeep::{ClusterStore, CredentialSweep};

pub use ops::OpsStore;
pub use records::{
    Admission, Admit, BindingRecord, ChallengeGate, ChallengeRecord, CredentialRecord, NewAudit,
    OfflineRecord, OutboxMessage, OutboxUpdate, SealedSecret, TenantRecord,
};

/// A driver's error (sqlx for PostgreSQL, rusqlite for SQLite).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist.
    #[error("not found")]
    NotFound,
    /// A unique key already exists.
    #[error("already exists")]
    Conflict,
    /// A stored value could not be decoded.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// The database cannot be reached now (connection refused or lost, pool exhausted,
    /// server shutting down, statement timeout, SQLite busy or locked): worth retrying
    /// later.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[source] BoxError),
    /// Migrations failed.
    #[error("migration error: {0}")]
    Migrate(#[source] BoxError),
    /// The database URL names no backend this relay has.
    #[error(
        "unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST[:PORT]/DATABASE"
    )]
    UnsupportedUrl(String),
}

impl StoreError {
    /// Sorts a driver error: no row, duplicate key, unreachable database, or other.
    pub fn from_sqlx(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::Database(ref d) if d.is_unique_violation() => Self::Conflict,
            e if is_unavailable(&e) => Self::Unavailable(Box::new(e)),
            other => Self::Database(Box::new(other)),
        }
    }
}

/// Whether `e` means "the database is not reachable or not answering now".
fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => {
            let code = d.code().unwrap_or_default();
            // PostgreSQL (SQLSTATE): 08xxx connection exception, 57P01-03 shutting down /
            // cannot connect now, 53300 too many connections, 57014 statement timeout.
            // SQLite: 5 SQLITE_BUSY, 6 SQLITE_LOCKED (after the busy timeout).
            code.starts_with("08")
                || matches!(
                    &*code,
                    "57P01" | "57P02" | "57P03" | "53300" | "57014" | "5" | "6"
                )
        }
        _ => false,
    }
}

/// Connection settings common to both backends (from [`crate::Settings`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// Longest a statement may run (PostgreSQL `statement_timeout`); `None` = no limit.
    pub statement_timeout: Option<Duration>,
    /// Longest a request waits for a connection (also bounds connecting).
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            statement_timeout: Some(Duration::from_secs(5)),
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// An opened store, by backend (the PostgreSQL one also feeds the LISTEN/NOTIFY notifier).
#[derive(Debug, Clone)]
pub enum Backend {
    /// `sqlite://`.
    Sqlite(sqlite::SqliteStore),
    /// `postgres://` or `postgresql://`.
    Postgres(postgres::PgStore),
}

impl Backend {
    /// The store behind the trait the use cases see.
    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Self::Sqlite(s) => Arc::new(s.clone()),
            Self::Postgres(s) => Arc::new(s.clone()),
        }
    }
}

/// Opens (and migrates) the database at `url`, choosing the backend by its scheme.
pub async fn open(url: &str, options: &StoreOptions) -> Result<Backend, StoreError> {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("sqlite") => Ok(Backend::Sqlite(
            sqlite::SqliteStore::open(url, options).await?,
        )),
        Some("postgres" | "postgresql") => Ok(Backend::Postgres(
            postgres::PgStore::open(url, options).await?,
        )),
        _ => Err(StoreError::UnsupportedUrl(redact_url(url))),
    }
}

/// `url` with any password replaced by `***` (for logs and error messages).
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Everything the relay keeps: the parts below, plus a health check.
#[async_trait]
pub trait Store:
    TenantStore
    + CredentialStore
    + BindingStore
    + ChallengeStore
    + AuditStore
    + OutboxStore
    + OpsStore
    + ClusterStore
    + CredentialSweep
    + MaintenanceStore
    + OfflineStore
    + std::fmt::Debug
{
    /// Checks the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The credential `credential` and the challenge `challenge` (each `None` when there
    /// is no such row): what a decision post needs when this relay keeps no key of its
    /// signer or did not make its challenge (or anything is unusual), read in one trip to
    /// the database (SQLite: one job on its one connection; PostgreSQL: one statement).
    async fn credential_and_challenge(
        &self,
        credential: &CredentialId,
        challenge: &ChallengeId,
    ) -> Result<(Option<CredentialRecord>, Option<ChallengeRecord>), StoreError>;

    /// What creating a challenge for `user` checks first: the binding (`None`: the user
    /// is not enrolled, and nothing else is read), the push-fatigue refusals when
    /// `refusals` gives their `(since, limit)`, and the bound credential's push
    /// subscription, in one trip to the database (SQLite: one job on its one connection;
    /// PostgreSQL: one statement). The insert
    /// ([`insert_challenge_audited`](ChallengeStore::insert_challenge_audited)) reads the
    /// same again with the pending count and decides on them, so that concurrent creates
    /// cannot both pass the limits; this read serves a user the relay has not seen yet.
    async fn challenge_gate(
        &self,
        tenant: &TenantId,
        user: &UserId,
        refusals: Option<(i64, u32)>,
    ) -> Result<Option<ChallengeGate>, StoreError>;
}

/// `NotFound` as `None`.
pub(crate) fn found<T>(read: Result<T, StoreError>) -> Result<Option<T>, StoreError> {
    match read {
        Ok(row) => Ok(Some(row)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Banks and their API keys.
#[async_trait]
pub trait TenantStore: Send + Sync + 'static {
    /// Adds a tenant with the SHA-256 of its API key; `Conflict` if the slug exists.
    async fn insert_tenant(
        &self,
        tenant: &TenantRecord,
        key_hash: &[u8; 32],
    ) -> Result<(), StoreError>;
    /// Every tenant, by slug.
    async fn list_tenants(&self) -> Result<Vec<TenantRecord>, StoreError>;
    /// One tenant.
    async fn tenant(&self, id: &TenantId) -> Result<TenantRecord, StoreError>;
    /// The tenant whose API key hashes to `key_hash`, with the stored hash.
    async fn tenant_by_key_hash(
        &self,
        key_hash: &[u8; 32],
    ) -> Result<(TenantRecord, Vec<u8>), StoreError>;
    /// Sets a tenant's push-fatigue threshold (0 = off) and window; `NotFound` if no such
    /// tenant.
    async fn set_tenant_push_fatigue(
        &self,
        id: &TenantId,
        threshold: u32,
        window_seconds: u32,
    ) -> Result<(), StoreError>;
    /// Replaces a tenant's API key hash.
    async fn set_tenant_key(&self, id: &TenantId, key_hash: &[u8; 32]) -> Result<(), StoreError>;
}

/// App installs, their bindings to users as read (changes: [`BindingStore`]), and the
/// device-proof replay guard.
#[async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    /// Adds a credential; `Conflict` if the ID exists.
    async fn insert_credential(&self, credential: &CredentialRecord) -> Result<(), StoreError>;
    /// One credential (revoked ones too).
    async fn credential(&self, id: &CredentialId) -> Result<CredentialRecord, StoreError>;
    /// Replaces (or clears) a credential's push subscription.
    async fn set_push_subscription(
        &self,
        id: &CredentialId,
        sub: Option<&PushChannel>,
    ) -> Result<(), StoreError>;
    /// Records `step` as used if it is newer than the last used one; false if not (replay).
    async fn use_totp_step(&self, id: &CredentialId, step: u64) -> Result<bool, StoreError>;
    /// Marks a credential revoked.
    async fn revoke_credential(&self, id: &CredentialId, now: i64) -> Result<(), StoreError>;

    /// One binding.
    async fn binding(&self, tenant: &TenantId, user: &UserId) -> Result<BindingRecord, StoreError>;
    /// Every binding of a credential, with its tenant's display name.
    async fn bindings_of_credential(
        &self,
        id: &CredentialId,
    ) -> Result<Vec<(BindingRecord, String)>, StoreError>;

    /// Records a proof `jti` until `expires_at`; false if it was seen before (by any relay)
    /// and is still kept (`expires_at` not before `now`). One statement: expired `jti`s are
    /// not deleted here but by [`prune_jtis`](Self::prune_jtis) from the expiry task.
    async fn record_jti(&self, jti: &str, expires_at: i64, now: i64) -> Result<bool, StoreError>;
    /// Forgets the `jti`s that expired before `now`; returns how many.
    async fn prune_jtis(&self, now: i64) -> Result<u64, StoreError>;
}

/// Challenges and the idempotency keys that created them.
#[async_trait]
pub trait ChallengeStore: Send + Sync + 'static {
    /// Inserts a challenge, with its idempotency key (`Conflict` if the key exists, or
    /// if the user's binding is not active, for push and bound to the challenge's
    /// credential).
    async fn insert_challenge(
        &self,
        challenge: &ChallengeRecord,
        idempotency: Option<(&str, &[u8; 32])>,
    ) -> Result<(), StoreError> {
        match self
            .insert_challenge_audited(challenge, idempotency, None, Admit::default())
            .await?
        {
            Admission::Admitted(_) => Ok(()),
            Admission::NoBinding | Admission::Refused { .. } => Err(StoreError::Conflict),
        }
    }
    /// [`insert_challenge`](Self::insert_challenge) and, in the same transaction, appends
    /// `audit` (at the challenge's `created_at`): one commit for the two writes. First
    /// reads what [`challenge_gate`](Store::challenge_gate) reads (the refusals as
    /// `admit` asks) and, with `admit.max_pending`, counts the user's challenges pending
    /// and not overdue at the challenge's `created_at`; writes nothing unless
    /// [`Admit::admits`] them ([`Admission::Refused`], with what was read). The reads and
    /// the insert are one step: of two concurrent inserts for one user (through one relay
    /// or several), the second counts the first, and a challenge created while the
    /// binding leaves `active` is either refused or ended by that change (PostgreSQL
    /// locks the binding, `FOR UPDATE`, and reads its state after the lock).
    async fn insert_challenge_audited(
        &self,
        challenge: &ChallengeRecord,
        idempotency: Option<(&str, &[u8; 32])>,
        audit: Option<&NewAudit>,
        admit: Admit,
    ) -> Result<Admission, StoreError>;
    /// The challenge and request hash stored under an idempotency key.
    async fn idempotent_challenge(
        &self,
        tenant: &TenantId,
        key: &str,
    ) -> Result<Option<(ChallengeId, Vec<u8>)>, StoreError>;
    /// One challenge.
    async fn challenge(&self, id: &ChallengeId) -> Result<ChallengeRecord, StoreError>;
    /// Ends a pending challenge and, in the same transaction, queues `webhook` (due at
    /// `at`); false (and nothing queued) if it was no longer pending. Of several relays
    /// ending one challenge at once, exactly one gets true.
    async fn finish_challenge(
        &self,
        id: &ChallengeId,
        status: ChallengeStatus,
        at: i64,
        decision: Option<&DecisionRecord>,
        webhook: Option<&OutboxMessage>,
    ) -> Result<bool, StoreError> {
        self.finish_challenge_audited(id, status, at, decision, webhook, None)
            .await
    }
    /// [`finish_challenge`](Self::finish_challenge) that also appends `audit` (at `at`) in
    /// the same transaction, only if this call ended the challenge. An end `approved`
    /// is made only if, in the same statement, the challenge's binding is still `active`
    /// and bound to the challenge's credential and the decision's signer. An end with a
    /// decision is made only if its signer is not revoked, read in the same statement.
    async fn finish_challenge_audited(
        &self,
        id: &ChallengeId,
        status: ChallengeStatus,
        at: i64,
        decision: Option<&DecisionRecord>,
        webhook: Option<&OutboxMessage>,
        audit: Option<&NewAudit>,
    ) -> Result<bool, StoreError>;
    /// Records that a channel reached the device.
    async fn mark_reached_device(&self, id: &ChallengeId) -> Result<(), StoreError>;
    /// Pending challenges sent to a credential, oldest first.
    async fn pending_for_credential(
        &self,
        id: &CredentialId,
    ) -> Result<Vec<ChallengeRecord>, StoreError>;
    /// How many challenges of a user are pending and not yet overdue.
    async fn pending_count_for_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
        now: i64,
    ) -> Result<u32, StoreError>;
    /// Push fatigue: when the user's challenges ended `denied` or `expired` (unanswered)
    /// at or after `since` and after the user's latest approval, newest first, at most
    /// `limit` of them (one indexed query).
    async fn recent_refusals_for_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
        since: i64,
        limit: u32,
    ) -> Result<Vec<i64>, StoreError>;
    /// Counts a wrong number typed for a pending challenge; answers the wrong numbers so
    /// far (0 if it is no longer pending).
    async fn record_number_miss(&self, id: &ChallengeId) -> Result<u32, StoreError>;
    /// Pending challenges whose deadline is at or before `now`, oldest deadline first.
    async fn overdue_challenges(
        &self,
        now: i64,
        limit: u32,
    ) -> Result<Vec<ChallengeRecord>, StoreError>;
}

/// The append-only audit log.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// Appends an audit event; returns its sequence number.
    async fn append_audit(&self, event: &NewAudit, at: i64) -> Result<i64, StoreError>;
    /// A tenant's audit events after `since`, optionally for one user, oldest first.
    async fn audit(
        &self,
        tenant: &TenantId,
        user: Option<&UserId>,
        since: i64,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError>;
}

/// The webhook outbox.
#[async_trait]
pub trait OutboxStore: Send + Sync + 'static {
    /// Puts a webhook message in the outbox, due at `due_at`.
    async fn enqueue_webhook(&self, message: &OutboxMessage, due_at: i64)
    -> Result<(), StoreError>;
    /// Messages due at `now`, leased for `lease` seconds so no other worker (in this or
    /// another relay) takes them; a lease that runs out (a killed relay) frees them again.
    async fn claim_webhooks(
        &self,
        now: i64,
        lease: i64,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError>;
    /// Records the result of an attempt.
    async fn webhook_attempted(&self, id: &str, update: OutboxUpdate) -> Result<(), StoreError>;
}

/// Offline challenges (RFC 6287 OCRA offline codes): each answered at most once.
#[async_trait]
pub trait OfflineStore: Send + Sync + 'static {
    /// Adds an offline challenge; `Conflict` if the ID exists.
    async fn insert_offline(&self, challenge: &OfflineRecord) -> Result<(), StoreError>;
    /// One offline challenge of `tenant` (`NotFound` for another tenant's).
    async fn offline(
        &self,
        tenant: &TenantId,
        id: &ChallengeId,
    ) -> Result<OfflineRecord, StoreError>;
    /// Marks it used at `at` if it is unused and `at` is before its deadline: one
    /// conditional update, so of two relays (or requests) using one code, one wins.
    async fn use_offline(&self, id: &ChallengeId, at: i64) -> Result<bool, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_from_database_urls() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.internal:5432/onepush?sslmode=require"),
            "postgres://app:***@db.internal:5432/onepush?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://app@db/onepush"),
            "postgres://app@db/onepush"
        );
        assert_eq!(
            redact_url("sqlite:///var/lib/onepush.db"),
            "sqlite:///var/lib/onepush.db"
        );
    }

    #[test]
    fn lost_connections_and_timeouts_mean_unavailable() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        for e in [sqlx::Error::PoolTimedOut, sqlx::Error::Io(refused)] {
            assert!(matches!(
                StoreError::from_sqlx(e),
                StoreError::Unavailable(_)
            ));
        }
        assert!(matches!(
            StoreError::from_sqlx(sqlx::Error::RowNotFound),
            StoreError::NotFound
        ));
        assert!(matches!(
            StoreError::from_sqlx(sqlx::Error::Protocol("bad".into())),
            StoreError::Database(_)
        ));
    }

    #[tokio::test]
    async fn unknown_schemes_are_refused_with_the_supported_ones_named() {
        let err = open(
            "mysql://root:pw@localhost/onepush",
            &StoreOptions::default(),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("sqlite://") && err.contains("postgres://"),
            "{err}"
        );
        assert!(!err.contains("pw@"), "{err}");
    }
}
