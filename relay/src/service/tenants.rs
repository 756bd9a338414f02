//! Tenants (banks): creation, key rotation and API-key authentication.

use onepush_protocol::TenantId;
use subtle::ConstantTimeEq as _;

use super::{Service, random_b64, sha256};
use crate::error::ApiError;
use crate::store::{StoreError, TenantRecord};

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
            webhook_secret: webhook_secret.clone(),
            otp_lock_threshold: self.settings.otp_lock_threshold,
            push_fatigue_threshold: self.settings.push_fatigue_threshold,
            push_fatigue_window_seconds: self.settings.push_fatigue_window_seconds,
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

    /// Every tenant.
    pub async fn list_tenants(&self) -> Result<Vec<TenantRecord>, TenantError> {
        Ok(self.store.list_tenants().await?)
    }

    /// The tenant whose API key this is (from the [`tenant_cache`](super::tenant_cache)
    /// when that key was checked against the store less than a second ago).
    pub async fn authenticate(&self, api_key: &str) -> Result<TenantRecord, ApiError> {
        let hash = sha256(api_key.as_bytes());
        if let Some(tenant) = self.tenants.by_key(&hash) {
            return Ok(tenant);
        }
        match self.store.tenant_by_key_hash(&hash).await {
            Ok((tenant, stored)) if bool::from(stored.as_slice().ct_eq(&hash)) => {
                self.tenants.keep(&tenant, Some(hash));
                Ok(tenant)
            }
            Ok(_) | Err(StoreError::NotFound) => {
                Err(ApiError::Unauthorized("the API key is not valid"))
            }
            Err(e) => Err(e.into()),
        }
    }
}
