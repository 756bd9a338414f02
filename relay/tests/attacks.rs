//! Attacks a bank's security review would try, each refused with the status and problem
//! a client gets (issue 9). What other files already cover (forged signature, tampered
//! context, deadline, proof replay on GET, OTP replay and lock-out) is not repeated here:
//! `SECURITY.md` maps every check to its test.

use crate::common;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Answer, Bank, TestDevice};
use onepush_protocol::api::{
    BankChallenge, ChallengeCreated, DecisionAccepted, DeviceAccounts, DeviceChallenge, UserBinding,
};
use onepush_protocol::b64;
use onepush_protocol::jws::{DECISION_TYP, DecisionClaims, sign_decision};
use onepush_protocol::proof::{PROOF_TYP, body_hash};
use onepush_protocol::{ChallengeStatus, DecisionVerdict, DeviceKey};
use onepush_relay::Parts;
use onepush_relay::clock::{Clock as _, ManualClock};
use onepush_relay::testing::{TestRelay, spawn_relay, spawn_relay_with, test_settings};
use serde_json::{Value, json};

async fn enrolled(dir: &std::path::Path) -> (TestRelay, Bank, TestDevice) {
    let relay = spawn_relay(dir).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let device = TestDevice::provisioned(&relay.url, None).await;
    bank.enroll("alice", &device).await.json::<UserBinding>(201);
    (relay, bank, device)
}

/// A relay on a manual clock, so a credential can enroll at two banks (each enrollment
/// spends two steps of the credential's codes).
async fn relay_on_manual_clock(dir: &std::path::Path) -> (TestRelay, ManualClock) {
    let clock = ManualClock::starting_now();
    let parts = Parts {
        clock: Some(Arc::new(clock.clone())),
        ..Parts::default()
    };
    (
        spawn_relay_with(test_settings(dir), parts, true).await,
        clock,
    )
}

fn device_on(relay: &TestRelay, clock: &ManualClock) -> TestDevice {
    let c = clock.clone();
    TestDevice::with_clock(&relay.url, Arc::new(move || c.now_unix()))
}

/// A compact JWS/JWT with any header and claims, and the signature given.
fn compact(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64::encode(header.to_string()),
        b64::encode(claims.to_string()),
        b64::encode(signature)
    )
}

/// A JWS whose HS256 tag is keyed with `mac_key` (the key-confusion attack).
fn hs256(header: &Value, claims: &Value, mac_key: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        b64::encode(header.to_string()),
        b64::encode(claims.to_string())
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, mac_key);
    let tag = ring::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64::encode(tag.as_ref()))
}

/// An ES256 JWS over any header and claims, signed by `key`.
fn es256(header: &Value, claims: &Value, key: &DeviceKey) -> String {
    let input = format!(
        "{}.{}",
        b64::encode(header.to_string()),
        b64::encode(claims.to_string())
    );
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64::encode(signature))
}

async fn status_of(bank: &Bank, id: &str) -> ChallengeStatus {
    bank.get(&format!("/v1/challenges/{id}"))
        .await
        .json::<BankChallenge>(200)
        .status
}

#[tokio::test]
async fn replayed_decision_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = enrolled(dir.path()).await;
    let first = bank
        .login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string();
    let ch = device.challenge(&first).await;
    let jws = sign_decision(&device.key, &device.claims(&ch, DecisionVerdict::Approve));
    let accepted: DecisionAccepted = device.post_jws(&first, &jws).await.json(200);
    assert_eq!(accepted.status, ChallengeStatus::Approved);
    // The very same JWS again (with a fresh request proof): the challenge is decided.
    let p = device
        .post_jws(&first, &jws)
        .await
        .problem(409, "challenge-decided");
    assert_eq!(p.challenge_status, Some(ChallengeStatus::Approved));
    // The same JWS on a new challenge of the same user: its chl and nonce are the old
    // challenge's, so it does not approve the new one.
    let second = bank
        .login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string();
    let p = device
        .post_jws(&second, &jws)
        .await
        .problem(422, "decision-mismatch");
    assert!(p.detail.contains("chl"), "{}", p.detail);
    assert_eq!(status_of(&bank, &second).await, ChallengeStatus::Pending);
    // The stored decision is the first one, unchanged.
    let outcome: BankChallenge = bank.get(&format!("/v1/challenges/{first}")).await.json(200);
    assert_eq!(outcome.decision.expect("decision").jws, jws);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn decision_for_another_tenants_challenge_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, clock) = relay_on_manual_clock(dir.path()).await;
    let bank_a = Bank::new(&relay.url, &relay.api_key);
    let other = relay
        .relay
        .add_tenant("bank-b", "Bank B", None)
        .await
        .unwrap();
    let bank_b = Bank::new(&relay.url, &other.api_key);
    // One phone serves alice at bank A and alice at bank B (R9).
    let mut phone = device_on(&relay, &clock);
    phone.provision(None).await;
    bank_a
        .enroll("alice", &phone)
        .await
        .json::<UserBinding>(201);
    clock.advance(60);
    bank_b
        .enroll("alice", &phone)
        .await
        .json::<UserBinding>(201);
    // Another customer's phone, enrolled only at bank B.
    let mut stranger = device_on(&relay, &clock);
    stranger.provision(None).await;
    bank_b
        .enroll("bob", &stranger)
        .await
        .json::<UserBinding>(201);
    let id_a = bank_a
        .login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string();
    let id_b = bank_b
        .login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string();
    let ch_a = phone.challenge(&id_a).await;
    let ch_b = phone.challenge(&id_b).await;
    // Bank B's approval posted for bank A's challenge.
    let for_b = sign_decision(&phone.key, &phone.claims(&ch_b, DecisionVerdict::Approve));
    phone
        .post_jws(&id_a, &for_b)
        .await
        .problem(422, "decision-mismatch");
    // Claims for A's challenge that name tenant B.
    let mut wrong_tenant = phone.claims(&ch_a, DecisionVerdict::Approve);
    wrong_tenant.tnt = ch_b.tenant_id.clone();
    let p = phone
        .post_decision(&id_a, &wrong_tenant)
        .await
        .problem(422, "decision-mismatch");
    assert!(p.detail.contains("tenant (tnt)"), "{}", p.detail);
    assert_eq!(status_of(&bank_a, &id_a).await, ChallengeStatus::Pending);
    assert_eq!(status_of(&bank_b, &id_b).await, ChallengeStatus::Pending);
    // A phone enrolled only at bank B cannot read bank A's challenge...
    stranger
        .send("GET", &format!("/v1/device/challenges/{id_a}"), None)
        .await
        .problem(404, "challenge-not-found");
    // ...and its validly signed approval of it is not an approval: R4 (4) ends the
    // challenge `credential_mismatch`, so bank A stops the login.
    let mut claims = phone.claims(&ch_a, DecisionVerdict::Approve);
    claims.cid = stranger.credential_id();
    stranger
        .post_decision(&id_a, &claims)
        .await
        .problem(403, "credential-mismatch");
    assert_eq!(
        status_of(&bank_a, &id_a).await,
        ChallengeStatus::CredentialMismatch
    );
    // Bank B cannot read or cancel bank A's challenge either.
    bank_b
        .get(&format!("/v1/challenges/{id_a}"))
        .await
        .problem(404, "challenge-not-found");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn alg_none_hmac_and_key_confusion_decisions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = enrolled(dir.path()).await;
    let id = bank
        .login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string();
    let ch = device.challenge(&id).await;
    let claims = serde_json::to_value(device.claims(&ch, DecisionVerdict::Approve)).unwrap();
    let cid = device.credential_id().as_str().to_owned();
    let header = |alg: &str| json!({ "alg": alg, "typ": DECISION_TYP, "kid": cid });
    let jwk = device.key.public_jwk();
    let jwk_json = serde_json::to_string(&jwk).unwrap();
    let point = jwk.uncompressed_point().unwrap();

    let refused = [
        (
            "alg none, empty signature",
            compact(&header("none"), &claims, b""),
        ),
        (
            "alg none, a signature",
            compact(&header("none"), &claims, &[7; 64]),
        ),
        (
            "HS256 keyed with the JWK JSON",
            hs256(&header("HS256"), &claims, jwk_json.as_bytes()),
        ),
        (
            "HS256 keyed with the EC point",
            hs256(&header("HS256"), &claims, &point),
        ),
        (
            "HS256 keyed with the JWK's x",
            hs256(&header("HS256"), &claims, jwk.x.as_bytes()),
        ),
        (
            "lower-case es256",
            es256(&header("es256"), &claims, &device.key),
        ),
        ("ES384", es256(&header("ES384"), &claims, &device.key)),
    ];
    for (what, jws) in &refused {
        let p = device
            .post_jws(&id, jws)
            .await
            .problem(400, "decision-malformed");
        assert!(p.detail.contains("only ES256"), "{what}: {}", p.detail);
    }
    // An attacker's key embedded in the header is never used: the relay verifies with
    // the key it registered for the credential.
    let attacker = DeviceKey::generate();
    let embedded =
        json!({ "alg": "ES256", "typ": DECISION_TYP, "kid": cid, "jwk": attacker.public_jwk() });
    let a = device
        .post_jws(&id, &es256(&embedded, &claims, &attacker))
        .await;
    let slug = if a.status == 400 {
        "decision-malformed"
    } else {
        "decision-signature-invalid"
    };
    let p = a.problem(a.status, slug);
    assert!(matches!(a.status, 400 | 401), "embedded jwk: {p:?}");
    eprintln!("embedded attacker jwk: {} {}", a.status, p.detail);
    // The same attack on the request proof (provisioning aside, a proof must name its
    // credential by kid and verify with the registered key).
    let path = format!("/v1/device/challenges/{id}");
    let proof_claims = json!({
        "htm": "GET", "htu": format!("{}{path}", relay.url),
        "iat": time::OffsetDateTime::now_utc().unix_timestamp(),
        "jti": b64::encode([9u8; 16]), "bh": body_hash(b""),
    });
    let proof_header = |alg: &str| json!({ "typ": PROOF_TYP, "alg": alg, "kid": cid });
    for (what, proof) in [
        ("none", compact(&proof_header("none"), &proof_claims, b"")),
        (
            "HS256/JWK",
            hs256(&proof_header("HS256"), &proof_claims, jwk_json.as_bytes()),
        ),
        (
            "HS256/point",
            hs256(&proof_header("HS256"), &proof_claims, &point),
        ),
        (
            "attacker key",
            es256(&proof_header("ES256"), &proof_claims, &attacker),
        ),
    ] {
        let a = device.send_with_proof("GET", &path, b"", &proof).await;
        let p = a.problem(401, "proof-invalid");
        eprintln!("proof {what}: {}", p.detail);
    }
    assert_eq!(status_of(&bank, &id).await, ChallengeStatus::Pending);
    // The genuine answer still works afterwards.
    device
        .answer(&id, DecisionVerdict::Approve, None)
        .await
        .json::<DecisionAccepted>(200);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn decision_proof_replayed_or_for_another_url_body_or_method_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = enrolled(dir.path()).await;
    let new_login = || async {
        bank.login("alice", json!({}))
            .await
            .json::<ChallengeCreated>(201)
            .id
            .to_string()
    };
    let id = new_login().await;
    let other = new_login().await;
    let ch: DeviceChallenge = device.challenge(&id).await;
    let path = format!("/v1/device/challenges/{id}/decision");
    let body = |claims: &DecisionClaims| {
        json!({ "jws": sign_decision(&device.key, claims) })
            .to_string()
            .into_bytes()
    };
    let deny = body(&device.claims(&ch, DecisionVerdict::Deny));
    let approve = body(&device.claims(&ch, DecisionVerdict::Approve));

    // A proof made for a deny, carrying an approve (a man in the middle swaps bodies).
    let proof = device.proof("POST", &path, &deny);
    let p = device
        .send_with_proof("POST", &path, &approve, &proof)
        .await
        .problem(401, "proof-invalid");
    assert!(p.detail.contains("body hash"), "{}", p.detail);
    // A proof for the other challenge's decision URL.
    let proof = device.proof(
        "POST",
        &format!("/v1/device/challenges/{other}/decision"),
        &approve,
    );
    let p = device
        .send_with_proof("POST", &path, &approve, &proof)
        .await
        .problem(401, "proof-invalid");
    assert!(
        p.detail.contains("htu") || p.detail.contains("URL"),
        "{}",
        p.detail
    );
    // A proof for a GET of the same URL.
    let proof = device.proof("GET", &path, &approve);
    device
        .send_with_proof("POST", &path, &approve, &proof)
        .await
        .problem(401, "proof-invalid");
    // A proof for another relay (host).
    let foreign = TestDevice {
        url: "http://relay.attacker.example".into(),
        ..device.through(&device.url)
    };
    let proof = foreign.proof("POST", &path, &approve);
    device
        .send_with_proof("POST", &path, &approve, &proof)
        .await
        .problem(401, "proof-invalid");
    assert_eq!(status_of(&bank, &id).await, ChallengeStatus::Pending);
    // The right proof works once; replayed with its body it is refused as a replay
    // before the decision is even looked at.
    let proof = device.proof("POST", &path, &approve);
    device
        .send_with_proof("POST", &path, &approve, &proof)
        .await
        .json::<DecisionAccepted>(200);
    let p = device
        .send_with_proof("POST", &path, &approve, &proof)
        .await
        .problem(401, "proof-invalid");
    assert!(p.detail.contains("replayed"), "{}", p.detail);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn otp_code_used_at_one_bank_is_refused_at_another() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, clock) = relay_on_manual_clock(dir.path()).await;
    let bank_a = Bank::new(&relay.url, &relay.api_key);
    let other = relay
        .relay
        .add_tenant("bank-b", "Bank B", None)
        .await
        .unwrap();
    let bank_b = Bank::new(&relay.url, &other.api_key);
    let mut phone = device_on(&relay, &clock);
    phone.provision(None).await;
    bank_a
        .enroll("alice", &phone)
        .await
        .json::<UserBinding>(201);
    clock.advance(60);
    bank_b
        .enroll("alice", &phone)
        .await
        .json::<UserBinding>(201);
    clock.advance(30);
    let code = phone.code_at_offset(0);
    bank_a
        .post("/v1/users/alice/otp/verify", &json!({ "code": code }))
        .await
        .json::<Value>(200);
    // Phished once, replayed at the other bank within the same 30 s: refused, and not
    // counted as a failure.
    bank_b
        .post("/v1/users/alice/otp/verify", &json!({ "code": code }))
        .await
        .problem(422, "code-replayed");
    let user: UserBinding = bank_b.get("/v1/users/alice").await.json(200);
    assert_eq!(user.failures, 0);
    // ... but audited (ASVS 2.8.5, F4).
    let audit: Vec<onepush_protocol::api::AuditEvent> =
        bank_b.get("/v1/audit?user_id=alice").await.json(200);
    let replayed: Vec<_> = audit.iter().filter(|e| e.event == "otp.replayed").collect();
    assert_eq!(replayed.len(), 1, "{audit:?}");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn otp_brute_force_is_stopped_by_the_lock_whatever_is_tried_next() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = enrolled(dir.path()).await;
    let near: Vec<String> = (-3..=3).map(|o| device.code_at_offset(o)).collect();
    let mut guesses = (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .filter(|c| !near.contains(c));
    let mut answers = Vec::new();
    for _ in 0..5 {
        let code = guesses.next().unwrap();
        let a = bank
            .post("/v1/users/alice/otp/verify", &json!({ "code": code }))
            .await;
        answers.push(a.status);
    }
    assert_eq!(answers, [422, 422, 422, 422, 423]);
    // Every later guess, right or wrong, is refused without revealing which.
    for code in guesses
        .take(20)
        .chain([device.code_at_offset(0), device.code_at_offset(1)])
    {
        bank.post("/v1/users/alice/otp/verify", &json!({ "code": code }))
            .await
            .problem(409, "binding-not-active");
    }
    // A locked user gets no pushes either.
    bank.login("alice", json!({}))
        .await
        .problem(409, "binding-not-active");
    relay.shutdown().await.unwrap();
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::test]
async fn unknown_revoked_and_known_credentials_with_wrong_codes_answer_alike() {
    // F1 (SECURITY.md): an authenticated bank must not tell a provisioned credential ID
    // from an unknown or revoked one. All three answer 422 codes-invalid with the same
    // detail, after the same work (the timing is printed, not asserted).
    let dir = tempfile::tempdir().unwrap();
    // Room for the timing rounds below: the enrollment lock is tried in binding_locks.rs.
    let settings = {
        let mut s = test_settings(dir.path());
        s.enrollment.lock_threshold = 100;
        s
    };
    let relay = spawn_relay_with(settings, Parts::default(), true).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let device = TestDevice::provisioned(&relay.url, None).await;
    let revoked = TestDevice::provisioned(&relay.url, None).await;
    let gone = revoked
        .send("DELETE", "/v1/device/credentials/self", None)
        .await;
    assert_eq!(gone.status, 204);
    let known = device.credential_id();
    let unknown = onepush_protocol::CredentialId::generate("ONEP").unwrap();
    let near: Vec<String> = (-3..=4)
        .flat_map(|o| [device.code_at_offset(o), revoked.code_at_offset(o)])
        .collect();
    let wrong: Vec<String> = (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .filter(|c| !near.contains(c))
        .take(2)
        .collect();
    let body = |cid: &str| json!({ "user_id": "alice", "credential_id": cid, "codes": wrong });
    let ids = [
        known.to_string(),
        unknown.to_string(),
        revoked.credential_id().to_string(),
    ];
    let mut problems = Vec::new();
    for id in &ids {
        let p = bank
            .post("/v1/enrollments", &body(id))
            .await
            .problem(422, "codes-invalid");
        problems.push(p);
    }
    assert_eq!(
        problems[0], problems[1],
        "unknown ID answers like wrong codes"
    );
    assert_eq!(
        problems[0], problems[2],
        "revoked ID answers like wrong codes"
    );
    // The cause is not in the bank's audit log either.
    let audit: Vec<onepush_protocol::api::AuditEvent> = bank.get("/v1/audit").await.json(200);
    assert!(
        audit.iter().all(|e| !e.event.starts_with("enrollment")),
        "{audit:?}"
    );
    // Timing: alternate so both see the same load.
    let (mut tk, mut tu) = (Vec::new(), Vec::new());
    for _ in 0..25 {
        let t = Instant::now();
        let a = bank.post("/v1/enrollments", &body(&ids[0])).await;
        tk.push(t.elapsed());
        assert_eq!(a.status, 422);
        let t = Instant::now();
        let a = bank.post("/v1/enrollments", &body(&ids[1])).await;
        tu.push(t.elapsed());
        assert_eq!(a.status, 422);
    }
    eprintln!(
        "median enrollment answer: known+wrong codes {:?}, unknown credential {:?}",
        median(tk),
        median(tu)
    );
    // Wrong enrollment codes below the enrollment lock threshold do not otherwise change
    // the credential: the owner can still enroll.
    bank.enroll("alice", &device).await.json::<UserBinding>(201);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn oversized_headers_and_bodies_are_refused_without_a_server_error() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = enrolled(dir.path()).await;
    let client = reqwest::Client::new();
    // Headers up to the limit (16 KiB in total) are served.
    let fits = client
        .get(format!("{}/v1/users/alice", relay.url))
        .header("authorization", format!("Bearer {}", relay.api_key))
        .header("x-padding", "a".repeat(15 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(fits.status(), 200);
    // Over it: 431 with a problem (F5), also for a huge bearer token.
    let over = client
        .get(format!("{}/v1/users/alice", relay.url))
        .header("authorization", format!("Bearer {}", relay.api_key))
        .header("x-padding", "a".repeat(100 * 1024))
        .send()
        .await
        .unwrap();
    let p = Answer::read(over).await.problem(431, "headers-too-large");
    assert!(p.detail.contains("16384"), "{}", p.detail);
    Bank::new(&relay.url, &"k".repeat(100 * 1024))
        .get("/v1/users/alice")
        .await
        .problem(431, "headers-too-large");
    // Beyond hyper's own buffer the connection gets 431 or is closed; never a 5xx.
    let result = client
        .get(format!("{}/v1/users/alice", relay.url))
        .header("x-padding", "a".repeat(1024 * 1024))
        .send()
        .await;
    match result {
        Ok(response) => assert_eq!(response.status(), 431),
        Err(e) => eprintln!("1 MiB header: connection refused ({e})"),
    }
    // Many headers.
    let mut request = client
        .get(format!("{}/v1/users/alice", relay.url))
        .header("authorization", format!("Bearer {}", relay.api_key));
    for i in 0..500 {
        request = request.header(format!("x-h{i}"), "v");
    }
    match request.send().await {
        Ok(r) => assert!(r.status().as_u16() < 500, "500 headers: {}", r.status()),
        Err(e) => eprintln!("500 headers: connection refused ({e})"),
    }
    // Bodies over the limit, on the socket, on a bank and a device route.
    let big =
        json!({ "user_id": "alice", "kind": "login", "context": { "ip": "x".repeat(70 * 1024) } });
    bank.post("/v1/challenges", &big)
        .await
        .problem(413, "body-too-large");
    let id = bank
        .login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id;
    let big = json!({ "jws": "a".repeat(70 * 1024) });
    device
        .send(
            "POST",
            &format!("/v1/device/challenges/{id}/decision"),
            Some(&big),
        )
        .await
        .problem(413, "body-too-large");
    // A context under the body limit but over the context limit (8 KiB canonical).
    let wide = json!({ "ip": "203.0.113.7", "user_agent": "u", "note": "x".repeat(9 * 1024) });
    let p = bank
        .post(
            "/v1/challenges",
            &json!({ "user_id": "alice", "kind": "login", "context": wide }),
        )
        .await
        .problem(400, "invalid-request");
    assert!(p.detail.contains("bytes"), "{}", p.detail);
    // Deep nesting is refused, not recursed into.
    let mut deep = json!("leaf");
    for _ in 0..200 {
        deep = json!([deep]);
    }
    let a = bank
        .post("/v1/challenges", &json!({ "user_id": "alice", "kind": "login", "context": { "ip": "1", "user_agent": "u", "deep": deep } }))
        .await;
    a.problem(400, "invalid-request");
    assert_eq!(
        relay.relay.service().settings().http.body_limit_bytes,
        65536
    );
    relay.shutdown().await.unwrap();
}

/// Strings an attacker would try in every text field.
fn hostile_strings() -> Vec<String> {
    vec![
        "'; DROP TABLE challenges; --".into(),
        "\" OR \"1\"=\"1".into(),
        "1' OR '1'='1' /*".into(),
        "Robert'); DELETE FROM bindings WHERE ('a'='a".into(),
        "$(rm -rf /) `id` ${jndi:ldap://x/a}".into(),
        "<script>alert(1)</script><img src=x onerror=alert(1)>".into(),
        "NUL:\u{0}|BEL:\u{7}|ESC:\u{1b}[31m|CRLF:\r\n|TAB:\t|DEL:\u{7f}|C1:\u{85}\u{9b}".into(),
        "\\u0000 \\\" \\\\ %00 %27 %22".into(),
        "ヤマダ タロウ 🏦 \u{FEFF}\u{200B}".into(),
    ]
}

#[tokio::test]
async fn injection_strings_and_control_characters_round_trip_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    let relay = spawn_relay(dir.path()).await;
    // Tenant display names come from the operator's CLI; they are shown on the phone.
    let hostile_name = "Bank'); DROP TABLE tenants; --\u{0}\u{1b}[2J";
    let tenant = relay
        .relay
        .add_tenant("hostile-bank", hostile_name, None)
        .await
        .unwrap();
    let bank = Bank::new(&relay.url, &tenant.api_key);
    let device = TestDevice::provisioned(&relay.url, None).await;
    bank.enroll("alice", &device).await.json::<UserBinding>(201);
    let strings = hostile_strings();
    let mut context = serde_json::Map::new();
    context.insert("amount".into(), json!("1000"));
    context.insert("currency".into(), json!("JPY"));
    context.insert("payee_name".into(), json!(strings[0]));
    context.insert("payee_account".into(), json!(strings[1]));
    for (i, s) in strings.iter().enumerate() {
        context.insert(format!("field_{i}"), json!(s));
        // Hostile keys as well as values.
        context.insert(format!("{s}#{i}"), json!(i));
    }
    context.insert("nested".into(), json!({ "list": strings }));
    let context = Value::Object(context);
    let created: ChallengeCreated = bank
        .post(
            "/v1/challenges",
            &json!({ "user_id": "alice", "kind": "transaction", "context": context }),
        )
        .await
        .json(201);
    let id = created.id.to_string();
    // The bank reads back exactly what it sent.
    let seen_by_bank: Value = bank.get(&format!("/v1/challenges/{id}")).await.json(200);
    assert_eq!(seen_by_bank["context"], context);
    // The phone too, with the bank's display name verbatim.
    let seen_by_phone: Value = device
        .send("GET", &format!("/v1/device/challenges/{id}"), None)
        .await
        .json(200);
    assert_eq!(seen_by_phone["context"], context);
    assert_eq!(seen_by_phone["tenant_name"], hostile_name);
    let accounts: DeviceAccounts = device
        .send("GET", "/v1/device/accounts", None)
        .await
        .json(200);
    assert_eq!(accounts.accounts[0].tenant_name, hostile_name);
    // The digest the phone signs over matches the relay's: nothing was rewritten.
    device
        .answer(&id, DecisionVerdict::Approve, None)
        .await
        .json::<DecisionAccepted>(200);
    assert_eq!(status_of(&bank, &id).await, ChallengeStatus::Approved);
    // User IDs are limited to a safe character set: each hostile one is refused with
    // a detail naming the character class, on body and path.
    for s in &strings {
        let p = bank
            .post(
                "/v1/enrollments",
                &json!({ "user_id": s, "credential_id": device.credential_id().as_str(), "codes": ["123456", "234567"] }),
            )
            .await
            .problem(400, "invalid-request");
        assert!(p.detail.contains("user ID"), "{}", p.detail);
        let path = s.bytes().fold(String::new(), |mut path, b| {
            write!(path, "%{b:02X}").unwrap();
            path
        });
        bank.get(&format!("/v1/users/{path}"))
            .await
            .problem(400, "invalid-request");
        let audit = bank.get(&format!("/v1/audit?user_id={path}")).await;
        audit.problem(400, "invalid-request");
    }
    // An Idempotency-Key with SQL in it is just a key (visible ASCII): the same key
    // gives the same challenge back.
    let key = "k'); DELETE FROM challenges; --";
    let body = json!({ "user_id": "alice", "kind": "login", "context": { "ip": "203.0.113.7", "user_agent": "x" } }).to_string();
    let headers = [
        ("authorization", format!("Bearer {}", tenant.api_key)),
        ("content-type", "application/json".to_owned()),
        ("idempotency-key", key.to_owned()),
    ];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let one: ChallengeCreated = bank
        .raw(reqwest::Method::POST, "/v1/challenges", &body, &headers)
        .await
        .json(201);
    let two: Answer = bank
        .raw(reqwest::Method::POST, "/v1/challenges", &body, &headers)
        .await;
    assert_eq!(two.json::<ChallengeCreated>(201).id, one.id);
    // Everything is still there: nothing was executed.
    assert_eq!(status_of(&bank, &id).await, ChallengeStatus::Approved);
    bank.get("/v1/users/alice").await.json::<UserBinding>(200);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn bidi_controls_in_context_reach_the_phone_verbatim() {
    // The relay passes misleading Unicode through untouched (the signature covers the
    // exact bytes); the app shows it neutralised: app/ui/tests/prompt.test.js
    // "bidi controls in a payee name are shown as markers, never applied".
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = enrolled(dir.path()).await;
    let payee = "Evil\u{202E}exe.gpj\u{202C} Payee \u{2066}isolated\u{2069}\u{200F}\u{061C}";
    let account = "0001\u{202D}-123-4567890\u{202C}";
    let context = json!({ "amount": "1000000", "currency": "JPY", "payee_name": payee, "payee_account": account });
    let id = bank
        .post(
            "/v1/challenges",
            &json!({ "user_id": "alice", "kind": "transaction", "context": context }),
        )
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string();
    let ch = device.challenge(&id).await;
    assert_eq!(ch.context.str("payee_name"), Some(payee));
    assert_eq!(ch.context.str("payee_account"), Some(account));
    let raw = device
        .send("GET", &format!("/v1/device/challenges/{id}"), None)
        .await;
    let text = String::from_utf8(raw.body.clone()).unwrap();
    assert!(
        text.contains('\u{202E}') || text.contains("\\u202e") || text.contains("\\u202E"),
        "the relay keeps the control: {text}"
    );
    // What the phone signs is the digest of exactly these characters.
    device
        .answer(&id, DecisionVerdict::Approve, None)
        .await
        .json::<DecisionAccepted>(200);
    let outcome: BankChallenge = bank.get(&format!("/v1/challenges/{id}")).await.json(200);
    assert_eq!(outcome.context.str("payee_name"), Some(payee));
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn device_clock_skew_is_refused_with_the_difference_named() {
    // Behind by 600 s is in bad_input.rs; here: ahead, and just inside the limit.
    let dir = tempfile::tempdir().unwrap();
    let (relay, clock) = relay_on_manual_clock(dir.path()).await;
    let mut device = device_on(&relay, &clock);
    device.provision(None).await;
    let c = clock.clone();
    device.now = Arc::new(move || c.now_unix() + 3600);
    let p = device
        .send("GET", "/v1/device/accounts", None)
        .await
        .problem(401, "proof-invalid");
    assert!(
        p.detail.contains("3600 seconds ahead of the relay's"),
        "{}",
        p.detail
    );
    assert!(p.detail.contains("date and time"), "{}", p.detail);
    let c = clock.clone();
    device.now = Arc::new(move || c.now_unix() + 59);
    device
        .send("GET", "/v1/device/accounts", None)
        .await
        .json::<DeviceAccounts>(200);
    relay.shutdown().await.unwrap();
}
