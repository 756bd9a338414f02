//! "What it prints is what it signs" for the emulator CLI: `approve` and `deny` sign
//! only a challenge that `show-challenge`, `pending` or `watch` printed before, and
//! refuse (exit 6, one line, nothing posted) when the relay changed it since — here a
//! compromised relay stand-in in front of the real one swaps the context.

use crate::common;

use std::path::{Path, PathBuf};

use common::cli::{self, Running, json_line, stderr, stdout};
use onepush_protocol::ChallengeStatus;
use onepush_relay::testing::TestRelay;
use onepush_relay::testing::tampering::{Forwarded, TamperingProxy, spawn_relay_behind_proxy};
use serde_json::{Value, json};

const PIN: &str = "246810";

/// A relay the phones reach only through the stand-in, and the bank.
struct Stage {
    dir: tempfile::TempDir,
    _relay: TestRelay,
    proxy: TamperingProxy,
    bank: common::Bank,
}

async fn stage() -> Stage {
    let dir = tempfile::tempdir().expect("temp dir");
    let (relay, proxy) = spawn_relay_behind_proxy(&dir.path().join("relay")).await;
    let bank = common::Bank::new(&relay.url, &relay.api_key);
    Stage {
        dir,
        _relay: relay,
        proxy,
        bank,
    }
}

/// What the stand-in shows after the first copy: the same bank, another payee.
fn swapped_transfer() -> Value {
    json!({
        "amount": "99000000", "currency": "JPY",
        "payee_name": "ワルモノ", "payee_account": "9999-999-9999999",
    })
}

/// The binary for the phone in `home`, unlocked with [`PIN`].
fn device(home: &Path) -> assert_cmd::Command {
    let mut command = cli::device(home);
    command.env("ONEPUSH_DEVICE_PIN", PIN);
    command
}

/// A phone that reaches the relay through the stand-in, enrolled for `user`.
async fn phone(stage: &Stage, user: &str) -> PathBuf {
    let home = stage.dir.path().join("phone");
    let mut init = device(&home);
    init.args(["--json", "init", "--relay", &stage.proxy.url]);
    let cid = json_line(&cli::run(init).await.success())["credential_id"]
        .as_str()
        .expect("credential ID")
        .parse()
        .expect("credential ID");
    let mut codes = device(&home);
    codes.args(["--json", "codes", "--enroll"]);
    let codes = json_line(&cli::run(codes).await.success());
    let pair: [String; 2] = serde_json::from_value(codes["codes"].clone()).expect("codes");
    let (status, body) = stage.bank.enroll(user, &cid, &pair).await;
    assert_eq!(status, 201, "{body}");
    home
}

/// Runs `args`, which must fail with exit 6 and one `error:` line; that line.
async fn refused(home: &Path, args: &[&str]) -> String {
    let mut command = device(home);
    command.args(args);
    let assert = cli::run(command).await.failure().code(6);
    let text = stderr(&assert);
    assert_eq!(text.lines().count(), 1, "one line: {text}");
    assert!(text.starts_with("error: "), "{text}");
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn approve_refuses_a_challenge_it_never_showed() {
    let stage = stage().await;
    let home = phone(&stage, "alice").await;
    let created = stage.bank.login("alice").await;
    let id = created.id.to_string();

    let text = refused(&home, &["approve", &id]).await;
    assert!(text.contains("not shown"), "{text}");
    assert!(text.contains("show-challenge"), "says what to do: {text}");
    refused(&home, &["deny", &id, "--not-me"]).await;
    let outcome = stage.bank.outcome(created.id, 0).await;
    assert_eq!(outcome.status, ChallengeStatus::Pending, "nothing posted");

    // `pending` shows it (every field on its line), so now it can be answered.
    let mut pending = device(&home);
    pending.arg("pending");
    let listed = stdout(&cli::run(pending).await.success());
    assert!(
        listed.contains(&id) && listed.contains("203.0.113.7"),
        "{listed}"
    );
    let mut approve = device(&home);
    approve.args(["--json", "approve", &id]);
    assert_eq!(
        json_line(&cli::run(approve).await.success())["status"],
        "approved"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn approve_refuses_a_challenge_the_relay_changed_after_showing_it() {
    let stage = stage().await;
    let proxy = &stage.proxy;
    let home = phone(&stage, "alice").await;
    let created = stage
        .bank
        .challenge(
            "alice",
            "transaction",
            common::transfer_context(),
            60,
            false,
        )
        .await;
    let id = created.id.to_string();

    let mut show = device(&home);
    show.args(["show-challenge", &id]);
    let card = stdout(&cli::run(show).await.success());
    assert!(card.contains("0001-123-4567890"), "{card}");

    proxy.swap_context(swapped_transfer());
    proxy.clear();
    let text = refused(&home, &["approve", &id]).await;
    assert!(
        text.contains("changed since it was shown") && text.contains("suspicious"),
        "{text}"
    );
    assert!(
        !proxy.requests().iter().any(Forwarded::is_decision),
        "nothing posted: {:?}",
        proxy.requests()
    );
    let outcome = stage.bank.outcome(created.id, 0).await;
    assert_eq!(outcome.status, ChallengeStatus::Pending);

    // Printing it again shows the new content with the warning, and it stays refused
    // even if the relay goes back to the first content.
    let mut again = device(&home);
    again.args(["show-challenge", &id]);
    let assert = cli::run(again).await.failure().code(6);
    assert!(stdout(&assert).contains("9999-999-9999999"));
    assert!(
        stderr(&assert).contains("suspicious"),
        "{}",
        stderr(&assert)
    );
    refused(&home, &["deny", &id]).await;
    assert_eq!(
        stage.bank.outcome(created.id, 0).await.status,
        ChallengeStatus::Pending
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_reports_a_challenge_that_changed_since_it_was_shown_and_leaves_it() {
    let stage = stage().await;
    let proxy = &stage.proxy;
    let home = phone(&stage, "alice").await;
    let created = stage
        .bank
        .challenge(
            "alice",
            "transaction",
            common::transfer_context(),
            60,
            false,
        )
        .await;
    let id = created.id.to_string();
    let mut show = device(&home);
    show.args(["show-challenge", &id]);
    cli::run(show).await.success();

    proxy.swap_context(swapped_transfer());
    let args = ["--json", "watch", "--auto", "approve", "--count", "1"];
    let mut watch = Running::start_with_env(&home, &args, &[("ONEPUSH_DEVICE_PIN", PIN)]);
    let mut report = watch.next_json(30).await;
    if report["type"] == "ready" {
        report = watch.next_json(30).await;
    }
    assert_eq!(report["id"], id.as_str(), "{report}");
    assert_eq!(report["answer"], "error", "{report}");
    assert!(
        report["error"].as_str().unwrap().contains("suspicious"),
        "{report}"
    );
    assert!(watch.wait(20).await.success());
    assert!(!proxy.requests().iter().any(Forwarded::is_decision));
    assert_eq!(
        stage.bank.outcome(created.id, 0).await.status,
        ChallengeStatus::Pending
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn approving_what_was_shown_fetches_once_and_posts_one_decision() {
    let stage = stage().await;
    let proxy = &stage.proxy;
    let home = phone(&stage, "alice").await;
    let created = stage.bank.login("alice").await;
    let id = created.id.to_string();
    let mut show = device(&home);
    show.args(["show-challenge", &id]);
    cli::run(show).await.success();

    proxy.clear();
    let mut approve = device(&home);
    approve.args(["--json", "approve", &id]);
    assert_eq!(
        json_line(&cli::run(approve).await.success())["status"],
        "approved"
    );
    let requests = proxy.requests();
    let paths: Vec<(&str, &str)> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect();
    let challenge = format!("/v1/device/challenges/{id}");
    let decision = format!("{challenge}/decision");
    assert_eq!(
        paths,
        [("GET", challenge.as_str()), ("POST", decision.as_str())],
        "one fetch to compare with what was shown, one decision"
    );
    assert!(requests.iter().all(|r| r.signed));
    assert_eq!(
        stage.bank.outcome(created.id, 5).await.status,
        ChallengeStatus::Approved
    );
}
