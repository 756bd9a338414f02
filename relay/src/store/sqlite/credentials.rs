//! Credentials, bindings and device-proof `jti`s.

use async_trait::async_trait;
use onepush_protocol::{CredentialId, PushChannel, TenantId, UserId};
use rusqlite::params;

use super::SqliteStore;
use super::rows::{self, all, exec, get, one};
use crate::store::codec::{to_json, token_kind_str};
use crate::store::{BindingRecord, CredentialRecord, CredentialStore, StoreError};

/// Expired jtis deleted per write by `prune_jtis`.
const PRUNE_SLICE: u16 = 200;

/// One credential, on `conn`.
pub(super) fn read_credential(
    conn: &rusqlite::Connection,
    id: &CredentialId,
) -> Result<CredentialRecord, StoreError> {
    one(
        conn,
        "SELECT * FROM credentials WHERE id = ?1",
        [id.as_str()],
        rows::credential,
    )
}

/// One binding, on `conn`.
pub(super) fn read_binding(
    conn: &rusqlite::Connection,
    tenant: &TenantId,
    user: &UserId,
) -> Result<BindingRecord, StoreError> {
    one(
        conn,
        "SELECT * FROM bindings WHERE tenant_id = ?1 AND user_id = ?2",
        [tenant.as_str(), user.as_str()],
        rows::binding,
    )
}

#[async_trait]
impl CredentialStore for SqliteStore {
    async fn insert_credential(&self, c: &CredentialRecord) -> Result<(), StoreError> {
        let c = c.clone();
        self.write(move |conn| {
            exec(
                conn,
                "INSERT INTO credentials (id, jwk, totp_secret, push_subscription, last_used_step, \
                 revoked_at, created_at, kind, ocra_key) VALUES (?1, ?2, ?3, ?4, NULL, NULL, ?5, ?6, ?7)",
                params![
                    c.id.as_str(),
                    to_json(&c.jwk),
                    c.totp_secret_sealed,
                    c.push_subscription.as_ref().map(to_json),
                    c.created_at,
                    token_kind_str(c.kind),
                    c.ocra_key_sealed
                ],
            )
            .map(drop)
        })
        .await
    }

    async fn credential(&self, id: &CredentialId) -> Result<CredentialRecord, StoreError> {
        let id = id.clone();
        self.read(move |c| read_credential(c, &id)).await
    }

    async fn set_push_subscription(
        &self,
        id: &CredentialId,
        sub: Option<&PushChannel>,
    ) -> Result<(), StoreError> {
        let (sub, id) = (sub.map(to_json), id.clone());
        self.write(move |c| {
            exec(
                c,
                "UPDATE credentials SET push_subscription = ?1 WHERE id = ?2",
                params![sub, id.as_str()],
            )
            .map(drop)
        })
        .await
    }

    async fn use_totp_step(&self, id: &CredentialId, step: u64) -> Result<bool, StoreError> {
        let step =
            i64::try_from(step).map_err(|_| StoreError::Corrupt("step out of range".into()))?;
        let id = id.clone();
        let changed = self
            .write(move |c| {
                exec(
                    c,
                    "UPDATE credentials SET last_used_step = ?1 \
                     WHERE id = ?2 AND (last_used_step IS NULL OR last_used_step < ?1)",
                    params![step, id.as_str()],
                )
            })
            .await?;
        Ok(changed == 1)
    }

    async fn revoke_credential(&self, id: &CredentialId, now: i64) -> Result<(), StoreError> {
        let id = id.clone();
        self.write(move |c| {
            exec(
                c,
                "UPDATE credentials SET revoked_at = ?1, push_subscription = NULL WHERE id = ?2",
                params![now, id.as_str()],
            )
            .map(drop)
        })
        .await
    }

    async fn binding(&self, tenant: &TenantId, user: &UserId) -> Result<BindingRecord, StoreError> {
        let (tenant, user) = (tenant.clone(), user.clone());
        self.read(move |c| read_binding(c, &tenant, &user)).await
    }

    async fn bindings_of_credential(
        &self,
        id: &CredentialId,
    ) -> Result<Vec<(BindingRecord, String)>, StoreError> {
        let id = id.clone();
        self.read(move |c| {
            all(
                c,
                "SELECT b.*, t.display_name FROM bindings b JOIN tenants t ON t.id = b.tenant_id \
                 WHERE b.credential_id = ?1 ORDER BY b.tenant_id, b.user_id",
                [id.as_str()],
                |r| Ok((rows::binding(r)?, get(r, "display_name")?)),
            )
        })
        .await
    }

    async fn record_jti(&self, jti: &str, expires_at: i64, now: i64) -> Result<bool, StoreError> {
        // The primary key makes a seen `jti` a replay; an expired one not pruned yet is
        // taken over. Pruning is `prune_jtis`, from the expiry task.
        let jti = jti.to_owned();
        let changed = self
            .write(move |c| {
                exec(
                    c,
                    "INSERT INTO proof_jtis (jti, expires_at) VALUES (?1, ?2) ON CONFLICT (jti) \
                     DO UPDATE SET expires_at = excluded.expires_at WHERE proof_jtis.expires_at < ?3",
                    params![jti, expires_at, now],
                )
            })
            .await?;
        Ok(changed == 1)
    }

    async fn prune_jtis(&self, now: i64) -> Result<u64, StoreError> {
        // In slices, each its own write: other writes go between them instead of waiting
        // behind one long delete (a second of jtis at load is thousands of rows).
        let mut pruned = 0_u64;
        loop {
            let changed = self
                .write(move |c| {
                    exec(
                        c,
                        "DELETE FROM proof_jtis WHERE jti IN \
                         (SELECT jti FROM proof_jtis WHERE expires_at < ?1 LIMIT ?2)",
                        params![now, i64::from(PRUNE_SLICE)],
                    )
                })
                .await?;
            pruned += u64::try_from(changed).unwrap_or(u64::MAX);
            if changed < usize::from(PRUNE_SLICE) {
                return Ok(pruned);
            }
        }
    }
}
