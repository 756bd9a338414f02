//! The store written once: each statement is one SQL text with `$1..$N` parameters and
//! typed arguments ([`Stmt`]), each store method one `async fn` over a connection
//! ([`Conn`]) that runs its statements, checks their guards ("changed a row",
//! "a row came back") and decodes their rows ([`Columns`]).
//!
//! Two small executors run a method ([`Runner`]): SQLite as one job on its writer
//! connection (a write in the writer's group commit; every statement completes at once,
//! so the method's future is polled to its end inside the job), PostgreSQL on one pooled
//! connection, in a transaction when the method asks for one ([`Mode::Transaction`]),
//! with its statements prepared once per connection (sqlx caches them). Where the SQL
//! really differs (`FOR UPDATE`, `SKIP LOCKED`, arrays, a one-statement hot path that PostgreSQL
//! needs to save round trips), a method asks [`Conn::DIALECT`].
//!
//! SQLite reads `$N` as a *named* parameter whose index is its order of first appearance,
//! so a statement binds on both backends only if `$1..$N` first appear in that order: the
//! SQLite executor checks this in debug builds (every test run), and the argument count
//! always (`plan::sqlite::tests`).

mod postgres;
mod sqlite;

pub(crate) use sqlite::now;

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

pub use super::decode::Columns;
pub(crate) use super::decode::{bytes, count, int, string as text};
use super::{Store, StoreError};

/// Which SQL a connection speaks, where the two differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (one connection: every write is serialised already).
    Sqlite,
    /// PostgreSQL (several relays, several connections).
    Postgres,
}

/// One typed argument of a statement (`None`: SQL `NULL` of that type).
#[derive(Debug, Clone)]
pub enum Arg<'a> {
    /// A 64-bit integer.
    Int(Option<i64>),
    /// Text.
    Text(Option<Cow<'a, str>>),
    /// Bytes.
    Blob(Option<Cow<'a, [u8]>>),
    /// A boolean (an integer 0 or 1 on SQLite).
    Bool(bool),
}

/// One statement: its SQL text (`$1..$N`, first appearing in that order) and arguments.
#[derive(Debug, Clone)]
pub struct Stmt<'a> {
    pub sql: &'static str,
    pub args: Vec<Arg<'a>>,
}

/// `stmt!(SQL, arg, …)`: a [`Stmt`] with each argument converted by `Arg::from`.
macro_rules! stmt {
    ($sql:expr $(, $arg:expr)* $(,)?) => {
        $crate::store::plan::Stmt { sql: $sql, args: vec![$($crate::store::plan::Arg::from($arg)),*] }
    };
}
pub(crate) use stmt;

/// `Arg::from` for each `type => |value| variant`.
macro_rules! args_from {
    ($($t:ty => |$v:ident| $arg:expr),* $(,)?) => {$(
        impl<'a> From<$t> for Arg<'a> {
            fn from($v: $t) -> Self {
                $arg
            }
        }
    )*};
}

args_from!(
    i64 => |v| Arg::Int(Some(v)),
    u32 => |v| Arg::Int(Some(i64::from(v))),
    Option<i64> => |v| Arg::Int(v),
    bool => |v| Arg::Bool(v),
    &'a str => |v| Arg::Text(Some(Cow::Borrowed(v))),
    &'a String => |v| Arg::Text(Some(Cow::Borrowed(v))),
    String => |v| Arg::Text(Some(Cow::Owned(v))),
    Option<&'a str> => |v| Arg::Text(v.map(Cow::Borrowed)),
    &'a Option<String> => |v| Arg::Text(v.as_deref().map(Cow::Borrowed)),
    Option<String> => |v| Arg::Text(v.map(Cow::Owned)),
    &'a [u8] => |v| Arg::Blob(Some(Cow::Borrowed(v))),
    &'a Vec<u8> => |v| Arg::Blob(Some(Cow::Borrowed(v))),
    Option<&'a [u8]> => |v| Arg::Blob(v.map(Cow::Borrowed)),
);

impl Arg<'_> {
    /// The same argument, owning its value.
    fn into_owned(self) -> Arg<'static> {
        match self {
            Self::Int(v) => Arg::Int(v),
            Self::Text(v) => Arg::Text(v.map(|v| Cow::Owned(v.into_owned()))),
            Self::Blob(v) => Arg::Blob(v.map(|v| Cow::Owned(v.into_owned()))),
            Self::Bool(v) => Arg::Bool(v),
        }
    }
}

impl Stmt<'_> {
    /// The same statement, owning its arguments (as a method's inputs must: on SQLite it
    /// may run in another caller's batch).
    pub fn into_owned(self) -> Stmt<'static> {
        Stmt {
            sql: self.sql,
            args: self.args.into_iter().map(Arg::into_owned).collect(),
        }
    }
}

/// A method that is one statement, run as a method of its own.
impl Store {
    /// Runs `stmt`, a write; answers how many rows it changed.
    pub(crate) async fn execute(&self, stmt: Stmt<'_>) -> Result<u64, StoreError> {
        let stmt = stmt.into_owned();
        run!(self, Mode::Write, |c| c.execute(stmt).await).await
    }

    /// Runs `stmt`, a write that must change one row (`NotFound` if it changed none).
    pub(crate) async fn changes_one(&self, stmt: Stmt<'_>) -> Result<(), StoreError> {
        match self.execute(stmt).await? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    /// Runs `stmt` as `mode` says; answers its rows, each decoded with `decode`.
    pub(crate) async fn rows<T, D>(
        &self,
        mode: Mode,
        stmt: Stmt<'_>,
        decode: D,
    ) -> Result<Vec<T>, StoreError>
    where
        T: Send + 'static,
        D: FnMut(&dyn Columns) -> Result<T, StoreError> + Send + 'static,
    {
        let stmt = stmt.into_owned();
        run!(self, mode, |c| c.rows(stmt, decode).await).await
    }

    /// Runs `stmt` as `mode` says; answers its first row decoded, `None` if it gave none.
    pub(crate) async fn optional<T, D>(
        &self,
        mode: Mode,
        stmt: Stmt<'_>,
        decode: D,
    ) -> Result<Option<T>, StoreError>
    where
        T: Send + 'static,
        D: FnMut(&dyn Columns) -> Result<T, StoreError> + Send + 'static,
    {
        Ok(self.rows(mode, stmt, decode).await?.into_iter().next())
    }

    /// Runs `stmt` as `mode` says; answers its first row decoded (`NotFound` if it gave
    /// none).
    pub(crate) async fn one<T, D>(
        &self,
        mode: Mode,
        stmt: Stmt<'_>,
        decode: D,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        D: FnMut(&dyn Columns) -> Result<T, StoreError> + Send + 'static,
    {
        self.optional(mode, stmt, decode)
            .await?
            .ok_or(StoreError::NotFound)
    }
}

/// A connection a method runs its statements on.
pub trait Conn: Send {
    /// Its SQL, where the backends differ.
    const DIALECT: Dialect;

    /// Runs `stmt`; answers how many rows it changed.
    fn execute(&mut self, stmt: Stmt<'_>) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Runs `stmt`; answers its rows, each decoded with `decode`.
    fn rows<T: Send>(
        &mut self,
        stmt: Stmt<'_>,
        decode: impl FnMut(&dyn Columns) -> Result<T, StoreError> + Send,
    ) -> impl Future<Output = Result<Vec<T>, StoreError>> + Send;

    /// Runs `stmt`; answers its first row decoded, `None` if it gave none.
    fn optional<T: Send>(
        &mut self,
        stmt: Stmt<'_>,
        decode: impl FnMut(&dyn Columns) -> Result<T, StoreError> + Send,
    ) -> impl Future<Output = Result<Option<T>, StoreError>> + Send {
        async move { Ok(self.rows(stmt, decode).await?.into_iter().next()) }
    }

    /// Runs `stmt`; answers its first row decoded (`NotFound` if it gave none).
    fn one<T: Send>(
        &mut self,
        stmt: Stmt<'_>,
        decode: impl FnMut(&dyn Columns) -> Result<T, StoreError> + Send,
    ) -> impl Future<Output = Result<T, StoreError>> + Send {
        async move {
            self.optional(stmt, decode)
                .await?
                .ok_or(StoreError::NotFound)
        }
    }
}

/// How a method runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Reads only.
    Read,
    /// One statement that writes (atomic on its own).
    Write,
    /// Several statements, all or nothing (committed when the method answers `Ok`).
    Transaction,
}

/// A method's body: given the connection, its future (owning its inputs).
pub type Body<'c, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'c>>;

/// A backend: runs a method's body on one of its connections.
pub trait Runner: Send + Sync + 'static {
    /// The connection a body runs on.
    type Conn: Conn;

    /// Runs `body` as `mode` says.
    fn run<T, F>(&self, mode: Mode, body: F) -> impl Future<Output = Result<T, StoreError>> + Send
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Self::Conn) -> Body<'c, T> + Send + 'static;
}

/// `run!(store, Mode::…, |c| body)`: a future that runs `body` (an expression using the
/// connection `c` and the moved inputs) as one method on the [`Store`](crate::store::Store)'s
/// backend. The body is written once and compiled for each backend's connection. The
/// PostgreSQL future (a pooled connection's, several KiB) is boxed, so that a SQLite
/// call's future, which every caller's future holds, stays a few hundred bytes.
macro_rules! run {
    ($store:expr, $mode:expr, |$c:ident| $body:expr) => {{
        let store: &$crate::store::Store = $store;
        let mode: $crate::store::plan::Mode = $mode;
        async move {
            match store {
                $crate::store::Store::Sqlite(s) => run!(@on s, mode, |$c| $body).await,
                $crate::store::Store::Postgres(s) => Box::pin(run!(@on s, mode, |$c| $body)).await,
            }
        }
    }};
    (@on $runner:expr, $mode:expr, |$c:ident| $body:expr) => {
        $crate::store::plan::Runner::run($runner, $mode, move |$c| {
            Box::pin(async move {
                #[allow(unused_imports)]
                use $crate::store::plan::Conn as _;
                $body
            })
        })
    };
}
pub(crate) use run;
