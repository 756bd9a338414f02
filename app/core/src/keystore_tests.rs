//! Unit tests of the vault stores that need no OS keystore: the file format, crash
//! safety, file modes and file-key mode. The keystore tests are in `vault_file_tests.rs`.

use super::*;
use crate::vault::tests::sample_vault;

/// A PIN store in file-key mode (no OS keystore needed).
fn pin_store(home: &Path, pin: &str) -> FileKeyStore {
    FileKeyStore::new(home, Zeroizing::new(pin.to_owned()))
        .unwrap()
        .with_params(KdfParams::FAST_FOR_TESTS)
        .with_key_file()
}

#[test]
fn vault_round_trips_through_the_encrypted_file_in_file_key_mode() {
    let home = tempfile::tempdir().unwrap();
    let vault = sample_vault();
    let store = pin_store(home.path(), "2468");
    assert!(!store.exists());
    store.save(&vault).unwrap();
    assert!(store.exists());
    let back = pin_store(home.path(), "2468").load().unwrap();
    assert_eq!(back.credential_id(), vault.credential_id());
    assert_eq!(
        back.totp_secret().as_bytes(),
        vault.totp_secret().as_bytes()
    );
    let raw = fs::read(store.path()).unwrap();
    let secret = vault.totp_secret().to_base32();
    assert!(
        !String::from_utf8_lossy(&raw).contains(&*secret),
        "the secret is not in clear"
    );
    assert_eq!(
        store.sealing().unwrap().unwrap().0,
        KeySource::KeyFile,
        "file-key mode says so in the header"
    );
    assert_eq!(fs::read(store.key_file()).unwrap().len(), 32);
}

#[test]
fn file_key_vault_copied_elsewhere_opens_with_the_pin_alone() {
    // Why file-key mode is the weaker one, and only taken on an explicit choice.
    let home = tempfile::tempdir().unwrap();
    pin_store(home.path(), "2468")
        .save(&sample_vault())
        .unwrap();
    let copy = tempfile::tempdir().unwrap();
    for name in [FileKeyStore::FILE_NAME, FileKeyStore::KEY_FILE_NAME] {
        fs::copy(home.path().join(name), copy.path().join(name)).unwrap();
    }
    let back = pin_store(copy.path(), "2468").load().unwrap();
    assert_eq!(back.credential_id(), sample_vault().credential_id());
    fs::remove_file(copy.path().join(FileKeyStore::KEY_FILE_NAME)).unwrap();
    assert!(matches!(
        pin_store(copy.path(), "2468").load(),
        Err(VaultError::KeyFileMissing(_))
    ));
}

#[test]
fn wrong_pin_is_refused() {
    let home = tempfile::tempdir().unwrap();
    pin_store(home.path(), "2468")
        .save(&sample_vault())
        .unwrap();
    let err = pin_store(home.path(), "1357").load().unwrap_err();
    assert!(matches!(err, VaultError::WrongPin), "{err}");
    assert_eq!(
        err.to_string(),
        "wrong PIN: the vault could not be unlocked"
    );
}

#[test]
fn empty_pin_is_refused() {
    let home = tempfile::tempdir().unwrap();
    assert!(matches!(
        FileKeyStore::new(home.path(), Zeroizing::new(String::new())),
        Err(VaultError::EmptyPin)
    ));
}

#[test]
fn crash_between_write_and_rename_leaves_the_old_vault_readable() {
    let home = tempfile::tempdir().unwrap();
    let store = pin_store(home.path(), "2468");
    let old = sample_vault();
    store.save(&old).unwrap();
    let mut newer = store.load().unwrap();
    newer.settings.language = "ja".into();
    let temp = store.simulate_crash_before_rename(&newer).unwrap();
    assert!(temp.exists());
    let back = self::pin_store(home.path(), "2468").load().unwrap();
    assert_eq!(
        back.settings.language, "en",
        "the old vault is still the current one"
    );
    assert_eq!(back.credential_id(), old.credential_id());
}

#[test]
fn truncated_file_is_reported_not_taken_for_a_wrong_pin() {
    let home = tempfile::tempdir().unwrap();
    let store = pin_store(home.path(), "2468");
    fs::write(store.path(), b"ONEPUSHV").unwrap();
    assert!(matches!(store.load(), Err(VaultError::Corrupt(_))));
}

#[cfg(unix)]
#[test]
fn vault_file_is_mode_0600() {
    use std::os::unix::fs::PermissionsExt as _;
    let home = tempfile::tempdir().unwrap();
    let store = pin_store(home.path(), "2468");
    store.save(&sample_vault()).unwrap();
    store.save(&sample_vault()).unwrap();
    for file in [store.path(), &store.key_file()] {
        assert_eq!(
            fs::metadata(file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let insecure = UnencryptedFileKeyStore::new(home.path());
    insecure.save(&sample_vault()).unwrap();
    assert_eq!(
        fs::metadata(insecure.path()).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn each_store_names_the_other_kind_of_vault() {
    let home = tempfile::tempdir().unwrap();
    UnencryptedFileKeyStore::new(home.path())
        .save(&sample_vault())
        .unwrap();
    assert!(matches!(
        pin_store(home.path(), "1").load(),
        Err(VaultError::Unencrypted(_))
    ));
    let other = tempfile::tempdir().unwrap();
    pin_store(other.path(), "1").save(&sample_vault()).unwrap();
    assert!(matches!(
        UnencryptedFileKeyStore::new(other.path()).load(),
        Err(VaultError::Locked(_))
    ));
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        pin_store(empty.path(), "1").load(),
        Err(VaultError::NotFound(_))
    ));
}

#[test]
fn delete_removes_the_vault_and_its_key_file() {
    let home = tempfile::tempdir().unwrap();
    let store = pin_store(home.path(), "2468");
    store.save(&sample_vault()).unwrap();
    store.delete().unwrap();
    assert!(!store.exists());
    assert!(!store.key_file().exists());
}

#[test]
fn pin_check_and_debug_keep_the_pin_secret() {
    let home = tempfile::tempdir().unwrap();
    let store = pin_store(home.path(), "97531");
    assert!(store.verify_pin("97531"));
    assert!(!store.verify_pin("97530"));
    assert!(!format!("{store:?}").contains("97531"));
    assert!(!UnencryptedFileKeyStore::new(home.path()).verify_pin("97531"));
    let no_pin = FileKeyStore::without_pin(home.path());
    assert!(!no_pin.verify_pin("97531") && !no_pin.verifies_user());
}
