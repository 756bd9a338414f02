//! Offline codes: OCRA, the OATH Challenge-Response Algorithm (RFC 6287).
//!
//! A phone without network can still approve one transaction: the bank shows a QR
//! payload ([`OfflinePayload`]: the transaction's context, who asks, and a nonce), the
//! app shows the transaction exactly as a push prompt would and, after the user's ✓,
//! computes an 8-digit response over a *question* it derives itself from that payload
//! ([`question`]), so the code is bound to the transaction the user saw. The bank posts
//! the code to the relay, which computes the same question and checks the code.
//!
//! # The suite: [`SUITE`] = `OCRA-1:HOTP-SHA256-8:QH64-T1M`
//!
//! - **HOTP-SHA256**: HMAC-SHA-256 (RFC 6287 §5.1) over a 32-byte per-credential key
//!   ([`OcraKey`]); SHA-1 is legacy-only in `ring`, and SHA-512 adds nothing at 8 digits.
//! - **8 digits**: the longest truncation RFC 4226 allows a human to type comfortably;
//!   10⁻⁸ per guess, and wrong codes count toward the binding's OTP lock.
//! - **QH64**: the question is 64 hexadecimal digits, exactly one SHA-256 output, so the
//!   whole transaction (bank, user, context digest, nonce) is in the question, not only a
//!   truncated part of it (photoTAN-style signing needs the whole hash).
//! - **T1M**: a one-minute time step bounds the code's life without a counter to keep
//!   in sync (a phone that is offline cannot tell the relay its counter). The relay
//!   accepts the steps from the offline challenge's creation to its deadline (±1 step for
//!   clocks), and each challenge once.
//! - No `C` (counter), `P` (PIN) or `S` (session): the app's vault already sits behind
//!   the device's own lock, and the nonce in the question makes every question unique.
//!
//! [`Suite`] parses and [`generate`] computes any suite of RFC 6287 §6 (the building
//! blocks of its Appendix C: HOTP-SHA1/256/512 with 0 or 4–10 digits, `C`, `QN`/`QA`/
//! `QH`, `PSHA1`/`PSHA256`/`PSHA512`, `Snnn`, `T` with seconds, minutes or hours), so the
//! Appendix C vectors check this code (`tests/ocra_vectors.rs`).

use std::fmt;
use std::fmt::Write as _;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use crate::challenge::ChallengeKind;
use crate::context::Context;
use crate::ids::ChallengeId;
use crate::secret::{FixedSecret, SecretKind};

/// The suite OnePush's offline codes use (see the module documentation for why).
pub const SUITE: &str = "OCRA-1:HOTP-SHA256-8:QH64-T1M";
/// Digits in an offline code.
pub const DIGITS: usize = 8;
/// Seconds in a time step of [`SUITE`].
pub const STEP_SECONDS: i64 = 60;
/// Bytes in an [`OcraKey`] (the HMAC-SHA-256 output size).
pub const KEY_LEN: usize = 32;
/// Bytes in an offline challenge's nonce.
pub const NONCE_LEN: usize = 16;
/// The payload format version ([`OfflinePayload::v`]).
pub const PAYLOAD_VERSION: u8 = 1;
/// Longest payload accepted, in characters (a QR code of version 40-L holds 2,953 bytes).
pub const MAX_PAYLOAD_CHARS: usize = 2_900;

/// Why an OCRA computation, code, key or payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OcraError {
    /// The suite string is not an RFC 6287 §6 suite this code supports.
    #[error("OCRA suite is invalid: {0}")]
    BadSuite(String),
    /// An input the suite asks for is missing or malformed.
    #[error("OCRA input is invalid: {0}")]
    BadInput(String),
    /// The key is not [`KEY_LEN`] bytes of base32.
    #[error("OCRA key is invalid: {0}")]
    BadKey(String),
    /// Not exactly eight digits.
    #[error("offline code must be exactly 8 digits")]
    Malformed,
    /// Not the code of this question at any step in the window.
    #[error("offline code is wrong, late, or for another transaction")]
    Invalid,
    /// The payload is not one this version reads.
    #[error("offline payload is invalid: {0}")]
    BadPayload(String),
}

/// The hash of the HMAC (`HOTP-SHAx`) or of the PIN (`PSHAx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// SHA-1 (20 bytes).
    Sha1,
    /// SHA-256 (32 bytes).
    Sha256,
    /// SHA-512 (64 bytes).
    Sha512,
}

impl Hash {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "SHA1" => Some(Self::Sha1),
            "SHA256" => Some(Self::Sha256),
            "SHA512" => Some(Self::Sha512),
            _ => None,
        }
    }

    /// Output bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }

    fn hmac(self) -> ring::hmac::Algorithm {
        match self {
            Self::Sha1 => ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => ring::hmac::HMAC_SHA256,
            Self::Sha512 => ring::hmac::HMAC_SHA512,
        }
    }
}

/// How the question is written (`QN`, `QA`, `QH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionFormat {
    /// `N`: decimal digits.
    Numeric,
    /// `A`: alphanumeric characters.
    Alphanumeric,
    /// `H`: hexadecimal digits.
    Hex,
}

/// A parsed OCRA suite (RFC 6287 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suite {
    text: String,
    /// The HMAC's hash.
    pub hash: Hash,
    /// Digits of the response; 0 means the whole HMAC in hexadecimal.
    pub digits: u32,
    /// Whether a counter `C` is an input.
    pub counter: bool,
    /// The question's format.
    pub question_format: QuestionFormat,
    /// The question's longest length, 4–64.
    pub question_max: usize,
    /// The PIN hash `PSHAx`, when a PIN is an input.
    pub pin: Option<Hash>,
    /// The session information's length in bytes (`Snnn`), when it is an input.
    pub session: Option<usize>,
    /// The time step in seconds (`T1M` = 60), when a timestamp is an input.
    pub time_step: Option<u64>,
}

impl Suite {
    /// The suite as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Suite {
    type Err = OcraError;

    fn from_str(text: &str) -> Result<Self, OcraError> {
        let bad = |why: &str| OcraError::BadSuite(format!("{text:?}: {why}"));
        let mut parts = text.split(':');
        let (Some(version), Some(crypto), Some(data), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("must be Algorithm:CryptoFunction:DataInput"));
        };
        if version != "OCRA-1" {
            return Err(bad("only OCRA-1 is defined"));
        }
        let mut crypto_parts = crypto.split('-');
        let (Some("HOTP"), Some(hash), Some(digits), None) = (
            crypto_parts.next(),
            crypto_parts.next(),
            crypto_parts.next(),
            crypto_parts.next(),
        ) else {
            return Err(bad("the crypto function must be HOTP-SHAx-t"));
        };
        let hash =
            Hash::parse(hash).ok_or_else(|| bad("the hash must be SHA1, SHA256 or SHA512"))?;
        let digits: u32 = digits
            .parse()
            .ok()
            .filter(|d| *d == 0 || (4..=10).contains(d))
            .ok_or_else(|| bad("the digits must be 0 or 4 to 10"))?;

        let mut items = data.split('-').peekable();
        let counter = items.next_if_eq(&"C").is_some();
        let q = items
            .next()
            .ok_or_else(|| bad("a question Qxnn is required"))?;
        let (question_format, question_max) = parse_question(q)
            .ok_or_else(|| bad("the question must be QNnn, QAnn or QHnn with nn from 04 to 64"))?;
        let mut suite = Self {
            text: text.to_owned(),
            hash,
            digits,
            counter,
            question_format,
            question_max,
            pin: None,
            session: None,
            time_step: None,
        };
        // The optional inputs, in the RFC's order: P, then S, then T.
        let mut rank = 0;
        for item in items {
            if let Some(h) = item.strip_prefix("PSHA") {
                if rank >= 1 {
                    return Err(bad("P, S and T come in this order, each once"));
                }
                rank = 1;
                suite.pin = Some(
                    Hash::parse(&format!("SHA{h}"))
                        .ok_or_else(|| bad("the PIN hash must be PSHA1, PSHA256 or PSHA512"))?,
                );
            } else if let Some(n) = item.strip_prefix('S') {
                if rank >= 2 {
                    return Err(bad("P, S and T come in this order, each once"));
                }
                rank = 2;
                suite.session = Some(
                    n.parse()
                        .ok()
                        .filter(|_| n.len() == 3)
                        .ok_or_else(|| bad("the session length must be Snnn"))?,
                );
            } else if let Some(g) = item.strip_prefix('T') {
                if rank >= 3 {
                    return Err(bad("P, S and T come in this order, each once"));
                }
                rank = 3;
                suite.time_step = Some(
                    parse_time_step(g)
                        .ok_or_else(|| bad("the time step must be 1-59S, 1-59M or 0-48H"))?,
                );
            } else {
                return Err(bad(&format!("unknown data input {item:?}")));
            }
        }
        Ok(suite)
    }
}

fn parse_question(q: &str) -> Option<(QuestionFormat, usize)> {
    let rest = q.strip_prefix('Q')?;
    let format = match rest.chars().next()? {
        'N' => QuestionFormat::Numeric,
        'A' => QuestionFormat::Alphanumeric,
        'H' => QuestionFormat::Hex,
        _ => return None,
    };
    let len = &rest[1..];
    if len.len() != 2 {
        return None;
    }
    let max: usize = len.parse().ok()?;
    (4..=64).contains(&max).then_some((format, max))
}

fn parse_time_step(g: &str) -> Option<u64> {
    let unit = g.chars().last()?;
    let n: u64 = g[..g.len() - unit.len_utf8()].parse().ok()?;
    match unit {
        'S' if (1..=59).contains(&n) => Some(n),
        'M' if (1..=59).contains(&n) => Some(n * 60),
        'H' if n <= 48 => Some(n * 3600),
        _ => None,
    }
}

/// The inputs of one computation; each must be given exactly when the suite asks for it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inputs<'a> {
    /// `C`: the counter.
    pub counter: Option<u64>,
    /// `Q`: the question, written as the suite's format says (decimal, text or hex); up
    /// to the suite's length, or twice that for a mutual challenge (two concatenated).
    pub question: &'a str,
    /// `P`: the PIN's hash (as many bytes as the suite's `PSHAx`).
    pub pin_hash: Option<&'a [u8]>,
    /// `S`: the session information (at most the suite's `Snnn` bytes; left-padded with
    /// zeros).
    pub session: Option<&'a [u8]>,
    /// `T`: the number of time steps since the Unix epoch.
    pub time_steps: Option<u64>,
}

/// The RFC 6287 §5 `DataInput`: `suite ‖ 0x00 ‖ C ‖ Q ‖ P ‖ S ‖ T`.
fn data_input(suite: &Suite, inputs: &Inputs<'_>) -> Result<Vec<u8>, OcraError> {
    let bad = |why: String| OcraError::BadInput(why);
    let mut msg = suite.text.as_bytes().to_vec();
    msg.push(0);
    match (suite.counter, inputs.counter) {
        (true, Some(c)) => msg.extend_from_slice(&c.to_be_bytes()),
        (false, None) => {}
        (true, None) => return Err(bad("the suite asks for a counter".into())),
        (false, Some(_)) => return Err(bad("the suite has no counter".into())),
    }
    msg.extend_from_slice(&question_bytes(suite, inputs.question)?);
    match (suite.pin, inputs.pin_hash) {
        (Some(h), Some(p)) if p.len() == h.output_len() => msg.extend_from_slice(p),
        (Some(h), _) => {
            return Err(bad(format!(
                "the suite asks for a {}-byte PIN hash",
                h.output_len()
            )));
        }
        (None, None) => {}
        (None, Some(_)) => return Err(bad("the suite has no PIN".into())),
    }
    match (suite.session, inputs.session) {
        (Some(n), Some(s)) if s.len() <= n => {
            msg.extend(std::iter::repeat_n(0u8, n - s.len()));
            msg.extend_from_slice(s);
        }
        (Some(n), _) => {
            return Err(bad(format!(
                "the suite asks for at most {n} bytes of session"
            )));
        }
        (None, None) => {}
        (None, Some(_)) => return Err(bad("the suite has no session information".into())),
    }
    match (suite.time_step, inputs.time_steps) {
        (Some(_), Some(t)) => msg.extend_from_slice(&t.to_be_bytes()),
        (None, None) => {}
        (Some(_), None) => return Err(bad("the suite asks for a timestamp".into())),
        (None, Some(_)) => return Err(bad("the suite has no timestamp".into())),
    }
    Ok(msg)
}

/// The question as 128 bytes (RFC 6287 §5.1): the hexadecimal digits (of the number, for
/// `QN`; as given, for `QH`) left-aligned and padded with `0` digits, or the characters
/// (for `QA`) padded with zero bytes.
fn question_bytes(suite: &Suite, q: &str) -> Result<[u8; 128], OcraError> {
    let bad = |why: &str| OcraError::BadInput(format!("question: {why}"));
    // Mutual challenge-response (RFC 6287 §7.3) concatenates the client's and the
    // server's challenges, each up to the suite's length.
    let max = 2 * suite.question_max;
    if q.len() < 4 || q.len() > max {
        return Err(bad(&format!("must be 4 to {max} characters")));
    }
    let mut out = [0u8; 128];
    let hex: String = match suite.question_format {
        QuestionFormat::Alphanumeric => {
            if !q.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(bad("must be printable ASCII"));
            }
            out[..q.len()].copy_from_slice(q.as_bytes());
            return Ok(out);
        }
        QuestionFormat::Numeric => {
            if !q.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("must be decimal digits"));
            }
            decimal_to_hex(q)
        }
        QuestionFormat::Hex => {
            if !q.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad("must be hexadecimal digits"));
            }
            q.to_ascii_lowercase()
        }
    };
    for (i, digit) in hex.bytes().enumerate() {
        let nibble = u8::try_from(char::from(digit).to_digit(16).unwrap_or(0)).unwrap_or(0);
        out[i / 2] |= if i % 2 == 0 { nibble << 4 } else { nibble };
    }
    Ok(out)
}

/// A decimal number of up to 64 digits in hexadecimal, without leading zeros ("0" → "").
fn decimal_to_hex(decimal: &str) -> String {
    // Base 2^32 limbs, least significant first: 64 decimal digits fit in 7 limbs.
    let mut limbs: Vec<u32> = Vec::new();
    for d in decimal.bytes() {
        let mut carry = u64::from(d - b'0');
        for limb in &mut limbs {
            let v = u64::from(*limb) * 10 + carry;
            *limb = u32::try_from(v & 0xffff_ffff).unwrap_or(0);
            carry = v >> 32;
        }
        if carry > 0 {
            limbs.push(u32::try_from(carry).unwrap_or(0));
        }
    }
    let mut hex = String::new();
    for l in limbs.iter().rev() {
        let _ = write!(hex, "{l:08x}");
    }
    let trimmed = hex.trim_start_matches('0').len();
    hex.drain(..hex.len() - trimmed);
    hex
}

/// The OCRA response of `suite` for `key` and `inputs` (RFC 6287 §5.2): the HMAC of the
/// `DataInput`, truncated as HOTP does (RFC 4226 §5.3) to the suite's digits, or the whole
/// HMAC in hexadecimal for 0 digits.
pub fn generate(suite: &Suite, key: &[u8], inputs: &Inputs<'_>) -> Result<String, OcraError> {
    let msg = data_input(suite, inputs)?;
    let tag = ring::hmac::sign(&ring::hmac::Key::new(suite.hash.hmac(), key), &msg);
    let mac = tag.as_ref();
    if suite.digits == 0 {
        return Ok(to_hex(mac));
    }
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        mac[offset],
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]) & 0x7fff_ffff;
    let width = usize::try_from(suite.digits).unwrap_or(0);
    Ok(format!(
        "{:0width$}",
        u64::from(binary) % 10u64.pow(suite.digits)
    ))
}

/// A credential's 32-byte OCRA key. Zeroized on drop; `Debug` does not show it.
pub type OcraKey = FixedSecret<KEY_LEN, Ocra>;

/// The kind of an [`OcraKey`].
#[derive(Debug)]
pub enum Ocra {}

impl SecretKind for Ocra {
    const NAME: &'static str = "OcraKey";
    type Error = OcraError;
    fn bad(detail: String) -> OcraError {
        OcraError::BadKey(detail)
    }
}

/// The time step of [`SUITE`] at `now` (Unix seconds): minutes since the epoch.
pub fn step_at(now: i64) -> u64 {
    u64::try_from(now.div_euclid(STEP_SECONDS)).unwrap_or(0)
}

fn suite() -> Suite {
    SUITE.parse().expect("SUITE parses")
}

/// The 8-digit response of [`SUITE`] to a 64-hex-digit question at time step `step`.
pub fn response_at_step(key: &OcraKey, question_hex: &str, step: u64) -> Result<String, OcraError> {
    generate(
        &suite(),
        key.as_bytes(),
        &Inputs {
            question: question_hex,
            time_steps: Some(step),
            ..Inputs::default()
        },
    )
}

/// The 8-digit response of [`SUITE`] at `now` (Unix seconds).
pub fn response(key: &OcraKey, question_hex: &str, now: i64) -> Result<String, OcraError> {
    response_at_step(key, question_hex, step_at(now))
}

/// Checks an 8-digit response to `question_hex` for every step in `steps` (each compared
/// in constant time, even after a match). Returns the matched step.
///
/// # Errors
/// [`OcraError::Malformed`] unless exactly eight ASCII digits; [`OcraError::Invalid`]
/// when it is the response of no step in `steps`.
pub fn verify(
    key: &OcraKey,
    question_hex: &str,
    code: &str,
    steps: std::ops::RangeInclusive<u64>,
) -> Result<u64, OcraError> {
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(OcraError::Malformed);
    }
    let mut found = None;
    for step in steps {
        let expected = response_at_step(key, question_hex, step)?;
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            found = Some(step);
        }
    }
    found.ok_or(OcraError::Invalid)
}

/// The question of an offline challenge: SHA-256 over a label, the bank (tenant), the
/// user, the context's RFC 8785 digest, the challenge's kind and its nonce, as 64
/// lower-case hexadecimal digits ([`SUITE`]'s `QH64`):
///
/// `SHA-256("onepush-ocra-v1" ‖ 0 ‖ tenant ‖ 0 ‖ user ‖ 0 ‖ kind ‖ 0 ‖ digest(32) ‖ nonce(16))`
pub fn question(
    tenant: &str,
    user: &str,
    kind: ChallengeKind,
    context: &Context,
    nonce: &[u8; NONCE_LEN],
) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [
        b"onepush-ocra-v1".as_slice(),
        tenant.as_bytes(),
        user.as_bytes(),
        kind.as_str().as_bytes(),
    ] {
        ctx.update(part);
        ctx.update(&[0]);
    }
    ctx.update(&context.digest());
    ctx.update(nonce);
    to_hex(ctx.finish().as_ref())
}

/// Lower-case hexadecimal.
fn to_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// What a bank shows as a QR code (or text) for an offline code: everything the app needs
/// to show the transaction and to derive the [`question`] itself. Written as base64url
/// (no padding) of its JSON, with one-letter names to keep the QR code small.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfflinePayload {
    /// Format version, [`PAYLOAD_VERSION`].
    pub v: u8,
    /// The offline challenge's ID (what the bank verifies the code against).
    pub i: ChallengeId,
    /// The bank (tenant ID).
    pub t: String,
    /// The bank's user.
    pub u: String,
    /// The challenge kind (`login` or `transaction`).
    pub k: ChallengeKind,
    /// The context to show (as the bank sent it).
    pub c: Context,
    /// The nonce, base64url.
    pub n: String,
    /// The deadline, Unix seconds.
    pub e: i64,
}

impl OfflinePayload {
    /// The payload as text: base64url of its JSON (the context in canonical order).
    pub fn encode(&self) -> String {
        let json = serde_json::json!({
            "v": self.v,
            "i": self.i,
            "t": self.t,
            "u": self.u,
            "k": self.k,
            "c": serde_json::from_str::<serde_json::Value>(&self.c.canonical_json())
                .unwrap_or_default(),
            "n": self.n,
            "e": self.e,
        });
        crate::b64::encode(json.to_string())
    }

    /// Reads a payload (surrounding white space ignored).
    pub fn decode(text: &str) -> Result<Self, OcraError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(OcraError::BadPayload("it is empty".into()));
        }
        if text.len() > MAX_PAYLOAD_CHARS {
            return Err(OcraError::BadPayload(format!(
                "longer than {MAX_PAYLOAD_CHARS} characters"
            )));
        }
        let json =
            crate::b64::decode(text).map_err(|_| OcraError::BadPayload("not base64url".into()))?;
        let payload: Self = serde_json::from_slice(&json)
            .map_err(|e| OcraError::BadPayload(format!("not an offline payload: {e}")))?;
        if payload.v != PAYLOAD_VERSION {
            return Err(OcraError::BadPayload(format!(
                "version {} is not supported (this app reads version {PAYLOAD_VERSION})",
                payload.v
            )));
        }
        payload.nonce()?;
        Ok(payload)
    }

    /// The nonce's bytes.
    pub fn nonce(&self) -> Result<[u8; NONCE_LEN], OcraError> {
        crate::b64::decode_array(&self.n).ok_or_else(|| {
            OcraError::BadPayload(format!("the nonce is not {NONCE_LEN} bytes of base64url"))
        })
    }

    /// The question this payload asks ([`question`]).
    pub fn question(&self) -> Result<String, OcraError> {
        Ok(question(&self.t, &self.u, self.k, &self.c, &self.nonce()?))
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn decimal_to_hex_matches_small_numbers() {
        assert_eq!(decimal_to_hex("0"), "");
        assert_eq!(decimal_to_hex("00000000"), "");
        assert_eq!(decimal_to_hex("12345678"), "bc614e");
        assert_eq!(decimal_to_hex("22222222"), "153158e");
        assert_eq!(decimal_to_hex("18446744073709551616"), "10000000000000000");
    }

    #[test]
    fn suites_that_are_not_rfc_6287_are_refused() {
        for bad in [
            "OCRA-2:HOTP-SHA1-6:QN08",
            "OCRA-1:HOTP-MD5-6:QN08",
            "OCRA-1:HOTP-SHA1-3:QN08",
            "OCRA-1:HOTP-SHA1-6:QN03",
            "OCRA-1:HOTP-SHA1-6:QX08",
            "OCRA-1:HOTP-SHA1-6:QN08-T60M",
            "OCRA-1:HOTP-SHA1-6:QN08-T1M-PSHA1",
            "OCRA-1:HOTP-SHA1-6",
        ] {
            assert!(bad.parse::<Suite>().is_err(), "{bad}");
        }
        let s: Suite = SUITE.parse().unwrap();
        assert_eq!(s.hash, Hash::Sha256);
        assert_eq!(s.question_format, QuestionFormat::Hex);
        assert_eq!(s.question_max, 64);
        assert_eq!(s.time_step, Some(60));
        assert_eq!(s.digits, 8);
    }

    #[test]
    fn inputs_must_match_the_suite() {
        let s: Suite = SUITE.parse().unwrap();
        let key = [1u8; 32];
        let q = "ab".repeat(32);
        assert!(
            generate(
                &s,
                &key,
                &Inputs {
                    question: &q,
                    ..Inputs::default()
                }
            )
            .is_err()
        );
        assert!(
            generate(
                &s,
                &key,
                &Inputs {
                    question: &"ab".repeat(65),
                    time_steps: Some(1),
                    ..Inputs::default()
                }
            )
            .is_err()
        );
        assert!(
            generate(
                &s,
                &key,
                &Inputs {
                    question: "xyz0",
                    time_steps: Some(1),
                    ..Inputs::default()
                }
            )
            .is_err()
        );
    }

    #[test]
    fn verify_finds_the_step_and_refuses_others() {
        let key = OcraKey::generate();
        let q = "0f".repeat(32);
        let code = response(&key, &q, 600).unwrap();
        assert_eq!(code.len(), 8);
        assert_eq!(verify(&key, &q, &code, 9..=11), Ok(10));
        assert_eq!(verify(&key, &q, &code, 11..=12), Err(OcraError::Invalid));
        assert_eq!(
            verify(&key, &"1f".repeat(32), &code, 9..=11),
            Err(OcraError::Invalid)
        );
        assert_eq!(
            verify(&key, &q, "1234567", 9..=11),
            Err(OcraError::Malformed)
        );
    }

    #[test]
    fn payload_round_trips_and_binds_the_question() {
        let context = Context::from_value(serde_json::json!({"amount": "1000", "currency": "JPY", "payee": "X", "reference": "r"})).unwrap();
        let p = OfflinePayload {
            v: PAYLOAD_VERSION,
            i: ChallengeId::new(),
            t: "bank".into(),
            u: "alice".into(),
            k: ChallengeKind::Transaction,
            c: context,
            n: crate::b64::encode([7u8; NONCE_LEN]),
            e: 1_700_000_000,
        };
        let text = p.encode();
        let back = OfflinePayload::decode(&text).unwrap();
        assert_eq!(back, p);
        let q = back.question().unwrap();
        assert_eq!(q.len(), 64);
        let mut other = back.clone();
        other.u = "bob".into();
        assert_ne!(other.question().unwrap(), q);
        assert!(OfflinePayload::decode("!!").is_err());
        assert!(OfflinePayload::decode("").is_err());
    }
}
