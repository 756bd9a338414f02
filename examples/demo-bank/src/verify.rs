//! The bank's own check of a decision: the JWS against the registered credential's
//! key (`GET /v1/credentials/{cid}/jwk`), then every claim against what it sent.
//! The relay cannot forge an approval past this.

use onepush_protocol::api::BankChallenge;
use onepush_protocol::jws::{self, DecisionClaims, DecisionVerdict};
use onepush_protocol::{ChallengeId, ChallengeKind, Context, CredentialId};

use crate::relay::RelayClient;

/// What the bank expects a valid approval to say.
#[derive(Debug, Clone)]
pub struct Expected {
    /// The challenge it created.
    pub challenge_id: ChallengeId,
    /// The relay user ID it asked.
    pub user_id: String,
    /// The credential it saw registered for that user.
    pub credential_id: CredentialId,
    /// The kind it asked for.
    pub kind: ChallengeKind,
    /// The context it sent.
    pub context: Context,
    /// The number shown on its page, when number matching was on.
    pub number: Option<u8>,
}

/// A decision the bank checked itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// RFC 7638 thumbprint of the key that signed.
    pub thumbprint: String,
    /// The credential that signed.
    pub credential_id: CredentialId,
    /// Whether the user unlocked the phone app with PIN or biometrics.
    pub user_verified: bool,
}

impl Verified {
    /// The line shown on the bank's pages.
    pub fn summary(&self) -> String {
        format!(
            "署名を検証しました / signature verified — クレデンシャルID {} · 鍵サムプリント (key thumbprint) {}",
            self.credential_id, self.thumbprint
        )
    }
}

/// Verifies an `approved` challenge; `Err` says what did not match.
pub async fn verify_approval(
    relay: &RelayClient,
    challenge: &BankChallenge,
    expected: &Expected,
) -> Result<Verified, String> {
    let decision = challenge
        .decision
        .as_ref()
        .ok_or("the relay reported an approval without a signed decision")?;
    if challenge.credential_id != expected.credential_id
        || decision.credential_id != expected.credential_id
    {
        return Err(format!(
            "the approval came from credential {}, not the registered {}",
            decision.credential_id, expected.credential_id
        ));
    }
    let key = relay
        .jwk(&expected.credential_id)
        .await
        .map_err(|e| format!("could not fetch the credential's key: {e}"))?;
    let claims = jws::verify_decision(&decision.jws, &key.jwk, &expected.credential_id)
        .map_err(|e| format!("signature check failed: {e}"))?;
    check_claims(&claims, expected)?;
    Ok(Verified {
        thumbprint: key.jwk.thumbprint(),
        credential_id: expected.credential_id.clone(),
        user_verified: claims.uv,
    })
}

/// Compares verified claims with what the bank sent.
pub fn check_claims(claims: &DecisionClaims, expected: &Expected) -> Result<(), String> {
    if claims.chl != expected.challenge_id {
        return Err(format!(
            "signed for challenge {}, not {}",
            claims.chl, expected.challenge_id
        ));
    }
    if claims.sub.as_str() != expected.user_id {
        return Err(format!(
            "signed for user {}, not {}",
            claims.sub, expected.user_id
        ));
    }
    if claims.cid != expected.credential_id {
        return Err(format!(
            "signed by credential {}, not {}",
            claims.cid, expected.credential_id
        ));
    }
    if claims.knd != expected.kind {
        return Err(format!(
            "signed for a {} challenge, not {}",
            claims.knd, expected.kind
        ));
    }
    if claims.ctx != expected.context.digest_b64() {
        return Err("the signed context digest differs from what the bank sent".to_owned());
    }
    if expected.number.is_some() && claims.num != expected.number {
        return Err("the number typed on the phone differs from the one shown".to_owned());
    }
    if claims.dec != DecisionVerdict::Approve {
        return Err("the signed decision is not an approval".to_owned());
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
            user_id: "1234567.approver01".to_owned(),
            credential_id: cid.clone(),
            kind: ChallengeKind::Transaction,
            context: Context::from_value(json!({"amount": "50000", "currency": "JPY", "payee_name": "A", "payee_account": "1"}))
                .unwrap(),
            number: None,
        }
    }

    fn claims_for(e: &Expected) -> DecisionClaims {
        DecisionClaims {
            v: 1,
            chl: e.challenge_id,
            tnt: "demo-bank".parse().unwrap(),
            sub: e.user_id.parse().unwrap(),
            cid: e.credential_id.clone(),
            knd: e.kind,
            ctx: e.context.digest_b64(),
            num: None,
            dec: DecisionVerdict::Approve,
            rsn: None,
            uv: false,
            iat: 1_700_000_000,
            nonce: "n".to_owned(),
        }
    }

    #[test]
    fn matching_signed_claims_pass() {
        let key = DeviceKey::generate();
        let cid: CredentialId = "ONEP12345674".parse().unwrap();
        let e = expected(&cid);
        let jws = jws::sign_decision(&key, &claims_for(&e));
        let claims = jws::verify_decision(&jws, &key.public_jwk(), &cid).unwrap();
        assert_eq!(check_claims(&claims, &e), Ok(()));
    }

    #[test]
    fn a_changed_amount_is_caught() {
        let cid: CredentialId = "ONEP12345674".parse().unwrap();
        let e = expected(&cid);
        let mut claims = claims_for(&e);
        claims.ctx = Context::from_value(json!({"amount": "90000"}))
            .unwrap()
            .digest_b64();
        assert!(
            check_claims(&claims, &e)
                .unwrap_err()
                .contains("context digest")
        );
    }

    #[test]
    fn a_denial_or_wrong_number_is_not_an_approval() {
        let cid: CredentialId = "ONEP12345674".parse().unwrap();
        let mut e = expected(&cid);
        let mut claims = claims_for(&e);
        claims.dec = DecisionVerdict::Deny;
        assert!(check_claims(&claims, &e).is_err());
        e.number = Some(42);
        let mut claims = claims_for(&e);
        claims.num = Some(24);
        assert!(check_claims(&claims, &e).unwrap_err().contains("number"));
    }

    #[test]
    fn another_keys_signature_is_refused() {
        let cid: CredentialId = "ONEP12345674".parse().unwrap();
        let e = expected(&cid);
        let jws = jws::sign_decision(&DeviceKey::generate(), &claims_for(&e));
        assert!(jws::verify_decision(&jws, &DeviceKey::generate().public_jwk(), &cid).is_err());
    }
}
