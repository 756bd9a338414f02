//! Credentials, bindings as read, and device-proof `jti`s.

use onepush_protocol::{CredentialId, PushChannel, TenantId, UserId};

use crate::store::codec::{to_json, token_kind_str};
use crate::store::decode;
use crate::store::plan::{Mode, stmt, text};
use crate::store::{BindingRecord, CredentialRecord, Store, StoreError};

const INSERT_CREDENTIAL: &str = "INSERT INTO credentials (id, jwk, totp_secret, \
     push_subscription, last_used_step, revoked_at, created_at, kind, ocra_key) \
     VALUES ($1, $2, $3, $4, NULL, NULL, $5, $6, $7)";
const CREDENTIAL: &str = "SELECT * FROM credentials WHERE id = $1";
const SET_PUSH: &str = "UPDATE credentials SET push_subscription = $1 WHERE id = $2";
/// Conditional: of two relays using the same step, one wins.
const USE_STEP: &str = "UPDATE credentials SET last_used_step = $1 \
     WHERE id = $2 AND (last_used_step IS NULL OR last_used_step < $1)";
const REVOKE: &str =
    "UPDATE credentials SET revoked_at = $1, push_subscription = NULL WHERE id = $2";
const BINDING: &str = "SELECT * FROM bindings WHERE tenant_id = $1 AND user_id = $2";
const BINDINGS_OF_CREDENTIAL: &str = "SELECT b.*, t.display_name FROM bindings b \
     JOIN tenants t ON t.id = b.tenant_id \
     WHERE b.credential_id = $1 ORDER BY b.tenant_id, b.user_id";
/// The primary key makes a `jti` seen by any relay a replay for every relay; a row that
/// expired but is not pruned yet is taken over (the conditional update lets one of two
/// relays doing so at once win).
const RECORD_JTI: &str = "INSERT INTO proof_jtis (jti, expires_at) VALUES ($1, $2) \
     ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at \
     WHERE proof_jtis.expires_at < $3";
const PRUNE_JTIS: &str = "DELETE FROM proof_jtis WHERE jti IN \
     (SELECT jti FROM proof_jtis WHERE expires_at < $1 LIMIT $2)";

/// Expired jtis deleted per write by `prune_jtis`.
const PRUNE_SLICE: u32 = 200;

/// App installs, their bindings to users as read (changes: `sql/bindings.rs`), and the
/// device-proof replay guard.
impl Store {
    /// Adds a credential; `Conflict` if the ID exists.
    pub async fn insert_credential(&self, cr: &CredentialRecord) -> Result<(), StoreError> {
        let insert = stmt!(
            INSERT_CREDENTIAL,
            cr.id.as_str(),
            to_json(&cr.jwk),
            &cr.totp_secret_sealed,
            cr.push_subscription.as_ref().map(to_json),
            cr.created_at,
            token_kind_str(cr.kind),
            cr.ocra_key_sealed.as_deref(),
        );
        self.execute(insert).await.map(drop)
    }

    /// One credential (revoked ones too).
    pub async fn credential(&self, id: &CredentialId) -> Result<CredentialRecord, StoreError> {
        let read = stmt!(CREDENTIAL, id.as_str());
        self.one(Mode::Read, read, decode::credential).await
    }

    /// Replaces (or clears) a credential's push subscription.
    pub async fn set_push_subscription(
        &self,
        id: &CredentialId,
        sub: Option<&PushChannel>,
    ) -> Result<(), StoreError> {
        let set = stmt!(SET_PUSH, sub.map(to_json), id.as_str());
        self.execute(set).await.map(drop)
    }

    /// Records `step` as used if it is newer than the last used one; false if not (replay).
    pub async fn use_totp_step(&self, id: &CredentialId, step: u64) -> Result<bool, StoreError> {
        let step =
            i64::try_from(step).map_err(|_| StoreError::Corrupt("step out of range".into()))?;
        Ok(self.execute(stmt!(USE_STEP, step, id.as_str())).await? == 1)
    }

    /// Marks a credential revoked.
    pub async fn revoke_credential(&self, id: &CredentialId, now: i64) -> Result<(), StoreError> {
        self.execute(stmt!(REVOKE, now, id.as_str()))
            .await
            .map(drop)
    }

    /// One binding.
    pub async fn binding(
        &self,
        tenant: &TenantId,
        user: &UserId,
    ) -> Result<BindingRecord, StoreError> {
        let read = stmt!(BINDING, tenant.as_str(), user.as_str());
        self.one(Mode::Read, read, decode::binding).await
    }

    /// Every binding of a credential, with its tenant's display name.
    pub async fn bindings_of_credential(
        &self,
        id: &CredentialId,
    ) -> Result<Vec<(BindingRecord, String)>, StoreError> {
        let bindings = stmt!(BINDINGS_OF_CREDENTIAL, id.as_str());
        self.rows(Mode::Read, bindings, |r| {
            Ok((decode::binding(r)?, text(r, "display_name")?))
        })
        .await
    }

    /// Records a proof `jti` until `expires_at`; false if it was seen before (by any relay)
    /// and is still kept (`expires_at` not before `now`). One statement: expired `jti`s are
    /// not deleted here but by [`prune_jtis`](Self::prune_jtis) from the expiry task.
    pub async fn record_jti(
        &self,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        Ok(self
            .execute(stmt!(RECORD_JTI, jti, expires_at, now))
            .await?
            == 1)
    }

    /// Forgets the `jti`s that expired before `now`; returns how many.
    pub async fn prune_jtis(&self, now: i64) -> Result<u64, StoreError> {
        // In slices, each its own write: other writes go between them instead of waiting
        // behind one long delete (a second of jtis at load is thousands of rows).
        let mut pruned = 0_u64;
        loop {
            let deleted = self.execute(stmt!(PRUNE_JTIS, now, PRUNE_SLICE)).await?;
            pruned += deleted;
            if deleted < u64::from(PRUNE_SLICE) {
                return Ok(pruned);
            }
        }
    }
}
