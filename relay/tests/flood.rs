//! A bounded loopback load test (issue 22, item 4): a flood holds every cap of the
//! public listener at once (event streams, a bank's long-polls, connections), and a
//! bank's challenges still complete on the connections it already holds. Bounded in
//! count (a few dozen connections and streams, five challenges) and in time (every wait
//! has a bound); nothing is timed.

use crate::common;

use std::time::Duration;

use common::{Answer, Bank, TestDevice};
use futures::StreamExt as _;
use onepush_protocol::api::{BankChallenge, ChallengeCreated};
use onepush_protocol::{ChallengeStatus, DecisionVerdict};
use onepush_relay::Parts;
use onepush_relay::testing::{spawn_relay_with, test_settings};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const BOUND: Duration = Duration::from_secs(20);
const CONNECTIONS: u32 = 24;
const STREAMS: u32 = 10;
const LONG_POLLS: u32 = 4;

/// One connection per client, requests multiplexed (h2c, prior knowledge).
fn h2c() -> reqwest::Client {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap()
}

/// A new connection asking `/healthz` once; answers the status line and keeps the
/// connection (open, keep-alive) when it was served.
async fn knock(addr: &str) -> (String, Option<TcpStream>) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n")
        .await
        .unwrap();
    let mut head = vec![0u8; 1024];
    let n = tokio::time::timeout(BOUND, tcp.read(&mut head))
        .await
        .expect("an answer in time")
        .unwrap();
    let text = String::from_utf8_lossy(&head[..n]).into_owned();
    let line = text.lines().next().unwrap_or_default().to_owned();
    let served = line.starts_with("HTTP/1.1 200");
    (line, served.then_some(tcp))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_at_every_cap_leaves_banks_challenges_working() {
    let dir = tempfile::tempdir().unwrap();
    let settings = {
        let mut s = test_settings(dir.path());
        s.http.connections_max = CONNECTIONS;
        s.limits.event_streams_max = STREAMS;
        s.limits.event_streams_per_credential = 3;
        s.limits.long_polls_per_tenant = LONG_POLLS;
        s.http.header_read_timeout_seconds = 60;
        s.http.idle_timeout_seconds = 60;
        s.limits.provision_per_minute = 1000;
        s
    };
    let relay = spawn_relay_with(settings, Parts::default(), true).await;

    // The bank and its customer's phone, each on one connection opened before the flood.
    let bank = Bank {
        client: h2c(),
        ..Bank::new(&relay.url, &relay.api_key)
    };
    let mut device = TestDevice::new(&relay.url);
    device.client = h2c();
    device.provision(None).await.json::<serde_json::Value>(201);
    bank.enroll("alice", &device)
        .await
        .json::<serde_json::Value>(201);
    let mut phone_stream = device.open_events().await;
    assert_eq!(phone_stream.status(), 200);

    let flood_client = h2c();
    let (flooders, streams) = flood_event_streams(&relay.url, &flood_client).await;
    let polls = flood_long_polls(&relay, &flood_client, &flooders[0]).await;
    let sockets = flood_connections(&relay.url).await;

    // Meanwhile the bank's challenges complete, on the connections it holds.
    for _ in 0..5 {
        challenge_completes(&bank, &device, &mut phone_stream).await;
    }

    // The flood's long-polls end with the relay (answered: still pending).
    drop((sockets, streams));
    relay.shutdown().await.unwrap();
    let mut polls = polls;
    while let Some(poll) = polls.next().await {
        assert_eq!(poll.unwrap().status, 200);
    }
}

/// Flood 1: event streams. Each flooding credential opens four (the fourth closes its
/// first), until the relay's cap; one more credential is refused.
async fn flood_event_streams(
    url: &str,
    flood_client: &reqwest::Client,
) -> (Vec<TestDevice>, Vec<reqwest::Response>) {
    let mut flooders = Vec::new();
    let mut streams = Vec::new();
    for _ in 0..3 {
        let mut f = TestDevice::new(url);
        f.client = flood_client.clone();
        f.provision(None).await.json::<serde_json::Value>(201);
        for _ in 0..4 {
            let s = f.open_events().await;
            assert_eq!(s.status(), 200);
            streams.push(s);
        }
        flooders.push(f);
    }
    let mut late = TestDevice::new(url);
    late.client = flood_client.clone();
    late.provision(None).await.json::<serde_json::Value>(201);
    Answer::read(late.open_events().await)
        .await
        .problem(503, "overloaded");
    (flooders, streams)
}

type Polls = futures::stream::FuturesUnordered<tokio::task::JoinHandle<Answer>>;

/// Flood 2: another bank holds all its long-polls on a challenge of its own user; two
/// more are refused.
async fn flood_long_polls(
    relay: &onepush_relay::testing::TestRelay,
    flood_client: &reqwest::Client,
    device: &TestDevice,
) -> Polls {
    let flood_bank = relay
        .relay
        .add_tenant("flood-bank", "Flood", None)
        .await
        .unwrap();
    let flood_bank = Bank::with_http(&relay.url, &flood_bank.api_key, flood_client.clone());
    flood_bank
        .enroll("mallory", device)
        .await
        .json::<serde_json::Value>(201);
    let held = flood_bank
        .login("mallory", json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id;
    let mut polls: Polls = (0..LONG_POLLS + 2)
        .map(|_| {
            let (b, path) = (flood_bank.clone(), format!("/v1/challenges/{held}?wait=60"));
            tokio::spawn(async move { b.get(&path).await })
        })
        .collect();
    for _ in 0..2 {
        polls
            .next()
            .await
            .unwrap()
            .unwrap()
            .problem(503, "overloaded");
    }
    polls
}

/// Flood 3: connections, until one is answered 503 (the cap is then held).
async fn flood_connections(url: &str) -> Vec<TcpStream> {
    let addr = url.trim_start_matches("http://").to_owned();
    let mut sockets = Vec::new();
    let mut refused = None;
    for _ in 0..=CONNECTIONS {
        match knock(&addr).await {
            (_, Some(tcp)) => sockets.push(tcp),
            (line, None) => {
                refused = Some(line);
                break;
            }
        }
    }
    let refused = refused.expect("the connection cap was never reached");
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(
        Answer::read(
            reqwest::Client::new()
                .get(format!("{url}/healthz"))
                .send()
                .await
                .unwrap()
        )
        .await
        .status
            == 503,
        "a new connection is refused while the flood holds the cap"
    );
    sockets
}

/// One challenge of the bank: heard on the phone's stream, approved, long-polled.
async fn challenge_completes(
    bank: &Bank,
    device: &TestDevice,
    phone_stream: &mut reqwest::Response,
) {
    let created: ChallengeCreated = bank.login("alice", json!({})).await.json(201);
    let id = created.id.to_string();
    // The phone hears of it on its stream.
    let heard = tokio::time::timeout(BOUND, async {
        loop {
            let chunk = phone_stream.chunk().await.unwrap().expect("stream open");
            if String::from_utf8_lossy(&chunk).contains(&id) {
                return;
            }
        }
    })
    .await;
    assert!(heard.is_ok(), "the phone's event stream did not carry {id}");
    let poll = {
        let (b, path) = (bank.clone(), format!("/v1/challenges/{id}?wait=30"));
        tokio::spawn(async move { b.get(&path).await })
    };
    device
        .answer(&id, DecisionVerdict::Approve, None)
        .await
        .json::<serde_json::Value>(200);
    let outcome: BankChallenge = poll.await.unwrap().json(200);
    assert_eq!(outcome.status, ChallengeStatus::Approved);
}
