//! The SQLite engine: one connection ([`writer`], group commit), the WAL checkpointer
//! ([`checkpoint`]), the migrations ([`migrate`]) and the connection's settings.
//!
//! ONE connection serves every read and write: SQLite allows one writer at a time
//! anyway; whoever holds the connection runs everything queued while it was busy, the
//! writes in one commit (group commit), and no thread blocks waiting for it. Its page
//! cache stays warm, where a second connection must drop its cache after every commit
//! made by another, so every read after a write would go to the file. Statements are
//! prepared once per connection (`prepare_cached`). `SQLITE_BUSY` / `SQLITE_LOCKED`
//! (another process holding the file past [`BUSY_TIMEOUT`]) is
//! [`StoreError::Unavailable`], which the API answers with 503.
//!
//! WAL checkpoints run on a thread of their own ([`checkpoint`]); the writer only
//! finishes one now and then, so that the WAL can start over.
//!
//! The query planner stability guarantee is on: without it, `SQLITE_ENABLE_STAT4` (in
//! the bundled build) re-prepares a statement whenever a bound value could match a
//! partial index's condition, which cost the push-fatigue query a full compile per call.

mod checkpoint;
mod migrate;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use writer::Writer;

use crate::store::{SqliteSynchronous, StoreError};

/// How long a statement waits for another process's write lock before it fails with
/// `SQLITE_BUSY` (→ 503). Short: the wait blocks a thread.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// WAL pages after which the writer checkpoints itself (SQLite's default is 1,000): the
/// backstop should the [`checkpoint`] thread, which asks the writer to finish a
/// checkpoint at `checkpoint::FINISH_AT_BYTES` (≈ 56,700 pages of 2 KiB, 28,400 of
/// 4 KiB), fall behind.
const WAL_AUTOCHECKPOINT: u32 = 80_000;

/// Bytes the WAL file is truncated back to after a checkpoint has reset it: it does not
/// keep the size of its largest burst. Above `checkpoint::FINISH_AT_BYTES`.
const WAL_SIZE_LIMIT: i64 = 128 << 20;

// The checkpointer has the WAL start over before it outgrows its kept size, and before
// the writer's backstop checkpoints it (for this page size and larger ones).
const _: () = assert!(checkpoint::FINISH_AT_BYTES < WAL_SIZE_LIMIT as u64);
const _: () = assert!(
    WAL_AUTOCHECKPOINT as u64 * (PAGE_SIZE as u64 + checkpoint::FRAME_HEADER_BYTES)
        > checkpoint::FINISH_AT_BYTES
);

/// Page size of a new database file: 2 KiB instead of SQLite's 4 KiB. A commit writes
/// every page it touched to the WAL whole (and a checkpoint copies it again), and a
/// lifecycle touches a dozen pages for far less data, so smaller pages mean fewer bytes
/// written (the figures: BENCHMARKS.md). The rule: the smallest page that still holds a
/// decided challenge with a usual context and its decision JWS, so that it does not
/// spill onto an overflow page (a context near its 8 KiB limit overflows either way). A database
/// created with other pages keeps them (changing needs a `VACUUM` outside WAL mode): it
/// works the same, with heavier writes.
const PAGE_SIZE: u32 = 2048;

/// Prepared statements kept per connection (the relay has about forty distinct ones).
const STATEMENT_CACHE: usize = 64;

/// One SQLite file: its writer connection and its checkpointer.
pub(crate) struct Engine {
    path: PathBuf,
    writer: Arc<Writer>,
    _checkpointer: checkpoint::Checkpointer,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens (creating if missing) the file at `path`, migrates it and starts its
    /// checkpointer. Blocks.
    pub(crate) fn open(path: PathBuf, synchronous: SqliteSynchronous) -> Result<Self, StoreError> {
        let mut writer = connect(&path, true, synchronous)?;
        migrate::run(&mut writer)?;
        let writer = Arc::new(Writer::new(writer));
        let checkpointer = checkpoint::Checkpointer::start(
            connect(&path, false, synchronous)?,
            path.clone(),
            &writer,
            checkpoint::FINISH_AT_BYTES,
        )
        .map_err(|e| StoreError::Database(Box::new(e)))?;
        Ok(Self {
            path,
            writer,
            _checkpointer: checkpointer,
        })
    }

    /// Runs `f` on the connection (see [`writer`]), in a write transaction when
    /// `writes`: at once on this thread when the writer is free, else in the batch of
    /// whoever holds it. `f` owns what it uses: it may run on another caller's thread.
    pub(crate) async fn call<T, F>(&self, writes: bool, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.writer.call(writes, f).await
    }
}

/// Runs `f` on this thread: inside `block_in_place` on a multi-thread runtime (the
/// worker's queued tasks go to another thread meanwhile), directly otherwise.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
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
pub(crate) fn path_of(url: &str) -> Result<PathBuf, StoreError> {
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
fn connect(
    path: &Path,
    writer: bool,
    synchronous: SqliteSynchronous,
) -> Result<Connection, StoreError> {
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
        // Only takes effect on a new, empty file, before WAL mode is set.
        conn.pragma_update(None, "page_size", PAGE_SIZE)
            .map_err(db)?;
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
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT)
            .map_err(db)?;
        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)
            .map_err(db)?;
    }
    conn.pragma_update(None, "synchronous", synchronous.pragma())
        .map_err(db)?;
    // A batch's savepoints need a statement journal: in a temporary file by default
    // (created, written and unlinked in /var/tmp several times a second under load).
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(db)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(db)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;
    use crate::store::{Store, StoreOptions};

    #[test]
    fn connections_keep_statement_journals_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pragmas.db");
        for writer in [true, false] {
            let conn = connect(&path, writer, SqliteSynchronous::default()).unwrap();
            let temp_store: i64 = conn
                .query_row("PRAGMA temp_store", [], |r| r.get(0))
                .unwrap();
            assert_eq!(temp_store, 2, "MEMORY (writer: {writer})");
        }
    }

    #[test]
    fn a_new_file_gets_small_pages_and_an_old_one_keeps_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let page_size = |conn: &Connection| -> u32 {
            conn.query_row("PRAGMA page_size", [], |r| r.get(0))
                .unwrap()
        };
        let new = dir.path().join("new.db");
        assert_eq!(
            page_size(&connect(&new, true, SqliteSynchronous::default()).unwrap()),
            PAGE_SIZE
        );
        // A file made before, with SQLite's 4 KiB pages and a table in it.
        let old = dir.path().join("old.db");
        let made = Connection::open(&old).unwrap();
        made.execute_batch("PRAGMA page_size = 4096; CREATE TABLE t (x); INSERT INTO t VALUES (1)")
            .unwrap();
        drop(made);
        let conn = connect(&old, true, SqliteSynchronous::default()).unwrap();
        assert_eq!(page_size(&conn), 4096);
        let x: i64 = conn.query_row("SELECT x FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(x, 1);
    }

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

    #[tokio::test]
    async fn commits_reach_the_disk_before_they_are_answered_unless_the_settings_say_normal() {
        assert_eq!(
            StoreOptions::default().sqlite_synchronous,
            SqliteSynchronous::Full
        );
        for (choice, level) in [(SqliteSynchronous::Full, 2), (SqliteSynchronous::Normal, 1)] {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("s.db").display());
            let options = StoreOptions {
                sqlite_synchronous: choice,
                ..StoreOptions::default()
            };
            let store = SqliteStore::open(&url, &options).await.unwrap();
            let pragma = |c: &mut Connection| {
                c.query_row("PRAGMA synchronous", [], |r| r.get::<_, i64>(0))
                    .map_err(db)
            };
            assert_eq!(
                store.db.call(true, pragma).await.unwrap(),
                level,
                "{choice:?}"
            );
            assert_eq!(
                store.db.call(false, pragma).await.unwrap(),
                level,
                "{choice:?}"
            );
        }
    }

    async fn open_temp() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let store = SqliteStore::open(&url, &StoreOptions::default())
            .await
            .unwrap();
        (dir, store)
    }

    async fn jtis(store: &SqliteStore) -> Vec<String> {
        store
            .db
            .call(false, |c| {
                let mut stmt = c
                    .prepare("SELECT jti FROM proof_jtis ORDER BY jti")
                    .map_err(db)?;
                let jtis = stmt.query_map([], |r| r.get(0)).map_err(db)?;
                jtis.collect::<Result<Vec<String>, _>>().map_err(db)
            })
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[allow(
        clippy::await_holding_lock,
        reason = "the test holds the writer while other tasks queue behind it"
    )]
    async fn writes_queued_while_the_writer_is_busy_commit_together_each_all_or_nothing() {
        let (_dir, store) = open_temp().await;
        let insert = |jti: &'static str, fail_after: bool| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .db
                    .call(true, move |c| {
                        c.execute(
                            "INSERT INTO proof_jtis (jti, expires_at) VALUES (?1, 1)",
                            [jti],
                        )
                        .map_err(db)?;
                        if fail_after {
                            return Err(StoreError::Corrupt("refused after writing".into()));
                        }
                        Ok(jti)
                    })
                    .await
            })
        };
        // Hold the writer: the three writes queue behind it instead of blocking a thread.
        let held = lock(&store.db.writer.conn);
        let db = Arc::clone(&store.db);
        let queued = |n: usize| {
            let db = Arc::clone(&db);
            async move {
                while lock(&db.writer.queue).len() < n {
                    tokio::task::yield_now().await;
                }
            }
        };
        let a = insert("a", false);
        queued(1).await;
        let b = insert("b", true);
        queued(2).await;
        let dup = insert("a", false);
        queued(3).await;
        let c = insert("c", false);
        queued(4).await;
        drop(held);
        store.db.writer.drain();
        assert_eq!(a.await.unwrap().unwrap(), "a");
        assert!(matches!(b.await.unwrap(), Err(StoreError::Corrupt(_))));
        assert!(matches!(dup.await.unwrap(), Err(StoreError::Conflict)));
        assert_eq!(c.await.unwrap().unwrap(), "c");
        // b's row went with its failure; the others committed in the one batch.
        assert_eq!(jtis(&store).await, ["a", "c"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_concurrent_writers_all_get_their_own_answer() {
        let (_dir, store) = open_temp().await;
        let tasks: Vec<_> = (0..400)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    // Every jti twice: exactly one of the two is new.
                    Store::Sqlite(store)
                        .record_jti(&format!("j{}", i / 2), 10, 0)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut fresh = 0;
        for t in tasks {
            fresh += usize::from(t.await.unwrap());
        }
        assert_eq!(fresh, 200);
        assert_eq!(jtis(&store).await.len(), 200);
        assert!(lock(&store.db.writer.queue).is_empty());
    }

    #[tokio::test]
    async fn pruning_deletes_every_expired_jti_in_slices_and_keeps_the_live_ones() {
        let (_dir, sqlite) = open_temp().await;
        let store = Store::Sqlite(sqlite.clone());
        for i in 0..450 {
            assert!(store.record_jti(&format!("old{i}"), 100, 0).await.unwrap());
        }
        for i in 0..10 {
            assert!(store.record_jti(&format!("live{i}"), 300, 0).await.unwrap());
        }
        assert_eq!(store.prune_jtis(200).await.unwrap(), 450);
        assert_eq!(jtis(&sqlite).await.len(), 10);
        assert_eq!(store.prune_jtis(200).await.unwrap(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_writer_held_by_another_process_is_unavailable_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("busy.db");
        let url = format!("sqlite://{}", path.display());
        let store = Store::Sqlite(
            SqliteStore::open(&url, &StoreOptions::default())
                .await
                .unwrap(),
        );
        // Another connection (as another process would) holds the write lock.
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let err = store.record_jti("j", 10, 0).await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        other.execute_batch("ROLLBACK").unwrap();
        assert!(store.record_jti("j", 10, 0).await.unwrap());
    }
}
