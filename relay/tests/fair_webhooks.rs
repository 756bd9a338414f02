//! Fair webhooks and sealed webhook secrets (issue 22, item 6): one tenant's dead or
//! failing endpoint holds only its own delivery slots, its circuit opens and a probe
//! closes it; webhook secrets are sealed at rest, clear ones sealed at start, rotatable.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::receiver::Receiver;
use onepush_relay::clock::ManualClock;
use onepush_relay::outbox::Dispatcher;
use onepush_relay::service::Service;
use onepush_relay::store::OutboxMessage;
use onepush_relay::webhook::{DEFAULT_TOLERANCE, WebhookClient, verify};
use onepush_relay::{Parts, Relay};

/// An endpoint that takes requests and never answers.
struct Hanging {
    url: String,
    taken: tokio::sync::watch::Receiver<usize>,
}

impl Hanging {
    async fn start() -> Self {
        let (tx, taken) = tokio::sync::watch::channel(0usize);
        let tx = Arc::new(tx);
        let app = axum::Router::new().fallback(move || {
            let tx = tx.clone();
            async move {
                tx.send_modify(|n| *n += 1);
                std::future::pending::<()>().await;
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, taken }
    }
}

async fn open(dir: &Path, clock: &ManualClock) -> Relay {
    let settings = onepush_relay::testing::test_settings(dir);
    let parts = Parts {
        clock: Some(Arc::new(clock.clone())),
        ..Parts::default()
    };
    Relay::open_with(settings, parts).await.unwrap()
}

async fn enqueue(service: &Service, tenant: &str, id: &str, due: i64) {
    let message = OutboxMessage {
        id: id.to_owned(),
        tenant_id: tenant.parse().unwrap(),
        body: format!(r#"{{"id":"{id}"}}"#).into_bytes(),
        created_at: due,
        attempts: 0,
    };
    service
        .store()
        .enqueue_webhook(&message, due)
        .await
        .unwrap();
}

/// A client whose timeout no test reaches: a hanging endpoint stays in flight.
fn patient_client() -> WebhookClient {
    WebhookClient::new(Duration::from_secs(300)).unwrap()
}

/// Dispatches and records until nothing is in flight and nothing more can start.
async fn run_until_idle(dispatcher: &mut Dispatcher) {
    loop {
        dispatcher.dispatch().await.unwrap();
        match dispatcher.next_done().await {
            Some(recorded) => recorded.unwrap(),
            None => return,
        }
    }
}

fn ids(receiver: &Receiver) -> BTreeSet<String> {
    receiver
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.headers["webhook-id"].to_str().unwrap().to_owned())
        .collect()
}

fn hits(receiver: &Receiver) -> usize {
    receiver.received.lock().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_webhook_endpoint_does_not_delay_another_tenant() {
    dead_endpoint(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_webhook_endpoint_does_not_delay_another_tenant_on_postgres() {
    common::postgres::with_database(|url| dead_endpoint(Some(url))).await;
}

async fn dead_endpoint(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let settings = {
        let mut s = onepush_relay::testing::test_settings(dir.path());
        s.database.url = database_url;
        s
    };
    let parts = Parts {
        clock: Some(Arc::new(clock.clone())),
        ..Parts::default()
    };
    let relay = Relay::open_with(settings, parts).await.unwrap();
    let service = relay.service().clone();
    let dead = Hanging::start().await;
    let live = Receiver::start(204).await;
    relay
        .add_tenant("dead-bank", "Dead", Some(dead.url.clone()))
        .await
        .unwrap();
    let secret = relay
        .add_tenant("live-bank", "Live", Some(format!("{}/hook", live.url)))
        .await
        .unwrap()
        .webhook_secret
        .unwrap();
    let now = service.now();
    // The dead tenant's messages are older: one queue in due order would send them first.
    for i in 0..12 {
        enqueue(
            &service,
            "dead-bank",
            &format!("msg_dead_{i:02}"),
            now - 100 + i,
        )
        .await;
    }
    for i in 0..12 {
        enqueue(&service, "live-bank", &format!("msg_live_{i:02}"), now).await;
    }
    let mut dispatcher = Dispatcher::new(service.clone(), patient_client());
    dispatcher.dispatch().await.unwrap();
    // The dead tenant's four never finish: run until only they are in flight.
    while hits(&live) < 12 || dispatcher.in_flight() > 4 {
        let recorded = dispatcher
            .next_done()
            .await
            .expect("a live delivery is in flight");
        recorded.unwrap();
        dispatcher.dispatch().await.unwrap();
    }
    // Every live message arrived once, signed, while the dead endpoint holds its four
    // requests (webhook_per_tenant) unanswered: none of them has finished.
    let expected: BTreeSet<String> = (0..12).map(|i| format!("msg_live_{i:02}")).collect();
    assert_eq!(ids(&live), expected);
    for r in live.received.lock().unwrap().iter() {
        let header = |n: &str| r.headers[n].to_str().unwrap().to_owned();
        let ts: i64 = header("webhook-timestamp").parse().unwrap();
        assert!(verify(
            &secret,
            &header("webhook-id"),
            ts,
            &r.body,
            &header("webhook-signature"),
            ts,
            DEFAULT_TOLERANCE
        ));
    }
    let mut taken = dead.taken.clone();
    tokio::time::timeout(Duration::from_secs(60), taken.wait_for(|n| *n == 4))
        .await
        .expect("the dead endpoint was sent its four")
        .unwrap();
    assert_eq!(
        dispatcher.in_flight(),
        4,
        "only the dead tenant's four are left"
    );
    dispatcher.dispatch().await.unwrap();
    assert_eq!(
        dispatcher.in_flight(),
        4,
        "no more of its messages are claimed"
    );
    assert_eq!(*dead.taken.borrow(), 4);
    // The other eight are still waiting in the outbox, never leased.
    let waiting = service
        .store()
        .claim_tenant_webhooks(&"dead-bank".parse().unwrap(), now, 60, 100)
        .await
        .unwrap();
    assert_eq!(waiting.len(), 8);
    assert!(waiting.iter().all(|m| m.attempts == 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_endpoint_opens_its_circuit_and_a_probe_closes_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let relay = open(dir.path(), &clock).await;
    let service = relay.service().clone();
    let settings = service.settings().clone();
    let (threshold, per_tenant) = (
        settings.webhooks.circuit_failures,
        settings.webhooks.per_tenant,
    );
    let failing = Receiver::start(503).await;
    let live = Receiver::start(200).await;
    relay
        .add_tenant("sick-bank", "Sick", Some(format!("{}/hook", failing.url)))
        .await
        .unwrap();
    relay
        .add_tenant("live-bank", "Live", Some(format!("{}/hook", live.url)))
        .await
        .unwrap();
    let now = service.now();
    for i in 0..20 {
        enqueue(&service, "sick-bank", &format!("msg_sick_{i:02}"), now - 50).await;
        enqueue(&service, "live-bank", &format!("msg_live_{i:02}"), now).await;
    }
    let sick = "sick-bank".parse().unwrap();
    let mut dispatcher = Dispatcher::new(service.clone(), patient_client());
    run_until_idle(&mut dispatcher).await;
    assert_eq!(ids(&live).len(), 20, "the other tenant got everything");
    // The clock stands still, so no message is retried: only the circuit stops the rest.
    let tried = hits(&failing);
    assert!(
        (threshold as usize..threshold as usize + per_tenant as usize).contains(&tried),
        "{tried} attempts: the circuit opened after {threshold} failures"
    );
    assert!(dispatcher.circuit_open(&sick));

    // After the open period: one probe, which fails, and the circuit opens again.
    clock.advance(i64::from(settings.webhooks.circuit_open_seconds));
    run_until_idle(&mut dispatcher).await;
    assert_eq!(hits(&failing), tried + 1, "exactly one probe");
    assert!(dispatcher.circuit_open(&sick));

    // The endpoint recovers: the next probe closes the circuit and everything follows.
    failing.status.store(200, Ordering::SeqCst);
    clock.advance(2 * i64::from(settings.webhooks.circuit_open_seconds));
    run_until_idle(&mut dispatcher).await;
    assert!(!dispatcher.circuit_open(&sick));
    let expected: BTreeSet<String> = (0..20).map(|i| format!("msg_sick_{i:02}")).collect();
    assert_eq!(ids(&failing), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_secret_is_sealed_at_rest() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let hook = Receiver::start(204).await;
    let relay = open(dir.path(), &clock).await;
    let created = relay
        .add_tenant("hook-bank", "Hook Bank", Some(format!("{}/hook", hook.url)))
        .await
        .unwrap();
    let secret = created.webhook_secret.clone().unwrap();
    let key = secret.strip_prefix("whsec_").unwrap().to_owned();
    let tenants = relay.service().list_tenants().await.unwrap();
    let shown = format!("{tenants:?}");
    assert!(!shown.contains(&key), "Debug shows no secret: {shown}");
    assert!(!format!("{created:?}").contains(&key));

    let db = rusqlite::Connection::open(dir.path().join("onepush.db")).unwrap();
    let row = |db: &rusqlite::Connection| -> (Option<String>, Option<Vec<u8>>) {
        db.query_row(
            "SELECT webhook_secret, webhook_secret_sealed FROM tenants WHERE id = 'hook-bank'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    let (clear, sealed) = row(&db);
    assert_eq!(clear, None);
    let sealed = sealed.expect("sealed");
    let decoded = onepush_relay::webhook::new_secret(); // another secret's length, for scale
    assert!(sealed.len() >= 12 + 16 + secret.len().min(decoded.len()));
    assert!(!sealed.windows(key.len()).any(|w| w == key.as_bytes()));

    // A relay from before the sealing stored secrets in clear: the next start seals them
    // and they keep signing as before.
    let old = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    db.execute(
        "UPDATE tenants SET webhook_secret = ?1, webhook_secret_sealed = NULL WHERE id = 'hook-bank'",
        [old],
    )
    .unwrap();
    drop(relay);
    let relay = open(dir.path(), &clock).await;
    let (clear, sealed) = row(&db);
    assert_eq!(clear, None, "sealed at start");
    assert!(sealed.is_some());
    let service = relay.service().clone();
    enqueue(&service, "hook-bank", "msg_after_migration", service.now()).await;
    let mut dispatcher = Dispatcher::new(service.clone(), patient_client());
    run_until_idle(&mut dispatcher).await;

    // Rotation: a new secret, shown once; the old one no longer signs.
    let rotated = service.rotate_webhook_secret("hook-bank").await.unwrap();
    assert_ne!(rotated, old);
    enqueue(&service, "hook-bank", "msg_after_rotation", service.now()).await;
    run_until_idle(&mut dispatcher).await;
    let received = hook.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    let signed_with = |r: &common::receiver::Received, secret: &str| {
        let header = |n: &str| r.headers[n].to_str().unwrap().to_owned();
        let ts: i64 = header("webhook-timestamp").parse().unwrap();
        verify(
            secret,
            &header("webhook-id"),
            ts,
            &r.body,
            &header("webhook-signature"),
            ts,
            DEFAULT_TOLERANCE,
        )
    };
    assert!(signed_with(&received[0], old));
    assert!(signed_with(&received[1], &rotated));
    assert!(!signed_with(&received[1], old));
    assert!(matches!(
        service.rotate_webhook_secret("nobody").await,
        Err(onepush_relay::service::TenantError::NotFound(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clear_secret_written_while_the_relay_runs_is_sealed_before_it_signs() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let hook = Receiver::start(204).await;
    let relay = open(dir.path(), &clock).await;
    relay
        .add_tenant("late-bank", "Late", Some(format!("{}/hook", hook.url)))
        .await
        .unwrap();
    // An older relay on the same database rewrote the secret in clear.
    let old = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let db = rusqlite::Connection::open(dir.path().join("onepush.db")).unwrap();
    db.execute(
        "UPDATE tenants SET webhook_secret = ?1, webhook_secret_sealed = NULL",
        [old],
    )
    .unwrap();
    let service = relay.service().clone();
    enqueue(&service, "late-bank", "msg_late", service.now()).await;
    // Nothing read the tenant yet (adding it does not fill the tenant cache): the
    // worker reads the row as it is now.
    let mut dispatcher = Dispatcher::new(service.clone(), patient_client());
    run_until_idle(&mut dispatcher).await;
    let received = hook.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let header = |n: &str| received[0].headers[n].to_str().unwrap().to_owned();
    let ts: i64 = header("webhook-timestamp").parse().unwrap();
    assert!(verify(
        old,
        &header("webhook-id"),
        ts,
        &received[0].body,
        &header("webhook-signature"),
        ts,
        DEFAULT_TOLERANCE
    ));
    let clear: Option<String> = db
        .query_row("SELECT webhook_secret FROM tenants", [], |r| r.get(0))
        .unwrap();
    assert_eq!(clear, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_rotates_a_webhook_secret_and_prints_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_onepush-relay"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .env("ONEPUSH_LOG", "warn")
            .output()
            .unwrap()
    };
    let added = cli(&[
        "tenant",
        "add",
        "cli-bank",
        "--webhook",
        "https://bank.example/hook",
        "--json",
    ]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let added: serde_json::Value = serde_json::from_slice(&added.stdout).unwrap();
    let rotated = cli(&["tenant", "rotate-webhook-secret", "cli-bank", "--json"]);
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let rotated: serde_json::Value = serde_json::from_slice(&rotated.stdout).unwrap();
    let secret = rotated["webhook_secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    assert_ne!(rotated["webhook_secret"], added["webhook_secret"]);
    let listed = cli(&["tenant", "list", "--json"]);
    assert!(
        !String::from_utf8_lossy(&listed.stdout).contains(secret),
        "list never shows it"
    );
    let refused = cli(&["tenant", "rotate-webhook-secret", "nobody"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("nobody"), "{stderr}");
    let plain = cli(&["tenant", "add", "no-hook"]);
    assert!(plain.status.success());
    let refused = cli(&["tenant", "rotate-webhook-secret", "no-hook"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no webhook URL"));
}
