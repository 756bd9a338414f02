//! Health, readiness, metrics and the OpenAPI document.

use crate::common;

use common::{Answer, Bank, TestDevice};
use onepush_protocol::DecisionVerdict;
use onepush_relay::testing::spawn_relay;
use serde_json::json;

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let dir = tempfile::tempdir().unwrap();
    let relay = spawn_relay(dir.path()).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let device = TestDevice::provisioned(&relay.url, None).await;
    bank.enroll("alice", &device)
        .await
        .json::<serde_json::Value>(201);
    let id = bank
        .login("alice", json!({}))
        .await
        .json::<serde_json::Value>(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    device
        .answer(&id, DecisionVerdict::Approve, None)
        .await
        .json::<serde_json::Value>(200);
    for (path, want) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let a = Answer::read(reqwest::get(format!("{}{path}", relay.url)).await.unwrap()).await;
        assert_eq!(
            (a.status, String::from_utf8_lossy(&a.body).as_ref()),
            (200, want)
        );
    }
    let metrics = Answer::read(
        reqwest::get(format!("{}/metrics", relay.admin_url))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(metrics.status, 200);
    let text = String::from_utf8_lossy(&metrics.body);
    assert!(
        text.contains("onepush_challenges_total{kind=\"login\",outcome=\"approved\"}"),
        "{text}"
    );
    assert!(text.contains("onepush_decision_latency_seconds"), "{text}");
    // Requests by route template (never the path with its IDs) and status, with times.
    assert!(
        text.contains(
            "onepush_http_requests_total{route=\"/v1/device/challenges/{id}/decision\",status=\"200\"}"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "onepush_http_request_duration_seconds_bucket{route=\"/v1/challenges\",status=\"201\""
        ),
        "{text}"
    );
    assert!(!text.contains(&id), "a challenge ID in a label: {text}");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn metrics_are_not_on_the_public_listener() {
    let dir = tempfile::tempdir().unwrap();
    let relay = spawn_relay(dir.path()).await;
    let public = Answer::read(
        reqwest::get(format!("{}/metrics", relay.url))
            .await
            .unwrap(),
    )
    .await;
    public.problem(404, "not-found");
    // Described from the start: every metric has its HELP and TYPE before anything
    // happened to count.
    let text = reqwest::get(format!("{}/metrics", relay.admin_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (name, kind) in [
        ("onepush_challenges_created_total", "counter"),
        ("onepush_challenges_total", "counter"),
        ("onepush_decision_latency_seconds", "histogram"),
        ("onepush_push_results_total", "counter"),
        ("onepush_webhook_attempts_total", "counter"),
        ("onepush_http_requests_total", "counter"),
        ("onepush_http_request_duration_seconds", "histogram"),
        ("onepush_connections_open", "gauge"),
        ("onepush_event_streams_open", "gauge"),
        ("onepush_limit_refusals_total", "counter"),
    ] {
        assert!(text.contains(&format!("# HELP {name} ")), "{name}: {text}");
        assert!(
            text.contains(&format!("# TYPE {name} {kind}")),
            "{name}: {text}"
        );
    }
    // The operations listener serves nothing of the API.
    let api = Answer::read(
        reqwest::get(format!("{}/v1/device/challenges", relay.admin_url))
            .await
            .unwrap(),
    )
    .await;
    api.problem(404, "not-found");
    relay.shutdown().await.unwrap();
}

#[test]
fn the_operations_listener_is_on_loopback_by_default() {
    let settings = onepush_relay::Settings::default();
    assert!(settings.http.admin_listen.ip().is_loopback());
    assert_ne!(settings.http.admin_listen, settings.http.listen);
}

/// RFC 9457: errors are `application/problem+json`, and the document must say so
/// (schemathesis checks answers against it).
#[test]
fn openapi_documents_errors_as_problem_json() {
    let json = serde_json::to_value(onepush_relay::http::openapi()).unwrap();
    let mut checked = 0;
    for (path, item) in json["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    let content = response["content"].as_object().unwrap();
                    assert!(
                        content.keys().all(|k| k == "application/problem+json"),
                        "{method} {path} {status} documents {:?}",
                        content.keys().collect::<Vec<_>>()
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 20, "only {checked} error responses documented");
}

#[test]
fn openapi_lists_every_route_with_its_methods() {
    let doc = onepush_relay::http::openapi();
    let json = serde_json::to_value(&doc).unwrap();
    let paths = json["paths"].as_object().unwrap();
    let expected = [
        ("/v1/challenges", "post"),
        ("/v1/challenges/{id}", "get"),
        ("/v1/challenges/{id}", "delete"),
        ("/v1/enrollments", "post"),
        ("/v1/users/{user_id}", "get"),
        ("/v1/users/{user_id}/otp/verify", "post"),
        ("/v1/users/{user_id}/otp/resync", "post"),
        ("/v1/users/{user_id}/suspend", "post"),
        ("/v1/users/{user_id}/resume", "post"),
        ("/v1/users/{user_id}/unlock", "post"),
        ("/v1/users/{user_id}/enrollment", "delete"),
        ("/v1/credentials/{cid}/report-lost", "post"),
        ("/v1/credentials/{cid}/jwk", "get"),
        ("/v1/audit", "get"),
        ("/v1/maintenance", "get"),
        ("/v1/offline-challenges", "post"),
        ("/v1/offline-challenges/{id}/verify", "post"),
        ("/v1/device/credentials", "post"),
        ("/v1/device/credentials/self", "delete"),
        ("/v1/device/push-subscription", "put"),
        ("/v1/device/challenges", "get"),
        ("/v1/device/challenges/{id}", "get"),
        ("/v1/device/challenges/{id}/decision", "post"),
        ("/v1/device/events", "get"),
        ("/v1/device/accounts", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/openapi.json", "get"),
    ];
    for (path, method) in expected {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing"
        );
    }
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        documented,
        expected.len(),
        "no undocumented extras and none missing"
    );
    assert!(
        json["components"]["schemas"]
            .get("CreateChallenge")
            .is_some()
    );
    for schema in [
        "CreateOfflineChallenge",
        "OfflineChallengeCreated",
        "VerifyOfflineCode",
        "OfflineCodeVerified",
    ] {
        assert!(
            json["components"]["schemas"].get(schema).is_some(),
            "{schema}"
        );
    }
}
