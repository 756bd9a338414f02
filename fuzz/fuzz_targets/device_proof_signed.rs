//! Device request proofs signed with the fixed key for one request (fuzz-chosen method,
//! URL, body, time, signer kind), then checked against another (or the same) request.
//!
//! - A proof checked against the request it was made for (within the clock skew) is
//!   accepted when its `jti` is fresh and `Replayed` when not.
//! - A different method is `MethodMismatch`; the same method and URL with a different
//!   body is `BodyMismatch`; the same URL (query and fragment aside) is never a
//!   `UrlMismatch`; out of the skew window (and all else equal) is `ClockSkew`.
//! - The replay callback is called only when method, body and time all passed.
//! - The signature stage always passes: a proof this crate signs is well formed.
#![no_main]

use std::cell::Cell;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use onepush_fuzz::{CID, JWK, KEY};
use onepush_protocol::proof::{ProofCheck, ProofError, ProofSigner, sign_proof, verify_proof};

#[derive(Debug, Arbitrary)]
struct Input {
    method: String,
    url: String,
    body: Vec<u8>,
    iat: i64,
    embedded_jwk: bool,
    request_method: Option<String>,
    request_url: Option<String>,
    request_body: Option<Vec<u8>>,
    clock_offset: i64,
    max_skew: i64,
    fresh: bool,
}

fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or_default()
}

fuzz_target!(|input: Input| {
    let signer = if input.embedded_jwk {
        ProofSigner::EmbeddedJwk
    } else {
        ProofSigner::Credential(&CID)
    };
    let token = sign_proof(
        &KEY,
        signer,
        &input.method,
        &input.url,
        &input.body,
        input.iat,
    );
    let request = ProofCheck {
        method: input.request_method.as_deref().unwrap_or(&input.method),
        url: input.request_url.as_deref().unwrap_or(&input.url),
        body: input.request_body.as_deref().unwrap_or(&input.body),
        now: input.iat.saturating_add(input.clock_offset),
        max_skew: input.max_skew,
    };
    let called = Cell::new(false);
    let result = verify_proof(&token, &JWK, &request, |jti, iat| {
        assert!(!called.replace(true), "replay callback called twice");
        assert_eq!(jti.len(), 22);
        assert_eq!(iat, input.iat);
        input.fresh
    });

    let same_method = request.method == input.method;
    let same_url = without_query(request.url) == without_query(&input.url);
    let same_body = request.body == input.body.as_slice();
    let in_window = (i128::from(request.now) - i128::from(input.iat)).unsigned_abs()
        <= u128::from(request.max_skew.unsigned_abs());

    assert!(
        !matches!(
            result,
            Err(ProofError::Malformed(_)
                | ProofError::UnsupportedAlg(_)
                | ProofError::WrongType(_)
                | ProofError::BadSignature)
        ),
        "a proof signed here failed its signature stage: {result:?}"
    );
    assert_eq!(
        called.get(),
        matches!(result, Ok(_) | Err(ProofError::Replayed))
    );
    if called.get() {
        assert!(same_method && same_body && in_window, "{result:?}");
    }
    if !same_method {
        assert!(
            matches!(result, Err(ProofError::MethodMismatch { .. })),
            "{result:?}"
        );
    } else if same_url {
        if !same_body {
            assert_eq!(result, Err(ProofError::BodyMismatch));
        } else if !in_window {
            assert!(
                matches!(result, Err(ProofError::ClockSkew { .. })),
                "{result:?}"
            );
        } else if input.fresh {
            let claims = result.expect("the proof for this very request");
            assert_eq!(claims.htm, input.method);
            assert_eq!(claims.htu, without_query(&input.url));
            assert_eq!(claims.iat, input.iat);
        } else {
            assert_eq!(result, Err(ProofError::Replayed));
        }
    }
});
