//! Maintenance at run time (R18; seed 003 art. 5.4): an operator suspends one-push for
//! every bank on the relay or for one bank, with an announcement and an optional end.
//!
//! The suspensions live in the store (so every relay on the database honours them) and
//! in memory: creating a challenge reads only the memory copy, never the database. The
//! copy is replaced at start, after each change made through this relay, and by
//! [`watch`] every [`POLL_INTERVAL`] (a read of the few rows of one table), so a change
//! made elsewhere (another relay, the CLI) is in force here within that interval. A
//! suspension past its `until` stops counting at once; the next poll of any relay deletes
//! its row and audits the end (once: the delete is conditional).
//!
//! Audit: `maintenance.on` / `maintenance.off`, relay-wide (no tenant, like
//! `device.refused`) for the relay-wide suspension, in the bank's own log for a bank's.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use onepush_protocol::TenantId;
use onepush_protocol::api::{
    MAX_MAINTENANCE_MESSAGE_CHARS, MaintenanceOverview, MaintenanceScope, MaintenanceStatus,
    SetMaintenance, TenantMaintenance,
};
use time::format_description::well_known::Rfc3339;

use super::Service;
use crate::clock::from_unix;
use crate::store::{MaintenanceRecord, NewAudit, StoreError, found};

/// How often each relay reads the stored suspensions.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Who changed a suspension (the audit event's `by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `onepush-relay maintenance …`.
    Cli,
    /// The operations listener's `/maintenance` routes.
    AdminRoute,
    /// Its `until` passed.
    Until,
}

impl Operator {
    fn as_str(self) -> &'static str {
        match self {
            Self::Cli => "cli",
            Self::AdminRoute => "admin_route",
            Self::Until => "until",
        }
    }
}

/// Why a suspension could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum MaintenanceError {
    /// Bad message or end.
    #[error("{0}")]
    Invalid(String),
    /// No such tenant.
    #[error("tenant {0} does not exist")]
    UnknownTenant(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The suspensions as last read, shared by every clone of the service.
#[derive(Debug, Default)]
pub(crate) struct MaintenanceCache(RwLock<Arc<Vec<MaintenanceRecord>>>);

impl MaintenanceCache {
    fn get(&self) -> Arc<Vec<MaintenanceRecord>> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, rows: Vec<MaintenanceRecord>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(rows);
    }
}

impl Service {
    /// The suspension in force for `tenant` now, from memory (no database read): the
    /// relay-wide one, the bank's own, or this relay's `maintenance` setting; of several,
    /// the one that lasts longer.
    pub fn maintenance_for(&self, tenant: &TenantId) -> MaintenanceStatus {
        let now = self.now();
        let rows = self.maintenance_rows.get();
        let local = self.local_maintenance().then_some(MaintenanceRecord {
            tenant_id: None,
            message: None,
            ends_at: None,
            started_at: now,
        });
        let in_force = rows
            .iter()
            .filter(|r| r.tenant_id.is_none() || r.tenant_id.as_ref() == Some(tenant))
            .chain(local.as_ref())
            .filter(|r| r.in_force(now));
        // No end lasts longest; on a tie the relay-wide one (it comes first) stays.
        let longest = in_force.fold(None::<&MaintenanceRecord>, |best, r| match best {
            Some(b) if lasts(b) >= lasts(r) => Some(b),
            _ => Some(r),
        });
        longest.map_or_else(MaintenanceStatus::default, |r| self.status_of(r, now))
    }

    /// The suspension that refuses a new challenge of `tenant`, if it is suspended.
    pub(crate) fn maintenance_refusal(&self, tenant: &TenantId) -> Option<Box<MaintenanceStatus>> {
        let status = self.maintenance_for(tenant);
        status.on.then(|| Box::new(status))
    }

    /// Turns maintenance on (or changes it) for `tenant` (`None`: every bank), audited.
    pub async fn maintenance_on(
        &self,
        tenant: Option<&str>,
        set: SetMaintenance,
        by: Operator,
    ) -> Result<MaintenanceStatus, MaintenanceError> {
        let tenant = self.known_tenant(tenant).await?;
        let now = self.now();
        let message = check_message(set.message)?;
        let ends_at = match set.until {
            Some(until) if until.unix_timestamp() <= now => {
                return Err(MaintenanceError::Invalid(format!(
                    "until must be in the future, got {} (now is {})",
                    until.format(&Rfc3339).unwrap_or_default(),
                    from_unix(now).format(&Rfc3339).unwrap_or_default()
                )));
            }
            other => other.map(time::OffsetDateTime::unix_timestamp),
        };
        let record = MaintenanceRecord {
            tenant_id: tenant,
            message,
            ends_at,
            started_at: now,
        };
        let audit = audit_of(&record, "maintenance.on", by);
        self.store.put_maintenance(&record, &audit).await?;
        tracing::warn!(scope = %scope_name(record.tenant_id.as_ref()), by = by.as_str(), "maintenance on: new challenges get 503");
        self.refresh_maintenance().await?;
        Ok(self.status_of(&record, now))
    }

    /// Turns maintenance off for `tenant` (`None`: the relay-wide one), audited;
    /// answers whether it was on.
    pub async fn maintenance_off(
        &self,
        tenant: Option<&str>,
        by: Operator,
    ) -> Result<bool, MaintenanceError> {
        let tenant = self.known_tenant(tenant).await?;
        let now = self.now();
        let ended = self.end(tenant.as_ref(), None, by, now).await?;
        if ended {
            tracing::warn!(scope = %scope_name(tenant.as_ref()), by = by.as_str(), "maintenance off");
        }
        self.refresh_maintenance().await?;
        Ok(ended)
    }

    /// Every stored suspension in force, read from the store now (for operators).
    pub async fn maintenance_overview(&self) -> Result<MaintenanceOverview, StoreError> {
        self.refresh_maintenance().await?;
        let now = self.now();
        let rows = self.maintenance_rows.get();
        let stored_relay = rows
            .iter()
            .find(|r| r.tenant_id.is_none() && r.in_force(now));
        let relay = match stored_relay {
            Some(r) => self.status_of(r, now),
            None if self.local_maintenance() => self.status_of(
                &MaintenanceRecord {
                    tenant_id: None,
                    message: None,
                    ends_at: None,
                    started_at: now,
                },
                now,
            ),
            None => MaintenanceStatus::default(),
        };
        let tenants = rows
            .iter()
            .filter(|r| r.in_force(now))
            .filter_map(|r| {
                Some(TenantMaintenance {
                    tenant_id: r.tenant_id.clone()?,
                    status: self.status_of(r, now),
                })
            })
            .collect();
        Ok(MaintenanceOverview { relay, tenants })
    }

    /// Reads the stored suspensions into memory, first ending (deleting and auditing)
    /// those past their `until`. What [`watch`] does every [`POLL_INTERVAL`].
    pub async fn refresh_maintenance(&self) -> Result<(), StoreError> {
        let now = self.now();
        let mut rows = self.store.maintenance().await?;
        if rows.iter().any(|r| !r.in_force(now)) {
            for done in rows.iter().filter(|r| !r.in_force(now)) {
                // Conditional on the end: a suspension renewed meanwhile is kept.
                if self
                    .end(done.tenant_id.as_ref(), Some(now), Operator::Until, now)
                    .await?
                {
                    tracing::warn!(scope = %scope_name(done.tenant_id.as_ref()), "maintenance ended by itself (until)");
                }
            }
            rows = self.store.maintenance().await?;
        }
        // Relay-wide first: of two lasting as long, it is the one shown.
        rows.sort_by_key(|r| r.tenant_id.is_some());
        self.maintenance_rows.replace(rows);
        Ok(())
    }

    async fn end(
        &self,
        tenant: Option<&TenantId>,
        due: Option<i64>,
        by: Operator,
        now: i64,
    ) -> Result<bool, StoreError> {
        let audit = NewAudit {
            tenant_id: tenant.cloned(),
            event: "maintenance.off".into(),
            user_id: None,
            credential_id: None,
            challenge_id: None,
            detail: serde_json::json!({
                "scope": scope_of(tenant),
                "by": by.as_str(),
            }),
        };
        self.store
            .delete_maintenance(tenant, due, &audit, now)
            .await
    }

    /// Whether the tenant `slug` exists (`UnknownTenant` if not).
    pub async fn check_tenant(&self, slug: &str) -> Result<(), MaintenanceError> {
        self.known_tenant(Some(slug)).await.map(drop)
    }

    /// `tenant` parsed and checked to exist (`None` stays relay-wide).
    async fn known_tenant(
        &self,
        tenant: Option<&str>,
    ) -> Result<Option<TenantId>, MaintenanceError> {
        let Some(slug) = tenant else {
            return Ok(None);
        };
        let unknown = || MaintenanceError::UnknownTenant(slug.to_owned());
        let id: TenantId = slug.parse().map_err(|_| unknown())?;
        match found(self.store.tenant(&id).await)? {
            Some(_) => Ok(Some(id)),
            None => Err(unknown()),
        }
    }

    fn status_of(&self, r: &MaintenanceRecord, now: i64) -> MaintenanceStatus {
        let retry_after = match r.ends_at {
            Some(end) => u64::try_from(end - now).unwrap_or(0).max(1),
            None => u64::from(self.settings.maintenance.retry_after_seconds),
        };
        MaintenanceStatus {
            on: true,
            scope: Some(scope_of(r.tenant_id.as_ref())),
            message: r.message.clone(),
            since: Some(from_unix(r.started_at)),
            until: r.ends_at.map(from_unix),
            retry_after_seconds: Some(retry_after),
        }
    }
}

/// How long `r` lasts, for choosing between two in force (no end: longest).
fn lasts(r: &MaintenanceRecord) -> i64 {
    r.ends_at.unwrap_or(i64::MAX)
}

fn scope_of(tenant: Option<&TenantId>) -> MaintenanceScope {
    if tenant.is_some() {
        MaintenanceScope::Tenant
    } else {
        MaintenanceScope::Relay
    }
}

fn scope_name(tenant: Option<&TenantId>) -> String {
    tenant.map_or_else(|| "relay".to_owned(), |t| format!("tenant {t}"))
}

fn audit_of(r: &MaintenanceRecord, event: &str, by: Operator) -> NewAudit {
    NewAudit {
        tenant_id: r.tenant_id.clone(),
        event: event.into(),
        user_id: None,
        credential_id: None,
        challenge_id: None,
        detail: serde_json::json!({
            "scope": scope_of(r.tenant_id.as_ref()),
            "message": r.message,
            "until": r.ends_at.map(|t| from_unix(t).format(&Rfc3339).unwrap_or_default()),
            "by": by.as_str(),
        }),
    }
}

/// The announcement trimmed (empty = none), refused when too long or with control
/// characters other than line breaks and tabs.
fn check_message(message: Option<String>) -> Result<Option<String>, MaintenanceError> {
    let Some(message) = message else {
        return Ok(None);
    };
    let message = message.trim();
    if message.is_empty() {
        return Ok(None);
    }
    let chars = message.chars().count();
    if chars > MAX_MAINTENANCE_MESSAGE_CHARS {
        return Err(MaintenanceError::Invalid(format!(
            "message must be at most {MAX_MAINTENANCE_MESSAGE_CHARS} characters, got {chars}"
        )));
    }
    if message
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(MaintenanceError::Invalid(
            "message must be plain text: no control characters but line breaks and tabs".into(),
        ));
    }
    Ok(Some(message.to_owned()))
}

/// Reads the stored suspensions every [`POLL_INTERVAL`] until `shutdown` resolves.
pub async fn watch(service: Service, shutdown: crate::shutdown::Shutdown) {
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            () = shutdown.wait() => return,
            _ = tick.tick() => {}
        }
        match service.refresh_maintenance().await {
            Ok(()) if failing => {
                tracing::info!("maintenance state read again");
                failing = false;
            }
            // Logged once per outage; the last state read stays in force meanwhile.
            Err(e) if !failing => {
                tracing::error!(error = %e, "cannot read the maintenance state; keeping the last one read");
                failing = true;
            }
            Ok(()) | Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_trimmed_and_checked() {
        assert_eq!(check_message(None).unwrap(), None);
        assert_eq!(check_message(Some("  ".into())).unwrap(), None);
        assert_eq!(
            check_message(Some(" 障害のため停止中\n復旧は未定 ".into())).unwrap(),
            Some("障害のため停止中\n復旧は未定".into())
        );
        let long = "あ".repeat(MAX_MAINTENANCE_MESSAGE_CHARS + 1);
        assert!(
            check_message(Some(long))
                .unwrap_err()
                .to_string()
                .contains("500")
        );
        assert!(
            check_message(Some("bell\u{7}".into()))
                .unwrap_err()
                .to_string()
                .contains("control")
        );
    }

    #[test]
    fn a_suspension_without_end_lasts_longest() {
        let with_end = MaintenanceRecord {
            tenant_id: None,
            message: None,
            ends_at: Some(100),
            started_at: 0,
        };
        let open = MaintenanceRecord {
            ends_at: None,
            ..with_end.clone()
        };
        assert!(lasts(&open) > lasts(&with_end));
        assert!(with_end.in_force(99));
        assert!(!with_end.in_force(100));
        assert!(open.in_force(i64::MAX - 1));
    }
}
