//! The relay speaks HTTP/2 without TLS (h2c, prior knowledge) next to HTTP/1.1 on the
//! same port: a bank can multiplex its long-polls over one connection, a device can hold
//! its event stream as one stream of a shared connection.

use crate::common;

use std::time::Duration;

use common::{Bank, TestDevice};
use onepush_protocol::api::{BankChallenge, ChallengeCreated, DecisionAccepted, UserBinding};
use onepush_protocol::{ChallengeStatus, DecisionVerdict};
use onepush_relay::testing::spawn_relay;
use serde_json::json;

/// A client that opens connections with the HTTP/2 preface (no upgrade, no TLS).
fn h2c_client() -> reqwest::Client {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .expect("an h2c client builds")
}

#[tokio::test]
async fn long_polls_multiplexed_over_h2c_are_answered_by_the_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let relay = spawn_relay(dir.path()).await;
    let http1 = Bank::new(&relay.url, &relay.api_key);
    let bank = Bank {
        client: h2c_client(),
        ..http1.clone()
    };
    let device = TestDevice::provisioned(&relay.url, None).await;
    bank.enroll("alice", &device).await.json::<UserBinding>(201);

    // Two challenges, both long-polled at once on the bank's one h2c connection.
    let mut ids = Vec::new();
    let mut polls = Vec::new();
    for _ in 0..2 {
        let created: ChallengeCreated = bank.login("alice", json!({})).await.json(201);
        let id = created.id.to_string();
        let bank = bank.clone();
        let path = format!("/v1/challenges/{id}?wait=30");
        polls.push(tokio::spawn(async move {
            let response = bank
                .sdk()
                .raw_path(reqwest::Method::GET, &path)
                .send()
                .await
                .expect("long-poll");
            assert_eq!(response.version(), reqwest::Version::HTTP_2);
            common::Answer::read(response).await
        }));
        ids.push(id);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    for poll in &polls {
        assert!(!poll.is_finished(), "a long-poll answered while pending");
    }

    let verdicts = [DecisionVerdict::Approve, DecisionVerdict::Deny];
    for (id, verdict) in ids.iter().zip(verdicts) {
        device
            .answer(id, verdict, None)
            .await
            .json::<DecisionAccepted>(200);
    }
    let outcomes: Vec<BankChallenge> = futures::future::join_all(polls)
        .await
        .into_iter()
        .map(|p| p.unwrap().json(200))
        .collect();
    assert_eq!(outcomes[0].status, ChallengeStatus::Approved);
    assert!(outcomes[0].decision.is_some());
    assert_eq!(outcomes[1].status, ChallengeStatus::Denied);

    // HTTP/1.1 still works on the same port.
    let response = http1
        .client
        .get(format!("{}/v1/challenges/{}", relay.url, ids[0]))
        .header("authorization", format!("Bearer {}", relay.api_key))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    let outcome: BankChallenge = common::Answer::read(response).await.json(200);
    assert_eq!(outcome.status, ChallengeStatus::Approved);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_input_over_h2c_still_gets_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let relay = spawn_relay(dir.path()).await;
    let bank = Bank {
        client: h2c_client(),
        ..Bank::new(&relay.url, &relay.api_key)
    };
    bank.get("/v1/challenges/not-a-uuid?wait=30")
        .await
        .problem(400, "invalid-request");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_event_stream_works_over_h2c() {
    let dir = tempfile::tempdir().unwrap();
    let relay = spawn_relay(dir.path()).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let mut device = TestDevice::new(&relay.url);
    device.client = h2c_client();
    device.provision(None).await;
    bank.enroll("alice", &device).await.json::<UserBinding>(201);
    let mut stream = device.open_events().await;
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.version(), reqwest::Version::HTTP_2);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let created: ChallengeCreated = bank.login("alice", json!({})).await.json(201);
    let mut text = String::new();
    while !text.contains(&created.id.to_string()) {
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.chunk())
            .await
            .expect("an event within 5 s")
            .unwrap()
            .expect("the stream stays open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains("event: challenge"), "{text}");
    // The same connection carries the device's other requests meanwhile.
    device
        .answer(&created.id.to_string(), DecisionVerdict::Approve, None)
        .await
        .json::<DecisionAccepted>(200);
    drop(stream);
    relay.shutdown().await.unwrap();
}
