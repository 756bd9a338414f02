//! Decoding SQLite rows into store records (columns by name, as in the migrations).

use onepush_protocol::api::{AuditEvent, DecisionRecord};
use rusqlite::Row;
use rusqlite::types::FromSql;

use super::db;
use crate::store::codec::{binding_state, json, parse, to_u32};
use crate::store::{
    BindingRecord, ChallengeRecord, CredentialRecord, OutboxMessage, StoreError, TenantRecord,
};

/// The challenge columns [`challenge`] reads.
pub(super) const CHALLENGE_SELECT: &str = "SELECT id, tenant_id, user_id, credential_id, kind, context, number, nonce, \
     status, created_at, expires_at, decided_at, reached_device, decision FROM challenges";

pub(super) fn get<T: FromSql>(row: &Row<'_>, col: &str) -> Result<T, StoreError> {
    row.get(col).map_err(db)
}

fn text<T: std::str::FromStr>(row: &Row<'_>, col: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    parse(&get::<String>(row, col)?, col)
}

fn opt_text<T: std::str::FromStr>(row: &Row<'_>, col: &str) -> Result<Option<T>, StoreError>
where
    T::Err: std::fmt::Display,
{
    get::<Option<String>>(row, col)?
        .map(|t| parse(&t, col))
        .transpose()
}

fn u32_col(row: &Row<'_>, col: &str) -> Result<u32, StoreError> {
    to_u32(get(row, col)?, col)
}

pub(super) fn tenant(row: &Row<'_>) -> Result<TenantRecord, StoreError> {
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

pub(super) fn credential(row: &Row<'_>) -> Result<CredentialRecord, StoreError> {
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

pub(super) fn binding(row: &Row<'_>) -> Result<BindingRecord, StoreError> {
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

pub(super) fn challenge(row: &Row<'_>) -> Result<ChallengeRecord, StoreError> {
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

pub(super) fn audit(row: &Row<'_>) -> Result<AuditEvent, StoreError> {
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

pub(super) fn outbox(row: &Row<'_>) -> Result<OutboxMessage, StoreError> {
    Ok(OutboxMessage {
        id: get(row, "id")?,
        tenant_id: text(row, "tenant_id")?,
        body: get(row, "body")?,
        created_at: get(row, "created_at")?,
        attempts: u32_col(row, "attempts")?,
    })
}

/// Runs a cached query and decodes every row with `f`.
pub(super) fn all<T>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl Fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(db)?;
    let mut rows = stmt.query(params).map_err(db)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db)? {
        out.push(f(row)?);
    }
    Ok(out)
}

/// Runs a cached query and decodes its one row with `f` (`NotFound` if none).
pub(super) fn one<T>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(db)?;
    let mut rows = stmt.query(params).map_err(db)?;
    match rows.next().map_err(db)? {
        Some(row) => f(row),
        None => Err(StoreError::NotFound),
    }
}

/// Runs a cached statement; answers the rows it changed.
pub(super) fn exec(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<usize, StoreError> {
    conn.prepare_cached(sql)
        .map_err(db)?
        .execute(params)
        .map_err(db)
}
