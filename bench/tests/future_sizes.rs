//! Prints the in-memory size of the relay's long-poll future (`Service::wait_challenge`):
//! every open bank long-poll keeps one resident. Run with
//! `cargo test --release -p onepush-bench --test future_sizes -- --nocapture`.

use std::time::Duration;

use onepush_relay::store::TenantRecord;
use onepush_relay::{Parts, Relay, Settings};

#[tokio::test]
async fn long_poll_future_size() {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = Settings {
        data_dir: dir.path().to_owned(),
        ..Settings::default()
    };
    let relay = Relay::open_with(settings, Parts::default())
        .await
        .expect("relay");
    let tenant = TenantRecord {
        id: "bank".parse().expect("tenant"),
        display_name: "Bank".into(),
        webhook_url: None,
        webhook_secret: None,
        otp_lock_threshold: 5,
        push_fatigue_threshold: 5,
        push_fatigue_window_seconds: 900,
        created_at: 0,
    };
    let id = onepush_protocol::ChallengeId::new();
    let future = relay
        .service()
        .wait_challenge(&tenant, &id, Duration::from_secs(1));
    let size = std::mem::size_of_val(&future);
    println!("Service::wait_challenge future: {size} bytes");
    assert!(size > 0);
}
