//! Maintenance (R18): the suspended scopes, each change audited in its transaction.

use async_trait::async_trait;
use onepush_protocol::TenantId;
use rusqlite::params;

use super::SqliteStore;
use super::rows::{all, exec, get};
use super::tenants::insert_audit;
use crate::store::maintenance::{self, MaintenanceRecord, MaintenanceStore, SELECT_ALL};
use crate::store::{NewAudit, StoreError};

#[async_trait]
impl MaintenanceStore for SqliteStore {
    async fn put_maintenance(
        &self,
        record: &MaintenanceRecord,
        audit: &NewAudit,
    ) -> Result<(), StoreError> {
        let (record, audit) = (record.clone(), audit.clone());
        self.write(move |c| {
            exec(
                c,
                "INSERT INTO maintenance (scope, message, ends_at, started_at) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (scope) DO UPDATE SET \
                 message = excluded.message, ends_at = excluded.ends_at, \
                 started_at = excluded.started_at",
                params![
                    maintenance::scope(record.tenant_id.as_ref()),
                    record.message,
                    record.ends_at,
                    record.started_at
                ],
            )?;
            insert_audit(c, &audit, record.started_at).map(drop)
        })
        .await
    }

    async fn delete_maintenance(
        &self,
        tenant: Option<&TenantId>,
        due: Option<i64>,
        audit: &NewAudit,
        at: i64,
    ) -> Result<bool, StoreError> {
        let (scope, audit) = (maintenance::scope(tenant), audit.clone());
        self.write(move |c| {
            let deleted = match due {
                Some(due) => exec(
                    c,
                    "DELETE FROM maintenance WHERE scope = ?1 AND ends_at <= ?2",
                    params![scope, due],
                )?,
                None => exec(c, "DELETE FROM maintenance WHERE scope = ?1", [&scope])?,
            };
            if deleted == 0 {
                return Ok(false);
            }
            insert_audit(c, &audit, at)?;
            Ok(true)
        })
        .await
    }

    async fn maintenance(&self) -> Result<Vec<MaintenanceRecord>, StoreError> {
        self.read(|c| {
            all(c, SELECT_ALL, [], |r| {
                maintenance::record(
                    &get::<String>(r, "scope")?,
                    get(r, "message")?,
                    get(r, "ends_at")?,
                    get(r, "started_at")?,
                )
            })
        })
        .await
    }
}
