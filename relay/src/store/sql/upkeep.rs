//! The cluster identity and the sweep of never-bound credentials.

use crate::store::plan::{Mode, run, stmt, text};
use crate::store::{Store, StoreError};

/// The primary key makes the first insert the one kept; later ones change nothing.
const RECORD: &str = "INSERT INTO cluster_identity (name, value, recorded_at) \
     VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING";
const RECORDED: &str = "SELECT value FROM cluster_identity WHERE name = $1";
/// At most `$2` credentials older than `$1` never bound: no binding and no challenge (a
/// binding replaced later leaves its challenges, which name the credential: such a
/// credential was bound once and is kept).
const SWEEP: &str = "DELETE FROM credentials WHERE id IN (SELECT id FROM credentials \
     WHERE created_at < $1 \
     AND NOT EXISTS (SELECT 1 FROM bindings b WHERE b.credential_id = credentials.id) \
     AND NOT EXISTS (SELECT 1 FROM challenges c WHERE c.credential_id = credentials.id) \
     LIMIT $2)";

/// Credentials deleted per write: other writes go between the slices.
const SWEEP_SLICE: u32 = 200;

/// The cluster's identity: named values the first relay records and every later one
/// compares with its own.
impl Store {
    /// Records `value` under `name` unless a value is recorded there already, and answers
    /// the recorded one (this `value` when it was the first). Of relays recording at the
    /// same moment, one wins and every one answers its value.
    pub async fn record_cluster_value(
        &self,
        name: &str,
        value: &str,
        now: i64,
    ) -> Result<String, StoreError> {
        let (name, value) = (name.to_owned(), value.to_owned());
        run!(self, Mode::Transaction, |c| {
            c.execute(stmt!(RECORD, name.as_str(), value.as_str(), now))
                .await?;
            c.one(stmt!(RECORDED, name.as_str()), |r| text(r, "value"))
                .await
        })
        .await
    }
}

/// Deleting credentials that were provisioned but never bound.
impl Store {
    /// Deletes up to `limit` credentials created before `created_before` that no binding
    /// and no challenge names (never bound to any user of any bank); answers how many.
    pub async fn delete_unbound_credentials(
        &self,
        created_before: i64,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let mut deleted = 0_u64;
        while deleted < u64::from(limit) {
            let slice = SWEEP_SLICE.min(limit - u32::try_from(deleted).unwrap_or(limit));
            let changed = self.execute(stmt!(SWEEP, created_before, slice)).await?;
            deleted += changed;
            if changed < u64::from(slice) {
                break;
            }
        }
        Ok(deleted)
    }
}
