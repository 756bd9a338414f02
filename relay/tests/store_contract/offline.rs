//! Offline challenges (RFC 6287 OCRA offline codes): kept whole, read per tenant, used
//! once and never after their deadline, whichever of several writers tries.

use std::sync::Arc;

use onepush_protocol::{ChallengeId, ChallengeKind, Context};
use onepush_relay::store::{OfflineRecord, Store, StoreError};
use serde_json::json;

use super::records::{NOW, credential, seeded, tenant, tenant_id, user};

fn offline(cred: &onepush_protocol::CredentialId) -> OfflineRecord {
    OfflineRecord {
        id: ChallengeId::new(),
        tenant_id: tenant_id("bank"),
        user_id: user("alice"),
        credential_id: cred.clone(),
        kind: ChallengeKind::Transaction,
        context: Context::from_value(json!({ "amount": "120000", "currency": "JPY",
            "payee_name": "サトウ", "payee_account": "0001-001-1234567" }))
        .unwrap(),
        nonce: "AAECAwQFBgcICQoLDA0ODw".into(),
        created_at: NOW,
        expires_at: NOW + 300,
        used_at: None,
    }
}

pub async fn an_offline_challenge_keeps_every_field_and_only_its_tenant_reads_it(
    store: Arc<Store>,
) {
    let cred = seeded(&store).await;
    let c = offline(&cred.id);
    store.insert_offline(&c).await.unwrap();
    assert_eq!(store.offline(&c.tenant_id, &c.id).await.unwrap(), c);
    assert!(matches!(
        store.insert_offline(&c).await,
        Err(StoreError::Conflict)
    ));
    store
        .insert_tenant(&tenant("other"), &[8; 32])
        .await
        .unwrap();
    assert!(matches!(
        store.offline(&tenant_id("other"), &c.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.offline(&c.tenant_id, &ChallengeId::new()).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn an_offline_challenge_is_used_once_and_never_after_its_deadline(store: Arc<Store>) {
    let cred = seeded(&store).await;
    let c = offline(&cred.id);
    store.insert_offline(&c).await.unwrap();
    assert!(store.use_offline(&c.id, NOW + 10).await.unwrap());
    assert!(
        !store.use_offline(&c.id, NOW + 11).await.unwrap(),
        "used twice"
    );
    let back = store.offline(&c.tenant_id, &c.id).await.unwrap();
    assert_eq!(back.used_at, Some(NOW + 10));

    let late = offline(&cred.id);
    store.insert_offline(&late).await.unwrap();
    assert!(
        !store.use_offline(&late.id, late.expires_at).await.unwrap(),
        "used at its deadline"
    );
    assert_eq!(
        store
            .offline(&late.tenant_id, &late.id)
            .await
            .unwrap()
            .used_at,
        None
    );
    assert!(
        store
            .use_offline(&late.id, late.expires_at - 1)
            .await
            .unwrap()
    );
    assert!(!store.use_offline(&ChallengeId::new(), NOW).await.unwrap());
}

pub async fn concurrent_uses_of_one_offline_challenge_have_one_winner(store: Arc<Store>) {
    let cred = seeded(&store).await;
    let c = offline(&cred.id);
    store.insert_offline(&c).await.unwrap();
    let tries = (0..8).map(|i| {
        let store = store.clone();
        let id = c.id;
        tokio::spawn(async move { store.use_offline(&id, NOW + i).await.unwrap() })
    });
    let wins = futures::future::join_all(tries)
        .await
        .into_iter()
        .filter(|won| *won.as_ref().unwrap())
        .count();
    assert_eq!(wins, 1);
}

pub async fn a_credential_without_an_ocra_key_reads_back_without_one(store: Arc<Store>) {
    let mut old = credential();
    old.ocra_key_sealed = None;
    store.insert_credential(&old).await.unwrap();
    assert_eq!(store.credential(&old.id).await.unwrap(), old);
    let new = credential();
    store.insert_credential(&new).await.unwrap();
    assert_eq!(
        store.credential(&new.id).await.unwrap().ocra_key_sealed,
        Some(vec![9, 8, 7, 0])
    );
}
