//! A fresh PostgreSQL database per test, on the server at `ONEPUSH_TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`; `scripts/postgres-for-tests`
//! provides one). No server answering is a test failure, never a silent skip.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, Ordering};

use futures::FutureExt as _;
use sqlx::{Connection as _, Executor as _, PgConnection};

/// The server the tests use.
pub fn server_url() -> String {
    std::env::var("ONEPUSH_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// `url` with its database name replaced by `database`.
pub fn with_database_name(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a postgres:// URL");
    let end = rest.find('?').unwrap_or(rest.len());
    let (location, query) = rest.split_at(end);
    let authority = location.split('/').next().unwrap_or(location);
    format!("{scheme}://{authority}/{database}{query}")
}

async fn admin() -> PgConnection {
    let url = server_url();
    match PgConnection::connect(&url).await {
        Ok(c) => c,
        Err(e) => panic!(
            "no PostgreSQL server answers at {url} ({e}).\n\
             Run the tests through scripts/test, or start one with scripts/postgres-for-tests \
             and set ONEPUSH_TEST_POSTGRES_URL to the URL it prints."
        ),
    }
}

/// A database created for one test and dropped by [`TestDatabase::drop_now`].
#[derive(Debug)]
pub struct TestDatabase {
    /// Its URL.
    pub url: String,
    name: String,
}

impl TestDatabase {
    /// Creates a uniquely named, empty database on the test server.
    pub async fn create() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "onepush_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            time::OffsetDateTime::now_utc().unix_timestamp()
        );
        let mut admin = admin().await;
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        Self {
            url: with_database_name(&server_url(), &name),
            name,
        }
    }

    /// Drops the database, ending any connection still open to it.
    pub async fn drop_now(self) {
        let mut admin = admin().await;
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        if let Err(e) = admin.execute(sqlx::AssertSqlSafe(sql)).await {
            eprintln!("cannot drop test database {}: {e}", self.name);
        }
    }
}

/// Runs `test` with the URL of a fresh database, and drops the database afterwards even
/// when the test panics (the panic is then resumed).
pub async fn with_database<F, Fut>(test: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let db = TestDatabase::create().await;
    let outcome = AssertUnwindSafe(test(db.url.clone())).catch_unwind().await;
    db.drop_now().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// The test relay's settings (`onepush_relay::testing::test_settings`: keys and files in
/// `dir`) on the PostgreSQL database at `database_url`.
pub fn relay_settings(
    dir: &std::path::Path,
    database_url: &str,
) -> onepush_relay::settings::Settings {
    let mut settings = onepush_relay::testing::test_settings(dir);
    settings.database.url = Some(database_url.to_owned());
    settings
}
