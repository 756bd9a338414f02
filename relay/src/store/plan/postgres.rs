//! The PostgreSQL executor: statements on one pooled connection (or its transaction),
//! prepared once per connection (sqlx's statement cache).

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{PgConnection, Postgres, Row as _};

use super::{Arg, Columns, Conn, Dialect, Stmt};
use crate::store::StoreError;

fn get<'r, T>(row: &'r PgRow, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(col)
        .map_err(|e| StoreError::Database(Box::new(e)))
}

impl Columns for PgRow {
    fn text(&self, col: &str) -> Result<Option<String>, StoreError> {
        get(self, col)
    }

    fn int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        get(self, col)
    }

    fn bytes(&self, col: &str) -> Result<Option<Vec<u8>>, StoreError> {
        get(self, col)
    }

    fn flag(&self, col: &str) -> Result<Option<bool>, StoreError> {
        get(self, col)
    }

    fn ints(&self, col: &str) -> Result<Vec<i64>, StoreError> {
        get(self, col)
    }
}

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
