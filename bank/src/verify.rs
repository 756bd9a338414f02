//! The bank's own check of a decision: the JWS against the credential's key the bank
//! pinned at enrollment, then every claim against what the bank sent. The relay cannot
//! forge an approval past this: it never holds the phone's signing key.

use onepush_protocol::api::BankChallenge;
use onepush_protocol::jws::{self, DecisionClaims, DecisionVerdict, JwsError};
use onepush_protocol::{ChallengeId, ChallengeKind, Context, CredentialId, Jwk, TenantId, UserId};
use subtle::ConstantTimeEq as _;

/// What the bank expects a decision to be about: what it sent when it created the
/// challenge, and the credential it registered for the user.
#[derive(Debug, Clone)]
pub struct Expected {
    /// The challenge it created.
    pub challenge_id: ChallengeId,
    /// The bank's tenant at the relay (`None`: not checked).
    pub tenant_id: Option<TenantId>,
    /// The user it asked.
    pub user_id: UserId,
    /// The credential registered for that user.
    pub credential_id: CredentialId,
    /// The kind it asked for.
    pub kind: ChallengeKind,
    /// The context it sent: the phone signs the digest of what it showed, so a context
    /// changed anywhere on the way does not match.
    pub context: Context,
    /// The number shown on the bank's page, when number matching was on.
    pub number: Option<u8>,
}

/// Why a decision does not count for the bank.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The relay reported an outcome without a signed decision.
    #[error("there is no signed decision to verify")]
    Missing,
    /// The JWS is malformed or its signature does not verify with the pinned key.
    #[error(transparent)]
    Signature(#[from] JwsError),
    /// Validly signed, but about something else than what the bank expects.
    #[error("the signed decision's {claim} differs from what the bank sent")]
    Mismatch {
        /// Which claim (`challenge (chl)`, `context digest (ctx)`, ...).
        claim: &'static str,
    },
    /// Validly signed and matching, but not an approval.
    #[error("the signed decision is a denial, not an approval")]
    NotApproved,
}

/// Verifies a decision JWS with the credential's pinned key and compares every claim
/// with `expected`; returns the verified claims (approval or denial: see
/// [`DecisionClaims::dec`], and [`DecisionClaims::rsn`] for a "not me").
pub fn verify_decision(
    jws: &str,
    pinned: &Jwk,
    expected: &Expected,
) -> Result<DecisionClaims, VerifyError> {
    let claims = jws::verify_decision(jws, pinned, &expected.credential_id)?;
    check_claims(&claims, expected)?;
    Ok(claims)
}

/// [`verify_decision`] on the challenge the relay reported, and only an approval
/// passes: what the bank runs before it lets a login or transaction through.
pub fn verify_approval(
    challenge: &BankChallenge,
    pinned: &Jwk,
    expected: &Expected,
) -> Result<DecisionClaims, VerifyError> {
    let decision = challenge.decision.as_ref().ok_or(VerifyError::Missing)?;
    let claims = verify_decision(&decision.jws, pinned, expected)?;
    if claims.dec != DecisionVerdict::Approve {
        return Err(VerifyError::NotApproved);
    }
    Ok(claims)
}

/// Compares verified claims with what the bank sent.
pub fn check_claims(claims: &DecisionClaims, expected: &Expected) -> Result<(), VerifyError> {
    let mismatch = |claim| Err(VerifyError::Mismatch { claim });
    if claims.chl != expected.challenge_id {
        return mismatch("challenge (chl)");
    }
    if expected
        .tenant_id
        .as_ref()
        .is_some_and(|t| *t != claims.tnt)
    {
        return mismatch("tenant (tnt)");
    }
    if claims.sub != expected.user_id {
        return mismatch("user (sub)");
    }
    if claims.cid != expected.credential_id {
        return mismatch("credential (cid)");
    }
    if claims.knd != expected.kind {
        return mismatch("kind (knd)");
    }
    let digest = expected.context.digest_b64();
    if !bool::from(claims.ctx.as_bytes().ct_eq(digest.as_bytes())) {
        return mismatch("context digest (ctx)");
    }
    if claims.dec == DecisionVerdict::Approve
        && expected.number.is_some()
        && claims.num != expected.number
    {
        return mismatch("number (num)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use onepush_protocol::DeviceKey;
    use serde_json::json;

    use super::*;

    fn expected(cid: &CredentialId) -> Expected {
        Expected {
            challenge_id: ChallengeId::new(),
            tenant_id: Some("bank".parse().unwrap()),
            user_id: "1234567.approver01".parse().unwrap(),
            credential_id: cid.clone(),
            kind: ChallengeKind::Transaction,
            context: Context::from_value(json!({"amount": "50000", "currency": "JPY",
                "payee_name": "A", "payee_account": "1"}))
            .unwrap(),
            number: Some(42),
        }
    }

    fn claims_for(e: &Expected) -> DecisionClaims {
        DecisionClaims {
            v: 1,
            chl: e.challenge_id,
            tnt: "bank".parse().unwrap(),
            sub: e.user_id.clone(),
            cid: e.credential_id.clone(),
            knd: e.kind,
            ctx: e.context.digest_b64(),
            num: e.number,
            dec: DecisionVerdict::Approve,
            rsn: None,
            uv: true,
            iat: 1_700_000_000,
            nonce: "n".to_owned(),
        }
    }

    type Change = fn(&mut DecisionClaims);

    fn cid() -> CredentialId {
        "ONEP12345674".parse().unwrap()
    }

    #[test]
    fn a_matching_approval_signed_by_the_pinned_key_passes() {
        let key = DeviceKey::generate();
        let e = expected(&cid());
        let jws = jws::sign_decision(&key, &claims_for(&e));
        let claims = verify_decision(&jws, &key.public_jwk(), &e).unwrap();
        assert!(claims.uv);
    }

    #[test]
    fn a_signature_by_another_key_than_the_pinned_one_is_refused() {
        let e = expected(&cid());
        let jws = jws::sign_decision(&DeviceKey::generate(), &claims_for(&e));
        let err = verify_decision(&jws, &DeviceKey::generate().public_jwk(), &e).unwrap_err();
        assert_eq!(err, VerifyError::Signature(JwsError::BadSignature));
    }

    #[test]
    fn each_claim_that_differs_is_named() {
        let key = DeviceKey::generate();
        let e = expected(&cid());
        let changes: [(&str, Change); 5] = [
            ("chl", |c| c.chl = ChallengeId::new()),
            ("tnt", |c| c.tnt = "other".parse().unwrap()),
            ("sub", |c| c.sub = "someone.else".parse().unwrap()),
            ("ctx", |c| {
                c.ctx = Context::from_value(json!({"amount": "90000"}))
                    .unwrap()
                    .digest_b64();
            }),
            ("num", |c| c.num = Some(24)),
        ];
        for (claim, change) in changes {
            let mut claims = claims_for(&e);
            change(&mut claims);
            let jws = jws::sign_decision(&key, &claims);
            let err = verify_decision(&jws, &key.public_jwk(), &e).unwrap_err();
            assert!(err.to_string().contains(claim), "{claim}: {err}");
        }
    }

    #[test]
    fn a_denial_verifies_but_is_not_an_approval() {
        let key = DeviceKey::generate();
        let e = expected(&cid());
        let mut claims = claims_for(&e);
        claims.dec = DecisionVerdict::Deny;
        claims.num = None;
        let jws = jws::sign_decision(&key, &claims);
        assert_eq!(
            verify_decision(&jws, &key.public_jwk(), &e).unwrap().dec,
            DecisionVerdict::Deny
        );
    }
}
