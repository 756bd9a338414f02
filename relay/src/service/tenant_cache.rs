//! Tenants, kept for a moment: every bank request authenticates its API key, and every
//! decision names its tenant (display name, webhook), while tenants change rarely (a key
//! rotation, a push-fatigue setting): the hot path must not read the store for them.
//!
//! An entry lives [`TTL`]. Changes made through this relay's [`Service`](super::Service)
//! drop the whole cache at once; a change made by another process (the `tenant` CLI on
//! the same file, another relay on the same PostgreSQL) is seen within [`TTL`] — so a
//! rotated key keeps working for at most that long on other relays. Only hits are kept
//! (an unknown key is looked up every time), so the cache holds at most one entry per
//! tenant and key.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use onepush_protocol::TenantId;

use crate::store::TenantRecord;

/// How long a tenant read from the store is used without reading it again.
pub const TTL: Duration = Duration::from_secs(1);

/// Tenants by API-key hash and by ID.
#[derive(Debug, Default)]
pub(crate) struct TenantCache {
    by_key: Map<[u8; 32]>,
    by_id: Map<TenantId>,
}

type Map<K> = RwLock<HashMap<K, (TenantRecord, Instant)>>;

impl TenantCache {
    /// The tenant whose API key hashes to `hash`, if read less than [`TTL`] ago.
    pub(crate) fn by_key(&self, hash: &[u8; 32]) -> Option<TenantRecord> {
        fresh(&self.by_key, hash)
    }

    /// The tenant `id`, if read less than [`TTL`] ago.
    pub(crate) fn by_id(&self, id: &TenantId) -> Option<TenantRecord> {
        fresh(&self.by_id, id)
    }

    /// Keeps `tenant`, just read from the store (under its key hash when known).
    pub(crate) fn keep(&self, tenant: &TenantRecord, key_hash: Option<[u8; 32]>) {
        let now = Instant::now();
        if let Some(hash) = key_hash {
            put(&self.by_key, hash, tenant, now);
        }
        put(&self.by_id, tenant.id.clone(), tenant, now);
    }

    /// Forgets everything (a tenant changed).
    pub(crate) fn clear(&self) {
        write(&self.by_key).clear();
        write(&self.by_id).clear();
    }
}

fn fresh<K: Eq + Hash>(map: &Map<K>, key: &K) -> Option<TenantRecord> {
    let map = map.read().unwrap_or_else(PoisonError::into_inner);
    map.get(key)
        .filter(|(_, at)| at.elapsed() < TTL)
        .map(|(t, _)| t.clone())
}

fn put<K: Eq + Hash>(map: &Map<K>, key: K, tenant: &TenantRecord, now: Instant) {
    let mut map = write(map);
    // Drop stale entries now and then (rotated keys), so the map cannot grow.
    if map.len() >= 64 {
        map.retain(|_, (_, at)| at.elapsed() < TTL);
    }
    map.insert(key, (tenant.clone(), now));
}

fn write<K>(map: &Map<K>) -> std::sync::RwLockWriteGuard<'_, HashMap<K, (TenantRecord, Instant)>> {
    map.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(id: &str, name: &str) -> TenantRecord {
        TenantRecord {
            id: id.parse().unwrap(),
            display_name: name.into(),
            webhook_url: None,
            webhook_secret: None,
            otp_lock_threshold: 5,
            push_fatigue_threshold: 5,
            push_fatigue_window_seconds: 900,
            created_at: 0,
        }
    }

    #[test]
    fn a_kept_tenant_is_found_by_key_and_id_until_cleared() {
        let cache = TenantCache::default();
        let bank = tenant("bank", "Bank");
        assert!(cache.by_key(&[1; 32]).is_none());
        cache.keep(&bank, Some([1; 32]));
        assert_eq!(cache.by_key(&[1; 32]), Some(bank.clone()));
        assert_eq!(cache.by_id(&bank.id), Some(bank.clone()));
        assert!(cache.by_key(&[2; 32]).is_none());
        cache.clear();
        assert!(cache.by_key(&[1; 32]).is_none());
        assert!(cache.by_id(&bank.id).is_none());
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let cache = TenantCache::default();
        let bank = tenant("bank", "Bank");
        let read_long_ago = Instant::now()
            .checked_sub(TTL)
            .expect("the clock is past one TTL");
        put(&cache.by_id, bank.id.clone(), &bank, read_long_ago);
        assert!(cache.by_id(&bank.id).is_none());
    }
}
