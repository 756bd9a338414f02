//! Challenges, idempotency keys and the webhook outbox.

use std::sync::Arc;

use onepush_protocol::api::TokenKind;
use onepush_protocol::{ChallengeId, ChallengeStatus};
use onepush_relay::store::{
    Admission, Admit, BindingRecord, ChallengeRecord, CredentialRecord, NewAudit, OutboxMessage,
    OutboxUpdate, Store, StoreError,
};

use super::records::{
    NOW, bind, binding, challenge, credential, decision, ended_challenges, limit, seeded,
    tenant_id, user, webhook,
};

pub async fn a_challenge_keeps_every_field(store: Arc<Store>) {
    let cred = seeded(store.as_ref()).await;
    let mut ch = challenge("bank", &cred.id, NOW + 60);
    ch.reached_device = true;
    store.insert_challenge(&ch, None).await.unwrap();
    assert_eq!(store.challenge(&ch.id).await.unwrap(), ch);
    let plain = ChallengeRecord {
        number: None,
        ..challenge("bank", &cred.id, NOW + 60)
    };
    store.insert_challenge(&plain, None).await.unwrap();
    assert_eq!(store.challenge(&plain.id).await.unwrap(), plain);
    store.mark_reached_device(&plain.id).await.unwrap();
    assert!(store.challenge(&plain.id).await.unwrap().reached_device);
    assert!(matches!(
        store.challenge(&ChallengeId::new()).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn a_decision_reads_its_signer_and_its_challenge_together(store: Arc<Store>) {
    let cred = seeded(store.as_ref()).await;
    let ch = challenge("bank", &cred.id, NOW + 60);
    store.insert_challenge(&ch, None).await.unwrap();
    let (signer, read) = store
        .credential_and_challenge(&cred.id, &ch.id)
        .await
        .unwrap();
    assert_eq!(signer, Some(cred.clone()));
    assert_eq!(read, Some(ch.clone()));
    // Either missing is `None`, the other still read.
    let stranger = onepush_protocol::CredentialId::generate("ONEP").unwrap();
    let (signer, read) = store
        .credential_and_challenge(&stranger, &ch.id)
        .await
        .unwrap();
    assert_eq!((signer, read), (None, Some(ch)));
    let (signer, read) = store
        .credential_and_challenge(&cred.id, &ChallengeId::new())
        .await
        .unwrap();
    assert_eq!((signer, read), (Some(cred), None));
}

pub async fn a_new_challenge_s_checks_are_read_together(store: Arc<Store>) {
    let cred = seeded(store.as_ref()).await;
    let (bank, alice) = (tenant_id("bank"), user("alice"));
    // Two of alice's challenges denied, one pending, one pending but overdue.
    ended_challenges(
        store.as_ref(),
        &cred.id,
        &[
            (ChallengeStatus::Denied, NOW + 1),
            (ChallengeStatus::Denied, NOW + 2),
        ],
    )
    .await;
    let gate = store
        .challenge_gate(&bank, &alice, Some((NOW, 10)))
        .await
        .unwrap()
        .expect("alice is enrolled");
    assert_eq!(gate.binding, store.binding(&bank, &alice).await.unwrap());
    assert_eq!(gate.refusals, [NOW + 2, NOW + 1]);
    assert_eq!(gate.push_subscription, cred.push_subscription);
    // Refusals only when asked for; no push subscription when the credential has none.
    store.set_push_subscription(&cred.id, None).await.unwrap();
    let gate = store
        .challenge_gate(&bank, &alice, None)
        .await
        .unwrap()
        .unwrap();
    assert!(gate.refusals.is_empty());
    assert_eq!(gate.push_subscription, None);
    // Not enrolled: nothing.
    assert_eq!(
        store
            .challenge_gate(&bank, &user("nobody"), Some((NOW, 10)))
            .await
            .unwrap(),
        None
    );
}

pub async fn the_insert_reads_the_gate_and_admits_only_what_it_allows(store: Arc<Store>) {
    let cred = seeded(store.as_ref()).await;
    let (bank, alice) = (tenant_id("bank"), user("alice"));
    ended_challenges(
        store.as_ref(),
        &cred.id,
        &[
            (ChallengeStatus::Denied, NOW + 1),
            (ChallengeStatus::Expired, NOW + 2),
        ],
    )
    .await;
    let fatigue = |limit| Admit {
        max_pending: Some(10),
        refusals: Some((NOW, limit)),
    };
    // Under the push-fatigue limit: inserted, with what the gate read.
    let ch = challenge("bank", &cred.id, NOW + 60);
    let Admission::Admitted(gate) = store
        .insert_challenge_audited(&ch, None, None, fatigue(3))
        .await
        .unwrap()
    else {
        panic!("two refusals of three allowed")
    };
    assert_eq!(gate.binding, store.binding(&bank, &alice).await.unwrap());
    assert_eq!(gate.refusals, [NOW + 2, NOW + 1]);
    assert_eq!(gate.push_subscription, cred.push_subscription);
    // At it: refused, nothing written.
    let locked_out = challenge("bank", &cred.id, NOW + 60);
    let Admission::Refused { gate, pending } = store
        .insert_challenge_audited(&locked_out, Some(("k", &[1; 32])), None, fatigue(2))
        .await
        .unwrap()
    else {
        panic!("two refusals of two allowed")
    };
    assert_eq!((gate.refusals.len(), pending), (2, 1));
    assert!(matches!(
        store.challenge(&locked_out.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.idempotent_challenge(&bank, "k").await.unwrap(), None);
    // A code token's user: refused, whatever the limits.
    let token = CredentialRecord {
        kind: TokenKind::Otp,
        push_subscription: None,
        ..credential()
    };
    store.insert_credential(&token).await.unwrap();
    bind(
        store.as_ref(),
        &BindingRecord {
            kind: TokenKind::Otp,
            ..binding("bank", "bob", &token.id)
        },
    )
    .await
    .unwrap();
    let mut bobs = challenge("bank", &token.id, NOW + 60);
    bobs.user_id = user("bob");
    assert!(matches!(
        store
            .insert_challenge_audited(&bobs, None, None, Admit::default())
            .await
            .unwrap(),
        Admission::Refused { gate, .. } if gate.binding.kind == TokenKind::Otp
    ));
    assert!(matches!(
        store.challenge(&bobs.id).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn the_pending_limit_is_checked_by_the_insert_itself(store: Arc<Store>) {
    let cred = seeded(store.as_ref()).await;
    let (bank, alice) = (tenant_id("bank"), user("alice"));
    // Created at NOW + 10: one pending, one overdue by then, one ended.
    let later = |expires_at| ChallengeRecord {
        created_at: NOW + 10,
        ..challenge("bank", &cred.id, expires_at)
    };
    store
        .insert_challenge(&challenge("bank", &cred.id, NOW + 60), None)
        .await
        .unwrap();
    store
        .insert_challenge(&challenge("bank", &cred.id, NOW + 5), None)
        .await
        .unwrap();
    ended_challenges(
        store.as_ref(),
        &cred.id,
        &[(ChallengeStatus::Denied, NOW + 1)],
    )
    .await;
    let audit = |ch: &ChallengeRecord| NewAudit {
        tenant_id: Some(bank.clone()),
        event: "challenge.created".into(),
        user_id: Some(alice.clone()),
        credential_id: Some(cred.id.clone()),
        challenge_id: Some(ch.id),
        detail: serde_json::json!({}),
    };
    // At the limit (1 pending): nothing written, neither the key nor the audit event.
    let refused = later(NOW + 60);
    assert!(matches!(
        store
            .insert_challenge_audited(
                &refused,
                Some(("k-1", &[1; 32])),
                Some(&audit(&refused)),
                limit(1)
            )
            .await
            .unwrap(),
        Admission::Refused { pending: 1, .. }
    ));
    assert!(matches!(
        store.challenge(&refused.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.idempotent_challenge(&bank, "k-1").await.unwrap(),
        None
    );
    let events = store.audit(&bank, Some(&alice), 0, 100).await.unwrap();
    assert!(events.iter().all(|e| e.challenge_id != Some(refused.id)));
    // Under it, written; without a limit, never counted.
    assert!(matches!(
        store
            .insert_challenge_audited(&refused, Some(("k-1", &[1; 32])), None, limit(2))
            .await
            .unwrap(),
        Admission::Admitted(_)
    ));
    assert_eq!(
        store.idempotent_challenge(&bank, "k-1").await.unwrap(),
        Some((refused.id, vec![1; 32]))
    );
    store
        .insert_challenge(&later(NOW + 60), None)
        .await
        .unwrap();
    assert_eq!(
        store
            .pending_count_for_user(&bank, &alice, NOW + 10)
            .await
            .unwrap(),
        3
    );
    // Creates at the same moment for one user (as through several relays): the limit
    // holds, exactly.
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let (store, ch) = (store.clone(), later(NOW + 60));
            tokio::spawn(async move {
                store
                    .insert_challenge_audited(&ch, None, None, limit(6))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut admitted = 0;
    for racer in racers {
        admitted += usize::from(matches!(racer.await.unwrap(), Admission::Admitted(_)));
    }
    assert_eq!(admitted, 3);
    assert_eq!(
        store
            .pending_count_for_user(&bank, &alice, NOW + 10)
            .await
            .unwrap(),
        6
    );
}

pub async fn an_idempotency_key_keeps_pointing_at_the_first_challenge(store: Arc<Store>) {
    let cred = seeded(store.as_ref()).await;
    let first = challenge("bank", &cred.id, NOW + 60);
    store
        .insert_challenge(&first, Some(("order-1", &[5; 32])))
        .await
        .unwrap();
    let second = challenge("bank", &cred.id, NOW + 60);
    assert!(matches!(
        store
            .insert_challenge(&second, Some(("order-1", &[6; 32])))
            .await,
        Err(StoreError::Conflict)
    ));
    // The losing insert left nothing behind.
    assert!(matches!(
        store.challenge(&second.id).await,
        Err(StoreError::NotFound)
    ));
    let bank = tenant_id("bank");
    assert_eq!(
        store.idempotent_challenge(&bank, "order-1").await.unwrap(),
        Some((first.id, vec![5; 32]))
    );
    assert_eq!(
        store.idempotent_challenge(&bank, "order-2").await.unwrap(),
        None
    );
}

pub async fn a_challenge_ends_once_and_only_the_winner_queues_its_webhook(store: Arc<Store>) {
    let cred = seeded(store.as_ref()).await;
    let ch = challenge("bank", &cred.id, NOW + 60);
    store.insert_challenge(&ch, None).await.unwrap();
    let d = decision(&cred.id);
    let first = webhook(&format!("msg_{}", ch.id), "bank");
    let ended = store
        .finish_challenge(
            &ch.id,
            ChallengeStatus::Approved,
            NOW + 3,
            Some(&d),
            Some(&first),
        )
        .await
        .unwrap();
    assert!(ended);
    let late = webhook("msg_late", "bank");
    let again = store
        .finish_challenge(
            &ch.id,
            ChallengeStatus::Cancelled,
            NOW + 4,
            None,
            Some(&late),
        )
        .await
        .unwrap();
    assert!(!again);
    let stored = store.challenge(&ch.id).await.unwrap();
    assert_eq!(
        (stored.status, stored.decided_at, stored.decision),
        (ChallengeStatus::Approved, Some(NOW + 3), Some(d))
    );
    let queued = store.claim_webhooks(NOW + 3, 60, 10).await.unwrap();
    assert_eq!(queued, [first], "the loser's webhook is not queued");
}

pub async fn concurrent_ends_of_one_challenge_have_exactly_one_winner(store: Arc<Store>) {
    let cred = seeded(store.as_ref()).await;
    for _ in 0..5 {
        let ch = challenge("bank", &cred.id, NOW + 60);
        store.insert_challenge(&ch, None).await.unwrap();
        let racers: Vec<_> = [ChallengeStatus::Approved, ChallengeStatus::Denied]
            .into_iter()
            .cycle()
            .take(6)
            .enumerate()
            .map(|(i, status)| {
                let store = store.clone();
                let message = webhook(&format!("msg_{}_{i}", ch.id), "bank");
                tokio::spawn(async move {
                    store
                        .finish_challenge(&ch.id, status, NOW + 1, None, Some(&message))
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut winners = 0;
        for racer in racers {
            winners += usize::from(racer.await.unwrap());
        }
        assert_eq!(winners, 1);
    }
    assert_eq!(
        store.claim_webhooks(NOW + 1, 60, 100).await.unwrap().len(),
        5
    );
}

pub async fn pending_and_overdue_challenges_are_listed_in_order(store: Arc<Store>) {
    let cred = seeded(store.as_ref()).await;
    let late = challenge("bank", &cred.id, NOW + 30);
    let mut early = challenge("bank", &cred.id, NOW + 10);
    early.created_at = NOW - 1;
    let ended = challenge("bank", &cred.id, NOW + 5);
    for ch in [&late, &early, &ended] {
        store.insert_challenge(ch, None).await.unwrap();
    }
    store
        .finish_challenge(&ended.id, ChallengeStatus::Denied, NOW + 1, None, None)
        .await
        .unwrap();
    let ids = |list: Vec<ChallengeRecord>| list.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.pending_for_credential(&cred.id).await.unwrap()),
        [early.id, late.id]
    );
    let (bank, alice) = (tenant_id("bank"), user("alice"));
    assert_eq!(
        store
            .pending_count_for_user(&bank, &alice, NOW)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .pending_count_for_user(&bank, &alice, NOW + 10)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        ids(store.overdue_challenges(NOW + 9, 10).await.unwrap()),
        []
    );
    assert_eq!(
        ids(store.overdue_challenges(NOW + 10, 10).await.unwrap()),
        [early.id]
    );
    assert_eq!(
        ids(store.overdue_challenges(NOW + 99, 10).await.unwrap()),
        [early.id, late.id]
    );
    assert_eq!(
        ids(store.overdue_challenges(NOW + 99, 1).await.unwrap()),
        [early.id]
    );
}

pub async fn a_claimed_webhook_is_leased_until_its_attempt_is_recorded(store: Arc<Store>) {
    seeded(store.as_ref()).await;
    store
        .enqueue_webhook(&webhook("msg_1", "bank"), NOW)
        .await
        .unwrap();
    store
        .enqueue_webhook(&webhook("msg_2", "bank"), NOW + 10)
        .await
        .unwrap();
    let claimed = store.claim_webhooks(NOW, 60, 10).await.unwrap();
    assert_eq!(claimed, [webhook("msg_1", "bank")], "msg_2 is not due");
    assert_eq!(store.claim_webhooks(NOW + 1, 60, 10).await.unwrap(), []);
    // A relay that died holding the lease: the message is handed out again after it.
    let ids = |list: Vec<OutboxMessage>| list.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.claim_webhooks(NOW + 60, 60, 10).await.unwrap()),
        ["msg_1", "msg_2"]
    );
    store
        .webhook_attempted("msg_1", OutboxUpdate::RetryAt(NOW + 300))
        .await
        .unwrap();
    store
        .webhook_attempted("msg_2", OutboxUpdate::Delivered)
        .await
        .unwrap();
    assert_eq!(store.claim_webhooks(NOW + 299, 60, 10).await.unwrap(), []);
    let retried = store.claim_webhooks(NOW + 300, 60, 10).await.unwrap();
    assert_eq!((retried[0].id.as_str(), retried[0].attempts), ("msg_1", 1));
    store
        .webhook_attempted("msg_1", OutboxUpdate::Failed)
        .await
        .unwrap();
    assert_eq!(
        store.claim_webhooks(NOW + 100_000, 60, 10).await.unwrap(),
        []
    );
}

pub async fn concurrent_claims_never_hand_out_one_webhook_twice(store: Arc<Store>) {
    seeded(store.as_ref()).await;
    for i in 0..40 {
        store
            .enqueue_webhook(&webhook(&format!("msg_{i:02}"), "bank"), NOW)
            .await
            .unwrap();
    }
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store.claim_webhooks(NOW, 60, 3).await.unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|m| m.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.unwrap());
    }
    all.sort();
    let expected: Vec<String> = (0..40).map(|i| format!("msg_{i:02}")).collect();
    assert_eq!(all, expected);
}

pub async fn push_fatigue_counts_denials_and_expiries_since_the_last_approval(store: Arc<Store>) {
    let cred = seeded(store.as_ref()).await;
    let (bank, alice) = (tenant_id("bank"), user("alice"));
    // (status, end time) of alice's challenges; one pending, one of bob's, one cancelled.
    let ends = [
        (ChallengeStatus::Denied, NOW + 1),
        (ChallengeStatus::Approved, NOW + 2),
        (ChallengeStatus::Denied, NOW + 3),
        (ChallengeStatus::Undeliverable, NOW + 4),
        (ChallengeStatus::Expired, NOW + 5),
        (ChallengeStatus::Cancelled, NOW + 6),
        (ChallengeStatus::Denied, NOW + 7),
    ];
    ended_challenges(store.as_ref(), &cred.id, &ends).await;
    store
        .insert_challenge(&challenge("bank", &cred.id, NOW + 60), None)
        .await
        .unwrap();
    let mut bobs = challenge("bank", &cred.id, NOW + 60);
    bobs.user_id = user("bob");
    bind(store.as_ref(), &binding("bank", "bob", &cred.id))
        .await
        .unwrap();
    store.insert_challenge(&bobs, None).await.unwrap();
    store
        .finish_challenge(&bobs.id, ChallengeStatus::Denied, NOW + 8, None, None)
        .await
        .unwrap();
    // Newest first; only denied and expired, only after the approval at NOW + 2.
    assert_eq!(
        store
            .recent_refusals_for_user(&bank, &alice, NOW, 10)
            .await
            .unwrap(),
        [NOW + 7, NOW + 5, NOW + 3]
    );
    assert_eq!(
        store
            .recent_refusals_for_user(&bank, &alice, NOW, 2)
            .await
            .unwrap(),
        [NOW + 7, NOW + 5]
    );
    // The window's start: ends before `since` do not count.
    assert_eq!(
        store
            .recent_refusals_for_user(&bank, &alice, NOW + 4, 10)
            .await
            .unwrap(),
        [NOW + 7, NOW + 5]
    );
    // With the approval outside the window, the denial before it is outside too.
    assert_eq!(
        store
            .recent_refusals_for_user(&bank, &alice, NOW + 3, 10)
            .await
            .unwrap(),
        [NOW + 7, NOW + 5, NOW + 3]
    );
    assert_eq!(
        store
            .recent_refusals_for_user(&bank, &user("bob"), NOW, 10)
            .await
            .unwrap(),
        [NOW + 8]
    );
    assert!(
        store
            .recent_refusals_for_user(&tenant_id("other"), &alice, NOW, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // An approval in the same second as a refusal clears it.
    let ch = challenge("bank", &cred.id, NOW + 60);
    store.insert_challenge(&ch, None).await.unwrap();
    store
        .finish_challenge(&ch.id, ChallengeStatus::Approved, NOW + 7, None, None)
        .await
        .unwrap();
    assert!(
        store
            .recent_refusals_for_user(&bank, &alice, NOW, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn wrong_numbers_are_counted_only_while_pending(store: Arc<Store>) {
    let cred = seeded(store.as_ref()).await;
    let ch = challenge("bank", &cred.id, NOW + 60);
    store.insert_challenge(&ch, None).await.unwrap();
    assert_eq!(store.record_number_miss(&ch.id).await.unwrap(), 1);
    assert_eq!(store.record_number_miss(&ch.id).await.unwrap(), 2);
    store
        .finish_challenge(&ch.id, ChallengeStatus::Denied, NOW + 1, None, None)
        .await
        .unwrap();
    assert_eq!(store.record_number_miss(&ch.id).await.unwrap(), 0);
    assert_eq!(
        store.record_number_miss(&ChallengeId::new()).await.unwrap(),
        0
    );
    // Concurrent misses each get their own count.
    let ch = challenge("bank", &cred.id, NOW + 60);
    store.insert_challenge(&ch, None).await.unwrap();
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.record_number_miss(&ch.id).await.unwrap() })
        })
        .collect();
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.unwrap());
    }
    counts.sort_unstable();
    assert_eq!(counts, [1, 2, 3, 4, 5, 6]);
}

pub async fn a_tenants_push_fatigue_setting_is_kept_and_changed(store: Arc<Store>) {
    seeded(store.as_ref()).await;
    let bank = tenant_id("bank");
    let stored = store.tenant(&bank).await.unwrap();
    assert_eq!(
        (
            stored.push_fatigue_threshold,
            stored.push_fatigue_window_seconds
        ),
        (3, 600)
    );
    store.set_tenant_push_fatigue(&bank, 0, 3600).await.unwrap();
    let changed = store.tenant(&bank).await.unwrap();
    assert_eq!(
        (
            changed.push_fatigue_threshold,
            changed.push_fatigue_window_seconds
        ),
        (0, 3600)
    );
    assert!(matches!(
        store
            .set_tenant_push_fatigue(&tenant_id("nobody"), 1, 60)
            .await,
        Err(StoreError::NotFound)
    ));
}
