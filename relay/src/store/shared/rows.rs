//! Decoding rows into store records. Compiled inside each backend's module (`#[path]`),
//! where `super::Db` is that backend's sqlx database: the columns have the same names
//! and Rust types on SQLite and PostgreSQL (text, 64-bit integers, bytes, booleans).

use onepush_protocol::api::{AuditEvent, DecisionRecord};
use sqlx::{Database, Row as _};

use super::Db;
use crate::store::codec::{binding_state, json, parse, to_u32};
use crate::store::{
    BindingRecord, ChallengeRecord, CredentialRecord, OutboxMessage, StoreError, TenantRecord,
};

/// A row of this backend.
pub(super) type DbRow = <Db as Database>::Row;

/// The challenge columns, in the order [`challenge`] reads them.
pub(super) const CHALLENGE_SELECT: &str = "SELECT id, tenant_id, user_id, credential_id, kind, context, number, nonce, \
     status, created_at, expires_at, decided_at, reached_device, decision FROM challenges";

pub(super) fn get<'r, T>(row: &'r DbRow, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
{
    row.try_get(col)
        .map_err(|e| StoreError::Database(Box::new(e)))
}

fn text<T: std::str::FromStr>(row: &DbRow, col: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    parse(&get::<String>(row, col)?, col)
}

fn opt_text<T: std::str::FromStr>(row: &DbRow, col: &str) -> Result<Option<T>, StoreError>
where
    T::Err: std::fmt::Display,
{
    get::<Option<String>>(row, col)?
        .map(|t| parse(&t, col))
        .transpose()
}

fn u32_col(row: &DbRow, col: &str) -> Result<u32, StoreError> {
    to_u32(get(row, col)?, col)
}

pub(super) fn tenant(row: &DbRow) -> Result<TenantRecord, StoreError> {
    Ok(TenantRecord {
        id: text(row, "id")?,
        display_name: get(row, "display_name")?,
        webhook_url: get(row, "webhook_url")?,
        webhook_secret: get(row, "webhook_secret")?,
        otp_lock_threshold: u32_col(row, "otp_lock_threshold")?,
        push_fatigue_threshold: u32_col(row, "push_fatigue_threshold")?,
        push_fatigue_window_seconds: u32_col(row, "push_fatigue_window_seconds")?,
        created_at: get(row, "created_at")?,
    })
}

pub(super) fn credential(row: &DbRow) -> Result<CredentialRecord, StoreError> {
    let sub: Option<String> = get(row, "push_subscription")?;
    let step: Option<i64> = get(row, "last_used_step")?;
    Ok(CredentialRecord {
        id: text(row, "id")?,
        jwk: json(&get::<String>(row, "jwk")?, "jwk")?,
        totp_secret_sealed: get(row, "totp_secret")?,
        push_subscription: sub.map(|s| json(&s, "push subscription")).transpose()?,
        last_used_step: step
            .map(u64::try_from)
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        revoked_at: get(row, "revoked_at")?,
        created_at: get(row, "created_at")?,
    })
}

pub(super) fn binding(row: &DbRow) -> Result<BindingRecord, StoreError> {
    Ok(BindingRecord {
        tenant_id: text(row, "tenant_id")?,
        user_id: text(row, "user_id")?,
        credential_id: text(row, "credential_id")?,
        state: binding_state(&get::<String>(row, "state")?)?,
        lock_reason: get(row, "lock_reason")?,
        grace_until: get(row, "grace_until")?,
        failures: u32_col(row, "failures")?,
        drift_steps: get(row, "drift_steps")?,
        enrolled_at: get(row, "enrolled_at")?,
    })
}

pub(super) fn challenge(row: &DbRow) -> Result<ChallengeRecord, StoreError> {
    let number: Option<i64> = get(row, "number")?;
    let decision: Option<String> = get(row, "decision")?;
    let context: serde_json::Value = json(&get::<String>(row, "context")?, "context")?;
    Ok(ChallengeRecord {
        id: text(row, "id")?,
        tenant_id: text(row, "tenant_id")?,
        user_id: text(row, "user_id")?,
        credential_id: text(row, "credential_id")?,
        kind: text(row, "kind")?,
        context: onepush_protocol::Context::from_value(context)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        number: number
            .map(u8::try_from)
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        nonce: get(row, "nonce")?,
        status: text(row, "status")?,
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
        decided_at: get(row, "decided_at")?,
        reached_device: get(row, "reached_device")?,
        decision: decision
            .map(|d| json::<DecisionRecord>(&d, "decision"))
            .transpose()?,
    })
}

pub(super) fn audit(row: &DbRow) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        seq: get(row, "seq")?,
        at: crate::clock::from_unix(get(row, "at")?),
        event: get(row, "event")?,
        user_id: opt_text(row, "user_id")?,
        credential_id: opt_text(row, "credential_id")?,
        challenge_id: opt_text(row, "challenge_id")?,
        detail: json(&get::<String>(row, "detail")?, "audit detail")?,
    })
}

pub(super) fn outbox(row: &DbRow) -> Result<OutboxMessage, StoreError> {
    Ok(OutboxMessage {
        id: get(row, "id")?,
        tenant_id: text(row, "tenant_id")?,
        body: get(row, "body")?,
        created_at: get(row, "created_at")?,
        attempts: u32_col(row, "attempts")?,
    })
}
