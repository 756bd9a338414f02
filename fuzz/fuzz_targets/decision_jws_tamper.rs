//! Decision JWS integrity: claims built from the fuzz input are signed with the fixed
//! `DeviceKey`, then one byte is changed.
//!
//! - The untouched token verifies to exactly the claims signed, and peeks to them.
//! - It does not verify with another key.
//! - With one character of the token text replaced, or one decoded byte of its header,
//!   claims or signature changed and validly re-encoded, verification fails, unless the
//!   token came out unchanged (then it must still verify).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use onepush_fuzz::{CID, JWK, KEY, luhn};
use onepush_protocol::jws::{DECISION_TYP, peek_decision, sign_decision, verify_decision};
use onepush_protocol::{
    ChallengeKind, CredentialId, DecisionClaims, DecisionVerdict, DenyReason, DeviceKey, b64,
};

#[derive(Debug, Arbitrary)]
struct Input {
    chl: [u8; 16],
    tnt: String,
    sub: String,
    cid_prefix: [u8; 4],
    cid_digits: [u8; 7],
    use_fixed_cid: bool,
    knd: u8,
    ctx: String,
    num: Option<u8>,
    approve: bool,
    not_me: Option<bool>,
    uv: bool,
    iat: i64,
    nonce: String,
    tamper: Tamper,
}

#[derive(Debug, Arbitrary)]
enum Tamper {
    /// Replace the byte at `at` (modulo the length) of the token text.
    Text { at: usize, byte: u8 },
    /// XOR one byte of the decoded header (0), claims (1) or signature (2), re-encode.
    Decoded { part: u8, at: usize, xor: u8 },
}

/// A UUID version 7 (RFC 9562 §5.7) text from 16 arbitrary bytes.
fn uuid_v7(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x70;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The characters of `text` that `allowed` keeps, at most `max`, or `fallback` when none.
fn keep(text: &str, allowed: fn(char) -> bool, max: usize, fallback: &str) -> String {
    let kept: String = text.chars().filter(|c| allowed(*c)).take(max).collect();
    if kept.is_empty() {
        fallback.to_owned()
    } else {
        kept
    }
}

fn claims(input: &Input) -> DecisionClaims {
    let cid: CredentialId = if input.use_fixed_cid {
        CID.clone()
    } else {
        let mut id: Vec<u8> = input.cid_prefix.iter().map(|b| b'A' + b % 26).collect();
        let digits: Vec<u8> = input.cid_digits.iter().map(|b| b'0' + b % 10).collect();
        id.extend_from_slice(&digits);
        id.push(luhn(&digits));
        String::from_utf8(id)
            .expect("ASCII")
            .parse()
            .expect("a credential ID with a valid check digit")
    };
    let tnt = keep(
        &input.tnt,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
        32,
        "acme-bank",
    );
    let sub = keep(
        &input.sub,
        |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+'),
        64,
        "user.01",
    );
    DecisionClaims {
        v: 1,
        chl: uuid_v7(input.chl).parse().expect("a UUID v7"),
        tnt: tnt.parse().expect("a valid tenant ID"),
        sub: sub.parse().expect("a valid user ID"),
        cid,
        knd: ChallengeKind::ALL[usize::from(input.knd) % ChallengeKind::ALL.len()],
        ctx: input.ctx.clone(),
        num: input.num,
        dec: if input.approve {
            DecisionVerdict::Approve
        } else {
            DecisionVerdict::Deny
        },
        rsn: input.not_me.map(|not_me| {
            if not_me {
                DenyReason::NotMe
            } else {
                DenyReason::Declined
            }
        }),
        uv: input.uv,
        iat: input.iat,
        nonce: input.nonce.clone(),
    }
}

fuzz_target!(|input: Input| {
    static OTHER: std::sync::LazyLock<DeviceKey> =
        std::sync::LazyLock::new(|| DeviceKey::from_bytes(&[9u8; 32]).expect("a scalar"));

    let claims = claims(&input);
    let token = sign_decision(&KEY, &claims);
    assert_eq!(
        verify_decision(&token, &JWK, &claims.cid),
        Ok(claims.clone())
    );
    let (header, peeked) = peek_decision(&token).expect("a signed token peeks");
    assert_eq!(peeked, claims);
    assert_eq!(
        (
            header.alg.as_str(),
            header.typ.as_str(),
            header.kid.as_str()
        ),
        ("ES256", DECISION_TYP, claims.cid.as_str())
    );
    assert!(verify_decision(&token, &OTHER.public_jwk(), &claims.cid).is_err());

    let changed = match input.tamper {
        Tamper::Text { at, byte } => {
            let mut bytes = token.clone().into_bytes();
            let at = at % bytes.len();
            bytes[at] = byte;
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Tamper::Decoded { part, at, xor } => {
            let mut parts: Vec<Vec<u8>> = token
                .split('.')
                .map(|p| b64::decode(p).expect("the signer's base64url"))
                .collect();
            let part = &mut parts[usize::from(part % 3)];
            let at = at % part.len();
            part[at] ^= xor;
            parts.iter().map(b64::encode).collect::<Vec<_>>().join(".")
        }
    };
    let result = verify_decision(&changed, &JWK, &claims.cid);
    if changed == token {
        assert_eq!(result, Ok(claims));
    } else {
        assert!(
            result.is_err(),
            "changed token verified:\n  signed  {token}\n  changed {changed}\n  {result:?}"
        );
    }
});
