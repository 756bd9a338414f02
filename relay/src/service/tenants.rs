//! Tenants (banks): creation, key rotation and API-key authentication.

use onepush_protocol::TenantId;
use subtle::ConstantTimeEq as _;

use zeroize::Zeroizing;

use super::{Service, random_b64, sha256};
use crate::store::{SealedSecret, StoreError, TenantRecord};

/// Prefix of tenant API keys, so a leaked key is easy to recognise.
pub const API_KEY_PREFIX: &str = "opk_";

/// A tenant just created: the API key is shown only now.
#[derive(Clone)]
pub struct NewTenant {
    /// The slug.
    pub tenant_id: TenantId,
    /// The bearer key for the bank API (stored only as its SHA-256).
    pub api_key: String,
    /// The webhook signing secret (`whsec_…`), when a webhook URL was given.
    pub webhook_secret: Option<String>,
}

impl std::fmt::Debug for NewTenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewTenant")
            .field("tenant_id", &self.tenant_id)
            .finish_non_exhaustive()
    }
}

/// Why a tenant could not be created or changed.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// Bad slug, name or URL.
    #[error("{0}")]
    Invalid(String),
    /// The slug is taken.
    #[error("tenant {0} already exists")]
    Exists(String),
    /// No such tenant.
    #[error("tenant {0} does not exist")]
    NotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a bank's API key was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No tenant has this key.
    #[error("the API key is not valid")]
    UnknownKey,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn new_api_key() -> (String, [u8; 32]) {
    let key = format!("{API_KEY_PREFIX}{}", random_b64(32));
    let hash = sha256(key.as_bytes());
    (key, hash)
}

impl Service {
    /// Creates a tenant and its API key.
    pub async fn add_tenant(
        &self,
        slug: &str,
        display_name: &str,
        webhook_url: Option<String>,
    ) -> Result<NewTenant, TenantError> {
        let id: TenantId = slug
            .parse()
            .map_err(|e: onepush_protocol::IdError| TenantError::Invalid(e.to_string()))?;
        if !id.starts_with_letter() {
            return Err(TenantError::Invalid(format!(
                "tenant {slug:?} must start with a letter a-z"
            )));
        }
        if display_name.trim().is_empty() {
            return Err(TenantError::Invalid(
                "display name must not be empty".into(),
            ));
        }
        if let Some(url) = &webhook_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(TenantError::Invalid(format!(
                "webhook URL {url:?} must start with https:// or http://"
            )));
        }
        let webhook_secret = webhook_url.as_ref().map(|_| crate::webhook::new_secret());
        let (api_key, hash) = new_api_key();
        let record = TenantRecord {
            id: id.clone(),
            display_name: display_name.trim().to_owned(),
            webhook_url,
            webhook_secret: webhook_secret
                .as_deref()
                .map(|secret| self.seal_webhook_secret(&id, secret)),
            otp_lock_threshold: self.settings.otp.lock_threshold,
            push_fatigue_threshold: self.settings.push_fatigue.threshold,
            push_fatigue_window_seconds: self.settings.push_fatigue.window_seconds,
            created_at: self.now(),
        };
        match self.store.insert_tenant(&record, &hash).await {
            Err(StoreError::Conflict) => return Err(TenantError::Exists(slug.to_owned())),
            other => other?,
        }
        Ok(NewTenant {
            tenant_id: id,
            api_key,
            webhook_secret,
        })
    }

    /// Replaces a tenant's API key; the old one stops working at once on this relay (within
    /// the tenant cache's second on others).
    pub async fn rotate_key(&self, slug: &str) -> Result<String, TenantError> {
        let id: TenantId = slug
            .parse()
            .map_err(|_| TenantError::NotFound(slug.to_owned()))?;
        let (api_key, hash) = new_api_key();
        let changed = self.store.set_tenant_key(&id, &hash).await;
        self.tenants.clear();
        match changed {
            Err(StoreError::NotFound) => Err(TenantError::NotFound(slug.to_owned())),
            other => other.map(|()| api_key).map_err(TenantError::from),
        }
    }

    /// Replaces a tenant's webhook secret with a new one and answers it (shown once).
    /// The old secret stops signing at once on this relay (within the tenant cache's
    /// second on others); messages already queued are signed with the new one.
    pub async fn rotate_webhook_secret(&self, slug: &str) -> Result<String, TenantError> {
        let id: TenantId = slug
            .parse()
            .map_err(|_| TenantError::NotFound(slug.to_owned()))?;
        let tenant = match self.store.tenant(&id).await {
            Err(StoreError::NotFound) => return Err(TenantError::NotFound(slug.to_owned())),
            other => other?,
        };
        if tenant.webhook_url.is_none() {
            return Err(TenantError::Invalid(format!(
                "tenant {slug} has no webhook URL, so no webhook secret"
            )));
        }
        let secret = crate::webhook::new_secret();
        let changed = self
            .store
            .set_webhook_secret(&id, &self.seal_webhook_secret(&id, &secret))
            .await;
        self.tenants.clear();
        match changed {
            Err(StoreError::NotFound) => Err(TenantError::NotFound(slug.to_owned())),
            other => other.map(|()| secret).map_err(TenantError::from),
        }
    }

    /// Seals every webhook secret still stored in clear (written by a relay before
    /// migration 0008 / 0007); run at start. Answers how many this call sealed.
    pub async fn seal_clear_webhook_secrets(&self) -> Result<usize, StoreError> {
        let mut sealed = 0;
        for (tenant, clear) in self.store.clear_webhook_secrets().await? {
            let clear = Zeroizing::new(clear);
            let new = self.seal_webhook_secret(&tenant, &clear);
            if self
                .store
                .seal_webhook_secret(&tenant, &clear, &new)
                .await?
            {
                sealed += 1;
            }
        }
        if sealed > 0 {
            self.tenants.clear();
            tracing::info!(
                tenants = sealed,
                "clear webhook secrets sealed with the master key"
            );
        }
        Ok(sealed)
    }

    /// `secret` sealed with the master key for `tenant`.
    pub(crate) fn seal_webhook_secret(&self, tenant: &TenantId, secret: &str) -> SealedSecret {
        SealedSecret(
            self.keys
                .seal(secret.as_bytes(), &webhook_secret_aad(tenant)),
        )
    }

    /// The tenant's webhook secret in clear, for signing; `None` when it has none or it
    /// does not open with this relay's master key (logged).
    pub(crate) fn open_webhook_secret(&self, tenant: &TenantRecord) -> Option<Zeroizing<String>> {
        let sealed = tenant.webhook_secret.as_ref()?;
        match self.keys.open(&sealed.0, &webhook_secret_aad(&tenant.id)) {
            Ok(plain) => String::from_utf8(plain.to_vec()).ok().map(Zeroizing::new),
            Err(e) => {
                tracing::error!(tenant = %tenant.id, error = %e, "webhook secret does not open");
                None
            }
        }
    }

    /// `GET /v1/audit`: up to `limit` of the tenant's audit events after `since` (the
    /// cursor: the last `seq` of the previous page), optionally for one user, oldest first.
    pub async fn audit_page(
        &self,
        tenant: &TenantRecord,
        user: Option<&onepush_protocol::UserId>,
        since: i64,
        limit: u32,
    ) -> Result<Vec<onepush_protocol::api::AuditEvent>, StoreError> {
        self.store.audit(&tenant.id, user, since, limit).await
    }

    /// Every tenant.
    pub async fn list_tenants(&self) -> Result<Vec<TenantRecord>, TenantError> {
        Ok(self.store.list_tenants().await?)
    }

    /// The tenant whose API key this is (from the [`tenant_cache`](super::tenant_cache)
    /// when that key was checked against the store less than a second ago).
    pub async fn authenticate(&self, api_key: &str) -> Result<TenantRecord, AuthError> {
        let hash = sha256(api_key.as_bytes());
        if let Some(tenant) = self.tenants.by_key(&hash) {
            return Ok(tenant);
        }
        match self.store.tenant_by_key_hash(&hash).await {
            Ok((tenant, stored)) if bool::from(stored.as_slice().ct_eq(&hash)) => {
                self.tenants.keep(&tenant, Some(hash));
                Ok(tenant)
            }
            Ok(_) | Err(StoreError::NotFound) => Err(AuthError::UnknownKey),
            Err(e) => Err(e.into()),
        }
    }
}

/// The associated data a tenant's webhook secret is sealed with: `webhook-secret:` and
/// the tenant's slug. A sealed secret copied to another tenant's row (or used as another
/// kind of secret) does not open.
pub fn webhook_secret_aad(tenant: &TenantId) -> Vec<u8> {
    format!("webhook-secret:{tenant}").into_bytes()
}
