//! The `onepush-device` command line as a tester uses it: init with a PIN, codes for
//! enrollment, approve and deny, watch, and one clear error line with a non-zero exit.

use crate::common;

use std::path::Path;

use common::cli::{self, Running, json_line, stderr, stdout};
use onepush_device::{FileKeyStore, KeyStore as _};
use onepush_protocol::{ChallengeId, ChallengeStatus, DenyReason};
use predicates::str::contains;
use zeroize::Zeroizing;

const PIN: &str = "246810";

/// The binary for `home`, unlocked with [`PIN`] (and the OS keystore: see
/// [`cli::file_key_unless_keystore`]).
fn device(home: &Path) -> assert_cmd::Command {
    let mut command = cli::device(home);
    command.env("ONEPUSH_DEVICE_PIN", PIN);
    cli::file_key_unless_keystore(&mut command);
    command
}

/// Sets up a PIN-locked phone in `home` and enrolls it for `user`; its credential ID.
async fn init_and_enroll(world: &common::World, home: &Path, user: &str) -> String {
    let mut init = device(home);
    init.args(["--json", "init", "--relay", world.url()]);
    let created = json_line(&cli::run(init).await.success());
    assert_eq!(created["encrypted"], true, "{created}");
    let cid = created["credential_id"].as_str().unwrap().to_owned();

    let mut codes = device(home);
    codes.args(["--json", "codes", "--enroll"]);
    let codes = json_line(&cli::run(codes).await.success());
    let pair: [String; 2] = serde_json::from_value(codes["codes"].clone()).unwrap();
    assert_ne!(pair[0], pair[1]);
    let (status, body) = world.bank.enroll(user, &cid.parse().unwrap(), &pair).await;
    assert_eq!(
        status, 201,
        "the two codes from `codes --enroll` enroll the phone: {body}"
    );
    cid
}

/// `show-challenge ID`: what a tester reads before answering (answers sign only that).
async fn show(home: &Path, id: &str) {
    let mut show = device(home);
    show.args(["show-challenge", id]);
    cli::run(show).await.success();
}

#[tokio::test(flavor = "multi_thread")]
async fn phone_set_up_from_the_shell_approves_a_login() {
    let world = common::world().await;
    let home = world.home();
    let cid = init_and_enroll(&world, &home, "alice").await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(home.join(FileKeyStore::FILE_NAME))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let created = world.bank.login("alice").await;
    let mut show = device(&home);
    show.args(["show-challenge", &created.id.to_string()]);
    let shown = stdout(&cli::run(show).await.success());
    for expected in [
        "login approval requested",
        "Test Bank (test-bank)",
        "alice",
        "203.0.113.7",
        "Osaka, JP",
    ] {
        assert!(shown.contains(expected), "{expected:?} in:\n{shown}");
    }
    let mut approve = device(&home);
    approve.args(["approve", &created.id.to_string()]);
    let answered = stdout(&cli::run(approve).await.success());
    assert!(answered.contains("→ approved"), "{answered}");
    let outcome = world.bank.outcome(created.id, 5).await;
    assert_eq!(outcome.status, ChallengeStatus::Approved);
    assert_eq!(outcome.decision.unwrap().credential_id.as_str(), cid);

    let mut history = device(&home);
    history.args(["--json", "history"]);
    let entry = json_line(&cli::run(history).await.success());
    assert_eq!(
        (entry["verdict"].as_str(), entry["user_verified"].as_bool()),
        (Some("approve"), Some(true))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deny_not_me_from_the_shell_locks_the_user() {
    let world = common::world().await;
    let home = world.home();
    init_and_enroll(&world, &home, "alice").await;
    let created = world
        .bank
        .challenge("alice", "transaction", common::transfer_context(), 60, true)
        .await;

    show(&home, &created.id.to_string()).await;
    let mut deny = device(&home);
    deny.args(["--json", "deny", &created.id.to_string(), "--not-me"]);
    let answer = json_line(&cli::run(deny).await.success());
    assert_eq!(
        (answer["verdict"].as_str(), answer["status"].as_str()),
        (Some("deny"), Some("denied")),
        "{answer}"
    );
    let outcome = world.bank.outcome(created.id, 5).await;
    assert_eq!(outcome.decision.unwrap().reason, Some(DenyReason::NotMe));
    let (_, user) = world.bank.user("alice").await;
    assert_eq!(user["state"], "locked", "{user}");
}

#[tokio::test(flavor = "multi_thread")]
async fn approve_with_the_number_shown_by_the_bank() {
    let world = common::world().await;
    let home = world.home();
    init_and_enroll(&world, &home, "alice").await;
    let created = world
        .bank
        .challenge("alice", "login", common::login_context(), 60, true)
        .await;
    let id = created.id.to_string();
    show(&home, &id).await;

    let mut without = device(&home);
    without.args(["approve", &id]);
    cli::run(without)
        .await
        .failure()
        .code(1)
        .stderr(contains("asks for the number shown on the bank's page"));
    let mut approve = device(&home);
    approve.args([
        "--json",
        "approve",
        &id,
        "--number",
        &created.number.unwrap().to_string(),
    ]);
    let answer = json_line(&cli::run(approve).await.success());
    assert_eq!(answer["status"], "approved", "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_answers_each_challenge_from_the_event_stream() {
    let world = common::world().await;
    let home = world.home();
    init_and_enroll(&world, &home, "alice").await;
    let numbers = home.join("number.txt");
    let args = [
        "--json",
        "watch",
        "--auto",
        "approve",
        "--count",
        "2",
        "--number-from",
        numbers.to_str().unwrap(),
    ];
    let mut watch = Running::start_with_env(&home, &args, &[("ONEPUSH_DEVICE_PIN", PIN)]);
    assert_eq!(watch.next_json(30).await["type"], "ready");

    let login = world.bank.login("alice").await;
    let report = watch.next_json(20).await;
    assert_eq!(
        (report["id"].as_str(), report["source"].as_str()),
        (Some(&*login.id.to_string()), Some("event-stream"))
    );
    assert_eq!(report["status"], "approved", "{report}");

    let matched = world
        .bank
        .challenge("alice", "login", common::login_context(), 60, true)
        .await;
    std::fs::write(
        &numbers,
        format!("{} {}\n", matched.id, matched.number.unwrap()),
    )
    .unwrap();
    let report = watch.next_json(20).await;
    assert_eq!(
        (report["number"].as_u64(), report["status"].as_str()),
        (matched.number.map(u64::from), Some("approved")),
        "{report}"
    );
    assert!(watch.wait(20).await.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_without_auto_asks_and_answers_as_typed() {
    let world = common::world().await;
    let home = world.home();
    init_and_enroll(&world, &home, "alice").await;
    let args = ["--json", "watch", "--count", "2"];
    let mut watch = Running::start_with_env(&home, &args, &[("ONEPUSH_DEVICE_PIN", PIN)]);
    assert_eq!(watch.next_json(30).await["type"], "ready");

    let matched = world
        .bank
        .challenge("alice", "login", common::login_context(), 60, true)
        .await;
    watch.type_line("y").await;
    watch.type_line(&matched.number.unwrap().to_string()).await;
    let report = watch.next_json(20).await;
    assert_eq!(
        (report["answer"].as_str(), report["status"].as_str()),
        (Some("approve"), Some("approved")),
        "{report}"
    );

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
    watch.type_line("n").await;
    let report = watch.next_json(20).await;
    assert_eq!(report["id"], transfer.id.to_string());
    assert_eq!(
        report["context"],
        common::transfer_context(),
        "shown as posted: {report}"
    );
    assert_eq!(
        (report["answer"].as_str(), report["status"].as_str()),
        (Some("deny"), Some("denied")),
        "{report}"
    );
    assert!(watch.wait(20).await.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_one_line_with_a_non_zero_exit() {
    let world = common::world().await;
    let home = world.home();
    init_and_enroll(&world, &home, "alice").await;
    let error_line = |assert: &assert_cmd::assert::Assert| {
        let text = stderr(assert);
        assert_eq!(text.lines().count(), 1, "one line: {text}");
        assert!(text.starts_with("error: "), "{text}");
        text
    };

    let mut unknown = device(&home);
    unknown.args(["approve", &ChallengeId::new().to_string()]);
    let text = error_line(&cli::run(unknown).await.failure().code(3));
    assert!(
        text.contains("404 challenge-not-found"),
        "the relay's problem: {text}"
    );

    let mut bad_id = device(&home);
    bad_id.args(["show-challenge", "12345"]);
    error_line(
        &cli::run(bad_id)
            .await
            .failure()
            .code(1)
            .stderr(contains("UUID")),
    );

    let mut wrong_pin = cli::device(&home);
    wrong_pin.env("ONEPUSH_DEVICE_PIN", "000000").arg("show");
    let text = error_line(&cli::run(wrong_pin).await.failure().code(5));
    assert!(text.contains("wrong PIN"), "{text}");

    let mut no_pin = cli::device(&home);
    no_pin.arg("codes");
    error_line(
        &cli::run(no_pin)
            .await
            .failure()
            .code(5)
            .stderr(contains("--pin-file")),
    );

    let mut again = device(&home);
    again.args(["init", "--relay", world.url()]);
    error_line(
        &cli::run(again)
            .await
            .failure()
            .code(5)
            .stderr(contains("already exists")),
    );

    let empty = world.home();
    let mut no_vault = device(&empty);
    no_vault.arg("pending");
    error_line(
        &cli::run(no_vault)
            .await
            .failure()
            .code(5)
            .stderr(contains("not set up")),
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut unreachable = device(&world.home());
    unreachable.args(["init", "--relay", &format!("http://{closed}")]);
    let text = error_line(&cli::run(unreachable).await.failure().code(4));
    assert!(
        text.contains("unreachable") && text.contains(&closed.to_string()),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn vault_stays_readable_after_a_crash_between_write_and_rename() {
    let world = common::world().await;
    let home = world.home();
    let cid = init_and_enroll(&world, &home, "alice").await;

    let store = FileKeyStore::new(&home, Zeroizing::new(PIN.to_owned())).unwrap();
    let mut vault = store.load().unwrap();
    vault.settings.language = "ja".to_owned();
    let temp = store.simulate_crash_before_rename(&vault).unwrap();
    assert!(temp.exists(), "the interrupted write left its temp file");

    let mut show = device(&home);
    show.args(["--json", "show"]);
    let shown = json_line(&cli::run(show).await.success());
    assert_eq!(
        shown["credential_id"], cid,
        "the old vault is intact: {shown}"
    );
    assert_eq!(store.load().unwrap().settings.language, "en");
}
