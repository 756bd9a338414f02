//! Token kinds (R10, R11): a credential keeps the kind it was provisioned as, a binding
//! the kind it was enrolled with, and the challenge gate's one read brings the kind.

use std::sync::Arc;

use onepush_protocol::api::{BindingState, TokenKind};
use onepush_relay::store::{BindingChange, Store};

use super::bindings::no_prompts;
use super::records::{NOW, audit_of, bind, binding, credential, tenant, tenant_id, user};

pub async fn a_credential_and_its_binding_keep_their_kind(store: Arc<Store>) {
    store
        .insert_tenant(&tenant("bank"), &[7; 32])
        .await
        .unwrap();
    let pc = credential();
    let pc = onepush_relay::store::CredentialRecord {
        kind: TokenKind::Otp,
        push_subscription: None,
        ..pc
    };
    store.insert_credential(&pc).await.unwrap();
    assert_eq!(store.credential(&pc.id).await.unwrap(), pc);
    let phone = credential();
    store.insert_credential(&phone).await.unwrap();
    assert_eq!(
        store.credential(&phone.id).await.unwrap().kind,
        TokenKind::Push
    );

    let alice = onepush_relay::store::BindingRecord {
        kind: TokenKind::Otp,
        ..binding("bank", "alice", &pc.id)
    };
    bind(store.as_ref(), &alice).await.unwrap();
    assert_eq!(
        store
            .binding(&tenant_id("bank"), &user("alice"))
            .await
            .unwrap(),
        alice
    );
    // The challenge gate: one read, the kind with the binding.
    let gate = store
        .challenge_gate(&tenant_id("bank"), &user("alice"), Some((NOW - 600, 3)))
        .await
        .unwrap()
        .expect("enrolled");
    assert_eq!(gate.binding.kind, TokenKind::Otp);
    assert_eq!(gate.push_subscription, None);
    let listed = store.bindings_of_credential(&pc.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0.kind, TokenKind::Otp);

    // A lifecycle change keeps the kind.
    let change = BindingChange {
        tenant_id: alice.tenant_id.clone(),
        user_id: alice.user_id.clone(),
        credential_id: None,
        from: vec![BindingState::Active],
        to: BindingState::Unregistered,
        lock_reason: None,
        grace_until: None,
        audit: audit_of(&alice, "binding.unregistered"),
    };
    let changed = store
        .change_binding(&change, NOW, &no_prompts())
        .await
        .unwrap()
        .expect("changed");
    assert_eq!(changed.binding.kind, TokenKind::Otp);

    // Enrolling over the unregistered binding takes the new credential's kind.
    let again = binding("bank", "alice", &phone.id);
    assert_eq!(again.kind, TokenKind::Push);
    bind(store.as_ref(), &again).await.unwrap();
    let now = store
        .binding(&tenant_id("bank"), &user("alice"))
        .await
        .unwrap();
    assert_eq!(
        (now.kind, now.credential_id, now.state),
        (TokenKind::Push, phone.id.clone(), BindingState::Active)
    );
    // And a live binding is not replaced, whatever the kind.
    let over = onepush_relay::store::BindingRecord {
        kind: TokenKind::Otp,
        ..binding("bank", "alice", &pc.id)
    };
    assert!(bind(store.as_ref(), &over).await.is_err());
    assert_eq!(
        store
            .binding(&tenant_id("bank"), &user("alice"))
            .await
            .unwrap()
            .kind,
        TokenKind::Push
    );
}
