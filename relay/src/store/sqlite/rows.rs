//! SQLite rows: the columns the shared decoders ([`crate::store::decode`]) read, and
//! running cached statements.

use onepush_protocol::api::AuditEvent;
use rusqlite::Row;
use rusqlite::types::FromSql;

use super::db;
use crate::store::decode::{self, columns_by_get};
use crate::store::{
    BindingRecord, ChallengeRecord, CredentialRecord, OfflineRecord, OutboxMessage, StoreError,
    TenantRecord,
};

pub(super) use crate::store::decode::CHALLENGE_SELECT;

pub(super) fn get<T: FromSql>(row: &Row<'_>, col: &str) -> Result<T, StoreError> {
    row.get(col).map_err(db)
}

columns_by_get!(Row<'_>);

/// The shared decoders as functions of this backend's row (what [`one`] and [`all`] take:
/// a generic function cannot stand for every lifetime of `Row`).
macro_rules! decoders {
    ($($name:ident -> $record:ty),* $(,)?) => {$(
        pub(super) fn $name(row: &Row<'_>) -> Result<$record, StoreError> {
            decode::$name(row)
        }
    )*};
}

decoders!(
    tenant -> TenantRecord,
    credential -> CredentialRecord,
    binding -> BindingRecord,
    challenge -> ChallengeRecord,
    audit -> AuditEvent,
    outbox -> OutboxMessage,
    offline -> OfflineRecord,
);

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
