//! The one error every handler answers with: each variant has one HTTP status and one
//! problem slug (RFC 9457); 5xx causes are logged, never sent. The use cases' own
//! errors become these in [`super::convert`].

use axum::http::StatusCode;
use onepush_protocol::ChallengeStatus;
use onepush_protocol::api::{BindingState, TokenKind};
use time::OffsetDateTime;

/// What went wrong, as a client of the relay sees it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed or a field is invalid.
    #[error("{0}")]
    InvalidRequest(String),
    /// The body is over the limit.
    #[error("request body is larger than {0} bytes")]
    BodyTooLarge(usize),
    /// Missing or wrong API key.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The device proof is missing, invalid, stale or replayed.
    #[error("{0}")]
    ProofInvalid(String),
    /// No such route.
    #[error("no such route: {0}")]
    RouteNotFound(String),
    /// No such challenge for this tenant or credential.
    #[error("challenge not found")]
    ChallengeNotFound,
    /// The user has no binding.
    #[error("user {0} is not enrolled")]
    UserNotEnrolled(String),
    /// No such credential.
    #[error("credential {0} not found")]
    CredentialNotFound(String),
    /// The binding is not active (suspended, unregistered, locked).
    #[error("{detail}")]
    BindingNotActive {
        /// Explanation.
        detail: String,
        /// The state.
        state: BindingState,
        /// Grace date.
        grace_until: Option<OffsetDateTime>,
    },
    /// The user already has a live binding (active, suspended or locked).
    #[error("user {user} is already enrolled{}; unregister first to change the credential or its kind", kind_note(*.kind))]
    AlreadyEnrolled {
        /// The user.
        user: String,
        /// The kind of token bound, when known.
        kind: Option<TokenKind>,
    },
    /// The user's token is a code token (`otp`): no challenge can be pushed to it.
    #[error(
        "user {0} has a code token (otp): it uses one-time codes, not push approvals; check a code with POST /v1/users/{0}/otp/verify instead"
    )]
    CodeToken(String),
    /// Enrolling a token of one kind while the user has a live binding of the other (R10).
    #[error(
        "user {user} has {} bound ({}) and this enrollment is for {}; a user has one kind of token at a time: unregister it first (DELETE /v1/users/{user}/enrollment), then enroll the new token",
        kind_name(*.has),
        state_name(*.state),
        kind_name(*.wants)
    )]
    TokenKindConflict {
        /// The user.
        user: String,
        /// The kind bound now.
        has: TokenKind,
        /// The kind being enrolled.
        wants: TokenKind,
        /// The bound token's state.
        state: BindingState,
    },
    /// The enrollment asked for one kind of token and the credential is the other.
    #[error(
        "credential {credential} is {}, and this enrollment requires {}; enroll a credential provisioned as {required}",
        kind_name(*.is),
        kind_name(*.required)
    )]
    TokenKindMismatch {
        /// The credential, grouped.
        credential: String,
        /// Its kind.
        is: TokenKind,
        /// The kind the bank asked for.
        required: TokenKind,
    },
    /// Same idempotency key, different body.
    #[error("the Idempotency-Key was used before with a different request body")]
    IdempotencyKeyReused,
    /// Too many pending challenges for the user.
    #[error("user has {0} challenges waiting already; wait for them to end")]
    PushFatigue(u32),
    /// Push fatigue by history: too many of the user's recent challenges ended denied or
    /// unanswered; new ones are refused until `until`.
    #[error(
        "{refused} of this user's challenges were denied or went unanswered within the last {window_seconds} seconds with no approval since; new challenges are refused until {} (retry in {retry_after} seconds)",
        rfc3339(*until)
    )]
    PushFatigueLockout {
        /// Challenges ended denied or unanswered in the window.
        refused: u32,
        /// The tenant's window, in seconds.
        window_seconds: u32,
        /// When the lockout ends (Unix seconds).
        until: i64,
        /// Seconds until then (`Retry-After`).
        retry_after: u64,
    },
    /// The request's headers are over the limit.
    #[error("request headers are larger than {0} bytes in total")]
    HeadersTooLarge(usize),
    /// The challenge already ended.
    #[error("challenge is already {0}")]
    ChallengeDecided(ChallengeStatus),
    /// The challenge's deadline passed.
    #[error("challenge deadline passed; it is {0}")]
    ChallengeExpired(ChallengeStatus),
    /// Enrollment or resync codes were not accepted.
    #[error("{0}")]
    CodesInvalid(String),
    /// An OTP code was wrong.
    #[error("code is wrong; {attempts_left} attempts left before the token locks")]
    CodeInvalid {
        /// Attempts before lock.
        attempts_left: u32,
    },
    /// An OTP code was already used (or older than the last used).
    #[error("code was already used; wait for the next code")]
    CodeReplayed,
    /// An offline challenge was already answered with a right code.
    #[error(
        "this offline challenge was already answered; its code works once: start a new offline challenge"
    )]
    OfflineUsed,
    /// An offline challenge's deadline passed.
    #[error("the offline challenge's deadline passed at {0}; start a new offline challenge")]
    OfflineExpired(String),
    /// The user's credential has no OCRA key (provisioned before offline codes).
    #[error(
        "the user's app was set up before offline codes existed and has no offline-code key; set the app up again (new credential) to use offline codes"
    )]
    OfflineUnavailable,
    /// This failure locked the binding.
    #[error("too many wrong codes: the token is now locked; the bank must unlock it")]
    BindingLocked,
    /// The decision JWS cannot be parsed.
    #[error("{0}")]
    DecisionMalformed(String),
    /// The decision signature does not verify.
    #[error("{0}")]
    DecisionSignatureInvalid(String),
    /// A validly signed answer from another credential.
    #[error(
        "the decision is signed by a credential other than the one registered for this user; the challenge ended credential_mismatch"
    )]
    CredentialMismatch,
    /// The decision's claims differ from the challenge.
    #[error("{0}")]
    DecisionMismatch(String),
    /// A validly signed answer from another credential that does not carry the
    /// challenge's nonce (it was never sent the challenge): refused, the challenge stays
    /// pending.
    #[error(
        "the decision is signed by a credential other than the one registered for this user and does not carry the challenge's nonce; it is refused and the challenge stays pending"
    )]
    ForeignDecision,
    /// The typed number is wrong; after the last try the challenge ended denied.
    #[error("{}", number_mismatch_detail(*tries_left))]
    NumberMismatch {
        /// Wrong numbers still allowed before the challenge ends denied (0: it ended).
        tries_left: u32,
    },
    /// Too many requests from this address.
    #[error("too many requests from this address; retry in {0} seconds")]
    RateLimited(u64),
    /// One-push is suspended for maintenance (R18): the suspension in force.
    #[error("{}", maintenance_detail(.0))]
    Maintenance(Box<onepush_protocol::api::MaintenanceStatus>),
    /// No tenant with this slug (operator routes).
    #[error("tenant {0} does not exist")]
    TenantNotFound(String),
    /// The database is unreachable.
    #[error("service unavailable")]
    Unavailable,
    /// The database cannot be reached now, or a statement timed out: logged (the
    /// cause), answered 503 without it.
    #[error("the relay cannot reach its database right now; retry in a few seconds")]
    DatabaseUnavailable(String),
    /// A Web Push endpoint the relay will not call: not https, or an internal address.
    #[error("{0}")]
    PushEndpointRefused(String),
    /// A push channel whose sender this relay has not configured (the setting named).
    #[error("{0}")]
    PushChannelNotConfigured(String),
    /// Anything else: logged, answered as a bare 500.
    #[error("internal error")]
    Internal(String),
    /// Too many requests signed by this credential.
    #[error("too many requests from this credential; retry in {0} seconds")]
    CredentialRateLimited(u64),
    /// A cap of this relay is reached (connections, event streams, a tenant's
    /// long-polls): answered 503 with `Retry-After`.
    #[error("the relay has as many {0} open as it allows; retry in a few seconds")]
    Overloaded(&'static str),
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_) | Self::DecisionMalformed(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) | Self::ProofInvalid(_) | Self::DecisionSignatureInvalid(_) => {
                StatusCode::UNAUTHORIZED
            }
            Self::CredentialMismatch | Self::ForeignDecision => StatusCode::FORBIDDEN,
            Self::RouteNotFound(_)
            | Self::ChallengeNotFound
            | Self::UserNotEnrolled(_)
            | Self::CredentialNotFound(_)
            | Self::TenantNotFound(_) => StatusCode::NOT_FOUND,
            Self::BindingNotActive { .. }
            | Self::AlreadyEnrolled { .. }
            | Self::CodeToken(_)
            | Self::TokenKindConflict { .. }
            | Self::TokenKindMismatch { .. }
            | Self::IdempotencyKeyReused
            | Self::ChallengeDecided(_)
            | Self::PushChannelNotConfigured(_)
            | Self::OfflineUsed
            | Self::OfflineUnavailable => StatusCode::CONFLICT,
            Self::ChallengeExpired(_) | Self::OfflineExpired(_) => StatusCode::GONE,
            Self::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::CodesInvalid(_)
            | Self::CodeInvalid { .. }
            | Self::CodeReplayed
            | Self::DecisionMismatch(_)
            | Self::NumberMismatch { .. }
            | Self::PushEndpointRefused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BindingLocked => StatusCode::LOCKED,
            Self::PushFatigue(_) | Self::PushFatigueLockout { .. } | Self::RateLimited(_) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::Maintenance(_) | Self::Unavailable | Self::DatabaseUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::CredentialRateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Overloaded(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The problem slug (`type` is `https://onepush.dev/problems/<slug>`).
    pub fn slug(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid-request",
            Self::BodyTooLarge(_) => "body-too-large",
            Self::Unauthorized(_) => "unauthorized",
            Self::ProofInvalid(_) => "proof-invalid",
            Self::RouteNotFound(_) => "not-found",
            Self::ChallengeNotFound => "challenge-not-found",
            Self::UserNotEnrolled(_) => "user-not-enrolled",
            Self::CredentialNotFound(_) => "credential-not-found",
            Self::TenantNotFound(_) => "tenant-not-found",
            Self::BindingNotActive { .. } => "binding-not-active",
            Self::AlreadyEnrolled { .. } => "already-enrolled",
            Self::CodeToken(_) => "code-token",
            Self::TokenKindConflict { .. } => "token-kind-conflict",
            Self::TokenKindMismatch { .. } => "token-kind-mismatch",
            Self::IdempotencyKeyReused => "idempotency-key-reused",
            Self::PushFatigue(_) => "push-fatigue",
            Self::PushFatigueLockout { .. } => "push-fatigue-lockout",
            Self::HeadersTooLarge(_) => "headers-too-large",
            Self::ChallengeDecided(_) => "challenge-decided",
            Self::ChallengeExpired(_) => "challenge-expired",
            Self::CodesInvalid(_) => "codes-invalid",
            Self::CodeInvalid { .. } => "code-invalid",
            Self::CodeReplayed => "code-replayed",
            Self::BindingLocked => "binding-locked",
            Self::OfflineUsed => "offline-code-used",
            Self::OfflineExpired(_) => "offline-challenge-expired",
            Self::OfflineUnavailable => "offline-code-unavailable",
            Self::DecisionMalformed(_) => "decision-malformed",
            Self::DecisionSignatureInvalid(_) => "decision-signature-invalid",
            Self::CredentialMismatch => "credential-mismatch",
            Self::ForeignDecision => "foreign-decision",
            Self::DecisionMismatch(_) => "decision-mismatch",
            Self::NumberMismatch { .. } => "number-mismatch",
            Self::RateLimited(_) | Self::CredentialRateLimited(_) => "rate-limited",
            Self::Maintenance(_) => "maintenance",
            Self::Unavailable => "unavailable",
            Self::DatabaseUnavailable(_) => "database-unavailable",
            Self::PushEndpointRefused(_) => "push-endpoint-refused",
            Self::PushChannelNotConfigured(_) => "push-channel-not-configured",
            Self::Internal(_) => "internal",
            Self::Overloaded(_) => "overloaded",
        }
    }

    /// A binding-not-active error that names the state and grace date.
    pub fn not_active(state: BindingState, grace_until: Option<i64>) -> Self {
        let name = state_name(state);
        let grace_until = grace_until.map(crate::clock::from_unix);
        let detail = match grace_until {
            Some(g) => format!(
                "the user's one-push binding is {name}; password-only use is allowed until {}",
                g.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            ),
            None => format!("the user's one-push binding is {name}"),
        };
        Self::BindingNotActive {
            detail,
            state,
            grace_until,
        }
    }
}

/// A binding state as a problem detail names it.
fn state_name(state: BindingState) -> &'static str {
    match state {
        BindingState::Active => "active",
        BindingState::Suspended => "suspended",
        BindingState::Unregistered => "unregistered",
        BindingState::Locked => "locked",
    }
}

/// A token kind as a problem detail names it.
fn kind_name(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Push => "a push token (push)",
        TokenKind::Otp => "a code token (otp)",
    }
}

fn kind_note(kind: Option<TokenKind>) -> String {
    kind.map(|k| format!(" with {}", kind_name(k)))
        .unwrap_or_default()
}

fn rfc3339(unix: i64) -> String {
    crate::clock::from_unix(unix)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// `one-push is suspended for maintenance: <message>; retry after N seconds (until T)`.
fn maintenance_detail(status: &onepush_protocol::api::MaintenanceStatus) -> String {
    let message = status
        .message
        .as_ref()
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    let retry = status
        .retry_after_seconds
        .map(|s| format!("; retry after {s} seconds"))
        .unwrap_or_default();
    let until = status
        .until
        .map(|t| format!(" (it ends at {})", rfc3339(t.unix_timestamp())))
        .unwrap_or_default();
    format!("one-push is suspended for maintenance{message}{retry}{until}")
}

fn number_mismatch_detail(tries_left: u32) -> String {
    const WRONG: &str = "the number typed does not match the number shown on the bank's page";
    match tries_left {
        0 => format!("{WRONG}; no tries left: the challenge ended denied"),
        1 => format!("{WRONG}; 1 try left before the challenge ends denied"),
        n => format!("{WRONG}; {n} tries left before the challenge ends denied"),
    }
}
