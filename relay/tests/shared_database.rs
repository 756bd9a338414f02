//! Two relays in this process on one PostgreSQL database, as behind a load balancer (one
//! public URL; the device signs proofs for it and reaches either relay): idempotency keys,
//! proof replay and decisions hold across relays; a relay whose database goes away
//! answers 503 and recovers when it returns.

use crate::common;

use std::time::{Duration, Instant};

use common::postgres::with_database;
use common::{Answer, Bank, TestDevice};
use onepush_protocol::api::{BankChallenge, ChallengeCreated, UserBinding};
use onepush_protocol::{ChallengeStatus, DecisionVerdict};
use onepush_relay::Parts;
use onepush_relay::settings::{Secret, Settings};
use onepush_relay::testing::proxy::{self, Proxy};
use onepush_relay::testing::{TestRelay, spawn_relay_with};
use serde_json::json;

/// The load balancer's URL: every relay's `public_url`, signed into device proofs.
const PUBLIC_URL: &str = "http://onepush.lb.test";

fn master_key() -> Secret {
    let mut key = [0u8; 32];
    onepush_protocol::keys::fill_random(&mut key);
    Secret(onepush_protocol::b64::encode(key))
}

fn settings(dir: &std::path::Path, database_url: &str, master: &Secret) -> Settings {
    let mut s = common::postgres::relay_settings(dir, database_url);
    s.http.public_url = Some(PUBLIC_URL.to_owned());
    s.master_key = Some(master.clone());
    s
}

struct Pair {
    a: TestRelay,
    b: TestRelay,
    bank_a: Bank,
    bank_b: Bank,
    /// The device, talking to relay A (`device.through(&b.url)` for B).
    device: TestDevice,
    _dirs: [tempfile::TempDir; 2],
}

/// Relays A and B on `url` (same master key), a tenant, and a device enrolled as alice.
async fn pair(url: &str) -> Pair {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let master = master_key();
    // One VAPID key for the deployment, as every relay on one database must have.
    let vapid = onepush_relay::keys::VAPID_FILE;
    onepush_relay::keys::RelayKeys::load_or_create(dirs[0].path(), None).unwrap();
    std::fs::copy(dirs[0].path().join(vapid), dirs[1].path().join(vapid)).unwrap();
    let a = spawn_relay_with(
        settings(dirs[0].path(), url, &master),
        Parts::default(),
        true,
    )
    .await;
    let b = spawn_relay_with(
        settings(dirs[1].path(), url, &master),
        Parts::default(),
        false,
    )
    .await;
    let bank_a = Bank::new(&a.url, &a.api_key);
    let bank_b = Bank::new(&b.url, &a.api_key);
    let mut device = TestDevice::new(&a.url).behind(PUBLIC_URL);
    device.provision(None).await.json::<serde_json::Value>(201);
    // Enrolled through B: the TOTP secret A sealed opens on B with the shared master key.
    bank_b
        .enroll("alice", &device)
        .await
        .json::<UserBinding>(201);
    Pair {
        a,
        b,
        bank_a,
        bank_b,
        device,
        _dirs: dirs,
    }
}

impl Pair {
    async fn shutdown(self) {
        self.a.shutdown().await.unwrap();
        self.b.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn an_idempotency_key_holds_across_relays() {
    with_database(|url| async move {
        let p = pair(&url).await;
        for round in 0..5 {
            let key = format!("order-{round}");
            let body = json!({ "user_id": "alice", "kind": "login",
                "context": { "ip": "203.0.113.7", "user_agent": "Firefox", "location": "Tokyo" } });
            let send = |bank: &Bank| {
                let req = bank
                    .sdk()
                    .raw_path(reqwest::Method::POST, "/v1/challenges")
                    .header("idempotency-key", key.clone())
                    .header("content-type", "application/json")
                    .body(body.to_string());
                async move { Answer::read(req.send().await.unwrap()).await }
            };
            let (on_a, on_b) = tokio::join!(send(&p.bank_a), send(&p.bank_b));
            let on_a: ChallengeCreated = on_a.json(201);
            let on_b: ChallengeCreated = on_b.json(201);
            assert_eq!(on_a.id, on_b.id, "one challenge for one key");
            p.bank_a
                .delete(&format!("/v1/challenges/{}", on_a.id))
                .await
                .json::<BankChallenge>(200);
        }
        p.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_device_proof_replayed_to_another_relay_is_refused() {
    with_database(|url| async move {
        let p = pair(&url).await;
        let proof = p.device.proof("GET", "/v1/device/challenges", b"");
        let on_b = p.device.through(&p.b.url);
        p.device
            .send_with_proof("GET", "/v1/device/challenges", b"", &proof)
            .await
            .json::<serde_json::Value>(200);
        let replay = on_b
            .send_with_proof("GET", "/v1/device/challenges", b"", &proof)
            .await
            .problem(401, "proof-invalid");
        assert!(
            replay.detail.contains("replay") || replay.detail.contains("used"),
            "{replay:?}"
        );
        p.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn concurrent_decisions_through_both_relays_have_exactly_one_winner() {
    with_database(|url| async move {
        let p = pair(&url).await;
        let on_b = p.device.through(&p.b.url);
        for _ in 0..5 {
            let id = p
                .bank_a
                .login("alice", json!({}))
                .await
                .json::<ChallengeCreated>(201)
                .id
                .to_string();
            let ch = p.device.challenge(&id).await;
            let approve = p.device.claims(&ch, DecisionVerdict::Approve);
            let deny = p.device.claims(&ch, DecisionVerdict::Deny);
            let (via_a, via_b) = tokio::join!(
                p.device.post_decision(&id, &approve),
                on_b.post_decision(&id, &deny)
            );
            let (winner, loser, won) = match (via_a.status, via_b.status) {
                (200, 409) => (via_a, via_b, ChallengeStatus::Approved),
                (409, 200) => (via_b, via_a, ChallengeStatus::Denied),
                other => panic!("expected one 200 and one 409, got {other:?}"),
            };
            let accepted: serde_json::Value = winner.json(200);
            assert_eq!(accepted["status"], json!(won));
            let problem = loser.problem(409, "challenge-decided");
            assert_eq!(problem.challenge_status, Some(won));
            assert!(problem.detail.contains(&won.to_string()), "{problem:?}");
            let outcome: BankChallenge = p
                .bank_b
                .get(&format!("/v1/challenges/{id}"))
                .await
                .json(200);
            assert_eq!(outcome.status, won);
        }
        p.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_relay_whose_database_goes_away_answers_503_and_recovers() {
    with_database(|url| async move {
        let proxy = Proxy::start(proxy::server_addr(&url).await).await;
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path(), &proxy::through(&url, proxy.addr), &master_key());
        let relay = spawn_relay_with(settings, Parts::default(), true).await;
        let bank = Bank::new(&relay.url, &relay.api_key);
        let mut device = TestDevice::new(&relay.url).behind(PUBLIC_URL);
        device.provision(None).await.json::<serde_json::Value>(201);
        bank.enroll("alice", &device).await.json::<UserBinding>(201);
        let id = bank
            .login("alice", json!({}))
            .await
            .json::<ChallengeCreated>(201)
            .id;
        let ready = || async {
            Answer::read(reqwest::get(format!("{}/readyz", relay.url)).await.unwrap()).await
        };
        assert_eq!(ready().await.status, 200);

        proxy.cut();
        let started = Instant::now();
        let readyz = ready().await;
        assert_eq!(readyz.status, 503);
        let down = bank.get(&format!("/v1/challenges/{id}")).await;
        let problem = down.problem(503, "database-unavailable");
        assert!(down.headers.contains_key("retry-after"));
        for internal in ["sqlx", "127.0.0.1", "postgres", "connection", "io error"] {
            assert!(
                !problem.detail.to_lowercase().contains(internal),
                "{problem:?}"
            );
        }
        device
            .send("GET", "/v1/device/challenges", None)
            .await
            .problem(503, "database-unavailable");
        eprintln!("503s answered {:?} after the cut", started.elapsed());

        proxy.restore();
        let restored = Instant::now();
        while ready().await.status != 200 {
            assert!(
                restored.elapsed() < Duration::from_secs(15),
                "/readyz did not recover"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        eprintln!("ready again {:?} after the restore", restored.elapsed());
        device
            .answer(&id.to_string(), DecisionVerdict::Approve, None)
            .await
            .json::<serde_json::Value>(200);
        let outcome: BankChallenge = bank.get(&format!("/v1/challenges/{id}")).await.json(200);
        assert_eq!(outcome.status, ChallengeStatus::Approved);
        relay.shutdown().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_relay_cannot_start_without_its_database_and_says_which() {
    with_database(|url| async move {
        let proxy = Proxy::start(proxy::server_addr(&url).await).await;
        proxy.cut();
        let dir = tempfile::tempdir().unwrap();
        let settings =
            common::postgres::relay_settings(dir.path(), &proxy::through(&url, proxy.addr));
        let err = onepush_relay::Relay::open(settings).await.unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("cannot open database") && text.contains(&proxy.addr.to_string()),
            "{text}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_statement_over_the_timeout_is_cut_and_reported_as_unavailable() {
    with_database(|url| async move {
        let options = onepush_relay::store::StoreOptions {
            statement_timeout: Some(Duration::from_millis(200)),
            ..onepush_relay::store::StoreOptions::default()
        };
        let store = match onepush_relay::store::open(&url, &options).await {
            Ok(onepush_relay::store::Store::Postgres(store)) => store,
            other => panic!("a postgres URL opens the PostgreSQL backend: {other:?}"),
        };
        // A connection opened as the store's pool opens each of its connections.
        let mut conn =
            <sqlx::PgConnection as sqlx::Connection>::connect_with(store.connect_options())
                .await
                .unwrap();
        let started = Instant::now();
        let err = sqlx::query("SELECT pg_sleep(5)")
            .execute(&mut conn)
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(3));
        let err = onepush_relay::store::StoreError::from_sqlx(err);
        assert!(
            matches!(err, onepush_relay::store::StoreError::Unavailable(_)),
            "{err:?}"
        );
        store.close().await;
    })
    .await;
}
