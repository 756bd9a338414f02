//! Binding lifecycle: suspend and resume (R13), unregister (R14), unlock (R15),
//! lost device (R16); the credential key and the audit log for the bank.

use onepush_protocol::api::{AuditEvent, BindingState, CredentialKey, ReportedLost, UserBinding};
use onepush_protocol::{CredentialId, UserId};
use time::OffsetDateTime;

use super::{NotActive, Service, views};
use crate::store::{BindingChange, BindingRecord, NewAudit, StoreError, TenantRecord};

/// Why a binding or credential operation of the bank was refused.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// The user has no binding in the tenant.
    #[error("user {0} is not enrolled")]
    UnknownUser(UserId),
    /// The binding's state does not allow the operation.
    #[error(transparent)]
    NotActive(#[from] NotActive),
    /// The credential is bound to no user of the tenant.
    #[error("credential {} not found", .0.grouped())]
    UnknownCredential(CredentialId),
    /// The binding changed under every compare-and-set tried (a storm of concurrent
    /// changes): the request may be retried.
    #[error("the binding of {0} kept changing under {CAS_TRIES} tries")]
    KeptChanging(UserId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A lifecycle operation on one binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Active → suspended.
    Suspend,
    /// Suspended → active.
    Resume,
    /// Locked → active, failures reset.
    Unlock,
    /// Any → unregistered.
    Unregister,
}

impl Lifecycle {
    fn event(self) -> &'static str {
        match self {
            Self::Suspend => "binding.suspended",
            Self::Resume => "binding.resumed",
            Self::Unlock => "binding.unlocked",
            Self::Unregister => "binding.unregistered",
        }
    }

    /// The state after, or `None` if the binding's state does not allow it.
    fn apply(self, state: BindingState) -> Option<BindingState> {
        use BindingState as S;
        match (self, state) {
            (Self::Suspend, S::Active) => Some(S::Suspended),
            (Self::Resume, S::Suspended) | (Self::Unlock, S::Locked) => Some(S::Active),
            (Self::Unregister, _) => Some(S::Unregistered),
            _ => None,
        }
    }

    /// Why the user's pending challenges end when the binding leaves `active` (resume and
    /// unlock make it active: nothing ends, so no reason).
    fn reason(self) -> &'static str {
        match self {
            Self::Suspend => "suspended",
            Self::Unregister => "unregistered",
            Self::Resume | Self::Unlock => "",
        }
    }
}

/// Tries of a compare-and-set whose expected state another request changed meanwhile.
const CAS_TRIES: usize = 3;

impl Service {
    /// `GET /v1/users/{id}`.
    pub async fn get_user(
        &self,
        tenant: &TenantRecord,
        user: &UserId,
    ) -> Result<UserBinding, LifecycleError> {
        let binding = self.user_binding(tenant, user).await?;
        let binding = binding.ok_or_else(|| LifecycleError::UnknownUser(user.clone()))?;
        Ok(views::user_binding(&binding))
    }

    /// Suspend, resume, unlock or unregister a user's binding: one compare-and-set on
    /// the state it was read in (read again and retried if another request changed it
    /// meanwhile). Leaving `active` ends the user's pending challenges in the same
    /// transaction.
    pub async fn change_binding(
        &self,
        tenant: &TenantRecord,
        user: &UserId,
        op: Lifecycle,
        grace_until: Option<OffsetDateTime>,
    ) -> Result<UserBinding, LifecycleError> {
        let grace = match op {
            Lifecycle::Suspend | Lifecycle::Unregister => {
                grace_until.map(OffsetDateTime::unix_timestamp)
            }
            Lifecycle::Resume | Lifecycle::Unlock => None,
        };
        for _ in 0..CAS_TRIES {
            let binding = self.user_binding(tenant, user).await?;
            let binding = binding.ok_or_else(|| LifecycleError::UnknownUser(user.clone()))?;
            let Some(next) = op.apply(binding.state) else {
                return Err(NotActive::of(&binding).into());
            };
            let lock_reason = match next {
                BindingState::Active => None,
                _ => binding.lock_reason.clone(),
            };
            let change = BindingChange {
                tenant_id: tenant.id.clone(),
                user_id: user.clone(),
                credential_id: Some(binding.credential_id.clone()),
                from: vec![binding.state],
                to: next,
                lock_reason,
                grace_until: grace,
                audit: binding_event(
                    &binding,
                    op.event(),
                    serde_json::json!({ "grace_until": grace }),
                ),
            };
            if let Some(done) = self
                .apply_binding_change(&change, op.reason(), false, None)
                .await?
            {
                return Ok(views::user_binding(&done.binding));
            }
        }
        Err(LifecycleError::KeptChanging(user.clone()))
    }

    /// Unregisters every binding of `credential` (the app was reset): each a
    /// compare-and-set ending the user's pending challenges (`credential_revoked`).
    pub(crate) async fn unregister_everywhere(
        &self,
        credential: &CredentialId,
    ) -> Result<(), StoreError> {
        for (binding, _) in self.store.bindings_of_credential(credential).await? {
            if binding.state == BindingState::Unregistered {
                continue;
            }
            let change = BindingChange {
                tenant_id: binding.tenant_id.clone(),
                user_id: binding.user_id.clone(),
                credential_id: Some(credential.clone()),
                from: vec![
                    BindingState::Active,
                    BindingState::Suspended,
                    BindingState::Locked,
                ],
                to: BindingState::Unregistered,
                lock_reason: None,
                grace_until: None,
                audit: binding_event(
                    &binding,
                    "binding.unregistered",
                    serde_json::json!({ "by": "device" }),
                ),
            };
            self.apply_binding_change(&change, "credential_revoked", false, None)
                .await?;
        }
        // Any left (a user unregistered before, a challenge created meanwhile).
        self.cancel_pending(credential, "credential_revoked", |_| true)
            .await?;
        Ok(())
    }

    /// Bindings of `credential` in this tenant; "not found" when there are none.
    async fn tenant_bindings(
        &self,
        tenant: &TenantRecord,
        credential: &CredentialId,
    ) -> Result<Vec<BindingRecord>, LifecycleError> {
        let bindings: Vec<BindingRecord> = self
            .store
            .bindings_of_credential(credential)
            .await?
            .into_iter()
            .map(|(b, _)| b)
            .filter(|b| b.tenant_id == tenant.id)
            .collect();
        if bindings.is_empty() {
            return Err(LifecycleError::UnknownCredential(credential.clone()));
        }
        Ok(bindings)
    }

    /// `POST /v1/credentials/{cid}/report-lost` (R16).
    pub async fn report_lost(
        &self,
        tenant: &TenantRecord,
        credential: &CredentialId,
    ) -> Result<ReportedLost, LifecycleError> {
        let mut locked_bindings = 0;
        let mut cancelled_challenges = 0;
        for binding in self.tenant_bindings(tenant, credential).await? {
            if matches!(binding.state, BindingState::Unregistered) {
                continue;
            }
            // Locked from whatever state it is in but unregistered, in one statement.
            let change = BindingChange {
                tenant_id: binding.tenant_id.clone(),
                user_id: binding.user_id.clone(),
                credential_id: Some(credential.clone()),
                from: vec![
                    BindingState::Active,
                    BindingState::Suspended,
                    BindingState::Locked,
                ],
                to: BindingState::Locked,
                lock_reason: Some("reported_lost".into()),
                grace_until: binding.grace_until,
                audit: binding_event(
                    &binding,
                    "binding.locked",
                    serde_json::json!({ "reason": "reported_lost" }),
                ),
            };
            if let Some(done) = self
                .apply_binding_change(&change, "reported_lost", true, None)
                .await?
            {
                locked_bindings += 1;
                cancelled_challenges += u32::try_from(done.ended.len()).unwrap_or(u32::MAX);
            }
        }
        // Any left to this credential in this tenant (a user unregistered meanwhile).
        let t = tenant.id.clone();
        cancelled_challenges += self
            .cancel_pending(credential, "reported_lost", |ch| ch.tenant_id == t)
            .await?;
        Ok(ReportedLost {
            locked_bindings,
            cancelled_challenges,
        })
    }

    /// `GET /v1/credentials/{cid}/jwk`: only for credentials bound in this tenant.
    pub async fn credential_key(
        &self,
        tenant: &TenantRecord,
        credential: &CredentialId,
    ) -> Result<CredentialKey, LifecycleError> {
        self.tenant_bindings(tenant, credential).await?;
        let record = self.store.credential(credential).await?;
        Ok(CredentialKey {
            credential_id: record.id,
            jwk: record.jwk,
        })
    }

    /// `GET /v1/audit`.
    pub async fn audit_log(
        &self,
        tenant: &TenantRecord,
        user: Option<&UserId>,
        since: i64,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.store.audit(&tenant.id, user, since, 1000).await
    }
}

/// An audit event about `b` (its tenant, user and credential).
pub(crate) fn binding_event(b: &BindingRecord, event: &str, detail: serde_json::Value) -> NewAudit {
    NewAudit {
        tenant_id: Some(b.tenant_id.clone()),
        event: event.to_owned(),
        user_id: Some(b.user_id.clone()),
        credential_id: Some(b.credential_id.clone()),
        challenge_id: None,
        detail,
    }
}
