//! What the relay keeps about itself (issue 22): the values every relay on one database
//! must share ([`ClusterStore`]) and the deletion of credentials never bound to a user
//! ([`CredentialSweep`]).

use async_trait::async_trait;

use super::StoreError;

/// The cluster's identity: named values the first relay records and every later one
/// compares with its own.
#[async_trait]
pub trait ClusterStore: Send + Sync + 'static {
    /// Records `value` under `name` unless a value is recorded there already, and answers
    /// the recorded one (this `value` when it was the first). Of relays recording at the
    /// same moment, one wins and every one answers its value.
    async fn record_cluster_value(
        &self,
        name: &str,
        value: &str,
        now: i64,
    ) -> Result<String, StoreError>;
}

/// Deleting credentials that were provisioned but never bound.
#[async_trait]
pub trait CredentialSweep: Send + Sync + 'static {
    /// Deletes up to `limit` credentials created before `created_before` that no binding
    /// and no challenge names (never bound to any user of any bank); answers how many.
    async fn delete_unbound_credentials(
        &self,
        created_before: i64,
        limit: u32,
    ) -> Result<u64, StoreError>;
}
