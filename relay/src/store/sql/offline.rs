//! Offline challenges (RFC 6287 OCRA offline codes): each answered at most once.

use onepush_protocol::{ChallengeId, TenantId};

use crate::store::codec::to_json;
use crate::store::decode;
use crate::store::plan::{Mode, stmt};
use crate::store::{OfflineRecord, Store, StoreError};

const INSERT: &str = "INSERT INTO offline_challenges (id, tenant_id, user_id, credential_id, \
     kind, context, nonce, created_at, expires_at, used_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)";
const OFFLINE: &str = "SELECT * FROM offline_challenges WHERE id = $1 AND tenant_id = $2";
/// One conditional update: of two relays (or requests) using one code, one wins.
const USE: &str = "UPDATE offline_challenges SET used_at = $1 \
     WHERE id = $2 AND used_at IS NULL AND expires_at > $1";

/// Offline challenges (RFC 6287 OCRA offline codes): each answered at most once.
impl Store {
    /// Adds an offline challenge; `Conflict` if the ID exists.
    pub async fn insert_offline(&self, o: &OfflineRecord) -> Result<(), StoreError> {
        let insert = stmt!(
            INSERT,
            o.id.to_string(),
            o.tenant_id.as_str(),
            o.user_id.as_str(),
            o.credential_id.as_str(),
            o.kind.as_str(),
            to_json(&o.context),
            &o.nonce,
            o.created_at,
            o.expires_at,
        );
        self.execute(insert).await.map(drop)
    }

    /// One offline challenge of `tenant` (`NotFound` for another tenant's).
    pub async fn offline(
        &self,
        tenant: &TenantId,
        id: &ChallengeId,
    ) -> Result<OfflineRecord, StoreError> {
        let read = stmt!(OFFLINE, id.to_string(), tenant.as_str());
        self.one(Mode::Read, read, decode::offline).await
    }

    /// Marks it used at `at` if it is unused and `at` is before its deadline: one
    /// conditional update, so of two relays (or requests) using one code, one wins.
    pub async fn use_offline(&self, id: &ChallengeId, at: i64) -> Result<bool, StoreError> {
        Ok(self.execute(stmt!(USE, at, id.to_string())).await? == 1)
    }
}
