//! A map split into mutex shards, each key in the shard its hash picks: spreads
//! contention between unrelated keys. The notifier's registries and its known
//! challenges are kept in these.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Mutex shards per map.
const SHARDS: u64 = 64;

/// `K → V` in [`SHARDS`] mutex-guarded maps.
pub(super) struct Sharded<K, V> {
    shards: Box<[Mutex<HashMap<K, V>>]>,
    hasher: RandomState,
}

impl<K, V> Default for Sharded<K, V> {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
        }
    }
}

impl<K: Hash + Eq, V> Sharded<K, V> {
    /// The shard that holds `key`, locked.
    pub(super) fn shard(&self, key: &K) -> MutexGuard<'_, HashMap<K, V>> {
        let index = usize::try_from(self.hasher.hash_one(key) % SHARDS).unwrap_or_default();
        lock(&self.shards[index])
    }

    /// Runs `f` on each shard in turn, locked; answers the sum of what it answered.
    pub(super) fn each_shard(&self, mut f: impl FnMut(&mut HashMap<K, V>) -> usize) -> usize {
        self.shards.iter().map(|shard| f(&mut lock(shard))).sum()
    }
}

/// Every update leaves a shard consistent, so a poisoned lock is still usable.
fn lock<K, V>(shard: &Mutex<HashMap<K, V>>) -> MutexGuard<'_, HashMap<K, V>> {
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Gives memory back after a burst of entries has gone.
pub(super) fn shrink<K: Hash + Eq, V>(map: &mut HashMap<K, V>) {
    if map.capacity() > 64 && map.len() * 8 < map.capacity() {
        map.shrink_to(map.len() * 2);
    }
}
