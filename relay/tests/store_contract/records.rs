//! Records the contract tests store, and a seeded store.

use onepush_protocol::api::{BindingState, DecisionRecord, TokenKind};
use onepush_protocol::{
    ChallengeId, ChallengeKind, ChallengeStatus, Context, CredentialId, DecisionVerdict, DeviceKey,
    PushKeys, PushSubscription, TenantId, UserId,
};
use onepush_relay::store::{
    Admit, BindingRecord, ChallengeRecord, CredentialRecord, NewAudit, OutboxMessage, SealedSecret,
    Store, StoreError, TenantRecord,
};
use serde_json::json;

pub const NOW: i64 = 1_770_000_000;

/// An insert's admission with at most `most` pending challenges and no push-fatigue rule.
pub fn limit(most: u32) -> Admit {
    Admit {
        max_pending: Some(most),
        refusals: None,
    }
}

pub fn tenant_id(slug: &str) -> TenantId {
    slug.parse().unwrap()
}

pub fn user(name: &str) -> UserId {
    name.parse().unwrap()
}

pub fn tenant(slug: &str) -> TenantRecord {
    TenantRecord {
        id: tenant_id(slug),
        display_name: format!("Bank {slug}"),
        webhook_url: Some(format!("https://{slug}.example/hook")),
        webhook_secret: Some(SealedSecret(b"sealed whsec_c2VjcmV0".to_vec())),
        otp_lock_threshold: 5,
        push_fatigue_threshold: 3,
        push_fatigue_window_seconds: 600,
        created_at: NOW,
    }
}

pub fn subscription() -> PushSubscription {
    PushSubscription {
        endpoint: "https://push.example/send/abc".into(),
        keys: PushKeys {
            p256dh: "BPz".into(),
            auth: "YXV0aA".into(),
        },
    }
}

pub fn credential() -> CredentialRecord {
    CredentialRecord {
        id: CredentialId::generate(CredentialId::DEFAULT_PREFIX).unwrap(),
        jwk: DeviceKey::generate().public_jwk(),
        totp_secret_sealed: vec![1, 2, 3, 250],
        ocra_key_sealed: Some(vec![9, 8, 7, 0]),
        push_subscription: Some(subscription().into()),
        kind: TokenKind::Push,
        last_used_step: None,
        revoked_at: None,
        created_at: NOW,
    }
}

pub fn binding(tenant: &str, name: &str, cred: &CredentialId) -> BindingRecord {
    BindingRecord {
        tenant_id: tenant_id(tenant),
        user_id: user(name),
        credential_id: cred.clone(),
        kind: TokenKind::Push,
        state: BindingState::Active,
        lock_reason: None,
        grace_until: None,
        failures: 0,
        drift_steps: 0,
        enrolled_at: NOW,
    }
}

pub fn challenge(tenant: &str, cred: &CredentialId, expires_at: i64) -> ChallengeRecord {
    ChallengeRecord {
        id: ChallengeId::new(),
        tenant_id: tenant_id(tenant),
        user_id: user("alice"),
        credential_id: cred.clone(),
        kind: ChallengeKind::Transaction,
        context: Context::from_value(
            json!({ "amount": "120000", "currency": "JPY", "payee": "Sato" }),
        )
        .unwrap(),
        number: Some(42),
        nonce: "bm9uY2U".into(),
        status: ChallengeStatus::Pending,
        created_at: NOW,
        expires_at,
        decided_at: None,
        reached_device: false,
        decision: None,
    }
}

pub fn decision(cred: &CredentialId) -> DecisionRecord {
    DecisionRecord {
        jws: "eyJhbGciOiJFUzI1NiJ9.e30.c2ln".into(),
        credential_id: cred.clone(),
        verdict: DecisionVerdict::Approve,
        reason: None,
        user_verified: true,
    }
}

pub fn webhook(id: &str, tenant: &str) -> OutboxMessage {
    OutboxMessage {
        id: id.into(),
        tenant_id: tenant_id(tenant),
        body: br#"{"type":"challenge.decided"}"#.to_vec(),
        created_at: NOW,
        attempts: 0,
    }
}

/// A tenant `bank` and a credential bound to its user `alice`.
pub async fn seeded(store: &Store) -> CredentialRecord {
    store
        .insert_tenant(&tenant("bank"), &[7; 32])
        .await
        .unwrap();
    let cred = credential();
    store.insert_credential(&cred).await.unwrap();
    // Audited relay-wide, so that the tenant's log starts empty.
    let alice = binding("bank", "alice", &cred.id);
    let mut audit = audit_of(&alice, "binding.enrolled");
    audit.tenant_id = None;
    store.insert_binding(&alice, &audit).await.unwrap();
    cred
}

/// Binds `b`'s user as enrollment does (with its audit event).
pub async fn bind(store: &Store, b: &BindingRecord) -> Result<(), StoreError> {
    store
        .insert_binding(b, &audit_of(b, "binding.enrolled"))
        .await
}

/// An audit event about binding `b`.
pub fn audit_of(b: &BindingRecord, event: &str) -> NewAudit {
    NewAudit {
        tenant_id: Some(b.tenant_id.clone()),
        event: event.into(),
        user_id: Some(b.user_id.clone()),
        credential_id: Some(b.credential_id.clone()),
        challenge_id: None,
        detail: json!({}),
    }
}

/// Inserts one of alice's challenges (at `bank`, to `cred`) per `(status, at)` and ends
/// it with that status at that time.
pub async fn ended_challenges(store: &Store, cred: &CredentialId, ends: &[(ChallengeStatus, i64)]) {
    for &(status, at) in ends {
        let ch = challenge("bank", cred, NOW + 60);
        store.insert_challenge(&ch, None).await.unwrap();
        store
            .finish_challenge(&ch.id, status, at, None, None)
            .await
            .unwrap();
    }
}
