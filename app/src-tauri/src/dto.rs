//! The app-only answers of the commands (camelCase, app/ui/COMMANDS.md). None of them
//! carries a secret: no TOTP secret, key, PIN, PIN hash or JWS.

use onepush_device::vault;
use onepush_protocol::api::TokenKind;
use onepush_protocol::{ChallengeKind, ChallengeStatus, Context, DenyReason};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::prefs::{Language, Prefs};
use crate::verify::ApprovalCheck;

/// `get_config`: what the Setup screen needs — the relay it proposes, whether the OS
/// keystore can seal a new vault, and why an existing vault does not open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    /// The relay URL.
    pub relay_url: String,
    /// The OS keystore.
    pub keystore: KeystoreStatus,
    /// Why the vault in the app's folder cannot be opened (`null`: it opened, or
    /// there is none), e.g. its key is not in this device's keystore.
    pub vault_problem: Option<String>,
    /// `true` on phones: the offline-code screen can scan the bank's QR code with the
    /// camera (`tauri-plugin-barcode-scanner`); elsewhere the payload is pasted.
    pub qr_scanner: bool,
}

/// Whether the OS keystore can keep a new vault's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeystoreStatus {
    /// `true`: setup seals the vault with the keystore.
    pub available: bool,
    /// Why not, when not available.
    pub detail: Option<String>,
}

/// `get_state`: what the UI needs to pick a screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(
    clippy::struct_excessive_bools,
    reason = "the UI's contract (COMMANDS.md): independent yes/no facts"
)]
pub struct AppState {
    /// A credential exists on this device.
    pub set_up: bool,
    /// The vault is sealed with the PIN and waits for it (`unlock`); the credential
    /// ID and relay are unknown until then.
    pub locked: bool,
    /// The compact credential ID (`ONEP12345674`); the UI groups it.
    pub credential_id: Option<String>,
    /// The relay this credential lives on.
    pub relay_url: Option<String>,
    /// An approval needs the PIN (phones: the biometric prompt).
    pub pin_before_approve: bool,
    /// The check the backend runs before an approval: `pin`, `biometric` or `none`.
    pub approval_check: ApprovalCheck,
    /// A PIN is set: it seals the vault (installs of earlier versions: an Argon2id hash).
    pub pin_set: bool,
    /// `ja`, `en` or `system`.
    pub language: Language,
    /// Desktop: the app starts at login, into the tray.
    pub start_at_login: bool,
    /// A desktop app (tray, start at login); false on phones.
    pub desktop: bool,
    /// `push` (an approver) or `otp` (this PC as a code token: codes only, R11);
    /// `null` before setup or while locked.
    pub token_kind: Option<TokenKind>,
}

impl AppState {
    /// The state of a device with `vault` (or none, or `locked` with its PIN) and `prefs`.
    pub fn new(vault: Option<&vault::Vault>, prefs: &Prefs, locked: bool) -> Self {
        Self {
            set_up: vault.is_some() || locked,
            locked: locked && vault.is_none(),
            credential_id: vault.map(|v| v.credential_id().as_str().to_owned()),
            relay_url: vault.map(|v| v.relay_url().to_owned()),
            pin_before_approve: prefs.pin_before_approve,
            approval_check: ApprovalCheck::for_prefs(prefs),
            pin_set: prefs.pin.is_some(),
            language: prefs.language,
            start_at_login: prefs.start_at_login,
            desktop: cfg!(desktop),
            token_kind: vault.map(vault::Vault::kind),
        }
    }
}

/// `codes`: the security codes now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Codes {
    /// The current 30 s step's code, 6 digits.
    pub current: String,
    /// The next step's code (enrollment asks for two consecutive codes, R8).
    pub next: String,
    /// Whole seconds the current step still runs, 1..=30.
    pub seconds_left: u32,
}

impl From<onepush_device::Codes> for Codes {
    fn from(codes: onepush_device::Codes) -> Self {
        Self {
            current: codes.current,
            next: codes.next,
            seconds_left: codes.seconds_left,
        }
    }
}

/// `history`: one challenge that left `pending` on this device.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// The challenge ID.
    pub id: String,
    /// Login, transaction or admin.
    pub kind: ChallengeKind,
    /// The bank's display name.
    pub tenant_name: String,
    /// The bank's user ID.
    pub user_id: String,
    /// The context as it was shown and signed.
    pub context: Context,
    /// The final status.
    pub status: ChallengeStatus,
    /// Denied as "this wasn't me".
    pub not_me: bool,
    /// When it was answered, RFC 3339 UTC.
    pub answered_at: String,
}

impl From<&vault::HistoryEntry> for HistoryEntry {
    fn from(entry: &vault::HistoryEntry) -> Self {
        Self {
            id: entry.challenge_id.to_string(),
            kind: entry.kind,
            tenant_name: entry.tenant_name.clone(),
            user_id: entry.user_id.as_str().to_owned(),
            context: entry.context.clone(),
            status: entry.status,
            not_me: entry.reason == Some(DenyReason::NotMe),
            answered_at: rfc3339(entry.answered_at),
        }
    }
}

/// Unix seconds as RFC 3339 UTC (`1970-01-01T00:00:00Z` for an impossible time).
pub fn rfc3339(unix_seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix_seconds)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// The `challenge` event's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChallengeEvent {
    /// The challenge ID.
    pub id: String,
}

/// The `challenge-status` event's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusEvent {
    /// The challenge ID.
    pub id: String,
    /// Its status now.
    pub status: ChallengeStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn app_types_are_camel_case() {
        let json = serde_json::to_value(Codes {
            current: "123456".into(),
            next: "654321".into(),
            seconds_left: 7,
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "current": "123456", "next": "654321", "secondsLeft": 7 })
        );
        let state = serde_json::to_value(AppState::new(None, &Prefs::default(), false)).unwrap();
        assert_eq!(
            state,
            serde_json::json!({
                "setUp": false, "locked": false, "credentialId": null, "relayUrl": null,
                "pinBeforeApprove": false, "approvalCheck": "none", "pinSet": false,
                "language": "system", "startAtLogin": false,
                "desktop": cfg!(desktop), "tokenKind": null
            })
        );
    }
}
