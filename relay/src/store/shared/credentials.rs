//! Credentials, bindings and device-proof `jti`s, for both backends. Compiled inside each
//! backend's module (`#[path]`, see `tenants.rs`).

use async_trait::async_trait;
use onepush_protocol::{CredentialId, PushChannel, TenantId, UserId};

use super::DbStore;
use super::rows::{self, get};
use crate::store::codec::{to_json, token_kind_str};
use crate::store::{BindingRecord, CredentialRecord, CredentialStore, StoreError};

#[async_trait]
impl CredentialStore for DbStore {
    async fn insert_credential(&self, c: &CredentialRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO credentials (id, jwk, totp_secret, push_subscription, last_used_step, \
             revoked_at, created_at, kind, ocra_key) VALUES ($1, $2, $3, $4, NULL, NULL, $5, $6, $7)",
        )
        .bind(c.id.as_str())
        .bind(to_json(&c.jwk))
        .bind(&c.totp_secret_sealed)
        .bind(c.push_subscription.as_ref().map(to_json))
        .bind(c.created_at)
        .bind(token_kind_str(c.kind))
        .bind(c.ocra_key_sealed.as_deref())
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    async fn credential(&self, id: &CredentialId) -> Result<CredentialRecord, StoreError> {
        let row = sqlx::query("SELECT * FROM credentials WHERE id = $1")
            .bind(id.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        rows::credential(&row)
    }

    async fn set_push_subscription(
        &self,
        id: &CredentialId,
        sub: Option<&PushChannel>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE credentials SET push_subscription = $1 WHERE id = $2")
            .bind(sub.map(to_json))
            .bind(id.as_str())
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    async fn use_totp_step(&self, id: &CredentialId, step: u64) -> Result<bool, StoreError> {
        let step =
            i64::try_from(step).map_err(|_| StoreError::Corrupt("step out of range".into()))?;
        // One conditional update: of two relays using the same step, one wins.
        let done = sqlx::query(
            "UPDATE credentials SET last_used_step = $1 \
             WHERE id = $2 AND (last_used_step IS NULL OR last_used_step < $1)",
        )
        .bind(step)
        .bind(id.as_str())
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(done.rows_affected() == 1)
    }

    async fn revoke_credential(&self, id: &CredentialId, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE credentials SET revoked_at = $1, push_subscription = NULL WHERE id = $2",
        )
        .bind(now)
        .bind(id.as_str())
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    async fn binding(&self, tenant: &TenantId, user: &UserId) -> Result<BindingRecord, StoreError> {
        let row = sqlx::query("SELECT * FROM bindings WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant.as_str())
            .bind(user.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        rows::binding(&row)
    }

    async fn bindings_of_credential(
        &self,
        id: &CredentialId,
    ) -> Result<Vec<(BindingRecord, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT b.*, t.display_name FROM bindings b JOIN tenants t ON t.id = b.tenant_id \
             WHERE b.credential_id = $1 ORDER BY b.tenant_id, b.user_id",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        rows.iter()
            .map(|r| Ok((rows::binding(r)?, get(r, "display_name")?)))
            .collect()
    }

    async fn record_jti(&self, jti: &str, expires_at: i64, now: i64) -> Result<bool, StoreError> {
        // The primary key makes a `jti` seen by any relay a replay for every relay; a row
        // that expired but is not pruned yet is taken over (the conditional update lets one
        // of two relays doing so at once win).
        let done = sqlx::query(
            "INSERT INTO proof_jtis (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) \
             DO UPDATE SET expires_at = excluded.expires_at WHERE proof_jtis.expires_at < $3",
        )
        .bind(jti)
        .bind(expires_at)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(done.rows_affected() == 1)
    }

    async fn prune_jtis(&self, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM proof_jtis WHERE expires_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(done.rows_affected())
    }
}
