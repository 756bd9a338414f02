//! The challenges this relay is making or made that no change it has heard of has ended:
//! a bank's long-poll on one of them waits without reading the store first.
//!
//! An entry goes in *before* its challenge is stored (so an end heard of a moment after
//! the commit always finds it to take out), goes when a change ends the challenge (this
//! relay's or another's, heard over the same feed that wakes the long-polls), and all of
//! them go when that feed may have missed changes. So the map is never more out of date
//! than the waiters themselves: a long-poll that trusts it is woken by the same change
//! that would have taken the entry out.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use onepush_protocol::ChallengeId;

use crate::store::ChallengeRecord;

/// Mutex shards: spreads contention between unrelated challenges.
const SHARDS: u64 = 64;

/// Most entries held (≈ 0.5 KB each). Past it, the overdue ones are dropped, and then a
/// new challenge is not remembered (its long-polls read the store, as they would anyway).
pub const CAPACITY: usize = 200_000;

/// One shard: challenge → the record as this relay made it.
type Shard = Mutex<HashMap<ChallengeId, Arc<ChallengeRecord>>>;

/// The challenges made here, while pending as far as this relay knows.
pub(super) struct KnownPending {
    shards: Box<[Shard]>,
    hasher: RandomState,
    len: AtomicUsize,
}

impl Default for KnownPending {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
            len: AtomicUsize::new(0),
        }
    }
}

impl KnownPending {
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
    /// which entries are overdue when the map is full.
    pub(super) fn insert(&self, record: Arc<ChallengeRecord>, now: i64) {
        if self.len.load(Ordering::Relaxed) >= CAPACITY {
            self.retain(|ch| ch.expires_at > now);
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

    /// Forgets `id` (it ended, or was never stored).
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
