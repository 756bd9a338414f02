//! Offline codes (RFC 6287 OCRA, [`onepush_protocol::ocra`]): the phone has no network,
//! the bank shows a payload (QR code or text); the app reads it, shows the transaction
//! exactly as a push prompt ([`OfflinePrompt::challenge`]) and, after the user's ✓, shows
//! the 8-digit code ([`Authenticator::offline_code`]) the user types into the bank's page.
//!
//! The code is computed over a question the app derives itself from what it shows (the
//! bank, the user, the kind, the context's digest and the nonce), never over a question
//! the payload hands it: a payload that shows one transaction cannot get a code for
//! another.

use onepush_protocol::api::DeviceChallenge;
use onepush_protocol::ocra::{self, OfflinePayload};
use onepush_protocol::{ChallengeStatus, TenantId, UserId};
use time::OffsetDateTime;

use crate::authenticator::{Authenticator, DeviceError};

/// A payload read and checked: what to show, and the question to answer after ✓.
#[derive(Debug, Clone)]
pub struct OfflinePrompt {
    /// The payload as read.
    pub payload: OfflinePayload,
    /// What the prompt shows, in the form of a push challenge (pending, no number
    /// matching), so the same view renders it.
    pub challenge: DeviceChallenge,
    /// Whether the bank and user are among this phone's accounts (as last fetched).
    pub known_account: bool,
    /// The 64-hex-digit OCRA question derived from the payload.
    pub question: String,
}

impl Authenticator {
    /// Reads an offline payload (pasted, typed or scanned) at `now`: refuses a payload
    /// that is malformed or past its deadline, and a vault without an OCRA key.
    pub fn read_offline(&self, text: &str, now: i64) -> Result<OfflinePrompt, DeviceError> {
        if self.vault().ocra_key().is_none() {
            return Err(DeviceError::Offline(
                "this app was set up before offline codes and has no offline-code key; set it up again to use them".into(),
            ));
        }
        let payload =
            OfflinePayload::decode(text).map_err(|e| DeviceError::Offline(e.to_string()))?;
        if now >= payload.e {
            return Err(DeviceError::Offline(format!(
                "this offline challenge's deadline passed {} s ago; ask the bank for a new one",
                now - payload.e
            )));
        }
        let tenant_id: TenantId = payload
            .t
            .parse()
            .map_err(|e| DeviceError::Offline(format!("offline payload: bank: {e}")))?;
        let user_id: UserId = payload
            .u
            .parse()
            .map_err(|e| DeviceError::Offline(format!("offline payload: user: {e}")))?;
        let account = self
            .vault()
            .accounts
            .iter()
            .find(|a| a.tenant_id == tenant_id && a.user_id == user_id);
        let question = payload
            .question()
            .map_err(|e| DeviceError::Offline(e.to_string()))?;
        let at = |unix: i64| {
            OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH)
        };
        let challenge = DeviceChallenge {
            id: payload.i,
            tenant_name: account.map_or_else(|| tenant_id.to_string(), |a| a.tenant_name.clone()),
            tenant_id,
            user_id,
            kind: payload.k,
            context: payload.c.clone(),
            number_matching: false,
            nonce: payload.n.clone(),
            status: ChallengeStatus::Pending,
            created_at: at(now),
            expires_at: at(payload.e),
        };
        Ok(OfflinePrompt {
            known_account: account.is_some(),
            payload,
            challenge,
            question,
        })
    }

    /// The 8-digit code for `prompt` at `now`, once the user approved what it shows.
    pub fn offline_code(&self, prompt: &OfflinePrompt, now: i64) -> Result<String, DeviceError> {
        if now >= prompt.payload.e {
            return Err(DeviceError::Offline(
                "this offline challenge's deadline passed; ask the bank for a new one".into(),
            ));
        }
        let key = self
            .vault()
            .ocra_key()
            .ok_or_else(|| DeviceError::Offline("this app has no offline-code key".into()))?;
        // The question again from the payload, not from the prompt's copy of it.
        let question = prompt
            .payload
            .question()
            .map_err(|e| DeviceError::Offline(e.to_string()))?;
        ocra::response(key, &question, now).map_err(|e| DeviceError::Offline(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use onepush_protocol::ocra::{self, OfflinePayload};
    use onepush_protocol::{ChallengeId, ChallengeKind, Context};
    use serde_json::json;

    use crate::authenticator::{Authenticator, DeviceError};
    use crate::keystore::{KeyStore as _, UnencryptedFileKeyStore};
    use crate::vault::tests::sample_vault;

    const NOW: i64 = 1_750_000_000;

    fn device(home: &std::path::Path) -> Authenticator {
        let store = UnencryptedFileKeyStore::new(home);
        store.save(&sample_vault()).unwrap();
        Authenticator::open(Box::new(store)).unwrap()
    }

    fn payload(amount: &str) -> OfflinePayload {
        OfflinePayload {
            v: ocra::PAYLOAD_VERSION,
            i: ChallengeId::new(),
            t: "acme-bank".into(),
            u: "alice".into(),
            k: ChallengeKind::Transaction,
            c: Context::from_value(json!({ "amount": amount, "currency": "JPY",
                "payee_name": "ヤマダ タロウ", "payee_account": "0001-123-4567890" }))
            .unwrap(),
            n: onepush_protocol::b64::encode([3u8; ocra::NONCE_LEN]),
            e: NOW + 300,
        }
    }

    #[test]
    fn the_payload_shows_as_a_prompt_and_the_code_answers_its_own_question() {
        let home = tempfile::tempdir().unwrap();
        let device = device(home.path());
        let sent = payload("150000");
        let prompt = device.read_offline(&sent.encode(), NOW).unwrap();
        assert_eq!(prompt.challenge.context, sent.c);
        assert_eq!(prompt.challenge.kind, ChallengeKind::Transaction);
        assert_eq!(prompt.challenge.id, sent.i);
        assert!(!prompt.challenge.number_matching);
        assert!(!prompt.known_account, "sample vault has no accounts");
        let code = device.offline_code(&prompt, NOW).unwrap();
        let key = device.vault().ocra_key().unwrap();
        assert_eq!(
            code,
            ocra::response(key, &sent.question().unwrap(), NOW).unwrap()
        );
        // Another amount is another question, so another code.
        let other = device
            .read_offline(&payload("9000000").encode(), NOW)
            .unwrap();
        assert_ne!(device.offline_code(&other, NOW).unwrap(), code);
    }

    #[test]
    fn late_or_malformed_payloads_are_refused() {
        let home = tempfile::tempdir().unwrap();
        let device = device(home.path());
        let sent = payload("1000");
        let late = device.read_offline(&sent.encode(), NOW + 300).unwrap_err();
        assert!(
            matches!(&late, DeviceError::Offline(m) if m.contains("deadline passed")),
            "{late}"
        );
        let prompt = device.read_offline(&sent.encode(), NOW).unwrap();
        assert!(device.offline_code(&prompt, NOW + 301).is_err());
        for bad in ["", "not base64!", "e30"] {
            let err = device.read_offline(bad, NOW).unwrap_err();
            assert!(
                matches!(&err, DeviceError::Offline(m) if m.contains("offline payload is invalid")),
                "{bad:?}: {err}"
            );
        }
    }
}
