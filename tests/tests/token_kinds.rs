//! Token kinds end to end (R10, R11): the device core and the emulator CLI provision a
//! code-only token (such as a PC token) against a real relay; it enrolls, its codes log
//! in, and the relay refuses to push to its user.

use crate::common;

use common::cli::{self, json_line, stderr, stdout};
use common::{code_at, enrollment_codes, slug};
use onepush_device::{Authenticator, UnencryptedFileKeyStore};
use onepush_protocol::api::TokenKind;

#[tokio::test(flavor = "multi_thread")]
async fn the_device_core_provisions_a_code_only_token() {
    let world = common::world().await;
    let home = world.home();
    let store = UnencryptedFileKeyStore::new(&home);
    let pc =
        Authenticator::provision_as(Box::new(store), world.url(), TokenKind::Otp, common::now())
            .await
            .expect("provision");
    assert_eq!(pc.kind(), TokenKind::Otp);
    // The vault keeps the kind.
    let reopened = Authenticator::open(Box::new(UnencryptedFileKeyStore::new(&home))).unwrap();
    assert_eq!(reopened.kind(), TokenKind::Otp);
    assert_eq!(reopened.vault().credential_id(), pc.vault().credential_id());

    let (status, binding) = world
        .bank
        .enroll("alice", pc.vault().credential_id(), &enrollment_codes(&pc))
        .await;
    assert_eq!(status, 201, "{binding}");
    assert_eq!(binding["kind"], "otp");
    let (status, problem) = world
        .bank
        .try_challenge("alice", "login", common::login_context(), 60, false)
        .await;
    assert_eq!(
        (status.as_u16(), slug(&problem)),
        (409, "code-token"),
        "{problem}"
    );
    let (status, verified) = world.bank.verify_otp("alice", &code_at(&pc, 1)).await;
    assert_eq!(status, 200, "{verified}");

    // A push phone (the default) enrolls as push and is pushed to.
    let phone = world.phone().await;
    assert_eq!(phone.kind(), TokenKind::Push);
    common::enroll(&world.bank, &phone, "bob").await;
    let (_, bob) = world.bank.user("bob").await;
    assert_eq!(bob["kind"], "push");
    world.bank.login("bob").await;
}

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
    let mut show = cli::device(&home);
    show.args(["--insecure-no-pin", "--json", "show"]);
    assert_eq!(json_line(&cli::run(show).await.success())["kind"], "otp");

    let mut codes = cli::device(&home);
    codes.args(["--insecure-no-pin", "--json", "codes", "--enroll"]);
    let codes = json_line(&cli::run(codes).await.success());
    let pair: [String; 2] = serde_json::from_value(codes["codes"].clone()).unwrap();
    let (status, body) = world
        .bank
        .enroll("alice", &cid.parse().unwrap(), &pair)
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["kind"], "otp");

    // The default is a push token, named as such.
    let other = world.home();
    let mut init = cli::device(&other);
    init.args(["--insecure-no-pin", "init", "--relay", world.url()]);
    let text = stdout(&cli::run(init).await.success());
    assert!(text.contains("(push token)"), "{text}");

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
