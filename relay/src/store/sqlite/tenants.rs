//! Tenants and the audit log.

use async_trait::async_trait;
use onepush_protocol::api::AuditEvent;
use onepush_protocol::{CredentialId, TenantId, UserId};
use rusqlite::{Connection, params};

use super::SqliteStore;
use super::rows::{self, all, exec, get, one};
use crate::store::{AuditStore, NewAudit, StoreError, TenantRecord, TenantStore};

#[async_trait]
impl TenantStore for SqliteStore {
    async fn insert_tenant(&self, t: &TenantRecord, key_hash: &[u8; 32]) -> Result<(), StoreError> {
        let (t, key_hash) = (t.clone(), *key_hash);
        self.write(move |c| {
            exec(
                c,
                "INSERT INTO tenants (id, display_name, api_key_hash, webhook_url, webhook_secret_sealed, \
                 otp_lock_threshold, created_at, push_fatigue_threshold, \
                 push_fatigue_window_seconds) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    t.id.as_str(),
                    t.display_name,
                    &key_hash[..],
                    t.webhook_url,
                    t.webhook_secret.as_ref().map(|s| s.0.as_slice()),
                    i64::from(t.otp_lock_threshold),
                    t.created_at,
                    i64::from(t.push_fatigue_threshold),
                    i64::from(t.push_fatigue_window_seconds)
                ],
            )
            .map(drop)
        })
        .await
    }

    async fn list_tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        self.read(|c| all(c, "SELECT * FROM tenants ORDER BY id", [], rows::tenant))
            .await
    }

    async fn tenant(&self, id: &TenantId) -> Result<TenantRecord, StoreError> {
        let id = id.clone();
        self.read(move |c| {
            one(
                c,
                "SELECT * FROM tenants WHERE id = ?1",
                [id.as_str()],
                rows::tenant,
            )
        })
        .await
    }

    async fn tenant_by_key_hash(
        &self,
        key_hash: &[u8; 32],
    ) -> Result<(TenantRecord, Vec<u8>), StoreError> {
        let key_hash = *key_hash;
        self.read(move |c| {
            one(
                c,
                "SELECT * FROM tenants WHERE api_key_hash = ?1",
                [&key_hash[..]],
                |r| Ok((rows::tenant(r)?, get(r, "api_key_hash")?)),
            )
        })
        .await
    }

    async fn set_tenant_push_fatigue(
        &self,
        id: &TenantId,
        threshold: u32,
        window_seconds: u32,
    ) -> Result<(), StoreError> {
        let id = id.clone();
        let changed = self
            .write(move |c| {
                exec(
                    c,
                    "UPDATE tenants SET push_fatigue_threshold = ?1, push_fatigue_window_seconds = ?2 \
                     WHERE id = ?3",
                    params![i64::from(threshold), i64::from(window_seconds), id.as_str()],
                )
            })
            .await?;
        if changed == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn set_tenant_key(&self, id: &TenantId, key_hash: &[u8; 32]) -> Result<(), StoreError> {
        let (id, key_hash) = (id.clone(), *key_hash);
        let changed = self
            .write(move |c| {
                exec(
                    c,
                    "UPDATE tenants SET api_key_hash = ?1 WHERE id = ?2",
                    params![&key_hash[..], id.as_str()],
                )
            })
            .await?;
        if changed == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}

/// Appends an audit event at `at` on `conn` (also inside the challenge writes that audit
/// in the same transaction); answers its `seq`.
pub(super) fn insert_audit(conn: &Connection, e: &NewAudit, at: i64) -> Result<i64, StoreError> {
    one(
        conn,
        "INSERT INTO audit_events (tenant_id, at, event, user_id, credential_id, challenge_id, detail) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING seq",
        params![
            e.tenant_id.as_ref().map(TenantId::as_str),
            at,
            e.event,
            e.user_id.as_ref().map(UserId::as_str),
            e.credential_id.as_ref().map(CredentialId::as_str),
            e.challenge_id.map(|c| c.to_string()),
            e.detail.to_string()
        ],
        |r| get(r, "seq"),
    )
}

/// A page of one user's audit events (index `audit_by_tenant_user`).
pub(super) const AUDIT_OF_USER: &str = "SELECT * FROM audit_events WHERE tenant_id = ?1 \
     AND user_id = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4";
/// A page of a tenant's audit events (index `audit_by_tenant`).
pub(super) const AUDIT_OF_TENANT: &str =
    "SELECT * FROM audit_events WHERE tenant_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3";

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit(&self, e: &NewAudit, at: i64) -> Result<i64, StoreError> {
        let e = e.clone();
        self.write(move |c| insert_audit(c, &e, at)).await
    }

    async fn audit(
        &self,
        tenant: &TenantId,
        user: Option<&UserId>,
        since: i64,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let (tenant, user) = (tenant.clone(), user.cloned());
        // Two query texts, each on its own index (`audit_by_tenant_user`,
        // `audit_by_tenant`): one text for both cases (`?2 IS NULL OR user_id = ?2`)
        // could use neither and read the tenant's whole log.
        self.read(move |c| match &user {
            Some(user) => all(
                c,
                AUDIT_OF_USER,
                params![tenant.as_str(), user.as_str(), since, i64::from(limit)],
                rows::audit,
            ),
            None => all(
                c,
                AUDIT_OF_TENANT,
                params![tenant.as_str(), since, i64::from(limit)],
                rows::audit,
            ),
        })
        .await
    }
}
