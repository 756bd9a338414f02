//! [`PgNotifier`]: wake-ups across several relays sharing one PostgreSQL database, over
//! `LISTEN`/`NOTIFY` (no polling of the tables).
//!
//! `publish` wakes this relay's own waiters and event streams at once (an
//! [`InProcessNotifier`] inside) and queues a `NOTIFY onepush_challenges` with the change;
//! a sender task sends the queue in batches (`pg_notify` over `unnest`, one round trip).
//! A listener task, on a connection of its own, feeds every change from *another* relay
//! (each relay tags its messages with a random node ID) to the inner notifier.
//!
//! `NOTIFY` is not durable: a relay whose `LISTEN` connection drops misses what was sent
//! meanwhile. So once it listens again it releases every waiting long-poll (they read the
//! store again and go on waiting) and ends every event stream (apps reconnect and list
//! their pending challenges): nothing waits on a change it will never hear of.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use onepush_protocol::{ChallengeId, ChallengeStatus, CredentialId};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};

use crate::store::plan::{Mode, Runner as _};
use crate::store::postgres::PgStore;
use crate::store::{ChallengeRecord, StoreError};
use tokio::sync::mpsc;

use super::{ChallengeChange, ChallengeWaiter, CredentialStream, InProcessNotifier, Notifier};
use crate::shutdown::Shutdown;

/// The `LISTEN`/`NOTIFY` channel.
pub const CHANNEL: &str = "onepush_challenges";

/// The `application_name` of the listening connection (seen in `pg_stat_activity`).
pub const LISTENER_APPLICATION_NAME: &str = "onepush-relay-listener";

/// Wait before connecting the listener again after a failure.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Most changes sent in one `pg_notify` statement.
const SEND_BATCH: usize = 256;

/// How long the sender waits for more changes to send with the first of a batch: other
/// relays hear of a change up to this much later (the `NOTIFY` → `LISTEN` hop itself
/// takes a few milliseconds), and a busy relay sends one statement for many changes
/// instead of one for each or two. This relay's own waiters and streams never wait for it.
const SEND_LINGER: Duration = Duration::from_millis(1);

/// Sends a batch: `$1` the channel, `$2` the payloads. Its transaction commits without
/// waiting for the WAL flush (`synchronous_commit` off for it alone): a `NOTIFY` is not
/// kept across a crash anyway, and the flush would cost a disk write per batch.
const SEND: &str = "WITH asynchronous AS (SELECT set_config('synchronous_commit', 'off', true)) \
     SELECT pg_notify($1, payload) FROM asynchronous, unnest($2::text[]) AS payload";

/// Tries per batch before it is dropped (its waiters then wake at their timeouts).
const SEND_TRIES: u32 = 3;

/// One change on the wire (the `NOTIFY` payload, JSON, ~150 bytes of the 8000 allowed).
/// `node` comes first, so a relay knows its own messages by their start ([`own_prefix`]).
#[derive(Debug, Serialize, Deserialize)]
struct Message {
    /// The relay that published it.
    node: String,
    challenge: ChallengeId,
    credential: CredentialId,
    status: ChallengeStatus,
}

/// How every message `node` sends starts: `LISTEN` hands a relay its own messages too, and
/// it skips them (delivered locally when published) without parsing them.
fn own_prefix(node: &str) -> String {
    format!(r#"{{"node":"{node}""#)
}

/// The notifier of a relay that shares its PostgreSQL database with other relays.
#[derive(Clone)]
pub struct PgNotifier {
    local: InProcessNotifier,
    node: Arc<str>,
    /// [`own_prefix`] of `node`.
    own: Arc<str>,
    outgoing: mpsc::UnboundedSender<String>,
    resyncs: Arc<AtomicU64>,
}

impl std::fmt::Debug for PgNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgNotifier")
            .field("node", &self.node)
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl PgNotifier {
    /// Starts listening (on a connection of its own, with `pool`'s options) before it
    /// returns, so no change published after that is missed; runs until `shutdown`.
    pub async fn start(store: PgStore, shutdown: Shutdown) -> Result<Self, sqlx::Error> {
        let options = store
            .connect_options()
            .clone()
            .application_name(LISTENER_APPLICATION_NAME);
        let listen_pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_lazy_with(options);
        let listener = listen(&listen_pool).await?;
        let mut node = [0u8; 12];
        onepush_protocol::keys::fill_random(&mut node);
        let (outgoing, queue) = mpsc::unbounded_channel();
        let node = data_encoding::HEXLOWER.encode(&node);
        let this = Self {
            local: InProcessNotifier::new(),
            own: own_prefix(&node).into(),
            node: node.into(),
            outgoing,
            resyncs: Arc::new(AtomicU64::new(0)),
        };
        tokio::spawn(
            this.clone()
                .run_listener(listen_pool, listener, shutdown.clone()),
        );
        tokio::spawn(send_changes(store, queue, shutdown));
        Ok(this)
    }

    /// The in-process part (its waiter and subscriber counts are this relay's).
    pub fn local(&self) -> &InProcessNotifier {
        &self.local
    }

    /// How many times the listener connected again after losing its connection (each
    /// time, waiters were released and event streams ended).
    pub fn resyncs(&self) -> u64 {
        self.resyncs.load(Ordering::Relaxed)
    }

    async fn run_listener(self, pool: PgPool, listener: PgListener, shutdown: Shutdown) {
        let mut listener = Some(listener);
        loop {
            let Some(active) = listener.as_mut() else {
                tokio::select! {
                    () = shutdown.wait() => return,
                    connected = listen(&pool) => match connected {
                        Ok(l) => {
                            listener = Some(l);
                            self.resync();
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot LISTEN; retrying");
                            tokio::select! {
                                () = shutdown.wait() => return,
                                () = tokio::time::sleep(RECONNECT_DELAY) => {}
                            }
                        }
                    },
                }
                continue;
            };
            let received = tokio::select! {
                () = shutdown.wait() => return,
                received = active.try_recv() => received,
            };
            match received {
                Ok(Some(notification)) => self.deliver(notification.payload()),
                // The connection dropped and sqlx connected and listened again.
                Ok(None) => self.resync(),
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN connection failed; reconnecting");
                    listener = None;
                }
            }
        }
    }

    /// Feeds a change from another relay to this relay's waiters and streams.
    fn deliver(&self, payload: &str) {
        if payload.starts_with(&*self.own) {
            return; // ours: delivered locally when published
        }
        match serde_json::from_str::<Message>(payload) {
            Ok(m) => self.local.publish(ChallengeChange {
                challenge_id: m.challenge,
                credential_id: m.credential,
                status: m.status,
                record: None,
            }),
            Err(e) => tracing::warn!(error = %e, "ignoring a malformed change notification"),
        }
    }

    /// After a gap in the feed: every waiter reads the store again, every stream reconnects.
    fn resync(&self) {
        self.resyncs.fetch_add(1, Ordering::Relaxed);
        tracing::info!("listening again; releasing waiters and event streams to resync");
        self.local.release_all_waiters();
        self.local.end_all_streams();
    }
}

impl Notifier for PgNotifier {
    fn publish(&self, change: ChallengeChange) {
        let message = Message {
            node: self.node.to_string(),
            challenge: change.challenge_id,
            credential: change.credential_id.clone(),
            status: change.status,
        };
        let payload = serde_json::to_string(&message).expect("changes serialise");
        // Fails only once the sender task stopped (shutdown): nobody is left to tell.
        let _ = self.outgoing.send(payload);
        self.local.publish(change);
    }

    fn wait_for(&self, challenge: ChallengeId) -> ChallengeWaiter {
        self.local.wait_for(challenge)
    }

    fn subscribe_credential(&self, credential: &CredentialId) -> CredentialStream {
        self.local.subscribe_credential(credential)
    }

    /// Whether the credential has an event stream open *on this relay*. (A stream on
    /// another relay still gets the challenge through `NOTIFY`, and marks it as having
    /// reached the device when it forwards it.)
    fn is_connected(&self, credential: &CredentialId) -> bool {
        self.local.is_connected(credential)
    }

    fn expect(&self, record: Arc<ChallengeRecord>, now: i64) {
        self.local.expect(record, now);
    }

    fn forget(&self, challenge: &ChallengeId) {
        self.local.forget(challenge);
    }

    /// Known *on this relay*: another relay's end is heard over `LISTEN` (and forgets the
    /// challenge here), and a gap in that feed forgets them all (see [`PgNotifier`]).
    fn known(&self, challenge: &ChallengeId) -> Option<Arc<ChallengeRecord>> {
        self.local.known(challenge)
    }
}

/// A listener on [`CHANNEL`].
async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Sends queued changes, a batch per statement, until shutdown (then what is queued).
async fn send_changes(
    store: PgStore,
    mut queue: mpsc::UnboundedReceiver<String>,
    shutdown: Shutdown,
) {
    let mut batch = Vec::with_capacity(SEND_BATCH);
    loop {
        let stopping = tokio::select! {
            () = shutdown.wait() => true,
            n = queue.recv_many(&mut batch, SEND_BATCH) => n == 0,
        };
        if stopping {
            while let Ok(payload) = queue.try_recv() {
                batch.push(payload);
            }
            if !batch.is_empty() {
                send_batch(&store, &batch).await;
            }
            return;
        }
        let more = async {
            loop {
                let room = SEND_BATCH - batch.len();
                if room == 0 || queue.recv_many(&mut batch, room).await == 0 {
                    break;
                }
            }
        };
        // Past the linger, what came is sent; the rest waits for the next batch
        // (`recv_many` is cancel safe).
        let _ = tokio::time::timeout(SEND_LINGER, more).await;
        send_batch(&store, &batch).await;
        batch.clear();
    }
}

async fn send_batch(store: &PgStore, batch: &[String]) {
    for attempt in 0..SEND_TRIES {
        let payloads = batch.to_vec();
        let sent = store
            .run(Mode::Write, move |c| {
                Box::pin(async move {
                    sqlx::query(SEND)
                        .bind(CHANNEL)
                        .bind(&payloads)
                        .execute(c)
                        .await
                        .map_err(StoreError::from_sqlx)
                })
            })
            .await;
        match sent {
            Ok(_) => return,
            Err(e) if attempt + 1 < SEND_TRIES => {
                tracing::warn!(error = %e, "cannot NOTIFY; retrying");
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
            Err(e) => {
                tracing::error!(error = %e, changes = batch.len(), "cannot NOTIFY; changes dropped (other relays' waiters wake at their timeouts)");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relays_own_messages_start_with_its_prefix_and_no_other_relays_do() {
        let message = |node: &str| {
            serde_json::to_string(&Message {
                node: node.into(),
                challenge: ChallengeId::new(),
                credential: CredentialId::generate(CredentialId::DEFAULT_PREFIX).unwrap(),
                status: ChallengeStatus::Approved,
            })
            .unwrap()
        };
        let ours = own_prefix("0a1b2c");
        assert!(message("0a1b2c").starts_with(&ours));
        assert!(!message("0a1b2c3d").starts_with(&ours));
        assert!(!message("ffffff").starts_with(&ours));
    }
}
