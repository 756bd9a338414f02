//! JSON bodies of the relay's HTTP APIs, shared by the relay and its clients so the
//! two sides cannot drift apart. Requests refuse unknown fields; timestamps are
//! RFC 3339 strings in UTC. The routes are listed in `docs/api.md`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::challenge::{ChallengeKind, ChallengeStatus};
use crate::channel::PushChannel;
use crate::context::Context;
use crate::ids::{ChallengeId, CredentialId, TenantId, UserId};
use crate::jws::{DecisionVerdict, DenyReason};
use crate::keys::Jwk;
pub use crate::maintenance::{
    MAX_MAINTENANCE_MESSAGE_CHARS, MaintenanceOverview, MaintenanceScope, MaintenanceStatus,
    SetMaintenance, TenantMaintenance,
};

/// The header that carries a device request proof (see [`crate::proof`]).
pub const PROOF_HEADER: &str = "OnePush-Proof";
/// The header a bank sets to make challenge creation idempotent.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// Shortest time a bank may give a user to answer, in seconds.
pub const MIN_TTL_SECONDS: u32 = 10;
/// Longest time a bank may give a user to answer, in seconds.
pub const MAX_TTL_SECONDS: u32 = 600;
/// Time to answer when the bank does not say, in seconds.
pub const DEFAULT_TTL_SECONDS: u32 = 60;
/// Longest long-poll a bank may ask for, in seconds.
pub const MAX_WAIT_SECONDS: u32 = 60;

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// An error answer, RFC 9457 `application/problem+json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URI naming the kind of problem, `https://onepush.dev/problems/<slug>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, for a person to read.
    pub detail: String,
    /// Binding state, when the problem is about one (`suspended`, `locked`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<BindingState>,
    /// Until when password-only use is allowed, when the problem is about a binding.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub grace_until: Option<OffsetDateTime>,
    /// Challenge status, when the problem is about a decided challenge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge_status: Option<ChallengeStatus>,
    /// Tries left: OTP attempts before the binding locks (`codes-invalid`), or wrong match
    /// numbers before the challenge ends denied (`number-mismatch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
    /// The suspension in force, when the problem is `maintenance` (R18): its announcement
    /// (`message`) and end (`until`), for the bank to show its customers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<MaintenanceStatus>,
}

impl Problem {
    /// The slug at the end of [`Problem::kind`] (`user-not-enrolled`, ...).
    pub fn slug(&self) -> &str {
        self.kind.rsplit('/').next().unwrap_or(&self.kind)
    }
}

// ---------------------------------------------------------------------------
// Bank API
// ---------------------------------------------------------------------------

/// `POST /v1/challenges`: ask a user to approve something.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateChallenge {
    /// The bank's user.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub user_id: UserId,
    /// What kind of approval.
    pub kind: ChallengeKind,
    /// What is being approved, shown on the phone as sent; required fields per kind
    /// are in [`ChallengeKind::required_fields`].
    pub context: Context,
    /// Seconds the user has to answer, [`MIN_TTL_SECONDS`]–[`MAX_TTL_SECONDS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u32>,
    /// When true the relay picks a two-digit number the bank shows on its page and
    /// the user must type it on the phone.
    #[serde(default)]
    pub number_matching: bool,
}

/// `201` answer to [`CreateChallenge`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChallengeCreated {
    /// The new challenge.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: ChallengeId,
    /// Always `pending` on creation (or the current state on an idempotent replay).
    pub status: ChallengeStatus,
    /// The deadline.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: OffsetDateTime,
    /// With number matching: the number (10–99) the bank shows on its page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u8>,
}

/// A challenge as the bank sees it (`GET /v1/challenges/{id}`, webhooks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BankChallenge {
    /// The challenge.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: ChallengeId,
    /// The user asked.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub user_id: UserId,
    /// The credential the challenge was sent to.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub credential_id: CredentialId,
    /// Its kind.
    pub kind: ChallengeKind,
    /// What is approved.
    pub context: Context,
    /// Where it stands.
    pub status: ChallengeStatus,
    /// The number to match, when number matching is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u8>,
    /// Created at.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    /// Deadline.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: OffsetDateTime,
    /// When it left `pending`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub decided_at: Option<OffsetDateTime>,
    /// The signed answer, for `approved` and `denied` (never for `credential_mismatch`:
    /// another credential's answer is not the challenge's decision; its signer is in the
    /// audit event `challenge.credential_mismatch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<DecisionRecord>,
}

/// The device's signed answer as stored by the relay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionRecord {
    /// The compact JWS exactly as the device posted it; verify it with the JWK
    /// from `GET /v1/credentials/{credential_id}/jwk`.
    pub jws: String,
    /// The credential that signed it (differs from the challenge's for `credential_mismatch`).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub credential_id: CredentialId,
    /// Approve or deny.
    pub verdict: DecisionVerdict,
    /// Why it was denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<DenyReason>,
    /// Whether the user verified with PIN or biometrics before answering.
    pub user_verified: bool,
}

/// `POST /v1/enrollments`: bind a credential to a user with two consecutive codes (R8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateEnrollment {
    /// The bank's user.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub user_id: UserId,
    /// The credential ID the user read off the app (spaces and hyphens allowed).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub credential_id: CredentialId,
    /// Two consecutive security codes, older first.
    pub codes: [String; 2],
    /// The kind of token the bank requires; a credential of another kind is refused
    /// (409 `token-kind-mismatch`). Absent: either kind, as the device provisioned it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<TokenKind>,
}

/// What kind of token a credential is, and so what a user bound to it uses (R10, R11).
///
/// A user has one kind at a time: switching needs unregistering first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TokenKind {
    /// A phone that approves challenges with one push, and shows codes too.
    #[default]
    Push,
    /// A code-only token (such as a PC token, R11): one-time codes, no push approvals;
    /// the relay refuses challenges for its users.
    Otp,
}

impl TokenKind {
    /// The wire name (`push`, `otp`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Push => "push",
            Self::Otp => "otp",
        }
    }
}

impl std::fmt::Display for TokenKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TokenKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "push" => Ok(Self::Push),
            "otp" => Ok(Self::Otp),
            other => Err(format!("unknown token kind {other:?} (push or otp)")),
        }
    }
}

/// The state of a user's binding to a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum BindingState {
    /// In use.
    Active,
    /// Suspended by the bank (R13); password-only until `grace_until`.
    Suspended,
    /// Unregistered (R14); password-only until `grace_until`; a new enrollment may follow.
    Unregistered,
    /// Locked after failures, a `not_me` denial or a lost-device report (R15, R16).
    Locked,
}

/// A user's binding (`GET /v1/users/{id}` and lifecycle answers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserBinding {
    /// The bank's user.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub user_id: UserId,
    /// The bound credential.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub credential_id: CredentialId,
    /// The kind of token bound: `push` (one-push approvals and codes) or `otp` (codes
    /// only; challenges for the user are refused).
    pub kind: TokenKind,
    /// Its state.
    pub state: BindingState,
    /// Why it is locked, when it is (`otp_failures`, `not_me`, `reported_lost`, `push_fatigue`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_reason: Option<String>,
    /// Until when password-only use is allowed (suspended / unregistered).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub grace_until: Option<OffsetDateTime>,
    /// Consecutive OTP failures.
    pub failures: u32,
    /// Clock drift recorded by the last resync, in 30 s steps.
    pub drift_steps: i64,
    /// When it was enrolled.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub enrolled_at: OffsetDateTime,
}

/// `POST /v1/users/{id}/otp/verify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyOtp {
    /// The six-digit code the user typed.
    pub code: String,
}

/// `200` answer to [`VerifyOtp`]: the code is valid and now used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OtpVerified {
    /// Always true (a wrong code is a problem answer).
    pub valid: bool,
    /// The 30 s time step the code belonged to.
    pub step: u64,
}

/// Shortest time a bank may give a user to type an offline code, in seconds.
pub const MIN_OFFLINE_TTL_SECONDS: u32 = 60;
/// Longest time a bank may give a user to type an offline code, in seconds.
pub const MAX_OFFLINE_TTL_SECONDS: u32 = 600;
/// Time to type an offline code when the bank does not say, in seconds.
pub const DEFAULT_OFFLINE_TTL_SECONDS: u32 = 300;

/// `POST /v1/offline-challenges`: an offline code (RFC 6287 OCRA) for a user whose phone
/// has no network. Same kinds and context rules as [`CreateChallenge`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateOfflineChallenge {
    /// The bank's user.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub user_id: UserId,
    /// What kind of approval.
    pub kind: ChallengeKind,
    /// What is being approved, shown on the phone as sent (same rules as a push
    /// challenge's context).
    pub context: Context,
    /// Seconds the user has to type the code, [`MIN_OFFLINE_TTL_SECONDS`]–
    /// [`MAX_OFFLINE_TTL_SECONDS`] (default [`DEFAULT_OFFLINE_TTL_SECONDS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u32>,
}

/// `201` answer to [`CreateOfflineChallenge`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfflineChallengeCreated {
    /// The offline challenge, for the verify call.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: ChallengeId,
    /// What the bank shows as a QR code (or text to paste): base64url of a compact JSON
    /// ([`crate::ocra::OfflinePayload`]).
    pub payload: String,
    /// The OCRA suite, `OCRA-1:HOTP-SHA256-8:QH64-T1M`.
    pub suite: String,
    /// The 64-hex-digit OCRA question the payload asks (the app derives it itself).
    pub question: String,
    /// The deadline: a code typed after it is refused.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: OffsetDateTime,
}

/// `POST /v1/offline-challenges/{id}/verify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyOfflineCode {
    /// The eight-digit code the app showed.
    pub code: String,
}

/// `200` answer to [`VerifyOfflineCode`]: the code is right, and the offline challenge
/// is now used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfflineCodeVerified {
    /// Always true (a wrong code is a problem answer).
    pub valid: bool,
    /// The offline challenge.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: ChallengeId,
    /// Its user.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub user_id: UserId,
    /// The kind approved.
    pub kind: ChallengeKind,
    /// The context approved, as the offline challenge was created with it: a bank
    /// checks it is the transaction it means to carry out.
    pub context: Context,
    /// The one-minute time step the code belonged to.
    pub step: u64,
}

/// `POST /v1/users/{id}/otp/resync` (R12).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResyncOtp {
    /// Two consecutive codes, older first.
    pub codes: [String; 2],
}

/// `200` answer to [`ResyncOtp`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OtpResynced {
    /// How many 30 s steps the device clock is ahead (positive) or behind.
    pub drift_steps: i64,
}

/// `POST /v1/users/{id}/suspend` and `DELETE /v1/users/{id}/enrollment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GraceUntil {
    /// Until when the bank allows password-only use; absent means not at all.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub grace_until: Option<OffsetDateTime>,
}

/// `200` answer to `POST /v1/credentials/{cid}/report-lost` (R16).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportedLost {
    /// Bindings of this tenant now locked.
    pub locked_bindings: u32,
    /// Pending challenges cancelled.
    pub cancelled_challenges: u32,
}

/// `GET /v1/credentials/{cid}/jwk`: the key that verifies the credential's decisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialKey {
    /// The credential.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub credential_id: CredentialId,
    /// Its public P-256 key (RFC 7517/7518).
    pub jwk: Jwk,
}

/// One entry of the append-only audit log (`GET /v1/audit`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    /// Increasing sequence number.
    pub seq: i64,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: OffsetDateTime,
    /// What happened (`challenge.created`, `challenge.approved`, `binding.locked`, ...).
    pub event: String,
    /// The user concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub user_id: Option<UserId>,
    /// The credential concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub credential_id: Option<CredentialId>,
    /// The challenge concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub challenge_id: Option<ChallengeId>,
    /// Event details.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: serde_json::Value,
}

/// A webhook delivery body (Standard Webhooks: `webhook-id` is [`WebhookEvent::id`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEvent {
    /// Stable across retries, so the bank can de-duplicate.
    pub id: String,
    /// `challenge.decided`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When the event happened.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub timestamp: OffsetDateTime,
    /// The decided challenge.
    pub data: BankChallenge,
    /// Set when the binding is now locked: the answer was "this wasn't me", or the
    /// challenge was cancelled because the binding locked (too many wrong codes, the
    /// phone reported lost).
    #[serde(default)]
    pub binding_locked: bool,
    /// Why a challenge was `cancelled` other than by the bank: `not_me` (another prompt
    /// of the user was answered "this wasn't me"), `otp_failures`, `suspended`,
    /// `unregistered`, `reported_lost`, `credential_revoked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

// ---------------------------------------------------------------------------
// Device API
// ---------------------------------------------------------------------------

/// `POST /v1/device/credentials`: a new app install asks for a credential.
/// The request proof embeds the same JWK (proof of possession).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProvisionRequest {
    /// The device's public signing key.
    pub jwk: Jwk,
    /// Where to send challenge announcements, if the device has a push channel (the
    /// forms of [`UpdatePushSubscription`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_subscription: Option<PushChannel>,
    /// The kind of token this install is: `push` (the default) or `otp`, a code-only
    /// token such as a PC token (R11).
    #[serde(default)]
    pub kind: TokenKind,
}

/// `201` answer to [`ProvisionRequest`]. The TOTP secret is shown only here.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Provisioned {
    /// The new credential ID.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub credential_id: CredentialId,
    /// The 20-byte TOTP secret, base32 (RFC 4648, no padding).
    pub totp_secret: String,
    /// The 32-byte OCRA key of offline codes (RFC 6287, `OCRA-1:HOTP-SHA256-8:QH64-T1M`),
    /// base32 (RFC 4648, no padding). Absent from relays without offline codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocra_key: Option<String>,
    /// The relay's VAPID public key (uncompressed P-256 point, base64url), the
    /// `applicationServerKey` a push service needs.
    pub vapid_public_key: String,
    /// The kind of token provisioned (as asked).
    #[serde(default)]
    pub kind: TokenKind,
}

impl std::fmt::Debug for Provisioned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provisioned")
            .field("credential_id", &self.credential_id)
            .field("totp_secret", &"<redacted>")
            .field("ocra_key", &self.ocra_key.as_ref().map(|_| "<redacted>"))
            .field("vapid_public_key", &self.vapid_public_key)
            .field("kind", &self.kind)
            .finish()
    }
}

/// `PUT /v1/device/push-subscription`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdatePushSubscription {
    /// The new push channel, or `null` to stop pushes: `{"type": "webpush", "endpoint",
    /// "keys"}` (`type` may be left out), `{"type": "apns", "device_token",
    /// "environment", "keys"}` or `{"type": "fcm", "registration_token", "keys"}`.
    pub subscription: Option<PushChannel>,
}

/// A challenge as its device sees it (`GET /v1/device/challenges[/{id}]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceChallenge {
    /// The challenge.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: ChallengeId,
    /// The bank.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub tenant_id: TenantId,
    /// The bank's display name.
    pub tenant_name: String,
    /// The bank's user.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub user_id: UserId,
    /// Its kind.
    pub kind: ChallengeKind,
    /// What is approved; the device digests this itself for the decision.
    pub context: Context,
    /// Whether the user must type the number shown on the bank's page.
    pub number_matching: bool,
    /// The relay's per-challenge nonce, echoed in the decision.
    pub nonce: String,
    /// Where it stands.
    pub status: ChallengeStatus,
    /// Created at.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    /// Deadline.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: OffsetDateTime,
}

/// `GET /v1/device/challenges`: pending challenges for this credential, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceChallengeList {
    /// The pending challenges.
    pub challenges: Vec<DeviceChallenge>,
}

/// `POST /v1/device/challenges/{id}/decision`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostDecision {
    /// The decision, compact JWS (see [`crate::jws`]).
    pub jws: String,
}

/// `200` answer to [`PostDecision`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionAccepted {
    /// The challenge.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: ChallengeId,
    /// Its state now (`approved` or `denied`).
    pub status: ChallengeStatus,
}

/// One user this credential serves (`GET /v1/device/accounts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceAccount {
    /// The bank.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub tenant_id: TenantId,
    /// The bank's display name.
    pub tenant_name: String,
    /// The bank's user.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub user_id: UserId,
    /// The binding's state.
    pub state: BindingState,
    /// When it was enrolled.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub enrolled_at: OffsetDateTime,
}

/// `GET /v1/device/accounts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceAccounts {
    /// The credential asking.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub credential_id: CredentialId,
    /// The users it serves.
    pub accounts: Vec<DeviceAccount>,
}

/// The `data` of a Server-Sent Event on `GET /v1/device/events`; the SSE `event`
/// field carries the same name as `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DeviceEvent {
    /// A new challenge for this device. The event stream is signed and carries its
    /// details (what `GET /v1/device/challenges/{id}` would answer), so a following app
    /// shows it without a round trip; a client that finds none fetches it.
    Challenge {
        /// The challenge.
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
        id: ChallengeId,
        /// Its details, as the device sees them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        challenge: Option<Box<DeviceChallenge>>,
    },
    /// A challenge of this device left `pending` (answered elsewhere, cancelled, expired).
    Status {
        /// The challenge.
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
        id: ChallengeId,
        /// Its new state.
        status: ChallengeStatus,
    },
}

/// The plaintext of a Web Push message: the challenge it announces and, when they fit
/// one message, its details.
///
/// Every message is encrypted to the device's push keys (RFC 8291) and padded to
/// [`crate::webpush::PUSH_MESSAGE_LEN`] bytes, so the push service sees neither the
/// details nor their length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushPayload {
    /// Payload version, `1`.
    pub v: u8,
    /// `challenge`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The challenge.
    pub id: ChallengeId,
    /// Its details, as `GET /v1/device/challenges/{id}` answers them; absent when they
    /// do not fit one message (a large context): then the app fetches them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<Box<DeviceChallenge>>,
}

impl PushPayload {
    /// The payload announcing a challenge without its details: the app fetches them.
    pub fn challenge(id: ChallengeId) -> Self {
        Self {
            v: 1,
            kind: "challenge".to_owned(),
            id,
            challenge: None,
        }
    }

    /// The plaintext of the message announcing `challenge`: with its details when they
    /// fit one push message ([`crate::webpush::PUSH_PLAINTEXT_LEN`]), else without.
    pub fn plaintext_for(challenge: DeviceChallenge) -> Vec<u8> {
        let id = challenge.id;
        let plain = Self {
            challenge: Some(Box::new(challenge)),
            ..Self::challenge(id)
        }
        .to_plaintext();
        if plain.len() <= crate::webpush::PUSH_PLAINTEXT_LEN {
            return plain;
        }
        Self::challenge(id).to_plaintext()
    }

    /// This payload as the JSON a message carries.
    pub fn to_plaintext(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a push payload serialises")
    }

    /// Reads a decrypted message: version 1, type `challenge`, and carried details (if
    /// any) for the announced challenge.
    ///
    /// # Errors
    /// What is wrong with it, in words.
    pub fn from_plaintext(plain: &[u8]) -> Result<Self, String> {
        let payload: Self = serde_json::from_slice(plain).map_err(|e| e.to_string())?;
        if payload.v != 1 || payload.kind != "challenge" {
            return Err(format!("version {} type {:?}", payload.v, payload.kind));
        }
        if let Some(carried) = &payload.challenge
            && carried.id != payload.id
        {
            return Err(format!(
                "announces {} but carries the details of {}",
                payload.id, carried.id
            ));
        }
        Ok(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_challenge_refuses_unknown_fields() {
        let body = r#"{"user_id":"u1","kind":"login","context":{"ip":"1.2.3.4","user_agent":"x"},"oops":1}"#;
        let err = serde_json::from_str::<CreateChallenge>(body).unwrap_err();
        assert!(err.to_string().contains("unknown field `oops`"), "{err}");
    }

    #[test]
    fn create_challenge_defaults() {
        let body = r#"{"user_id":"u1","kind":"transaction","context":{"amount":"100"}}"#;
        let c: CreateChallenge = serde_json::from_str(body).unwrap();
        assert_eq!(c.ttl_seconds, None);
        assert!(!c.number_matching);
    }

    #[test]
    fn device_event_is_tagged() {
        let id = ChallengeId::new();
        let json = serde_json::to_value(DeviceEvent::Status {
            id,
            status: ChallengeStatus::Expired,
        })
        .unwrap();
        assert_eq!(json["type"], "status");
        assert_eq!(json["status"], "expired");
    }

    #[test]
    fn push_payload_without_details_names_only_the_challenge() {
        let id = ChallengeId::new();
        let json = serde_json::to_string(&PushPayload::challenge(id)).unwrap();
        assert_eq!(json, format!(r#"{{"v":1,"type":"challenge","id":"{id}"}}"#));
    }

    fn device_challenge(context: serde_json::Value) -> DeviceChallenge {
        DeviceChallenge {
            id: ChallengeId::new(),
            tenant_id: "demo-bank".parse().unwrap(),
            tenant_name: "Demo Bank".into(),
            user_id: "u1".parse().unwrap(),
            kind: ChallengeKind::Transaction,
            context: Context::from_value(context).unwrap(),
            number_matching: false,
            nonce: "bm9uY2U".into(),
            status: ChallengeStatus::Pending,
            created_at: OffsetDateTime::UNIX_EPOCH,
            expires_at: OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(2),
        }
    }

    #[test]
    fn push_payload_carries_the_details_when_they_fit() {
        let challenge = device_challenge(serde_json::json!({"amount": "1000000", "to": "ACME"}));
        let plain = PushPayload::plaintext_for(challenge.clone());
        let read = PushPayload::from_plaintext(&plain).unwrap();
        assert_eq!(read.id, challenge.id);
        assert_eq!(read.challenge.as_deref(), Some(&challenge));
    }

    #[test]
    fn push_payload_leaves_out_details_too_large_for_one_message() {
        let big = "x".repeat(crate::webpush::PUSH_PLAINTEXT_LEN);
        let challenge = device_challenge(serde_json::json!({"memo": big}));
        let plain = PushPayload::plaintext_for(challenge.clone());
        assert!(plain.len() <= crate::webpush::PUSH_PLAINTEXT_LEN);
        let read = PushPayload::from_plaintext(&plain).unwrap();
        assert_eq!(read, PushPayload::challenge(challenge.id));
    }

    #[test]
    fn push_payload_refuses_other_versions_and_mismatched_details() {
        let challenge = device_challenge(serde_json::json!({"amount": "1"}));
        let mut payload = PushPayload::challenge(ChallengeId::new());
        payload.challenge = Some(Box::new(challenge.clone()));
        let err = PushPayload::from_plaintext(&serde_json::to_vec(&payload).unwrap()).unwrap_err();
        assert!(err.contains("carries the details of"), "{err}");
        let v2 = format!(r#"{{"v":2,"type":"challenge","id":"{}"}}"#, challenge.id);
        assert!(PushPayload::from_plaintext(v2.as_bytes()).is_err());
        assert!(PushPayload::from_plaintext(b"not json").is_err());
    }

    #[test]
    fn token_kinds_default_to_push_and_use_snake_case() {
        assert_eq!(TokenKind::default(), TokenKind::Push);
        assert_eq!(serde_json::to_value(TokenKind::Otp).unwrap(), "otp");
        assert_eq!("push".parse::<TokenKind>(), Ok(TokenKind::Push));
        assert!(
            "pc".parse::<TokenKind>()
                .unwrap_err()
                .contains("push or otp")
        );
        let jwk = crate::DeviceKey::generate().public_jwk();
        let plain = serde_json::json!({ "jwk": jwk });
        let req: ProvisionRequest = serde_json::from_value(plain).unwrap();
        assert_eq!(req.kind, TokenKind::Push);
        let otp = serde_json::json!({ "jwk": jwk, "kind": "otp" });
        let req: ProvisionRequest = serde_json::from_value(otp).unwrap();
        assert_eq!(req.kind, TokenKind::Otp);
        let bad = serde_json::json!({ "jwk": jwk, "kind": "sms" });
        assert!(serde_json::from_value::<ProvisionRequest>(bad).is_err());
        let enroll =
            r#"{"user_id":"u1","credential_id":"ONEP12345674","codes":["123456","654321"]}"#;
        let e: CreateEnrollment = serde_json::from_str(enroll).unwrap();
        assert_eq!(e.kind, None);
        assert!(!serde_json::to_string(&e).unwrap().contains("kind"));
    }

    #[test]
    fn provisioned_debug_hides_the_secret() {
        let p = Provisioned {
            credential_id: "ONEP12345674".parse().unwrap(),
            totp_secret: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ".into(),
            ocra_key: Some("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA".into()),
            vapid_public_key: "BA".into(),
            kind: TokenKind::Otp,
        };
        assert!(!format!("{p:?}").contains("GEZD"));
    }
}
