//! The emulator registers a real phone's APNs or FCM token by hand
//! (`onepush-device push-subscription`), and the challenge reaches the (local) service
//! encrypted to the emulated phone's keys.

use onepush_device::{Authenticator, UnencryptedFileKeyStore};
use onepush_protocol::{ApnsEnvironment, PushChannel};

use super::{DEVICE_TOKEN, REGISTRATION_TOKEN, fake, opens_to, relay_with_fake};
use crate::common::cli::{self, json_line, stderr};
use crate::common::{Bank, login_context};

fn device(home: &std::path::Path) -> assert_cmd::Command {
    let mut command = cli::device(home);
    command.arg("--insecure-no-pin");
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_subscription_registers_apns_and_fcm_tokens_from_the_shell() {
    let (dir, fake, relay, _clock) = relay_with_fake().await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let home = dir.path().join("phone");
    let mut init = device(&home);
    init.args(["--json", "init", "--relay", &relay.url]);
    let cid = json_line(&cli::run(init).await.success())["credential_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut codes = device(&home);
    codes.args(["--json", "codes", "--enroll"]);
    let pair: [String; 2] =
        serde_json::from_value(json_line(&cli::run(codes).await.success())["codes"].clone())
            .unwrap();
    let (status, _) = bank.enroll("alice", &cid.parse().unwrap(), &pair).await;
    assert_eq!(status, 201);

    let mut apns = device(&home);
    apns.args([
        "--json",
        "push-subscription",
        "--apns",
        DEVICE_TOKEN,
        "--sandbox",
    ]);
    let answer = json_line(&cli::run(apns).await.success());
    assert_eq!(answer["push_subscription"], "apns");
    let phone = Authenticator::open(Box::new(UnencryptedFileKeyStore::new(&home))).unwrap();
    let stored = relay
        .relay
        .service()
        .store()
        .credential(&cid.parse().unwrap())
        .await
        .unwrap()
        .push_subscription;
    let Some(PushChannel::Apns(sub)) = stored else {
        panic!("{stored:?}")
    };
    assert_eq!(sub.environment, ApnsEnvironment::Sandbox);
    assert_eq!(sub.keys, phone.vault().push_keys().subscription("").keys);

    let created = bank
        .challenge("alice", "login", login_context(), 60, false)
        .await;
    let push = fake.service.wait_for_pushes(1).await.remove(0);
    assert_eq!(push.path, format!("/3/device/{DEVICE_TOKEN}"));
    opens_to(&phone, &push, &push.body["onepush_message"], created.id);

    let mut fcm = device(&home);
    fcm.args(["push-subscription", "--fcm", REGISTRATION_TOKEN]);
    let said = cli::stdout(&cli::run(fcm).await.success());
    assert_eq!(said.trim(), "push subscription registered: fcm");
    let created = bank.login("alice").await;
    let push = fake.service.wait_for_pushes(2).await.remove(1);
    assert_eq!(
        push.path,
        format!("/v1/projects/{}/messages:send", fake::PROJECT)
    );
    opens_to(
        &phone,
        &push,
        &push.body["message"]["data"]["onepush_message"],
        created.id,
    );

    let mut bad = device(&home);
    bad.args(["push-subscription", "--apns", "not-a-token"]);
    let text = stderr(&cli::run(bad).await.failure().code(1));
    let text = text.lines().last().unwrap_or_default().to_owned();
    assert!(text.starts_with("error: "), "{text}");
    assert!(text.contains("device_token"), "{text}");
}
