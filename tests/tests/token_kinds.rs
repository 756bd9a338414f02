//! Token kinds end to end (R10, R11): the emulator CLI (through the device library)
//! provisions a code-only token (such as a PC token) against a real relay with
//! `init --kind otp`, shows its kind, and its codes enroll it as an `otp` binding.
//! What the relay does with a kind (codes verified, pushes refused with `code-token`, one
//! kind per user, an unknown kind refused) is tested once in `relay/tests/token_kinds.rs`;
//! the vault keeping the kind in `app/core/src/vault.rs`.

use crate::common;

use common::cli::{self, json_line, stderr, stdout};

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_sets_up_a_code_only_token_and_shows_its_kind() {
    let world = common::world().await;
    let home = world.home();
    let mut init = cli::device(&home);
    init.args([
        "--insecure-no-pin",
        "--json",
        "init",
        "--kind",
        "otp",
        "--relay",
        world.url(),
    ]);
    let created = json_line(&cli::run(init).await.success());
    assert_eq!(created["kind"], "otp", "{created}");
    let cid = created["credential_id"].as_str().unwrap().to_owned();

    let mut show = cli::device(&home);
    show.args(["--insecure-no-pin", "show"]);
    let text = stdout(&cli::run(show).await.success());
    assert!(text.contains("(code-only token)"), "{text}");
    // The reopened vault keeps the kind and the credential.
    let shown = show_json(&home).await;
    assert_eq!(shown["kind"], "otp", "{shown}");
    assert_eq!(shown["credential_id"], created["credential_id"], "{shown}");

    let (status, body) = enroll_from_shell(&world, &home, "alice", &cid).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["kind"], "otp");

    // The default is a push token, named as such; it enrolls as one and is pushed to.
    let other = world.home();
    let mut init = cli::device(&other);
    init.args(["--insecure-no-pin", "init", "--relay", world.url()]);
    let text = stdout(&cli::run(init).await.success());
    assert!(text.contains("(push token)"), "{text}");
    let shown = show_json(&other).await;
    assert_eq!(shown["kind"], "push", "{shown}");
    let phone = shown["credential_id"].as_str().unwrap().to_owned();
    let (status, body) = enroll_from_shell(&world, &other, "bob", &phone).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["kind"], "push");
    world.bank.login("bob").await;

    // A kind the emulator does not know: one line on stderr, non-zero exit.
    let third = world.home();
    let mut init = cli::device(&third);
    init.args([
        "--insecure-no-pin",
        "init",
        "--kind",
        "sms",
        "--relay",
        world.url(),
    ]);
    let failed = cli::run(init).await.failure();
    let err = stderr(&failed);
    assert!(err.contains("push or otp"), "{err}");
}

/// What `show --json` says of the emulator at `home`.
async fn show_json(home: &std::path::Path) -> serde_json::Value {
    let mut show = cli::device(home);
    show.args(["--insecure-no-pin", "--json", "show"]);
    json_line(&cli::run(show).await.success())
}

/// The bank's answer to enrolling `user` with credential `cid` and two codes that the
/// emulator at `home` gives for enrollment.
async fn enroll_from_shell(
    world: &common::World,
    home: &std::path::Path,
    user: &str,
    cid: &str,
) -> (reqwest::StatusCode, serde_json::Value) {
    let mut codes = cli::device(home);
    codes.args(["--insecure-no-pin", "--json", "codes", "--enroll"]);
    let codes = json_line(&cli::run(codes).await.success());
    let pair: [String; 2] = serde_json::from_value(codes["codes"].clone()).unwrap();
    world.bank.enroll(user, &cid.parse().unwrap(), &pair).await
}
