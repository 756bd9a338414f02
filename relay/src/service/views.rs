//! Store records as the API bodies of `onepush_protocol::api`.

use onepush_protocol::ChallengeStatus;
use onepush_protocol::api::{BankChallenge, DeviceChallenge, UserBinding};

use crate::clock::from_unix;
use crate::store::{BindingRecord, ChallengeRecord};

/// A challenge as the bank sees it.
pub fn bank_challenge(ch: &ChallengeRecord) -> BankChallenge {
    BankChallenge {
        id: ch.id,
        user_id: ch.user_id.clone(),
        credential_id: ch.credential_id.clone(),
        kind: ch.kind,
        context: ch.context.clone(),
        status: ch.status,
        number: ch.number,
        created_at: from_unix(ch.created_at),
        expires_at: from_unix(ch.expires_at),
        decided_at: ch.decided_at.map(from_unix),
        // Another credential's verdict is never shown as the challenge's decision.
        decision: ch
            .decision
            .clone()
            .filter(|_| ch.status != ChallengeStatus::CredentialMismatch),
    }
}

/// A challenge as its device sees it.
pub fn device_challenge(ch: &ChallengeRecord, tenant_name: String) -> DeviceChallenge {
    DeviceChallenge {
        id: ch.id,
        tenant_id: ch.tenant_id.clone(),
        tenant_name,
        user_id: ch.user_id.clone(),
        kind: ch.kind,
        context: ch.context.clone(),
        number_matching: ch.number.is_some(),
        nonce: ch.nonce.clone(),
        status: ch.status,
        created_at: from_unix(ch.created_at),
        expires_at: from_unix(ch.expires_at),
    }
}

/// A binding as the bank sees it.
pub fn user_binding(b: &BindingRecord) -> UserBinding {
    UserBinding {
        user_id: b.user_id.clone(),
        credential_id: b.credential_id.clone(),
        kind: b.kind,
        state: b.state,
        lock_reason: b.lock_reason.clone(),
        grace_until: b.grace_until.map(from_unix),
        failures: b.failures,
        drift_steps: b.drift_steps,
        enrolled_at: from_unix(b.enrolled_at),
    }
}
