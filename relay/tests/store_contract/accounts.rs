//! Tenants, credentials, bindings, proof `jti`s and the audit log.

use std::sync::Arc;

use onepush_protocol::CredentialId;
use onepush_protocol::api::BindingState;
use onepush_relay::store::{BindingChange, NewAudit, Store, StoreError};
use serde_json::json;

use super::bindings::no_prompts;
use super::records::{
    NOW, audit_of, bind, binding, credential, seeded, subscription, tenant, tenant_id, user,
};

pub async fn tenants_are_found_by_slug_and_by_key_hash(store: Arc<Store>) {
    store.ping().await.unwrap();
    store
        .insert_tenant(&tenant("bank-b"), &[2; 32])
        .await
        .unwrap();
    store
        .insert_tenant(&tenant("bank-a"), &[1; 32])
        .await
        .unwrap();
    assert!(matches!(
        store.insert_tenant(&tenant("bank-a"), &[3; 32]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.tenant(&tenant_id("bank-a")).await.unwrap(),
        tenant("bank-a")
    );
    let (found, hash) = store.tenant_by_key_hash(&[2; 32]).await.unwrap();
    assert_eq!((found.id.as_str(), hash), ("bank-b", vec![2; 32]));
    let slugs: Vec<String> = store
        .list_tenants()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id.to_string())
        .collect();
    assert_eq!(slugs, ["bank-a", "bank-b"]);
    store
        .set_tenant_key(&tenant_id("bank-a"), &[9; 32])
        .await
        .unwrap();
    assert!(matches!(
        store.tenant_by_key_hash(&[1; 32]).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .tenant_by_key_hash(&[9; 32])
            .await
            .unwrap()
            .0
            .id
            .as_str(),
        "bank-a"
    );
    assert!(matches!(
        store.set_tenant_key(&tenant_id("nobody"), &[4; 32]).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.tenant(&tenant_id("nobody")).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn credential_keeps_its_fields_and_revoking_clears_the_push_subscription(
    store: Arc<Store>,
) {
    let cred = credential();
    store.insert_credential(&cred).await.unwrap();
    assert!(matches!(
        store.insert_credential(&cred).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.credential(&cred.id).await.unwrap(), cred);
    store.set_push_subscription(&cred.id, None).await.unwrap();
    assert_eq!(
        store.credential(&cred.id).await.unwrap().push_subscription,
        None
    );
    store
        .set_push_subscription(&cred.id, Some(&subscription().into()))
        .await
        .unwrap();
    store.revoke_credential(&cred.id, NOW + 5).await.unwrap();
    let revoked = store.credential(&cred.id).await.unwrap();
    assert_eq!(
        (revoked.revoked_at, revoked.push_subscription),
        (Some(NOW + 5), None)
    );
    let unknown = CredentialId::generate(CredentialId::DEFAULT_PREFIX).unwrap();
    assert!(matches!(
        store.credential(&unknown).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn a_totp_step_is_used_once_and_only_forward(store: Arc<Store>) {
    let cred = credential();
    store.insert_credential(&cred).await.unwrap();
    assert!(store.use_totp_step(&cred.id, 100).await.unwrap());
    assert!(!store.use_totp_step(&cred.id, 100).await.unwrap(), "replay");
    assert!(
        !store.use_totp_step(&cred.id, 99).await.unwrap(),
        "older step"
    );
    assert!(store.use_totp_step(&cred.id, 101).await.unwrap());
    assert_eq!(
        store.credential(&cred.id).await.unwrap().last_used_step,
        Some(101)
    );
}

pub async fn a_users_binding_is_replaced_only_once_unregistered_and_listed_with_its_bank(
    store: Arc<Store>,
) {
    let cred = seeded(store.as_ref()).await;
    let (bank, alice) = (tenant_id("bank"), user("alice"));
    // Alice is bound: a second binding of her is refused, whatever credential.
    let other = credential();
    store.insert_credential(&other).await.unwrap();
    assert!(matches!(
        bind(store.as_ref(), &binding("bank", "alice", &other.id)).await,
        Err(StoreError::Conflict)
    ));
    // Unregistered, she can be bound again (to the other credential).
    let unregister = BindingChange {
        tenant_id: bank.clone(),
        user_id: alice.clone(),
        credential_id: None,
        from: vec![BindingState::Active],
        to: BindingState::Unregistered,
        lock_reason: None,
        grace_until: Some(NOW + 86_400),
        audit: audit_of(&binding("bank", "alice", &cred.id), "binding.unregistered"),
    };
    let done = store
        .change_binding(&unregister, NOW, &no_prompts())
        .await
        .unwrap()
        .expect("changed");
    assert_eq!(
        (done.binding.state, done.binding.grace_until),
        (BindingState::Unregistered, Some(NOW + 86_400))
    );
    let mut again = binding("bank", "alice", &other.id);
    again.drift_steps = -2;
    bind(store.as_ref(), &again).await.unwrap();
    assert_eq!(store.binding(&bank, &alice).await.unwrap(), again);
    store
        .insert_tenant(&tenant("other"), &[8; 32])
        .await
        .unwrap();
    bind(store.as_ref(), &binding("other", "a.sato", &other.id))
        .await
        .unwrap();
    let listed: Vec<(String, String)> = store
        .bindings_of_credential(&other.id)
        .await
        .unwrap()
        .into_iter()
        .map(|(b, name)| (b.user_id.to_string(), name))
        .collect();
    assert_eq!(
        listed,
        [
            ("alice".to_owned(), "Bank bank".to_owned()),
            ("a.sato".to_owned(), "Bank other".to_owned())
        ]
    );
    assert!(matches!(
        store.binding(&tenant_id("bank"), &user("bob")).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn a_proof_jti_is_accepted_once_until_it_expires(store: Arc<Store>) {
    assert!(store.record_jti("jti-1", NOW + 121, NOW).await.unwrap());
    assert!(!store.record_jti("jti-1", NOW + 121, NOW + 1).await.unwrap());
    assert!(store.record_jti("jti-2", NOW + 121, NOW + 1).await.unwrap());
    // Forgotten only once it could no longer pass the freshness check anyway.
    assert!(
        store
            .record_jti("jti-1", NOW + 300, NOW + 122)
            .await
            .unwrap()
    );
}

pub async fn audit_events_are_kept_in_order_per_tenant_and_user(store: Arc<Store>) {
    let cred = seeded(store.as_ref()).await;
    store
        .insert_tenant(&tenant("other"), &[8; 32])
        .await
        .unwrap();
    let event = |t: &str, name: &str, what: &str| NewAudit {
        tenant_id: Some(tenant_id(t)),
        event: what.into(),
        user_id: Some(user(name)),
        credential_id: Some(cred.id.clone()),
        challenge_id: None,
        detail: json!({ "reason": what }),
    };
    let a1 = store
        .append_audit(&event("bank", "alice", "binding.enrolled"), NOW)
        .await
        .unwrap();
    store
        .append_audit(&event("bank", "bob", "otp.failed"), NOW + 1)
        .await
        .unwrap();
    store
        .append_audit(&event("other", "alice", "otp.verified"), NOW + 2)
        .await
        .unwrap();
    let a2 = store
        .append_audit(&event("bank", "alice", "otp.verified"), NOW + 3)
        .await
        .unwrap();
    assert!(a2 > a1);
    let bank = tenant_id("bank");
    let all = store.audit(&bank, None, 0, 100).await.unwrap();
    let names: Vec<&str> = all.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["binding.enrolled", "otp.failed", "otp.verified"]);
    let alice = store
        .audit(&bank, Some(&user("alice")), 0, 100)
        .await
        .unwrap();
    assert_eq!(alice.iter().map(|e| e.seq).collect::<Vec<_>>(), [a1, a2]);
    assert_eq!(alice[1].at.unix_timestamp(), NOW + 3);
    assert_eq!(alice[1].detail, json!({ "reason": "otp.verified" }));
    assert_eq!(alice[1].credential_id.as_ref(), Some(&cred.id));
    let after = store
        .audit(&bank, Some(&user("alice")), a1, 100)
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(store.audit(&bank, None, 0, 2).await.unwrap().len(), 2);
}
