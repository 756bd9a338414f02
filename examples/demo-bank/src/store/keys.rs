//! The public key of each user's token, pinned by the bank (see `flow::verify_approval`
//! for how it is used).

use onepush_protocol::CredentialId;
use onepush_protocol::keys::Jwk;

use super::{Store, StoreError};

/// How a key came to be pinned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinnedHow {
    /// The user registered the token on this bank's page (the codes proved it).
    Registered,
    /// Trust on first use: the token was registered elsewhere (through the relay's API
    /// directly, or before this bank pinned keys) and this was its first decision here.
    FirstUse,
}

impl PinnedHow {
    fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::FirstUse => "first_use",
        }
    }
}

/// A user's pinned token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedKey {
    /// The credential registered.
    pub credential_id: CredentialId,
    /// Its public key.
    pub jwk: Jwk,
}

impl Store {
    /// Pins `key` as the token of `(contract, user)`, replacing an earlier one.
    pub async fn pin_key(
        &self,
        contract: &str,
        user: &str,
        key: &PinnedKey,
        how: PinnedHow,
    ) -> Result<(), StoreError> {
        let jwk = serde_json::to_string(&key.jwk)
            .map_err(|e| StoreError::Db(sqlx::Error::Encode(e.into())))?;
        sqlx::query(
            "INSERT INTO pinned_keys (contract_number, user_id, credential_id, jwk, pinned_at, how) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (contract_number, user_id) DO UPDATE SET \
             credential_id = excluded.credential_id, jwk = excluded.jwk, \
             pinned_at = excluded.pinned_at, how = excluded.how",
        )
        .bind(contract)
        .bind(user)
        .bind(key.credential_id.as_str())
        .bind(jwk)
        .bind(crate::now())
        .bind(how.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The token pinned for `(contract, user)`, if any.
    pub async fn pinned_key(
        &self,
        contract: &str,
        user: &str,
    ) -> Result<Option<PinnedKey>, StoreError> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT credential_id, jwk FROM pinned_keys WHERE contract_number = ? AND user_id = ?",
        )
        .bind(contract)
        .bind(user)
        .fetch_optional(&self.pool)
        .await?;
        let Some((credential_id, jwk)) = row else {
            return Ok(None);
        };
        let damaged = |what: String| StoreError::Db(sqlx::Error::Decode(what.into()));
        Ok(Some(PinnedKey {
            credential_id: credential_id
                .parse()
                .map_err(|e| damaged(format!("pinned credential ID: {e}")))?,
            jwk: serde_json::from_str(&jwk).map_err(|e| damaged(format!("pinned key: {e}")))?,
        }))
    }

    /// Forgets the token pinned for `(contract, user)`: the bank ended the
    /// registration, so whatever the user registers next is pinned afresh.
    pub async fn unpin_key(&self, contract: &str, user: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM pinned_keys WHERE contract_number = ? AND user_id = ?")
            .bind(contract)
            .bind(user)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
