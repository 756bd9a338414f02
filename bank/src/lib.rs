//! The OnePush bank SDK: what a bank backend needs to use a OnePush relay.
//!
//! - [`Client`]: the relay's bank API (docs/api.md), one typed method per route:
//!   challenges (with long-poll), enrollments, users and their lifecycle, OTP, lost
//!   devices, credential keys, the audit log ([`Client::audit_pages`] pages through
//!   it). A refusal is an [`Error::Problem`] with the relay's RFC 9457 problem
//!   document. [`Client::raw`] and [`Client::raw_path`] reach any route with the
//!   tenant key (a route newer than this crate, malformed input in tests).
//! - [`verify`]: the bank's own check of a decision JWS against the credential key it
//!   pinned at enrollment, claim by claim against what it sent. The relay cannot forge
//!   an approval past it.
//! - [`webhook`]: Standard Webhooks verification of the relay's webhooks.
//!
//! A user's token has a kind ([`UserBinding::kind`](onepush_protocol::api::UserBinding)):
//! `push` users approve a challenge; `otp` users (a code-only token, such as a PC token)
//! type a code the bank checks with [`Client::verify_otp`] — the relay refuses a
//! challenge for them (409 `code-token`).
//!
//! A login approved by one push, from enrollment to the verified decision:
//!
//! ```no_run
//! use onepush_bank::{ApiKey, Client, verify};
//! use onepush_protocol::api::{CreateChallenge, CreateEnrollment};
//! use onepush_protocol::{ChallengeKind, Context};
//!
//! # async fn login(user: onepush_protocol::UserId, cid: onepush_protocol::CredentialId,
//! #                codes: [String; 2]) -> Result<(), Box<dyn std::error::Error>> {
//! let relay = Client::new("https://relay.example.com", ApiKey::new("tenant key"))?;
//! // Registration page: the credential ID and two consecutive codes from the app.
//! relay.enroll(&CreateEnrollment { user_id: user.clone(), credential_id: cid.clone(), codes, kind: None }).await?;
//! let pinned = relay.jwk(&cid).await?.jwk; // keep it with the user
//!
//! // Login: ask the phone, wait for the answer, check the signature yourself.
//! let context = Context::from_value(serde_json::json!({"ip": "203.0.113.7", "user_agent": "Firefox on Windows", "location": "Tokyo"}))?;
//! let ask = CreateChallenge { user_id: user.clone(), kind: ChallengeKind::Login,
//!     context: context.clone(), ttl_seconds: Some(60), number_matching: false };
//! let created = relay.create_challenge(&ask, Some("login-4711")).await?;
//! let outcome = relay.outcome(&created.id).await?;
//! let expected = verify::Expected { challenge_id: created.id, tenant_id: None, user_id: user,
//!     credential_id: cid, kind: ChallengeKind::Login, context, number: None };
//! match verify::verify_approval(&outcome, &pinned, &expected) {
//!     Ok(claims) => println!("approved (user verified: {})", claims.uv),
//!     Err(why) => println!("login stopped: {} ({why})", outcome.status),
//! }
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod client;
mod error;
pub mod verify;
pub mod webhook;

pub use client::{ApiKey, AuditPages, AuditQuery, Client};
pub use error::Error;
pub use onepush_protocol::api::Problem;
