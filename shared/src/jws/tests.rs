use super::*;
use crate::b64;
use proptest::prelude::*;
use serde_json::{Value, json};

fn cid() -> CredentialId {
    "ONEP12345674".parse().unwrap()
}

fn claims() -> DecisionClaims {
    DecisionClaims {
        v: 1,
        chl: "01890a5d-ac96-774b-bcce-b302099a8057".parse().unwrap(),
        tnt: "acme-bank".parse().unwrap(),
        sub: "user.01".parse().unwrap(),
        cid: cid(),
        knd: ChallengeKind::Transaction,
        ctx: "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU".into(),
        num: Some(42),
        dec: DecisionVerdict::Approve,
        rsn: None,
        uv: true,
        iat: 1_700_000_000,
        nonce: "n-0123456789".into(),
    }
}

/// A token with any header and claims JSON, signed by `key` (or with `signature`).
fn token(header: &Value, claims: &Value, signature: Option<&[u8]>, key: &DeviceKey) -> String {
    match signature {
        None => jose::sign(key, header, claims),
        Some(sig) => format!(
            "{}.{}.{}",
            b64::encode(header.to_string()),
            b64::encode(claims.to_string()),
            b64::encode(sig)
        ),
    }
}

fn header(alg: &str) -> Value {
    json!({"alg": alg, "typ": DECISION_TYP, "kid": "ONEP12345674"})
}

fn claims_json() -> Value {
    serde_json::to_value(claims()).unwrap()
}

#[test]
fn signed_decision_verifies_and_returns_its_claims() {
    let key = DeviceKey::generate();
    let jws = sign_decision(&key, &claims());
    assert_eq!(
        verify_decision(&jws, &key.public_jwk(), &cid()),
        Ok(claims())
    );
    let (header, peeked) = peek_decision(&jws).unwrap();
    assert_eq!(
        header,
        DecisionHeader {
            alg: "ES256".into(),
            typ: DECISION_TYP.into(),
            kid: "ONEP12345674".into()
        }
    );
    assert_eq!(peeked, claims());
}

#[test]
fn denial_with_reason_round_trips() {
    let key = DeviceKey::generate();
    let denial = DecisionClaims {
        dec: DecisionVerdict::Deny,
        rsn: Some(DenyReason::NotMe),
        num: None,
        ..claims()
    };
    let jws = sign_decision(&key, &denial);
    assert_eq!(verify_decision(&jws, &key.public_jwk(), &cid()), Ok(denial));
}

#[test]
fn absent_options_are_omitted_and_null_is_accepted() {
    let plain = DecisionClaims {
        num: None,
        rsn: None,
        ..claims()
    };
    let json = serde_json::to_value(&plain).unwrap();
    assert!(
        json.get("num").is_none() && json.get("rsn").is_none(),
        "{json}"
    );
    let mut with_nulls = json.clone();
    with_nulls["num"] = Value::Null;
    with_nulls["rsn"] = Value::Null;
    assert_eq!(
        serde_json::from_value::<DecisionClaims>(with_nulls).unwrap(),
        plain
    );
    assert_eq!(json["dec"], "approve");
    assert_eq!(serde_json::to_value(DenyReason::NotMe).unwrap(), "not_me");
    assert_eq!(
        serde_json::to_value(DenyReason::Declined).unwrap(),
        "declined"
    );
    assert_eq!(serde_json::to_value(DecisionVerdict::Deny).unwrap(), "deny");
}

#[test]
fn unknown_claims_are_refused() {
    let key = DeviceKey::generate();
    let mut extra = claims_json();
    extra["admin"] = json!(true);
    let jws = token(&header("ES256"), &extra, None, &key);
    let err = verify_decision(&jws, &key.public_jwk(), &cid()).unwrap_err();
    assert!(
        matches!(&err, JwsError::Malformed(m) if m.contains("unknown field `admin`")),
        "{err}"
    );
}

#[test]
fn alg_none_is_refused() {
    let key = DeviceKey::generate();
    let jws = token(&header("none"), &claims_json(), Some(b""), &key);
    assert!(jws.ends_with('.'));
    assert_eq!(
        verify_decision(&jws, &key.public_jwk(), &cid()),
        Err(JwsError::UnsupportedAlg("none".into()))
    );
}

#[test]
fn hmac_signed_with_the_public_key_is_refused() {
    // The classic confusion: HS256 keyed with the public JWK's text.
    let key = DeviceKey::generate();
    let jwk = key.public_jwk();
    let mac_key = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        serde_json::to_string(&jwk).unwrap().as_bytes(),
    );
    let input = format!(
        "{}.{}",
        b64::encode(header("HS256").to_string()),
        b64::encode(claims_json().to_string())
    );
    let tag = ring::hmac::sign(&mac_key, input.as_bytes());
    let jws = format!("{input}.{}", b64::encode(tag.as_ref()));
    assert_eq!(
        verify_decision(&jws, &jwk, &cid()),
        Err(JwsError::UnsupportedAlg("HS256".into()))
    );
}

#[test]
fn other_algorithms_are_refused() {
    let key = DeviceKey::generate();
    for alg in ["RS256", "ES384", "PS256", "EdDSA", "es256", ""] {
        let jws = token(&header(alg), &claims_json(), None, &key);
        assert_eq!(
            verify_decision(&jws, &key.public_jwk(), &cid()),
            Err(JwsError::UnsupportedAlg(alg.into()))
        );
    }
}

#[test]
fn another_key_with_the_same_kid_is_a_bad_signature() {
    let registered = DeviceKey::generate();
    let attacker = DeviceKey::generate();
    let jws = sign_decision(&attacker, &claims());
    assert_eq!(
        verify_decision(&jws, &registered.public_jwk(), &cid()),
        Err(JwsError::BadSignature)
    );
}

#[test]
fn wrong_kid_names_both_credentials() {
    let key = DeviceKey::generate();
    let jws = sign_decision(&key, &claims());
    let other: CredentialId = "ONEP00000000".parse().unwrap();
    let err = verify_decision(&jws, &key.public_jwk(), &other).unwrap_err();
    assert_eq!(
        err,
        JwsError::WrongKeyId {
            expected: "ONEP00000000".into(),
            found: "ONEP12345674".into()
        }
    );
    assert!(err.to_string().contains("ONEP00000000"), "{err}");
}

#[test]
fn claims_cid_must_match_the_kid() {
    let key = DeviceKey::generate();
    let mut other = claims_json();
    other["cid"] = json!("ONEP00000000");
    let jws = token(&header("ES256"), &other, None, &key);
    assert_eq!(
        verify_decision(&jws, &key.public_jwk(), &cid()),
        Err(JwsError::WrongKeyId {
            expected: "ONEP12345674".into(),
            found: "ONEP00000000".into()
        })
    );
}

#[test]
fn wrong_or_missing_typ_is_refused() {
    let key = DeviceKey::generate();
    let mut jwt = header("ES256");
    jwt["typ"] = json!("JWT");
    let jws = token(&jwt, &claims_json(), None, &key);
    assert_eq!(
        verify_decision(&jws, &key.public_jwk(), &cid()),
        Err(JwsError::WrongType("JWT".into()))
    );
    jwt.as_object_mut().unwrap().remove("typ");
    let jws = token(&jwt, &claims_json(), None, &key);
    assert!(matches!(
        verify_decision(&jws, &key.public_jwk(), &cid()),
        Err(JwsError::Malformed(m)) if m.contains("typ")
    ));
}

#[test]
fn crit_and_non_object_headers_are_refused() {
    let key = DeviceKey::generate();
    let mut crit = header("ES256");
    crit["crit"] = json!(["exp"]);
    for bad in [
        crit,
        json!(["ES256"]),
        json!({"alg": 256, "typ": DECISION_TYP, "kid": "x"}),
    ] {
        let jws = token(&bad, &claims_json(), None, &key);
        assert!(
            matches!(
                verify_decision(&jws, &key.public_jwk(), &cid()),
                Err(JwsError::Malformed(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn structure_errors_are_malformed_with_a_reason() {
    let key = DeviceKey::generate();
    let jws = sign_decision(&key, &claims());
    let jwk = key.public_jwk();
    let (input, _) = jws.rsplit_once('.').unwrap();
    let cases = [
        (input.to_owned(), "2 parts"),
        (format!("{jws}.x"), "4 parts"),
        (String::new(), "1 parts"),
        (
            format!("{}.{}", "e30=", &jws[jws.find('.').unwrap() + 1..]),
            "base64url",
        ),
        (format!("{input}.!!"), "signature"),
    ];
    for (bad, reason) in cases {
        match verify_decision(&bad, &jwk, &cid()) {
            Err(JwsError::Malformed(message)) => assert!(message.contains(reason), "{message}"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

#[test]
fn signature_of_the_wrong_length_is_bad() {
    let key = DeviceKey::generate();
    let jws = sign_decision(&key, &claims());
    let (input, _) = jws.rsplit_once('.').unwrap();
    for len in [0, 63, 65, 72] {
        let bad = format!("{input}.{}", b64::encode(vec![1u8; len]));
        assert_eq!(
            verify_decision(&bad, &key.public_jwk(), &cid()),
            Err(JwsError::BadSignature)
        );
    }
}

#[test]
fn invalid_key_is_a_bad_signature() {
    let key = DeviceKey::generate();
    let jws = sign_decision(&key, &claims());
    let mut jwk = key.public_jwk();
    jwk.crv = "P-384".into();
    assert_eq!(
        verify_decision(&jws, &jwk, &cid()),
        Err(JwsError::BadSignature)
    );
}

#[test]
fn peek_does_not_verify_but_needs_the_shape() {
    let attacker = DeviceKey::generate();
    let jws = sign_decision(&attacker, &claims());
    assert!(peek_decision(&jws).is_ok());
    assert!(matches!(peek_decision("a.b"), Err(JwsError::Malformed(_))));
    let no_kid = token(
        &json!({"alg": "ES256", "typ": DECISION_TYP}),
        &claims_json(),
        None,
        &attacker,
    );
    assert!(matches!(peek_decision(&no_kid), Err(JwsError::Malformed(m)) if m.contains("kid")));
}

/// Decodes the three parts of a token into bytes.
fn decoded_parts(jws: &str) -> [Vec<u8>; 3] {
    let mut parts = jws.split('.').map(|p| b64::decode(p).unwrap());
    [
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any byte of the token text replaced by any other character is refused.
    #[test]
    fn any_changed_character_is_refused(pick in any::<prop::sample::Index>(), replacement in any::<u8>()) {
        let key = DeviceKey::from_bytes(&[7u8; 32]).unwrap();
        let jws = sign_decision(&key, &claims());
        let mut bytes = jws.clone().into_bytes();
        let at = pick.index(bytes.len());
        prop_assume!(bytes[at] != replacement);
        bytes[at] = replacement;
        let changed = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert!(verify_decision(&changed, &key.public_jwk(), &cid()).is_err());
    }

    /// Any decoded byte of header, claims or signature changed and validly re-encoded
    /// is refused.
    #[test]
    fn any_changed_decoded_byte_is_refused(part in 0usize..3, pick in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let key = DeviceKey::from_bytes(&[7u8; 32]).unwrap();
        let jws = sign_decision(&key, &claims());
        let mut parts = decoded_parts(&jws);
        let at = pick.index(parts[part].len());
        parts[part][at] ^= flip;
        let changed = parts.iter().map(b64::encode).collect::<Vec<_>>().join(".");
        prop_assert!(verify_decision(&changed, &key.public_jwk(), &cid()).is_err());
    }
}
