//! The credential's life across the crates: the emulator CLI's reset revokes it
//! everywhere (R6, R14), and a phone reported lost (R16) is told at once. The relay's
//! side of both is tested once in `relay/tests/lifecycle.rs`.

use crate::common;

use common::cli::{self, device_bin};
use common::{announces, enroll, next_matching, now};
use onepush_device::events::{self, Incoming};
use onepush_device::{Authenticator, DeviceError, KeyStore as _, UnencryptedFileKeyStore};
use onepush_protocol::{ChallengeStatus, DenyReason};
use reqwest::Method;
use tokio::sync::mpsc;

#[tokio::test(flavor = "multi_thread")]
async fn reset_makes_every_later_request_and_decision_of_the_credential_fail() {
    let _ = device_bin();
    let world = common::world().await;
    let home = world.home();
    let store = UnencryptedFileKeyStore::new(&home);
    // The same keys stay in memory after the reset: what a copied vault could try.
    let mut phone = Authenticator::provision(Box::new(store), world.url(), now())
        .await
        .unwrap();
    enroll(&world.bank, &phone, "alice").await;
    let created = world.bank.login("alice").await;
    let challenge = phone.challenge(created.id).await.unwrap();

    let mut reset = cli::device(&home);
    reset.args(["--insecure-no-pin", "--json", "reset"]);
    let done = cli::run(reset).await.success();
    let answer = cli::json_line(&done);
    assert_eq!(answer["revoked"], true, "{answer}");
    assert_eq!(answer["vault_deleted"], true, "{answer}");
    assert!(
        !UnencryptedFileKeyStore::new(&home).exists(),
        "the vault is gone"
    );

    let refused = [
        phone.pending().await.map(|_| ()),
        phone.refresh_accounts().await.map(|_| ()),
        phone.challenge(created.id).await.map(|_| ()),
        phone
            .set_push_endpoint(Some("https://push.example/x"))
            .await,
    ];
    for result in refused {
        let Err(DeviceError::Client(error)) = result else {
            panic!("{result:?} after reset")
        };
        assert_eq!(error.status(), Some(401), "{error}");
    }
    let decision = phone
        .deny(&challenge, DenyReason::NotMe, false, now())
        .await
        .unwrap_err();
    assert!(decision.to_string().contains("401"), "{decision}");
    let (tx, mut rx) = mpsc::channel(4);
    events::follow(phone.client().clone(), tx);
    let stopped = next_matching(&mut rx, 10, |_| true).await;
    assert!(matches!(stopped, Incoming::Stopped { .. }), "{stopped:?}");

    assert_eq!(
        world.bank.outcome(created.id, 1).await.status,
        ChallengeStatus::Cancelled
    );
    let (_, user) = world.bank.user("alice").await;
    assert_eq!(user["state"], "unregistered", "{user}");
    let (status, problem) = world
        .bank
        .try_challenge("alice", "login", common::login_context(), 60, false)
        .await;
    assert!(status == 404 || status == 409, "{status} {problem}");
}

/// The relay's side of a lost phone (locks, counts, refusals) is tested once in
/// `relay/tests/lifecycle.rs`; here, what the phone running the device library sees.
#[tokio::test(flavor = "multi_thread")]
async fn a_phone_reported_lost_is_told_at_once_and_its_late_answer_is_refused_and_not_kept() {
    let world = common::world().await;
    let mut phone = world.enrolled_phone("alice").await;
    let cid = phone.vault().credential_id().clone();
    let (tx, mut rx) = mpsc::channel(32);
    let follower = events::follow(phone.client().clone(), tx);
    next_matching(&mut rx, 10, |i| matches!(i, Incoming::Connected { .. })).await;
    let login = world.bank.login("alice").await;
    let transfer = world
        .bank
        .challenge(
            "alice",
            "transaction",
            common::transfer_context(),
            60,
            false,
        )
        .await;
    next_matching(&mut rx, 10, |i| announces(i, transfer.id)).await;
    let stale = phone.challenge(login.id).await.unwrap();

    let (status, body) = world
        .bank
        .call(
            Method::POST,
            &format!("/v1/credentials/{}/report-lost", cid.as_str()),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");

    for id in [login.id, transfer.id] {
        let status = next_matching(
            &mut rx,
            10,
            |i| matches!(i, Incoming::Status { id: got, .. } if *got == id),
        )
        .await;
        assert_eq!(
            status,
            Incoming::Status {
                id,
                status: ChallengeStatus::Cancelled
            }
        );
    }
    assert!(phone.pending().await.unwrap().is_empty());
    let late = phone.approve(&stale, None, false, now()).await.unwrap_err();
    let DeviceError::Client(error) = late else {
        panic!("{late}")
    };
    assert_eq!(error.slug(), Some("challenge-decided"), "{error}");
    assert!(
        phone.vault().history.is_empty(),
        "a refused answer is not in the history"
    );
    follower.abort();
}
