//! Decision JWS parsing and verification on arbitrary text.
//!
//! - `peek_decision` and `verify_decision` (against the fixed key `onepush_fuzz::KEY`,
//!   credential `ONEP12345674`) never panic.
//! - Whatever verifies also peeks, to the same claims, with header `alg` ES256, the
//!   decision `typ` and `kid` = the expected credential (so `alg: none`, HS256 and
//!   friends never get through).
//! - Refusals are consistent: an "unsupported alg" is never ES256, a "wrong type" never
//!   the decision type, a "wrong key id" never names the expected ID as found.
//! - A `jwk` the token carries in its header (unvalidated) is also tried as the
//!   verification key, so arbitrary JWKs and points reach the key checks and ring.
//!
//! The seeds hold a token signed by the fixed key (reaching the claim checks), and
//! `alg: none`, HS256 and ES384 variants of it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onepush_fuzz::{CID, JWK};
use onepush_protocol::jws::{DECISION_TYP, JwsError, peek_decision, verify_decision};
use onepush_protocol::{Jwk, b64};

/// The `jwk` member of the token's header, if there is one shaped like a JWK.
fn header_jwk(token: &str) -> Option<Jwk> {
    let header = b64::decode(token.split('.').next()?).ok()?;
    let header: serde_json::Value = serde_json::from_slice(&header).ok()?;
    serde_json::from_value(header.get("jwk")?.clone()).ok()
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let peeked = peek_decision(token);
    let verified = verify_decision(token, &JWK, &CID);
    match &verified {
        Ok(claims) => {
            let (header, peeked_claims) = peeked.expect("a token that verifies also peeks");
            assert_eq!(&peeked_claims, claims);
            assert_eq!(header.alg, "ES256");
            assert_eq!(header.typ, DECISION_TYP);
            assert_eq!(header.kid, CID.as_str());
            assert_eq!(claims.cid, *CID);
            assert_eq!(token.split('.').count(), 3);
        }
        Err(JwsError::UnsupportedAlg(alg)) => assert_ne!(alg, "ES256"),
        Err(JwsError::WrongType(typ)) => assert_ne!(typ, DECISION_TYP),
        Err(JwsError::WrongKeyId { expected, found }) => assert_ne!(expected, found),
        Err(err) => assert!(!err.to_string().is_empty()),
    }
    if let Some(jwk) = header_jwk(token)
        && let Ok(claims) = verify_decision(token, &jwk, &CID)
    {
        // Only the holder of that key's secret can have made this token.
        assert_eq!(claims.cid, *CID);
    }
});
