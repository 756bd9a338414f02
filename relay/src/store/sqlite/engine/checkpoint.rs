//! WAL checkpoints (almost) off the write path.
//!
//! A checkpoint copies the WAL's pages into the database file and fsyncs both. Run by the
//! writer after a commit (SQLite's auto-checkpoint), it holds the writer for the whole
//! copy and the fsyncs, and every queued write waits: that becomes the tail of
//! challenge creation and decisions. Here a thread with its own
//! connection runs a `PASSIVE` checkpoint every [`INTERVAL`], which never blocks the
//! writer.
//!
//! Under steady writes a passive checkpoint copies everything up to where it began but
//! never *finishes*: frames keep arriving while it copies, so it never fsyncs the
//! database file, and only a finished checkpoint lets the WAL start over. Someone has to
//! finish with no write in between, and that can only be the writer (which then holds
//! every queued write). So once the WAL holds [`FINISH_AT_BYTES`], this thread first
//! flushes what it copied and the WAL written so far (on its own file handles: an
//! fsync from any handle flushes the file), then asks the writer to finish after its
//! next batch ([`Writer::request_checkpoint`]): the writer's checkpoint then has only the
//! last moment's frames to copy and sync, and its next commit starts the WAL over (one
//! small fsync of the WAL header), so the writer is held for the last moment's frames
//! only, not for the whole WAL (the figures: BENCHMARKS.md).
//!
//! The writer's own auto-checkpoint stays as the backstop (at more frames than
//! [`FINISH_AT_BYTES`]), should this thread fall behind.
//!
//! On each tick the thread also asks the kernel to read the WAL just past the writer's
//! position into the page cache ([`read_ahead`]), so that the writer, which overwrites
//! a restarted WAL frame by frame, does not wait for a disk read in its commit.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Weak};
use std::time::Duration;

use rusqlite::Connection;

use super::writer::Writer;

/// How often the checkpointer copies what the WAL has gathered: short, so the writer
/// finds little left to copy, and no shorter than what still shortens the tail
/// (the intervals tried: BENCHMARKS.md).
const INTERVAL: Duration = Duration::from_millis(25);

/// WAL bytes after which the writer is asked to finish a checkpoint and so let the WAL
/// start over. Each finish holds the writer for a few ms, now and then tens (it syncs
/// the WAL and the database), and every write queued meanwhile waits: the finishes must
/// be rare enough that the writes caught behind them stay out of the p99 at the highest
/// rate, so about a second of writes at full speed or more (BENCHMARKS.md). A longer WAL costs reads
/// nothing (they search only the frames not yet copied back, a few ms' worth) and
/// disk space only. Below `WAL_SIZE_LIMIT` (the WAL keeps its blocks between restarts,
/// not growing into new ones) and the writer's backstop (`WAL_AUTOCHECKPOINT`).
pub(super) const FINISH_AT_BYTES: u64 = 112 << 20;

/// Bytes of WAL just past the writer's position that each tick asks the kernel to have
/// in the page cache: more than the writer appends between two ticks at full speed.
const READ_AHEAD: u64 = 4 << 20;

/// Bytes of a WAL frame's header (its page follows).
pub(super) const FRAME_HEADER_BYTES: u64 = 24;

/// Bytes of the WAL header before the first frame.
const WAL_HEADER_BYTES: u64 = 32;

/// Stops the checkpointer thread when dropped (with the store).
#[derive(Debug)]
pub(super) struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Starts the thread on `conn` (a connection of its own to the store's file at
    /// `path`); `writer` finishes what the thread cannot, once the WAL holds
    /// `finish_at_bytes`.
    pub(super) fn start(
        conn: Connection,
        path: PathBuf,
        writer: &Arc<Writer>,
        finish_at_bytes: u64,
    ) -> std::io::Result<Self> {
        // Weak: the writer connection closes with the store, not when this thread notices.
        let writer: Weak<Writer> = Arc::downgrade(writer);
        let page_size: u32 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .map_err(std::io::Error::other)?;
        let frame_bytes = FRAME_HEADER_BYTES + u64::from(page_size);
        let finish_at = i64::try_from(finish_at_bytes / frame_bytes)
            .unwrap_or(i64::MAX)
            .max(1);
        let database = File::open(&path)?;
        let wal = wal_path(&path);
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                // The WAL's length when the writer was last asked: an idle WAL is not
                // flushed and the writer not asked again until it has grown.
                let mut asked_at = 0;
                // Opened once the writer has made the WAL.
                let mut wal_file: Option<File> = None;
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                    let checkpointed = passive(&conn);
                    if let Ok(frames) = checkpointed {
                        // After a restart the writer goes on from the WAL's start.
                        let next = if frames >= finish_at { 0 } else { frames };
                        let next = u64::try_from(next).unwrap_or(0);
                        read_ahead(&mut wal_file, &wal, next * frame_bytes);
                    }
                    match checkpointed {
                        Ok(frames) if frames >= finish_at && frames != asked_at => {
                            asked_at = frames;
                            let flushed = database
                                .sync_data()
                                .and_then(|()| File::open(&wal)?.sync_data());
                            if let Err(e) = flushed {
                                // Only a head start: the writer's checkpoint syncs anyway.
                                tracing::warn!(path = %path.display(), error = %e, "flushing before a WAL restart failed");
                            }
                            match writer.upgrade() {
                                Some(writer) => writer.request_checkpoint(),
                                None => break,
                            }
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(path = %path.display(), error = %e, "WAL checkpoint failed");
                        }
                    }
                }
            })?;
        Ok(Self { _stop: stop })
    }
}

/// Runs a `PASSIVE` checkpoint on `conn` (it never waits for the writer) and answers
/// the frames the WAL holds.
pub(super) fn passive(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
}

/// Asks the kernel to bring the WAL's next [`READ_AHEAD`] bytes from `frames_bytes`
/// past its header (where the writer's next frame goes) into the page cache, without
/// waiting. The writer overwrites the WAL from its start after each restart, and a
/// frame (a 24-byte header and a page) covers 4 KiB blocks in part: a block that has
/// left the page cache must be read before it can be written, with the writer held.
/// Best effort: nothing to do without a WAL yet.
fn read_ahead(file: &mut Option<File>, wal: &Path, frames_bytes: u64) {
    if file.is_none() {
        *file = File::open(wal).ok();
    }
    let Some(f) = file else { return };
    let offset = WAL_HEADER_BYTES + frames_bytes;
    let len = std::num::NonZeroU64::new(READ_AHEAD);
    if let Err(e) = rustix::fs::fadvise(&*f, offset, len, rustix::fs::Advice::WillNeed) {
        tracing::debug!(error = %e, "WAL read-ahead failed");
    }
}

/// The WAL file next to the database at `path` (SQLite's naming).
fn wal_path(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::store::SqliteSynchronous;
    use crate::store::sqlite::engine::{PAGE_SIZE, connect, db};

    /// Bytes of one WAL frame of a new database.
    const FRAME: u64 = FRAME_HEADER_BYTES + PAGE_SIZE as u64;

    /// A writer on a fresh database at `path` with one table of 3 KB rows.
    fn writer(path: &Path) -> Arc<Writer> {
        let conn = connect(path, true, SqliteSynchronous::default()).unwrap();
        conn.execute_batch("CREATE TABLE t (x BLOB NOT NULL)")
            .unwrap();
        Arc::new(Writer::new(conn))
    }

    async fn insert(writer: &Arc<Writer>, rows: usize) {
        writer
            .call(true, move |c| {
                for _ in 0..rows {
                    c.execute("INSERT INTO t (x) VALUES (zeroblob(3000))", [])
                        .map_err(db)?;
                }
                Ok(())
            })
            .await
            .unwrap();
    }

    fn wal_bytes(path: &Path) -> u64 {
        std::fs::metadata(wal_path(path)).unwrap().len()
    }

    #[tokio::test]
    async fn a_checkpoint_the_writer_finishes_lets_the_wal_start_over() {
        let dir = tempfile::tempdir().unwrap();
        let (asked, control) = (dir.path().join("asked.db"), dir.path().join("control.db"));
        let (finishing, not) = (writer(&asked), writer(&control));
        for w in [&finishing, &not] {
            insert(w, 60).await;
        }
        finishing.request_checkpoint();
        for w in [&finishing, &not] {
            // The batch that finishes the checkpoint, then one that would restart the WAL.
            insert(w, 1).await;
        }
        assert!(!finishing.checkpoint_requested(), "the request was served");
        let before = (wal_bytes(&asked), wal_bytes(&control));
        for w in [&finishing, &not] {
            insert(w, 30).await;
        }
        assert_eq!(
            wal_bytes(&asked),
            before.0,
            "the WAL started over: new frames overwrite the old ones"
        );
        assert!(
            wal_bytes(&control) > before.1,
            "without it the WAL only grows"
        );
        let rows = finishing
            .call(false, |c| {
                c.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))
                    .map_err(db)
            })
            .await
            .unwrap();
        assert_eq!(rows, 91, "nothing lost across the restart");
    }

    #[tokio::test]
    async fn read_ahead_waits_for_a_wal_then_keeps_it_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ahead.db");
        let mut file = None;
        read_ahead(&mut file, &wal_path(&path), 0);
        assert!(file.is_none(), "no WAL yet: nothing opened, nothing failed");
        let writer = writer(&path);
        insert(&writer, 3).await;
        read_ahead(&mut file, &wal_path(&path), 2);
        assert!(file.is_some(), "the WAL is opened once and kept");
        // Past the end of the file is fine too (a WAL that just started over).
        read_ahead(&mut file, &wal_path(&path), 1_000_000);
    }

    #[tokio::test]
    async fn the_checkpointer_asks_the_writer_once_the_wal_is_long() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.db");
        let writer = writer(&path);
        let _checkpointer = Checkpointer::start(
            connect(&path, false, SqliteSynchronous::default()).unwrap(),
            path.clone(),
            &writer,
            50 * FRAME,
        )
        .unwrap();
        insert(&writer, 10).await;
        std::thread::sleep(INTERVAL * 4);
        assert!(
            !writer.checkpoint_requested(),
            "a short WAL is the checkpointer's alone"
        );
        insert(&writer, 60).await;
        let deadline = Instant::now() + Duration::from_secs(5);
        while !writer.checkpoint_requested() {
            assert!(Instant::now() < deadline, "the writer was never asked");
            std::thread::sleep(INTERVAL);
        }
    }
}
