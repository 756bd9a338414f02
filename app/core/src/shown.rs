//! "What you see is what you sign": the challenges a device has shown, and the rule
//! that a decision is signed only over the copy that was shown, never over a later
//! copy the relay sent.
//!
//! The first copy of a challenge the device receives (event stream, Web Push, the
//! pending list, a fetch) is the one it shows and signs. A later copy whose content
//! (what the user reads and what the decision's claims carry: tenant, bank name, user,
//! kind, context, nonce, number matching) differs marks the challenge **changed** for
//! good: a relay that shows one request and asks for a signature over another is
//! compromised, so nothing is signed for it. A later copy that only moved on in status
//! (approved elsewhere, expired, cancelled) is not a change.
//!
//! [`ShownChallenges`] keeps the shown copies in memory (the app); [`ShownLog`] keeps
//! only their [`Fingerprint`]s in a file (the emulator CLI, one process per command).

use std::collections::{HashMap, VecDeque};
use std::fmt;

use onepush_protocol::api::DeviceChallenge;
use onepush_protocol::{ChallengeId, ChallengeStatus};
use serde::{Deserialize, Serialize};

pub use crate::shown_log::{ShownLog, ShownLogError};

/// How many challenges are remembered; the oldest is forgotten first (a forgotten
/// challenge counts as never shown, so it is shown again before it can be answered).
pub const SHOWN_LIMIT: usize = 256;

/// A part of a challenge a later copy may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// The bank (`tenant_id`).
    Tenant,
    /// The bank's display name.
    TenantName,
    /// The bank's user.
    User,
    /// Login, transaction or admin.
    Kind,
    /// What is approved.
    Context,
    /// The relay's nonce the decision echoes.
    Nonce,
    /// Whether the number shown on the bank's page is asked for.
    NumberMatching,
}

impl Part {
    /// The name in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tenant => "bank",
            Self::TenantName => "bank name",
            Self::User => "user",
            Self::Kind => "kind",
            Self::Context => "details",
            Self::Nonce => "nonce",
            Self::NumberMatching => "number matching",
        }
    }
}

/// The parts in which `later` differs from `shown` (empty: the same request).
pub fn changed_parts(shown: &DeviceChallenge, later: &DeviceChallenge) -> Vec<Part> {
    let checks = [
        (Part::Tenant, shown.tenant_id == later.tenant_id),
        (Part::TenantName, shown.tenant_name == later.tenant_name),
        (Part::User, shown.user_id == later.user_id),
        (Part::Kind, shown.kind == later.kind),
        (
            Part::Context,
            shown.context.digest() == later.context.digest(),
        ),
        (Part::Nonce, shown.nonce == later.nonce),
        (
            Part::NumberMatching,
            shown.number_matching == later.number_matching,
        ),
    ];
    checks
        .into_iter()
        .filter(|(_, same)| !same)
        .map(|(part, _)| part)
        .collect()
}

/// SHA-256 over a challenge's ID and content (every [`Part`]), not its status: equal
/// fingerprints mean the same request, and the same decision claims.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of `challenge`.
    pub fn of(challenge: &DeviceChallenge) -> Self {
        // A JSON array: each field delimited, so no two contents share the bytes.
        let content = serde_json::json!([
            challenge.id,
            challenge.tenant_id,
            challenge.tenant_name,
            challenge.user_id,
            challenge.kind,
            challenge.context.digest_b64(),
            challenge.nonce,
            challenge.number_matching,
        ]);
        let hash = ring::digest::digest(&ring::digest::SHA256, content.to_string().as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(hash.as_ref());
        Self(out)
    }

    /// Base64url without padding.
    pub fn to_b64(self) -> String {
        onepush_protocol::b64::encode(self.0)
    }

    /// Reads [`Fingerprint::to_b64`]; `None` when it is not 32 bytes of base64url.
    pub fn from_b64(text: &str) -> Option<Self> {
        onepush_protocol::b64::decode_array(text).map(Self)
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.to_b64())
    }
}

/// What a copy of a challenge is, next to what was shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sighting {
    /// The first copy: this is what is shown and signed.
    First,
    /// The same request as shown (its status may have moved on).
    Same,
    /// It differs from what was shown (now or earlier): never signed.
    Changed(Vec<Part>),
}

/// Why no decision can be signed for a challenge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShownError {
    /// This device never showed it (or forgot it): show it first.
    #[error("challenge {id} was not shown on this device: show it again before answering")]
    NotShown {
        /// The challenge.
        id: ChallengeId,
    },
    /// A later copy from the relay differs from what was shown.
    #[error(
        "challenge {id} changed since it was shown ({}): it is not signed; treat it as suspicious",
        parts_text(.parts)
    )]
    Changed {
        /// The challenge.
        id: ChallengeId,
        /// What changed (empty when only a fingerprint was kept).
        parts: Vec<Part>,
    },
}

fn parts_text(parts: &[Part]) -> String {
    if parts.is_empty() {
        return "its content".to_owned();
    }
    parts
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One shown challenge: the copy shown, and what later copies changed.
#[derive(Debug, Clone)]
struct Entry {
    shown: DeviceChallenge,
    changed: Vec<Part>,
}

/// The challenges shown, in memory, with the copy each decision is signed over.
#[derive(Debug)]
pub struct ShownChallenges {
    entries: HashMap<ChallengeId, Entry>,
    order: VecDeque<ChallengeId>,
    limit: usize,
}

impl Default for ShownChallenges {
    fn default() -> Self {
        Self::with_limit(SHOWN_LIMIT)
    }
}

impl ShownChallenges {
    /// Remembers at most `limit` challenges.
    pub fn with_limit(limit: usize) -> Self {
        Self {
            entries: HashMap::new(),
            order: VecDeque::new(),
            limit: limit.max(1),
        }
    }

    /// Takes a copy from the relay: the first is kept as shown; a later one with the
    /// same content brings its status; one with other content marks it changed.
    pub fn record(&mut self, copy: &DeviceChallenge) -> Sighting {
        let Some(entry) = self.entries.get_mut(&copy.id) else {
            self.insert(copy.clone());
            return Sighting::First;
        };
        let parts = changed_parts(&entry.shown, copy);
        for part in parts {
            if !entry.changed.contains(&part) {
                entry.changed.push(part);
            }
        }
        if entry.changed.is_empty() {
            entry.shown.status = copy.status;
            Sighting::Same
        } else {
            Sighting::Changed(entry.changed.clone())
        }
    }

    /// The copy as shown (with the latest status), or why it may not be signed.
    pub fn to_sign(&self, id: ChallengeId) -> Result<&DeviceChallenge, ShownError> {
        let entry = self.entries.get(&id).ok_or(ShownError::NotShown { id })?;
        if entry.changed.is_empty() {
            Ok(&entry.shown)
        } else {
            Err(ShownError::Changed {
                id,
                parts: entry.changed.clone(),
            })
        }
    }

    /// The copy as shown, changed or not (`None`: never shown).
    pub fn shown(&self, id: ChallengeId) -> Option<&DeviceChallenge> {
        self.entries.get(&id).map(|e| &e.shown)
    }

    /// A status the relay reported (an event, a decision's answer).
    pub fn set_status(&mut self, id: ChallengeId, status: ChallengeStatus) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.shown.status = status;
        }
    }

    /// Forgets everything (the credential was reset).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
    }

    fn insert(&mut self, shown: DeviceChallenge) {
        let id = shown.id;
        self.entries.insert(
            id,
            Entry {
                shown,
                changed: Vec::new(),
            },
        );
        self.order.push_back(id);
        while self.order.len() > self.limit {
            if let Some(old) = self.order.pop_front() {
                self.entries.remove(&old);
            }
        }
    }
}

#[cfg(test)]
#[path = "shown_tests.rs"]
mod tests;
