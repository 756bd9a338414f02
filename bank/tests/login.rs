//! The SDK against a real relay (in process, SQLite) and an emulated phone: enrollment,
//! a pinned key, an approved login verified by the bank, a refusal as a typed problem.

use onepush_bank::{ApiKey, AuditQuery, Client, Error, verify};
use onepush_device::{Authenticator, UnencryptedFileKeyStore, unix_now};
use onepush_protocol::api::{CreateChallenge, CreateEnrollment, GraceUntil, TokenKind};
use onepush_protocol::{ChallengeKind, ChallengeStatus, Context, DenyReason, UserId, totp};
use reqwest::Method;

async fn phone(dir: &std::path::Path, relay: &str) -> Authenticator {
    let store = UnencryptedFileKeyStore::new(&dir.join("phone"));
    Authenticator::provision(Box::new(store), relay, unix_now())
        .await
        .expect("provision")
}

fn codes(phone: &Authenticator) -> [String; 2] {
    let step = totp::step_at(unix_now());
    let secret = phone.vault().totp_secret();
    [
        totp::code_at_step(secret, step - 1),
        totp::code_at_step(secret, step),
    ]
}

#[tokio::test]
async fn a_bank_enrolls_pins_the_key_and_verifies_an_approved_login() {
    let dir = tempfile::tempdir().unwrap();
    let test = onepush_relay::testing::spawn_relay(&dir.path().join("relay")).await;
    let relay = Client::new(&test.url, ApiKey::new(&test.api_key)).unwrap();
    let mut phone = phone(dir.path(), &test.url).await;
    let cid = phone.vault().credential_id().clone();
    let user: UserId = "1234567.alice".parse().unwrap();

    let enrollment = CreateEnrollment {
        user_id: user.clone(),
        credential_id: cid.clone(),
        codes: codes(&phone),
        kind: None,
    };
    relay.enroll(&enrollment).await.unwrap();
    let pinned = relay.jwk(&cid).await.unwrap().jwk;
    assert_eq!(relay.user(&user).await.unwrap().unwrap().credential_id, cid);

    let context = Context::from_value(serde_json::json!({"ip": "203.0.113.7", "user_agent": "Firefox on Windows", "location": "Tokyo"}))
        .unwrap();
    let ask = CreateChallenge {
        user_id: user.clone(),
        kind: ChallengeKind::Login,
        context: context.clone(),
        ttl_seconds: Some(60),
        number_matching: false,
    };
    let created = relay.create_challenge(&ask, Some("login-1")).await.unwrap();
    let again = relay.create_challenge(&ask, Some("login-1")).await.unwrap();
    assert_eq!(
        again.id, created.id,
        "an idempotent retry returns the first challenge"
    );

    let shown = phone.pending().await.unwrap().remove(0);
    phone.approve(&shown, None, true, unix_now()).await.unwrap();
    let outcome = relay.outcome(&created.id).await.unwrap();
    assert_eq!(outcome.status, ChallengeStatus::Approved);

    let expected = verify::Expected {
        challenge_id: created.id,
        tenant_id: Some(test.tenant_id.parse().unwrap()),
        user_id: user.clone(),
        credential_id: cid.clone(),
        kind: ChallengeKind::Login,
        context: context.clone(),
        number: None,
    };
    let claims = verify::verify_approval(&outcome, &pinned, &expected).unwrap();
    assert!(claims.uv);

    // The same decision does not pass for a context the bank did not send.
    let other = verify::Expected {
        context: Context::from_value(
            serde_json::json!({"ip": "198.51.100.1", "user_agent": "curl"}),
        )
        .unwrap(),
        ..expected
    };
    assert!(matches!(
        verify::verify_approval(&outcome, &pinned, &other),
        Err(verify::VerifyError::Mismatch {
            claim: "context digest (ctx)"
        })
    ));

    let events = relay
        .audit(&AuditQuery {
            user_id: Some(user.clone()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert!(
        events.iter().any(|e| e.event == "challenge.approved"),
        "{events:?}"
    );
    test.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_denial_verifies_but_does_not_pass_as_an_approval() {
    let dir = tempfile::tempdir().unwrap();
    let test = onepush_relay::testing::spawn_relay(&dir.path().join("relay")).await;
    let relay = Client::new(&test.url, ApiKey::new(&test.api_key)).unwrap();
    let mut phone = phone(dir.path(), &test.url).await;
    let cid = phone.vault().credential_id().clone();
    let user: UserId = "1234567.bob".parse().unwrap();
    relay
        .enroll(&CreateEnrollment {
            user_id: user.clone(),
            credential_id: cid.clone(),
            codes: codes(&phone),
            kind: None,
        })
        .await
        .unwrap();
    let pinned = relay.jwk(&cid).await.unwrap().jwk;
    let context = Context::from_value(
        serde_json::json!({"ip": "203.0.113.9", "user_agent": "Edge on Windows"}),
    )
    .unwrap();
    let created = relay
        .create_challenge(
            &CreateChallenge {
                user_id: user.clone(),
                kind: ChallengeKind::Login,
                context: context.clone(),
                ttl_seconds: None,
                number_matching: false,
            },
            None,
        )
        .await
        .unwrap();
    let shown = phone.pending().await.unwrap().remove(0);
    phone
        .deny(&shown, DenyReason::Declined, false, unix_now())
        .await
        .unwrap();
    let outcome = relay.outcome(&created.id).await.unwrap();
    assert_eq!(outcome.status, ChallengeStatus::Denied);
    let expected = verify::Expected {
        challenge_id: created.id,
        tenant_id: None,
        user_id: user.clone(),
        credential_id: cid,
        kind: ChallengeKind::Login,
        context,
        number: None,
    };
    assert_eq!(
        verify::verify_approval(&outcome, &pinned, &expected),
        Err(verify::VerifyError::NotApproved)
    );
    let jws = &outcome.decision.as_ref().unwrap().jws;
    let claims = verify::verify_decision(jws, &pinned, &expected).unwrap();
    assert_eq!(claims.rsn, Some(DenyReason::Declined));

    relay
        .unregister(&user, &GraceUntil::default())
        .await
        .unwrap();
    test.shutdown().await.unwrap();
}

#[tokio::test]
async fn refusals_are_typed_problems_and_raw_requests_reach_any_route() {
    let dir = tempfile::tempdir().unwrap();
    let test = onepush_relay::testing::spawn_relay(&dir.path().join("relay")).await;
    let relay = Client::new(&test.url, ApiKey::new(&test.api_key)).unwrap();
    let nobody: UserId = "nobody".parse().unwrap();
    assert_eq!(relay.user(&nobody).await.unwrap(), None);
    let err = relay.verify_otp(&nobody, "123456").await.unwrap_err();
    assert_eq!(err.slug(), Some("user-not-enrolled"), "{err}");
    assert_eq!(err.status(), Some(404));

    // Malformed input through the escape hatch: still a problem document.
    let request = relay
        .raw(Method::POST, &["v1", "challenges"])
        .header("content-type", "application/json")
        .body("{not json");
    let err = relay.send::<serde_json::Value>(request).await.unwrap_err();
    assert!(matches!(err, Error::Problem { status: 400, .. }), "{err}");

    let wrong_key = Client::new(&test.url, ApiKey::new("not-a-key")).unwrap();
    let err = wrong_key.audit(&AuditQuery::default()).await.unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    assert!(relay.healthy().await);
    test.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_code_token_user_logs_in_with_a_code_and_is_never_pushed() {
    let dir = tempfile::tempdir().unwrap();
    let test = onepush_relay::testing::spawn_relay(&dir.path().join("relay")).await;
    let relay = Client::new(&test.url, ApiKey::new(&test.api_key)).unwrap();
    let store = UnencryptedFileKeyStore::new(&dir.path().join("pc"));
    let pc = Authenticator::provision_as(Box::new(store), &test.url, TokenKind::Otp, unix_now())
        .await
        .expect("provision");
    let user: UserId = "1234567.carol".parse().unwrap();
    let cid = pc.vault().credential_id().clone();

    // A page that enrolls push tokens only is told what the credential is.
    let push_only = CreateEnrollment {
        user_id: user.clone(),
        credential_id: cid.clone(),
        codes: codes(&pc),
        kind: Some(TokenKind::Push),
    };
    let err = relay.enroll(&push_only).await.unwrap_err();
    assert_eq!(err.slug(), Some("token-kind-mismatch"), "{err}");
    let binding = relay
        .enroll(&CreateEnrollment {
            kind: None,
            ..push_only
        })
        .await
        .unwrap();
    assert_eq!(binding.kind, TokenKind::Otp);
    let read = relay.user(&user).await.unwrap().expect("enrolled");
    assert_eq!(read.kind, TokenKind::Otp);

    // The bank reads the kind and asks for a code; a push is refused anyway.
    let ask = CreateChallenge {
        user_id: user.clone(),
        kind: ChallengeKind::Login,
        context: Context::from_value(
            serde_json::json!({"ip": "203.0.113.7", "user_agent": "Firefox"}),
        )
        .unwrap(),
        ttl_seconds: None,
        number_matching: false,
    };
    let err = relay.create_challenge(&ask, None).await.unwrap_err();
    assert_eq!(err.slug(), Some("code-token"), "{err}");
    assert_eq!(err.status(), Some(409));
    let secret = pc.vault().totp_secret();
    let next = totp::code_at_step(secret, totp::step_at(unix_now()) + 1);
    let verified = relay.verify_otp(&user, &next).await.unwrap();
    assert!(verified.valid);
    test.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_audit_log_is_read_page_by_page_to_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let test = onepush_relay::testing::spawn_relay(&dir.path().join("relay")).await;
    let relay = Client::new(&test.url, ApiKey::new(&test.api_key)).unwrap();
    let phone = phone(dir.path(), &test.url).await;
    let user: UserId = "1234567.carol".parse().unwrap();
    relay
        .enroll(&CreateEnrollment {
            user_id: user.clone(),
            credential_id: phone.vault().credential_id().clone(),
            codes: codes(&phone),
            kind: None,
        })
        .await
        .unwrap();
    // Five challenges, each cancelled: ten events of the user after the enrollment.
    for _ in 0..5 {
        let created = relay
            .create_challenge(
                &CreateChallenge {
                    user_id: user.clone(),
                    kind: ChallengeKind::Login,
                    context: Context::from_value(
                        serde_json::json!({"ip": "203.0.113.7", "user_agent": "Firefox"}),
                    )
                    .unwrap(),
                    ttl_seconds: None,
                    number_matching: false,
                },
                None,
            )
            .await
            .unwrap();
        relay.cancel_challenge(&created.id).await.unwrap();
    }
    let all = relay
        .audit(&AuditQuery {
            user_id: Some(user.clone()),
            since: 0,
            limit: Some(1000),
        })
        .await
        .unwrap();
    assert!(all.len() >= 11, "{all:?}");

    let mut pages = relay.audit_pages(AuditQuery {
        user_id: Some(user.clone()),
        since: 0,
        limit: Some(3),
    });
    let mut read = Vec::new();
    let mut count = 0;
    while let Some(page) = pages.next_page().await.unwrap() {
        assert!(page.len() <= 3);
        read.extend(page.into_iter().map(|e| e.seq));
        count += 1;
    }
    let seqs: Vec<i64> = all.iter().map(|e| e.seq).collect();
    assert_eq!(read, seqs, "every event once, in order");
    assert_eq!(count, seqs.len().div_ceil(3));
    assert_eq!(pages.cursor(), *seqs.last().unwrap());
    assert_eq!(pages.next_page().await.unwrap(), None);

    // A raw path goes out as written: a malformed challenge ID is the relay's to refuse.
    let request = relay.raw_path(Method::GET, "/v1/challenges/not-a-uuid?wait=0");
    let err = relay.send::<serde_json::Value>(request).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert!(err.problem().is_some(), "{err}");
    test.shutdown().await.unwrap();
}
