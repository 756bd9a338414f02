//! The cluster checks itself at start (issue 22, item 5): a relay whose master key or
//! VAPID key differs from the ones its database was first used with refuses to start,
//! naming the setting to fix, on PostgreSQL (relays sharing one database) and on SQLite
//! (a replaced key).

use crate::common;

use std::path::Path;

use common::postgres::with_database;
use onepush_relay::Relay;
use onepush_relay::keys::{RelayKeys, VAPID_FILE};
use onepush_relay::settings::{Secret, Settings};
use onepush_relay::testing::test_settings;

fn random_key() -> Secret {
    let mut key = [0u8; 32];
    onepush_protocol::keys::fill_random(&mut key);
    Secret(onepush_protocol::b64::encode(key))
}

fn settings(dir: &Path, database_url: Option<&str>, master: &Secret) -> Settings {
    let mut s = test_settings(dir);
    s.database.url = database_url.map(str::to_owned);
    s.master_key = Some(master.clone());
    s
}

/// A second data folder with the first one's VAPID key, as a deployment copies it.
fn sibling_of(first: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    RelayKeys::load_or_create(first, None).unwrap();
    std::fs::copy(first.join(VAPID_FILE), dir.path().join(VAPID_FILE)).unwrap();
    dir
}

async fn refused(settings: Settings) -> String {
    let err = Relay::open(settings)
        .await
        .expect_err("the relay must refuse to start");
    format!("{err:#}")
}

#[tokio::test]
async fn a_relay_with_another_master_key_refuses_to_start() {
    with_database(|url| async move {
        let first = tempfile::tempdir().unwrap();
        let master = random_key();
        let a = Relay::open(settings(first.path(), Some(&url), &master))
            .await
            .unwrap();
        let second = sibling_of(first.path());
        let text = refused(settings(second.path(), Some(&url), &random_key())).await;
        assert!(
            text.contains("master_key") && text.contains("ONEPUSH_MASTER_KEY"),
            "{text}"
        );
        // With the deployment's key it starts.
        Relay::open(settings(second.path(), Some(&url), &master))
            .await
            .unwrap();
        drop(a);
    })
    .await;
}

#[tokio::test]
async fn a_relay_with_another_master_key_file_refuses_to_start_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    // First start: the master key comes from the setting.
    drop(
        Relay::open(settings(dir.path(), None, &random_key()))
            .await
            .unwrap(),
    );
    // Then the setting is dropped: the relay would make and use a master.key file.
    let text = refused(test_settings(dir.path())).await;
    assert!(
        text.contains("master.key") && text.contains("master_key"),
        "{text}"
    );
}

#[tokio::test]
async fn a_relay_with_another_vapid_key_refuses_to_start() {
    with_database(|url| async move {
        let first = tempfile::tempdir().unwrap();
        let master = random_key();
        let _a = Relay::open(settings(first.path(), Some(&url), &master))
            .await
            .unwrap();
        // Same master key, but a VAPID key of its own (not copied).
        let second = tempfile::tempdir().unwrap();
        let text = refused(settings(second.path(), Some(&url), &master)).await;
        let path = second.path().join(VAPID_FILE).display().to_string();
        assert!(text.contains(&path) && text.contains("VAPID"), "{text}");
        // The check value is no secret: the key itself is nowhere in the database.
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let values: Vec<(String, String)> =
            sqlx::query_as("SELECT name, value FROM cluster_identity ORDER BY name")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(values.len(), 2, "{values:?}");
        assert!(values.iter().all(|(_, v)| !v.contains(&master.0)));
        pool.close().await;
    })
    .await;
}
