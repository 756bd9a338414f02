//! Maintenance at run time (R18; seed 003 art. 5.4: the bank may suspend one-push during
//! a system failure and announces it). The bodies of the bank's read
//! (`GET /v1/maintenance`), of the `maintenance` problem, and of the operator's routes on
//! the relay's operations listener. Re-exported from [`crate::api`].

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::TenantId;

/// Longest announcement an operator may set, in characters.
pub const MAX_MAINTENANCE_MESSAGE_CHARS: usize = 500;

/// Whom a suspension covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MaintenanceScope {
    /// Every bank on the relay (the relay operator's outage).
    Relay,
    /// One bank (tenant).
    Tenant,
}

/// Whether one-push is suspended for a bank now (`GET /v1/maintenance`), and the
/// `maintenance` field of a 503 `maintenance` problem. When both the relay-wide and the
/// bank's own suspension are on, this is the one that lasts longer (no end counts as the
/// longest; on a tie, the relay-wide one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MaintenanceStatus {
    /// True while new challenges are refused with 503 `maintenance`.
    pub on: bool,
    /// Whom the suspension in force covers (absent when `on` is false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<MaintenanceScope>,
    /// The operator's announcement, for the bank to show its customers (plain text, at
    /// most 500 characters); absent when none was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When it was turned on (RFC 3339).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub since: Option<OffsetDateTime>,
    /// When it ends by itself (RFC 3339); absent: until an operator turns it off.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub until: Option<OffsetDateTime>,
    /// Seconds after which to try again: up to `until` when it has one, else the relay's
    /// `maintenance_retry_after_seconds` (the 503's `Retry-After`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

/// `PUT /maintenance` and `PUT /maintenance/{tenant}` on the operations listener: turn
/// maintenance on (or change its announcement or end).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetMaintenance {
    /// The announcement for customers (plain text, 1 to 500 characters, no control
    /// characters but line breaks).
    #[serde(default)]
    pub message: Option<String>,
    /// When it ends by itself (RFC 3339, in the future); absent: until turned off.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub until: Option<OffsetDateTime>,
}

/// One bank's own suspension in a [`MaintenanceOverview`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantMaintenance {
    /// The bank.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub tenant_id: TenantId,
    /// Its suspension (its own row only, not the relay-wide one).
    #[serde(flatten)]
    pub status: MaintenanceStatus,
}

/// `GET /maintenance` on the operations listener (and `onepush-relay maintenance status
/// --json`): the relay-wide suspension and every bank's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MaintenanceOverview {
    /// The relay-wide suspension (every bank); `on` is also true when this relay was
    /// started with the setting `maintenance = true`.
    pub relay: MaintenanceStatus,
    /// The banks with a suspension of their own in force, by slug.
    pub tenants: Vec<TenantMaintenance>,
}
