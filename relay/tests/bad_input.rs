//! Bad input on every kind of endpoint, each checked for the problem a client gets.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Answer, Bank, TestDevice};
use http_body_util::BodyExt as _;
use onepush_protocol::api::Problem;
use onepush_relay::testing::spawn_relay;
use serde_json::json;
use tower::ServiceExt as _;

async fn oneshot(router: axum::Router, req: Request<Body>) -> (StatusCode, Problem) {
    let response = router.oneshot(req).await.unwrap();
    let status = response.status();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn router_answers_problems_without_a_socket() {
    let dir = tempfile::tempdir().unwrap();
    let relay = onepush_relay::Relay::open(onepush_relay::testing::test_settings(dir.path()))
        .await
        .unwrap();
    let key = relay
        .add_tenant("bank", "Bank", None)
        .await
        .unwrap()
        .api_key;
    let post = |body: String| {
        Request::post("/v1/challenges")
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap()
    };
    let (s, p) = oneshot(relay.router(), post("{\"user_id\":".into())).await;
    assert_eq!((s.as_u16(), p.slug()), (400, "invalid-request"));
    assert!(p.detail.contains("EOF"), "{}", p.detail);
    let (s, p) = oneshot(
        relay.router(),
        post(json!({"user_id": "a", "kind": "login", "context": {}, "oops": 1}).to_string()),
    )
    .await;
    assert_eq!((s.as_u16(), p.slug()), (400, "invalid-request"));
    assert!(p.detail.contains("unknown field `oops`"), "{}", p.detail);
    let (s, p) = oneshot(
        relay.router(),
        post(
            json!({"user_id": "a", "kind": "login", "context": {}, "ttl_seconds": "ten"})
                .to_string(),
        ),
    )
    .await;
    assert_eq!(s.as_u16(), 400);
    assert!(p.detail.contains("invalid type"), "{}", p.detail);
    let (s, p) = oneshot(
        relay.router(),
        post(json!({"user_id": "a", "kind": "refund", "context": {}}).to_string()),
    )
    .await;
    assert_eq!(s.as_u16(), 400);
    assert!(p.detail.contains("refund"), "{}", p.detail);
    let big = format!("{{\"user_id\":\"{}\"}}", "a".repeat(70 * 1024));
    let (s, p) = oneshot(relay.router(), post(big)).await;
    assert_eq!((s.as_u16(), p.slug()), (413, "body-too-large"));
    let (s, p) = oneshot(
        relay.router(),
        Request::get("/v1/nothing").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!((s.as_u16(), p.slug()), (404, "not-found"));
}

#[tokio::test]
async fn bank_api_needs_a_valid_key() {
    let dir = tempfile::tempdir().unwrap();
    let relay = spawn_relay(dir.path()).await;
    let none = Bank::new(&relay.url, "");
    let a = none
        .raw(reqwest::Method::GET, "/v1/users/alice", "", &[])
        .await;
    let p = a.problem(401, "unauthorized");
    assert!(p.detail.contains("Authorization"), "{}", p.detail);
    Bank::new(&relay.url, "opk_wrong")
        .get("/v1/users/alice")
        .await
        .problem(401, "unauthorized");
    let rotated = relay.relay.service().rotate_key("test-bank").await.unwrap();
    Bank::new(&relay.url, &relay.api_key)
        .get("/v1/users/alice")
        .await
        .problem(401, "unauthorized");
    Bank::new(&relay.url, &rotated)
        .get("/v1/users/alice")
        .await
        .problem(404, "user-not-enrolled");
    let bank = Bank::new(&relay.url, &rotated);
    let a = bank
        .raw(
            reqwest::Method::POST,
            "/v1/enrollments",
            "{}",
            &[("authorization", &format!("Bearer {rotated}"))],
        )
        .await;
    assert!(
        a.problem(400, "invalid-request")
            .detail
            .contains("Content-Type")
    );
    bank.get("/v1/challenges/not-a-uuid")
        .await
        .problem(400, "invalid-request");
    bank.get(&format!(
        "/v1/challenges/{}?wait=61",
        onepush_protocol::ChallengeId::new()
    ))
    .await
    .problem(400, "invalid-request");
    bank.get(&format!(
        "/v1/challenges/{}",
        onepush_protocol::ChallengeId::new()
    ))
    .await
    .problem(404, "challenge-not-found");
    bank.get("/v1/users/bad%20user")
        .await
        .problem(400, "invalid-request");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn device_requests_need_a_fresh_proof_for_this_exact_request() {
    let dir = tempfile::tempdir().unwrap();
    let relay = spawn_relay(dir.path()).await;
    let device = TestDevice::provisioned(&relay.url, None).await;
    let path = "/v1/device/accounts";
    let a = Answer::read(reqwest::get(format!("{}{path}", relay.url)).await.unwrap()).await;
    assert!(
        a.problem(401, "proof-invalid")
            .detail
            .contains("OnePush-Proof")
    );
    let proof = device.proof("GET", path, b"");
    device
        .send_with_proof("GET", path, b"", &proof)
        .await
        .json::<serde_json::Value>(200);
    let p = device
        .send_with_proof("GET", path, b"", &proof)
        .await
        .problem(401, "proof-invalid");
    assert!(p.detail.contains("replayed"), "{}", p.detail);
    let other_path = device.proof("GET", "/v1/device/challenges", b"");
    device
        .send_with_proof("GET", path, b"", &other_path)
        .await
        .problem(401, "proof-invalid");
    let mut stale = TestDevice {
        now: std::sync::Arc::new(|| time::OffsetDateTime::now_utc().unix_timestamp() - 600),
        ..device
    };
    let p = stale
        .send("GET", path, None)
        .await
        .problem(401, "proof-invalid");
    // 600 seconds, or 601 if the relay's clock ticked on after the proof was made.
    assert!(
        p.detail.contains("600 seconds behind") || p.detail.contains("601 seconds behind"),
        "{}",
        p.detail
    );
    stale.provisioned = None;
    stale
        .send("GET", path, None)
        .await
        .problem(401, "proof-invalid");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn provisioning_checks_the_key_and_is_rate_limited_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let relay = spawn_relay(dir.path()).await;
    let device = TestDevice::new(&relay.url);
    let other_key = onepush_protocol::DeviceKey::generate().public_jwk();
    let p = device
        .send(
            "POST",
            "/v1/device/credentials",
            Some(&json!({ "jwk": other_key })),
        )
        .await
        .problem(401, "proof-invalid");
    assert!(p.detail.contains("jwk"), "{}", p.detail);
    device
        .send("POST", "/v1/device/credentials", Some(&json!({ "jwk": 5 })))
        .await
        .problem(400, "invalid-request");
    let mut limited = false;
    for _ in 0..12 {
        let a = TestDevice::new(&relay.url).provision(None).await;
        if a.status == 429 {
            a.problem(429, "rate-limited");
            assert!(a.headers.contains_key("retry-after"));
            limited = true;
            break;
        }
    }
    assert!(limited, "10 provisionings a minute per address");
    relay.shutdown().await.unwrap();
}
