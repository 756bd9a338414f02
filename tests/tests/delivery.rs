//! How a challenge reaches the phone across the crates: Web Push decrypted by the
//! emulator's push endpoint, a pull by the device library after the network came back,
//! and one phone serving two users of two banks (R9). The relay's side of delivery (the
//! push request, VAPID, padding, retries, gone subscriptions, the event stream, webhooks)
//! is tested once in `relay/tests/push.rs`; the device library following the event stream
//! in `approval.rs`, `faults.rs` and `lifecycle.rs`.

use crate::common;

use common::cli::{Running, device_bin};
use common::{Bank, carried, code_pair, enroll, next_matching, now};
use onepush_device::events::{self, Incoming, Source};
use onepush_device::{Authenticator, UnencryptedFileKeyStore};
use onepush_protocol::ChallengeStatus;
use onepush_relay::testing::proxy::Proxy;
use onepush_relay::testing::test_settings;
use onepush_relay::{Parts, Relay};
use tokio::sync::mpsc;

#[tokio::test(flavor = "multi_thread")]
async fn challenge_reaches_the_phone_by_web_push_through_the_push_endpoint() {
    let _ = device_bin();
    let world = common::world().await;
    let home = world.home();
    let store = UnencryptedFileKeyStore::new(&home);
    let phone = Authenticator::provision(Box::new(store), world.url(), now())
        .await
        .unwrap();
    enroll(&world.bank, &phone, "alice").await;
    drop(phone);

    let args = [
        "--insecure-no-pin",
        "--json",
        "push-endpoint",
        "--listen",
        "127.0.0.1:0",
        "--auto",
        "approve",
        "--count",
        "1",
    ];
    let mut endpoint = Running::start(&home, &args);
    let ready = endpoint.next_json(30).await;
    assert_eq!(ready["type"], "ready", "{ready}");
    assert!(
        ready["push_endpoint"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:"),
        "{ready}"
    );

    let created = world.bank.login("alice").await;
    let report = endpoint.next_json(20).await;
    assert_eq!(report["id"], created.id.to_string(), "{report}");
    assert_eq!(report["source"], "web-push", "{report}");
    assert_eq!(report["answer"], "approve", "{report}");
    assert_eq!(report["status"], "approved", "{report}");
    assert_eq!(report["context"], common::login_context(), "{report}");
    assert!(endpoint.wait(20).await.success(), "stops after --count 1");

    let outcome = world.bank.outcome(created.id, 5).await;
    assert_eq!(outcome.status, ChallengeStatus::Approved);
}

#[tokio::test(flavor = "multi_thread")]
async fn challenge_sent_while_the_phone_was_offline_is_pulled_after_it_reconnects() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_addr = listener.local_addr().unwrap();
    let proxy = Proxy::start(relay_addr).await;
    // The phone reaches the relay only through the proxy, so proofs name the proxy's URL.
    let mut settings = test_settings(&dir.path().join("relay"));
    settings.http.listen = relay_addr;
    settings.http.public_url = Some(proxy.url.clone());
    let relay = Relay::open_with(settings, Parts::default()).await.unwrap();
    let tenant = relay
        .add_tenant("test-bank", "Test Bank", None)
        .await
        .unwrap();
    tokio::spawn(relay.clone().serve(listener, std::future::pending()));
    let bank = Bank::new(&format!("http://{relay_addr}"), &tenant.api_key);

    let store = UnencryptedFileKeyStore::new(&dir.path().join("phone"));
    let phone = Authenticator::provision(Box::new(store), &proxy.url, now())
        .await
        .unwrap();
    enroll(&bank, &phone, "alice").await;
    let (tx, mut rx) = mpsc::channel(64);
    let follower = events::follow(phone.client().clone(), tx);
    next_matching(&mut rx, 10, |i| {
        matches!(i, Incoming::Connected { attempt: 0 })
    })
    .await;

    proxy.cut();
    next_matching(&mut rx, 10, |i| matches!(i, Incoming::Disconnected { .. })).await;
    let created = bank.login("alice").await;
    proxy.restore();

    let pulled = next_matching(&mut rx, 20, |i| {
        matches!(
            i,
            Incoming::Challenge {
                source: Source::Pull,
                ..
            }
        )
    })
    .await;
    let (id, _, details) = carried(pulled);
    assert_eq!((id, details.status), (created.id, ChallengeStatus::Pending));
    next_matching(
        &mut rx,
        10,
        |i| matches!(i, Incoming::Connected { attempt } if *attempt > 0),
    )
    .await;
    let challenge = phone.challenge(created.id).await.unwrap();
    assert_eq!(challenge.status, ChallengeStatus::Pending);
    follower.abort();
    relay.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn one_phone_serves_two_users_of_two_banks() {
    let world = common::world().await;
    let other = world.other_bank("kansai-bank", "Kansai Bank").await;
    let mut phone = world.enrolled_phone("alice").await;
    let cid = phone.vault().credential_id().clone();
    // The codes are the credential's, so the second bank gets two codes newer than the
    // ones the first bank took, as a user reads them some time later.
    let (status, body) = other.enroll("bob.k", &cid, &code_pair(&phone, 1)).await;
    assert_eq!(
        status, 201,
        "the same credential ID enrolls at a second bank: {body}"
    );

    let accounts = phone.refresh_accounts().await.unwrap().to_vec();
    let mut served: Vec<(String, String)> = accounts
        .iter()
        .map(|a| (a.tenant_name.clone(), a.user_id.to_string()))
        .collect();
    served.sort();
    assert_eq!(
        served,
        [
            ("Kansai Bank".to_owned(), "bob.k".to_owned()),
            ("Test Bank".to_owned(), "alice".to_owned())
        ]
    );

    let first = world.bank.login("alice").await;
    let second = other.login("bob.k").await;
    let pending = phone.pending().await.unwrap();
    let ids: Vec<_> = pending.iter().map(|c| c.id).collect();
    assert!(
        ids.contains(&first.id) && ids.contains(&second.id),
        "{ids:?}"
    );
    for challenge in &pending {
        phone.approve(challenge, None, false, now()).await.unwrap();
    }
    assert_eq!(
        world.bank.outcome(first.id, 5).await.status,
        ChallengeStatus::Approved
    );
    let theirs = other.outcome(second.id, 5).await;
    assert_eq!(
        (theirs.status, theirs.user_id.as_str()),
        (ChallengeStatus::Approved, "bob.k")
    );
}
