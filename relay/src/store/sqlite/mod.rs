//! The SQLite backend (sqlx, WAL, `synchronous=NORMAL`, embedded migrations): one relay,
//! one file. Its queries are the shared ones in `../shared/` (compiled here with
//! `Db = Sqlite`); only the connection set-up and `CLAIM_WEBHOOKS` are its own.

use std::str::FromStr as _;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Sqlite as Db;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::{Store, StoreError, StoreOptions};

#[path = "../shared/challenges.rs"]
#[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
mod challenges;
#[path = "../shared/credentials.rs"]
#[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
mod credentials;
#[path = "../shared/outbox.rs"]
#[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
mod outbox;
#[path = "../shared/rows.rs"]
#[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
mod rows;
#[path = "../shared/tenants.rs"]
#[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
mod tenants;

/// The store type the shared query files implement the traits for.
type DbStore = SqliteStore;

/// Leases due webhook messages. One writer at a time: a plain conditional update is
/// already exclusive.
const CLAIM_WEBHOOKS: &str = "UPDATE webhook_outbox SET next_attempt_at = $1 \
     WHERE id IN (SELECT id FROM webhook_outbox WHERE state = 'pending' AND next_attempt_at <= $2 \
     ORDER BY next_attempt_at LIMIT $3) \
     RETURNING id, tenant_id, body, created_at, attempts";

/// How long a writer waits for another one before the statement fails (`SQLITE_BUSY`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The relay's data in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path`) and migrates it.
    /// `statement_timeout` does not apply: a writer waits up to `BUSY_TIMEOUT` (10 s).
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let connect = SqliteConnectOptions::from_str(url)
            .map_err(StoreError::Database)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            // A local file cannot drop the connection: no ping before every call.
            .test_before_acquire(false)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(StoreError::from_sqlx)?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(StoreError::Migrate)?;
        Ok(Self { pool })
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(())
    }
}
