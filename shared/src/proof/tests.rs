use super::*;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::cell::Cell;
use std::collections::HashSet;

const NOW: i64 = 1_700_000_000;
const URL: &str = "https://relay.example.com/v1/device/challenges/0189/decision";
const BODY: &[u8] = br#"{"jws":"a.b.c"}"#;

fn cid() -> CredentialId {
    "ONEP12345674".parse().unwrap()
}

fn check() -> ProofCheck<'static> {
    ProofCheck {
        method: "POST",
        url: URL,
        body: BODY,
        now: NOW,
        max_skew: 60,
    }
}

fn fresh(_: &str, _: i64) -> bool {
    true
}

fn signed(key: &DeviceKey) -> String {
    sign_proof(key, ProofSigner::Credential(&cid()), "POST", URL, BODY, NOW)
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&b64::decode(payload).unwrap()).unwrap()
}

#[test]
fn signed_proof_verifies() {
    let key = DeviceKey::generate();
    let token = signed(&key);
    let claims = verify_proof(&token, &key.public_jwk(), &check(), fresh).unwrap();
    assert_eq!(claims.htm, "POST");
    assert_eq!(claims.htu, URL);
    assert_eq!(claims.iat, NOW);
    assert_eq!(claims.bh, body_hash(BODY));
    assert_eq!(b64::decode(&claims.jti).unwrap().len(), 16);
    assert_eq!(
        peek_proof(&token).unwrap(),
        UnverifiedProof {
            kid: Some(cid()),
            jwk: None
        }
    );
}

#[test]
fn provisioning_proof_embeds_the_key() {
    let key = DeviceKey::generate();
    let token = sign_proof(&key, ProofSigner::EmbeddedJwk, "POST", URL, BODY, NOW);
    let peeked = peek_proof(&token).unwrap();
    assert_eq!(
        peeked,
        UnverifiedProof {
            kid: None,
            jwk: Some(key.public_jwk())
        }
    );
    verify_proof(&token, &key.public_jwk(), &check(), fresh).unwrap();
    // Checked against a key other than the one it names: refused.
    let other = DeviceKey::generate();
    let forged = sign_proof(&other, ProofSigner::EmbeddedJwk, "POST", URL, BODY, NOW);
    assert_eq!(
        verify_proof(&forged, &key.public_jwk(), &check(), fresh),
        Err(ProofError::BadSignature)
    );
}

#[test]
fn empty_body_hashes_the_empty_string() {
    let key = DeviceKey::generate();
    let token = sign_proof(&key, ProofSigner::Credential(&cid()), "GET", URL, b"", NOW);
    // SHA-256("") = e3b0c442...
    assert_eq!(
        claims_of(&token)["bh"],
        "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
    );
    let get = ProofCheck {
        method: "GET",
        body: b"",
        ..check()
    };
    verify_proof(&token, &key.public_jwk(), &get, fresh).unwrap();
}

#[test]
fn second_use_of_a_proof_is_replayed() {
    let key = DeviceKey::generate();
    let token = signed(&key);
    let mut seen = HashSet::new();
    let mut remember = |jti: &str, _iat: i64| seen.insert(jti.to_owned());
    assert!(verify_proof(&token, &key.public_jwk(), &check(), &mut remember).is_ok());
    assert_eq!(
        verify_proof(&token, &key.public_jwk(), &check(), &mut remember),
        Err(ProofError::Replayed)
    );
}

#[test]
fn replay_callback_runs_only_after_every_other_check() {
    let key = DeviceKey::generate();
    let token = signed(&key);
    let called = Cell::new(false);
    let record = |_: &str, _: i64| {
        called.set(true);
        true
    };
    let other_body = ProofCheck {
        body: b"{}",
        ..check()
    };
    assert_eq!(
        verify_proof(&token, &key.public_jwk(), &other_body, record),
        Err(ProofError::BodyMismatch)
    );
    assert!(!called.get());
}

#[test]
fn proof_for_another_url_is_refused() {
    let key = DeviceKey::generate();
    let token = signed(&key);
    let other = ProofCheck {
        url: "https://relay.example.com/v1/device/accounts",
        ..check()
    };
    assert_eq!(
        verify_proof(&token, &key.public_jwk(), &other, fresh),
        Err(ProofError::UrlMismatch {
            expected: "https://relay.example.com/v1/device/accounts".into(),
            found: URL.into()
        })
    );
}

#[test]
fn url_comparison_ignores_query_case_of_host_and_default_port() {
    let key = DeviceKey::generate();
    let token = sign_proof(
        &key,
        ProofSigner::Credential(&cid()),
        "POST",
        &format!("{URL}?wait=30#frag"),
        BODY,
        NOW,
    );
    assert_eq!(claims_of(&token)["htu"], URL);
    for url in [
        format!("{URL}?x=1"),
        URL.replace("https://relay.example.com", "HTTPS://Relay.Example.COM"),
        URL.replace("example.com", "example.com:443"),
    ] {
        let same = ProofCheck {
            url: &url,
            ..check()
        };
        assert!(
            verify_proof(&token, &key.public_jwk(), &same, fresh).is_ok(),
            "{url}"
        );
    }
    // The path stays case-sensitive, and another port is another origin.
    for url in [
        URL.replace("/v1/", "/V1/"),
        URL.replace("example.com", "example.com:8443"),
    ] {
        let other = ProofCheck {
            url: &url,
            ..check()
        };
        assert!(
            matches!(
                verify_proof(&token, &key.public_jwk(), &other, fresh),
                Err(ProofError::UrlMismatch { .. })
            ),
            "{url}"
        );
    }
    assert_eq!(normalize_url("http://Host"), "http://host/");
    assert_eq!(normalize_url("http://host:80/a?b#c"), "http://host/a");
}

#[test]
fn proof_for_another_body_is_refused() {
    let key = DeviceKey::generate();
    let other = ProofCheck {
        body: br#"{"jws":"a.b.d"}"#,
        ..check()
    };
    assert_eq!(
        verify_proof(&signed(&key), &key.public_jwk(), &other, fresh),
        Err(ProofError::BodyMismatch)
    );
}

#[test]
fn proof_for_another_method_is_refused() {
    let key = DeviceKey::generate();
    for method in ["PUT", "post"] {
        let other = ProofCheck { method, ..check() };
        assert_eq!(
            verify_proof(&signed(&key), &key.public_jwk(), &other, fresh),
            Err(ProofError::MethodMismatch {
                expected: method.into(),
                found: "POST".into()
            })
        );
    }
}

#[test]
fn clock_skew_is_refused_in_both_directions_and_explained() {
    let key = DeviceKey::generate();
    let token = signed(&key);
    for (now, side) in [(NOW + 61, "behind"), (NOW - 61, "ahead of")] {
        let at = ProofCheck { now, ..check() };
        let err = verify_proof(&token, &key.public_jwk(), &at, fresh).unwrap_err();
        assert_eq!(err, ProofError::ClockSkew { iat: NOW, now });
        let message = err.to_string();
        assert!(
            message.contains("61 seconds") && message.contains(side),
            "{message}"
        );
        assert!(message.contains("date and time"), "{message}");
    }
    for now in [NOW - 60, NOW + 60] {
        let edge = ProofCheck { now, ..check() };
        assert!(verify_proof(&token, &key.public_jwk(), &edge, fresh).is_ok());
    }
}

#[test]
fn proof_by_another_key_is_refused() {
    let key = DeviceKey::generate();
    let other = DeviceKey::generate();
    assert_eq!(
        verify_proof(&signed(&other), &key.public_jwk(), &check(), fresh),
        Err(ProofError::BadSignature)
    );
}

fn hand_made(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64::encode(header.to_string()),
        b64::encode(claims.to_string()),
        b64::encode(signature)
    )
}

#[test]
fn alg_none_and_other_algorithms_are_refused() {
    let key = DeviceKey::generate();
    let claims = claims_of(&signed(&key));
    for alg in ["none", "HS256", "RS256"] {
        let token = hand_made(
            &json!({"typ": PROOF_TYP, "alg": alg, "kid": cid()}),
            &claims,
            b"",
        );
        assert_eq!(
            verify_proof(&token, &key.public_jwk(), &check(), fresh),
            Err(ProofError::UnsupportedAlg(alg.into()))
        );
    }
}

#[test]
fn wrong_typ_is_refused() {
    let key = DeviceKey::generate();
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "kid": cid()});
    let token = jose::sign(&key, &header, &claims_of(&signed(&key)));
    assert_eq!(
        verify_proof(&token, &key.public_jwk(), &check(), fresh),
        Err(ProofError::WrongType("dpop+jwt".into()))
    );
}

#[test]
fn missing_claims_and_oversized_jti_are_malformed() {
    let key = DeviceKey::generate();
    let header = json!({"typ": PROOF_TYP, "alg": "ES256", "kid": cid()});
    let mut claims = claims_of(&signed(&key));
    claims.as_object_mut().unwrap().remove("bh");
    let token = jose::sign(&key, &header, &claims);
    assert!(matches!(
        verify_proof(&token, &key.public_jwk(), &check(), fresh),
        Err(ProofError::Malformed(m)) if m.contains("bh")
    ));
    let mut claims = claims_of(&signed(&key));
    claims["jti"] = json!("j".repeat(MAX_JTI_LEN + 1));
    let token = jose::sign(&key, &header, &claims);
    assert!(matches!(
        verify_proof(&token, &key.public_jwk(), &check(), fresh),
        Err(ProofError::Malformed(m)) if m.contains("jti")
    ));
}

#[test]
fn peek_needs_exactly_one_valid_key_reference() {
    let key = DeviceKey::generate();
    let claims = claims_of(&signed(&key));
    let jwk = serde_json::to_value(key.public_jwk()).unwrap();
    let mut bad_jwk = jwk.clone();
    bad_jwk["crv"] = json!("P-521");
    for header in [
        json!({"typ": PROOF_TYP, "alg": "ES256"}),
        json!({"typ": PROOF_TYP, "alg": "ES256", "kid": cid(), "jwk": jwk}),
        json!({"typ": PROOF_TYP, "alg": "ES256", "kid": "ONEP12345675"}),
        json!({"typ": PROOF_TYP, "alg": "ES256", "kid": 5}),
        json!({"typ": PROOF_TYP, "alg": "ES256", "jwk": bad_jwk}),
    ] {
        let token = hand_made(&header, &claims, &[0; 64]);
        assert!(
            matches!(peek_proof(&token), Err(ProofError::Malformed(_))),
            "{header}"
        );
    }
    assert!(matches!(
        peek_proof("only.two"),
        Err(ProofError::Malformed(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_changed_character_is_refused(pick in any::<prop::sample::Index>(), replacement in any::<u8>()) {
        let key = DeviceKey::from_bytes(&[9u8; 32]).unwrap();
        let token = signed(&key);
        let mut bytes = token.into_bytes();
        let at = pick.index(bytes.len());
        prop_assume!(bytes[at] != replacement);
        bytes[at] = replacement;
        let changed = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert!(verify_proof(&changed, &key.public_jwk(), &check(), fresh).is_err());
    }

    #[test]
    fn skew_within_the_limit_is_accepted(offset in -60i64..=60) {
        let key = DeviceKey::from_bytes(&[9u8; 32]).unwrap();
        let at = ProofCheck { now: NOW + offset, ..check() };
        prop_assert!(verify_proof(&signed(&key), &key.public_jwk(), &at, fresh).is_ok());
    }
}
