//! One answer for every bad device credential (issue 22, item 3): an attacker who tries
//! credential IDs learns nothing from the device API (unknown, revoked and wrong-key
//! proofs and decisions get the same 401 with the same detail), cannot use up another
//! device's allowance, and credentials nobody bound go away. On SQLite and PostgreSQL.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::postgres::with_database;
use common::{Answer, Bank, TestDevice};
use onepush_protocol::api::ChallengeCreated;
use onepush_protocol::jws::sign_decision;
use onepush_protocol::{CredentialId, DecisionVerdict, DeviceKey};
use onepush_relay::Parts;
use onepush_relay::clock::ManualClock;
use onepush_relay::settings::Settings;
use onepush_relay::testing::{TestRelay, spawn_relay_with, test_settings};
use serde_json::json;

const PROOF_DETAIL: &str =
    "request proof signature does not verify with the credential's public key";
const DECISION_DETAIL: &str = "decision signature does not verify with the credential's public key";

/// The relay-wide audit events `device.refused`: each one's cause.
async fn refusal_causes(database_url: &str) -> Vec<String> {
    let sql = "SELECT detail FROM audit_events WHERE tenant_id IS NULL AND event = 'device.refused' ORDER BY seq";
    let details: Vec<String> = if database_url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(database_url).await.unwrap();
        let rows = sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows
    } else {
        let pool = sqlx::PgPool::connect(database_url).await.unwrap();
        let rows = sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows
    };
    details
        .iter()
        .map(|d| {
            let v: serde_json::Value = serde_json::from_str(d).unwrap();
            format!(
                "{} {}",
                v["request"].as_str().unwrap(),
                v["cause"].as_str().unwrap()
            )
        })
        .collect()
}

/// Waits (bounded) until `n` refusals are audited: they are written after the answer.
async fn audited(database_url: &str, n: usize) -> Vec<String> {
    for _ in 0..100 {
        let causes = refusal_causes(database_url).await;
        if causes.len() >= n {
            return causes;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    refusal_causes(database_url).await
}

async fn same_answer_for_every_bad_credential(relay: TestRelay, database_url: String) {
    let bank = Bank::new(&relay.url, &relay.api_key);
    let device = TestDevice::provisioned(&relay.url, None).await;
    bank.enroll("alice", &device)
        .await
        .json::<serde_json::Value>(201);
    let id = bank
        .login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string();
    let ch = device.challenge(&id).await;
    // Revoked: a second device that resets itself.
    let revoked = TestDevice::provisioned(&relay.url, None).await;
    assert_eq!(
        revoked
            .send("DELETE", "/v1/device/credentials/self", None)
            .await
            .status,
        204
    );
    // Unknown: a made-up ID with a key of its own.
    let mut unknown = TestDevice::provisioned(&relay.url, None).await;
    unknown.key = DeviceKey::generate();
    if let Some(p) = unknown.provisioned.as_mut() {
        p.credential_id = CredentialId::generate("ONEP").unwrap();
    }
    // Wrong key: the live credential's ID, signed by another key.
    let mut wrong_key = device.through(&relay.url);
    wrong_key.key = DeviceKey::generate();

    let path = "/v1/device/accounts";
    let mut details = Vec::new();
    for who in [&revoked, &unknown, &wrong_key] {
        let p = who
            .send("GET", path, None)
            .await
            .problem(401, "proof-invalid");
        details.push(p.detail);
    }
    assert_eq!(details, [PROOF_DETAIL; 3]);

    let mut details = Vec::new();
    for who in [&revoked, &unknown, &wrong_key] {
        let mut claims = device.claims(&ch, DecisionVerdict::Approve);
        claims.cid = who.credential_id();
        let p = who
            .post_jws(&id, &sign_decision(&who.key, &claims))
            .await
            .problem(401, "decision-signature-invalid");
        details.push(p.detail);
    }
    assert_eq!(details, [DECISION_DETAIL; 3]);

    // The live device is unaffected, and the bank's challenge is still its to answer.
    device
        .answer(&id, DecisionVerdict::Approve, None)
        .await
        .json::<serde_json::Value>(200);
    // The relay now keeps the device's key: another key's decision is refused alike.
    let next = bank
        .login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string();
    let claims = device.claims(&device.challenge(&next).await, DecisionVerdict::Approve);
    let p = wrong_key
        .post_jws(&next, &sign_decision(&wrong_key.key, &claims))
        .await
        .problem(401, "decision-signature-invalid");
    assert_eq!(p.detail, DECISION_DETAIL);
    // The cause is kept, relay-wide (in no bank's audit log).
    let mut causes = audited(&database_url, 7).await;
    causes.sort();
    assert_eq!(
        causes,
        [
            "decision credential_not_found",
            "decision credential_revoked",
            "decision signature_invalid",
            "decision signature_invalid",
            "proof credential_not_found",
            "proof credential_revoked",
            "proof signature_invalid",
        ]
    );
    let bank_log: serde_json::Value = bank.get("/v1/audit").await.json(200);
    assert!(
        !bank_log.to_string().contains("device.refused"),
        "{bank_log}"
    );
    relay.shutdown().await.unwrap();
}

/// A relay keeps the key of a credential whose decision it verified, and takes its next
/// decisions without reading the credential first; a revoke it did not see (another
/// relay's, here the store's own) must still stop them.
async fn a_credential_revoked_elsewhere_cannot_answer_with_its_kept_key(
    relay: TestRelay,
    database_url: String,
) {
    let bank = Bank::new(&relay.url, &relay.api_key);
    let device = TestDevice::provisioned(&relay.url, None).await;
    bank.enroll("alice", &device)
        .await
        .json::<serde_json::Value>(201);
    let login = || async {
        bank.login("alice", json!({}))
            .await
            .json::<ChallengeCreated>(201)
            .id
            .to_string()
    };
    let first = login().await;
    device
        .answer(&first, DecisionVerdict::Approve, None)
        .await
        .json::<serde_json::Value>(200);
    let (approve, deny) = (login().await, login().await);
    let claims = [
        device.claims(&device.challenge(&approve).await, DecisionVerdict::Approve),
        device.claims(&device.challenge(&deny).await, DecisionVerdict::Deny),
    ];
    let service = relay.relay.service();
    service
        .store()
        .revoke_credential(&device.credential_id(), service.now())
        .await
        .unwrap();
    for (id, claims) in [&approve, &deny].into_iter().zip(&claims) {
        let p = device
            .post_decision(id, claims)
            .await
            .problem(401, "decision-signature-invalid");
        assert_eq!(p.detail, DECISION_DETAIL);
        let ch: serde_json::Value = bank.get(&format!("/v1/challenges/{id}")).await.json(200);
        assert_eq!(ch["status"], "pending", "{id}");
    }
    assert_eq!(
        audited(&database_url, 2).await,
        ["decision credential_revoked"; 2]
    );
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_credential_revoked_elsewhere_cannot_answer() {
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(dir.path());
    let url = settings.database_url();
    let relay = spawn_relay_with(settings, Parts::default(), true).await;
    a_credential_revoked_elsewhere_cannot_answer_with_its_kept_key(relay, url).await;
}

#[tokio::test]
async fn a_credential_revoked_elsewhere_cannot_answer_on_postgres() {
    with_database(|url| async move {
        let dir = tempfile::tempdir().unwrap();
        let settings = common::postgres::relay_settings(dir.path(), &url);
        let relay = spawn_relay_with(settings, Parts::default(), true).await;
        a_credential_revoked_elsewhere_cannot_answer_with_its_kept_key(relay, url).await;
    })
    .await;
}

#[tokio::test]
async fn unknown_and_revoked_credentials_get_the_same_answer() {
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(dir.path());
    let url = settings.database_url();
    let relay = spawn_relay_with(settings, Parts::default(), true).await;
    same_answer_for_every_bad_credential(relay, url).await;
}

#[tokio::test]
async fn unknown_and_revoked_credentials_get_the_same_answer_on_postgres() {
    with_database(|url| async move {
        let dir = tempfile::tempdir().unwrap();
        let settings = common::postgres::relay_settings(dir.path(), &url);
        let relay = spawn_relay_with(settings, Parts::default(), true).await;
        same_answer_for_every_bad_credential(relay, url).await;
    })
    .await;
}

fn limited(dir: &std::path::Path, per_address: u32, per_credential: u32) -> Settings {
    let mut s = test_settings(dir);
    s.limits.device_per_address_per_minute = per_address;
    s.limits.device_per_credential_per_minute = per_credential;
    s
}

#[tokio::test]
async fn a_flood_from_one_address_is_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let relay = spawn_relay_with(limited(dir.path(), 5, 0), Parts::default(), true).await;
    let device = TestDevice::provisioned(&relay.url, None).await;
    for _ in 0..5 {
        assert_eq!(
            device.send("GET", "/v1/device/accounts", None).await.status,
            200
        );
    }
    let a: Answer = device.send("GET", "/v1/device/accounts", None).await;
    let p = a.problem(429, "rate-limited");
    assert!(p.detail.contains("this address"), "{}", p.detail);
    let wait: u64 = a.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=12).contains(&wait), "{wait}");
    // Decisions without a proof count too.
    device
        .post_jws(&onepush_protocol::ChallengeId::new().to_string(), "x.y.z")
        .await
        .problem(429, "rate-limited");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_signatures_do_not_use_up_another_credentials_allowance() {
    let dir = tempfile::tempdir().unwrap();
    let relay = spawn_relay_with(limited(dir.path(), 0, 3), Parts::default(), true).await;
    let device = TestDevice::provisioned(&relay.url, None).await;
    let mut attacker = device.through(&relay.url);
    attacker.key = DeviceKey::generate();
    for _ in 0..10 {
        attacker
            .send("GET", "/v1/device/accounts", None)
            .await
            .problem(401, "proof-invalid");
    }
    for _ in 0..3 {
        assert_eq!(
            device.send("GET", "/v1/device/accounts", None).await.status,
            200
        );
    }
    let a = device.send("GET", "/v1/device/accounts", None).await;
    let p = a.problem(429, "rate-limited");
    assert!(p.detail.contains("this credential"), "{}", p.detail);
    assert!(a.headers.contains_key("retry-after"));
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_credential_nobody_bound_is_deleted_after_thirty_days() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let parts = Parts {
        clock: Some(Arc::new(clock.clone())),
        ..Parts::default()
    };
    let relay = spawn_relay_with(test_settings(dir.path()), parts, true).await;
    let now = {
        let clock = clock.clone();
        Arc::new(move || onepush_relay::clock::Clock::now_unix(&clock))
    };
    let mut bound = TestDevice::with_clock(&relay.url, now.clone());
    bound.provision(None).await.json::<serde_json::Value>(201);
    let mut idle = TestDevice::with_clock(&relay.url, now.clone());
    idle.provision(None).await.json::<serde_json::Value>(201);
    Bank::new(&relay.url, &relay.api_key)
        .enroll("alice", &bound)
        .await
        .json::<serde_json::Value>(201);
    let service = relay.relay.service();
    clock.advance(29 * 86_400);
    assert_eq!(onepush_relay::unbound::sweep(service).await.unwrap(), 0);
    clock.advance(2 * 86_400);
    assert_eq!(onepush_relay::unbound::sweep(service).await.unwrap(), 1);
    idle.send("GET", "/v1/device/accounts", None)
        .await
        .problem(401, "proof-invalid");
    assert_eq!(
        bound.send("GET", "/v1/device/accounts", None).await.status,
        200
    );
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn behind_a_balancer_each_client_address_has_its_own_allowance() {
    let dir = tempfile::tempdir().unwrap();
    let settings = {
        let mut s = limited(dir.path(), 2, 0);
        s.http.client_address_header = Some("x-forwarded-for".into());
        s
    };
    let relay = spawn_relay_with(settings, Parts::default(), true).await;
    let device = TestDevice::provisioned(&relay.url, None).await;
    let from = |client: &'static str| {
        let device = device.through(&relay.url);
        async move {
            let path = "/v1/device/accounts";
            let proof = device.proof("GET", path, b"");
            let a = device
                .client
                .get(format!("{}{path}", device.url))
                .header("OnePush-Proof", proof)
                .header("X-Forwarded-For", format!("198.51.100.9, {client}"))
                .send()
                .await
                .unwrap();
            a.status().as_u16()
        }
    };
    assert_eq!(from("203.0.113.1").await, 200);
    assert_eq!(from("203.0.113.1").await, 200);
    assert_eq!(from("203.0.113.1").await, 429);
    // The address the balancer appended counts, not one the client wrote before it.
    assert_eq!(from("203.0.113.2").await, 200);
    relay.shutdown().await.unwrap();
}
