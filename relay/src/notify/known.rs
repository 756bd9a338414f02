//! The challenges this relay made, as it last knew them: a bank's long-poll on one waits
//! without reading the store first, and one on a challenge this relay has just ended is
//! answered at once.
//!
//! An entry goes in *before* its challenge is stored (so an end heard of a moment after
//! the commit always finds it). A change that ends the challenge replaces it with the
//! record as ended, if this relay ended it, and takes it out if another relay did (heard
//! over the same feed that wakes the long-polls, which carries no record); an ended one is
//! kept [`KEEP_ENDED`] seconds. All of them go when that feed may have missed changes. So
//! a pending entry is never more out of date than the waiters themselves: a long-poll
//! that trusts it is woken by the same change that would have replaced it. An ended one
//! cannot go out of date: an end is final.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use onepush_protocol::ChallengeId;

use crate::store::ChallengeRecord;

/// Mutex shards: spreads contention between unrelated challenges.
const SHARDS: u64 = 64;

/// Most entries held (≈ 0.5 KB each). Past it, the overdue and the ended ones are
/// dropped, and then a new challenge is not remembered (its long-polls read the store,
/// as they would anyway).
pub const CAPACITY: usize = 200_000;

/// Seconds an ended challenge is kept after it ended (a bank's long-poll comes right
/// after its create, so it is either waiting by then or arrives within a moment).
pub const KEEP_ENDED: i64 = 10;

/// One shard: challenge → the record as this relay last knew it.
type Shard = Mutex<HashMap<ChallengeId, Arc<ChallengeRecord>>>;

/// The challenges made here, as this relay last knew them.
pub(super) struct KnownChallenges {
    shards: Box<[Shard]>,
    hasher: RandomState,
    len: AtomicUsize,
    /// When (Unix seconds) the ended ones were last dropped.
    pruned_at: AtomicI64,
}

impl Default for KnownChallenges {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
            len: AtomicUsize::new(0),
            pruned_at: AtomicI64::new(0),
        }
    }
}

impl KnownChallenges {
    fn shard(
        &self,
        id: &ChallengeId,
    ) -> MutexGuard<'_, HashMap<ChallengeId, Arc<ChallengeRecord>>> {
        let index = usize::try_from(self.hasher.hash_one(id) % SHARDS).unwrap_or_default();
        // Every update leaves the map consistent, so a poisoned lock is still usable.
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Remembers `record` (pending, about to be stored); `now` (Unix seconds) decides
    /// which entries are old enough to drop: the ended ones every [`KEEP_ENDED`] seconds,
    /// and the overdue ones too when the map is full.
    pub(super) fn insert(&self, record: Arc<ChallengeRecord>, now: i64) {
        let ended_before = now - KEEP_ENDED;
        if self.pruned_at.load(Ordering::Relaxed) <= ended_before {
            self.pruned_at.store(now, Ordering::Relaxed);
            self.retain(|ch| ch.decided_at.is_none_or(|at| at > ended_before));
        }
        if self.len.load(Ordering::Relaxed) >= CAPACITY {
            self.retain(|ch| ch.decided_at.is_none() && ch.expires_at > now);
            if self.len.load(Ordering::Relaxed) >= CAPACITY {
                return;
            }
        }
        if self.shard(&record.id).insert(record.id, record).is_none() {
            self.len.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The record of `id`, if remembered.
    pub(super) fn get(&self, id: &ChallengeId) -> Option<Arc<ChallengeRecord>> {
        self.shard(id).get(id).cloned()
    }

    /// `id` ended: kept as `ended` if remembered and this relay ended it (`ended` is the
    /// record as stored), forgotten otherwise.
    pub(super) fn end(&self, id: &ChallengeId, ended: Option<&Arc<ChallengeRecord>>) {
        let mut shard = self.shard(id);
        match (shard.get_mut(id), ended) {
            (Some(entry), Some(ended)) => *entry = ended.clone(),
            (Some(_), None) => {
                shard.remove(id);
                self.len.fetch_sub(1, Ordering::Relaxed);
            }
            (None, _) => {}
        }
    }

    /// Forgets `id` (it was never stored).
    pub(super) fn remove(&self, id: &ChallengeId) {
        if self.shard(id).remove(id).is_some() {
            self.len.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Forgets every challenge `keep` refuses (all of them: `|_| false`).
    pub(super) fn retain(&self, mut keep: impl FnMut(&ChallengeRecord) -> bool) {
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            let before = shard.len();
            shard.retain(|_, ch| keep(ch));
            self.len.fetch_sub(before - shard.len(), Ordering::Relaxed);
            super::shrink(&mut shard);
        }
    }

    /// How many are remembered.
    pub(super) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }
}
