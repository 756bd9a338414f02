//! Wakes bank long-polls and device event streams when a challenge changes, so neither
//! polls the store.
//!
//! The [`Notifier`] trait is what handlers see. [`InProcessNotifier`] serves one relay
//! process; [`postgres::PgNotifier`] serves several relays on one PostgreSQL database: it
//! keeps an in-process one inside, sends `NOTIFY` from `publish` and feeds each `LISTEN`
//! message from another relay to the inner `publish`.
//!
//! Cost: a waiting long-poll is one entry in a sharded map plus a `oneshot` channel
//! (no task, no timer of its own); a challenge's entry goes when its last waiter does.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, MutexGuard};
use std::task::{Context, Poll};

use futures::Stream;
use onepush_protocol::{ChallengeId, ChallengeStatus, CredentialId};
use tokio::sync::{mpsc, oneshot};

use crate::store::ChallengeRecord;
use sharded::{Sharded, shrink};

/// Changes buffered per event-stream subscriber. One that falls this far behind is
/// disconnected: its stream ends, and the app lists pending challenges when it reconnects.
pub const STREAM_BUFFER: usize = 64;

/// A challenge was created (`status` pending) or reached a final status.
#[derive(Debug, Clone, PartialEq)]
pub struct ChallengeChange {
    /// The challenge.
    pub challenge_id: ChallengeId,
    /// The credential the challenge is addressed to.
    pub credential_id: CredentialId,
    /// Its status now; [`ChallengeStatus::Pending`] announces a new challenge.
    pub status: ChallengeStatus,
    /// The challenge as stored by the change, when this relay made it (a change from
    /// another relay comes without: read the store). Saves the long-poll and the event
    /// stream a read.
    pub record: Option<Arc<ChallengeRecord>>,
}

/// Publishes challenge changes to whoever waits in this process.
pub trait Notifier: Send + Sync + 'static {
    /// Announces a change: wakes the challenge's waiters (unless the status is still
    /// pending) and sends it to the credential's event streams. Call it after the change
    /// is stored.
    fn publish(&self, change: ChallengeChange);

    /// A future that resolves when `challenge` leaves pending. Create it *before* reading
    /// the challenge from the store, then await it with a timeout, so a change between
    /// the read and the wait is not missed. Dropping it unregisters it.
    fn wait_for(&self, challenge: ChallengeId) -> ChallengeWaiter;

    /// The changes of `credential`'s challenges from now on (for `GET /v1/device/events`).
    /// Dropping the stream unsubscribes.
    fn subscribe_credential(&self, credential: &CredentialId) -> CredentialStream;

    /// Whether `credential` has an open event stream (a push the device will also get that
    /// way makes a 404/410 from its push service less final).
    fn is_connected(&self, credential: &CredentialId) -> bool;

    /// Remembers `record`, which this relay is about to store as a new pending challenge
    /// ([`Notifier::known`]). Call it *before* storing, and [`Notifier::forget`] if the
    /// challenge was not stored. `now` (Unix seconds) decides which entries are old
    /// enough to drop.
    fn expect(&self, record: Arc<ChallengeRecord>, now: i64);

    /// Forgets a challenge [`Notifier::expect`] remembered that was not stored.
    fn forget(&self, challenge: &ChallengeId);

    /// The challenge as this relay last knew it, if it made it: pending until this relay
    /// hears of a change that ends it (or loses its feed of changes); ended, as stored,
    /// when this relay ended it, for a few seconds after. A long-poll that registered its
    /// waiter first may wait on a pending one instead of reading the store (the change
    /// that would make the answer out of date wakes the waiter), and answer an ended one
    /// at once.
    fn known(&self, challenge: &ChallengeId) -> Option<Arc<ChallengeRecord>>;
}

/// Waiters and subscribers, kept in this process.
#[derive(Clone, Default)]
pub struct InProcessNotifier {
    hub: Arc<Hub>,
}

#[derive(Default)]
struct Hub {
    waiters: Registry<ChallengeId, oneshot::Sender<ChallengeChange>>,
    subscribers: Registry<CredentialId, mpsc::Sender<ChallengeChange>>,
    known: known::KnownChallenges,
    next_id: AtomicU64,
}

impl InProcessNotifier {
    /// A notifier with nobody waiting.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many long-poll waiters are registered (a metrics gauge).
    pub fn waiter_count(&self) -> usize {
        self.hub.waiters.len()
    }

    /// How many event streams are open (a metrics gauge).
    pub fn subscriber_count(&self) -> usize {
        self.hub.subscribers.len()
    }

    /// How many challenges made here are known (a metrics gauge).
    pub fn known_count(&self) -> usize {
        self.hub.known.len()
    }

    /// Wakes every waiter with `None` ("re-read the store") and forgets the challenges it
    /// knew: for an implementation that lost its feed of changes (e.g. a dropped `LISTEN`
    /// connection) and may have missed some.
    pub fn release_all_waiters(&self) {
        self.hub.known.retain(|_| false);
        self.hub.waiters.clear();
    }

    /// Ends every event stream (their apps reconnect and list pending challenges anew):
    /// for an implementation that may have missed new challenges.
    pub fn end_all_streams(&self) {
        self.hub.subscribers.clear();
    }
}

impl std::fmt::Debug for InProcessNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessNotifier")
            .field("waiters", &self.waiter_count())
            .field("subscribers", &self.subscriber_count())
            .field("known", &self.known_count())
            .finish()
    }
}

impl Notifier for InProcessNotifier {
    fn publish(&self, change: ChallengeChange) {
        if change.status.is_terminal() {
            self.hub
                .known
                .end(&change.challenge_id, change.record.as_ref());
            for waiter in self.hub.waiters.take(&change.challenge_id) {
                // A waiter dropped meanwhile no longer listens: nothing to do.
                let _ = waiter.send(change.clone());
            }
        }
        self.hub.subscribers.retain(&change.credential_id, |subscriber| {
            match subscriber.try_send(change.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Closed(_)) => false,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::info!(credential = %change.credential_id.as_str(), "event stream too slow, disconnected");
                    false
                }
            }
        });
    }

    fn wait_for(&self, challenge: ChallengeId) -> ChallengeWaiter {
        let (sender, receiver) = oneshot::channel();
        let id = self.hub.next_id.fetch_add(1, Ordering::Relaxed);
        self.hub.waiters.insert(challenge, id, sender);
        ChallengeWaiter {
            receiver,
            hub: self.hub.clone(),
            challenge,
            id,
        }
    }

    fn subscribe_credential(&self, credential: &CredentialId) -> CredentialStream {
        let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
        let id = self.hub.next_id.fetch_add(1, Ordering::Relaxed);
        self.hub.subscribers.insert(credential.clone(), id, sender);
        CredentialStream {
            receiver,
            hub: self.hub.clone(),
            credential: credential.clone(),
            id,
        }
    }

    fn is_connected(&self, credential: &CredentialId) -> bool {
        self.hub.subscribers.contains(credential)
    }

    fn expect(&self, record: Arc<ChallengeRecord>, now: i64) {
        self.hub.known.insert(record, now);
    }

    fn forget(&self, challenge: &ChallengeId) {
        self.hub.known.remove(challenge);
    }

    fn known(&self, challenge: &ChallengeId) -> Option<Arc<ChallengeRecord>> {
        self.hub.known.get(challenge)
    }
}

/// Resolves to the change that took the challenge out of pending, or to `None` when the
/// notifier can no longer tell (then read the store). See [`Notifier::wait_for`].
#[must_use = "a waiter does nothing unless awaited"]
pub struct ChallengeWaiter {
    receiver: oneshot::Receiver<ChallengeChange>,
    hub: Arc<Hub>,
    challenge: ChallengeId,
    id: u64,
}

impl Future for ChallengeWaiter {
    type Output = Option<ChallengeChange>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.get_mut().receiver)
            .poll(cx)
            .map(Result::ok)
    }
}

impl Drop for ChallengeWaiter {
    fn drop(&mut self) {
        self.hub.waiters.remove(&self.challenge, self.id);
    }
}

impl std::fmt::Debug for ChallengeWaiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChallengeWaiter")
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

/// The changes of one credential's challenges. See [`Notifier::subscribe_credential`].
/// Ends if the subscriber falls [`STREAM_BUFFER`] changes behind.
pub struct CredentialStream {
    receiver: mpsc::Receiver<ChallengeChange>,
    hub: Arc<Hub>,
    credential: CredentialId,
    id: u64,
}

impl Stream for CredentialStream {
    type Item = ChallengeChange;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().receiver.poll_recv(cx)
    }
}

impl Drop for CredentialStream {
    fn drop(&mut self) {
        self.hub.subscribers.remove(&self.credential, self.id);
    }
}

impl std::fmt::Debug for CredentialStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialStream")
            .field("credential", &self.credential.as_str())
            .finish_non_exhaustive()
    }
}

/// A sharded multimap `K → [(registration id, T)]`; a key is present only while it has
/// registrations.
struct Registry<K, T> {
    map: Sharded<K, Vec<(u64, T)>>,
}

impl<K, T> Default for Registry<K, T> {
    fn default() -> Self {
        Self {
            map: Sharded::default(),
        }
    }
}

impl<K: Hash + Eq, T> Registry<K, T> {
    fn shard(&self, key: &K) -> MutexGuard<'_, HashMap<K, Vec<(u64, T)>>> {
        self.map.shard(key)
    }

    fn insert(&self, key: K, id: u64, item: T) {
        self.shard(&key).entry(key).or_default().push((id, item));
    }

    fn remove(&self, key: &K, id: u64) {
        let mut shard = self.shard(key);
        if let Some(items) = shard.get_mut(key) {
            items.retain(|(item_id, _)| *item_id != id);
            if items.is_empty() {
                shard.remove(key);
                shrink(&mut shard);
            }
        }
    }

    fn take(&self, key: &K) -> Vec<T> {
        let mut shard = self.shard(key);
        let items = shard.remove(key).unwrap_or_default();
        shrink(&mut shard);
        items.into_iter().map(|(_, item)| item).collect()
    }

    fn retain(&self, key: &K, mut keep: impl FnMut(&T) -> bool) {
        let mut shard = self.shard(key);
        if let Some(items) = shard.get_mut(key) {
            items.retain(|(_, item)| keep(item));
            if items.is_empty() {
                shard.remove(key);
            }
        }
    }

    fn contains(&self, key: &K) -> bool {
        self.shard(key).contains_key(key)
    }

    fn len(&self) -> usize {
        self.each_shard(|shard| shard.values().map(Vec::len).sum())
    }

    #[cfg(test)]
    fn keys(&self) -> usize {
        self.each_shard(|shard| shard.len())
    }

    fn clear(&self) {
        self.each_shard(|shard| {
            shard.clear();
            shrink(shard);
            0
        });
    }

    fn each_shard(&self, f: impl FnMut(&mut HashMap<K, Vec<(u64, T)>>) -> usize) -> usize {
        self.map.each_shard(f)
    }
}

mod known;
pub mod postgres;
mod sharded;
#[cfg(test)]
mod tests;
