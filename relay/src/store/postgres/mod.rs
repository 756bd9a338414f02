//! The PostgreSQL backend: several relays on one database. Its methods are the shared
//! ones (`store/sql/`), run on one pooled connection each ([`Runner`]); its own are the
//! connection set-up (pool size, `statement_timeout`) and its migrations.

use std::str::FromStr as _;

use sqlx::PgConnection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::plan::{Body, Mode, Runner};
use super::{StoreError, StoreOptions};

/// The `application_name` the relay's connections show in `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "onepush-relay";

/// The relay's data in a PostgreSQL database, shared by every relay pointed at it.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
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
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(StoreError::from_sqlx)?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migrate(Box::new(e)))?;
        Ok(Self { pool })
    }

    /// The connection pool (the LISTEN/NOTIFY notifier sends through it and copies its
    /// connection options).
    pub fn pool(&self) -> &PgPool {
        &self.pool
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
        if mode == Mode::Transaction {
            let mut tx = self.pool.begin().await.map_err(StoreError::from_sqlx)?;
            let out = body(&mut tx).await?;
            tx.commit().await.map_err(StoreError::from_sqlx)?;
            Ok(out)
        } else {
            let mut conn = self.pool.acquire().await.map_err(StoreError::from_sqlx)?;
            body(&mut conn).await
        }
    }
}
