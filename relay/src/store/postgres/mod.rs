//! The PostgreSQL backend: several relays on one database. Its methods are the shared
//! ones (`store/sql/`), run on one pooled connection each ([`Runner`]); its own are the
//! connection set-up (pool size, `statement_timeout`), the pool ([`pool`]) and its
//! migrations.

mod pool;

use std::str::FromStr as _;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection as _, PgConnection};

use self::pool::Pool;
pub use self::pool::{IDLE_CHECK, MAX_LIFETIME};
use super::plan::{Body, Mode, Runner};
use super::{StoreError, StoreOptions};

/// The `application_name` the relay's connections show in `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "onepush-relay";

/// The relay's data in a PostgreSQL database, shared by every relay pointed at it.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: Pool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/database[?sslmode=…]`)
    /// and migrates the database (migrations take an advisory lock, so relays starting
    /// together do not race).
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let mut connect = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Database(Box::new(e)))?
            .application_name(APPLICATION_NAME);
        if let Some(timeout) = options.statement_timeout {
            connect = connect.options([("statement_timeout", timeout.as_millis())]);
        }
        // Migrations on a connection of their own (it also shows at once that the database
        // can be reached; the pool connects lazily).
        let mut conn = tokio::time::timeout(
            options.acquire_timeout,
            PgConnection::connect_with(&connect),
        )
        .await
        .map_err(|e| StoreError::Unavailable(Box::new(e)))?
        .map_err(StoreError::from_sqlx)?;
        sqlx::migrate!("./migrations/postgres")
            .run(&mut conn)
            .await
            .map_err(|e| StoreError::Migrate(Box::new(e)))?;
        conn.close().await.map_err(StoreError::from_sqlx)?;
        let max = usize::try_from(options.max_connections).unwrap_or(usize::MAX);
        let pool = Pool::new(connect, max, options.acquire_timeout)?;
        Ok(Self { pool })
    }

    /// The options every connection is opened with (the LISTEN/NOTIFY notifier's listener
    /// copies them).
    pub fn connect_options(&self) -> &PgConnectOptions {
        self.pool.options()
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A method runs on one pooled connection, in a transaction when it asks for one.
impl Runner for PgStore {
    type Conn = PgConnection;

    async fn run<T, F>(&self, mode: Mode, body: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut PgConnection) -> Body<'c, T> + Send + 'static,
    {
        self.pool.run(mode == Mode::Transaction, body).await
    }
}
