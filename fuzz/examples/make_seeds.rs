//! Writes the seed corpora in `fuzz/seeds/<target>/` (run from `fuzz/`:
//! `cargo run --example make_seeds`). The seeds are committed; rerun this only to change
//! them. Proof seeds carry a random `jti`, so they differ on every run.
//!
//! Everything is signed with the fixed, public test key `onepush_fuzz::KEY`.

use std::fs;
use std::path::Path;

use onepush_fuzz::{CID, JWK, KEY, NOW, RFC8291};
use onepush_protocol::jws::{DECISION_TYP, sign_decision};
use onepush_protocol::proof::{ProofSigner, sign_proof};
use onepush_protocol::{ChallengeKind, DecisionClaims, DecisionVerdict, DenyReason, b64};
use serde_json::{Value, json};

const URL: &str =
    "https://relay.example.com/v1/device/challenges/01890a5d-ac96-774b-bcce-b302099a8057/decision";
const BODY: &[u8] = br#"{"jws":"a.b.c"}"#;

fn write(target: &str, name: &str, bytes: impl AsRef<[u8]>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    fs::create_dir_all(&dir).expect("create the seed directory");
    fs::write(dir.join(name), bytes).expect("write a seed");
}

fn claims() -> DecisionClaims {
    DecisionClaims {
        v: 1,
        chl: "01890a5d-ac96-774b-bcce-b302099a8057"
            .parse()
            .expect("UUID v7"),
        tnt: "acme-bank".parse().expect("tenant"),
        sub: "user.01".parse().expect("user"),
        cid: CID.clone(),
        knd: ChallengeKind::Transaction,
        ctx: "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU".into(),
        num: Some(42),
        dec: DecisionVerdict::Approve,
        rsn: None,
        uv: true,
        iat: NOW,
        nonce: "n-0123456789".into(),
    }
}

/// A compact JWS of `header` and `claims`: ES256-signed by the fixed key, or with
/// `signature` as given.
fn token(header: &Value, claims: &Value, signature: Option<&[u8]>) -> String {
    let input = format!(
        "{}.{}",
        b64::encode(header.to_string()),
        b64::encode(claims.to_string())
    );
    let signature = match signature {
        Some(bytes) => bytes.to_vec(),
        None => KEY.sign(input.as_bytes()).to_vec(),
    };
    format!("{input}.{}", b64::encode(signature))
}

fn credential_id() {
    for (name, text) in [
        ("valid-compact", "ONEP12345674"),
        ("valid-grouped", "ONEP 1234 5674"),
        ("valid-lower-hyphens", "onep-1234-5674"),
        ("bad-check-digit", "ONEP12345675"),
        ("bad-prefix", "ON3P12345674"),
        ("bad-digits", "ONEP1234567X"),
        ("short", "ONEP1234"),
        ("multi-byte-prefix", "ÖNEP12345674"),
        ("multi-byte-split", "3==÷=2===÷=2"),
        ("challenge-id", "01890a5d-ac96-774b-bcce-b302099a8057"),
        ("tenant-id", "acme-bank"),
        ("user-id", "user.01@corp"),
    ] {
        write("credential_id", name, text);
    }
}

fn decision_jws() {
    let claims_json = serde_json::to_value(claims()).expect("claims serialise");
    let header = |alg: &str| json!({"alg": alg, "typ": DECISION_TYP, "kid": CID.as_str()});
    write(
        "decision_jws",
        "valid-approve",
        sign_decision(&KEY, &claims()),
    );
    let denial = DecisionClaims {
        dec: DecisionVerdict::Deny,
        rsn: Some(DenyReason::NotMe),
        num: None,
        ..claims()
    };
    write(
        "decision_jws",
        "valid-deny-not-me",
        sign_decision(&KEY, &denial),
    );
    write(
        "decision_jws",
        "alg-none",
        token(&header("none"), &claims_json, Some(b"")),
    );
    // HS256 keyed with the public JWK's text: the classic key confusion.
    let mac_key = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        serde_json::to_string(&*JWK).expect("JWK").as_bytes(),
    );
    let input = format!(
        "{}.{}",
        b64::encode(header("HS256").to_string()),
        b64::encode(claims_json.to_string())
    );
    let tag = ring::hmac::sign(&mac_key, input.as_bytes());
    write(
        "decision_jws",
        "alg-hs256-public-key",
        format!("{input}.{}", b64::encode(tag.as_ref())),
    );
    write(
        "decision_jws",
        "alg-es384",
        token(&header("ES384"), &claims_json, None),
    );
    let mut jwt = header("ES256");
    jwt["typ"] = json!("JWT");
    write("decision_jws", "typ-jwt", token(&jwt, &claims_json, None));
    let mut crit = header("ES256");
    crit["crit"] = json!(["exp"]);
    write("decision_jws", "crit", token(&crit, &claims_json, None));
    let mut with_jwk = header("ES256");
    with_jwk["jwk"] = serde_json::to_value(&*JWK).expect("JWK");
    write(
        "decision_jws",
        "embedded-jwk",
        token(&with_jwk, &claims_json, None),
    );
    let mut extra = claims_json.clone();
    extra["admin"] = json!(true);
    write(
        "decision_jws",
        "unknown-claim",
        token(&header("ES256"), &extra, None),
    );
}

fn tamper_and_signed() {
    // Any bytes are a valid input to the `Arbitrary` targets: these only give them a
    // start with non-empty strings and both enum variants.
    let text = b"acme-bank\0user.01@corp\0n-0123456789\0approve\x01\x00\x2a\x07\x00";
    write("decision_jws_tamper", "text", text);
    write(
        "decision_jws_tamper",
        "bytes",
        (0u8..=255).collect::<Vec<u8>>(),
    );
    write(
        "device_proof_signed",
        "post",
        [b"POST\0".as_slice(), URL.as_bytes(), b"\0", BODY].concat(),
    );
    write(
        "device_proof_signed",
        "bytes",
        (0u8..=255).rev().collect::<Vec<u8>>(),
    );
}

fn device_proof() {
    let request = |token: &str, method: &str, url: &str, body: &[u8]| {
        [
            token.as_bytes(),
            b"\n",
            method.as_bytes(),
            b"\n",
            url.as_bytes(),
            b"\n",
            body,
        ]
        .concat()
    };
    let by_kid = sign_proof(&KEY, ProofSigner::Credential(&CID), "POST", URL, BODY, NOW);
    write(
        "device_proof",
        "valid-kid",
        request(&by_kid, "POST", URL, BODY),
    );
    let provisioning = "https://relay.example.com/v1/device/credentials";
    let body = br#"{"code":"123456"}"#;
    let embedded = sign_proof(
        &KEY,
        ProofSigner::EmbeddedJwk,
        "POST",
        provisioning,
        body,
        NOW,
    );
    write(
        "device_proof",
        "valid-embedded-jwk",
        request(&embedded, "POST", provisioning, body),
    );
    let get = sign_proof(
        &KEY,
        ProofSigner::Credential(&CID),
        "GET",
        "https://relay.example.com:443/v1/device/challenges?wait=30",
        b"",
        NOW - 100,
    );
    write(
        "device_proof",
        "valid-get-default-port",
        request(
            &get,
            "GET",
            "HTTPS://Relay.Example.com/v1/device/challenges",
            b"",
        ),
    );
    let header = json!({"typ": "onepush-proof+jwt", "alg": "none", "kid": CID.as_str()});
    let claims = json!({"htm": "POST", "htu": URL, "iat": NOW, "jti": "x", "bh": "y"});
    write(
        "device_proof",
        "alg-none",
        request(&token(&header, &claims, Some(b"")), "POST", URL, BODY),
    );
}

fn context() {
    let samples: [(&str, &str); 9] = [
        (
            "transaction",
            r#"{"type":"transfer","amount":"150000","currency":"JPY","payee":"Tanaka Taro","account":"****1234"}"#,
        ),
        (
            "login",
            r#"{"app":"Acme Online Banking","ip":"203.0.113.7","browser":"Firefox 128 on Linux","location":{"city":"Osaka","country":"JP"}}"#,
        ),
        (
            "rfc8785-string",
            r#"{"string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/"}"#,
        ),
        ("rfc8785-literals", r#"{"literals": [true, false]}"#),
        (
            "rfc8785-sorting",
            r#"{"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis"}"#,
        ),
        (
            "rfc8785-example-refused",
            r#"{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}"#,
        ),
        (
            "integers",
            r#"{"max":9007199254740991,"min":-9007199254740991,"over":9007199254740992}"#,
        ),
        (
            "nested",
            r#"{"b":{"y":1,"x":[2,{"d":true,"c":"s"}]},"a":-5,"bidi":"\u202eevil\u202c"}"#,
        ),
        ("null-and-float", r#"{"a":{"b":null},"amount":10.5}"#),
    ];
    for (name, text) in samples {
        write("context", name, text);
    }
}

fn webpush() {
    let all: Value = serde_json::from_str(include_str!("../../shared/tests/vectors/rfc.json"))
        .expect("rfc.json");
    let v = &all["rfc8291_webpush_aes128gcm"];
    let body = b64::decode(v["body"].as_str().expect("body")).expect("base64url");
    write("webpush_decrypt", "rfc8291-appendix-a", &body);
    write("webpush_decrypt", "header-only", &body[..86]);
    let payload = br#"{"v":1,"type":"challenge","id":"01890a5d-ac96-774b-bcce-b302099a8057"}"#;
    write("webpush_roundtrip", "challenge-payload", payload);
    write(
        "webpush_roundtrip",
        "rfc8291-plaintext",
        v["plaintext_utf8"].as_str().expect("plaintext"),
    );
    assert_eq!(RFC8291.public.len(), 65);
}

fn main() {
    credential_id();
    decision_jws();
    tamper_and_signed();
    device_proof();
    context();
    webpush();
    println!("seeds written to fuzz/seeds/");
}
