//! The [`MaintenanceStore`] part of the store (R18, issue 24): which banks have one-push
//! suspended, stored so that every relay on the database sees it. Implemented once, in
//! `sql/maintenance.rs`.

use async_trait::async_trait;
use onepush_protocol::TenantId;

use super::{NewAudit, StoreError};

/// The `scope` of the relay-wide row (a tenant's row has its slug, which starts with a
/// letter).
pub const RELAY_SCOPE: &str = "*";

/// One suspension: the whole relay (`tenant_id` `None`) or one bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceRecord {
    /// The bank it applies to; `None`: every bank of this relay.
    pub tenant_id: Option<TenantId>,
    /// The announcement shown to customers, if the operator gave one.
    pub message: Option<String>,
    /// When it ends by itself (Unix seconds), if it does.
    pub ends_at: Option<i64>,
    /// When it was turned on (Unix seconds).
    pub started_at: i64,
}

impl MaintenanceRecord {
    /// Whether it is in force at `now` (turned on and not past its end).
    pub fn in_force(&self, now: i64) -> bool {
        self.ends_at.is_none_or(|end| now < end)
    }
}

/// The stored suspensions.
#[async_trait]
pub trait MaintenanceStore: Send + Sync + 'static {
    /// Turns maintenance on for the record's scope (replacing what was there: a new
    /// message or end) and appends `audit` at `started_at`, in one transaction.
    async fn put_maintenance(
        &self,
        record: &MaintenanceRecord,
        audit: &NewAudit,
    ) -> Result<(), StoreError>;
    /// Turns maintenance off for `tenant` (`None`: relay-wide) and appends `audit` at
    /// `at` in the same transaction; with `due`, only if its end is at or before `due`
    /// (the end that comes by itself). Answers whether a row was deleted (of relays
    /// ending one row at once, exactly one gets true and audits).
    async fn delete_maintenance(
        &self,
        tenant: Option<&TenantId>,
        due: Option<i64>,
        audit: &NewAudit,
        at: i64,
    ) -> Result<bool, StoreError>;
    /// Every stored suspension (a handful of rows: read twice a second by every relay).
    async fn maintenance(&self) -> Result<Vec<MaintenanceRecord>, StoreError>;
}

/// The `scope` column of a suspension of `tenant`.
pub(crate) fn scope(tenant: Option<&TenantId>) -> String {
    tenant.map_or_else(|| RELAY_SCOPE.to_owned(), |t| t.as_str().to_owned())
}

/// A suspension from its columns; a scope that is no tenant slug is corrupt.
pub(crate) fn record(
    scope: &str,
    message: Option<String>,
    ends_at: Option<i64>,
    started_at: i64,
) -> Result<MaintenanceRecord, StoreError> {
    let tenant_id = if scope == RELAY_SCOPE {
        None
    } else {
        Some(
            scope
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("maintenance scope {scope:?}: {e}")))?,
        )
    };
    Ok(MaintenanceRecord {
        tenant_id,
        message,
        ends_at,
        started_at,
    })
}
