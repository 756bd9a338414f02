//! Compact JWS plumbing (RFC 7515 §7.1) shared by [`crate::jws`] and [`crate::proof`]:
//! splitting, decoding, the header checks both share, and signing.
//!
//! Signatures are always checked over the exact ASCII `header.payload` text that
//! arrived, never over re-serialised JSON.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::b64;
use crate::keys::DeviceKey;

/// The only signature algorithm OnePush accepts (RFC 7518 §3.4).
pub(crate) const ES256: &str = "ES256";

/// The three base64url parts of a compact JWS, as they arrived.
pub(crate) struct Parts<'a> {
    /// `header_b64 "." payload_b64`: the bytes the signature covers.
    pub signing_input: &'a str,
    pub header_b64: &'a str,
    pub payload_b64: &'a str,
    pub signature_b64: &'a str,
}

/// Splits a compact JWS into exactly three parts.
pub(crate) fn split(token: &str) -> Result<Parts<'_>, String> {
    let count = token.split('.').count();
    if count != 3 {
        return Err(format!(
            "expected a compact JWS of 3 base64url parts separated by '.', got {count} parts"
        ));
    }
    let (signing_input, signature_b64) = token.rsplit_once('.').unwrap_or_default();
    let (header_b64, payload_b64) = signing_input.split_once('.').unwrap_or_default();
    Ok(Parts {
        signing_input,
        header_b64,
        payload_b64,
        signature_b64,
    })
}

/// Decodes a base64url part into JSON of type `T`; `what` names the part in errors.
pub(crate) fn decode_json<T: DeserializeOwned>(part: &str, what: &str) -> Result<T, String> {
    let bytes =
        b64::decode(part).map_err(|e| format!("{what} is not base64url without padding: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{what} is not valid JSON: {e}"))
}

/// Decodes the signature part; its length is checked by the verifier.
pub(crate) fn decode_signature(part: &str) -> Result<Vec<u8>, String> {
    b64::decode(part).map_err(|e| format!("signature is not base64url without padding: {e}"))
}

/// What is wrong with a JOSE header, before the signature is looked at.
pub(crate) enum HeaderProblem {
    /// Not an object, a member of the wrong type, or `crit` present.
    Malformed(String),
    /// `alg` is not `ES256`.
    Alg(String),
    /// `typ` is not the expected one.
    Typ(String),
}

/// Decodes the header object and checks `crit`, `alg` and `typ`.
pub(crate) fn checked_header(part: &str, typ: &str) -> Result<Map<String, Value>, HeaderProblem> {
    let header: Value = decode_json(part, "header").map_err(HeaderProblem::Malformed)?;
    let Value::Object(header) = header else {
        return Err(HeaderProblem::Malformed(
            "header must be a JSON object".to_owned(),
        ));
    };
    if header.contains_key("crit") {
        return Err(HeaderProblem::Malformed(
            "header has \"crit\"; no critical extensions are supported".to_owned(),
        ));
    }
    let alg = string_member(&header, "alg").map_err(HeaderProblem::Malformed)?;
    if alg != ES256 {
        return Err(HeaderProblem::Alg(alg.to_owned()));
    }
    let found = string_member(&header, "typ").map_err(HeaderProblem::Malformed)?;
    if found != typ {
        return Err(HeaderProblem::Typ(found.to_owned()));
    }
    Ok(header)
}

/// A required string member of a header.
pub(crate) fn string_member<'h>(
    header: &'h Map<String, Value>,
    name: &str,
) -> Result<&'h str, String> {
    match header.get(name) {
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(format!("header \"{name}\" must be a string")),
        None => Err(format!("header has no \"{name}\"")),
    }
}

/// Signs `claims` under `header` with ES256 and returns the compact JWS.
pub(crate) fn sign(key: &DeviceKey, header: &impl Serialize, claims: &impl Serialize) -> String {
    let header = serde_json::to_vec(header).expect("a header serialises");
    let claims = serde_json::to_vec(claims).expect("claims serialise");
    let signing_input = format!("{}.{}", b64::encode(header), b64::encode(claims));
    let signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", b64::encode(signature))
}
