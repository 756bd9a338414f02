//! One test on both backends: `both!(name, ...)` makes a `sqlite::<name>` and a
//! `postgres::<name>` test of each `async fn name(settings: Settings)` in the module,
//! handed the test relay's settings on a SQLite file in a temporary folder or on a fresh
//! PostgreSQL database (dropped afterwards).

use std::future::Future;

use onepush_relay::settings::Settings;
use onepush_relay::testing::test_settings;

/// Runs `test` with settings on SQLite, in a temporary folder.
pub async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Settings) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    test(test_settings(dir.path())).await;
}

/// Runs `test` with settings on a fresh PostgreSQL database.
pub async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Settings) -> Fut,
    Fut: Future<Output = ()>,
{
    super::postgres::with_database(|url| async move {
        let dir = tempfile::tempdir().unwrap();
        test(super::postgres::relay_settings(dir.path(), &url)).await;
    })
    .await;
}

/// `both!(a, b)`: the tests `sqlite::a`, `postgres::a`, `sqlite::b`, `postgres::b` of the
/// module's `async fn a(settings: Settings)` and `b`.
macro_rules! both {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                $crate::common::backends::on_sqlite(super::$test).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                $crate::common::backends::on_postgres(super::$test).await;
            })*
        }
    };
}
pub(crate) use both;
