//! The device side: provisioning, push subscription, fetching challenges, accounts
//! and revoking the credential.

use onepush_protocol::api::{
    BindingState, DeviceAccount, DeviceAccounts, DeviceChallenge, DeviceChallengeList,
    ProvisionRequest, Provisioned,
};
use onepush_protocol::ocra::OcraKey;
use onepush_protocol::totp::TotpSecret;
use onepush_protocol::{ChallengeId, ChallengeStatus, CredentialId, PushChannel};

use super::{Service, views};
use crate::clock::from_unix;
use crate::notify::ChallengeChange;
use crate::store::{ChallengeRecord, CredentialRecord, NewAudit, StoreError};

/// Why a device request was refused.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// A field of the request is not acceptable; the message names it.
    #[error("{0}")]
    Invalid(String),
    /// A push channel whose sender this relay has not configured: the field, the
    /// channel's kind and the setting its operator must set.
    #[error("{field}: this relay does not send {kind} pushes; its operator must set `{setting}`")]
    ChannelNotConfigured {
        /// The request field holding the channel.
        field: &'static str,
        /// The channel's kind (`apns`, `fcm`...).
        kind: &'static str,
        /// The setting that configures its sender.
        setting: &'static str,
    },
    /// A Web Push endpoint the relay will not call (not https, an internal address);
    /// the message says why.
    #[error("{0}")]
    EndpointRefused(String),
    /// No such challenge for this credential.
    #[error("challenge not found")]
    ChallengeNotFound,
    /// The request proof's `jti` was seen before.
    #[error("{}", onepush_protocol::ProofError::Replayed)]
    ProofReplayed,
    /// No free credential ID after several tries (a prefix with too few IDs left).
    #[error("no free credential ID: {0}")]
    NoFreeId(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Service {
    /// `POST /v1/device/credentials`: a new credential for the key that signed the proof.
    pub async fn provision(&self, req: ProvisionRequest) -> Result<Provisioned, DeviceError> {
        req.jwk
            .validate()
            .map_err(|e| DeviceError::Invalid(format!("jwk: {e}")))?;
        if let Some(sub) = &req.push_subscription {
            sub.validate()
                .map_err(|e| DeviceError::Invalid(format!("push_subscription: {e}")))?;
            self.check_push_endpoint("push_subscription", sub).await?;
        }
        let secret = TotpSecret::generate();
        let ocra_key = OcraKey::generate();
        for _ in 0..10 {
            let id = CredentialId::generate(&self.settings.device.credential_prefix)
                .map_err(|e| DeviceError::NoFreeId(format!("credential prefix: {e}")))?;
            let record = CredentialRecord {
                totp_secret_sealed: self.keys.seal(secret.as_bytes(), id.as_str().as_bytes()),
                ocra_key_sealed: Some(self.keys.seal(
                    ocra_key.as_bytes(),
                    super::offline::ocra_aad(&id).as_bytes(),
                )),
                id: id.clone(),
                jwk: req.jwk.clone(),
                push_subscription: req.push_subscription.clone(),
                kind: req.kind,
                last_used_step: None,
                revoked_at: None,
                created_at: self.now(),
            };
            match self.store.insert_credential(&record).await {
                Ok(()) => {
                    self.audit(NewAudit {
                        tenant_id: None,
                        event: "credential.provisioned".to_owned(),
                        user_id: None,
                        credential_id: Some(id.clone()),
                        challenge_id: None,
                        detail: serde_json::json!({ "kind": req.kind }),
                    })
                    .await;
                    return Ok(Provisioned {
                        credential_id: id,
                        totp_secret: secret.to_base32(),
                        ocra_key: Some(ocra_key.to_base32()),
                        vapid_public_key: self.keys.vapid_public_b64(),
                        kind: req.kind,
                    });
                }
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(DeviceError::NoFreeId(
            "no free credential ID after 10 tries".into(),
        ))
    }

    /// `PUT /v1/device/push-subscription`.
    pub async fn set_push_subscription(
        &self,
        device: &CredentialRecord,
        sub: Option<PushChannel>,
    ) -> Result<(), DeviceError> {
        if let Some(s) = &sub {
            s.validate()
                .map_err(|e| DeviceError::Invalid(format!("subscription: {e}")))?;
            self.check_push_endpoint("subscription", s).await?;
        }
        self.store
            .set_push_subscription(&device.id, sub.as_ref())
            .await?;
        Ok(())
    }

    /// A channel this relay can send to: its sender is configured (else 409 naming the
    /// setting), and a Web Push endpoint passes the SSRF guard at registration
    /// ([`crate::push::guard`]; else 422 with the reason).
    async fn check_push_endpoint(
        &self,
        field: &'static str,
        sub: &PushChannel,
    ) -> Result<(), DeviceError> {
        if let Some(setting) = self.settings.push_channel_setting_missing(sub) {
            return Err(DeviceError::ChannelNotConfigured {
                field,
                kind: sub.kind(),
                setting,
            });
        }
        let Some(web_push) = sub.web_push() else {
            return Ok(());
        };
        self.settings
            .endpoint_policy()
            .check_registration(&web_push.endpoint)
            .await
            .map_err(|e| DeviceError::EndpointRefused(format!("{field}.endpoint: {e}")))
    }

    /// `ch` as its device sees it, recording that it reached the device. The write is
    /// skipped when there is nothing to record (not pending, or already recorded: event
    /// stream open at creation, push accepted, an earlier fetch).
    async fn shown_to_device(&self, ch: &ChallengeRecord) -> Result<DeviceChallenge, StoreError> {
        if ch.status == ChallengeStatus::Pending && !ch.reached_device {
            self.store.mark_reached_device(&ch.id).await?;
        }
        let name = self.tenant(&ch.tenant_id).await?.display_name;
        Ok(views::device_challenge(ch, name))
    }

    /// `GET /v1/device/challenges`: pending ones; fetching them counts as reaching the device.
    pub async fn device_pending(
        &self,
        device: &CredentialRecord,
    ) -> Result<DeviceChallengeList, StoreError> {
        let mut challenges = Vec::new();
        for ch in self.store.pending_for_credential(&device.id).await? {
            let ch = self.end_if_overdue(ch).await?;
            if ch.status == ChallengeStatus::Pending {
                challenges.push(self.shown_to_device(&ch).await?);
            }
        }
        Ok(DeviceChallengeList { challenges })
    }

    /// `GET /v1/device/challenges/{id}`: only a challenge sent to this credential.
    pub async fn device_challenge(
        &self,
        device: &CredentialRecord,
        id: &ChallengeId,
    ) -> Result<DeviceChallenge, DeviceError> {
        let ch = match crate::store::found(self.store.challenge(id).await)? {
            Some(ch) if ch.credential_id == device.id => ch,
            _ => return Err(DeviceError::ChallengeNotFound),
        };
        let ch = self.end_if_overdue(ch).await?;
        Ok(self.shown_to_device(&ch).await?)
    }

    /// `GET /v1/device/accounts`.
    pub async fn device_accounts(
        &self,
        device: &CredentialRecord,
    ) -> Result<DeviceAccounts, StoreError> {
        let accounts = self
            .store
            .bindings_of_credential(&device.id)
            .await?
            .into_iter()
            .filter(|(b, _)| b.state != BindingState::Unregistered)
            .map(|(b, tenant_name)| DeviceAccount {
                tenant_id: b.tenant_id,
                tenant_name,
                user_id: b.user_id,
                state: b.state,
                enrolled_at: from_unix(b.enrolled_at),
            })
            .collect();
        Ok(DeviceAccounts {
            credential_id: device.id.clone(),
            accounts,
        })
    }

    /// `DELETE /v1/device/credentials/self`: unregisters every binding, cancels
    /// pending challenges and refuses the key from then on.
    pub async fn revoke_self(&self, device: &CredentialRecord) -> Result<(), StoreError> {
        self.store.revoke_credential(&device.id, self.now()).await?;
        self.signer_keys.forget(&device.id);
        self.unregister_everywhere(&device.id).await?;
        self.device_audit(&device.id, "credential.revoked", None)
            .await;
        Ok(())
    }

    /// Marks every pending challenge of a device reached (it opened the event stream)
    /// and answers them as the device sees them, oldest first.
    pub async fn device_connected(
        &self,
        device: &CredentialId,
    ) -> Result<Vec<DeviceChallenge>, StoreError> {
        let mut pending = Vec::new();
        for ch in self.store.pending_for_credential(device).await? {
            if self.now() < ch.expires_at {
                pending.push(self.shown_to_device(&ch).await?);
            }
        }
        Ok(pending)
    }

    /// A new challenge going out on an event stream: marks it reached (unless that is
    /// already stored) and answers it as the device sees it. Uses the record the change
    /// carries; a change from another relay is read from the store.
    pub async fn streamed_challenge(
        &self,
        change: &ChallengeChange,
    ) -> Result<DeviceChallenge, StoreError> {
        if let Some(record) = &change.record {
            return self.shown_to_device(record).await;
        }
        let read = self.store.challenge(&change.challenge_id).await?;
        self.shown_to_device(&read).await
    }

    async fn device_audit(&self, id: &CredentialId, event: &str, challenge: Option<ChallengeId>) {
        self.audit(NewAudit {
            tenant_id: None,
            event: event.to_owned(),
            user_id: None,
            credential_id: Some(id.clone()),
            challenge_id: challenge,
            detail: serde_json::json!({}),
        })
        .await;
    }

    /// Records a proof `jti`; an error if it was seen before (replay).
    pub async fn record_proof(&self, jti: &str, iat: i64) -> Result<(), DeviceError> {
        let keep_until = iat + 2 * i64::from(self.settings.device.proof_skew_seconds) + 1;
        if self.store.record_jti(jti, keep_until, self.now()).await? {
            Ok(())
        } else {
            Err(DeviceError::ProofReplayed)
        }
    }
}
