//! Limits that hold under abuse (issue 22, item 4): what one client can hold open, and
//! for how long, on the public listener.

use crate::common;

use std::time::Duration;

use common::{Answer, Bank, TestDevice};
use futures::StreamExt as _;
use onepush_protocol::api::ChallengeCreated;
use onepush_relay::Parts;
use onepush_relay::settings::Settings;
use onepush_relay::testing::{TestRelay, spawn_relay_with, test_settings};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Longest any test here waits for the relay to act (a bound, never an expectation).
const BOUND: Duration = Duration::from_secs(20);

async fn relay_with(dir: &std::path::Path, tune: impl FnOnce(&mut Settings)) -> TestRelay {
    let mut settings = test_settings(dir);
    tune(&mut settings);
    spawn_relay_with(settings, Parts::default(), true).await
}

fn addr_of(url: &str) -> String {
    url.trim_start_matches("http://").to_owned()
}

/// Reads until the peer closes the connection (bounded by [`BOUND`]); answers what came.
async fn read_to_close(tcp: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let read = tokio::time::timeout(BOUND, tcp.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "the relay kept the connection open");
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn a_fourth_event_stream_closes_the_oldest() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(dir.path(), |_| {}).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let device = TestDevice::provisioned(&relay.url, None).await;
    bank.enroll("alice", &device)
        .await
        .json::<serde_json::Value>(201);
    let mut streams = Vec::new();
    for _ in 0..3 {
        let s = device.open_events().await;
        assert_eq!(s.status(), 200);
        streams.push(s);
    }
    let mut fourth = device.open_events().await;
    assert_eq!(fourth.status(), 200);
    // The oldest ends: its body is complete (keep-alive comments aside).
    let mut oldest = streams.remove(0);
    let ended = tokio::time::timeout(BOUND, async {
        while let Some(chunk) = oldest.chunk().await.unwrap() {
            assert!(chunk.starts_with(b":"), "only keep-alives before the end");
        }
    })
    .await;
    assert!(ended.is_ok(), "the oldest stream was not closed");
    // The newest gets the next challenge.
    bank.login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201);
    let chunk = tokio::time::timeout(BOUND, fourth.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&chunk).contains("event: challenge"),
        "{chunk:?}"
    );
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn event_streams_past_the_relay_cap_get_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(dir.path(), |s| {
        s.limits.event_streams_max = 2;
        s.limits.event_streams_per_credential = 2;
    })
    .await;
    let a = TestDevice::provisioned(&relay.url, None).await;
    let b = TestDevice::provisioned(&relay.url, None).await;
    let _held = [a.open_events().await, a.open_events().await];
    let refused = Answer::read(b.open_events().await).await;
    refused.problem(503, "overloaded");
    assert_eq!(refused.headers["retry-after"], "5");
    // A credential at the cap may still replace its own oldest stream.
    assert_eq!(a.open_events().await.status(), 200);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn long_polls_past_the_tenant_cap_get_503_and_other_banks_still_wait() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(dir.path(), |s| s.limits.long_polls_per_tenant = 2).await;
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
    // Four wait at once, two places: two are refused at once, two wait for the answer.
    let path = format!("/v1/challenges/{id}?wait=60");
    let mut polls: futures::stream::FuturesUnordered<_> = (0..4)
        .map(|_| {
            let (bank, path) = (bank.clone(), path.clone());
            tokio::spawn(async move { bank.get(&path).await })
        })
        .collect();
    for _ in 0..2 {
        let refused = polls.next().await.unwrap().unwrap();
        refused.problem(503, "overloaded");
        assert!(refused.headers.contains_key("retry-after"));
    }
    // Without wait, the status answers at once.
    assert_eq!(bank.get(&format!("/v1/challenges/{id}")).await.status, 200);
    // Another bank is not held up by this one's long-polls.
    let other = relay
        .relay
        .add_tenant("other-bank", "Other", None)
        .await
        .unwrap();
    let other = Bank::new(&relay.url, &other.api_key);
    other
        .get(&format!(
            "/v1/challenges/{}?wait=1",
            onepush_protocol::ChallengeId::new()
        ))
        .await
        .problem(404, "challenge-not-found");
    // The decision ends the two waits.
    device
        .answer(&id, onepush_protocol::DecisionVerdict::Approve, None)
        .await
        .json::<serde_json::Value>(200);
    while let Some(waited) = polls.next().await {
        let status: onepush_protocol::api::BankChallenge = waited.unwrap().json(200);
        assert_eq!(status.status, onepush_protocol::ChallengeStatus::Approved);
    }
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_slow_header_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(dir.path(), |s| s.http.header_read_timeout_seconds = 1).await;
    let mut slow = TcpStream::connect(addr_of(&relay.url)).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\nX-Slow: ")
        .await
        .unwrap();
    // The rest of the head never comes: the relay closes the connection.
    read_to_close(&mut slow).await;
    // A whole head in time is answered.
    let mut fine = TcpStream::connect(addr_of(&relay.url)).await.unwrap();
    fine.write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut fine).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_connection_that_never_sends_a_byte_is_closed_when_idle() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(dir.path(), |s| s.http.idle_timeout_seconds = 1).await;
    let mut silent = TcpStream::connect(addr_of(&relay.url)).await.unwrap();
    assert_eq!(read_to_close(&mut silent).await, "");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn connections_past_the_cap_get_503_and_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(dir.path(), |s| s.http.connections_max = 3).await;
    let mut held = Vec::new();
    // Each connection asks once and stays open (keep-alive) until one is over the cap.
    let mut over = None;
    for _ in 0..10 {
        let mut tcp = TcpStream::connect(addr_of(&relay.url)).await.unwrap();
        tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n")
            .await
            .unwrap();
        let mut answer = vec![0u8; 1024];
        let n = tokio::time::timeout(BOUND, tcp.read(&mut answer))
            .await
            .unwrap()
            .unwrap();
        let text = String::from_utf8_lossy(&answer[..n]).into_owned();
        if text.starts_with("HTTP/1.1 503") {
            over = Some((tcp, text));
            break;
        }
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        held.push(tcp);
    }
    assert_eq!(held.len(), 3, "exactly the cap was answered");
    let (mut tcp, text) = over.expect("a connection over the cap");
    let lower = text.to_ascii_lowercase();
    assert!(lower.contains("retry-after: 5"), "{text}");
    assert!(lower.contains("application/problem+json"), "{text}");
    assert!(text.contains("overloaded"), "{text}");
    read_to_close(&mut tcp).await;
    // One held connection closes: a new one is served again.
    drop(held.pop());
    let mut served = false;
    for _ in 0..50 {
        let a = reqwest::Client::new()
            .get(format!("{}/healthz", relay.url))
            .send()
            .await
            .unwrap();
        if a.status() == 200 {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "a freed place is not given again");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(dir.path(), |s| s.http.idle_timeout_seconds = 1).await;
    let mut h2 = TcpStream::connect(addr_of(&relay.url)).await.unwrap();
    // The client preface and an empty SETTINGS frame (RFC 9113 §3.4), then nothing.
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let frames = read_to_close(&mut h2).await;
    // The relay's SETTINGS came first; it ended the connection with a GOAWAY (type 7).
    assert!(!frames.is_empty());
    relay.shutdown().await.unwrap();
}
