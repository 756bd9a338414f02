//! WAL checkpoints off the write path.
//!
//! A checkpoint copies the WAL's pages into the database file and fsyncs both. Run by the
//! writer after a commit (SQLite's auto-checkpoint), it holds the writer for the whole
//! copy and the fsyncs, and every queued write waits: on this machine that was the
//! 10–20 ms tail of challenge creation and decisions. Here a thread with its own
//! connection runs a `PASSIVE` checkpoint every [`INTERVAL`], which never blocks the
//! writer. The writer keeps a (larger) auto-checkpoint as a backstop: a passive
//! checkpoint cannot finish while writes keep arriving, and only a checkpoint that
//! finishes lets the WAL start over, so the backstop is what bounds the WAL file; by
//! then most pages are already copied and it has little left to do.

use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use rusqlite::Connection;

/// How often the checkpointer copies what the WAL has gathered. Short, so the writer's
/// backstop finds little left to copy (open loop at 1,200 lifecycles/s: p99 decision →
/// bank 2.2–3.0 ms at 25 ms against 4.5 ms at 100 ms; 10 ms cost CPU and gained nothing).
const INTERVAL: Duration = Duration::from_millis(25);

/// Stops the checkpointer thread when dropped (with the store).
#[derive(Debug)]
pub(super) struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Starts the thread on `conn` (a connection of its own to the store's file).
    pub(super) fn start(conn: Connection, path: PathBuf) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                    let done = conn
                        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0));
                    if let Err(e) = done {
                        tracing::warn!(path = %path.display(), error = %e, "WAL checkpoint failed");
                    }
                }
            })?;
        Ok(Self { _stop: stop })
    }
}
