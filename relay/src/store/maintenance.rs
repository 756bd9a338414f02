//! Suspensions of one-push (R18, issue 24): which banks have one-push
//! suspended, stored so that every relay on the database sees it. Implemented once, in
//! `sql/maintenance.rs`.

use onepush_protocol::TenantId;

use super::StoreError;

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
