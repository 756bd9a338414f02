//! Persistence: the [`Store`] and its records. SQL lives only in this folder.
//!
//! Two backends, picked by the database URL's scheme ([`open`]):
//! [`sqlite::SqliteStore`] (`sqlite://`, the default: one relay, one file) and
//! [`postgres::PgStore`] (`postgres://`: several relays on one database). Each has its
//! own migrations (`migrations/sqlite`, `migrations/postgres`).
//!
//! Every method is written once (`sql/`, `impl Store`): its statements, one SQL text
//! each with `$1..$N` parameters, run through `plan` on either backend; the SQL differs only
//! where the databases do (`FOR UPDATE`, `SKIP LOCKED`, arrays, PostgreSQL's one-statement hot
//! path). PostgreSQL runs on sqlx; SQLite on `rusqlite` on the calling thread (a sqlx
//! SQLite call is a hand-off to a worker thread and back, which cost more than the
//! statements). The contract suite (`tests/store_contract`) runs against both.
//!
//! Several relays may share one PostgreSQL database, so every "do it once" rule is in
//! SQL: a challenge ends through a conditional update (`WHERE status = 'pending'`, the
//! first writer wins), idempotency keys and proof `jti`s are primary keys, a used TOTP
//! step is a conditional update, every binding change is one conditional statement
//! (`sql/bindings.rs`: a compare-and-set on the state, OTP failures counted with the lock
//! decided in the same `UPDATE`), and webhook messages are leased
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL) so exactly one relay sends each attempt.

pub(crate) mod bindings;
mod codec;
mod decode;
pub mod maintenance;
pub(crate) mod plan;
pub mod postgres;
mod records;
mod sql;
pub mod sqlite;

use std::time::Duration;

pub use bindings::{BindingChange, BindingChanged, EndPrompts, OtpFailure, PromptNotice};
pub use maintenance::MaintenanceRecord;
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
    /// When a SQLite commit reaches the disk (PostgreSQL follows its server's
    /// `synchronous_commit`).
    pub sqlite_synchronous: SqliteSynchronous,
}

/// When a SQLite commit reaches the disk (`database.sqlite_synchronous`). The rule: a
/// relay answers a write only once it survives a power cut, unless the bank chose
/// otherwise, as PostgreSQL's `synchronous_commit` does by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSynchronous {
    /// `synchronous = FULL`: each commit (a group of writes: the writer's group commit)
    /// flushes the WAL before any write in it is answered.
    #[default]
    Full,
    /// `synchronous = NORMAL`: commits reach the disk when the checkpointer next syncs the
    /// WAL (within ≈ 25 ms); a power cut or kernel crash can undo what was answered in
    /// those last milliseconds (never corrupting the file). A relay crash loses nothing.
    Normal,
}

impl SqliteSynchronous {
    /// The `PRAGMA synchronous` value.
    pub(crate) fn pragma(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            statement_timeout: Some(Duration::from_secs(5)),
            acquire_timeout: Duration::from_secs(5),
            sqlite_synchronous: SqliteSynchronous::default(),
        }
    }
}

/// Everything the relay keeps, on the backend its database URL names ([`open`]). Its
/// methods (`sql/`) are written once and run on either backend (`plan::Runner`); the
/// PostgreSQL one also feeds the LISTEN/NOTIFY notifier.
#[derive(Debug, Clone)]
pub enum Store {
    /// `sqlite://`.
    Sqlite(sqlite::SqliteStore),
    /// `postgres://` or `postgresql://`.
    Postgres(postgres::PgStore),
}

/// Opens (and migrates) the database at `url`, choosing the backend by its scheme.
pub async fn open(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("sqlite") => Ok(Store::Sqlite(
            sqlite::SqliteStore::open(url, options).await?,
        )),
        Some("postgres" | "postgresql") => Ok(Store::Postgres(
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

/// `NotFound` as `None`.
pub(crate) fn found<T>(read: Result<T, StoreError>) -> Result<Option<T>, StoreError> {
    match read {
        Ok(row) => Ok(Some(row)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
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
