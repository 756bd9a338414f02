//! Binding lifecycle: suspend and resume (R13), unregister (R14), unlock (R15),
//! lost device (R16); the credential key and the audit log for the bank.

use onepush_protocol::api::{AuditEvent, BindingState, CredentialKey, ReportedLost, UserBinding};
use onepush_protocol::{CredentialId, UserId};
use time::OffsetDateTime;

use super::{Service, views};
use crate::error::ApiError;
use crate::store::{BindingRecord, TenantRecord};

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
}

impl Service {
    /// `GET /v1/users/{id}`.
    pub async fn get_user(
        &self,
        tenant: &TenantRecord,
        user: &UserId,
    ) -> Result<UserBinding, ApiError> {
        Ok(views::user_binding(&self.user_binding(tenant, user).await?))
    }

    /// Suspend, resume, unlock or unregister a user's binding.
    pub async fn change_binding(
        &self,
        tenant: &TenantRecord,
        user: &UserId,
        op: Lifecycle,
        grace_until: Option<OffsetDateTime>,
    ) -> Result<UserBinding, ApiError> {
        let mut binding = self.user_binding(tenant, user).await?;
        let Some(next) = op.apply(binding.state) else {
            return Err(ApiError::not_active(binding.state, binding.grace_until));
        };
        binding.state = next;
        binding.grace_until = match op {
            Lifecycle::Suspend | Lifecycle::Unregister => {
                grace_until.map(OffsetDateTime::unix_timestamp)
            }
            Lifecycle::Resume | Lifecycle::Unlock => None,
        };
        if next == BindingState::Active {
            binding.lock_reason = None;
            binding.failures = 0;
        }
        self.store.put_binding(&binding).await?;
        let grace = binding.grace_until;
        self.binding_audit(
            &binding,
            op.event(),
            serde_json::json!({ "grace_until": grace }),
        )
        .await;
        if op == Lifecycle::Unregister {
            let (t, u) = (binding.tenant_id.clone(), binding.user_id.clone());
            self.cancel_pending(&binding.credential_id, |ch| {
                ch.tenant_id == t && ch.user_id == u
            })
            .await?;
        }
        Ok(views::user_binding(&binding))
    }

    /// Bindings of `credential` in this tenant; "not found" when there are none.
    async fn tenant_bindings(
        &self,
        tenant: &TenantRecord,
        credential: &CredentialId,
    ) -> Result<Vec<BindingRecord>, ApiError> {
        let bindings: Vec<BindingRecord> = self
            .store
            .bindings_of_credential(credential)
            .await?
            .into_iter()
            .map(|(b, _)| b)
            .filter(|b| b.tenant_id == tenant.id)
            .collect();
        if bindings.is_empty() {
            return Err(ApiError::CredentialNotFound(credential.grouped()));
        }
        Ok(bindings)
    }

    /// `POST /v1/credentials/{cid}/report-lost` (R16).
    pub async fn report_lost(
        &self,
        tenant: &TenantRecord,
        credential: &CredentialId,
    ) -> Result<ReportedLost, ApiError> {
        let mut locked_bindings = 0;
        for mut binding in self.tenant_bindings(tenant, credential).await? {
            if matches!(binding.state, BindingState::Unregistered) {
                continue;
            }
            binding.state = BindingState::Locked;
            binding.lock_reason = Some("reported_lost".into());
            self.store.put_binding(&binding).await?;
            self.binding_audit(
                &binding,
                "binding.locked",
                serde_json::json!({ "reason": "reported_lost" }),
            )
            .await;
            locked_bindings += 1;
        }
        let t = tenant.id.clone();
        let cancelled_challenges = self
            .cancel_pending(credential, |ch| ch.tenant_id == t)
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
    ) -> Result<CredentialKey, ApiError> {
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
    ) -> Result<Vec<AuditEvent>, ApiError> {
        Ok(self.store.audit(&tenant.id, user, since, 1000).await?)
    }
}
