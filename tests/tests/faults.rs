//! Faults (issue 9): a push service that hangs past the timeout or refuses connections
//! must not keep a challenge from the phone: the event stream delivers it and the
//! challenge ends as answered. A single SQLite relay process killed with SIGKILL under
//! load and started again on its data folder keeps what it told, and every webhook
//! still arrives. (The push sender's own handling of each answer is in
//! `relay/src/push/endpoint_tests.rs`; a killed relay process in
//! `relay/tests/two_relays.rs` and `relay/tests/expiry.rs`.)

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::relay_process::{self, RelayProcess, WebhookReceiver};
use common::{Bank, announces, carried, next_matching, now};
use onepush_device::events::{self, Incoming, Source};
use onepush_device::{Authenticator, UnencryptedFileKeyStore};
use onepush_protocol::api::{ChallengeCreated, WebhookEvent};
use onepush_protocol::{ChallengeId, ChallengeStatus, DenyReason};
use serde_json::json;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A push service that accepts connections and never answers.
async fn hanging_push_service() -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (format!("http://{addr}/push/hang"), task)
}

/// An address where nothing listens: connections are refused.
async fn refusing_push_service() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    format!("http://{addr}/push/refused")
}

async fn challenge_arrives_by_the_event_stream_and_is_approved(endpoint: &str) {
    let world = common::world().await;
    let mut phone = world.enrolled_phone("alice").await;
    phone
        .set_push_endpoint(Some(endpoint))
        .await
        .expect("push subscription");
    let (tx, mut rx) = mpsc::channel(16);
    let follower = events::follow(phone.client().clone(), tx);
    next_matching(&mut rx, 10, |i| matches!(i, Incoming::Connected { .. })).await;

    let created = world.bank.login("alice").await;
    let incoming = next_matching(&mut rx, 10, |i| announces(i, created.id)).await;
    // The event carries the details: the phone answers without fetching them.
    let (id, source, challenge) = carried(incoming);
    assert_eq!((id, source), (created.id, Source::EventStream));
    let fetched = phone.challenge(created.id).await.expect("details");
    assert_eq!(
        challenge, fetched,
        "the event carries what the signed fetch answers"
    );
    phone
        .approve(&challenge, None, true, now())
        .await
        .expect("approve");
    let outcome = world.bank.outcome(created.id, 10).await;
    assert_eq!(outcome.status, ChallengeStatus::Approved);
    follower.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn push_service_that_hangs_does_not_keep_the_challenge_from_the_phone() {
    let (endpoint, service) = hanging_push_service().await;
    challenge_arrives_by_the_event_stream_and_is_approved(&endpoint).await;
    service.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn push_service_that_refuses_connections_does_not_keep_the_challenge_from_the_phone() {
    challenge_arrives_by_the_event_stream_and_is_approved(&refusing_push_service().await).await;
}

// ---------------------------------------------------------------------------
// A single SQLite relay process killed with SIGKILL under load
// ---------------------------------------------------------------------------

/// Users (one phone each, one bank client each).
const USERS: usize = 4;
/// The challenges' time to live: long enough that the ones left pending at the kill
/// are still pending when the relay is back.
const TTL: u32 = 20;

/// What the bank and the phones were told while the relay ran.
#[derive(Default)]
struct Told {
    /// Challenges the bank got a 201 for.
    created: BTreeMap<ChallengeId, ChallengeCreated>,
    /// Decisions a phone posted (whatever came of them).
    posted: BTreeSet<ChallengeId>,
    /// Decisions a phone got a 2xx for.
    accepted: BTreeMap<ChallengeId, ChallengeStatus>,
}

/// Whether the phones answer this challenge (about half), or leave it pending.
fn answered_by_the_phone(id: ChallengeId) -> bool {
    id.to_string().bytes().last().is_some_and(|b| b % 2 == 0)
}

/// A bank's sign-in page creating challenges for `user` until `stop`; transport errors
/// (the relay dying) are expected and skipped.
async fn bank_client(
    url: String,
    api_key: String,
    user: String,
    told: Arc<Mutex<Told>>,
    stop: Arc<AtomicBool>,
) {
    let http = reqwest::Client::new();
    let body = json!({ "user_id": user, "kind": "login", "context": common::login_context(), "ttl_seconds": TTL });
    while !stop.load(Ordering::SeqCst) {
        let sent = http
            .post(format!("{url}/v1/challenges"))
            .bearer_auth(&api_key)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await;
        if let Ok(response) = sent
            && response.status() == reqwest::StatusCode::CREATED
            && let Ok(bytes) = response.bytes().await
            && let Ok(created) = serde_json::from_slice::<ChallengeCreated>(&bytes)
        {
            told.lock()
                .expect("lock")
                .created
                .insert(created.id, created);
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// A phone answering its pending challenges (approve or deny) until `stop`.
async fn phone_answering(
    mut phone: Authenticator,
    told: Arc<Mutex<Told>>,
    stop: Arc<AtomicBool>,
) -> Authenticator {
    let mut approve = true;
    while !stop.load(Ordering::SeqCst) {
        let Ok(pending) = phone.pending().await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        for challenge in pending.iter().filter(|c| answered_by_the_phone(c.id)) {
            told.lock().expect("lock").posted.insert(challenge.id);
            approve = !approve;
            let answered = if approve {
                phone.approve(challenge, None, true, now()).await
            } else {
                phone
                    .deny(challenge, DenyReason::Declined, true, now())
                    .await
            };
            if let Ok(answered) = answered {
                told.lock()
                    .expect("lock")
                    .accepted
                    .insert(challenge.id, answered.status);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    phone
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_keeps_every_told_decision_and_pending_deadline_and_every_webhook_arrives()
 {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("relay");
    let hooks = WebhookReceiver::start(true).await;
    let tenant = relay_process::add_tenant(&data, Some(&hooks.url)).await;
    let secret = tenant.webhook_secret.clone().expect("webhook secret");
    // The receiver refuses every first delivery on purpose: that is not a dead endpoint,
    // so the webhook circuit breaker must not take it for one.
    // A short webhook timeout makes a short lease (2 × 3 + 10 s): a delivery the kill cut
    // mid-request is sent again that soon.
    let settings = [
        ("ONEPUSH_PUSH_FATIGUE__MAX_PENDING_PER_USER", "1000"),
        ("ONEPUSH_WEBHOOKS__CIRCUIT_FAILURES", "1000"),
        ("ONEPUSH_WEBHOOKS__TIMEOUT_SECONDS", "3"),
    ];
    let relay = RelayProcess::serve(&data, None, &settings).await;
    let bank = Bank::new(&relay.url, &tenant.api_key);
    let mut phones = Vec::new();
    for n in 0..USERS {
        let store = UnencryptedFileKeyStore::new(&dir.path().join(format!("phone-{n}")));
        let phone = Authenticator::provision(Box::new(store), &relay.url, now())
            .await
            .expect("provision");
        common::enroll(&bank, &phone, &format!("user-{n}")).await;
        phones.push(phone);
    }

    // Load: every bank client creates challenges while every phone answers about half.
    let told = Arc::new(Mutex::new(Told::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut banks = Vec::new();
    let mut answering = Vec::new();
    for (n, phone) in phones.into_iter().enumerate() {
        banks.push(tokio::spawn(bank_client(
            relay.url.clone(),
            tenant.api_key.clone(),
            format!("user-{n}"),
            told.clone(),
            stop.clone(),
        )));
        answering.push(tokio::spawn(phone_answering(
            phone,
            told.clone(),
            stop.clone(),
        )));
    }
    wait_for_load(&told).await;
    // Mid-flight: the clients are still sending when the process dies.
    let addr = relay.addr;
    relay.kill().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    for bank in banks {
        bank.await.expect("bank client");
    }
    let mut phones = Vec::new();
    for phone in answering {
        phones.push(phone.await.expect("phone"));
    }
    let told = std::mem::take(&mut *told.lock().expect("lock"));
    let webhooks_before_kill = hooks.deliveries().len();
    eprintln!(
        "killed after {} challenges created, {} decisions posted, {} accepted, {webhooks_before_kill} webhooks",
        told.created.len(),
        told.posted.len(),
        told.accepted.len()
    );

    // The same data folder, the same address (the phones' relay URL).
    let relay = RelayProcess::serve(&data, Some(addr), &settings).await;
    let still_pending = state_after_restart(&bank, &told).await;

    // The pending ones can still be answered: each phone approves one of its own.
    let mut told = told;
    for phone in &mut phones {
        let pending = phone.pending().await.expect("pending after the restart");
        if let Some(challenge) = pending.iter().find(|c| still_pending.contains(&c.id)) {
            let answered = phone
                .approve(challenge, None, true, now())
                .await
                .expect("a challenge pending at the kill is decidable after the restart");
            told.accepted.insert(challenge.id, answered.status);
        }
    }

    // Every challenge ends (the unanswered ones at their deadline) ...
    let mut ended = BTreeMap::new();
    for (id, created) in &told.created {
        let state = bank.outcome(*id, 60).await;
        assert_ne!(state.status, ChallengeStatus::Pending, "{id} never ended");
        if let Some(accepted) = told.accepted.get(id) {
            assert_eq!(state.status, *accepted, "{id}");
        } else if matches!(
            state.status,
            ChallengeStatus::Expired | ChallengeStatus::Undeliverable
        ) {
            assert!(
                state.decided_at.expect("decided_at") >= created.expires_at,
                "{id}"
            );
        }
        ended.insert(format!("msg_{id}"), state.status);
    }

    // ... and reaches the bank's webhook.
    every_webhook_arrives_under_a_stable_id(&hooks, &secret, &ended).await;
    relay.kill().await;
}

/// Every challenge in `ended` (by webhook id: its final status) reached the webhook
/// receiver, which refuses each id's first delivery.
async fn every_webhook_arrives_under_a_stable_id(
    hooks: &WebhookReceiver,
    secret: &str,
    ended: &BTreeMap<String, ChallengeStatus>,
) {
    // At least once, under one stable, signed id: the
    // receiver refuses each id's first delivery, so every message is sent again (by the
    // restarted relay for those refused before the kill). A delivery the kill cut while
    // it was leased is retried when its lease runs out.
    let waited = Instant::now();
    let deliveries = loop {
        let deliveries = hooks.deliveries();
        let count = |id: &str| {
            deliveries
                .iter()
                .filter(|d| d.header("webhook-id") == id)
                .count()
        };
        if ended.keys().all(|id| count(id) >= 2) {
            break deliveries;
        }
        let missing = ended.keys().filter(|id| count(id) < 2).count();
        assert!(
            waited.elapsed() < Duration::from_secs(120),
            "{missing} challenges' webhooks never arrived twice"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut bodies: BTreeMap<&str, &[u8]> = BTreeMap::new();
    let mut by_id: BTreeMap<String, Vec<ChallengeStatus>> = BTreeMap::new();
    for delivery in &deliveries {
        let id = delivery.header("webhook-id");
        let timestamp: i64 = delivery
            .header("webhook-timestamp")
            .parse()
            .expect("timestamp");
        assert_eq!(
            delivery.header("webhook-signature"),
            onepush_relay::webhook::sign(secret, id, timestamp, &delivery.body),
            "{id}"
        );
        let event: WebhookEvent = serde_json::from_slice(&delivery.body).expect("event");
        assert_eq!(event.id, id);
        assert_eq!(format!("msg_{}", event.data.id), id);
        by_id
            .entry(id.to_owned())
            .or_default()
            .push(event.data.status);
        let first = *bodies.entry(id).or_insert(&delivery.body);
        assert_eq!(
            first,
            &delivery.body[..],
            "{id}: a retry sends the same message"
        );
    }
    for (id, statuses) in &by_id {
        if let Some(status) = ended.get(id) {
            assert!(
                statuses.iter().all(|s| s == status),
                "{id}: the bank was told {statuses:?}, the outcome is {status:?}"
            );
        } else {
            // A challenge whose creation the kill cut (the bank never got its 201).
            assert!(
                statuses.windows(2).all(|w| w[0] == w[1]),
                "{id}: {statuses:?}"
            );
        }
    }
    eprintln!(
        "{} webhook deliveries for {} challenges in {:?} after the restart",
        deliveries.len(),
        ended.len(),
        waited.elapsed()
    );
}

/// Reads every challenge the bank was told about just after the restart: told decisions
/// kept, pending ones with their deadline (or ended after it). Answers the still pending.
async fn state_after_restart(bank: &Bank, told: &Told) -> BTreeSet<ChallengeId> {
    let mut still_pending = BTreeSet::new();
    for (id, created) in &told.created {
        let state = bank.outcome(*id, 0).await;
        let read_at = OffsetDateTime::now_utc();
        match (told.accepted.get(id), state.status) {
            // Every decision a phone was told about is the stored outcome.
            (Some(accepted), status) => {
                assert_eq!(status, *accepted, "{id}");
                assert!(
                    state.decision.is_some(),
                    "{id}: the signed decision is kept"
                );
            }
            (None, ChallengeStatus::Pending) => {
                assert_eq!(state.expires_at, created.expires_at, "{id}: same deadline");
                still_pending.insert(*id);
            }
            // A decision cut by the kill may have been stored before the answer was sent.
            (None, ChallengeStatus::Approved | ChallengeStatus::Denied) => {
                assert!(
                    told.posted.contains(id),
                    "{id} decided but nobody answered it"
                );
                assert!(state.decision.is_some(), "{id}");
            }
            (None, ChallengeStatus::Expired | ChallengeStatus::Undeliverable) => {
                assert!(
                    read_at >= created.expires_at,
                    "{id} ended before its deadline"
                );
                let ended = state.decided_at.expect("decided_at");
                assert!(
                    ended >= created.expires_at,
                    "{id} ended before its deadline"
                );
            }
            (None, other) => panic!("{id} is {other:?} after the restart"),
        }
    }
    assert!(
        !still_pending.is_empty(),
        "some challenges were pending at the kill"
    );
    still_pending
}

/// Waits until the bank was told of 40 challenges and the phones of 10 decisions.
async fn wait_for_load(told: &Mutex<Told>) {
    let loaded = Instant::now();
    loop {
        let (created, accepted) = {
            let t = told.lock().expect("lock");
            (t.created.len(), t.accepted.len())
        };
        if created >= 40 && accepted >= 10 {
            break;
        }
        assert!(
            loaded.elapsed() < Duration::from_secs(60),
            "no load: {created} challenges, {accepted} decisions in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
