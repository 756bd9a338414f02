//! The SQLite executor: statements run at once on the writer connection (see
//! [`crate::store::sqlite`]), prepared once per connection (`prepare_cached`).

use std::future::{Future, ready};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use rusqlite::types::{FromSql, Null, ToSqlOutput};
use rusqlite::{CachedStatement, Connection, Row, ToSql};

use super::{Arg, Columns, Conn, Dialect, Stmt};
use crate::store::StoreError;
use crate::store::codec::json;
use crate::store::decode::columns_by_get;
use crate::store::sqlite::engine::db;

/// A statement's column names, asked of SQLite once per run: `Row::get` by name asks
/// SQLite for each column's name (a C string checked as UTF-8) until it finds the one
/// asked for, so a row of 14 columns read by name cost about a hundred such calls.
#[derive(Debug)]
struct Names {
    /// The names, one after another.
    all: String,
    /// Where each name ends in `all`.
    ends: Vec<usize>,
}

impl Names {
    fn of(stmt: &rusqlite::Statement<'_>) -> Self {
        let count = stmt.column_count();
        // Room for the usual names at once: growing the two is as dear as reading them.
        let mut names = Self {
            all: String::with_capacity(count * 16),
            ends: Vec::with_capacity(count),
        };
        for i in 0..count {
            // Fails only for a name that is not UTF-8, which no `&str` asked for matches.
            if let Ok(name) = stmt.column_name(i) {
                names.all.push_str(name);
            }
            names.ends.push(names.all.len());
        }
        names
    }

    /// The index of column `col`, matched as SQLite and `Row::get` match names (ASCII
    /// case ignored; the first of equal names).
    fn index(&self, col: &str) -> Option<usize> {
        let (all, col) = (self.all.as_bytes(), col.as_bytes());
        let mut start = 0;
        for (i, &end) in self.ends.iter().enumerate() {
            if all.get(start..end)?.eq_ignore_ascii_case(col) {
                return Some(i);
            }
            start = end;
        }
        None
    }
}

/// A row with its statement's column names.
struct Named<'r, 's> {
    row: &'r Row<'s>,
    names: &'r Names,
}

impl ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Self::Int(Some(v)) => ToSqlOutput::from(*v),
            Self::Text(Some(s)) => ToSqlOutput::from(s.as_ref()),
            Self::Blob(Some(b)) => ToSqlOutput::from(b.as_ref()),
            Self::Bool(b) => ToSqlOutput::from(*b),
            Self::Int(None) | Self::Text(None) | Self::Blob(None) => ToSqlOutput::from(Null),
        })
    }
}

fn get<T: FromSql>(row: &Named<'_, '_>, col: &str) -> Result<T, StoreError> {
    let Some(i) = row.names.index(col) else {
        return Err(db(rusqlite::Error::InvalidColumnName(col.to_owned())));
    };
    row.row.get(i).map_err(db)
}

/// SQLite has no arrays: a statement answers one as a JSON array (`json_group_array`).
fn ints(row: &Named<'_, '_>, col: &str) -> Result<Vec<i64>, StoreError> {
    match get::<Option<String>>(row, col)? {
        Some(array) => json(&array, col),
        None => Ok(Vec::new()),
    }
}

columns_by_get!(Named<'_, '_>);

/// Prepares (or takes from the cache) `stmt` and binds its arguments by position.
fn bind<'c>(conn: &'c Connection, stmt: &Stmt<'_>) -> Result<CachedStatement<'c>, StoreError> {
    let mut prepared = conn.prepare_cached(stmt.sql).map_err(db)?;
    let count = prepared.parameter_count();
    if count != stmt.args.len() {
        return Err(StoreError::Database(
            format!(
                "{} parameters, {} arguments: {}",
                count,
                stmt.args.len(),
                stmt.sql
            )
            .into(),
        ));
    }
    if cfg!(debug_assertions) {
        check_order(&prepared, stmt.sql)?;
    }
    for (i, arg) in stmt.args.iter().enumerate() {
        prepared.raw_bind_parameter(i + 1, arg).map_err(db)?;
    }
    Ok(prepared)
}

/// SQLite numbers `$N` parameters by first appearance: `$1..$N` must appear in order.
pub(super) fn check_order(prepared: &rusqlite::Statement<'_>, sql: &str) -> Result<(), StoreError> {
    for i in 1..=prepared.parameter_count() {
        let expected = format!("${i}");
        if prepared.parameter_name(i) != Some(expected.as_str()) {
            return Err(StoreError::Database(
                format!("parameter {i} is not {expected} in {sql}").into(),
            ));
        }
    }
    Ok(())
}

fn execute_now(conn: &Connection, stmt: &Stmt<'_>) -> Result<u64, StoreError> {
    let mut prepared = bind(conn, stmt)?;
    let changed = prepared.raw_execute().map_err(db)?;
    Ok(u64::try_from(changed).unwrap_or(u64::MAX))
}

fn rows_now<T>(
    conn: &Connection,
    stmt: &Stmt<'_>,
    mut decode: impl FnMut(&dyn Columns) -> Result<T, StoreError> + Send,
) -> Result<Vec<T>, StoreError> {
    let mut prepared = bind(conn, stmt)?;
    let mut rows = prepared.raw_query();
    let mut out = Vec::new();
    let mut names = None;
    while let Some(row) = rows.next().map_err(db)? {
        let names = match &mut names {
            Some(names) => names,
            None => names.insert(Names::of(row.as_ref())),
        };
        out.push(decode(&Named { row, names } as &dyn Columns)?);
    }
    Ok(out)
}

impl Conn for Connection {
    const DIALECT: Dialect = Dialect::Sqlite;

    fn execute(&mut self, stmt: Stmt<'_>) -> impl Future<Output = Result<u64, StoreError>> + Send {
        ready(execute_now(self, &stmt))
    }

    fn rows<T: Send>(
        &mut self,
        stmt: Stmt<'_>,
        decode: impl FnMut(&dyn Columns) -> Result<T, StoreError> + Send,
    ) -> impl Future<Output = Result<Vec<T>, StoreError>> + Send {
        ready(rows_now(self, &stmt, decode))
    }
}

/// Runs a method's body to its end on this thread: its statements complete at once (see
/// [`Conn for Connection`](Connection)), so its future never waits.
pub(crate) fn now<T>(body: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
    match pin!(body).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => Err(StoreError::Database(
            "a SQLite store method waited for something other than its statements".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::plan::stmt;

    #[test]
    fn dollar_parameters_bind_by_their_number_when_they_appear_in_order() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (a INTEGER, b TEXT)")
            .unwrap();
        let inserted = now(Conn::execute(
            &mut conn,
            stmt!(
                "INSERT INTO t (a, b) SELECT $1, $2 WHERE $1 > 0",
                7_i64,
                "seven"
            ),
        ))
        .unwrap();
        assert_eq!(inserted, 1);
        let read = now(conn.one(
            stmt!("SELECT a, b FROM t WHERE b = $1 AND a = $2", "seven", 7_i64),
            |r: &dyn Columns| Ok((r.int("a")?, r.text("b")?)),
        ))
        .unwrap();
        assert_eq!(read, (Some(7), Some("seven".to_owned())));
    }

    #[test]
    fn parameters_out_of_order_are_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (a INTEGER, b TEXT)")
            .unwrap();
        let err = now(Conn::execute(
            &mut conn,
            stmt!("UPDATE t SET b = $2 WHERE a = $1", 1_i64, "x"),
        ))
        .unwrap_err();
        assert!(err.to_string().contains("parameter 1 is not $1"), "{err}");
        let err = now(Conn::execute(
            &mut conn,
            stmt!("UPDATE t SET b = $1 WHERE a = $2", "x"),
        ))
        .unwrap_err();
        assert!(
            err.to_string().contains("2 parameters, 1 arguments"),
            "{err}"
        );
    }
}
