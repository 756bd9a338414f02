//! The challenge state machine: states, events and the pure transition function.
//!
//! ```text
//! pending ──approve──▶ approved          pending ──cancel──▶ cancelled
//!         ──deny─────▶ denied                    ──mismatch─▶ credential_mismatch
//!         ──deadline─▶ expired, or undeliverable when no channel reached the device
//! ```
//! Terminal states never change. A pending challenge at or past its deadline can
//! only reach the deadline: an answer that arrives late does not count.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a challenge asks the user to approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ChallengeKind {
    /// A sign-in on a PC (R1).
    Login,
    /// A transfer, payment or settings change (R2).
    Transaction,
    /// An admin operation on another user (R5).
    Admin,
}

impl ChallengeKind {
    /// Every kind, in display order.
    pub const ALL: [Self; 3] = [Self::Login, Self::Transaction, Self::Admin];

    /// Context fields the bank must send for this kind; for a `transaction`, those of
    /// a `transfer` (the type a context without `type` has). The full rules, with
    /// each field's shape and the other transaction types, are
    /// [`crate::transaction::check_context`].
    pub fn required_fields(self) -> &'static [&'static str] {
        match self {
            Self::Login => &["ip", "user_agent"],
            Self::Transaction => &["amount", "currency", "payee_name", "payee_account"],
            Self::Admin => &["operation", "target_user_id"],
        }
    }

    /// The wire name (`login`, `transaction`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Transaction => "transaction",
            Self::Admin => "admin",
        }
    }
}

impl fmt::Display for ChallengeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChallengeKind {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownName(s.to_owned()))
    }
}

/// A name that is not one of the enum's wire names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown name {0:?}")]
pub struct UnknownName(pub String);

/// Where a challenge stands. Every state but `pending` is terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ChallengeStatus {
    /// Waiting for the user.
    Pending,
    /// The registered credential approved in time: the only outcome that lets the
    /// login or transaction through.
    Approved,
    /// The user pressed Deny (R4 (1)).
    Denied,
    /// Nobody answered before the deadline (R4 (2)).
    Expired,
    /// No channel reached the device before the deadline (R4 (3)).
    Undeliverable,
    /// A validly signed answer came from a credential other than the registered one (R4 (4)).
    CredentialMismatch,
    /// The bank withdrew it, or the credential was reported lost.
    Cancelled,
}

impl ChallengeStatus {
    /// Every status.
    pub const ALL: [Self; 7] = [
        Self::Pending,
        Self::Approved,
        Self::Denied,
        Self::Expired,
        Self::Undeliverable,
        Self::CredentialMismatch,
        Self::Cancelled,
    ];

    /// Whether no event can change it any more.
    pub fn is_terminal(self) -> bool {
        self != Self::Pending
    }

    /// The wire name (`pending`, `approved`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Expired => "expired",
            Self::Undeliverable => "undeliverable",
            Self::CredentialMismatch => "credential_mismatch",
            Self::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for ChallengeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChallengeStatus {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownName(s.to_owned()))
    }
}

/// Something that happens to a challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeEvent {
    /// A verified approval from the registered credential.
    Approve,
    /// A verified denial from the registered credential.
    Deny,
    /// A validly signed answer from another credential.
    Mismatch,
    /// The bank cancelled it, or its credential was reported lost or revoked.
    Cancel,
    /// The deadline passed. `reached_device` says whether any channel (a push the
    /// push service accepted, the event stream, a pull) reached the device.
    Deadline {
        /// Whether the device was reached by any channel.
        reached_device: bool,
    },
}

/// Why an event does not apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The challenge already ended.
    #[error("challenge is already {0}")]
    AlreadyDecided(ChallengeStatus),
    /// The deadline has passed; only the deadline event applies.
    #[error("challenge deadline has passed")]
    PastDeadline,
    /// The deadline event came before the deadline.
    #[error("challenge deadline has not passed yet")]
    BeforeDeadline,
}

/// The next state of a challenge in `state` with deadline `expires_at` (Unix seconds)
/// when `event` happens at `now` (Unix seconds).
pub fn apply(
    state: ChallengeStatus,
    expires_at: i64,
    event: ChallengeEvent,
    now: i64,
) -> Result<ChallengeStatus, TransitionError> {
    if state.is_terminal() {
        return Err(TransitionError::AlreadyDecided(state));
    }
    let past_deadline = now >= expires_at;
    match event {
        ChallengeEvent::Deadline { reached_device } if past_deadline => Ok(if reached_device {
            ChallengeStatus::Expired
        } else {
            ChallengeStatus::Undeliverable
        }),
        ChallengeEvent::Deadline { .. } => Err(TransitionError::BeforeDeadline),
        _ if past_deadline => Err(TransitionError::PastDeadline),
        ChallengeEvent::Approve => Ok(ChallengeStatus::Approved),
        ChallengeEvent::Deny => Ok(ChallengeStatus::Denied),
        ChallengeEvent::Mismatch => Ok(ChallengeStatus::CredentialMismatch),
        ChallengeEvent::Cancel => Ok(ChallengeStatus::Cancelled),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ChallengeEvent as E;
    use ChallengeStatus as S;

    const DEADLINE: i64 = 1_000;

    #[test]
    fn answers_before_the_deadline_decide() {
        assert_eq!(
            apply(S::Pending, DEADLINE, E::Approve, 999),
            Ok(S::Approved)
        );
        assert_eq!(apply(S::Pending, DEADLINE, E::Deny, 0), Ok(S::Denied));
        assert_eq!(
            apply(S::Pending, DEADLINE, E::Mismatch, 10),
            Ok(S::CredentialMismatch)
        );
        assert_eq!(apply(S::Pending, DEADLINE, E::Cancel, 10), Ok(S::Cancelled));
    }

    #[test]
    fn late_approval_does_not_count() {
        assert_eq!(
            apply(S::Pending, DEADLINE, E::Approve, DEADLINE),
            Err(TransitionError::PastDeadline)
        );
        assert_eq!(
            apply(S::Pending, DEADLINE, E::Cancel, DEADLINE + 5),
            Err(TransitionError::PastDeadline)
        );
    }

    #[test]
    fn deadline_tells_unanswered_from_undeliverable() {
        let reached = E::Deadline {
            reached_device: true,
        };
        let unreached = E::Deadline {
            reached_device: false,
        };
        assert_eq!(
            apply(S::Pending, DEADLINE, reached, DEADLINE),
            Ok(S::Expired)
        );
        assert_eq!(
            apply(S::Pending, DEADLINE, unreached, DEADLINE + 1),
            Ok(S::Undeliverable)
        );
        assert_eq!(
            apply(S::Pending, DEADLINE, reached, DEADLINE - 1),
            Err(TransitionError::BeforeDeadline)
        );
    }

    #[test]
    fn terminal_states_refuse_every_event() {
        let events = [
            E::Approve,
            E::Deny,
            E::Mismatch,
            E::Cancel,
            E::Deadline {
                reached_device: true,
            },
            E::Deadline {
                reached_device: false,
            },
        ];
        for state in S::ALL.into_iter().filter(|s| s.is_terminal()) {
            for event in events {
                for now in [0, DEADLINE, DEADLINE + 1] {
                    assert_eq!(
                        apply(state, DEADLINE, event, now),
                        Err(TransitionError::AlreadyDecided(state)),
                        "{state:?} {event:?} at {now}"
                    );
                }
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for s in S::ALL {
            assert_eq!(s.as_str().parse::<S>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for k in ChallengeKind::ALL {
            assert_eq!(k.as_str().parse::<ChallengeKind>(), Ok(k));
        }
        assert!("refund".parse::<ChallengeKind>().is_err());
    }
}
