//! The commands as the UI calls them (IPC through `tauri::test::get_ipc_response`), on
//! the mock runtime, against a real relay served in-process.

use crate::common::{app, bank};

use app::{TestApp, block_on, wait_for};
use bank::{login_context, transfer_context};
use onepush_protocol::{ChallengeStatus, DecisionVerdict, DenyReason};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn no_args() -> Value {
    json!({})
}

#[test]
fn setup_creates_a_credential_the_state_shows_without_secrets() {
    let t = TestApp::start();
    let config = t.ok("get_config", no_args());
    assert_eq!(config["relayUrl"], t.relay_url.as_str());
    assert_eq!(
        config["keystore"]["available"],
        app::keystore_here(),
        "{config}"
    );
    assert_eq!(config["vaultProblem"], Value::Null);
    assert_eq!(
        config["qrScanner"], false,
        "desktops paste offline payloads"
    );
    let before = t.ok("get_state", no_args());
    assert_eq!(before["setUp"], false);
    assert_eq!(t.fails("codes", no_args()), "not_set_up");
    assert_eq!(t.ok("history", no_args()), json!([]));

    let state = t.ok("setup", app::setup_args(json!({ "relayUrl": t.relay_url })));
    let cid = state["credentialId"].as_str().unwrap();
    assert!(cid.starts_with("ONEP") && cid.len() == 12, "{cid}");
    assert_eq!(state["setUp"], true);
    assert_eq!(state["relayUrl"], t.relay_url.as_str());
    assert_eq!(state["pinBeforeApprove"], false);
    assert_eq!(state["pinSet"], false);
    assert_eq!(t.ok("get_state", no_args()), state);
    assert_eq!(state["approvalCheck"], "none");
    let keys: Vec<&String> = state.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 11, "only the contract's fields: {keys:?}");
    assert_eq!(state["locked"], false);
    assert_eq!(
        state["tokenKind"], "push",
        "an approver unless asked otherwise"
    );

    assert_eq!(
        t.fails("setup", json!({ "relayUrl": t.relay_url })),
        "already_set_up"
    );
    // The vault on disk is encrypted: no TOTP secret or key in the clear.
    let vault = std::fs::read(t.home.join("vault.onepush")).unwrap();
    assert!(!String::from_utf8_lossy(&vault).contains("totp"));
}

#[test]
fn setup_refuses_bad_input_before_asking_the_relay() {
    let t = TestApp::start();
    for args in [
        json!({ "relayUrl": "http://relay.example.jp" }),
        json!({ "relayUrl": "not a url" }),
        json!({ "relayUrl": t.relay_url, "pin": "12" }),
        json!({ "relayUrl": t.relay_url, "pin": "12ab" }),
    ] {
        assert_eq!(t.fails("setup", args.clone()), "invalid_input", "{args}");
    }
    assert_eq!(t.ok("get_state", no_args())["setUp"], false);
}

#[test]
fn setup_with_the_relay_down_leaves_the_device_unset() {
    let t = TestApp::start();
    let kind = t.fails(
        "setup",
        app::setup_args(json!({ "relayUrl": "http://127.0.0.1:9" })),
    );
    assert_eq!(kind, "relay_unreachable");
    assert_eq!(t.ok("get_state", no_args())["setUp"], false);
    assert!(!t.home.join("vault.onepush").exists());
    // ... and it can be set up once the relay is there.
    t.set_up(None);
}

#[test]
fn codes_enroll_the_device_at_the_bank_and_accounts_show_it() {
    let t = TestApp::start();
    let cid = t.set_up(None);
    let codes = t.ok("codes", no_args());
    for field in ["current", "next"] {
        let code = codes[field].as_str().unwrap();
        assert!(
            code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
            "{codes}"
        );
    }
    let left = codes["secondsLeft"].as_u64().unwrap();
    assert!((1..=30).contains(&left), "{codes}");
    assert_eq!(
        codes.as_object().unwrap().len(),
        3,
        "no secret beside the codes"
    );

    // The credential ID as a person types it, grouped.
    let grouped = format!("{} {} {}", &cid[..4], &cid[4..8], &cid[8..]);
    t.enroll(&grouped, "yamada");
    let accounts = t.ok("accounts", no_args());
    assert_eq!(accounts[0]["user_id"], "yamada", "{accounts}");
    assert_eq!(accounts[0]["tenant_name"], "Test Bank");
    assert_eq!(accounts[0]["state"], "active");
}

#[test]
fn approve_lets_the_login_through_with_a_signature_the_bank_verifies() {
    let t = TestApp::start();
    let challenges = t.events("challenge");
    let cid = t.set_up(None);
    t.enroll(&cid, "yamada");

    let created = block_on(t.bank.challenge("yamada", "login", login_context(), false));
    let id = created.id.to_string();
    wait_for(&challenges, |e| e["id"] == id.as_str());
    let pending = t.ok("pending", no_args());
    assert_eq!(pending[0]["id"], id.as_str(), "{pending}");
    let shown = t.ok("get_challenge", json!({ "id": id }));
    assert_eq!(shown["status"], "pending");
    assert_eq!(shown["context"]["ip"], "203.0.113.7");
    assert_eq!(shown["tenant_name"], "Test Bank");

    let accepted = t.ok("approve", json!({ "id": id }));
    assert_eq!(accepted, json!({ "id": id, "status": "approved" }));
    let outcome = block_on(t.bank.outcome(created.id, 5));
    assert_eq!(outcome.status, ChallengeStatus::Approved);
    let claims = block_on(t.bank.verified_decision(&outcome));
    assert_eq!(claims.dec, DecisionVerdict::Approve);
    assert!(!claims.uv, "no PIN was asked");

    let history = t.ok("history", no_args());
    assert_eq!(history[0]["id"], id.as_str());
    assert_eq!(history[0]["status"], "approved");
    assert_eq!(history[0]["kind"], "login");
    assert_eq!(history[0]["tenantName"], "Test Bank");
    assert_eq!(history[0]["userId"], "yamada");
    assert_eq!(history[0]["notMe"], false);
    assert!(history[0]["answeredAt"].as_str().unwrap().ends_with('Z'));
    assert!(
        !history.to_string().contains("eyJ"),
        "no JWS in the history"
    );

    assert_eq!(t.fails("approve", json!({ "id": id })), "challenge_decided");
    assert_eq!(
        t.fails("deny", json!({ "id": id, "notMe": false })),
        "challenge_decided"
    );
}

#[test]
fn deny_stops_the_transfer_and_not_me_is_reported() {
    let t = TestApp::start();
    let cid = t.set_up(None);
    t.enroll(&cid, "yamada");

    let transfer = block_on(
        t.bank
            .challenge("yamada", "transaction", transfer_context(), false),
    );
    let shown = t.ok("get_challenge", json!({ "id": transfer.id.to_string() }));
    assert_eq!(shown["context"]["amount"], "1250000");
    assert_eq!(shown["context"]["payee_name"], "カ）ヤマダショウジ");
    let denied = t.ok(
        "deny",
        json!({ "id": transfer.id.to_string(), "notMe": false }),
    );
    assert_eq!(denied["status"], "denied");
    let outcome = block_on(t.bank.outcome(transfer.id, 5));
    assert_eq!(outcome.status, ChallengeStatus::Denied);
    let claims = block_on(t.bank.verified_decision(&outcome));
    assert_eq!(claims.rsn, Some(DenyReason::Declined));

    let login = block_on(t.bank.challenge("yamada", "login", login_context(), false));
    t.show(&login.id.to_string());
    t.ok("deny", json!({ "id": login.id.to_string(), "notMe": true }));
    let outcome = block_on(t.bank.outcome(login.id, 5));
    let claims = block_on(t.bank.verified_decision(&outcome));
    assert_eq!(claims.rsn, Some(DenyReason::NotMe));
    let history = t.ok("history", no_args());
    assert_eq!(history[0]["notMe"], true);
    assert_eq!(history[1]["notMe"], false);
    assert_eq!(history[1]["kind"], "transaction");
}

#[test]
fn number_matching_needs_the_number_the_bank_shows() {
    let t = TestApp::start();
    let cid = t.set_up(None);
    t.enroll(&cid, "yamada");
    let created = block_on(t.bank.challenge("yamada", "login", login_context(), true));
    let number = created.number.expect("the bank gets a number");
    let id = created.id.to_string();
    t.show(&id);
    assert_eq!(t.fails("approve", json!({ "id": id })), "number_required");
    let wrong = if number == 99 { 10 } else { number + 1 };
    assert_eq!(
        t.fails("approve", json!({ "id": id, "number": wrong })),
        "number_mismatch"
    );
    assert_eq!(
        t.fails("approve", json!({ "id": id, "number": 7 })),
        "invalid_input"
    );
    let accepted = t.ok("approve", json!({ "id": id, "number": number }));
    assert_eq!(accepted["status"], "approved");
    let outcome = block_on(t.bank.outcome(created.id, 5));
    assert_eq!(
        block_on(t.bank.verified_decision(&outcome)).num,
        Some(number)
    );
}

#[test]
fn pin_before_approve_is_checked_by_the_backend_and_locks() {
    let t = TestApp::start();
    let state = t.ok(
        "setup",
        app::setup_args(json!({ "relayUrl": t.relay_url, "pin": "2468" })),
    );
    assert_eq!(state["pinBeforeApprove"], true);
    assert_eq!(state["approvalCheck"], "pin", "desktop: the PIN dialog");
    assert_eq!(state["pinSet"], true);
    let cid = state["credentialId"].as_str().unwrap().to_owned();
    t.enroll(&cid, "yamada");
    // The PIN seals the vault: no hash of it is kept beside it.
    let settings = std::fs::read_to_string(t.home.join("app-settings.json")).unwrap();
    assert!(!settings.contains("argon2") && !settings.contains("2468"));

    let created = block_on(t.bank.challenge("yamada", "login", login_context(), false));
    let id = created.id.to_string();
    t.show(&id);
    assert_eq!(t.fails("approve", json!({ "id": id })), "pin_required");
    assert_eq!(
        t.fails("approve", json!({ "id": id, "pin": "1357" })),
        "pin_invalid"
    );
    let accepted = t.ok("approve", json!({ "id": id, "pin": "2468" }));
    assert_eq!(accepted["status"], "approved");
    let outcome = block_on(t.bank.outcome(created.id, 5));
    assert!(
        block_on(t.bank.verified_decision(&outcome)).uv,
        "uv: the PIN was checked"
    );

    // Deny needs no PIN.
    let other = block_on(t.bank.challenge("yamada", "login", login_context(), false));
    t.show(&other.id.to_string());
    t.ok(
        "deny",
        json!({ "id": other.id.to_string(), "notMe": false }),
    );

    // Five wrong PINs in a row lock the PIN, even against the right one.
    let third = block_on(t.bank.challenge("yamada", "login", login_context(), false));
    let id = third.id.to_string();
    t.show(&id);
    for _ in 0..5 {
        assert_eq!(
            t.fails("approve", json!({ "id": id, "pin": "0000" })),
            "pin_invalid"
        );
    }
    assert_eq!(
        t.fails("approve", json!({ "id": id, "pin": "2468" })),
        "pin_locked"
    );
    assert_eq!(
        t.fails(
            "set_settings",
            json!({ "pinBeforeApprove": false, "currentPin": "2468" })
        ),
        "pin_locked"
    );
}

#[test]
fn settings_change_language_and_pin_only_with_the_current_pin() {
    let mut t = TestApp::start();
    let state = t.ok("set_settings", json!({ "language": "ja" }));
    assert_eq!(state["language"], "ja");
    assert_eq!(
        t.fails(
            "set_settings",
            json!({ "pinBeforeApprove": true, "pin": "1234" })
        ),
        "not_set_up",
        "a PIN seals the vault: there is none yet"
    );
    let cid = t.set_up(None);
    assert_eq!(
        t.fails("set_settings", json!({ "language": "fr" })),
        "invalid_input"
    );
    assert_eq!(
        t.fails("set_settings", json!({ "pinBeforeApprove": true })),
        "pin_required"
    );
    let state = t.ok(
        "set_settings",
        json!({ "pinBeforeApprove": true, "pin": "1234" }),
    );
    assert_eq!(
        (state["pinBeforeApprove"].clone(), state["pinSet"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(
        t.fails("set_settings", json!({ "pin": "5678" })),
        "pin_required"
    );
    assert_eq!(
        t.fails(
            "set_settings",
            json!({ "pin": "5678", "currentPin": "9999" })
        ),
        "pin_invalid"
    );
    t.ok(
        "set_settings",
        json!({ "pin": "5678", "currentPin": "1234" }),
    );
    assert_eq!(
        t.fails(
            "set_settings",
            json!({ "pinBeforeApprove": false, "currentPin": "1234" })
        ),
        "pin_invalid"
    );
    let state = t.ok(
        "set_settings",
        json!({ "pinBeforeApprove": false, "currentPin": "5678" }),
    );
    assert_eq!(state["pinBeforeApprove"], false);
    assert_eq!(state["pinSet"], true);
    assert_eq!(state["language"], "ja", "fields not given stay");

    // The PIN set in the settings seals the vault: the app starts locked, and only
    // the PIN set last opens it.
    let _ = t.restart_listening("challenge");
    let state = t.ok("get_state", no_args());
    assert_eq!(
        (&state["locked"], &state["credentialId"]),
        (&json!(true), &Value::Null)
    );
    let e = t.invoke("unlock", json!({ "pin": "1234" })).unwrap_err();
    assert_eq!(e["kind"], "pin_invalid", "{e}");
    assert_eq!(
        t.ok("unlock", json!({ "pin": "5678" }))["credentialId"],
        cid.as_str()
    );
}

#[test]
fn a_pin_of_an_earlier_version_is_checked_by_its_hash_then_seals_the_vault() {
    let mut t = TestApp::start();
    let cid = t.set_up(None);
    // What an earlier version kept: the vault without the PIN, the PIN's hash beside it.
    let mut prefs = onepush_app::prefs::PrefsFile::load(&t.home);
    prefs.prefs.pin = Some(onepush_app::pin::PinRecord::hashed("2468").unwrap());
    prefs.prefs.pin_before_approve = true;
    prefs.save().unwrap();
    let _ = t.restart_listening("challenge");
    assert_eq!(t.ok("get_state", no_args())["locked"], false);
    t.enroll(&cid, "yamada");
    let created = block_on(t.bank.challenge("yamada", "login", login_context(), false));
    let id = created.id.to_string();
    t.show(&id);
    assert_eq!(
        t.fails("approve", json!({ "id": id, "pin": "1357" })),
        "pin_invalid"
    );
    assert_eq!(
        t.ok("approve", json!({ "id": id, "pin": "2468" }))["status"],
        "approved"
    );
    let settings = std::fs::read_to_string(t.home.join("app-settings.json")).unwrap();
    assert!(!settings.contains("argon2"), "the hash is gone: {settings}");
    let _ = t.restart_listening("challenge");
    assert_eq!(t.ok("get_state", no_args())["locked"], true);
    assert_eq!(
        t.ok("unlock", json!({ "pin": "2468" }))["credentialId"],
        cid.as_str()
    );
}

#[test]
fn cancelled_challenge_reaches_the_ui_as_a_status_event() {
    let t = TestApp::start();
    let statuses = t.events("challenge-status");
    let cid = t.set_up(None);
    t.enroll(&cid, "yamada");
    let created = block_on(t.bank.challenge("yamada", "login", login_context(), false));
    let id = created.id.to_string();
    let (status, body) = block_on(t.bank.call(
        Method::DELETE,
        &format!("/v1/challenges/{id}"),
        None,
    ));
    assert_eq!(status, StatusCode::OK, "{body}");
    let event = wait_for(&statuses, |e| e["id"] == id.as_str());
    assert_eq!(event["status"], "cancelled");
    assert_eq!(t.fails("approve", json!({ "id": id })), "challenge_decided");
    assert_eq!(
        t.ok("get_challenge", json!({ "id": id }))["status"],
        "cancelled"
    );
}

#[test]
fn unknown_challenge_is_not_found() {
    let t = TestApp::start();
    t.set_up(None);
    let stranger = onepush_protocol::ChallengeId::new().to_string();
    assert_eq!(
        t.fails("get_challenge", json!({ "id": stranger })),
        "not_found"
    );
    assert_eq!(
        t.fails("approve", json!({ "id": "not-an-id" })),
        "not_found"
    );
}

#[test]
fn reset_revokes_the_credential_at_the_relay_then_forgets_it() {
    let t = TestApp::start();
    let cid = t.set_up(Some("2468"));
    t.enroll(&cid, "yamada");
    let state = t.ok("reset", no_args());
    assert_eq!(state["setUp"], false);
    assert_eq!(state["pinSet"], false);
    assert_eq!(t.fails("codes", no_args()), "not_set_up");
    let left: Vec<_> = std::fs::read_dir(&t.home)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|name| name.to_string_lossy().starts_with("vault"))
        .collect();
    assert!(left.is_empty(), "no vault or key file is left: {left:?}");
    let (status, user) = block_on(t.bank.call(Method::GET, "/v1/users/yamada", None));
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["state"], "unregistered");
    // A new credential can be made at once.
    assert_ne!(t.set_up(None), cid);
}

#[test]
fn reset_with_the_relay_down_keeps_everything() {
    let mut t = TestApp::start();
    let cid = t.set_up(None);
    let relay = t.relay.take().unwrap();
    block_on(relay.shutdown()).unwrap();
    assert_eq!(t.fails("reset", no_args()), "relay_unreachable");
    let state = t.ok("get_state", no_args());
    assert_eq!(state["setUp"], true);
    assert_eq!(state["credentialId"], cid.as_str());
    assert_eq!(
        t.ok("codes", no_args())["current"].as_str().unwrap().len(),
        6
    );
}

#[test]
fn challenge_sent_while_the_app_was_closed_is_announced_on_start() {
    let mut t = TestApp::start();
    let cid = t.set_up(None);
    t.enroll(&cid, "yamada");
    t.app.cleanup_before_exit();
    let created = block_on(
        t.bank
            .challenge("yamada", "transaction", transfer_context(), false),
    );
    let challenges = t.restart_listening("challenge");
    let id = created.id.to_string();
    wait_for(&challenges, |e| e["id"] == id.as_str());
    assert_eq!(t.ok("get_state", no_args())["credentialId"], cid.as_str());
    assert_eq!(t.ok("approve", json!({ "id": id }))["status"], "approved");
}

#[cfg(target_os = "linux")]
#[test]
fn start_at_login_is_off_until_turned_on_and_adds_the_login_item() {
    const NAME: &str = "commands::start_at_login_is_off_until_turned_on_and_adds_the_login_item";
    const CHILD: &str = "ONEPUSH_TEST_LOGIN_ITEM_HOME";
    let Some(home) = std::env::var_os(CHILD) else {
        // The login item goes to $HOME/.config/autostart: a child process with a
        // throwaway HOME, so the user's own login items are never touched.
        let home = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", NAME, "--nocapture"])
            .env(CHILD, home.path())
            .env("HOME", home.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    };
    let items = std::path::Path::new(&home).join(".config/autostart");
    let login_items = || -> Vec<String> {
        std::fs::read_dir(&items)
            .map(|dir| {
                dir.flatten()
                    .map(|e| std::fs::read_to_string(e.path()).unwrap())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut t = TestApp::start();
    t.set_up(None);
    let state = t.ok("get_state", no_args());
    assert_eq!(
        (&state["startAtLogin"], &state["desktop"]),
        (&json!(false), &json!(true))
    );
    assert!(login_items().is_empty(), "off by default");

    let state = t.ok("set_settings", json!({ "startAtLogin": true }));
    assert_eq!(state["startAtLogin"], true);
    let added = login_items();
    assert_eq!(added.len(), 1, "{added:?}");
    assert!(
        added[0].contains("Exec=") && added[0].contains("--autostart"),
        "starts into the tray: {}",
        added[0]
    );
    let _ = t.restart_listening("challenge");
    assert_eq!(t.ok("get_state", no_args())["startAtLogin"], true, "kept");

    let state = t.ok("set_settings", json!({ "startAtLogin": false }));
    assert_eq!(state["startAtLogin"], false);
    assert!(login_items().is_empty(), "removed");
}

#[test]
fn a_pc_token_provisions_as_otp_and_shows_codes_only() {
    let t = TestApp::start();
    // Sealed to this PC's keystore: the key file is not offered for a PC token.
    assert_eq!(
        t.fails(
            "setup",
            json!({ "relayUrl": t.relay_url, "tokenKind": "otp", "keyMode": "file" })
        ),
        "invalid_input"
    );
    if !app::keystore_here() {
        assert_eq!(
            t.fails(
                "setup",
                json!({ "relayUrl": t.relay_url, "tokenKind": "otp" })
            ),
            "keystore_unavailable"
        );
        return;
    }
    let state = t.ok(
        "setup",
        json!({ "relayUrl": t.relay_url, "tokenKind": "otp" }),
    );
    assert_eq!(state["tokenKind"], "otp", "{state}");
    let cid = state["credentialId"].as_str().unwrap().to_owned();
    assert_eq!(t.ok("get_state", no_args())["tokenKind"], "otp");
    // Codes, and enrollment with them, as for any token.
    t.enroll(&cid, "yamada");
    let (status, user) = block_on(t.bank.call(Method::GET, "/v1/users/yamada", None));
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["kind"], "otp", "the relay bound a code token: {user}");
    // No approvals: the relay refuses a challenge for its user, and the app asks for none.
    let body = json!({ "user_id": "yamada", "kind": "login", "context": login_context(), "ttl_seconds": 120 });
    let (status, problem) = block_on(t.bank.call(Method::POST, "/v1/challenges", Some(body)));
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(t.ok("pending", no_args()), json!([]));
}
