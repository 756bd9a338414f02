//! The SQLite backend: one relay, one file (WAL, `synchronous=FULL` unless the settings
//! say `normal`, foreign keys, temporary data in memory, migrations applied at open).
//!
//! It runs on `rusqlite`, on the calling thread: the rule is that a statement costs less
//! than handing it to another thread and back, which is what a sqlx SQLite pool does for
//! every call (the figures: BENCHMARKS.md, "Micro-benchmarks" and "Where the relay's CPU
//! went in the first measurement").
//!
//! Its engine (`engine`: one writer connection with group commit, the WAL
//! checkpointer, the migrations) runs each store method (`store/sql/`) as one job.

pub(crate) mod engine;

use std::future::Future;
use std::sync::Arc;

use rusqlite::Connection;

use self::engine::{Engine, blocking, path_of};
use super::plan::{Body, Mode, Runner, now};
use super::{StoreError, StoreOptions};

/// The relay's data in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    db: Arc<Engine>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path`) and migrates it.
    /// Of the `StoreOptions`, only `sqlite_synchronous` applies (one connection; a
    /// statement waits up to `BUSY_TIMEOUT`, 2 s, for another process's lock).
    #[allow(clippy::unused_async, reason = "the same signature as PgStore::open")]
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let path = path_of(url)?;
        let synchronous = options.sqlite_synchronous;
        let db = blocking(move || Engine::open(path, synchronous))?;
        Ok(Self { db: Arc::new(db) })
    }

    /// Nothing to do: the connection closes with the last clone of the store.
    #[allow(clippy::unused_async, reason = "the same signature as PgStore::close")]
    pub async fn close(&self) {}
}

/// A method runs as one job on the writer connection (a write in its group commit); its
/// statements complete at once, so its body is run to its end inside the job.
impl Runner for SqliteStore {
    type Conn = Connection;

    fn run<T, F>(&self, mode: Mode, body: F) -> impl Future<Output = Result<T, StoreError>> + Send
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Connection) -> Body<'c, T> + Send + 'static,
    {
        self.db
            .call(mode != Mode::Read, move |conn| now(body(conn)))
    }
}
