//! Decoding rows into store records, once for both backends. Each backend's row type
//! answers a column by name and SQL type ([`Columns`]); the columns have the same names
//! on SQLite and PostgreSQL (as in the migrations), so the records are built here.

use onepush_protocol::api::{AuditEvent, DecisionRecord};

use super::codec::{binding_state, json, parse, to_u32};
use super::{
    BindingRecord, ChallengeRecord, CredentialRecord, OfflineRecord, OutboxMessage, StoreError,
    TenantRecord,
};

/// One row of a backend, read by column name (`None` for SQL `NULL`).
pub trait Columns {
    /// A text column.
    fn text(&self, col: &str) -> Result<Option<String>, StoreError>;
    /// A 64-bit integer column.
    fn int(&self, col: &str) -> Result<Option<i64>, StoreError>;
    /// A byte-string column.
    fn bytes(&self, col: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// A boolean column (an integer 0 or 1 on SQLite).
    fn flag(&self, col: &str) -> Result<Option<bool>, StoreError>;
    /// An array of 64-bit integers (PostgreSQL: an array; SQLite: a JSON array).
    fn ints(&self, col: &str) -> Result<Vec<i64>, StoreError>;
}

/// Implements [`Columns`] for a backend's row type `$row` with the `get(row, col)` and
/// `ints(row, col)` in scope where it is invoked (each backend has them, over its own
/// driver's decoding traits).
macro_rules! columns_by_get {
    ($row:ty) => {
        impl $crate::store::decode::Columns for $row {
            fn text(&self, col: &str) -> Result<Option<String>, $crate::store::StoreError> {
                get(self, col)
            }

            fn int(&self, col: &str) -> Result<Option<i64>, $crate::store::StoreError> {
                get(self, col)
            }

            fn bytes(&self, col: &str) -> Result<Option<Vec<u8>>, $crate::store::StoreError> {
                get(self, col)
            }

            fn flag(&self, col: &str) -> Result<Option<bool>, $crate::store::StoreError> {
                get(self, col)
            }

            fn ints(&self, col: &str) -> Result<Vec<i64>, $crate::store::StoreError> {
                ints(self, col)
            }
        }
    };
}
pub(crate) use columns_by_get;

/// A column the schema declares `NOT NULL`.
fn required<T>(value: Option<T>, col: &str) -> Result<T, StoreError> {
    value.ok_or_else(|| StoreError::Corrupt(format!("{col} is NULL")))
}

/// A `NOT NULL` text column.
pub(crate) fn string(row: &dyn Columns, col: &str) -> Result<String, StoreError> {
    required(row.text(col)?, col)
}

/// A `NOT NULL` integer column.
pub(crate) fn int(row: &dyn Columns, col: &str) -> Result<i64, StoreError> {
    required(row.int(col)?, col)
}

/// A `NOT NULL` bytes column.
pub(crate) fn bytes(row: &dyn Columns, col: &str) -> Result<Vec<u8>, StoreError> {
    required(row.bytes(col)?, col)
}

/// A count column as `u32` (saturating).
pub(crate) fn count(row: &dyn Columns, col: &str) -> Result<u32, StoreError> {
    Ok(u32::try_from(int(row, col)?).unwrap_or(u32::MAX))
}

/// A text column parsed as `T`.
fn parsed<T: std::str::FromStr>(row: &dyn Columns, col: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    parse(&string(row, col)?, col)
}

fn opt_parsed<T: std::str::FromStr>(row: &dyn Columns, col: &str) -> Result<Option<T>, StoreError>
where
    T::Err: std::fmt::Display,
{
    row.text(col)?.map(|t| parse(&t, col)).transpose()
}

fn u32_col(row: &dyn Columns, col: &str) -> Result<u32, StoreError> {
    to_u32(int(row, col)?, col)
}

pub(crate) fn tenant(row: &dyn Columns) -> Result<TenantRecord, StoreError> {
    Ok(TenantRecord {
        id: parsed(row, "id")?,
        display_name: string(row, "display_name")?,
        webhook_url: row.text("webhook_url")?,
        webhook_secret: row.bytes("webhook_secret_sealed")?.map(super::SealedSecret),
        otp_lock_threshold: u32_col(row, "otp_lock_threshold")?,
        push_fatigue_threshold: u32_col(row, "push_fatigue_threshold")?,
        push_fatigue_window_seconds: u32_col(row, "push_fatigue_window_seconds")?,
        created_at: int(row, "created_at")?,
    })
}

pub(crate) fn credential(row: &dyn Columns) -> Result<CredentialRecord, StoreError> {
    Ok(CredentialRecord {
        id: parsed(row, "id")?,
        jwk: json(&string(row, "jwk")?, "jwk")?,
        totp_secret_sealed: required(row.bytes("totp_secret")?, "totp_secret")?,
        ocra_key_sealed: row.bytes("ocra_key")?,
        push_subscription: row
            .text("push_subscription")?
            .map(|s| json(&s, "push subscription"))
            .transpose()?,
        kind: parsed(row, "kind")?,
        last_used_step: row
            .int("last_used_step")?
            .map(u64::try_from)
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        revoked_at: row.int("revoked_at")?,
        created_at: int(row, "created_at")?,
    })
}

pub(crate) fn binding(row: &dyn Columns) -> Result<BindingRecord, StoreError> {
    Ok(BindingRecord {
        tenant_id: parsed(row, "tenant_id")?,
        user_id: parsed(row, "user_id")?,
        credential_id: parsed(row, "credential_id")?,
        kind: parsed(row, "kind")?,
        state: binding_state(&string(row, "state")?)?,
        lock_reason: row.text("lock_reason")?,
        grace_until: row.int("grace_until")?,
        failures: u32_col(row, "failures")?,
        drift_steps: int(row, "drift_steps")?,
        enrolled_at: int(row, "enrolled_at")?,
    })
}

pub(crate) fn challenge(row: &dyn Columns) -> Result<ChallengeRecord, StoreError> {
    let context: serde_json::Value = json(&string(row, "context")?, "context")?;
    Ok(ChallengeRecord {
        id: parsed(row, "id")?,
        tenant_id: parsed(row, "tenant_id")?,
        user_id: parsed(row, "user_id")?,
        credential_id: parsed(row, "credential_id")?,
        kind: parsed(row, "kind")?,
        context: onepush_protocol::Context::from_value(context)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        number: row
            .int("number")?
            .map(u8::try_from)
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        nonce: string(row, "nonce")?,
        status: parsed(row, "status")?,
        created_at: int(row, "created_at")?,
        expires_at: int(row, "expires_at")?,
        decided_at: row.int("decided_at")?,
        reached_device: required(row.flag("reached_device")?, "reached_device")?,
        decision: row
            .text("decision")?
            .map(|d| json::<DecisionRecord>(&d, "decision"))
            .transpose()?,
    })
}

pub(crate) fn offline(row: &dyn Columns) -> Result<OfflineRecord, StoreError> {
    let context: serde_json::Value = json(&string(row, "context")?, "context")?;
    Ok(OfflineRecord {
        id: parsed(row, "id")?,
        tenant_id: parsed(row, "tenant_id")?,
        user_id: parsed(row, "user_id")?,
        credential_id: parsed(row, "credential_id")?,
        kind: parsed(row, "kind")?,
        context: onepush_protocol::Context::from_value(context)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        nonce: string(row, "nonce")?,
        created_at: int(row, "created_at")?,
        expires_at: int(row, "expires_at")?,
        used_at: row.int("used_at")?,
    })
}

pub(crate) fn audit(row: &dyn Columns) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        seq: int(row, "seq")?,
        at: crate::clock::from_unix(int(row, "at")?),
        event: string(row, "event")?,
        user_id: opt_parsed(row, "user_id")?,
        credential_id: opt_parsed(row, "credential_id")?,
        challenge_id: opt_parsed(row, "challenge_id")?,
        detail: json(&string(row, "detail")?, "audit detail")?,
    })
}

pub(crate) fn outbox(row: &dyn Columns) -> Result<OutboxMessage, StoreError> {
    Ok(OutboxMessage {
        id: string(row, "id")?,
        tenant_id: parsed(row, "tenant_id")?,
        body: required(row.bytes("body")?, "body")?,
        created_at: int(row, "created_at")?,
        attempts: u32_col(row, "attempts")?,
    })
}
