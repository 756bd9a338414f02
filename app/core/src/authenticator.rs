//! [`Authenticator`]: one phone's vault, store and relay client together — provision,
//! approve / deny as signed decisions recorded in the history, codes, accounts, reset.
//!
//! The decision's context digest is computed here from the context the device shows
//! (`challenge.context`), never taken from the relay.

use std::sync::Arc;

use onepush_protocol::api::{DeviceAccount, DeviceChallenge, ProvisionRequest, TokenKind};
use onepush_protocol::jws::{DecisionClaims, sign_decision};
use onepush_protocol::ocra::OcraKey;
use onepush_protocol::totp::{self, TotpSecret};
use onepush_protocol::webpush::PushReceiverKeys;
use onepush_protocol::{
    ChallengeId, ChallengeStatus, CredentialId, DecisionVerdict, DenyReason, DeviceKey,
};
use serde::Serialize;
use zeroize::Zeroize as _;

use crate::client::{ClientError, RelayClient};
use crate::keystore::{KeyStore, VaultError};
use crate::vault::{HistoryEntry, NewVault, Vault};

/// Why a device operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The vault could not be read or written.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The relay could not be reached or refused.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The challenge is no longer waiting for an answer.
    #[error("challenge {id} is already {status}")]
    NotPending {
        /// The challenge.
        id: ChallengeId,
        /// Its state.
        status: ChallengeStatus,
    },
    /// Number matching is on and no number was given.
    #[error("challenge {id} asks for the number shown on the bank's page")]
    NumberRequired {
        /// The challenge.
        id: ChallengeId,
    },
    /// The relay's provisioning answer is unusable.
    #[error("the relay's provisioning answer is unusable: {0}")]
    Provisioning(String),
    /// An offline payload cannot be answered (malformed, late, no OCRA key).
    #[error("{0}")]
    Offline(String),
}

/// The security codes a phone shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Codes {
    /// The code of the current 30 s step.
    pub current: String,
    /// The code of the next step (with `current`, the two consecutive codes of R8).
    pub next: String,
    /// Seconds until `current` gives way to `next`.
    pub seconds_left: u32,
}

/// A decision the relay took.
#[derive(Debug, Clone)]
pub struct Answered {
    /// The compact JWS that was posted.
    pub jws: String,
    /// The challenge's state now.
    pub status: ChallengeStatus,
    /// What was recorded in the history.
    pub entry: HistoryEntry,
}

/// One emulated phone: its vault, where the vault is kept, and its relay client.
#[derive(Debug)]
pub struct Authenticator {
    vault: Vault,
    store: Box<dyn KeyStore>,
    client: RelayClient,
}

impl Authenticator {
    /// First start: generates the keys, provisions a push token's credential at
    /// `relay_url` and saves the new vault in `store` ([`Authenticator::provision_as`]
    /// with [`TokenKind::Push`]).
    pub async fn provision(
        store: Box<dyn KeyStore>,
        relay_url: &str,
        now: i64,
    ) -> Result<Self, DeviceError> {
        Self::provision_as(store, relay_url, TokenKind::Push, now).await
    }

    /// First start as a token of `kind`: `push`, or `otp` for a code-only token such as
    /// a PC token (R11: codes only; the relay refuses challenges for its users). The
    /// vault records the kind ([`Authenticator::kind`]).
    pub async fn provision_as(
        store: Box<dyn KeyStore>,
        relay_url: &str,
        kind: TokenKind,
        now: i64,
    ) -> Result<Self, DeviceError> {
        if store.exists() {
            return Err(VaultError::AlreadyExists(store.location()).into());
        }
        let key = Arc::new(DeviceKey::generate());
        let push_keys = Arc::new(PushReceiverKeys::generate());
        let anonymous = RelayClient::new(relay_url, key.clone(), None)?;
        let request = ProvisionRequest {
            jwk: key.public_jwk(),
            push_subscription: None,
            kind,
        };
        let mut provisioned = anonymous.provision(&request).await?;
        if provisioned.kind != kind {
            return Err(DeviceError::Provisioning(format!(
                "asked for a {kind} token, the relay made a {} token (is the relay older than token kinds?)",
                provisioned.kind
            )));
        }
        let totp_secret = TotpSecret::from_base32(&provisioned.totp_secret)
            .map_err(|_| DeviceError::Provisioning("the TOTP secret is not base32".into()))?;
        provisioned.totp_secret.zeroize();
        let ocra_key = provisioned
            .ocra_key
            .as_deref()
            .map(OcraKey::from_base32)
            .transpose()
            .map_err(|_| {
                DeviceError::Provisioning("the OCRA key is not 32 bytes of base32".into())
            })?;
        if let Some(k) = provisioned.ocra_key.as_mut() {
            k.zeroize();
        }
        let vault = Vault::new(NewVault {
            credential_id: provisioned.credential_id.clone(),
            signing_key: key.clone(),
            totp_secret,
            ocra_key,
            push_keys,
            relay_url: anonymous.base_url().to_owned(),
            vapid_public_key: provisioned.vapid_public_key.clone(),
            now,
        })
        .of_kind(kind);
        store.save(&vault)?;
        let client = RelayClient::new(vault.relay_url(), key, Some(provisioned.credential_id))?;
        Ok(Self {
            vault,
            store,
            client,
        })
    }

    /// Opens the vault in `store`.
    pub fn open(store: Box<dyn KeyStore>) -> Result<Self, DeviceError> {
        let vault = store.load()?;
        let client = RelayClient::new(
            vault.relay_url(),
            vault.signing_key().clone(),
            Some(vault.credential_id().clone()),
        )?;
        Ok(Self {
            vault,
            store,
            client,
        })
    }

    /// The kind of token this is: `push`, or `otp` (codes only, such as a PC token).
    pub fn kind(&self) -> TokenKind {
        self.vault.kind()
    }

    /// The vault.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The vault, to change settings; call [`Authenticator::save`] afterwards.
    pub fn vault_mut(&mut self) -> &mut Vault {
        &mut self.vault
    }

    /// Where the vault is kept.
    pub fn store(&self) -> &dyn KeyStore {
        &*self.store
    }

    /// The signed relay client.
    pub fn client(&self) -> &RelayClient {
        &self.client
    }

    /// Writes the vault back.
    pub fn save(&self) -> Result<(), DeviceError> {
        Ok(self.store.save(&self.vault)?)
    }

    /// Seals the vault under a new PIN (same keystore secret): opening it needs
    /// that PIN from now on. The caller checks the current PIN first.
    pub fn change_pin(&mut self, pin: zeroize::Zeroizing<String>) -> Result<(), DeviceError> {
        Ok(self.store.change_pin(&self.vault, pin)?)
    }

    /// The security codes at `now`.
    pub fn codes(&self, now: i64) -> Codes {
        let secret = self.vault.totp_secret();
        Codes {
            current: totp::code(secret, now),
            next: totp::code_at_step(secret, totp::step_at(now) + 1),
            seconds_left: totp::seconds_left(now),
        }
    }

    /// The claims of a decision on `challenge`, as displayed. Refuses a challenge that
    /// is not pending, and an approval without the number when number matching is on.
    pub fn decision_claims(
        &self,
        challenge: &DeviceChallenge,
        verdict: DecisionVerdict,
        number: Option<u8>,
        reason: Option<DenyReason>,
        user_verified: bool,
        now: i64,
    ) -> Result<DecisionClaims, DeviceError> {
        if challenge.status != ChallengeStatus::Pending {
            return Err(DeviceError::NotPending {
                id: challenge.id,
                status: challenge.status,
            });
        }
        let approving = verdict == DecisionVerdict::Approve;
        let number = if challenge.number_matching && approving {
            number
        } else {
            None
        };
        if challenge.number_matching && approving && number.is_none() {
            return Err(DeviceError::NumberRequired { id: challenge.id });
        }
        Ok(claims_for(
            challenge,
            self.vault.credential_id(),
            verdict,
            number,
            reason,
            user_verified,
            now,
        ))
    }

    /// Signs an approval of `challenge` (the number typed, if number matching is on).
    pub fn sign_approval(
        &self,
        challenge: &DeviceChallenge,
        number: Option<u8>,
        user_verified: bool,
        now: i64,
    ) -> Result<String, DeviceError> {
        let claims = self.decision_claims(
            challenge,
            DecisionVerdict::Approve,
            number,
            None,
            user_verified,
            now,
        )?;
        Ok(sign_decision(self.vault.signing_key(), &claims))
    }

    /// Signs a denial of `challenge`.
    pub fn sign_denial(
        &self,
        challenge: &DeviceChallenge,
        reason: DenyReason,
        user_verified: bool,
        now: i64,
    ) -> Result<String, DeviceError> {
        let claims = self.decision_claims(
            challenge,
            DecisionVerdict::Deny,
            None,
            Some(reason),
            user_verified,
            now,
        )?;
        Ok(sign_decision(self.vault.signing_key(), &claims))
    }

    /// Approves: signs, posts, records in the history.
    pub async fn approve(
        &mut self,
        challenge: &DeviceChallenge,
        number: Option<u8>,
        user_verified: bool,
        now: i64,
    ) -> Result<Answered, DeviceError> {
        let claims = self.decision_claims(
            challenge,
            DecisionVerdict::Approve,
            number,
            None,
            user_verified,
            now,
        )?;
        self.post(challenge, claims).await
    }

    /// Denies (`NotMe` marks a push the user did not cause): signs, posts, records.
    pub async fn deny(
        &mut self,
        challenge: &DeviceChallenge,
        reason: DenyReason,
        user_verified: bool,
        now: i64,
    ) -> Result<Answered, DeviceError> {
        let claims = self.decision_claims(
            challenge,
            DecisionVerdict::Deny,
            None,
            Some(reason),
            user_verified,
            now,
        )?;
        self.post(challenge, claims).await
    }

    async fn post(
        &mut self,
        challenge: &DeviceChallenge,
        claims: DecisionClaims,
    ) -> Result<Answered, DeviceError> {
        let jws = sign_decision(self.vault.signing_key(), &claims);
        let accepted = self.client.post_decision(challenge.id, &jws).await?;
        let entry = HistoryEntry {
            challenge_id: challenge.id,
            tenant_id: challenge.tenant_id.clone(),
            tenant_name: challenge.tenant_name.clone(),
            user_id: challenge.user_id.clone(),
            kind: challenge.kind,
            context: challenge.context.clone(),
            verdict: claims.dec,
            reason: claims.rsn,
            number: claims.num,
            user_verified: claims.uv,
            answered_at: claims.iat,
            status: accepted.status,
        };
        self.vault.record(entry.clone());
        self.save()?;
        Ok(Answered {
            jws,
            status: accepted.status,
            entry,
        })
    }

    /// One challenge's details (any state).
    pub async fn challenge(&self, id: ChallengeId) -> Result<DeviceChallenge, DeviceError> {
        Ok(self.client.challenge(id).await?)
    }

    /// The pending challenges.
    pub async fn pending(&self) -> Result<Vec<DeviceChallenge>, DeviceError> {
        Ok(self.client.pending().await?)
    }

    /// Fetches the accounts served and keeps them in the vault.
    pub async fn refresh_accounts(&mut self) -> Result<&[DeviceAccount], DeviceError> {
        let accounts = self.client.accounts().await?;
        self.vault.accounts = accounts.accounts;
        self.save()?;
        Ok(&self.vault.accounts)
    }

    /// Registers (or with `None` clears) the Web Push endpoint at the relay.
    pub async fn set_push_endpoint(&mut self, endpoint: Option<&str>) -> Result<(), DeviceError> {
        let subscription = endpoint.map(|url| self.vault.push_keys().subscription(url));
        self.client.set_push_subscription(subscription).await?;
        self.vault.push_endpoint = endpoint.map(str::to_owned);
        self.save()
    }

    /// Revokes the credential at the relay, then deletes the vault. A credential the
    /// relay no longer knows (401) is deleted too; a relay that cannot be reached
    /// leaves everything as it was.
    pub async fn reset(self) -> Result<(), DeviceError> {
        match self.client.delete_self().await {
            Ok(()) => {}
            Err(e) if e.status() == Some(401) => {
                tracing::info!("the relay no longer knows this credential");
            }
            Err(e) => return Err(e.into()),
        }
        self.forget()
    }

    /// Deletes the vault without telling the relay.
    pub fn forget(self) -> Result<(), DeviceError> {
        Ok(self.store.delete()?)
    }
}

/// The claims `credential` signs for `verdict` on `challenge`, with no check of the
/// challenge's state or number (the caller has checked them, or is a test that sends
/// what the relay must refuse). The context digest is of the context as shown; a denial
/// without a reason says `declined`.
pub(crate) fn claims_for(
    challenge: &DeviceChallenge,
    credential: &CredentialId,
    verdict: DecisionVerdict,
    number: Option<u8>,
    reason: Option<DenyReason>,
    user_verified: bool,
    now: i64,
) -> DecisionClaims {
    let approving = verdict == DecisionVerdict::Approve;
    DecisionClaims {
        v: 1,
        chl: challenge.id,
        tnt: challenge.tenant_id.clone(),
        sub: challenge.user_id.clone(),
        cid: credential.clone(),
        knd: challenge.kind,
        ctx: challenge.context.digest_b64(),
        num: number,
        dec: verdict,
        rsn: if approving {
            None
        } else {
            reason.or(Some(DenyReason::Declined))
        },
        uv: user_verified,
        iat: now,
        nonce: challenge.nonce.clone(),
    }
}

#[cfg(test)]
#[path = "authenticator_tests.rs"]
pub(crate) mod tests;
