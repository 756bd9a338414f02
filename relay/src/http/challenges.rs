//! `/v1/challenges`: create, long-poll, cancel.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use onepush_protocol::api::{
    BankChallenge, ChallengeCreated, CreateChallenge, IDEMPOTENCY_HEADER, MAX_WAIT_SECONDS, Problem,
};
use onepush_protocol::{ChallengeId, TransactionType};
use serde::Deserialize;

use super::AppState;
use super::extract::{ApiJson, ApiPath, ApiQuery, Bank};
use crate::http::error::ApiError;

/// Ask a user to approve a login, transaction or admin operation.
///
/// Push fatigue: 429 `push-fatigue` when the user has `push_fatigue.max_pending_per_user` challenges
/// pending; 429 `push-fatigue-lockout` (with `Retry-After`) when the tenant's limit of
/// challenges ended denied or expired unanswered within its window is reached (no
/// approval since). The bank is told of a lockout once, by the audit event and webhook
/// `user.push_fatigue_locked`.
///
/// The context's required fields (else 400 `invalid-request` naming the missing or
/// malformed field): `login`: `ip`, `user_agent`; `admin`: `operation`,
/// `target_user_id`; `transaction`: by its `type` (a context without `type` is a
/// `transfer`): `transfer`: `amount`, `currency`, `payee_name`, `payee_account`;
/// `bulk_transfer`: `count`, `total`, `currency`, `batch_id`; `payroll_transfer`:
/// `count`, `total`, `currency`, `payment_date`; `tax_payment` (Pay-easy):
/// `payee_institution_number` (5 digits), `customer_number` (up to 20 digits),
/// `confirmation_number` (up to 16 digits), `amount`, `currency`; `direct_debit`:
/// `creditor`, `amount`, `currency`, `debit_date`; `settings_change`: `setting`,
/// `old_value`, `new_value`. Money is a decimal string (no sign, at most the
/// currency's minor-unit digits) with a three-letter `currency`; counts are JSON
/// integers ≥ 1; dates are ISO 8601 `YYYY-MM-DD`. Other fields are allowed and shown
/// on the phone under "other". Number matching can be asked for any kind.
#[utoipa::path(post, path = "/v1/challenges", tag = "bank",
    request_body(content = CreateChallenge, examples(
        ("login" = (summary = "A sign-in with number matching", value = json!(login_example()))),
        ("transfer" = (summary = "A transfer (振込)", value = json!(transaction_example(TransactionType::Transfer)))),
        ("bulk_transfer" = (summary = "A bulk transfer (総合振込)", value = json!(transaction_example(TransactionType::BulkTransfer)))),
        ("payroll_transfer" = (summary = "A payroll transfer (給与振込)", value = json!(transaction_example(TransactionType::PayrollTransfer)))),
        ("tax_payment" = (summary = "A Pay-easy tax or fee payment (ペイジー)", value = json!(transaction_example(TransactionType::TaxPayment)))),
        ("direct_debit" = (summary = "A direct debit (口座振替)", value = json!(transaction_example(TransactionType::DirectDebit)))),
        ("settings_change" = (summary = "A settings change", value = json!(transaction_example(TransactionType::SettingsChange)))),
        ("admin" = (summary = "An admin operation on another user", value = json!(admin_example()))),
    )),
    params(("Idempotency-Key" = Option<String>, Header, description = "same key + same body → same challenge")),
    responses((status = 201, body = ChallengeCreated),
        (status = 409, description = "`code-token`: the user's token is a code token (`otp`, such as a PC token): it uses one-time codes (`POST /v1/users/{user_id}/otp/verify`), not push approvals; `binding-not-active`: the binding is suspended, unregistered or locked",
            body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`push-fatigue` (too many pending) or `push-fatigue-lockout` (too many denied or unanswered within the tenant's window; the detail says how many and until when)",
            body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "push-fatigue-lockout: seconds until new challenges are accepted"))),
        (status = "4XX", body = Problem, content_type = "application/problem+json"), (status = 503, body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    Bank(tenant): Bank,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CreateChallenge>,
) -> Result<(StatusCode, Json<ChallengeCreated>), ApiError> {
    let key = match headers.get(IDEMPOTENCY_HEADER) {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| {
                    ApiError::InvalidRequest("Idempotency-Key must be visible ASCII".into())
                })?
                .to_owned(),
        ),
        None => None,
    };
    let created = state.service.create_challenge(&tenant, req, key).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The body of a `transaction` challenge of type `ty`, for the OpenAPI examples.
fn transaction_example(ty: TransactionType) -> serde_json::Value {
    serde_json::json!({ "user_id": "1234567.keiri01", "kind": "transaction",
        "context": ty.example(), "ttl_seconds": 120, "number_matching": true })
}

fn login_example() -> serde_json::Value {
    serde_json::json!({ "user_id": "1234567.keiri01", "kind": "login",
        "context": { "ip": "203.0.113.7", "user_agent": "Chrome 124 / Windows 11" },
        "number_matching": true })
}

fn admin_example() -> serde_json::Value {
    serde_json::json!({ "user_id": "1234567.admin01", "kind": "admin",
        "context": { "operation": "unlock_passwords", "target_user_id": "keiri02" } })
}

/// `?wait=SECONDS`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WaitQuery {
    /// Seconds to wait while the challenge is pending (0–60).
    #[serde(default)]
    pub wait: u32,
}

/// A challenge's status; with `wait`, returns as soon as it is no longer pending. A
/// tenant has at most `limits.long_polls_per_tenant` waiting at once per relay (default 1,000):
/// past it, 503 `overloaded` with `Retry-After`.
#[utoipa::path(get, path = "/v1/challenges/{id}", tag = "bank", params(("id" = String, Path), WaitQuery),
    responses((status = 200, body = BankChallenge), (status = "4XX", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`overloaded`: the tenant has as many long-polls waiting as allowed", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "seconds")))))]
pub async fn get(
    State(state): State<AppState>,
    Bank(tenant): Bank,
    ApiPath(id): ApiPath<ChallengeId>,
    ApiQuery(query): ApiQuery<WaitQuery>,
) -> Result<Json<BankChallenge>, ApiError> {
    if query.wait > MAX_WAIT_SECONDS {
        return Err(ApiError::InvalidRequest(format!(
            "wait must be at most {MAX_WAIT_SECONDS} seconds"
        )));
    }
    let wait = Duration::from_secs(u64::from(query.wait));
    // A waiting request holds one of the tenant's long-poll places (503 past its cap).
    let _slot = if wait.is_zero() {
        None
    } else {
        Some(state.caps.wait_slot(&tenant.id)?)
    };
    let service = &state.service;
    tokio::select! {
        result = service.wait_challenge(&tenant, &id, wait) => result.map(Json).map_err(ApiError::from),
        // Boxed: this branch runs once, at shutdown, and should not enlarge every waiting request.
        () = state.shutdown.wait() => Box::pin(service.wait_challenge(&tenant, &id, Duration::ZERO)).await.map(Json).map_err(ApiError::from),
    }
}

/// Withdraw a pending challenge.
#[utoipa::path(delete, path = "/v1/challenges/{id}", tag = "bank", params(("id" = String, Path)),
    responses((status = 200, body = BankChallenge), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn cancel(
    State(state): State<AppState>,
    Bank(tenant): Bank,
    ApiPath(id): ApiPath<ChallengeId>,
) -> Result<Json<BankChallenge>, ApiError> {
    state
        .service
        .cancel_challenge(&tenant, &id)
        .await
        .map(Json)
        .map_err(ApiError::from)
}
