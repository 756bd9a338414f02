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

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use onepush_protocol::ChallengeId;

use super::sharded::{Sharded, shrink};
use crate::store::ChallengeRecord;

/// Most entries held (≈ 0.5 KB each). Past it, the overdue and the ended ones are
/// dropped, and then a new challenge is not remembered (its long-polls read the store,
/// as they would anyway).
pub const CAPACITY: usize = 200_000;

/// Seconds an ended challenge is kept after it ended (a bank's long-poll comes right
/// after its create, so it is either waiting by then or arrives within a moment).
pub const KEEP_ENDED: i64 = 10;

/// The challenges made here, as this relay last knew them.
#[derive(Default)]
pub(super) struct KnownChallenges {
    map: Sharded<ChallengeId, Arc<ChallengeRecord>>,
    len: AtomicUsize,
    /// When (Unix seconds) the ended ones were last dropped.
    pruned_at: AtomicI64,
}

impl KnownChallenges {
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
        if self
            .map
            .shard(&record.id)
            .insert(record.id, record)
            .is_none()
        {
            self.len.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The record of `id`, if remembered.
    pub(super) fn get(&self, id: &ChallengeId) -> Option<Arc<ChallengeRecord>> {
        self.map.shard(id).get(id).cloned()
    }

    /// `id` ended: kept as `ended` if remembered and this relay ended it (`ended` is the
    /// record as stored), forgotten otherwise.
    pub(super) fn end(&self, id: &ChallengeId, ended: Option<&Arc<ChallengeRecord>>) {
        let mut shard = self.map.shard(id);
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
        if self.map.shard(id).remove(id).is_some() {
            self.len.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Forgets every challenge `keep` refuses (all of them: `|_| false`).
    pub(super) fn retain(&self, mut keep: impl FnMut(&ChallengeRecord) -> bool) {
        let removed = self.map.each_shard(|shard| {
            let before = shard.len();
            shard.retain(|_, ch| keep(ch));
            let removed = before - shard.len();
            shrink(shard);
            removed
        });
        self.len.fetch_sub(removed, Ordering::Relaxed);
    }

    /// How many are remembered.
    pub(super) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }
}
