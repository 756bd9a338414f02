//! The cluster identity and the sweep of never-bound credentials, for sqlx backends
//! (compiled inside each backend's module with `#[path]`, see `tenants.rs`).

use async_trait::async_trait;

use super::DbStore;
use crate::store::StoreError;
use crate::store::upkeep::{ClusterStore, CredentialSweep, NEVER_BOUND};

#[async_trait]
impl ClusterStore for DbStore {
    async fn record_cluster_value(
        &self,
        name: &str,
        value: &str,
        now: i64,
    ) -> Result<String, StoreError> {
        // The primary key makes the first insert the one kept; later ones change nothing.
        sqlx::query(
            "INSERT INTO cluster_identity (name, value, recorded_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(value)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        let (recorded,): (String,) =
            sqlx::query_as("SELECT value FROM cluster_identity WHERE name = $1")
                .bind(name)
                .fetch_one(&self.pool)
                .await
                .map_err(StoreError::from_sqlx)?;
        Ok(recorded)
    }
}

#[async_trait]
impl CredentialSweep for DbStore {
    async fn delete_unbound_credentials(
        &self,
        created_before: i64,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let sql = format!(
            "DELETE FROM credentials WHERE id IN (SELECT id FROM credentials \
             WHERE created_at < $1 AND {NEVER_BOUND} LIMIT $2)"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(created_before)
            .bind(i64::from(limit))
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(done.rows_affected())
    }
}
