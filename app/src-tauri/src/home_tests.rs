//! The app home's vault: the migration of an earlier version's `vault.key`, file-key
//! mode. The keystore test skips (printed) without a keystore, and fails with `CI=true`.

use std::sync::Arc;

use onepush_device::keystore::{KeySource, legacy_vault_file};
use onepush_device::os_keystore;
use onepush_device::vault::{NewVault, Vault};
use onepush_protocol::DeviceKey;
use onepush_protocol::totp::TotpSecret;
use onepush_protocol::webpush::PushReceiverKeys;

use super::*;

fn sample_vault() -> Vault {
    Vault::new(NewVault {
        credential_id: "ONEP12345674".parse().unwrap(),
        signing_key: Arc::new(DeviceKey::generate()),
        totp_secret: TotpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap(),
        ocra_key: None,
        push_keys: Arc::new(PushReceiverKeys::generate()),
        relay_url: "http://127.0.0.1:8420".to_owned(),
        vapid_public_key: "BPUSH".to_owned(),
        now: 1_700_000_000,
    })
}

#[test]
fn vault_key_file_of_an_earlier_version_moves_into_the_keystore_and_goes() {
    if !os_keystore::available_for_test(
        "vault_key_file_of_an_earlier_version_moves_into_the_keystore_and_goes",
    ) {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let old_key = "b2xkLXJhbmRvbS1rZXktb2YtdGhlLWFwcA";
    std::fs::write(
        home.path().join(FileKeyStore::FILE_NAME),
        legacy_vault_file(&sample_vault(), old_key).unwrap(),
    )
    .unwrap();
    std::fs::write(home.path().join(LEGACY_KEY_FILE), format!("{old_key}\n")).unwrap();

    let store = existing_store(home.path()).unwrap();
    let vault = store.load().unwrap();
    finish_migration(home.path(), &store);
    assert!(
        !home.path().join(LEGACY_KEY_FILE).exists(),
        "vault.key is gone"
    );
    assert_eq!(
        store.sealing().unwrap().map(|(source, _)| source),
        Some(KeySource::Keystore)
    );
    let again = existing_store(home.path()).unwrap().load().unwrap();
    assert_eq!(again.credential_id(), vault.credential_id());
    remove_unreadable_vault(home.path()).unwrap();
    assert!(!has_vault(home.path()));
}

#[test]
fn file_key_mode_is_a_choice_that_needs_no_keystore() {
    let home = tempfile::tempdir().unwrap();
    let store = new_store(home.path(), KeyMode::File, None).unwrap();
    store.save(&sample_vault()).unwrap();
    assert!(store.key_file().exists());
    let back = existing_store(home.path()).unwrap();
    back.load().unwrap();
    finish_migration(home.path(), &back);
    remove_unreadable_vault(home.path()).unwrap();
    assert!(!has_vault(home.path()) && !store.key_file().exists());
}
