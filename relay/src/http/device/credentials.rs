//! `/v1/device/credentials`, `/v1/device/push-subscription`, `/v1/device/accounts`.

use std::time::Instant;

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use onepush_protocol::api::{
    DeviceAccounts, Problem, ProvisionRequest, Provisioned, UpdatePushSubscription,
};

use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{Device, Provisioning, parse_json};

/// Takes a provisioning token for the client address (see [`crate::ratelimit`]).
#[derive(Debug)]
pub struct ProvisionAllowed;

impl FromRequestParts<AppState> for ProvisionAllowed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Without a socket (router tests) every request shares one bucket.
        let addr = crate::http::extract::client_ip(&parts.headers, &parts.extensions, state);
        state
            .limiter
            .check(&addr, Instant::now())
            .map_err(ApiError::RateLimited)?;
        Ok(Self)
    }
}

/// Provision a credential for a new app install; the proof embeds the same JWK. `kind`
/// says whether it is a push token (the default) or a code-only token (`otp`, such as a
/// PC token), whose users get codes and no push approvals.
#[utoipa::path(post, path = "/v1/device/credentials", tag = "device", request_body = ProvisionRequest,
    responses((status = 201, body = Provisioned), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn provision(
    State(state): State<AppState>,
    _allowed: ProvisionAllowed,
    request: Provisioning,
) -> Result<(StatusCode, Json<Provisioned>), ApiError> {
    let req: ProvisionRequest = parse_json(&request.body)?;
    if req.jwk != request.jwk {
        return Err(ApiError::ProofInvalid(
            "the proof must be signed by the jwk being provisioned".into(),
        ));
    }
    let provisioned = state.service.provision(req).await?;
    Ok((StatusCode::CREATED, Json(provisioned)))
}

/// Revoke this credential everywhere (the app's reset).
#[utoipa::path(delete, path = "/v1/device/credentials/self", tag = "device",
    responses((status = 204), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn revoke_self(
    State(state): State<AppState>,
    device: Device,
) -> Result<StatusCode, ApiError> {
    state.service.revoke_self(&device.credential).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace or clear the push channel: Web Push (`type` `webpush`, or left out), APNs
/// (`apns`) or FCM (`fcm`), each with the device's push keys.
#[utoipa::path(put, path = "/v1/device/push-subscription", tag = "device", request_body = UpdatePushSubscription,
    responses((status = 204),
        (status = 400, description = "`invalid-request`: the detail names the bad field (type, endpoint, device_token, environment, registration_token, keys.p256dh, keys.auth, language)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`push-channel-not-configured`: this relay has no sender for the channel; the detail names the setting (push.apns.key_file, push.fcm.service_account_file)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`push-endpoint-refused`: a Web Push endpoint that is not https, or whose address is internal (loopback, private, link-local, CGNAT, multicast, unspecified); the detail says which", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn push_subscription(
    State(state): State<AppState>,
    device: Device,
) -> Result<StatusCode, ApiError> {
    let req: UpdatePushSubscription = parse_json(&device.body)?;
    state
        .service
        .set_push_subscription(&device.credential, req.subscription)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The users this credential serves.
#[utoipa::path(get, path = "/v1/device/accounts", tag = "device",
    responses((status = 200, body = DeviceAccounts), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn accounts(
    State(state): State<AppState>,
    device: Device,
) -> Result<Json<DeviceAccounts>, ApiError> {
    state
        .service
        .device_accounts(&device.credential)
        .await
        .map(Json)
        .map_err(ApiError::from)
}
