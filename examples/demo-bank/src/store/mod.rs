//! The demo bank's SQLite database: SQL lives only in this module.

mod approvals;
mod keys;
mod records;
mod sessions;
mod users;

use std::path::Path;
use std::str::FromStr;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

pub use approvals::{AdminOp, Approval, Purpose};
pub use keys::{PinnedHow, PinnedKey};
pub use records::{Mail, Transfer};
pub use sessions::Session;
pub use users::{PasswordKind, Role, User, relay_user_id};

/// Why a database call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// Anything else from the database.
    #[error("database: {0}")]
    Db(sqlx::Error),
    /// A migration failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => Self::NotFound,
            other => Self::Db(other),
        }
    }
}

/// The bank's database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) `bank.sqlite` in `dir` and runs the migrations.
    pub async fn open(dir: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(dir.join("bank.sqlite"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        Self::migrate(pool).await
    }

    /// An in-memory database, for tests.
    pub async fn in_memory() -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        Self::migrate(pool).await
    }

    async fn migrate(pool: SqlitePool) -> Result<Self, StoreError> {
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }

    /// Whether the contract exists.
    pub async fn contract_name(&self, number: &str) -> Result<String, StoreError> {
        let (name,): (String,) = sqlx::query_as("SELECT name FROM contracts WHERE number = ?")
            .bind(number)
            .fetch_one(&self.pool)
            .await?;
        Ok(name)
    }

    /// Adds a contract unless it exists; returns whether it was added.
    pub async fn insert_contract(&self, number: &str, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("INSERT OR IGNORE INTO contracts (number, name) VALUES (?, ?)")
            .bind(number)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
