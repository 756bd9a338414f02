//! The one error every command rejects with: `{ "kind", "message" }` (app/ui/COMMANDS.md),
//! and how `onepush-device` and relay failures map onto its kinds.

use onepush_device::{ClientError, DeviceError, ShownError, VaultError};
use onepush_protocol::ChallengeStatus;
use serde::Serialize;

/// What went wrong, as the UI tells it apart (`snake_case` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// `setup` on a device that already has a credential.
    AlreadySetUp,
    /// A command that needs a credential, before `setup`.
    NotSetUp,
    /// An argument is not acceptable (URL, PIN format, number format).
    InvalidInput,
    /// An offline payload cannot be answered (malformed, past its deadline, no
    /// offline-code key); the message says which.
    OfflineRefused,
    /// The relay could not be reached (refused, timed out).
    RelayUnreachable,
    /// The relay refuses for now (429).
    RateLimited,
    /// Any other refusal by the relay; the message is the problem's `detail`.
    Relay,
    /// The challenge (or another resource) does not exist for this credential.
    NotFound,
    /// The challenge was already answered, cancelled or ended otherwise.
    ChallengeDecided,
    /// The challenge's time ran out.
    ChallengeExpired,
    /// The challenge asks for the number shown on the bank's page.
    NumberRequired,
    /// The number typed is not the one the bank shows.
    NumberMismatch,
    /// A later copy from the relay differs from the request shown: nothing is signed
    /// for it; the UI warns that it is suspicious.
    ChallengeChanged,
    /// The request was never shown on this device: the UI refreshes and shows it.
    ChallengeNotShown,
    /// The PIN is needed for this.
    PinRequired,
    /// The PIN is wrong.
    PinInvalid,
    /// Too many wrong PINs: wait before trying again.
    PinLocked,
    /// The vault is sealed with the PIN and not unlocked yet: `unlock` first.
    Locked,
    /// The biometric check (phones) did not pass or was cancelled: nothing was signed.
    BiometricFailed,
    /// No OS keystore can keep a new vault's key (setup): choose file-key mode or
    /// provide a keystore.
    KeystoreUnavailable,
    /// The vault's key is not in this device's keystore (a copied app folder).
    VaultKeyMissing,
    /// Something on this device failed (storage, ...); details are logged.
    Internal,
}

/// A failed command, as the UI receives it. The message is for a person, in
/// English, without internals; it never carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct AppError {
    /// The kind, for the UI to translate.
    pub kind: ErrorKind,
    /// What happened, for a person.
    pub message: String,
}

impl AppError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// `not_set_up`.
    pub fn not_set_up() -> Self {
        Self::new(
            ErrorKind::NotSetUp,
            "this device has no credential yet: set it up first",
        )
    }

    /// `invalid_input` with `message`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// `internal`: logs the cause once and tells the user only that it failed.
    pub fn internal(what: &str, cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "{what}");
        Self::new(ErrorKind::Internal, format!("{what}; see the app's log"))
    }

    /// The error a decision on a challenge in `status` gets.
    pub fn not_pending(status: ChallengeStatus) -> Self {
        if status == ChallengeStatus::Expired {
            Self::new(ErrorKind::ChallengeExpired, "the time to answer ran out")
        } else {
            Self::new(
                ErrorKind::ChallengeDecided,
                format!("this request is already {status}"),
            )
        }
    }
}

/// The result of a command.
pub type CommandResult<T> = Result<T, AppError>;

impl From<ClientError> for AppError {
    fn from(error: ClientError) -> Self {
        let kind = match (&error, error.status(), error.slug()) {
            (ClientError::Unreachable { .. }, _, _) => ErrorKind::RelayUnreachable,
            (ClientError::BadUrl(_), _, _) => ErrorKind::InvalidInput,
            (_, Some(409), Some("challenge-decided")) => ErrorKind::ChallengeDecided,
            (_, Some(410), _) | (_, _, Some("challenge-expired")) => ErrorKind::ChallengeExpired,
            (_, Some(422), Some("number-mismatch")) => ErrorKind::NumberMismatch,
            (_, Some(404), _) => ErrorKind::NotFound,
            (_, Some(429), _) => ErrorKind::RateLimited,
            _ => ErrorKind::Relay,
        };
        let message = match &error {
            ClientError::Problem(problem) => problem.detail.clone(),
            ClientError::Unreachable { url, .. } => format!("the relay at {url} cannot be reached"),
            other => other.to_string(),
        };
        if kind == ErrorKind::Relay || kind == ErrorKind::RelayUnreachable {
            tracing::warn!(error = %error, "relay request failed");
        }
        Self::new(kind, message)
    }
}

impl From<VaultError> for AppError {
    fn from(error: VaultError) -> Self {
        match error {
            VaultError::NotFound(_) => Self::not_set_up(),
            VaultError::AlreadyExists(_) => Self::new(
                ErrorKind::AlreadySetUp,
                "this device already has a credential: reset it first",
            ),
            VaultError::KeystoreUnavailable(_) => {
                Self::new(ErrorKind::KeystoreUnavailable, error.to_string())
            }
            VaultError::NotInKeystore => Self::new(ErrorKind::VaultKeyMissing, error.to_string()),
            other => Self::internal("the app's data could not be read or written", &other),
        }
    }
}

impl From<DeviceError> for AppError {
    fn from(error: DeviceError) -> Self {
        match error {
            DeviceError::Vault(e) => e.into(),
            DeviceError::Client(e) => e.into(),
            DeviceError::NotPending { status, .. } => Self::not_pending(status),
            DeviceError::NumberRequired { .. } => Self::new(
                ErrorKind::NumberRequired,
                "type the number shown on the bank's page",
            ),
            DeviceError::Provisioning(reason) => Self::new(ErrorKind::Relay, reason),
            DeviceError::Offline(reason) => Self::new(ErrorKind::OfflineRefused, reason),
        }
    }
}

impl From<ShownError> for AppError {
    fn from(error: ShownError) -> Self {
        tracing::warn!(error = %error, "decision refused");
        match error {
            ShownError::NotShown { .. } => Self::new(
                ErrorKind::ChallengeNotShown,
                "this request was not shown on this device: refresh to see it before answering",
            ),
            ShownError::Changed { .. } => Self::new(
                ErrorKind::ChallengeChanged,
                "this request changed after it was shown: it was not signed; treat it as suspicious",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use onepush_protocol::api::Problem;

    use super::*;

    fn problem(status: u16, slug: &str) -> ClientError {
        ClientError::Problem(Box::new(Problem {
            kind: format!("https://onepush.dev/problems/{slug}"),
            title: slug.to_owned(),
            status,
            detail: format!("detail of {slug}"),
            state: None,
            grace_until: None,
            challenge_status: None,
            attempts_left: None,
            maintenance: None,
        }))
    }

    #[test]
    fn relay_problems_map_to_the_kinds_the_ui_knows() {
        let cases = [
            (409, "challenge-decided", ErrorKind::ChallengeDecided),
            (410, "challenge-expired", ErrorKind::ChallengeExpired),
            (422, "number-mismatch", ErrorKind::NumberMismatch),
            (404, "challenge-not-found", ErrorKind::NotFound),
            (429, "rate-limited", ErrorKind::RateLimited),
            (422, "decision-mismatch", ErrorKind::Relay),
            (401, "proof-invalid", ErrorKind::Relay),
        ];
        for (status, slug, kind) in cases {
            let error = AppError::from(problem(status, slug));
            assert_eq!(error.kind, kind, "{status} {slug}");
            assert_eq!(error.message, format!("detail of {slug}"));
        }
    }

    #[test]
    fn unreachable_relay_is_relay_unreachable() {
        let error = AppError::from(ClientError::Unreachable {
            url: "http://127.0.0.1:9".into(),
            reason: "connection refused".into(),
        });
        assert_eq!(error.kind, ErrorKind::RelayUnreachable);
        assert!(error.message.contains("127.0.0.1:9"), "{}", error.message);
    }

    #[test]
    fn keystore_problems_have_kinds_of_their_own_and_say_what_happened() {
        let copied = AppError::from(VaultError::NotInKeystore);
        assert_eq!(copied.kind, ErrorKind::VaultKeyMissing);
        assert!(
            copied.message.contains("copied from another device"),
            "{copied}"
        );
        let none = AppError::from(VaultError::KeystoreUnavailable("no D-Bus".into()));
        assert_eq!(none.kind, ErrorKind::KeystoreUnavailable);
        assert_eq!(
            none.message,
            "no OS keystore is available on this device (no D-Bus)"
        );
    }

    #[test]
    fn error_serialises_as_kind_and_message() {
        let json = serde_json::to_value(AppError::new(ErrorKind::PinLocked, "wait")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "kind": "pin_locked", "message": "wait" })
        );
    }
}
