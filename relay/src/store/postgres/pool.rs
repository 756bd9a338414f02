//! The relay's PostgreSQL connections: a pool in which taking and giving back a
//! connection costs no round trip to the server.
//!
//! sqlx's own pool sends a `Sync` and waits for the server's answer both when it hands a
//! connection out (`test_before_acquire`) and when it takes it back (always): two round
//! trips per store method, more than most methods' own statements. Here a connection is
//! checked only when there is a reason to doubt it:
//! - a method that did not finish (its future was dropped, e.g. its request was cancelled)
//!   or whose database failed leaves its connection *unsettled*: it is closed at once,
//!   never reused, so no half-read answer reaches the next method and no open transaction
//!   keeps its locks;
//! - a connection idle for longer than [`IDLE_CHECK`] is pinged before it is reused (a
//!   server restart or a dropped TCP connection shows there, not in a request);
//! - one older than [`MAX_LIFETIME`] is replaced (server-side memory, DNS changes).
//!
//! A connection that dies while in use fails that method with `Unavailable`, and is
//! then closed; the next method gets a working one.

use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection as _, Postgres, Transaction};

use crate::store::StoreError;
use crate::store::plan::Body;

/// A connection idle longer than this is pinged before it is used again.
pub const IDLE_CHECK: Duration = Duration::from_secs(30);

/// A connection older than this is closed when it comes back (sqlx's default lifetime).
pub const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// One server connection and whether the last method on it settled.
#[derive(Debug)]
pub struct Session {
    raw: PgConnection,
    settled: bool,
}

/// Opens connections with the relay's options; checks them as the module says.
#[derive(Debug)]
pub struct Manager {
    options: PgConnectOptions,
}

impl managed::Manager for Manager {
    type Type = Session;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<Session, sqlx::Error> {
        let raw = PgConnection::connect_with(&self.options).await?;
        Ok(Session { raw, settled: true })
    }

    async fn recycle(&self, s: &mut Session, metrics: &Metrics) -> RecycleResult<sqlx::Error> {
        if metrics.age() > MAX_LIFETIME {
            return Err(RecycleError::message("older than its lifetime"));
        }
        if metrics.last_used() > IDLE_CHECK {
            s.raw.ping().await.map_err(RecycleError::Backend)?;
        }
        Ok(())
    }
}

/// The pool (cheap to clone: one `Arc`).
#[derive(Debug, Clone)]
pub struct Pool(managed::Pool<Manager>);

/// A connection taken from the pool, given back when dropped.
type Pooled = managed::Object<Manager>;

impl Pool {
    /// A pool of at most `max` connections to `options`; `wait` bounds both waiting for a
    /// free connection and opening one. Connects lazily.
    pub fn new(options: PgConnectOptions, max: usize, wait: Duration) -> Result<Self, StoreError> {
        let pool = managed::Pool::builder(Manager { options })
            .max_size(max)
            .wait_timeout(Some(wait))
            .create_timeout(Some(wait))
            .recycle_timeout(Some(wait))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Database(Box::new(e)))?;
        Ok(Self(pool))
    }

    /// The connection options every connection is opened with.
    pub fn options(&self) -> &PgConnectOptions {
        &self.0.manager().options
    }

    /// Takes a connection (waits for one, or opens one).
    async fn get(&self) -> Result<Pooled, StoreError> {
        self.0.get().await.map_err(|e| match e {
            managed::PoolError::Backend(e) => StoreError::from_sqlx(e),
            other => StoreError::Unavailable(Box::new(other)),
        })
    }

    /// Runs `body` on one connection, in a transaction if `transaction` (committed when it
    /// answers `Ok`, rolled back otherwise); the connection is reused only if the method
    /// settled (see the module).
    pub async fn run<T, F>(&self, transaction: bool, body: F) -> Result<T, StoreError>
    where
        F: for<'c> FnOnce(&'c mut PgConnection) -> Body<'c, T>,
    {
        let mut checkout = Checkout(Some(self.get().await?));
        let session = checkout.session();
        session.settled = false;
        let out = if transaction {
            in_transaction(&mut session.raw, body).await
        } else {
            body(&mut session.raw).await
        };
        session.settled = !matches!(
            out,
            Err(StoreError::Unavailable(_) | StoreError::Database(_))
        );
        out
    }

    /// Closes every idle connection (politely: the server sees a `Terminate`) and refuses
    /// new takers; connections in use are closed when they come back.
    pub async fn close(&self) {
        let idle = self.0.retain(|_, _| false).removed;
        self.0.close();
        for session in idle {
            let _ = session.raw.close().await;
        }
    }
}

/// A taken connection: given back when dropped if its method settled, else closed at
/// once (so the server ends whatever it had open, its locks with it).
struct Checkout(Option<Pooled>);

impl Checkout {
    fn session(&mut self) -> &mut Session {
        self.0.as_mut().expect("taken until dropped")
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        if let Some(pooled) = self.0.take()
            && !pooled.settled
        {
            drop(managed::Object::take(pooled));
        }
    }
}

async fn in_transaction<T, F>(raw: &mut PgConnection, body: F) -> Result<T, StoreError>
where
    F: for<'c> FnOnce(&'c mut PgConnection) -> Body<'c, T>,
{
    let mut tx: Transaction<'_, Postgres> = raw.begin().await.map_err(StoreError::from_sqlx)?;
    match body(&mut tx).await {
        Ok(out) => {
            tx.commit().await.map_err(StoreError::from_sqlx)?;
            Ok(out)
        }
        // Rolled back now, not ahead of the connection's next statement (which is what
        // dropping `tx` would do): an idle connection must not hold the transaction's locks.
        Err(e) => match tx.rollback().await {
            Ok(()) => Err(e),
            Err(lost) => Err(StoreError::from_sqlx(lost)),
        },
    }
}
