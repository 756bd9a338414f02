//! The emulator CLI's vault and the OS keystore: sealed by the keystore and the PIN,
//! a copied home folder that does not open under another keystore (a second, private
//! D-Bus session through scripts/with-keyring), the refusal without a keystore and the
//! explicit `--file-key` mode.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::cli::{self, json_line, stderr};
use onepush_device::keystore::KeySource;
use onepush_device::{FileKeyStore, os_keystore};
use zeroize::Zeroizing;

const PIN: &str = "246810";
const COPIED: &str = "this vault's key is not in this device's keystore: the folder was copied from another device or account";

fn device(home: &Path) -> assert_cmd::Command {
    let mut command = cli::device(home);
    command.env("ONEPUSH_DEVICE_PIN", PIN);
    command
}

/// `scripts/with-keyring`.
fn with_keyring() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/with-keyring")
}

fn one_error_line(assert: &assert_cmd::assert::Assert) -> String {
    let text = stderr(assert);
    let text = text.trim_end();
    assert_eq!(text.lines().count(), 1, "one line: {text}");
    assert!(text.starts_with("error: "), "{text}");
    text.to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_vault_is_sealed_by_the_keystore_and_a_copy_does_not_open_under_another() {
    if !os_keystore::available_for_test(
        "cli_vault_is_sealed_by_the_keystore_and_a_copy_does_not_open_under_another",
    ) {
        return;
    }
    let world = common::world().await;
    let home = world.home();
    let mut init = device(&home);
    init.args(["--json", "init", "--relay", world.url()]);
    let created = json_line(&cli::run(init).await.success());
    assert_eq!(
        (created["encrypted"].as_bool(), created["key"].as_str()),
        (Some(true), Some("os-keystore")),
        "{created}"
    );
    let store = FileKeyStore::new(&home, Zeroizing::new(PIN.to_owned())).unwrap();
    let (source, account) = store.sealing().unwrap().unwrap();
    assert_eq!(source, KeySource::Keystore);
    assert!(!store.key_file().exists(), "no key file without --file-key");
    let names: Vec<_> = std::fs::read_dir(&home)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        names,
        [FileKeyStore::FILE_NAME],
        "only the vault in the folder"
    );

    // The folder copied to "another device": the same files, another keystore.
    let copy = world.home();
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(store.path(), copy.join(FileKeyStore::FILE_NAME)).unwrap();
    let elsewhere = Command::new(with_keyring())
        .env_remove("ONEPUSH_KEYRING_SESSION")
        .env("ONEPUSH_DEVICE_PIN", PIN)
        .arg(cli::device_bin())
        .arg("--home")
        .arg(&copy)
        .arg("show")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&elsewhere.stderr);
    assert_eq!(elsewhere.status.code(), Some(5), "{text}");
    assert!(
        text.lines().any(|l| l == format!("error: {COPIED}")),
        "the clear error: {text}"
    );

    // Here, the copy opens (same account); once the entry is gone, neither does.
    let mut show = device(&copy);
    show.args(["--json", "show"]);
    let shown = json_line(&cli::run(show).await.success());
    assert_eq!(shown["credential_id"], created["credential_id"]);
    os_keystore::remove(&account).unwrap();
    let mut gone = device(&home);
    gone.arg("show");
    let text = one_error_line(&cli::run(gone).await.failure().code(5));
    assert_eq!(text, format!("error: {COPIED}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_pin_with_the_right_keystore_does_not_open_the_cli_vault() {
    if !os_keystore::available_for_test(
        "wrong_pin_with_the_right_keystore_does_not_open_the_cli_vault",
    ) {
        return;
    }
    let world = common::world().await;
    let home = world.home();
    let mut init = device(&home);
    init.args(["init", "--relay", world.url()]);
    cli::run(init).await.success();
    let mut wrong = cli::device(&home);
    wrong.env("ONEPUSH_DEVICE_PIN", "135790").arg("codes");
    let text = one_error_line(&cli::run(wrong).await.failure().code(5));
    assert!(text.contains("wrong PIN"), "{text}");
    let mut right = device(&home);
    right.args(["--json", "reset"]);
    cli::run(right).await.success();
}

/// Runs the binary with no reachable D-Bus session: no OS keystore.
#[cfg(target_os = "linux")]
fn without_keystore(home: &Path) -> assert_cmd::Command {
    let mut command = device(home);
    command
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/onepush-test-bus",
        )
        .env_remove("ONEPUSH_KEYRING_SESSION");
    command
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn without_a_keystore_init_says_so_and_file_key_mode_is_taken_only_when_asked() {
    let world = common::world().await;
    let home = world.home();
    let mut refused = without_keystore(&home);
    refused.args(["init", "--relay", world.url()]);
    let text = one_error_line(&cli::run(refused).await.failure().code(5));
    assert!(
        text.contains("no OS keystore is available on this device") && text.contains("--file-key"),
        "{text}"
    );
    assert!(
        !home.join(FileKeyStore::FILE_NAME).exists(),
        "no vault made"
    );

    let mut chosen = without_keystore(&home);
    chosen.args(["--json", "init", "--file-key", "--relay", world.url()]);
    let created = json_line(&cli::run(chosen).await.success());
    assert_eq!(created["key"], "file", "{created}");
    let store = FileKeyStore::new(&home, Zeroizing::new(PIN.to_owned())).unwrap();
    assert_eq!(store.sealing().unwrap().unwrap().0, KeySource::KeyFile);
    assert!(store.key_file().exists());
    // It opens without the flag: the vault's header says where its key is.
    let mut codes = without_keystore(&home);
    codes.args(["--json", "codes"]);
    cli::run(codes).await.success();
}
