//! Maintenance windows: the suspended scopes, each change audited in its transaction.

use async_trait::async_trait;
use onepush_protocol::TenantId;

use super::tenants::insert_audit;
use crate::store::maintenance::{self, MaintenanceRecord, MaintenanceStore};
use crate::store::plan::{Mode, Runner, int, run, stmt, text};
use crate::store::{NewAudit, StoreError};

const PUT: &str = "INSERT INTO maintenance (scope, message, ends_at, started_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (scope) DO UPDATE SET \
     message = excluded.message, ends_at = excluded.ends_at, started_at = excluded.started_at";
const DELETE_DUE: &str = "DELETE FROM maintenance WHERE scope = $1 AND ends_at <= $2";
const DELETE: &str = "DELETE FROM maintenance WHERE scope = $1";
const ALL: &str = "SELECT scope, message, ends_at, started_at FROM maintenance ORDER BY scope";

#[async_trait]
impl<R: Runner> MaintenanceStore for R {
    async fn put_maintenance(
        &self,
        record: &MaintenanceRecord,
        audit: &NewAudit,
    ) -> Result<(), StoreError> {
        let (record, audit) = (record.clone(), audit.clone());
        run!(self, Mode::Transaction, |c| {
            c.execute(stmt!(
                PUT,
                maintenance::scope(record.tenant_id.as_ref()),
                &record.message,
                record.ends_at,
                record.started_at,
            ))
            .await?;
            insert_audit(c, &audit, record.started_at).await
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
        run!(self, Mode::Transaction, |c| {
            let delete = match due {
                Some(due) => stmt!(DELETE_DUE, scope.as_str(), due),
                None => stmt!(DELETE, scope.as_str()),
            };
            if c.execute(delete).await? == 0 {
                return Ok(false);
            }
            insert_audit(c, &audit, at).await?;
            Ok(true)
        })
        .await
    }

    async fn maintenance(&self) -> Result<Vec<MaintenanceRecord>, StoreError> {
        run!(self, Mode::Read, |c| c
            .rows(stmt!(ALL), |r| maintenance::record(
                &text(r, "scope")?,
                r.text("message")?,
                r.int("ends_at")?,
                int(r, "started_at")?,
            ))
            .await)
        .await
    }
}
