//! Device request proof verification on arbitrary input.
//!
//! Input: `token \n method \n url \n body` (the body is the rest, any bytes). The proof
//! is checked against the fixed key's JWK at `NOW` with `MAX_SKEW`, and, when its header
//! carries a valid `jwk` (the provisioning request), against that key too.
//!
//! - `peek_proof` and `verify_proof` never panic.
//! - The replay callback is called only when everything else passed: exactly when the
//!   result is `Ok` or `Replayed`, with the proof's own `jti` and `iat`, whose claims
//!   (decoded here independently) match the request's method and body hash and are
//!   within the clock skew.
//! - The same proof presented again to the same `jti` store is `Replayed`.
//!
//! The seeds hold proofs signed by the fixed key (by `kid` and with an embedded `jwk`)
//! for the request they come with, so mutations reach every check after the signature.
#![no_main]

use std::cell::RefCell;
use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use onepush_fuzz::{JWK, MAX_SKEW, NOW, sha256_b64};
use onepush_protocol::proof::{ProofCheck, ProofError, peek_proof, verify_proof};
use onepush_protocol::{Jwk, b64};

/// The proof's claims, decoded without the crate under test.
fn raw_claims(token: &str) -> serde_json::Value {
    let payload = token
        .split('.')
        .nth(1)
        .expect("a verified proof has claims");
    serde_json::from_slice(&b64::decode(payload).expect("base64url")).expect("JSON")
}

fn check(token: &str, jwk: &Jwk, check: &ProofCheck<'_>) {
    let seen: RefCell<HashSet<String>> = RefCell::default();
    let calls: RefCell<Vec<(String, i64)>> = RefCell::default();
    let replay = |jti: &str, iat: i64| {
        calls.borrow_mut().push((jti.to_owned(), iat));
        seen.borrow_mut().insert(jti.to_owned())
    };
    let result = verify_proof(token, jwk, check, replay);
    let calls = calls.into_inner();
    let called = !calls.is_empty();
    assert!(
        calls.len() <= 1,
        "replay callback called {} times",
        calls.len()
    );
    assert_eq!(
        called,
        matches!(result, Ok(_) | Err(ProofError::Replayed)),
        "replay callback called: {called}, result {result:?}"
    );
    if !called {
        assert!(
            !result
                .as_ref()
                .err()
                .map(ToString::to_string)
                .unwrap_or_default()
                .is_empty()
        );
        return;
    }

    // Everything before the replay check passed: check it independently.
    let (jti, iat) = &calls[0];
    let claims = raw_claims(token);
    assert_eq!(claims["jti"].as_str(), Some(jti.as_str()));
    assert_eq!(claims["iat"].as_i64(), Some(*iat));
    assert!((1..=64).contains(&jti.len()), "jti {jti:?}");
    assert_eq!(claims["htm"].as_str(), Some(check.method));
    assert_eq!(claims["bh"].as_str(), Some(sha256_b64(check.body).as_str()));
    assert!(
        (i128::from(check.now) - i128::from(*iat)).unsigned_abs()
            <= u128::from(check.max_skew.unsigned_abs())
    );
    let verified = result.expect("a first use is fresh");
    assert_eq!(&verified.jti, jti);
    assert_eq!(verified.iat, *iat);

    // The same proof again is a replay, and the callback sees it.
    let again = verify_proof(token, jwk, check, |jti, _| {
        seen.borrow_mut().insert(jti.to_owned())
    });
    assert_eq!(again, Err(ProofError::Replayed));
}

fuzz_target!(|data: &[u8]| {
    let mut fields = data.splitn(4, |b| *b == b'\n');
    let (Some(token), Some(method), Some(url)) = (fields.next(), fields.next(), fields.next())
    else {
        return;
    };
    let body = fields.next().unwrap_or_default();
    let (Ok(token), Ok(method), Ok(url)) = (
        std::str::from_utf8(token),
        std::str::from_utf8(method),
        std::str::from_utf8(url),
    ) else {
        return;
    };
    let request = ProofCheck {
        method,
        url,
        body,
        now: NOW,
        max_skew: MAX_SKEW,
    };
    check(token, &JWK, &request);
    if let Ok(unverified) = peek_proof(token) {
        assert!(unverified.kid.is_some() != unverified.jwk.is_some());
        if let Some(jwk) = unverified.jwk {
            jwk.validate()
                .expect("peek_proof validates the embedded jwk");
            check(token, &jwk, &request);
        }
    }
});
