//! Extractors whose rejections are our [`ApiError`]: JSON bodies, path and query
//! parameters, the bank's API key, the device's request proof, and a decision post
//! (which its own signature authenticates).
//!
//! Path and query are axum's, derived with our rejection. The JSON bodies are read here:
//! a body over the limit is answered with the limit in force (the relay's setting, which
//! a rejection conversion cannot see), and only `application/json` is accepted.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use onepush_protocol::ProofError;
use onepush_protocol::api::{PROOF_HEADER, PostDecision};
use onepush_protocol::proof::{self, ProofCheck};
use onepush_protocol::{CredentialId, Jwk};
use serde::de::DeserializeOwned;

use super::AppState;
use crate::http::error::ApiError;
use crate::service::device_auth::{Refusal, proof_refused, throwaway_jwk};
use crate::store::{CredentialRecord, TenantRecord};

fn body_error(rejection: &BytesRejection, limit: usize) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::BodyTooLarge(limit)
    } else {
        ApiError::InvalidRequest(rejection.body_text())
    }
}

async fn read_body(req: Request, state: &AppState) -> Result<(Parts, Bytes), ApiError> {
    let (parts, body) = req.into_parts();
    let req = Request::from_parts(parts.clone(), body);
    let bytes = Bytes::from_request(req, state)
        .await
        .map_err(|e| body_error(&e, state.service.settings().http.body_limit_bytes))?;
    Ok((parts, bytes))
}

/// Parses a JSON body; the serde message (unknown field, wrong type, line and column)
/// becomes the problem's detail.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::InvalidRequest(format!("invalid JSON body: {e}")))
}

fn check_content_type(parts: &Parts) -> Result<(), ApiError> {
    let ok = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if ok {
        Ok(())
    } else {
        Err(ApiError::InvalidRequest(
            "Content-Type must be application/json".into(),
        ))
    }
}

/// A JSON request body.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, bytes) = read_body(req, state).await?;
        check_content_type(&parts)?;
        parse_json(&bytes).map(Self)
    }
}

/// A JSON body that may also be left out (then `T::default()`).
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default> FromRequest<AppState> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, bytes) = read_body(req, state).await?;
        if bytes.is_empty() {
            return Ok(Self(T::default()));
        }
        check_content_type(&parts)?;
        parse_json(&bytes).map(Self)
    }
}

/// Path parameters; one that does not parse is a 400 `invalid-request` saying which.
#[derive(Debug, FromRequestParts)]
#[from_request(via(Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Query parameters; a bad or unknown one is a 400 `invalid-request` saying which.
#[derive(Debug, FromRequestParts)]
#[from_request(via(Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> Self {
        Self::InvalidRequest(e.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        Self::InvalidRequest(e.body_text())
    }
}

/// The tenant whose API key is in `Authorization: Bearer <key>`.
#[derive(Debug, Clone)]
pub struct Bank(pub TenantRecord);

impl FromRequestParts<AppState> for Bank {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(ApiError::Unauthorized(
                "missing header Authorization: Bearer <tenant API key>",
            ))?;
        let key = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or(ApiError::Unauthorized(
                "Authorization must be \"Bearer <tenant API key>\"",
            ))?;
        state
            .service
            .authenticate(key)
            .await
            .map(Self)
            .map_err(ApiError::from)
    }
}

/// A device request: the credential that signed the `OnePush-Proof`, and the raw body
/// the proof covers.
#[derive(Debug)]
pub struct Device {
    /// The signing credential.
    pub credential: CredentialRecord,
    /// The body, exactly as received.
    pub body: Bytes,
}

/// A provisioning request: the proof embeds the new key.
#[derive(Debug)]
pub struct Provisioning {
    /// The key that signed the proof.
    pub jwk: Jwk,
    /// The body.
    pub body: Bytes,
}

/// The client address of a request: the last address in the header the setting
/// `http.client_address_header` names (what the balancer in front appended), else the
/// socket's peer (`0.0.0.0` without a socket: router tests).
pub fn client_ip(
    headers: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
    state: &AppState,
) -> IpAddr {
    let forwarded = state
        .service
        .settings()
        .http
        .client_address_header
        .as_deref()
        .and_then(|name| headers.get_all(name).iter().next_back())
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|last| last.trim().parse::<IpAddr>().ok());
    forwarded.unwrap_or_else(|| {
        extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip())
    })
}

/// Takes a device API token for the client address (429 `rate-limited` when none is left).
fn device_address_allowed(req: &Request, state: &AppState) -> Result<(), ApiError> {
    state
        .device_limiter
        .check(
            &client_ip(req.headers(), req.extensions(), state),
            Instant::now(),
        )
        .map_err(ApiError::RateLimited)
}

async fn verify_request(
    req: Request,
    state: &AppState,
    provisioning: bool,
) -> Result<(Option<CredentialRecord>, Jwk, Bytes), ApiError> {
    let (parts, body) = read_body(req, state).await?;
    let token = parts
        .headers
        .get(PROOF_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::ProofInvalid(format!("missing header {PROOF_HEADER}")))?;
    let peeked = proof::peek_proof(token).map_err(|e| ApiError::ProofInvalid(e.to_string()))?;
    let (signer, jwk, refused) = match (provisioning, peeked.kid, peeked.jwk) {
        (true, _, Some(jwk)) => (None, jwk, None),
        (true, _, None) => {
            return Err(ApiError::ProofInvalid(
                "a provisioning proof must embed its jwk".into(),
            ));
        }
        (false, Some(kid), _) => match state.service.usable_signer(&kid).await? {
            Ok(credential) => {
                let jwk = credential.jwk.clone();
                (Some(credential), jwk, None)
            }
            // Unknown or revoked: verified against a throw-away key all the same, and
            // answered as a wrong key (issue 22).
            Err(cause) => (None, throwaway_jwk().clone(), Some((kid, cause))),
        },
        (false, None, _) => {
            return Err(ApiError::ProofInvalid(
                "the proof must name its credential in kid".into(),
            ));
        }
    };
    let url = format!(
        "{}{}",
        state.service.settings().public_url(),
        parts.uri.path()
    );
    let check = ProofCheck {
        method: parts.method.as_str(),
        url: &url,
        body: &body,
        now: state.service.now(),
        max_skew: i64::from(state.service.settings().device.proof_skew_seconds),
    };
    let verified = proof::verify_proof(token, &jwk, &check, |_, _| true);
    if let Some((kid, cause)) = refused {
        state.service.device_refused(&kid, cause, "proof");
        return Err(ApiError::ProofInvalid(proof_refused()));
    }
    let claims = match (verified, &signer) {
        (Ok(claims), _) => claims,
        (Err(ProofError::BadSignature), Some(credential)) => {
            state
                .service
                .device_refused(&credential.id, Refusal::WrongKey, "proof");
            return Err(ApiError::ProofInvalid(proof_refused()));
        }
        (Err(e), _) => return Err(ApiError::ProofInvalid(e.to_string())),
    };
    if let Some(credential) = &signer {
        // Counted once the proof verified: no one can use up another's allowance.
        state
            .credential_limiter
            .check(&credential.id, Instant::now())
            .map_err(ApiError::CredentialRateLimited)?;
    }
    state.service.record_proof(&claims.jti, claims.iat).await?;
    Ok((signer, jwk, body))
}

impl FromRequest<AppState> for Device {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        device_address_allowed(&req, state)?;
        let must_be_json = !matches!(*req.method(), Method::GET | Method::DELETE);
        let json = req.headers().get(header::CONTENT_TYPE).is_some();
        let (credential, _, body) = verify_request(req, state, false).await?;
        let credential = credential
            .ok_or_else(|| ApiError::ProofInvalid("the proof must name its credential".into()))?;
        if must_be_json && !json {
            return Err(ApiError::InvalidRequest(
                "Content-Type must be application/json".into(),
            ));
        }
        Ok(Self { credential, body })
    }
}

/// `POST /v1/device/challenges/{id}/decision`: the signed decision and the credential
/// that signed it.
///
/// The decision is a JWS by the credential's key over the challenge's ID and nonce, the
/// context digest and its time: it authenticates the request by itself, so the device
/// sends no `OnePush-Proof` with it (one ES256 verification and one replay-guard write
/// less on the path the bank waits on). [`crate::service::Service::decide`] looks up the
/// credential its `kid` names (unknown, revoked or a wrong key: the same 401), verifies the signature
/// and every claim against the challenge. A request that does carry a proof (clients
/// before this change) has it verified as any device request's, and the decision must
/// then be signed by the same credential.
#[derive(Debug)]
pub struct DecisionPost {
    /// The credential that signed the request's proof, when the post carried one (else
    /// the decision's own `kid` names its signer, read with the challenge).
    pub proven: Option<CredentialRecord>,
    /// The decision JWS.
    pub jws: String,
}

impl FromRequest<AppState> for DecisionPost {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        if req.headers().contains_key(PROOF_HEADER) {
            let device = Device::from_request(req, state).await?;
            let post: PostDecision = parse_json(&device.body)?;
            return Ok(Self {
                proven: Some(device.credential),
                jws: post.jws,
            });
        }
        device_address_allowed(&req, state)?;
        let json = req.headers().get(header::CONTENT_TYPE).is_some();
        let (_, body) = read_body(req, state).await?;
        if !json {
            return Err(ApiError::InvalidRequest(
                "Content-Type must be application/json".into(),
            ));
        }
        let post: PostDecision = parse_json(&body)?;
        Ok(Self {
            proven: None,
            jws: post.jws,
        })
    }
}

impl FromRequest<AppState> for Provisioning {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (_, jwk, body) = verify_request(req, state, true).await?;
        Ok(Self { jwk, body })
    }
}

/// The credential in a path, parsed with a problem that says what is wrong (check digit...).
pub fn credential_path(text: &str) -> Result<CredentialId, ApiError> {
    text.parse()
        .map_err(|e: onepush_protocol::IdError| ApiError::InvalidRequest(e.to_string()))
}
