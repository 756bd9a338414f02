//! The PostgreSQL executor: statements on one pooled connection (or its transaction),
//! prepared once per connection (sqlx's statement cache).

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{PgConnection, Postgres, Row as _};

use super::{Arg, Columns, Conn, Dialect, Stmt};
use crate::store::StoreError;
use crate::store::decode::columns_by_get;

fn get<'r, T>(row: &'r PgRow, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(col)
        .map_err(|e| StoreError::Database(Box::new(e)))
}

fn ints(row: &PgRow, col: &str) -> Result<Vec<i64>, StoreError> {
    get(row, col)
}

columns_by_get!(PgRow);

/// `stmt` as an sqlx query, its arguments bound in order.
fn query<'q>(stmt: &'q Stmt<'_>) -> Query<'q, Postgres, PgArguments> {
    let mut q = sqlx::query(stmt.sql);
    for arg in &stmt.args {
        q = match arg {
            Arg::Int(v) => q.bind(*v),
            Arg::Text(v) => q.bind(v.as_deref()),
            Arg::Blob(v) => q.bind(v.as_deref()),
            Arg::Bool(v) => q.bind(*v),
        };
    }
    q
}

impl Conn for PgConnection {
    const DIALECT: Dialect = Dialect::Postgres;

    async fn execute(&mut self, stmt: Stmt<'_>) -> Result<u64, StoreError> {
        let done = query(&stmt)
            .execute(&mut *self)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(done.rows_affected())
    }

    async fn rows<T: Send>(
        &mut self,
        stmt: Stmt<'_>,
        mut decode: impl FnMut(&dyn Columns) -> Result<T, StoreError> + Send,
    ) -> Result<Vec<T>, StoreError> {
        let rows = query(&stmt)
            .fetch_all(&mut *self)
            .await
            .map_err(StoreError::from_sqlx)?;
        rows.iter().map(|r| decode(r as &dyn Columns)).collect()
    }
}
