//! Binding changes as conditional statements (issue 22): exact counts under concurrency,
//! no stale write back to `active`, prompts ended with the change, approvals and inserts
//! only while the binding is active, enrollment attempts counted per credential.

use std::sync::Arc;

use onepush_protocol::api::BindingState;
use onepush_protocol::{ChallengeStatus, CredentialId};
use onepush_relay::store::{
    Admission, Admit, BindingChange, BindingRecord, ChallengeRecord, EndPrompts, NewAudit,
    OtpFailure, Store, StoreError,
};
use serde_json::json;

use super::records::{
    NOW, audit_of, bind, binding, challenge, credential, decision, limit, seeded, tenant_id, user,
    webhook,
};

/// Ends prompts with an audit event naming `reason` and no webhook.
pub fn no_prompts() -> EndPrompts {
    prompts("test", None, false)
}

/// Ends prompts with a `challenge.cancelled` audit event (detail `reason`) and, with
/// `webhooks`, a webhook `w-<challenge id>` each; `spare` left pending.
fn prompts(
    reason: &'static str,
    spare: Option<onepush_protocol::ChallengeId>,
    webhooks: bool,
) -> EndPrompts {
    EndPrompts {
        spare,
        notice: Arc::new(move |ch: &ChallengeRecord| {
            (
                webhooks.then(|| webhook(&format!("w-{}", ch.id), "bank")),
                NewAudit {
                    tenant_id: Some(ch.tenant_id.clone()),
                    event: "challenge.cancelled".into(),
                    user_id: Some(ch.user_id.clone()),
                    credential_id: Some(ch.credential_id.clone()),
                    challenge_id: Some(ch.id),
                    detail: json!({ "reason": reason }),
                },
            )
        }),
    }
}

pub fn lock(b: &BindingRecord, reason: &str) -> BindingChange {
    BindingChange {
        tenant_id: b.tenant_id.clone(),
        user_id: b.user_id.clone(),
        credential_id: Some(b.credential_id.clone()),
        from: vec![BindingState::Active],
        to: BindingState::Locked,
        lock_reason: Some(reason.into()),
        grace_until: None,
        audit: audit_of(b, "binding.locked"),
    }
}

async fn state_of(store: &Store, b: &BindingRecord) -> BindingRecord {
    store.binding(&b.tenant_id, &b.user_id).await.unwrap()
}

pub async fn concurrent_enrollments_of_one_user_admit_one(store: Arc<Store>) {
    let cred = seeded(store.as_ref()).await;
    let mut creds = vec![cred.id.clone()];
    for _ in 0..9 {
        let c = credential();
        store.insert_credential(&c).await.unwrap();
        creds.push(c.id);
    }
    // Bob, ten phones at once.
    let tasks: Vec<_> = creds
        .iter()
        .map(|id| {
            let (store, b) = (store.clone(), binding("bank", "bob", id));
            tokio::spawn(async move { bind(store.as_ref(), &b).await })
        })
        .collect();
    let (mut won, mut refused) = (Vec::new(), 0);
    for (task, id) in tasks.into_iter().zip(&creds) {
        match task.await.unwrap() {
            Ok(()) => won.push(id.clone()),
            Err(StoreError::Conflict) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((won.len(), refused), (1, 9));
    let bob = store
        .binding(&tenant_id("bank"), &user("bob"))
        .await
        .unwrap();
    assert_eq!(bob.credential_id, won[0]);
    let enrolled = store
        .audit(&tenant_id("bank"), Some(&user("bob")), 0, 100)
        .await
        .unwrap();
    assert_eq!(enrolled.len(), 1, "only the winner's audit event");
}

pub async fn concurrent_wrong_codes_lock_at_exactly_five(store: Arc<Store>) {
    let cred = seeded(store.as_ref()).await;
    let alice = binding("bank", "alice", &cred.id);
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let (store, b) = (store.clone(), alice.clone());
            tokio::spawn(async move {
                store
                    .record_otp_failure(&b, 5, NOW, &audit_of(&b, "binding.locked"), &no_prompts())
                    .await
                    .unwrap()
            })
        })
        .collect();
    let (mut counted, mut locked, mut refused) = (Vec::new(), 0, 0);
    for task in tasks {
        match task.await.unwrap() {
            OtpFailure::Counted(n) => counted.push(n),
            OtpFailure::Locked { failures, .. } => {
                assert_eq!(failures, 5);
                locked += 1;
            }
            OtpFailure::NotActive => refused += 1,
        }
    }
    counted.sort_unstable();
    assert_eq!(counted, [1, 2, 3, 4], "each failure saw its own count");
    assert_eq!((locked, refused), (1, 195));
    let now = state_of(store.as_ref(), &alice).await;
    assert_eq!(
        (now.state, now.failures, now.lock_reason.as_deref()),
        (BindingState::Locked, 5, Some("otp_failures"))
    );
}

pub async fn a_stale_write_cannot_reactivate_a_locked_binding(store: Arc<Store>) {
    let cred = seeded(store.as_ref()).await;
    let alice = binding("bank", "alice", &cred.id);
    // Read as active with failures, then locked by another request.
    store
        .record_otp_failure(&alice, 5, NOW, &audit_of(&alice, "x"), &no_prompts())
        .await
        .unwrap();
    store
        .change_binding(&lock(&alice, "not_me"), NOW, &no_prompts())
        .await
        .unwrap()
        .expect("locked");
    // What the stale request would write now changes nothing.
    assert!(!store.reset_otp_failures(&alice, Some(3)).await.unwrap());
    assert_eq!(
        store
            .record_otp_failure(&alice, 5, NOW, &audit_of(&alice, "x"), &no_prompts())
            .await
            .unwrap(),
        OtpFailure::NotActive
    );
    let suspend = BindingChange {
        to: BindingState::Suspended,
        lock_reason: None,
        ..lock(&alice, "")
    };
    assert_eq!(
        store
            .change_binding(&suspend, NOW, &no_prompts())
            .await
            .unwrap(),
        None
    );
    let now = state_of(store.as_ref(), &alice).await;
    assert_eq!(
        (
            now.state,
            now.lock_reason.as_deref(),
            now.failures,
            now.drift_steps
        ),
        (BindingState::Locked, Some("not_me"), 1, 0)
    );
    // Unlocking is a change from `locked`: failures start again.
    let unlock = BindingChange {
        from: vec![BindingState::Locked],
        to: BindingState::Active,
        lock_reason: None,
        ..lock(&alice, "")
    };
    let done = store
        .change_binding(&unlock, NOW, &no_prompts())
        .await
        .unwrap()
        .expect("unlocked");
    assert_eq!(
        (
            done.binding.state,
            done.binding.failures,
            done.binding.lock_reason
        ),
        (BindingState::Active, 0, None)
    );
    // A change bound to another credential does not apply to this binding.
    let stranger = CredentialId::generate("ONEP").unwrap();
    let mut other = lock(&alice, "not_me");
    other.credential_id = Some(stranger);
    assert_eq!(
        store
            .change_binding(&other, NOW, &no_prompts())
            .await
            .unwrap(),
        None
    );
}

pub async fn a_binding_leaving_active_ends_its_pending_prompts_with_webhook_and_audit(
    store: Arc<Store>,
) {
    let cred = seeded(store.as_ref()).await;
    let alice = binding("bank", "alice", &cred.id);
    let pending: Vec<_> = (0..3)
        .map(|_| challenge("bank", &cred.id, NOW + 60))
        .collect();
    for ch in &pending {
        store.insert_challenge(ch, None).await.unwrap();
    }
    let overdue = challenge("bank", &cred.id, NOW + 5);
    store.insert_challenge(&overdue, None).await.unwrap();
    // The one being answered "not me" is spared (it ends denied by its own decision).
    let spared = pending[0].id;
    let done = store
        .change_binding(
            &lock(&alice, "not_me"),
            NOW + 10,
            &prompts("not_me", Some(spared), true),
        )
        .await
        .unwrap()
        .expect("locked");
    let mut ended: Vec<_> = done.ended.iter().map(|c| c.id).collect();
    ended.sort_unstable();
    let mut expected = vec![pending[1].id, pending[2].id];
    expected.sort_unstable();
    assert_eq!(ended, expected);
    for ch in &done.ended {
        assert_eq!(
            (ch.status, ch.decided_at),
            (ChallengeStatus::Cancelled, Some(NOW + 10))
        );
        assert_eq!(&store.challenge(&ch.id).await.unwrap(), ch);
    }
    assert_eq!(
        store.challenge(&spared).await.unwrap().status,
        ChallengeStatus::Pending
    );
    // The overdue one is left to the deadline.
    assert_eq!(
        store.challenge(&overdue.id).await.unwrap().status,
        ChallengeStatus::Pending
    );
    let mut queued: Vec<String> = store
        .claim_webhooks(NOW + 10, 60, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    queued.sort_unstable();
    let mut want: Vec<String> = expected.iter().map(|id| format!("w-{id}")).collect();
    want.sort_unstable();
    assert_eq!(queued, want);
    let events: Vec<String> = store
        .audit(&tenant_id("bank"), Some(&user("alice")), 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| format!("{} {}", e.event, e.detail["reason"]))
        .collect();
    assert_eq!(
        events,
        [
            "binding.locked null",
            "challenge.cancelled \"not_me\"",
            "challenge.cancelled \"not_me\""
        ]
    );
}

pub async fn the_otp_lock_ends_the_pending_prompts_in_its_transaction(store: Arc<Store>) {
    let cred = seeded(store.as_ref()).await;
    let alice = binding("bank", "alice", &cred.id);
    let ch = challenge("bank", &cred.id, NOW + 60);
    store.insert_challenge(&ch, None).await.unwrap();
    let fail = || async {
        store
            .record_otp_failure(
                &alice,
                2,
                NOW + 1,
                &audit_of(&alice, "binding.locked"),
                &prompts("otp_failures", None, false),
            )
            .await
            .unwrap()
    };
    assert_eq!(fail().await, OtpFailure::Counted(1));
    assert_eq!(
        store.challenge(&ch.id).await.unwrap().status,
        ChallengeStatus::Pending
    );
    let OtpFailure::Locked { failures, ended } = fail().await else {
        panic!("the second failure locks");
    };
    assert_eq!((failures, ended.len()), (2, 1));
    assert_eq!(ended[0].id, ch.id);
    assert_eq!(
        store.challenge(&ch.id).await.unwrap().status,
        ChallengeStatus::Cancelled
    );
}

pub async fn a_challenge_is_only_inserted_while_its_binding_is_active(store: Arc<Store>) {
    let cred = seeded(store.as_ref()).await;
    let alice = binding("bank", "alice", &cred.id);
    // To another credential than the one bound: refused, with the binding read.
    let stranger = credential();
    store.insert_credential(&stranger).await.unwrap();
    let elsewhere = challenge("bank", &stranger.id, NOW + 60);
    assert!(matches!(
        store
            .insert_challenge_audited(&elsewhere, None, None, Admit::default())
            .await
            .unwrap(),
        Admission::Refused { gate, pending: 0 } if gate.binding.credential_id == cred.id
    ));
    // For a user with no binding: refused.
    let mut nobody = challenge("bank", &cred.id, NOW + 60);
    nobody.user_id = user("nobody");
    assert_eq!(
        store
            .insert_challenge_audited(&nobody, None, None, limit(5))
            .await
            .unwrap(),
        Admission::NoBinding
    );
    // Suspended: refused, and no idempotency key kept.
    let suspend = BindingChange {
        to: BindingState::Suspended,
        lock_reason: None,
        ..lock(&alice, "")
    };
    store
        .change_binding(&suspend, NOW, &no_prompts())
        .await
        .unwrap()
        .expect("suspended");
    let ch = challenge("bank", &cred.id, NOW + 60);
    assert!(matches!(
        store
            .insert_challenge_audited(&ch, Some(("k", &[1; 32])), None, limit(5))
            .await
            .unwrap(),
        Admission::Refused { gate, .. } if gate.binding.state == BindingState::Suspended
    ));
    assert!(matches!(
        store.challenge(&ch.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .idempotent_challenge(&tenant_id("bank"), "k")
            .await
            .unwrap(),
        None
    );
}

pub async fn no_challenge_created_during_a_suspend_outlives_it(store: Arc<Store>) {
    let cred = seeded(store.as_ref()).await;
    let alice = binding("bank", "alice", &cred.id);
    let creates: Vec<_> = (0..30)
        .map(|_| {
            let (store, ch) = (store.clone(), challenge("bank", &cred.id, NOW + 60));
            tokio::spawn(async move {
                let admitted = store
                    .insert_challenge_audited(&ch, None, None, limit(100))
                    .await
                    .unwrap();
                (ch.id, admitted)
            })
        })
        .collect();
    let suspend = BindingChange {
        to: BindingState::Suspended,
        lock_reason: None,
        ..lock(&alice, "")
    };
    let changed = store
        .change_binding(&suspend, NOW, &no_prompts())
        .await
        .unwrap()
        .expect("suspended");
    let ended: Vec<_> = changed.ended.iter().map(|c| c.id).collect();
    for task in creates {
        let (id, admitted) = task.await.unwrap();
        let now = store.challenge(&id).await;
        match admitted {
            // Inserted before the change: the change ended it.
            Admission::Admitted(_) => {
                assert_eq!(now.unwrap().status, ChallengeStatus::Cancelled);
                assert!(ended.contains(&id));
            }
            // After it: nothing written.
            Admission::Refused { gate, pending } => {
                assert!(pending < 100, "limit 100 reached");
                assert_eq!(gate.binding.state, BindingState::Suspended);
                assert!(matches!(now, Err(StoreError::NotFound)));
            }
            Admission::NoBinding => panic!("alice's binding is kept"),
        }
    }
    assert_eq!(
        store
            .pending_count_for_user(&tenant_id("bank"), &user("alice"), NOW)
            .await
            .unwrap(),
        0
    );
}

pub async fn an_approval_needs_the_binding_active_and_bound_to_the_signer(store: Arc<Store>) {
    let cred = seeded(store.as_ref()).await;
    let alice = binding("bank", "alice", &cred.id);
    let ch = challenge("bank", &cred.id, NOW + 60);
    store.insert_challenge(&ch, None).await.unwrap();
    // Signed by another credential: not an approval.
    let stranger = CredentialId::generate("ONEP").unwrap();
    assert!(
        !store
            .finish_challenge(
                &ch.id,
                ChallengeStatus::Approved,
                NOW + 1,
                Some(&decision(&stranger)),
                None
            )
            .await
            .unwrap()
    );
    // Locked a moment ago (this challenge spared, as a concurrent answer would find it):
    // the approval is refused in its own statement, and nothing is queued.
    store
        .change_binding(
            &lock(&alice, "not_me"),
            NOW + 1,
            &prompts("x", Some(ch.id), false),
        )
        .await
        .unwrap()
        .expect("locked");
    assert!(
        !store
            .finish_challenge(
                &ch.id,
                ChallengeStatus::Approved,
                NOW + 2,
                Some(&decision(&cred.id)),
                Some(&webhook("w-approve", "bank"))
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.challenge(&ch.id).await.unwrap().status,
        ChallengeStatus::Pending
    );
    assert_eq!(store.claim_webhooks(NOW + 2, 60, 10).await.unwrap(), []);
    // A denial still ends it.
    assert!(
        store
            .finish_challenge(&ch.id, ChallengeStatus::Denied, NOW + 2, None, None)
            .await
            .unwrap()
    );
}

pub async fn a_decision_ends_nothing_once_its_signer_is_revoked(store: Arc<Store>) {
    let cred = seeded(store.as_ref()).await;
    let [approved, denied, mismatched, cancelled] =
        std::array::from_fn(|_| challenge("bank", &cred.id, NOW + 60));
    for ch in [&approved, &denied, &mismatched, &cancelled] {
        store.insert_challenge(ch, None).await.unwrap();
    }
    // Revoked a moment ago (maybe through another relay), after its signature was
    // verified: no end its decision asks for is made, and nothing is queued.
    store.revoke_credential(&cred.id, NOW + 1).await.unwrap();
    for (ch, status) in [
        (&approved, ChallengeStatus::Approved),
        (&denied, ChallengeStatus::Denied),
        (&mismatched, ChallengeStatus::CredentialMismatch),
    ] {
        assert!(
            !store
                .finish_challenge(
                    &ch.id,
                    status,
                    NOW + 2,
                    Some(&decision(&cred.id)),
                    Some(&webhook(&format!("w-{status}"), "bank"))
                )
                .await
                .unwrap(),
            "{status}"
        );
        assert_eq!(
            store.challenge(&ch.id).await.unwrap().status,
            ChallengeStatus::Pending,
            "{status}"
        );
    }
    assert_eq!(store.claim_webhooks(NOW + 2, 60, 10).await.unwrap(), []);
    // An end no device's decision asks for (a cancel, the deadline) is still made.
    assert!(
        store
            .finish_challenge(
                &cancelled.id,
                ChallengeStatus::Cancelled,
                NOW + 2,
                None,
                None
            )
            .await
            .unwrap()
    );
}

pub async fn enrollment_attempts_lock_a_credential_for_a_while(store: Arc<Store>) {
    let cred = credential();
    store.insert_credential(&cred).await.unwrap();
    let take = |now| {
        let (store, id) = (store.clone(), cred.id.clone());
        async move {
            store
                .take_enrollment_attempt(&id, 3, 100, now)
                .await
                .unwrap()
        }
    };
    // Three attempts, then locked for 100 s from the third.
    assert!(take(NOW).await && take(NOW + 1).await && take(NOW + 2).await);
    assert!(!take(NOW + 3).await);
    assert!(!take(NOW + 101).await);
    // Then three more, and locked again.
    assert!(take(NOW + 102).await && take(NOW + 103).await && take(NOW + 104).await);
    assert!(!take(NOW + 105).await);
    // A successful enrollment clears the count and the lock.
    store
        .insert_tenant(&super::records::tenant("bank"), &[7; 32])
        .await
        .unwrap();
    bind(store.as_ref(), &binding("bank", "alice", &cred.id))
        .await
        .unwrap();
    assert!(take(NOW + 106).await && take(NOW + 107).await && take(NOW + 108).await);
    assert!(!take(NOW + 109).await);
    // An unknown credential has no attempts to take.
    let unknown = CredentialId::generate("ONEP").unwrap();
    assert!(
        !store
            .take_enrollment_attempt(&unknown, 3, 100, NOW)
            .await
            .unwrap()
    );
}

pub async fn concurrent_enrollment_attempts_are_counted_exactly(store: Arc<Store>) {
    let cred = credential();
    store.insert_credential(&cred).await.unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (store, id) = (store.clone(), cred.id.clone());
            tokio::spawn(async move { store.take_enrollment_attempt(&id, 5, 900, NOW).await })
        })
        .collect();
    let mut admitted = 0;
    for task in tasks {
        admitted += usize::from(task.await.unwrap().unwrap());
    }
    assert_eq!(admitted, 5);
}
