//! The credential each user was last seen bound to on this relay: a new challenge is
//! addressed to it and inserted at once, the gate read with the insert (one statement on
//! PostgreSQL). It is only a guess: the insert checks the binding again and answers it,
//! so a user bound elsewhere since (re-enrolled) costs one more try, a user not seen yet
//! one read first.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use onepush_protocol::{CredentialId, TenantId, UserId};

/// Most users remembered (≈ 150 bytes each); past it, all are forgotten at once.
const CAPACITY: usize = 100_000;

/// Tenant → user → the credential last seen bound to them.
#[derive(Debug, Default)]
pub(crate) struct BoundCredentials {
    users: RwLock<Users>,
}

#[derive(Debug, Default)]
struct Users {
    by_tenant: HashMap<TenantId, HashMap<UserId, CredentialId>>,
    len: usize,
}

impl BoundCredentials {
    /// The credential `user` was last seen bound to.
    pub(crate) fn get(&self, tenant: &TenantId, user: &UserId) -> Option<CredentialId> {
        let users = self.users.read().unwrap_or_else(PoisonError::into_inner);
        users.by_tenant.get(tenant)?.get(user).cloned()
    }

    /// Remembers that `user` is bound to `credential`.
    pub(crate) fn remember(&self, tenant: &TenantId, user: &UserId, credential: &CredentialId) {
        if self.get(tenant, user).as_ref() == Some(credential) {
            return;
        }
        let mut users = self.users.write().unwrap_or_else(PoisonError::into_inner);
        if users.len >= CAPACITY {
            *users = Users::default();
        }
        let tenant_users = users.by_tenant.entry(tenant.clone()).or_default();
        if tenant_users
            .insert(user.clone(), credential.clone())
            .is_none()
        {
            users.len += 1;
        }
    }

    /// Forgets `user` (no longer bound).
    pub(crate) fn forget(&self, tenant: &TenantId, user: &UserId) {
        let mut users = self.users.write().unwrap_or_else(PoisonError::into_inner);
        let removed = users
            .by_tenant
            .get_mut(tenant)
            .and_then(|tenant_users| tenant_users.remove(user));
        if removed.is_some() {
            users.len -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(user: &str) -> (TenantId, UserId, CredentialId) {
        (
            "bank".parse().unwrap(),
            user.parse().unwrap(),
            CredentialId::generate(CredentialId::DEFAULT_PREFIX).unwrap(),
        )
    }

    #[test]
    fn remembers_the_last_credential_seen_until_forgotten() {
        let bound = BoundCredentials::default();
        let (tenant, user, first) = ids("alice");
        assert_eq!(bound.get(&tenant, &user), None);
        bound.remember(&tenant, &user, &first);
        assert_eq!(bound.get(&tenant, &user), Some(first));
        let (_, _, second) = ids("alice");
        bound.remember(&tenant, &user, &second);
        assert_eq!(bound.get(&tenant, &user), Some(second));
        bound.forget(&tenant, &user);
        assert_eq!(bound.get(&tenant, &user), None);
    }

    #[test]
    fn past_capacity_everyone_is_forgotten_and_the_newest_kept() {
        let bound = BoundCredentials::default();
        let (tenant, _, credential) = ids("u");
        for i in 0..CAPACITY {
            bound.remember(&tenant, &format!("u{i}").parse().unwrap(), &credential);
        }
        let newest: UserId = "newest".parse().unwrap();
        bound.remember(&tenant, &newest, &credential);
        assert_eq!(bound.get(&tenant, &newest), Some(credential));
        assert_eq!(bound.get(&tenant, &"u0".parse().unwrap()), None);
        assert_eq!(bound.users.read().unwrap().len, 1);
    }
}
