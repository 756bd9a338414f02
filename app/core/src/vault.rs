//! The vault: everything one phone keeps (credential, keys, TOTP secret, accounts,
//! decision history, settings) and its serialised form.
//!
//! The secrets live in types that zeroize on drop; the serialised form is built in a
//! [`Zeroizing`] buffer and only ever written through a [`crate::KeyStore`].

use std::fmt;
use std::sync::Arc;

use onepush_protocol::api::{DeviceAccount, TokenKind};
use onepush_protocol::ocra::OcraKey;
use onepush_protocol::totp::TotpSecret;
use onepush_protocol::webpush::PushReceiverKeys;
use onepush_protocol::{
    ChallengeId, ChallengeKind, ChallengeStatus, Context, CredentialId, DecisionVerdict,
    DenyReason, DeviceKey, TenantId, UserId, b64,
};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::keystore::VaultError;

/// The version of the serialised vault (inside the file's encryption).
const RECORD_FORMAT: u32 = 1;
/// How many decisions the history keeps; older ones are dropped first.
pub const HISTORY_LIMIT: usize = 500;

/// What the user chose in the app's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Ask for the PIN again before every approval (the decision then says `uv: true`).
    pub pin_before_approve: bool,
    /// The app's language, `ja` or `en`.
    pub language: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            pin_before_approve: false,
            language: "en".to_owned(),
        }
    }
}

/// One answered challenge, as the history screen shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The challenge.
    pub challenge_id: ChallengeId,
    /// The bank.
    pub tenant_id: TenantId,
    /// The bank's display name.
    pub tenant_name: String,
    /// The bank's user.
    pub user_id: UserId,
    /// Login, transaction or admin.
    pub kind: ChallengeKind,
    /// What was shown and signed.
    pub context: Context,
    /// Approve or deny.
    pub verdict: DecisionVerdict,
    /// Why it was denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<DenyReason>,
    /// The number the user typed, with number matching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u8>,
    /// Whether the user verified with the PIN before answering.
    pub user_verified: bool,
    /// When the decision was signed, Unix seconds.
    pub answered_at: i64,
    /// The challenge's state once the relay took the answer.
    pub status: ChallengeStatus,
}

/// Everything one emulated phone keeps. Secrets are private and never in `Debug`.
pub struct Vault {
    credential_id: CredentialId,
    signing_key: Arc<DeviceKey>,
    totp_secret: TotpSecret,
    ocra_key: Option<OcraKey>,
    push_keys: Arc<PushReceiverKeys>,
    relay_url: String,
    vapid_public_key: String,
    kind: TokenKind,
    /// The push endpoint registered with the relay, if any.
    pub push_endpoint: Option<String>,
    /// The users this credential serves, as last fetched from the relay.
    pub accounts: Vec<DeviceAccount>,
    /// Answered challenges, oldest first.
    pub history: Vec<HistoryEntry>,
    /// The user's settings.
    pub settings: Settings,
    created_at: i64,
}

/// The freshly provisioned parts of a vault.
#[derive(Debug)]
pub struct NewVault {
    /// The credential ID the relay assigned.
    pub credential_id: CredentialId,
    /// The signing key generated on the device.
    pub signing_key: Arc<DeviceKey>,
    /// The TOTP secret the relay returned.
    pub totp_secret: TotpSecret,
    /// The OCRA key of offline codes the relay returned (`None` from a relay without
    /// offline codes).
    pub ocra_key: Option<OcraKey>,
    /// The Web Push receiver keys generated on the device.
    pub push_keys: Arc<PushReceiverKeys>,
    /// The relay's base URL (its public URL).
    pub relay_url: String,
    /// The relay's VAPID public key (base64url).
    pub vapid_public_key: String,
    /// When, Unix seconds.
    pub now: i64,
}

impl Vault {
    /// A vault for a credential just provisioned.
    pub fn new(parts: NewVault) -> Self {
        Self {
            credential_id: parts.credential_id,
            signing_key: parts.signing_key,
            totp_secret: parts.totp_secret,
            ocra_key: parts.ocra_key,
            push_keys: parts.push_keys,
            relay_url: parts.relay_url,
            vapid_public_key: parts.vapid_public_key,
            kind: TokenKind::Push,
            push_endpoint: None,
            accounts: Vec::new(),
            history: Vec::new(),
            settings: Settings::default(),
            created_at: parts.now,
        }
    }

    /// The vault of a credential provisioned as a token of `kind` (a new vault is a
    /// push token).
    #[must_use]
    pub fn of_kind(mut self, kind: TokenKind) -> Self {
        self.kind = kind;
        self
    }

    /// The kind of token this credential was provisioned as: `push`, or `otp` for a
    /// code-only token such as a PC token (R11).
    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    /// The credential ID.
    pub fn credential_id(&self) -> &CredentialId {
        &self.credential_id
    }

    /// The signing key (shared with the relay client).
    pub fn signing_key(&self) -> &Arc<DeviceKey> {
        &self.signing_key
    }

    /// The TOTP secret.
    pub fn totp_secret(&self) -> &TotpSecret {
        &self.totp_secret
    }

    /// The OCRA key of offline codes; `None` for a vault provisioned before them.
    pub fn ocra_key(&self) -> Option<&OcraKey> {
        self.ocra_key.as_ref()
    }

    /// The Web Push receiver keys (shared with the push endpoint).
    pub fn push_keys(&self) -> &Arc<PushReceiverKeys> {
        &self.push_keys
    }

    /// The relay's base URL.
    pub fn relay_url(&self) -> &str {
        &self.relay_url
    }

    /// The relay's VAPID public key, base64url.
    pub fn vapid_public_key(&self) -> &str {
        &self.vapid_public_key
    }

    /// When the vault was created, Unix seconds.
    pub fn created_at(&self) -> i64 {
        self.created_at
    }

    /// Appends a decision to the history, dropping the oldest beyond [`HISTORY_LIMIT`].
    pub fn record(&mut self, entry: HistoryEntry) {
        self.history.push(entry);
        if self.history.len() > HISTORY_LIMIT {
            let excess = self.history.len() - HISTORY_LIMIT;
            self.history.drain(..excess);
        }
    }

    /// The serialised form, in a buffer that is zeroized when dropped.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let record = VaultRecord {
            format: RECORD_FORMAT,
            credential_id: self.credential_id.clone(),
            signing_key: Zeroizing::new(b64::encode(self.signing_key.to_bytes())),
            totp_secret: Zeroizing::new(self.totp_secret.to_base32()),
            ocra_key: self
                .ocra_key
                .as_ref()
                .map(|k| Zeroizing::new(k.to_base32())),
            push_private_key: Zeroizing::new(b64::encode(self.push_keys.private_bytes())),
            push_auth_secret: Zeroizing::new(b64::encode(self.push_keys.auth_secret())),
            relay_url: self.relay_url.clone(),
            vapid_public_key: self.vapid_public_key.clone(),
            kind: self.kind,
            push_endpoint: self.push_endpoint.clone(),
            accounts: self.accounts.clone(),
            history: self.history.clone(),
            settings: self.settings.clone(),
            created_at: self.created_at,
        };
        let mut out = Zeroizing::new(Vec::with_capacity(4096));
        serde_json::to_writer(&mut *out, &record)
            .map_err(|e| VaultError::Corrupt(format!("cannot serialise the vault: {e}")))?;
        Ok(out)
    }

    /// Reads the serialised form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VaultError> {
        let record: VaultRecord = serde_json::from_slice(bytes)
            .map_err(|e| VaultError::Corrupt(format!("the vault's content is unreadable: {e}")))?;
        if record.format != RECORD_FORMAT {
            return Err(VaultError::UnsupportedFormat(record.format));
        }
        let key_bytes = decode_secret::<32>(&record.signing_key, "signing key")?;
        let signing_key = DeviceKey::from_bytes(key_bytes.as_ref())
            .map_err(|_| VaultError::Corrupt("the vault's signing key is invalid".into()))?;
        let totp_secret = TotpSecret::from_base32(&record.totp_secret)
            .map_err(|_| VaultError::Corrupt("the vault's TOTP secret is invalid".into()))?;
        let ocra_key = record
            .ocra_key
            .as_ref()
            .map(|k| OcraKey::from_base32(k))
            .transpose()
            .map_err(|_| VaultError::Corrupt("the vault's OCRA key is invalid".into()))?;
        let private = decode_secret::<32>(&record.push_private_key, "push key")?;
        let auth = decode_secret::<16>(&record.push_auth_secret, "push auth secret")?;
        let push_keys = PushReceiverKeys::from_bytes(private.as_ref(), auth.as_ref())
            .map_err(|_| VaultError::Corrupt("the vault's push key is invalid".into()))?;
        Ok(Self {
            credential_id: record.credential_id,
            signing_key: Arc::new(signing_key),
            totp_secret,
            ocra_key,
            push_keys: Arc::new(push_keys),
            relay_url: record.relay_url,
            vapid_public_key: record.vapid_public_key,
            kind: record.kind,
            push_endpoint: record.push_endpoint,
            accounts: record.accounts,
            history: record.history,
            settings: record.settings,
            created_at: record.created_at,
        })
    }
}

fn decode_secret<const N: usize>(text: &str, what: &str) -> Result<Zeroizing<[u8; N]>, VaultError> {
    let bytes = Zeroizing::new(
        b64::decode(text)
            .map_err(|_| VaultError::Corrupt(format!("the vault's {what} is not base64url")))?,
    );
    let array: [u8; N] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| VaultError::Corrupt(format!("the vault's {what} has the wrong length")))?;
    Ok(Zeroizing::new(array))
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("credential_id", &self.credential_id)
            .field("relay_url", &self.relay_url)
            .field("kind", &self.kind)
            .field("push_endpoint", &self.push_endpoint)
            .field("accounts", &self.accounts.len())
            .field("history", &self.history.len())
            .field("settings", &self.settings)
            .field("secrets", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// The serialised vault. Secret fields are encoded text in zeroizing strings.
#[derive(Serialize, Deserialize)]
struct VaultRecord {
    format: u32,
    credential_id: CredentialId,
    signing_key: Zeroizing<String>,
    totp_secret: Zeroizing<String>,
    /// Absent in vaults written before offline codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ocra_key: Option<Zeroizing<String>>,
    push_private_key: Zeroizing<String>,
    push_auth_secret: Zeroizing<String>,
    relay_url: String,
    vapid_public_key: String,
    /// Absent in vaults written before token kinds: those are push tokens.
    #[serde(default)]
    kind: TokenKind,
    #[serde(default)]
    push_endpoint: Option<String>,
    #[serde(default)]
    accounts: Vec<DeviceAccount>,
    #[serde(default)]
    history: Vec<HistoryEntry>,
    #[serde(default)]
    settings: Settings,
    created_at: i64,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A vault with fresh keys and no relay behind it.
    pub(crate) fn sample_vault() -> Vault {
        Vault::new(NewVault {
            credential_id: "ONEP12345674".parse().unwrap(),
            signing_key: Arc::new(DeviceKey::generate()),
            totp_secret: TotpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap(),
            ocra_key: Some(OcraKey::from_bytes(&[7u8; 32]).unwrap()),
            push_keys: Arc::new(PushReceiverKeys::generate()),
            relay_url: "http://127.0.0.1:8420".to_owned(),
            vapid_public_key: "BPUSH".to_owned(),
            now: 1_700_000_000,
        })
    }

    #[test]
    fn vault_round_trips_through_bytes() {
        let mut vault = sample_vault();
        vault.settings.pin_before_approve = true;
        let bytes = vault.to_bytes().unwrap();
        let back = Vault::from_bytes(&bytes).unwrap();
        assert_eq!(back.credential_id(), vault.credential_id());
        assert_eq!(
            back.signing_key().public_jwk(),
            vault.signing_key().public_jwk()
        );
        assert_eq!(
            back.totp_secret().as_bytes(),
            vault.totp_secret().as_bytes()
        );
        assert_eq!(
            back.ocra_key().unwrap().as_bytes(),
            vault.ocra_key().unwrap().as_bytes()
        );
        assert_eq!(
            back.push_keys().public_key(),
            vault.push_keys().public_key()
        );
        assert_eq!(
            back.push_keys().auth_secret(),
            vault.push_keys().auth_secret()
        );
        assert!(back.settings.pin_before_approve);
        assert_eq!(back.created_at(), 1_700_000_000);
        assert_eq!(back.kind(), TokenKind::Push);
    }

    #[test]
    fn the_token_kind_is_kept_and_old_vaults_are_push_tokens() {
        let vault = sample_vault().of_kind(TokenKind::Otp);
        let back = Vault::from_bytes(&vault.to_bytes().unwrap()).unwrap();
        assert_eq!(back.kind(), TokenKind::Otp);
        let mut json: serde_json::Value =
            serde_json::from_slice(&vault.to_bytes().unwrap()).unwrap();
        assert_eq!(json["kind"], "otp");
        json.as_object_mut().unwrap().remove("kind");
        let old = Vault::from_bytes(json.to_string().as_bytes()).unwrap();
        assert_eq!(old.kind(), TokenKind::Push);
    }

    #[test]
    fn debug_output_shows_no_secret() {
        let vault = sample_vault();
        let debug = format!("{vault:?}");
        assert!(debug.contains("ONEP12345674"), "{debug}");
        assert!(!debug.contains("GEZDGNBV"), "{debug}");
        let key = b64::encode(vault.signing_key().to_bytes());
        assert!(!debug.contains(&key), "{debug}");
    }

    #[test]
    fn history_keeps_the_newest_entries() {
        let mut vault = sample_vault();
        let entry = HistoryEntry {
            challenge_id: ChallengeId::new(),
            tenant_id: "acme".parse().unwrap(),
            tenant_name: "Acme".into(),
            user_id: "u1".parse().unwrap(),
            kind: ChallengeKind::Login,
            context: Context::default(),
            verdict: DecisionVerdict::Approve,
            reason: None,
            number: None,
            user_verified: false,
            answered_at: 0,
            status: ChallengeStatus::Approved,
        };
        for i in 0..(HISTORY_LIMIT + 3) {
            vault.record(HistoryEntry {
                answered_at: i64::try_from(i).unwrap(),
                ..entry.clone()
            });
        }
        assert_eq!(vault.history.len(), HISTORY_LIMIT);
        assert_eq!(vault.history[0].answered_at, 3);
    }

    #[test]
    fn unknown_format_is_refused() {
        let vault = sample_vault();
        let mut json: serde_json::Value =
            serde_json::from_slice(&vault.to_bytes().unwrap()).unwrap();
        json["format"] = 9.into();
        let err = Vault::from_bytes(json.to_string().as_bytes()).unwrap_err();
        assert!(matches!(err, VaultError::UnsupportedFormat(9)), "{err}");
    }
}
