//! The rows of an sqlx backend (compiled inside its module with `#[path]`, where
//! `super::Db` is its database): the columns the shared decoders
//! ([`crate::store::decode`]) read.

use sqlx::{Database, Row as _};

use super::Db;
use crate::store::StoreError;
use crate::store::decode::columns_by_get;

pub(super) use crate::store::decode::{
    CHALLENGE_SELECT, audit, binding, challenge, credential, offline, outbox, tenant,
};

/// A row of this backend.
pub(super) type DbRow = <Db as Database>::Row;

pub(super) fn get<'r, T>(row: &'r DbRow, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
{
    row.try_get(col)
        .map_err(|e| StoreError::Database(Box::new(e)))
}

// Named concretely: through the `DbRow` projection the compiler cannot tell it from
// SQLite's row type.
columns_by_get!(sqlx::postgres::PgRow);
