//! The device request proof: a DPoP-shaped JWT (RFC 9449 §4.2) sent in the
//! `OnePush-Proof` header of every device API request.
//!
//! Header: `typ` [`PROOF_TYP`], `alg` `ES256`, and either `kid` (the credential ID, after
//! provisioning) or `jwk` (the new key, when provisioning). Claims ([`ProofClaims`]):
//! `htm`, `htu`, `iat`, `jti` as in RFC 9449, plus `bh`, the body hash.

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use crate::b64;
use crate::ids::CredentialId;
use crate::jose::{self, HeaderProblem};
use crate::keys::{self, DeviceKey, Jwk, fill_random};

/// The JOSE `typ` header of a request proof.
pub const PROOF_TYP: &str = "onepush-proof+jwt";
/// Longest `jti` accepted, in characters (a signed proof has 22).
pub const MAX_JTI_LEN: usize = 64;

/// The claims of a request proof. Unknown claims are ignored, as RFC 9449 allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofClaims {
    /// The HTTP method, upper case (`POST`), RFC 9449 §4.2.
    pub htm: String,
    /// The request URL without query and fragment, RFC 9449 §4.2.
    pub htu: String,
    /// When the proof was made, Unix seconds.
    pub iat: i64,
    /// A unique ID for this proof (16 random bytes, base64url): a second use is a replay.
    pub jti: String,
    /// Base64url SHA-256 of the exact request body (of empty bytes when there is none).
    pub bh: String,
}

/// Which key the proof header names.
#[derive(Debug, Clone, Copy)]
pub enum ProofSigner<'a> {
    /// The credential, by ID (header `kid`): every request after provisioning.
    Credential(&'a CredentialId),
    /// The key itself (header `jwk`): only the provisioning request.
    EmbeddedJwk,
}

/// What a proof header says about its signer, read before the signature is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnverifiedProof {
    /// The credential that claims to have signed, when the header has `kid`.
    pub kid: Option<CredentialId>,
    /// The key that claims to have signed, when the header has `jwk` (validated as a
    /// P-256 key, nothing more).
    pub jwk: Option<Jwk>,
}

/// What the relay checks a proof against.
#[derive(Debug, Clone, Copy)]
pub struct ProofCheck<'a> {
    /// The request's method, upper case.
    pub method: &'a str,
    /// The request's URL as the device addressed it: the relay's public URL plus the
    /// path (a query or fragment is ignored).
    pub url: &'a str,
    /// The exact request body.
    pub body: &'a [u8],
    /// The relay's time, Unix seconds.
    pub now: i64,
    /// Largest accepted difference between `iat` and `now`, in seconds.
    pub max_skew: i64,
}

/// Why a request proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// Not a well-formed proof JWT.
    #[error("request proof is malformed: {0}")]
    Malformed(String),
    /// Signed with an algorithm other than ES256.
    #[error("request proof uses algorithm {0:?}; only ES256 is accepted")]
    UnsupportedAlg(String),
    /// The header `typ` is not `onepush-proof+jwt`.
    #[error("request proof has typ {0:?}; expected \"onepush-proof+jwt\"")]
    WrongType(String),
    /// The signature does not verify with the credential's key.
    #[error("request proof signature does not verify with the credential's public key")]
    BadSignature,
    /// The proof was made for another HTTP method.
    #[error("request proof is for method {found:?}, but the request is {expected:?}")]
    MethodMismatch {
        /// The request's method.
        expected: String,
        /// The proof's `htm`.
        found: String,
    },
    /// The proof was made for another URL.
    #[error("request proof is for URL {found:?}, but the request is for {expected:?}")]
    UrlMismatch {
        /// The request's URL, normalised.
        expected: String,
        /// The proof's `htu`.
        found: String,
    },
    /// The proof's body hash does not match the body received.
    #[error("request proof body hash does not match the request body")]
    BodyMismatch,
    /// `iat` is too far from the relay's clock.
    #[error("{}", skew_message(*iat, *now))]
    ClockSkew {
        /// The proof's `iat`.
        iat: i64,
        /// The relay's time.
        now: i64,
    },
    /// The `jti` was seen before.
    #[error("request proof was already used (replayed jti)")]
    Replayed,
}

fn skew_message(iat: i64, now: i64) -> String {
    let diff = i128::from(iat) - i128::from(now);
    let side = if diff > 0 { "ahead of" } else { "behind" };
    format!(
        "request proof time is off: the device clock is {} seconds {side} the relay's; \
         check the device's date and time settings",
        diff.unsigned_abs()
    )
}

impl From<HeaderProblem> for ProofError {
    fn from(problem: HeaderProblem) -> Self {
        match problem {
            HeaderProblem::Malformed(detail) => Self::Malformed(detail),
            HeaderProblem::Alg(alg) => Self::UnsupportedAlg(alg),
            HeaderProblem::Typ(typ) => Self::WrongType(typ),
        }
    }
}

#[derive(Serialize)]
struct ProofHeader<'a> {
    typ: &'static str,
    alg: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwk: Option<Jwk>,
}

/// Base64url SHA-256 of a request body: the `bh` claim.
pub fn body_hash(body: &[u8]) -> String {
    b64::encode(ring::digest::digest(&ring::digest::SHA256, body))
}

/// Signs a proof for one request: `method` (upper case), `url` (its query and
/// fragment are left out of `htu`), the exact `body`, at `now` (Unix seconds), with a
/// fresh random `jti`.
pub fn sign_proof(
    key: &DeviceKey,
    signer: ProofSigner<'_>,
    method: &str,
    url: &str,
    body: &[u8],
    now: i64,
) -> String {
    let header = match signer {
        ProofSigner::Credential(cid) => ProofHeader {
            typ: PROOF_TYP,
            alg: jose::ES256,
            kid: Some(cid.as_str()),
            jwk: None,
        },
        ProofSigner::EmbeddedJwk => ProofHeader {
            typ: PROOF_TYP,
            alg: jose::ES256,
            kid: None,
            jwk: Some(key.public_jwk()),
        },
    };
    let mut jti = [0u8; 16];
    fill_random(&mut jti);
    let claims = ProofClaims {
        htm: method.to_owned(),
        htu: without_query(url).to_owned(),
        iat: now,
        jti: b64::encode(jti),
        bh: body_hash(body),
    };
    jose::sign(key, &header, &claims)
}

/// Reads which key a proof names (header only, nothing verified): exactly one of a
/// credential `kid` or an embedded `jwk`.
pub fn peek_proof(token: &str) -> Result<UnverifiedProof, ProofError> {
    let parts = jose::split(token).map_err(ProofError::Malformed)?;
    let header: serde_json::Map<String, serde_json::Value> =
        jose::decode_json(parts.header_b64, "header").map_err(ProofError::Malformed)?;
    let kid = if header.contains_key("kid") {
        let text = jose::string_member(&header, "kid").map_err(ProofError::Malformed)?;
        let cid = text
            .parse::<CredentialId>()
            .map_err(|e| ProofError::Malformed(format!("header kid: {e}")))?;
        Some(cid)
    } else {
        None
    };
    let jwk = match header.get("jwk") {
        None => None,
        Some(value) => {
            let jwk = Jwk::deserialize(value)
                .map_err(|e| ProofError::Malformed(format!("header jwk: {e}")))?;
            jwk.validate()
                .map_err(|e| ProofError::Malformed(format!("header jwk: {e}")))?;
            Some(jwk)
        }
    };
    match (&kid, &jwk) {
        (Some(_), None) | (None, Some(_)) => Ok(UnverifiedProof { kid, jwk }),
        _ => Err(ProofError::Malformed(
            "header must have exactly one of kid or jwk".to_owned(),
        )),
    }
}

/// Verifies a request proof signed by `jwk` for the request described by `check`.
///
/// Checks, in order: `alg` ES256, `typ` [`PROOF_TYP`], an embedded `jwk` (if any) equal
/// to `jwk`, the signature over the exact signed text, `htm`, `htu` (scheme and host
/// compared case-insensitively, default ports ignored, query and fragment of
/// `check.url` dropped), `bh` (constant time), `|now - iat| <= max_skew`. Only when all
/// of that passed is `replay(jti, iat)` called: it records the `jti` and returns `true`
/// when it was fresh, `false` when it was seen before ([`ProofError::Replayed`]).
pub fn verify_proof(
    token: &str,
    jwk: &Jwk,
    check: &ProofCheck<'_>,
    replay: impl FnOnce(&str, i64) -> bool,
) -> Result<ProofClaims, ProofError> {
    let parts = jose::split(token).map_err(ProofError::Malformed)?;
    let header = jose::checked_header(parts.header_b64, PROOF_TYP)?;
    if let Some(embedded) = header.get("jwk") {
        // A proof that names one key and is checked against another is refused.
        if Jwk::deserialize(embedded).ok().as_ref() != Some(jwk) {
            return Err(ProofError::BadSignature);
        }
    }
    let signature = jose::decode_signature(parts.signature_b64).map_err(ProofError::Malformed)?;
    if signature.len() != 64 {
        return Err(ProofError::BadSignature);
    }
    keys::verify_es256(jwk, parts.signing_input.as_bytes(), &signature)
        .map_err(|_| ProofError::BadSignature)?;
    let claims: ProofClaims =
        jose::decode_json(parts.payload_b64, "claims").map_err(ProofError::Malformed)?;
    if claims.jti.is_empty() || claims.jti.len() > MAX_JTI_LEN {
        return Err(ProofError::Malformed(format!(
            "jti must be 1 to {MAX_JTI_LEN} characters"
        )));
    }
    check_request(&claims, check)?;
    if !replay(&claims.jti, claims.iat) {
        return Err(ProofError::Replayed);
    }
    Ok(claims)
}

/// The checks of the claims against the request, before the replay check.
fn check_request(claims: &ProofClaims, check: &ProofCheck<'_>) -> Result<(), ProofError> {
    if claims.htm != check.method {
        return Err(ProofError::MethodMismatch {
            expected: check.method.to_owned(),
            found: claims.htm.clone(),
        });
    }
    let expected = normalize_url(check.url);
    if normalize_url(&claims.htu) != expected {
        return Err(ProofError::UrlMismatch {
            expected,
            found: claims.htu.clone(),
        });
    }
    let bh = body_hash(check.body);
    if !bool::from(claims.bh.as_bytes().ct_eq(bh.as_bytes())) {
        return Err(ProofError::BodyMismatch);
    }
    let skew = i128::from(check.now) - i128::from(claims.iat);
    if skew.unsigned_abs() > u128::from(check.max_skew.unsigned_abs()) {
        return Err(ProofError::ClockSkew {
            iat: claims.iat,
            now: check.now,
        });
    }
    Ok(())
}

/// `url` up to its first `?` or `#`.
fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or_default()
}

/// RFC 3986 §6.2.2–6.2.3 normalisation, as far as RFC 9449 §4.3 needs: query and
/// fragment dropped, scheme and host lower case, default port dropped, empty path `/`.
fn normalize_url(url: &str) -> String {
    let url = without_query(url);
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let scheme = scheme.to_ascii_lowercase();
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    let authority = authority.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => Some(":443"),
        "http" => Some(":80"),
        _ => None,
    };
    let authority = default_port
        .and_then(|port| authority.strip_suffix(port))
        .unwrap_or(&authority);
    format!("{scheme}://{authority}{path}")
}

#[cfg(test)]
mod tests;
