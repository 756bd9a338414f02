//! The SQLite backend: one relay, one file (WAL, `synchronous=NORMAL`, foreign keys,
//! migrations applied at open).
//!
//! It runs on `rusqlite`, on the calling thread: a statement takes tens of microseconds,
//! less than handing it to another thread and back (which is what a sqlx SQLite pool does
//! for every call, and what dominated the relay's CPU). On a multi-thread tokio runtime the
//! call is wrapped in [`tokio::task::block_in_place`], so the worker's other tasks move
//! on while a statement (or a busy wait) runs; on a current-thread runtime it simply runs.
//!
//! Connections: ONE writer behind a mutex (SQLite allows one writer at a time anyway;
//! waiting here is cheaper than `SQLITE_BUSY` retries), and a small pool of readers (WAL
//! lets them read while the writer writes). Statements are prepared once per connection
//! (`prepare_cached`). `SQLITE_BUSY`/`SQLITE_LOCKED` (another process holding the file
//! past [`BUSY_TIMEOUT`]) is [`StoreError::Unavailable`], which the API answers with 503.

mod challenges;
mod credentials;
mod migrate;
mod outbox;
mod rows;
mod tenants;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::{Store, StoreError, StoreOptions};

/// How long a statement waits for another process's write lock before it fails with
/// `SQLITE_BUSY` (→ 503). Short: the wait blocks a thread.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// Prepared statements kept per connection (the relay has about forty distinct ones).
const STATEMENT_CACHE: usize = 64;

/// The relay's data in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    db: Arc<Db>,
}

struct Db {
    path: PathBuf,
    writer: Mutex<Connection>,
    /// Idle reader connections; a read takes one (opening one if none is idle).
    readers: Mutex<Vec<Connection>>,
    /// Most idle readers kept.
    max_readers: usize,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path`) and migrates it.
    /// `statement_timeout` and `acquire_timeout` do not apply: a statement waits up to
    /// `BUSY_TIMEOUT` (2 s) for another process's lock.
    #[allow(clippy::unused_async, reason = "the same signature as PgStore::open")]
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let path = path_of(url)?;
        let max_readers = usize::try_from(options.max_connections.max(1)).unwrap_or(8);
        blocking(move || {
            let mut writer = connect(&path, true)?;
            migrate::run(&mut writer)?;
            let reader = connect(&path, false)?;
            Ok(Self {
                db: Arc::new(Db {
                    path,
                    writer: Mutex::new(writer),
                    readers: Mutex::new(vec![reader]),
                    max_readers,
                }),
            })
        })
    }

    /// Drops the idle reader connections (the writer closes with the last clone).
    #[allow(clippy::unused_async, reason = "the same signature as PgStore::close")]
    pub async fn close(&self) {
        lock(&self.db.readers).clear();
    }

    /// Runs `f` with the writer connection: on this thread when the writer is free (the
    /// usual case: a write is tens of µs, and handing it to another thread costs more
    /// than the write), inside [`blocking`] when it must wait for another writer.
    fn write<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match self.db.writer.try_lock() {
            Ok(mut conn) => f(&mut conn),
            Err(std::sync::TryLockError::Poisoned(p)) => f(&mut p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => blocking(|| f(&mut lock(&self.db.writer))),
        }
    }

    /// Runs `f` with a reader connection, on this thread: in WAL mode a reader never
    /// waits for the writer, and an idle reader is taken without waiting (a new one is
    /// opened, inside [`blocking`], only when none is idle).
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let idle = lock(&self.db.readers).pop();
        let conn = match idle {
            Some(c) => c,
            None => blocking(|| connect(&self.db.path, false))?,
        };
        let result = f(&conn);
        let mut readers = lock(&self.db.readers);
        if readers.len() < self.db.max_readers {
            readers.push(conn);
        }
        result
    }
}

/// Runs `f` on this thread: inside `block_in_place` on a multi-thread runtime (the
/// worker's queued tasks go to another thread meanwhile), directly otherwise.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// A poisoned lock still guards a usable connection (an open transaction was rolled back
/// when it was dropped during the panic).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The file path of `sqlite://PATH` (or `sqlite:PATH`), without any `?options`.
fn path_of(url: &str) -> Result<PathBuf, StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| StoreError::UnsupportedUrl(url.to_owned()))?;
    let path = rest.split_once('?').map_or(rest, |(p, _)| p);
    if path.is_empty() || path.starts_with(":memory:") {
        // Readers and the writer are separate connections: they need a file.
        return Err(StoreError::UnsupportedUrl(url.to_owned()));
    }
    Ok(PathBuf::from(path))
}

/// Opens one connection with the relay's pragmas.
fn connect(path: &Path, writer: bool) -> Result<Connection, StoreError> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    if writer {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags).map_err(db)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    if writer {
        // Persistent in the file; set by the writer, which opens first.
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(db)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Database(
                format!(
                    "cannot switch {} to WAL (journal_mode = {mode})",
                    path.display()
                )
                .into(),
            ));
        }
    }
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(db)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
    Ok(conn)
}

/// Sorts a `rusqlite` error: no row, duplicate key, busy/locked database, or other.
pub(crate) fn db(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
        rusqlite::Error::SqliteFailure(ref f, _) => match f.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                StoreError::Unavailable(Box::new(e))
            }
            ErrorCode::ConstraintViolation
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
            {
                StoreError::Conflict
            }
            _ => StoreError::Database(Box::new(e)),
        },
        other => StoreError::Database(Box::new(other)),
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| {
            c.prepare_cached("SELECT 1")
                .and_then(|mut s| s.query_row([], |_| Ok(())))
                .map_err(db)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_and_locked_mean_unavailable_and_duplicates_conflict() {
        let failure = |code, extended| {
            rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error {
                    code,
                    extended_code: extended,
                },
                None,
            )
        };
        assert!(matches!(
            db(failure(ErrorCode::DatabaseBusy, rusqlite::ffi::SQLITE_BUSY)),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            db(failure(
                ErrorCode::DatabaseLocked,
                rusqlite::ffi::SQLITE_LOCKED
            )),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            db(failure(
                ErrorCode::ConstraintViolation,
                rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            )),
            StoreError::Conflict
        ));
        assert!(matches!(
            db(failure(
                ErrorCode::ConstraintViolation,
                rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY
            )),
            StoreError::Database(_)
        ));
        assert!(matches!(
            db(rusqlite::Error::QueryReturnedNoRows),
            StoreError::NotFound
        ));
    }

    #[test]
    fn urls_name_a_file() {
        assert_eq!(
            path_of("sqlite:///var/lib/onepush.db?mode=rwc").unwrap(),
            PathBuf::from("/var/lib/onepush.db")
        );
        assert_eq!(path_of("sqlite:rel.db").unwrap(), PathBuf::from("rel.db"));
        assert!(path_of("sqlite::memory:").is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_writer_held_by_another_process_is_unavailable_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("busy.db");
        let url = format!("sqlite://{}", path.display());
        let store = SqliteStore::open(&url, &StoreOptions::default())
            .await
            .unwrap();
        // Another connection (as another process would) holds the write lock.
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let err = crate::store::CredentialStore::record_jti(&store, "j", 10, 0)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        other.execute_batch("ROLLBACK").unwrap();
        assert!(
            crate::store::CredentialStore::record_jti(&store, "j", 10, 0)
                .await
                .unwrap()
        );
    }
}
