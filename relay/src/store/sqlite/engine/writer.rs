//! The writer: one connection, and group commit.
//!
//! Every write is a job. A caller queues its job and then tries to take the writer
//! connection; whoever holds it (the *combiner*) runs everything queued so far in one
//! `BEGIN IMMEDIATE … COMMIT`, each job inside its own savepoint, and only then hands
//! each caller its answer. So:
//! - an uncontended write runs at once, on the caller's thread (no hand-off to another
//!   thread, whose round trip costs more than the statement: BENCHMARKS.md);
//! - a write that finds the writer busy does not block a thread: it awaits its answer,
//!   and its job rides along in the next commit;
//! - under load, the WAL gets one commit for several writes: pages that several writes
//!   touch (the newest index leaves, above all) are written once, not once per write.
//!
//! Each job is all-or-nothing (its savepoint is rolled back if it fails), and no job is
//! answered before the commit that holds it: a failed commit fails every job in it.
//! Busy waits for another process's lock (`BUSY_TIMEOUT`) happen in `BEGIN IMMEDIATE`,
//! before any job runs, and fail the whole batch with `Unavailable`.
//!
//! Reads go through the same queue (a batch of reads only runs without a transaction):
//! the writer's page cache is the only one that stays valid across commits, where a
//! separate reader connection must drop its cache after every commit and read the pages
//! again.
//!
//! The checkpointer thread may ask the writer to finish a WAL checkpoint
//! ([`Writer::request_checkpoint`]): whoever holds the connection does so after its batch
//! (its own callers are answered first), so that the WAL can start over.
//!
//! The invariant that keeps a queued job from being stranded: whoever lets go of the
//! writer looks at the queue afterwards ([`Writer::drain`]), and a caller queues its job
//! before it tries the writer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, TryLockError};

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::{db, lock};
use crate::store::StoreError;

/// What a job hands back once its batch has committed (`Ok`) or failed (`Err`).
type Reply = Box<dyn FnOnce(Result<(), &StoreError>) + Send>;
/// What a job runs: on the writer (or told why it could not); says whether it succeeded
/// (a failed job's writes are undone) and answers once its batch is over.
type Run = Box<dyn FnOnce(Result<&mut Connection, &StoreError>) -> (bool, Reply) + Send>;

/// A queued read or write.
pub(super) struct Job {
    /// Whether it may write (a batch of reads only needs no transaction).
    writes: bool,
    run: Run,
}

/// Rounds one caller runs as combiner before it hands the rest to a new task (so its
/// own answer is not held up behind a steady stream of other writes).
const MAX_ROUNDS: usize = 8;

/// The writer connection and the jobs waiting for it.
pub(super) struct Writer {
    pub(super) conn: Mutex<Connection>,
    pub(super) queue: Mutex<Vec<Job>>,
    /// Set by the checkpointer: finish a checkpoint on this connection after the next
    /// batch (see [`super::checkpoint`]).
    checkpoint_due: AtomicBool,
}

impl Writer {
    pub(super) fn new(conn: Connection) -> Self {
        Self {
            conn: Mutex::new(conn),
            queue: Mutex::new(Vec::new()),
            checkpoint_due: AtomicBool::new(false),
        }
    }

    /// Asks whoever next holds the connection to finish a checkpoint after its batch.
    pub(super) fn request_checkpoint(&self) {
        self.checkpoint_due.store(true, Ordering::Release);
    }

    /// Whether a checkpoint was asked for and not yet run.
    #[cfg(test)]
    pub(super) fn checkpoint_requested(&self) -> bool {
        self.checkpoint_due.load(Ordering::Acquire)
    }

    /// Runs `f` (a write when `writes`): at once on this thread when the connection is
    /// free, else in the batch of whoever holds it. `f` owns what it uses: it may run on
    /// another caller's thread.
    pub(super) async fn call<T, F>(self: &Arc<Self>, writes: bool, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let answer = self.enqueue(writes, f);
        self.drain();
        answer.await.unwrap_or_else(|_| {
            Err(StoreError::Database(
                "the SQLite connection dropped this call (another call in its batch panicked)"
                    .into(),
            ))
        })
    }

    /// Runs the queued jobs if the connection is free, until none are left. Checks the
    /// queue again after letting go of the connection, so a job queued by a caller that
    /// found it busy is never stranded.
    pub(super) fn drain(self: &Arc<Self>) {
        for _ in 0..MAX_ROUNDS {
            let mut conn = match self.conn.try_lock() {
                Ok(conn) => conn,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                // Its holder looks at the queue when it lets go.
                Err(TryLockError::WouldBlock) => return,
            };
            let jobs = std::mem::take(&mut *lock(&self.queue));
            if !jobs.is_empty() {
                run_batch(&mut conn, jobs);
            }
            if self.checkpoint_due.swap(false, Ordering::AcqRel) {
                finish_checkpoint(&conn);
            }
            drop(conn);
            if lock(&self.queue).is_empty() {
                return;
            }
        }
        // A steady stream of calls: let a new task combine them, so that this caller's
        // own answer is not held up.
        let me = Arc::clone(self);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(async move { me.drain() })),
            Err(_) => me.drain(),
        }
    }

    /// Queues `f` (a write when `writes`) and answers a receiver for its result.
    fn enqueue<T, F>(&self, writes: bool, f: F) -> oneshot::Receiver<Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let run: Run = Box::new(move |conn| {
            let result = match conn {
                Ok(conn) => f(conn),
                Err(e) => Err(copy(e)),
            };
            let ok = result.is_ok();
            let reply: Reply = Box::new(move |batch: Result<(), &StoreError>| {
                // The caller may have gone (request cancelled): nobody to tell.
                let _ = tx.send(match batch {
                    Ok(()) => result,
                    Err(e) => Err(copy(e)),
                });
            });
            (ok, reply)
        });
        lock(&self.queue).push(Job { writes, run });
        rx
    }
}

/// Runs `jobs` in one transaction on `conn` and answers each.
fn run_batch(conn: &mut Connection, jobs: Vec<Job>) {
    // A job that panicked mid-batch left its transaction open: end it first.
    if !conn.is_autocommit() {
        let _ = step(conn, "ROLLBACK");
    }
    if !jobs.iter().any(|j| j.writes) {
        // Reads only: each on its own (autocommit); a read has nothing to undo.
        for job in jobs {
            (job.run)(Ok(&mut *conn)).1(Ok(()));
        }
        return;
    }
    if let Err(e) = step(conn, "BEGIN IMMEDIATE") {
        for job in jobs {
            (job.run)(Err(&e)).1(Err(&e));
        }
        return;
    }
    let mut replies = Vec::with_capacity(jobs.len());
    let outcome = if jobs.len() == 1 {
        // One job: the transaction is its savepoint.
        let job = jobs.into_iter().next().expect("one job");
        let (ok, reply) = (job.run)(Ok(&mut *conn));
        replies.push(reply);
        if conn.is_autocommit() {
            Err(rolled_back())
        } else if ok {
            step(conn, "COMMIT")
        } else {
            step(conn, "ROLLBACK")
        }
    } else {
        run_jobs(conn, jobs, &mut replies).and_then(|()| step(conn, "COMMIT"))
    };
    if outcome.is_err() && !conn.is_autocommit() {
        let _ = step(conn, "ROLLBACK");
    }
    let outcome = outcome.as_ref().copied();
    for reply in replies {
        reply(outcome);
    }
}

/// Copies what the WAL holds beyond the checkpointer's last pass into the database (no
/// write can start meanwhile, so it catches up): the next commit starts the WAL over.
fn finish_checkpoint(conn: &Connection) {
    if !conn.is_autocommit() {
        return;
    }
    if let Err(e) = super::checkpoint::passive(conn) {
        tracing::warn!(error = %e, "finishing a WAL checkpoint failed");
    }
}

/// Runs several jobs in the open transaction, each in a savepoint undone if it fails.
fn run_jobs(
    conn: &mut Connection,
    jobs: Vec<Job>,
    replies: &mut Vec<Reply>,
) -> Result<(), StoreError> {
    let mut jobs = jobs.into_iter();
    while let Some(job) = jobs.next() {
        if let Err(e) = step(conn, "SAVEPOINT job") {
            replies.push((job.run)(Err(&e)).1);
            replies.extend(jobs.map(|j| (j.run)(Err(&e)).1));
            return Err(e);
        }
        let (ok, reply) = (job.run)(Ok(&mut *conn));
        replies.push(reply);
        if conn.is_autocommit() {
            let e = rolled_back();
            replies.extend(jobs.map(|j| (j.run)(Err(&e)).1));
            return Err(e);
        }
        let undo = if ok {
            Ok(())
        } else {
            step(conn, "ROLLBACK TO job")
        };
        if let Err(e) = undo.and_then(|()| step(conn, "RELEASE job")) {
            replies.extend(jobs.map(|j| (j.run)(Err(&e)).1));
            return Err(e);
        }
    }
    Ok(())
}

/// SQLite itself ended the transaction (disk full, I/O error…): nothing in it was kept.
fn rolled_back() -> StoreError {
    StoreError::Database("SQLite rolled the write transaction back".into())
}

/// Runs one cached statement without parameters.
fn step(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute([]))
        .map(drop)
        .map_err(db)
}

/// The error a batch's failure gives each of its jobs (`StoreError` is not `Clone`).
fn copy(e: &StoreError) -> StoreError {
    match e {
        StoreError::NotFound => StoreError::NotFound,
        StoreError::Conflict => StoreError::Conflict,
        StoreError::Unavailable(e) => StoreError::Unavailable(e.to_string().into()),
        StoreError::Corrupt(s) => StoreError::Corrupt(s.clone()),
        other => StoreError::Database(other.to_string().into()),
    }
}
