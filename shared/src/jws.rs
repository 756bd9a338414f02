//! The signed decision: a compact JWS (RFC 7515 §7.1), `alg` `ES256`, `typ`
//! [`DECISION_TYP`], `kid` = the credential ID, over [`DecisionClaims`].
//!
//! A bank can check one with any JOSE library against the credential's JWK
//! (`GET /v1/credentials/{cid}/jwk`); [`verify_decision`] is the same check done here.

use serde::{Deserialize, Serialize};

use crate::challenge::ChallengeKind;
use crate::ids::{ChallengeId, CredentialId, TenantId, UserId};
use crate::jose::{self, HeaderProblem};
use crate::keys::{self, DeviceKey, Jwk};

/// The JOSE `typ` header of a decision (RFC 7515 §4.1.9).
pub const DECISION_TYP: &str = "onepush-decision+jws";

/// The user's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DecisionVerdict {
    /// The user tapped ✓: let the login or transaction through.
    Approve,
    /// The user tapped ×.
    Deny,
}

/// Why the user denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DenyReason {
    /// "This wasn't me": someone else is trying; the relay treats it as fraud and
    /// locks the binding.
    NotMe,
    /// The user started it but does not want it to go ahead.
    Declined,
}

/// The claims of a decision JWS. Unknown claims are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionClaims {
    /// Claims version, `1`.
    pub v: u8,
    /// The challenge answered (UUID v7 text).
    pub chl: ChallengeId,
    /// The bank that asked.
    pub tnt: TenantId,
    /// The bank's user.
    pub sub: UserId,
    /// The credential that signed, compact (`ONEP12345678`); equals the header `kid`.
    pub cid: CredentialId,
    /// The challenge kind.
    pub knd: ChallengeKind,
    /// Base64url SHA-256 of the context's RFC 8785 form ([`crate::Context::digest_b64`]):
    /// what the user saw is what they signed.
    pub ctx: String,
    /// The number the user typed, when number matching is on (omitted otherwise; `null` is accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num: Option<u8>,
    /// Approve or deny.
    pub dec: DecisionVerdict,
    /// Why it was denied (omitted for an approval; `null` is accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsn: Option<DenyReason>,
    /// Whether the user verified with PIN or biometrics before answering.
    pub uv: bool,
    /// When the user answered, Unix seconds.
    pub iat: i64,
    /// The relay's per-challenge nonce, echoed.
    pub nonce: String,
}

/// The protected header of a decision JWS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionHeader {
    /// Signature algorithm; only `ES256` verifies.
    pub alg: String,
    /// Must be [`DECISION_TYP`].
    pub typ: String,
    /// The signing credential's ID, compact.
    pub kid: String,
}

/// Why a decision JWS was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    /// Not a well-formed compact JWS with the expected header and claims.
    #[error("decision is malformed: {0}")]
    Malformed(String),
    /// Signed with an algorithm other than ES256 (including `none` and HMAC).
    #[error("decision uses algorithm {0:?}; only ES256 is accepted")]
    UnsupportedAlg(String),
    /// The header `typ` is not `onepush-decision+jws`.
    #[error("decision has typ {0:?}; expected \"onepush-decision+jws\"")]
    WrongType(String),
    /// Signed by (or claiming) a credential other than the expected one.
    #[error("decision is from credential {found:?}, expected {expected:?}")]
    WrongKeyId {
        /// The credential ID expected.
        expected: String,
        /// The credential ID found in the JWS.
        found: String,
    },
    /// The signature does not verify with the credential's key.
    #[error("decision signature does not verify with the credential's public key")]
    BadSignature,
}

impl From<HeaderProblem> for JwsError {
    fn from(problem: HeaderProblem) -> Self {
        match problem {
            HeaderProblem::Malformed(detail) => Self::Malformed(detail),
            HeaderProblem::Alg(alg) => Self::UnsupportedAlg(alg),
            HeaderProblem::Typ(typ) => Self::WrongType(typ),
        }
    }
}

/// Signs `claims` as a decision JWS with header `kid` = `claims.cid` (compact form).
pub fn sign_decision(key: &DeviceKey, claims: &DecisionClaims) -> String {
    let header = DecisionHeader {
        alg: jose::ES256.to_owned(),
        typ: DECISION_TYP.to_owned(),
        kid: claims.cid.as_str().to_owned(),
    };
    jose::sign(key, &header, claims)
}

/// Reads the header and claims of a decision WITHOUT checking anything but its shape.
///
/// The relay uses it to find which credential claims to have signed, then calls
/// [`verify_decision`] with that credential's key. Never act on its result alone.
pub fn peek_decision(jws: &str) -> Result<(DecisionHeader, DecisionClaims), JwsError> {
    let parts = jose::split(jws).map_err(JwsError::Malformed)?;
    let header = jose::decode_json(parts.header_b64, "header").map_err(JwsError::Malformed)?;
    let claims = jose::decode_json(parts.payload_b64, "claims").map_err(JwsError::Malformed)?;
    Ok((header, claims))
}

/// Verifies a decision JWS against the credential's key and returns its claims.
///
/// Checks, in order: three base64url parts; a header object without `crit`; `alg`
/// `ES256` ([`JwsError::UnsupportedAlg`] otherwise, so `none`, HMAC, RSA and ES384 are
/// refused); `typ` [`DECISION_TYP`]; `kid` = `expected_kid` (compact); a 64-byte
/// signature that verifies (with ring) over the exact `header.payload` text received;
/// claims that parse; `cid` = `kid`.
///
/// A `jwk` that is not a usable P-256 key gives [`JwsError::BadSignature`] (keys are
/// validated when a credential is provisioned, so a stored key always is).
/// The caller still compares the claims with the challenge (tenant, user, kind,
/// context digest, nonce, number).
pub fn verify_decision(
    jws: &str,
    jwk: &Jwk,
    expected_kid: &CredentialId,
) -> Result<DecisionClaims, JwsError> {
    let parts = jose::split(jws).map_err(JwsError::Malformed)?;
    let header = jose::checked_header(parts.header_b64, DECISION_TYP)?;
    let kid = jose::string_member(&header, "kid").map_err(JwsError::Malformed)?;
    if kid != expected_kid.as_str() {
        return Err(JwsError::WrongKeyId {
            expected: expected_kid.as_str().to_owned(),
            found: kid.to_owned(),
        });
    }
    let signature = jose::decode_signature(parts.signature_b64).map_err(JwsError::Malformed)?;
    if signature.len() != 64 {
        return Err(JwsError::BadSignature);
    }
    keys::verify_es256(jwk, parts.signing_input.as_bytes(), &signature)
        .map_err(|_| JwsError::BadSignature)?;
    let claims: DecisionClaims =
        jose::decode_json(parts.payload_b64, "claims").map_err(JwsError::Malformed)?;
    if claims.cid.as_str() != kid {
        return Err(JwsError::WrongKeyId {
            expected: kid.to_owned(),
            found: claims.cid.as_str().to_owned(),
        });
    }
    Ok(claims)
}

#[cfg(test)]
mod tests;
