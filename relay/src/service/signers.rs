//! The public keys of the credentials whose decisions this relay has verified: a later
//! decision by one of them, on a challenge this relay made, is verified with the kept key
//! and taken in one statement, with no read before it ([`Service::decide`]).
//!
//! Keeping a key is safe because a credential's key never changes, and the one thing
//! about a credential that does, its revocation, is checked by the statement that ends
//! the challenge (`FINISH_CHALLENGE`, `APPROVE_CHALLENGE`): a key kept here never makes a
//! revoked credential's decision count.
//!
//! [`Service::decide`]: super::Service::decide

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use onepush_protocol::{CredentialId, Jwk};

/// Most keys kept (≈ 200 bytes each); past it, all are forgotten at once.
const CAPACITY: usize = 100_000;

/// Credential → its public signing key.
#[derive(Debug, Default)]
pub(crate) struct SignerKeys {
    keys: RwLock<HashMap<CredentialId, Arc<Jwk>>>,
}

impl SignerKeys {
    /// The key of `credential`, if kept.
    pub(crate) fn get(&self, credential: &CredentialId) -> Option<Arc<Jwk>> {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        keys.get(credential).cloned()
    }

    /// Keeps `key` as the key of `credential` (it has just verified its decision).
    pub(crate) fn keep(&self, credential: &CredentialId, key: &Jwk) {
        if self.get(credential).is_some() {
            return;
        }
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        if keys.len() >= CAPACITY {
            keys.clear();
        }
        keys.insert(credential.clone(), Arc::new(key.clone()));
    }

    /// Forgets the key of `credential` (revoked here: its decisions take the full path,
    /// which refuses them before anything else).
    pub(crate) fn forget(&self, credential: &CredentialId) {
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        keys.remove(credential);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential() -> (CredentialId, Jwk) {
        let key = onepush_protocol::DeviceKey::generate();
        (
            CredentialId::generate(CredentialId::DEFAULT_PREFIX).unwrap(),
            key.public_jwk(),
        )
    }

    #[test]
    fn keeps_a_key_until_forgotten() {
        let keys = SignerKeys::default();
        let (id, jwk) = credential();
        assert!(keys.get(&id).is_none());
        keys.keep(&id, &jwk);
        assert_eq!(keys.get(&id).as_deref(), Some(&jwk));
        keys.forget(&id);
        assert!(keys.get(&id).is_none());
    }

    #[test]
    fn past_capacity_every_key_is_forgotten_and_the_newest_kept() {
        let keys = SignerKeys::default();
        let (_, jwk) = credential();
        let first = CredentialId::generate(CredentialId::DEFAULT_PREFIX).unwrap();
        keys.keep(&first, &jwk);
        // Generated IDs are short enough to repeat now and then among 100,000.
        while keys.keys.read().unwrap().len() < CAPACITY {
            keys.keep(
                &CredentialId::generate(CredentialId::DEFAULT_PREFIX).unwrap(),
                &jwk,
            );
        }
        let (newest, newest_jwk) = credential();
        keys.keep(&newest, &newest_jwk);
        assert_eq!(keys.get(&newest).as_deref(), Some(&newest_jwk));
        assert!(keys.get(&first).is_none());
        assert_eq!(keys.keys.read().unwrap().len(), 1);
    }
}
