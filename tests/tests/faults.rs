//! Faults (issue 9): a push service that hangs past the timeout or refuses connections
//! must not keep a challenge from the phone: the event stream delivers it and the
//! challenge ends as answered. (The push sender's own handling of each answer is in
//! `relay/src/push/endpoint_tests.rs`; a killed relay process in
//! `relay/tests/two_relays.rs` and `relay/tests/expiry.rs`.)

mod common;

use common::{announces, next_matching, now};
use onepush_device::events::{self, Incoming, Source};
use onepush_protocol::ChallengeStatus;
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
    assert_eq!(
        incoming,
        Incoming::Challenge {
            id: created.id,
            source: Source::EventStream
        }
    );
    let challenge = phone.challenge(created.id).await.expect("details");
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
