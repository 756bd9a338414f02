//! Retention (issue 22, item 8): old ended challenges, idempotency keys, delivered
//! webhooks and audit events are deleted by one relay per interval, across relays on one
//! PostgreSQL database; recent audit events stay append-only.

use crate::common;

use std::path::Path;
use std::sync::Arc;

use onepush_protocol::api::{BindingState, TokenKind};
use onepush_protocol::{
    ChallengeId, ChallengeKind, ChallengeStatus, Context, CredentialId, DeviceKey,
};
use onepush_relay::clock::ManualClock;
use onepush_relay::retention::{Job, run_once};
use onepush_relay::service::Service;
use onepush_relay::settings::Settings;
use onepush_relay::store::{
    BindingRecord, ChallengeRecord, CredentialRecord, NewAudit, StoreError,
};
use onepush_relay::{Parts, Relay};
use serde_json::json;

const DAY: i64 = 86_400;

async fn open(settings: Settings, clock: &ManualClock) -> Relay {
    let parts = Parts {
        clock: Some(Arc::new(clock.clone())),
        ..Parts::default()
    };
    Relay::open_with(settings, parts).await.unwrap()
}

fn settings(dir: &Path, database_url: Option<String>) -> Settings {
    let mut s = onepush_relay::testing::test_settings(dir);
    s.database.url = database_url;
    s
}

/// A tenant `bank`, a credential, and for each `(age in days, status)` a challenge
/// created that long ago (ended with `status` unless pending). Answers the challenges.
async fn seed(relay: &Relay, ages: &[(i64, ChallengeStatus)]) -> Vec<ChallengeRecord> {
    let service = relay.service();
    let store = service.store();
    relay.add_tenant("bank", "Bank", None).await.unwrap();
    let now = service.now();
    let credential = CredentialRecord {
        id: CredentialId::generate(CredentialId::DEFAULT_PREFIX).unwrap(),
        jwk: DeviceKey::generate().public_jwk(),
        totp_secret_sealed: vec![1, 2, 3],
        ocra_key_sealed: None,
        push_subscription: None,
        kind: TokenKind::Push,
        last_used_step: None,
        revoked_at: None,
        created_at: now - 200 * DAY,
    };
    store.insert_credential(&credential).await.unwrap();
    // Challenges are only inserted while their user's binding is active.
    let binding = BindingRecord {
        tenant_id: "bank".parse().unwrap(),
        user_id: "alice".parse().unwrap(),
        credential_id: credential.id.clone(),
        kind: TokenKind::Push,
        state: BindingState::Active,
        lock_reason: None,
        grace_until: None,
        failures: 0,
        drift_steps: 0,
        enrolled_at: now,
    };
    let enrolled = NewAudit {
        tenant_id: Some(binding.tenant_id.clone()),
        event: "binding.enrolled".into(),
        user_id: Some(binding.user_id.clone()),
        credential_id: Some(binding.credential_id.clone()),
        challenge_id: None,
        detail: json!({}),
    };
    store.insert_binding(&binding, &enrolled).await.unwrap();
    let mut made = Vec::new();
    for (i, &(age, status)) in ages.iter().enumerate() {
        let created_at = now - age * DAY;
        let ch = ChallengeRecord {
            id: ChallengeId::new(),
            tenant_id: "bank".parse().unwrap(),
            user_id: "alice".parse().unwrap(),
            credential_id: credential.id.clone(),
            kind: ChallengeKind::Login,
            context: Context::from_value(json!({})).unwrap(),
            number: None,
            nonce: "bm9uY2U".into(),
            status: ChallengeStatus::Pending,
            created_at,
            expires_at: created_at + 120,
            decided_at: None,
            reached_device: false,
            decision: None,
        };
        let key = format!("key-{i}");
        store
            .insert_challenge(&ch, Some((&key, &[1; 32])))
            .await
            .unwrap();
        if status != ChallengeStatus::Pending {
            store
                .finish_challenge(&ch.id, status, created_at + 10, None, None)
                .await
                .unwrap();
        }
        let event = NewAudit {
            tenant_id: Some("bank".parse().unwrap()),
            event: "challenge.created".into(),
            user_id: Some("alice".parse().unwrap()),
            credential_id: None,
            challenge_id: Some(ch.id),
            detail: json!({}),
        };
        store.append_audit(&event, created_at).await.unwrap();
        made.push(ch);
    }
    made
}

fn ran(report: &[(Job, u64)], job: Job) -> Option<u64> {
    report.iter().find(|(j, _)| *j == job).map(|(_, n)| *n)
}

async fn exists(service: &Service, ch: &ChallengeRecord) -> bool {
    match service.store().challenge(&ch.id).await {
        Ok(_) => true,
        Err(StoreError::NotFound) => false,
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_old_challenges_once_across_two_relays() {
    common::postgres::with_database(|url| async move {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::starting_now();
        // One data folder: the same master key and VAPID key, as a cluster has.
        let a = open(settings(dir.path(), Some(url.clone())), &clock).await;
        let b = open(settings(dir.path(), Some(url)), &clock).await;
        let made = seed(
            &a,
            &[
                (500, ChallengeStatus::Denied),
                (120, ChallengeStatus::Approved),
                (95, ChallengeStatus::Expired),
                (30, ChallengeStatus::Approved),
                (0, ChallengeStatus::Pending),
            ],
        )
        .await;
        let (sa, sb) = (a.service().clone(), b.service().clone());
        let (ra, rb) = tokio::join!(run_once(&sa, "relay-a"), run_once(&sb, "relay-b"));
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        let challenge_runs: Vec<u64> = [&ra, &rb]
            .iter()
            .filter_map(|r| ran(r, Job::Challenges))
            .collect();
        assert_eq!(challenge_runs, [3], "one relay ran it: {ra:?} {rb:?}");
        let audit_runs: Vec<u64> = [&ra, &rb]
            .iter()
            .filter_map(|r| ran(r, Job::Audit))
            .collect();
        assert_eq!(audit_runs, [1], "the 500-day-old event: {ra:?} {rb:?}");
        let key_runs: Vec<u64> = [&ra, &rb]
            .iter()
            .filter_map(|r| ran(r, Job::IdempotencyKeys))
            .collect();
        assert_eq!(key_runs, [4], "all but today's: {ra:?} {rb:?}");
        for (ch, kept) in made.iter().zip([false, false, false, true, true]) {
            assert_eq!(exists(&sa, ch).await, kept, "{}", ch.created_at);
        }
        let audit = sa
            .store()
            .audit(&"bank".parse().unwrap(), None, 0, 100)
            .await
            .unwrap();
        assert_eq!(audit.len(), 5, "the four recent events and the enrollment");

        // Within the interval neither relay runs the jobs again; after it, one does.
        clock.advance(i64::from(sa.settings().retention.interval_seconds) - 1);
        assert_eq!(run_once(&sa, "relay-a").await.unwrap(), []);
        assert_eq!(run_once(&sb, "relay-b").await.unwrap(), []);
        clock.advance(1);
        let again = run_once(&sb, "relay-b").await.unwrap();
        assert_eq!(ran(&again, Job::Challenges), Some(0));
        assert_eq!(run_once(&sa, "relay-a").await.unwrap(), []);
        let metrics = onepush_relay::metrics::render();
        assert!(
            metrics.contains("onepush_retention_deleted_total{what=\"challenges\"}"),
            "{metrics}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recent_audit_events_stay_append_only_while_old_ones_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let relay = open(settings(dir.path(), None), &clock).await;
    seed(
        &relay,
        &[
            (401, ChallengeStatus::Denied),
            (399, ChallengeStatus::Approved),
        ],
    )
    .await;
    let service = relay.service().clone();
    let report = run_once(&service, "only").await.unwrap();
    assert_eq!(ran(&report, Job::Audit), Some(1));
    assert_eq!(ran(&report, Job::Challenges), Some(2));
    let db = rusqlite::Connection::open(dir.path().join("onepush.db")).unwrap();
    let left: i64 = db
        .query_row("SELECT COUNT(*) FROM audit_events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 2, "the 399-day-old event and the enrollment");
    // Anything else deleting or changing the log is refused by the database.
    for refused in [
        "DELETE FROM audit_events",
        "UPDATE audit_events SET event = 'x'",
        "UPDATE audit_retention SET delete_before = 0",
    ] {
        let err = db.execute(refused, []).unwrap_err().to_string();
        assert!(
            err.contains("append-only") || err.contains("only moves forward"),
            "{refused}: {err}"
        );
    }
    // With the retention off, nothing is deleted.
    let kept = {
        let mut s = settings(dir.path(), None);
        s.retention.audit_days = 0;
        s.retention.challenges_days = 0;
        s
    };
    drop(relay);
    clock.advance(1000 * DAY);
    let relay = open(kept, &clock).await;
    let report = run_once(relay.service(), "only").await.unwrap();
    assert_eq!(ran(&report, Job::Audit), None);
    assert_eq!(ran(&report, Job::Challenges), None);
}
