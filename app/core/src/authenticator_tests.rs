//! Unit tests of [`super::Authenticator`] that need no relay.

use onepush_protocol::jws::verify_decision;
use onepush_protocol::{ChallengeKind, Context, TenantId, UserId};
use serde_json::json;
use time::OffsetDateTime;

use super::*;
use crate::keystore::UnencryptedFileKeyStore;
use crate::vault::tests::sample_vault;

const NOW: i64 = 1_749_999_995; // 5 s into a 30 s step

fn device(home: &std::path::Path) -> Authenticator {
    let store = UnencryptedFileKeyStore::new(home);
    store.save(&sample_vault()).unwrap();
    Authenticator::open(Box::new(store)).unwrap()
}

/// A pending transfer challenge (also the push tests' fixture).
pub(crate) fn transfer() -> DeviceChallenge {
    let context = json!({
        "amount": "1250000", "currency": "JPY",
        "payee_name": "ヤマダ タロウ", "payee_account": "0001-123-4567890",
    });
    DeviceChallenge {
        id: ChallengeId::new(),
        tenant_id: "acme-bank".parse::<TenantId>().unwrap(),
        tenant_name: "Acme Bank".to_owned(),
        user_id: "alice".parse::<UserId>().unwrap(),
        kind: ChallengeKind::Transaction,
        context: Context::from_value(context).unwrap(),
        number_matching: false,
        nonce: "n0nce".to_owned(),
        status: ChallengeStatus::Pending,
        created_at: OffsetDateTime::UNIX_EPOCH,
        expires_at: OffsetDateTime::UNIX_EPOCH,
    }
}

#[test]
fn codes_are_the_current_and_the_next_step() {
    let home = tempfile::tempdir().unwrap();
    let device = device(home.path());
    let codes = device.codes(NOW);
    let secret = device.vault().totp_secret();
    assert_eq!(
        codes.current,
        totp::code_at_step(secret, totp::step_at(NOW))
    );
    assert_eq!(
        codes.next,
        totp::code_at_step(secret, totp::step_at(NOW) + 1)
    );
    assert_eq!(codes.seconds_left, 25);
    assert_eq!(codes.current.len(), 6);
}

#[test]
fn approval_signs_the_digest_of_the_displayed_context() {
    let home = tempfile::tempdir().unwrap();
    let device = device(home.path());
    let challenge = transfer();
    let jws = device.sign_approval(&challenge, None, true, NOW).unwrap();
    let jwk = device.vault().signing_key().public_jwk();
    let claims = verify_decision(&jws, &jwk, device.vault().credential_id()).unwrap();
    assert_eq!(claims.ctx, challenge.context.digest_b64());
    assert_eq!(claims.chl, challenge.id);
    assert_eq!(claims.tnt, challenge.tenant_id);
    assert_eq!(claims.sub, challenge.user_id);
    assert_eq!(claims.knd, ChallengeKind::Transaction);
    assert_eq!(claims.nonce, "n0nce");
    assert_eq!(claims.dec, DecisionVerdict::Approve);
    assert_eq!(
        (claims.rsn, claims.num, claims.uv, claims.iat),
        (None, None, true, NOW)
    );

    let mut altered = challenge.clone();
    altered.context = Context::from_value(json!({
        "amount": "9250000", "currency": "JPY",
        "payee_name": "ヤマダ タロウ", "payee_account": "0001-123-4567890",
    }))
    .unwrap();
    let other = device
        .decision_claims(&altered, DecisionVerdict::Approve, None, None, true, NOW)
        .unwrap();
    assert_ne!(other.ctx, claims.ctx, "another amount is another signature");
}

#[test]
fn number_matching_approval_needs_the_number() {
    let home = tempfile::tempdir().unwrap();
    let device = device(home.path());
    let challenge = DeviceChallenge {
        number_matching: true,
        ..transfer()
    };
    let err = device
        .sign_approval(&challenge, None, false, NOW)
        .unwrap_err();
    assert!(matches!(err, DeviceError::NumberRequired { .. }), "{err}");
    let claims = device
        .decision_claims(
            &challenge,
            DecisionVerdict::Approve,
            Some(42),
            None,
            false,
            NOW,
        )
        .unwrap();
    assert_eq!(claims.num, Some(42));
}

#[test]
fn denial_carries_its_reason_and_no_number() {
    let home = tempfile::tempdir().unwrap();
    let device = device(home.path());
    let challenge = DeviceChallenge {
        number_matching: true,
        ..transfer()
    };
    let claims = device
        .decision_claims(
            &challenge,
            DecisionVerdict::Deny,
            Some(42),
            Some(DenyReason::NotMe),
            false,
            NOW,
        )
        .unwrap();
    assert_eq!(
        (claims.dec, claims.rsn, claims.num),
        (DecisionVerdict::Deny, Some(DenyReason::NotMe), None)
    );
    let default = device
        .decision_claims(&challenge, DecisionVerdict::Deny, None, None, false, NOW)
        .unwrap();
    assert_eq!(default.rsn, Some(DenyReason::Declined));
}

#[test]
fn a_challenge_no_longer_pending_is_not_signed() {
    let home = tempfile::tempdir().unwrap();
    let device = device(home.path());
    let challenge = DeviceChallenge {
        status: ChallengeStatus::Expired,
        ..transfer()
    };
    let err = device
        .sign_denial(&challenge, DenyReason::Declined, false, NOW)
        .unwrap_err();
    assert!(
        matches!(
            err,
            DeviceError::NotPending {
                status: ChallengeStatus::Expired,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("already expired"), "{err}");
}

#[tokio::test]
async fn provisioning_over_an_existing_vault_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let _device = device(home.path());
    let store = UnencryptedFileKeyStore::new(home.path());
    let err = Authenticator::provision(Box::new(store), "http://127.0.0.1:9", NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeviceError::Vault(VaultError::AlreadyExists(_))),
        "{err}"
    );
}
