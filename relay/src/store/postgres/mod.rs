//! The PostgreSQL backend: several relays on one database. Its queries are the shared
//! ones in `../shared/` (compiled here with `Db = Postgres`); its own are the connection
//! set-up (pool size, `statement_timeout`), its migrations, `CLAIM_WEBHOOKS` and the
//! one-trip reads of the hot path ([`reads`]).

use std::str::FromStr as _;

use async_trait::async_trait;
use sqlx::Postgres as Db;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::{Store, StoreError, StoreOptions};

#[path = "../shared/bindings.rs"]
#[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
mod bindings;
#[path = "../shared/challenges.rs"]
#[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
mod challenges;
#[path = "../shared/credentials.rs"]
#[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
mod credentials;
#[path = "../shared/maintenance.rs"]
#[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
mod maintenance;
#[path = "../shared/offline.rs"]
#[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
mod offline;
#[path = "../shared/ops.rs"]
#[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
mod ops;
#[path = "../shared/outbox.rs"]
#[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
mod outbox;
mod reads;
#[path = "../shared/rows.rs"]
#[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
mod rows;
#[path = "../shared/tenants.rs"]
#[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
mod tenants;
#[path = "../shared/upkeep.rs"]
#[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
mod upkeep;

/// The store type the shared query files implement the traits for.
type DbStore = PgStore;

/// Leases due webhook messages. `SKIP LOCKED`: relays claiming at the same moment take
/// different rows instead of waiting for each other; the lease (`next_attempt_at` moved
/// forward) keeps a row from being claimed again until it runs out.
const CLAIM_WEBHOOKS: &str = "UPDATE webhook_outbox SET next_attempt_at = $1 \
     WHERE id IN (SELECT id FROM webhook_outbox WHERE state = 'pending' AND next_attempt_at <= $2 \
     ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
     RETURNING id, tenant_id, body, created_at, attempts";

/// The `application_name` the relay's connections show in `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "onepush-relay";

/// The relay's data in a PostgreSQL database, shared by every relay pointed at it.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/database[?sslmode=…]`)
    /// and migrates the database (migrations take an advisory lock, so relays starting
    /// together do not race).
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let mut connect = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Database(Box::new(e)))?
            .application_name(APPLICATION_NAME);
        if let Some(timeout) = options.statement_timeout {
            connect = connect.options([("statement_timeout", timeout.as_millis())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(StoreError::from_sqlx)?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migrate(Box::new(e)))?;
        Ok(Self { pool })
    }

    /// The connection pool (the LISTEN/NOTIFY notifier sends through it and copies its
    /// connection options).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    async fn credential_and_challenge(
        &self,
        credential: &onepush_protocol::CredentialId,
        challenge: &onepush_protocol::ChallengeId,
    ) -> Result<
        (
            Option<super::CredentialRecord>,
            Option<super::ChallengeRecord>,
        ),
        StoreError,
    > {
        self.read_credential_and_challenge(credential, challenge)
            .await
    }

    async fn challenge_gate(
        &self,
        tenant: &onepush_protocol::TenantId,
        user: &onepush_protocol::UserId,
        refusals: Option<(i64, u32)>,
    ) -> Result<Option<super::ChallengeGate>, StoreError> {
        self.read_gate(tenant, user, refusals).await
    }
}
