//! Maintenance windows: the suspended scopes, each change audited in its transaction.

use onepush_protocol::TenantId;

use super::tenants::insert_audit;
use crate::store::maintenance::{self, MaintenanceRecord};
use crate::store::plan::{Mode, int, run, stmt, text};
use crate::store::{NewAudit, Store, StoreError};

const PUT: &str = "INSERT INTO maintenance (scope, message, ends_at, started_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (scope) DO UPDATE SET \
     message = excluded.message, ends_at = excluded.ends_at, started_at = excluded.started_at";
const DELETE_DUE: &str = "DELETE FROM maintenance WHERE scope = $1 AND ends_at <= $2";
const DELETE: &str = "DELETE FROM maintenance WHERE scope = $1";
const ALL: &str = "SELECT scope, message, ends_at, started_at FROM maintenance ORDER BY scope";

/// The stored suspensions.
impl Store {
    /// Turns maintenance on for the record's scope (replacing what was there: a new
    /// message or end) and appends `audit` at `started_at`, in one transaction.
    pub async fn put_maintenance(
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

    /// Turns maintenance off for `tenant` (`None`: relay-wide) and appends `audit` at
    /// `at` in the same transaction; with `due`, only if its end is at or before `due`
    /// (the end that comes by itself). Answers whether a row was deleted (of relays
    /// ending one row at once, exactly one gets true and audits).
    pub async fn delete_maintenance(
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

    /// Every stored suspension (a handful of rows: read twice a second by every relay).
    pub async fn maintenance(&self) -> Result<Vec<MaintenanceRecord>, StoreError> {
        self.rows(Mode::Read, stmt!(ALL), |r| {
            maintenance::record(
                &text(r, "scope")?,
                r.text("message")?,
                r.int("ends_at")?,
                int(r, "started_at")?,
            )
        })
        .await
    }
}
