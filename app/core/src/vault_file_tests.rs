//! The vault sealed by a real OS keystore (Secret Service under scripts/with-keyring):
//! round trip, a copied folder, a wrong PIN, no key in any file, the migration of
//! earlier files. Each test skips with a printed reason when there is no keystore,
//! and fails instead when `CI=true`.

use std::fs;

use super::*;
use crate::vault::tests::sample_vault;

macro_rules! needs_keystore {
    ($name:literal) => {
        if !os_keystore::available_for_test($name) {
            return;
        }
    };
}

fn pin_store(home: &Path, pin: &str) -> FileKeyStore {
    FileKeyStore::new(home, Zeroizing::new(pin.to_owned()))
        .unwrap()
        .with_params(KdfParams::FAST_FOR_TESTS)
}

fn account_of(store: &FileKeyStore) -> String {
    let (source, account) = store.sealing().unwrap().expect("a current-format vault");
    assert_eq!(source, KeySource::Keystore);
    account
}

/// Every byte of every file in `dir`, for looking for a secret in them.
fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| (e.path(), fs::read(e.path()).unwrap()))
        .collect()
}

#[test]
fn vault_round_trips_through_the_os_keystore_and_no_file_holds_its_key() {
    needs_keystore!("vault_round_trips_through_the_os_keystore_and_no_file_holds_its_key");
    for pin in [None, Some("2468")] {
        let home = tempfile::tempdir().unwrap();
        let store = match pin {
            Some(pin) => pin_store(home.path(), pin),
            None => FileKeyStore::without_pin(home.path()),
        };
        store.save(&sample_vault()).unwrap();
        let fresh = match pin {
            Some(pin) => pin_store(home.path(), pin),
            None => FileKeyStore::without_pin(home.path()),
        };
        let back = fresh.load().unwrap();
        assert_eq!(back.credential_id(), sample_vault().credential_id());

        let account = account_of(&store);
        assert!(account.starts_with("vault-"), "{account}");
        let secret = os_keystore::read(&account).unwrap().expect("the entry");
        assert_eq!(secret.len(), 32);
        let encoded = onepush_protocol::b64::encode(&secret[..]);
        let files = all_files(home.path());
        assert_eq!(files.len(), 1, "only the vault file: {files:?}");
        for (path, bytes) in files {
            assert!(
                !bytes.windows(32).any(|w| w == &secret[..])
                    && !String::from_utf8_lossy(&bytes).contains(&encoded),
                "{} holds the vault's key",
                path.display()
            );
        }
        store.delete().unwrap();
        assert!(
            os_keystore::read(&account).unwrap().is_none(),
            "delete removes the entry"
        );
        assert!(!store.exists());
    }
}

#[test]
fn copied_folder_without_this_keystore_entry_does_not_open() {
    needs_keystore!("copied_folder_without_this_keystore_entry_does_not_open");
    let home = tempfile::tempdir().unwrap();
    let store = pin_store(home.path(), "2468");
    store.save(&sample_vault()).unwrap();
    let copy = tempfile::tempdir().unwrap();
    fs::copy(store.path(), copy.path().join(FileKeyStore::FILE_NAME)).unwrap();
    // The same account's keystore opens the copy ...
    pin_store(copy.path(), "2468").load().unwrap();
    // ... another device's or account's keystore has no entry for it.
    os_keystore::remove(&account_of(&store)).unwrap();
    let err = pin_store(copy.path(), "2468").load().unwrap_err();
    assert!(matches!(err, VaultError::NotInKeystore), "{err:?}");
    assert_eq!(
        err.to_string(),
        "this vault's key is not in this device's keystore: the folder was copied from another device or account"
    );
}

#[test]
fn wrong_pin_with_the_right_keystore_does_not_open() {
    needs_keystore!("wrong_pin_with_the_right_keystore_does_not_open");
    let home = tempfile::tempdir().unwrap();
    let store = pin_store(home.path(), "2468");
    store.save(&sample_vault()).unwrap();
    let err = pin_store(home.path(), "1357").load().unwrap_err();
    assert!(matches!(err, VaultError::WrongPin), "{err:?}");
    assert!(matches!(
        FileKeyStore::without_pin(home.path()).load(),
        Err(VaultError::Locked(_))
    ));
    store.delete().unwrap();

    let bare = FileKeyStore::without_pin(home.path());
    bare.save(&sample_vault()).unwrap();
    assert!(matches!(
        pin_store(home.path(), "2468").load(),
        Err(VaultError::NoPin(_))
    ));
    bare.delete().unwrap();
}

/// Writes a vault as an earlier version did: PIN-only Argon2id, no vault ID.
fn write_legacy(home: &Path, password: &str) {
    let file = legacy_vault_file(&sample_vault(), password).unwrap();
    fs::create_dir_all(home).unwrap();
    fs::write(home.join(FileKeyStore::FILE_NAME), file).unwrap();
}

#[test]
fn app_vault_of_an_earlier_version_moves_its_key_into_the_keystore() {
    needs_keystore!("app_vault_of_an_earlier_version_moves_its_key_into_the_keystore");
    let home = tempfile::tempdir().unwrap();
    let old_key = "c2VjcmV0LWtleS1vZi10aGUtb2xkLWFwcA";
    write_legacy(home.path(), old_key);
    let store =
        FileKeyStore::without_pin(home.path()).with_legacy_key(Zeroizing::new(old_key.into()));
    assert!(
        store.sealing().unwrap().is_none(),
        "an earlier version's file"
    );
    store.load().unwrap();
    assert!(!store.is_legacy());
    account_of(&store);
    // Now it opens with the keystore alone, and no longer with the old key.
    let back = FileKeyStore::without_pin(home.path()).load().unwrap();
    assert_eq!(back.credential_id(), sample_vault().credential_id());
    store.delete().unwrap();
}

#[test]
fn pin_vault_of_an_earlier_version_is_resealed_with_keystore_and_pin() {
    needs_keystore!("pin_vault_of_an_earlier_version_is_resealed_with_keystore_and_pin");
    let home = tempfile::tempdir().unwrap();
    write_legacy(home.path(), "2468");
    assert!(matches!(
        pin_store(home.path(), "1357").load(),
        Err(VaultError::WrongPin)
    ));
    assert!(
        pin_store(home.path(), "1357").sealing().unwrap().is_none(),
        "a wrong PIN changes nothing"
    );
    let store = pin_store(home.path(), "2468");
    store.load().unwrap();
    account_of(&store);
    assert!(matches!(
        pin_store(home.path(), "1357").load(),
        Err(VaultError::WrongPin)
    ));
    pin_store(home.path(), "2468").load().unwrap();
    store.delete().unwrap();
}

#[test]
fn a_new_pin_reseals_the_vault_under_the_same_keystore_entry() {
    needs_keystore!("a_new_pin_reseals_the_vault_under_the_same_keystore_entry");
    let home = tempfile::tempdir().unwrap();
    let mut store = pin_store(home.path(), "2468");
    store.save(&sample_vault()).unwrap();
    let account = account_of(&store);
    store
        .change_pin(&sample_vault(), Zeroizing::new("13579".to_owned()))
        .unwrap();
    assert_eq!(account_of(&store), account, "the same keystore entry");
    assert!(matches!(
        pin_store(home.path(), "2468").load(),
        Err(VaultError::WrongPin)
    ));
    let back = pin_store(home.path(), "13579").load().unwrap();
    assert_eq!(back.credential_id(), sample_vault().credential_id());
    // A vault without a PIN gets one the same way.
    let bare = tempfile::tempdir().unwrap();
    let mut store = FileKeyStore::without_pin(bare.path()).with_params(KdfParams::FAST_FOR_TESTS);
    store.save(&sample_vault()).unwrap();
    store
        .change_pin(&sample_vault(), Zeroizing::new("1234".to_owned()))
        .unwrap();
    assert!(matches!(
        FileKeyStore::without_pin(bare.path()).load(),
        Err(VaultError::Locked(_))
    ));
    pin_store(bare.path(), "1234").load().unwrap();
    os_keystore::remove(&account).unwrap();
}
