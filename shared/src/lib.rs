//! The OnePush wire protocol, shared by the relay, the device core, the app and the demo bank.
//!
//! Nothing here does I/O or reads a clock: every function that depends on time takes
//! `now` (Unix seconds) from its caller, so tests are exact.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`ids`] | [`CredentialId`], [`ChallengeId`], [`TenantId`], [`UserId`] |
//! | [`context`] | the [`Context`] a challenge approves and its RFC 8785 digest |
//! | [`totp`] | RFC 6238 security codes, verification, enrollment and resync |
//! | [`keys`] | the device's P-256 signing key and its public JWK |
//! | [`secret`] | fixed-size symmetric secrets (the TOTP secret, the OCRA key) |
//! | [`ocra`] | RFC 6287 offline codes: suite, response, question, QR payload |
//! | [`jws`] | the signed decision (compact JWS, ES256) |
//! | [`proof`] | the signed device request proof (DPoP-shaped JWT) |
//! | [`challenge`] | the challenge state machine |
//! | [`transaction`] | the context fields each kind and transaction type requires |
//! | [`webpush`] | Web Push subscriptions and RFC 8291 payload decryption |
//! | [`channel`] | a credential's push channel: Web Push, APNs or FCM |
//! | [`api`] | JSON bodies of the relay's bank and device APIs |

#![warn(missing_docs)]

pub mod api;
pub mod b64;
pub mod challenge;
pub mod channel;
pub mod context;
pub mod ids;
mod jose;
pub mod jws;
pub mod keys;
pub mod maintenance;
pub mod ocra;
pub mod proof;
pub mod secret;
pub mod totp;
pub mod transaction;
pub mod webhook;
pub mod webpush;

pub use challenge::{ChallengeEvent, ChallengeKind, ChallengeStatus, TransitionError};
pub use channel::{ApnsEnvironment, ApnsSubscription, FcmSubscription, PushChannel};
pub use context::{Context, ContextError};
pub use ids::{ChallengeId, CredentialId, IdError, TenantId, UserId};
pub use jws::{DecisionClaims, DecisionVerdict, DenyReason, JwsError};
pub use keys::{DeviceKey, Jwk, KeyError};
pub use proof::{ProofClaims, ProofError};
pub use totp::{TotpError, TotpSecret};
pub use transaction::{ContextFieldError, TransactionType};
pub use webpush::{
    PushDecryptError, PushKeys, PushReceiverKeys, PushSubscription, SubscriptionError,
};
