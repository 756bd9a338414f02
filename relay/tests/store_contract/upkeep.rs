//! The cluster identity and the sweep of credentials never bound (issue 22).

use std::sync::Arc;

use onepush_relay::store::{Store, StoreError};

use onepush_protocol::api::BindingState;
use onepush_relay::store::BindingChange;

use super::bindings::no_prompts;
use super::records::{NOW, audit_of, binding, challenge, credential, seeded};

pub async fn the_first_recorded_cluster_value_is_kept(store: Arc<Store>) {
    let first = store
        .record_cluster_value("master_key_check", "first", NOW)
        .await
        .unwrap();
    assert_eq!(first, "first");
    let later = store
        .record_cluster_value("master_key_check", "second", NOW + 1)
        .await
        .unwrap();
    assert_eq!(later, "first", "a later relay is told the first value");
    let other = store
        .record_cluster_value("vapid_public_key", "BKey", NOW)
        .await
        .unwrap();
    assert_eq!(other, "BKey");
}

pub async fn concurrent_first_relays_agree_on_one_cluster_value(store: Arc<Store>) {
    let tries = (0..8).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .record_cluster_value("vapid_public_key", &format!("key-{i}"), NOW)
                .await
                .unwrap()
        })
    });
    let answers: Vec<String> = futures::future::join_all(tries)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "every relay sees the one value kept: {answers:?}"
    );
}

pub async fn only_old_credentials_never_bound_are_swept(store: Arc<Store>) {
    // Bound at `bank` (seeded), created at NOW.
    let bound = seeded(store.as_ref()).await;
    let mut unbound_old = credential();
    unbound_old.created_at = NOW - 40 * 86_400;
    let mut unbound_young = credential();
    unbound_young.created_at = NOW - 86_400;
    let mut revoked_old = credential();
    revoked_old.created_at = NOW - 40 * 86_400;
    // Bound once, then the user's binding moved to another credential: its challenge
    // still names it, so it is kept.
    let mut replaced_old = credential();
    replaced_old.created_at = NOW - 40 * 86_400;
    for c in [&unbound_old, &unbound_young, &revoked_old, &replaced_old] {
        store.insert_credential(c).await.unwrap();
    }
    store.revoke_credential(&revoked_old.id, NOW).await.unwrap();
    let old_binding = binding("bank", "bob", &replaced_old.id);
    store
        .insert_binding(&old_binding, &audit_of(&old_binding, "binding.enrolled"))
        .await
        .unwrap();
    let mut bobs = challenge("bank", &replaced_old.id, NOW + 60);
    bobs.user_id = old_binding.user_id.clone();
    store.insert_challenge(&bobs, None).await.unwrap();
    let unregister = BindingChange {
        tenant_id: old_binding.tenant_id.clone(),
        user_id: old_binding.user_id.clone(),
        credential_id: None,
        from: vec![BindingState::Active],
        to: BindingState::Unregistered,
        lock_reason: None,
        grace_until: None,
        audit: audit_of(&old_binding, "binding.unregistered"),
    };
    store
        .change_binding(&unregister, NOW, &no_prompts())
        .await
        .unwrap()
        .expect("unregistered");
    let new_binding = binding("bank", "bob", &bound.id);
    store
        .insert_binding(&new_binding, &audit_of(&new_binding, "binding.enrolled"))
        .await
        .unwrap();
    let deleted = store
        .delete_unbound_credentials(NOW - 30 * 86_400, 100)
        .await
        .unwrap();
    assert_eq!(
        deleted, 2,
        "the old unbound one and the old revoked unbound one"
    );
    for gone in [&unbound_old.id, &revoked_old.id] {
        assert!(matches!(
            store.credential(gone).await,
            Err(StoreError::NotFound)
        ));
    }
    for kept in [&bound.id, &unbound_young.id, &replaced_old.id] {
        store.credential(kept).await.unwrap();
    }
    assert_eq!(
        store
            .delete_unbound_credentials(NOW - 30 * 86_400, 100)
            .await
            .unwrap(),
        0
    );
}

pub async fn the_sweep_deletes_at_most_its_limit(store: Arc<Store>) {
    for _ in 0..5 {
        let mut c = credential();
        c.created_at = NOW - 40 * 86_400;
        store.insert_credential(&c).await.unwrap();
    }
    let first = store.delete_unbound_credentials(NOW, 3).await.unwrap();
    let rest = store.delete_unbound_credentials(NOW, 3).await.unwrap();
    assert_eq!((first, rest), (3, 2));
}
