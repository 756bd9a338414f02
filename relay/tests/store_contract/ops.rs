//! Fair webhook claims, webhook secrets, audit pages and retention (issue 22).

use std::sync::Arc;

use onepush_protocol::ChallengeStatus;
use onepush_relay::store::{
    NewAudit, OutboxMessage, OutboxUpdate, SealedSecret, Store, StoreError,
};
use serde_json::json;

use super::records::{NOW, challenge, seeded, tenant, tenant_id, user, webhook};

const DAY: i64 = 86_400;

fn ids(list: &[OutboxMessage]) -> Vec<&str> {
    let mut ids: Vec<&str> = list.iter().map(|m| m.id.as_str()).collect();
    ids.sort_unstable();
    ids
}

pub async fn webhooks_are_claimed_per_tenant_oldest_first_within_a_limit(store: Arc<Store>) {
    seeded(store.as_ref()).await;
    store
        .insert_tenant(&tenant("other"), &[8; 32])
        .await
        .unwrap();
    store
        .insert_tenant(&tenant("quiet"), &[9; 32])
        .await
        .unwrap();
    for i in 0..5 {
        store
            .enqueue_webhook(&webhook(&format!("bank_{i}"), "bank"), NOW - 10 + i)
            .await
            .unwrap();
    }
    store
        .enqueue_webhook(&webhook("other_0", "other"), NOW)
        .await
        .unwrap();
    store
        .enqueue_webhook(&webhook("quiet_later", "quiet"), NOW + 10)
        .await
        .unwrap();
    assert_eq!(
        store.tenants_with_due_webhooks(NOW).await.unwrap(),
        [tenant_id("bank"), tenant_id("other")],
        "quiet has nothing due yet"
    );
    let bank = store
        .claim_tenant_webhooks(&tenant_id("bank"), NOW, 60, 2)
        .await
        .unwrap();
    assert_eq!(ids(&bank), ["bank_0", "bank_1"], "the oldest two");
    let other = store
        .claim_tenant_webhooks(&tenant_id("other"), NOW, 60, 2)
        .await
        .unwrap();
    assert_eq!(ids(&other), ["other_0"], "only its own");
    let rest = store
        .claim_tenant_webhooks(&tenant_id("bank"), NOW, 60, 10)
        .await
        .unwrap();
    assert_eq!(
        ids(&rest),
        ["bank_2", "bank_3", "bank_4"],
        "leased ones are not handed out again"
    );
    assert_eq!(
        store.tenants_with_due_webhooks(NOW).await.unwrap(),
        Vec::<onepush_protocol::TenantId>::new(),
        "everything due is leased"
    );
    assert_eq!(
        store.tenants_with_due_webhooks(NOW + 60).await.unwrap(),
        [tenant_id("bank"), tenant_id("other"), tenant_id("quiet")],
        "leases ran out"
    );
}

pub async fn a_webhook_secret_is_replaced_and_never_kept_in_clear(store: Arc<Store>) {
    seeded(store.as_ref()).await;
    let bank = tenant_id("bank");
    assert_eq!(store.clear_webhook_secrets().await.unwrap(), []);
    let sealed = SealedSecret(vec![1, 2, 3, 4, 5]);
    store.set_webhook_secret(&bank, &sealed).await.unwrap();
    assert_eq!(
        store.tenant(&bank).await.unwrap().webhook_secret,
        Some(sealed.clone())
    );
    assert!(!format!("{:?}", store.tenant(&bank).await.unwrap()).contains("[1, 2, 3"));
    assert!(matches!(
        store
            .set_webhook_secret(&tenant_id("nobody"), &sealed)
            .await,
        Err(StoreError::NotFound)
    ));
    // Nothing in clear to seal: the conditional update changes nothing.
    assert!(
        !store
            .seal_webhook_secret(&bank, "whsec_x", &sealed)
            .await
            .unwrap()
    );
}

pub async fn audit_pages_follow_the_cursor_with_and_without_a_user(store: Arc<Store>) {
    let cred = seeded(store.as_ref()).await;
    store
        .insert_tenant(&tenant("other"), &[8; 32])
        .await
        .unwrap();
    let event = |t: &str, name: &str| NewAudit {
        tenant_id: Some(tenant_id(t)),
        event: "otp.verified".into(),
        user_id: Some(user(name)),
        credential_id: Some(cred.id.clone()),
        challenge_id: None,
        detail: json!({}),
    };
    let mut alice = Vec::new();
    for i in 0..7 {
        let name = if i % 2 == 0 { "alice" } else { "bob" };
        let seq = store
            .append_audit(&event("bank", name), NOW + i)
            .await
            .unwrap();
        if name == "alice" {
            alice.push(seq);
        }
        store
            .append_audit(&event("other", "alice"), NOW + i)
            .await
            .unwrap();
    }
    let bank = tenant_id("bank");
    let mut pages = Vec::new();
    let mut since = 0;
    loop {
        let page = store.audit(&bank, None, since, 3).await.unwrap();
        pages.push(page.len());
        let Some(last) = page.last() else { break };
        since = last.seq;
    }
    assert_eq!(pages, [3, 3, 1, 0]);
    let first = store
        .audit(&bank, Some(&user("alice")), 0, 2)
        .await
        .unwrap();
    let seqs: Vec<i64> = first.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, alice[..2]);
    let next = store
        .audit(&bank, Some(&user("alice")), seqs[1], 10)
        .await
        .unwrap();
    assert_eq!(next.iter().map(|e| e.seq).collect::<Vec<_>>(), alice[2..]);
}

pub async fn a_retention_job_is_held_by_one_relay_until_its_lease_runs_out(store: Arc<Store>) {
    assert!(
        store
            .claim_retention("audit", "a", NOW, NOW + 3600)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_retention("audit", "b", NOW + 10, NOW + 3610)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_retention("audit", "a", NOW + 3599, NOW + 7199)
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_retention("challenges", "b", NOW, NOW + 3600)
            .await
            .unwrap(),
        "another job"
    );
    assert!(
        store
            .claim_retention("audit", "b", NOW + 3600, NOW + 7200)
            .await
            .unwrap()
    );
    // Claimed at the same moment by four relays: one wins.
    let claims: Vec<_> = (0..4)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .claim_retention("outbox", &format!("relay-{i}"), NOW, NOW + 3600)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut won = 0;
    for claim in claims {
        won += usize::from(claim.await.unwrap());
    }
    assert_eq!(won, 1);
}

pub async fn retention_deletes_old_ended_challenges_and_their_keys_in_batches(store: Arc<Store>) {
    let cred = seeded(store.as_ref()).await;
    // Five challenges 100 days old (one still pending), two from today.
    let mut old = Vec::new();
    for i in 0..5 {
        let mut ch = challenge("bank", &cred.id, NOW - 100 * DAY + 60);
        ch.created_at = NOW - 100 * DAY;
        let key = format!("key-{i}");
        store
            .insert_challenge(&ch, Some((&key, &[i; 32])))
            .await
            .unwrap();
        if i > 0 {
            store
                .finish_challenge(
                    &ch.id,
                    ChallengeStatus::Denied,
                    NOW - 100 * DAY + 5,
                    None,
                    None,
                )
                .await
                .unwrap();
        }
        old.push(ch);
    }
    let mut young = Vec::new();
    for i in 0..2 {
        let ch = challenge("bank", &cred.id, NOW + 60);
        store
            .insert_challenge(&ch, Some((&format!("new-{i}"), &[9; 32])))
            .await
            .unwrap();
        store
            .finish_challenge(&ch.id, ChallengeStatus::Approved, NOW + 1, None, None)
            .await
            .unwrap();
        young.push(ch);
    }
    let before = NOW - 90 * DAY;
    let mut deleted = Vec::new();
    loop {
        let n = store.delete_old_challenges(before, 2).await.unwrap();
        if n == 0 {
            break;
        }
        deleted.push(n);
    }
    assert_eq!(
        deleted.iter().sum::<u64>(),
        4,
        "the four ended ones: {deleted:?}"
    );
    assert!(deleted.iter().all(|&n| n <= 2));
    assert_eq!(
        store.challenge(&old[0].id).await.unwrap().status,
        ChallengeStatus::Pending
    );
    for ch in &old[1..] {
        assert!(matches!(
            store.challenge(&ch.id).await,
            Err(StoreError::NotFound)
        ));
    }
    for ch in &young {
        assert!(store.challenge(&ch.id).await.is_ok());
    }

    // Idempotency keys of challenges created before a day ago (or gone).
    let mut keys = 0;
    loop {
        let n = store
            .delete_old_idempotency_keys(NOW - DAY, 2)
            .await
            .unwrap();
        if n == 0 {
            break;
        }
        keys += n;
    }
    assert_eq!(keys, 5);
    assert!(
        store
            .idempotent_challenge(&tenant_id("bank"), "key-0")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .idempotent_challenge(&tenant_id("bank"), "new-0")
            .await
            .unwrap()
            .is_some()
    );
}

pub async fn retention_deletes_ended_webhooks_and_keeps_pending_ones(store: Arc<Store>) {
    seeded(store.as_ref()).await;
    // Webhook messages: delivered and given up long ago go; pending and recent stay.
    for (id, at) in [
        ("old_ok", NOW - 10 * DAY),
        ("old_failed", NOW - 9 * DAY),
        ("old_pending", NOW - 10 * DAY),
        ("new_ok", NOW),
    ] {
        store
            .enqueue_webhook(&webhook(id, "bank"), at)
            .await
            .unwrap();
    }
    for (id, update) in [
        ("old_ok", OutboxUpdate::Delivered),
        ("old_failed", OutboxUpdate::Failed),
        ("new_ok", OutboxUpdate::Delivered),
    ] {
        store.webhook_attempted(id, update).await.unwrap();
    }
    assert_eq!(
        store.delete_ended_webhooks(NOW - 7 * DAY, 1).await.unwrap(),
        1
    );
    assert_eq!(
        store
            .delete_ended_webhooks(NOW - 7 * DAY, 10)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .delete_ended_webhooks(NOW - 7 * DAY, 10)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        ids(&store.claim_webhooks(NOW, 60, 10).await.unwrap()),
        ["old_pending"],
        "the pending one is still there"
    );
}

pub async fn retention_deletes_audit_below_a_bound_that_only_moves_forward(store: Arc<Store>) {
    // Only the tenant: an enrollment would append an event of its own, at NOW.
    store
        .insert_tenant(&tenant("bank"), &[7; 32])
        .await
        .unwrap();
    // Audit events before the bound, oldest first, in batches.
    let event = NewAudit {
        tenant_id: Some(tenant_id("bank")),
        event: "otp.verified".into(),
        user_id: Some(user("alice")),
        credential_id: None,
        challenge_id: None,
        detail: json!({}),
    };
    for at in [
        NOW - 500 * DAY,
        NOW - 450 * DAY,
        NOW - 401 * DAY,
        NOW - 10,
        NOW,
    ] {
        store.append_audit(&event, at).await.unwrap();
    }
    let bound = NOW - 400 * DAY;
    assert_eq!(store.delete_old_audit(bound, 2).await.unwrap(), 2);
    assert_eq!(store.delete_old_audit(bound, 2).await.unwrap(), 1);
    assert_eq!(store.delete_old_audit(bound, 2).await.unwrap(), 0);
    let left = store.audit(&tenant_id("bank"), None, 0, 100).await.unwrap();
    assert_eq!(
        left.iter()
            .map(|e| e.at.unix_timestamp())
            .collect::<Vec<_>>(),
        [NOW - 10, NOW]
    );
    // A later, shorter bound never lets newer events go.
    assert_eq!(
        store.delete_old_audit(NOW - 500 * DAY, 10).await.unwrap(),
        0
    );
    assert_eq!(
        store
            .audit(&tenant_id("bank"), None, 0, 100)
            .await
            .unwrap()
            .len(),
        2
    );
}
