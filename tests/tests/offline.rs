//! Offline codes end to end (issue 24 item 4, RFC 6287 OCRA): the bank asks the relay
//! for an offline challenge, the `onepush-device offline-code PAYLOAD` binary shows the
//! transaction and prints the 8-digit code, the bank verifies it. Every refusal: a
//! replay, a late code, another transaction's code, wrong codes counted to the lock.
//! The relay runs on a manual clock so "late" needs no waiting.

use crate::common;

use std::path::Path;
use std::sync::Arc;

use common::Bank;
use common::cli::{self, json_line, stderr};
use onepush_relay::Parts;
use onepush_relay::clock::ManualClock;
use onepush_relay::testing::{TestRelay, spawn_relay_with, test_settings};
use predicates::str::contains;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct World {
    _dir: tempfile::TempDir,
    home: std::path::PathBuf,
    relay: TestRelay,
    bank: Bank,
    clock: ManualClock,
}

/// The emulator for the phone in `home` (an unencrypted emulator vault).
fn device(home: &Path) -> assert_cmd::Command {
    let mut command = cli::device(home);
    command.arg("--insecure-no-pin");
    command
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let parts = Parts {
        clock: Some(Arc::new(clock.clone())),
        ..Parts::default()
    };
    let relay = spawn_relay_with(test_settings(&dir.path().join("relay")), parts, true).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let home = dir.path().join("phone");
    let mut init = device(&home);
    init.args(["--json", "init", "--relay", &relay.url]);
    let created = json_line(&cli::run(init).await.success());
    let cid = created["credential_id"].as_str().unwrap().to_owned();
    let mut codes = device(&home);
    codes.args(["--json", "codes", "--enroll"]);
    let codes = json_line(&cli::run(codes).await.success());
    let pair: [String; 2] = serde_json::from_value(codes["codes"].clone()).unwrap();
    let (status, body) = bank.enroll("alice", &cid.parse().unwrap(), &pair).await;
    assert_eq!(status, 201, "{body}");
    World {
        _dir: dir,
        home,
        relay,
        bank,
        clock,
    }
}

fn transfer(amount: &str, payee: &str) -> Value {
    json!({ "user_id": "alice", "kind": "transaction", "context": {
        "amount": amount, "currency": "JPY", "payee_name": payee,
        "payee_account": "0001-001-1234567" } })
}

/// The bank: a new offline challenge; its ID and QR payload.
async fn offline(bank: &Bank, body: Value) -> (String, String) {
    let (status, created) = bank
        .call(Method::POST, "/v1/offline-challenges", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (
        created["id"].as_str().unwrap().to_owned(),
        created["payload"].as_str().unwrap().to_owned(),
    )
}

/// The phone: `offline-code PAYLOAD --yes --json`; the JSON line (challenge and code).
async fn phone_code(home: &Path, payload: &str) -> Value {
    let mut command = device(home);
    command.args(["--json", "offline-code", payload, "--yes"]);
    json_line(&cli::run(command).await.success())
}

async fn verify(bank: &Bank, id: &str, code: &str) -> (StatusCode, Value) {
    bank.call(
        Method::POST,
        &format!("/v1/offline-challenges/{id}/verify"),
        Some(json!({ "code": code })),
    )
    .await
}

fn slug(problem: &Value) -> &str {
    common::slug(problem)
}

#[tokio::test(flavor = "multi_thread")]
async fn bank_payload_phone_code_bank_and_every_refusal() {
    let w = world().await;

    // Bank → QR payload → phone (shows the transfer) → code → bank: approved.
    let (id, payload) = offline(&w.bank, transfer("150000", "ヤマダ タロウ")).await;
    let answer = phone_code(&w.home, &payload).await;
    assert_eq!(
        answer["challenge"]["context"]["amount"], "150000",
        "{answer}"
    );
    assert_eq!(
        answer["challenge"]["context"]["payee_name"],
        "ヤマダ タロウ"
    );
    assert_eq!(answer["challenge"]["user_id"], "alice");
    assert_eq!(answer["challenge"]["kind"], "transaction");
    let code = answer["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 8);
    let (status, ok) = verify(&w.bank, &id, &code).await;
    assert_eq!(status, 200, "{ok}");
    assert_eq!(ok["context"]["amount"], "150000");

    // Replayed: refused.
    let (status, p) = verify(&w.bank, &id, &code).await;
    assert_eq!(
        (status.as_u16(), slug(&p)),
        (409, "offline-code-used"),
        "{p}"
    );

    // Another transaction's code: refused and counted (4 tries left).
    let (small, small_payload) = offline(&w.bank, transfer("1000", "サトウ")).await;
    let (large, _) = offline(&w.bank, transfer("9000000", "Mallory")).await;
    let small_code = phone_code(&w.home, &small_payload).await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, p) = verify(&w.bank, &large, &small_code).await;
    assert_eq!((status.as_u16(), slug(&p)), (422, "code-invalid"), "{p}");
    assert_eq!(p["attempts_left"], 4);

    // Wrong codes count toward the lock: 3 more (after the one above), then locked.
    let (fresh, fresh_payload) = offline(&w.bank, transfer("2000", "スズキ")).await;
    let right = phone_code(&w.home, &fresh_payload).await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = if right == "00000000" {
        "00000001"
    } else {
        "00000000"
    };
    for left in [3, 2, 1] {
        let (status, p) = verify(&w.bank, &fresh, wrong).await;
        assert_eq!((status.as_u16(), slug(&p)), (422, "code-invalid"), "{p}");
        assert_eq!(p["attempts_left"], left);
    }
    let (status, p) = verify(&w.bank, &fresh, wrong).await;
    assert_eq!((status.as_u16(), slug(&p)), (423, "binding-locked"), "{p}");
    let (status, p) = verify(&w.bank, &fresh, &right).await;
    assert_eq!(
        (status.as_u16(), slug(&p)),
        (409, "binding-not-active"),
        "locked means locked: {p}"
    );

    // Late: the relay's clock passes the deadline (300 s by default); the small
    // transfer's own code is then refused as late.
    w.clock.advance(301);
    let (status, p) = verify(&w.bank, &small, &small_code).await;
    assert_eq!(
        (status.as_u16(), slug(&p)),
        (410, "offline-challenge-expired"),
        "{p}"
    );
    w.relay.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_phone_refuses_a_bad_payload_and_shows_no_code_without_approval() {
    let w = world().await;
    let mut bad = device(&w.home);
    bad.args(["offline-code", "not-a-payload", "--yes"]);
    let failed = cli::run(bad).await.failure();
    let err = stderr(&failed);
    // One error line (besides the emulator's insecure-vault warning).
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(errors[0].contains("offline payload is invalid"), "{err}");

    // Without --yes the phone asks; "n" shows no code.
    let (_, payload) = offline(&w.bank, transfer("5000", "タナカ")).await;
    let mut ask = device(&w.home);
    ask.args(["offline-code", &payload]).write_stdin("n\n");
    let refused = cli::run(ask).await.failure();
    let out = cli::stdout(&refused);
    assert!(out.contains("5000") || out.contains("5,000"), "{out}");
    assert!(!out.contains("code:"), "{out}");
    refused.stderr(contains("not approved"));
    w.relay.shutdown().await.unwrap();
}
