//! The app's vault and the OS keystore, through the commands as the UI calls them:
//! setup seals the vault with a keystore entry (no key in the app's folder); without
//! the entry (a copied folder) the vault does not open, the Setup screen is told why,
//! and "start over" works; without a keystore, setup says so and takes a key file only
//! when asked.

use crate::common::app;

use app::TestApp;
use onepush_device::keystore::KeySource;
use onepush_device::{FileKeyStore, KeyStore as _, os_keystore};
use serde_json::{Value, json};

const COPIED: &str = "this vault's key is not in this device's keystore: the folder was copied from another device or account";

fn no_args() -> Value {
    json!({})
}

#[test]
fn setup_seals_the_vault_in_the_keystore_and_without_its_entry_the_vault_does_not_open() {
    if !os_keystore::available_for_test(
        "setup_seals_the_vault_in_the_keystore_and_without_its_entry_the_vault_does_not_open",
    ) {
        return;
    }
    let mut t = TestApp::start();
    let cid = t.set_up(None);
    let (source, account) = FileKeyStore::without_pin(&t.home)
        .sealing()
        .unwrap()
        .unwrap();
    assert_eq!(source, KeySource::Keystore);
    let secret = os_keystore::read(&account)
        .unwrap()
        .expect("the keystore entry");
    let encoded = onepush_protocol::b64::encode(&secret[..]);
    for entry in std::fs::read_dir(&t.home).unwrap().flatten() {
        let bytes = std::fs::read(entry.path()).unwrap();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == &secret[..])
                && !String::from_utf8_lossy(&bytes).contains(&encoded),
            "{} holds the vault's key",
            entry.path().display()
        );
    }

    // The same files where this keystore entry does not exist: another device or account.
    os_keystore::remove(&account).unwrap();
    let _events = t.restart_listening("challenge");
    assert_eq!(t.ok("get_state", no_args())["setUp"], false);
    let config = t.ok("get_config", no_args());
    assert_eq!(config["vaultProblem"], COPIED, "{config}");
    let refused = t
        .invoke("setup", json!({ "relayUrl": t.relay_url }))
        .unwrap_err();
    assert_eq!(refused["kind"], "already_set_up");
    assert!(
        refused["message"].as_str().unwrap().contains(COPIED),
        "{refused}"
    );

    // Start over: the unreadable vault goes (the relay is not asked), a new one is made.
    assert_eq!(t.ok("reset", no_args())["setUp"], false);
    assert_eq!(t.ok("get_config", no_args())["vaultProblem"], Value::Null);
    assert!(!t.home.join(FileKeyStore::FILE_NAME).exists());
    assert_ne!(t.set_up(None), cid);
}

#[cfg(target_os = "linux")]
#[test]
fn without_a_keystore_setup_says_so_and_takes_a_key_file_only_when_asked() {
    const NAME: &str =
        "keystore::without_a_keystore_setup_says_so_and_takes_a_key_file_only_when_asked";
    const CHILD: &str = "ONEPUSH_TEST_WITHOUT_KEYSTORE";
    if std::env::var_os(CHILD).is_none() {
        // This process's keystore connection is made once; a child process gets none:
        // its session bus address leads nowhere.
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", NAME, "--nocapture"])
            .env(CHILD, "1")
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/onepush-test-bus",
            )
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let t = TestApp::start();
    let config = t.ok("get_config", no_args());
    assert_eq!(config["keystore"]["available"], false, "{config}");
    let detail = config["keystore"]["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("no OS keystore is available on this device"),
        "{detail}"
    );

    let refused = t
        .invoke("setup", json!({ "relayUrl": t.relay_url }))
        .unwrap_err();
    assert_eq!(refused["kind"], "keystore_unavailable", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("keep the key in a file"),
        "{refused}"
    );
    assert!(
        !t.home.join(FileKeyStore::FILE_NAME).exists(),
        "nothing made"
    );

    let state = t.ok(
        "setup",
        json!({ "relayUrl": t.relay_url, "keyMode": "file" }),
    );
    assert_eq!(state["setUp"], true);
    let store = FileKeyStore::without_pin(&t.home);
    assert_eq!(store.sealing().unwrap().unwrap().0, KeySource::KeyFile);
    assert!(store.key_file().exists());
}

/// Copies the files of `from` into a new folder `to`.
fn copy_folder(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn a_pin_sealed_vault_opens_only_with_the_pin_and_this_keystore() {
    const NAME: &str = "keystore::a_pin_sealed_vault_opens_only_with_the_pin_and_this_keystore";
    if !os_keystore::available_for_test(NAME) {
        return;
    }
    let mut t = TestApp::start();
    let cid = t.set_up(Some("2468"));
    let settings = std::fs::read_to_string(t.home.join("app-settings.json")).unwrap();
    assert!(
        !settings.contains("argon2") && !settings.contains("2468"),
        "no PIN hash beside the vault: {settings}"
    );
    let (source, account) = FileKeyStore::without_pin(&t.home)
        .sealing()
        .unwrap()
        .unwrap();
    assert_eq!(source, KeySource::Keystore);

    // The app starts locked: nothing of the credential is known or usable.
    let _ = t.restart_listening("challenge");
    let state = t.ok("get_state", no_args());
    assert_eq!(
        (&state["setUp"], &state["locked"], &state["credentialId"]),
        (&json!(true), &json!(true), &Value::Null),
        "{state}"
    );
    assert_eq!(t.fails("codes", no_args()), "locked");
    assert_eq!(t.ok("get_config", no_args())["vaultProblem"], Value::Null);

    // A wrong PIN with the right keystore does not open it; the right one does.
    assert_eq!(t.fails("unlock", json!({ "pin": "1357" })), "pin_invalid");
    assert_eq!(t.fails("unlock", json!({ "pin": "12" })), "invalid_input");
    assert_eq!(t.ok("get_state", no_args())["locked"], true);
    let state = t.ok("unlock", json!({ "pin": "2468" }));
    assert_eq!(state["credentialId"], cid.as_str(), "{state}");
    assert_eq!(state["locked"], false);
    assert_eq!(
        t.ok("codes", no_args())["current"].as_str().unwrap().len(),
        6
    );
    // The same check without the app: the keystore secret alone, or with a wrong PIN.
    assert!(matches!(
        FileKeyStore::without_pin(&t.home).load(),
        Err(onepush_device::VaultError::Locked(_))
    ));
    assert!(matches!(
        FileKeyStore::new(&t.home, "1357".to_owned().into())
            .unwrap()
            .load(),
        Err(onepush_device::VaultError::WrongPin)
    ));

    // Wrong PINs at unlock count like an approval's: five lock it, even for the right one.
    let _ = t.restart_listening("challenge");
    for _ in 0..5 {
        assert_eq!(t.fails("unlock", json!({ "pin": "0000" })), "pin_invalid");
    }
    assert_eq!(t.fails("unlock", json!({ "pin": "2468" })), "pin_locked");
    assert_eq!(t.ok("get_state", no_args())["locked"], true);

    // A copy of the app's folder where this keystore entry does not exist (another
    // device or account) does not open, with the right PIN either.
    let copy = t.home.with_file_name("copied-app");
    copy_folder(&t.home, &copy);
    let saved = os_keystore::read(&account).unwrap().expect("the entry");
    os_keystore::remove(&account).unwrap();
    t.restart_on(copy.clone());
    let state = t.ok("get_state", no_args());
    assert_eq!(
        (&state["setUp"], &state["locked"]),
        (&json!(false), &json!(false))
    );
    assert_eq!(t.ok("get_config", no_args())["vaultProblem"], COPIED);
    let refused = t.invoke("unlock", json!({ "pin": "2468" })).unwrap_err();
    assert_eq!(refused["kind"], "not_set_up", "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains(COPIED),
        "{refused}"
    );
    let err = FileKeyStore::new(&copy, "2468".to_owned().into())
        .unwrap()
        .load()
        .unwrap_err();
    assert!(
        matches!(err, onepush_device::VaultError::NotInKeystore),
        "{err:?}"
    );
    os_keystore::write(&account, &saved).unwrap();
}
