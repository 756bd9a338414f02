//! Tenants and the audit log.

use onepush_protocol::api::AuditEvent;
use onepush_protocol::{CredentialId, TenantId, UserId};

use crate::store::decode;
use crate::store::plan::{Arg, Conn, Mode, Stmt, bytes, int, stmt};
use crate::store::{NewAudit, Store, StoreError, TenantRecord};

const INSERT_TENANT: &str = "INSERT INTO tenants (id, display_name, api_key_hash, \
     webhook_url, webhook_secret_sealed, otp_lock_threshold, created_at, \
     push_fatigue_threshold, push_fatigue_window_seconds) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const TENANTS: &str = "SELECT * FROM tenants ORDER BY id";
const TENANT: &str = "SELECT * FROM tenants WHERE id = $1";
const TENANT_BY_KEY: &str = "SELECT * FROM tenants WHERE api_key_hash = $1";
const SET_PUSH_FATIGUE: &str = "UPDATE tenants SET push_fatigue_threshold = $1, \
     push_fatigue_window_seconds = $2 WHERE id = $3";
const SET_KEY: &str = "UPDATE tenants SET api_key_hash = $1 WHERE id = $2";
/// An audit event's insert, its parameters bound by [`audit_stmt`].
macro_rules! insert_audit {
    () => {
        "INSERT INTO audit_events (tenant_id, at, event, user_id, credential_id, \
         challenge_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    };
}
const INSERT_AUDIT: &str = insert_audit!();
/// [`INSERT_AUDIT`] answering the event's `seq`: SQLite buffers a `RETURNING` row in a
/// table of its own, so the writes that do not need the `seq` leave it out.
const APPEND_AUDIT: &str = concat!(insert_audit!(), " RETURNING seq");
/// A page of one user's audit events (index `audit_by_tenant_user`).
const AUDIT_OF_USER: &str = "SELECT * FROM audit_events WHERE tenant_id = $1 \
     AND user_id = $2 AND seq > $3 ORDER BY seq LIMIT $4";
/// A page of a tenant's audit events (index `audit_by_tenant`).
const AUDIT_OF_TENANT: &str =
    "SELECT * FROM audit_events WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3";

/// Appends an audit event at `at` inside the writes that audit in the same transaction.
pub(crate) async fn insert_audit(
    c: &mut impl Conn,
    e: &NewAudit,
    at: i64,
) -> Result<(), StoreError> {
    c.execute(audit_stmt(INSERT_AUDIT, e, at)).await.map(drop)
}

/// An audit event's six parameters, all but its time: the columns `tenant_id`, `event`,
/// `user_id`, `credential_id`, `challenge_id`, `detail` (also bound by the one-statement
/// challenge writes, which take the time from the statement).
pub(crate) fn audit_args(e: &NewAudit) -> [Arg<'_>; 6] {
    [
        e.tenant_id.as_ref().map(TenantId::as_str).into(),
        e.event.as_str().into(),
        e.user_id.as_ref().map(UserId::as_str).into(),
        e.credential_id.as_ref().map(CredentialId::as_str).into(),
        e.challenge_id.map(|c| c.to_string()).into(),
        e.detail.to_string().into(),
    ]
}

/// `sql` ([`INSERT_AUDIT`] or [`APPEND_AUDIT`]) with `e` at `at` bound.
fn audit_stmt<'a>(sql: &'static str, e: &'a NewAudit, at: i64) -> Stmt<'a> {
    let [tenant, rest @ ..] = audit_args(e);
    Stmt {
        sql,
        args: [tenant, at.into()].into_iter().chain(rest).collect(),
    }
}

/// Banks and their API keys.
impl Store {
    /// Adds a tenant with the SHA-256 of its API key; `Conflict` if the slug exists.
    pub async fn insert_tenant(
        &self,
        t: &TenantRecord,
        key_hash: &[u8; 32],
    ) -> Result<(), StoreError> {
        let insert = stmt!(
            INSERT_TENANT,
            t.id.as_str(),
            &t.display_name,
            &key_hash[..],
            &t.webhook_url,
            t.webhook_secret.as_ref().map(|s| s.0.as_slice()),
            t.otp_lock_threshold,
            t.created_at,
            t.push_fatigue_threshold,
            t.push_fatigue_window_seconds,
        );
        self.execute(insert).await.map(drop)
    }

    /// Every tenant, by slug.
    pub async fn list_tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        self.rows(Mode::Read, stmt!(TENANTS), decode::tenant).await
    }

    /// One tenant.
    pub async fn tenant(&self, id: &TenantId) -> Result<TenantRecord, StoreError> {
        self.one(Mode::Read, stmt!(TENANT, id.as_str()), decode::tenant)
            .await
    }

    /// The tenant whose API key hashes to `key_hash`, with the stored hash.
    pub async fn tenant_by_key_hash(
        &self,
        key_hash: &[u8; 32],
    ) -> Result<(TenantRecord, Vec<u8>), StoreError> {
        self.one(Mode::Read, stmt!(TENANT_BY_KEY, &key_hash[..]), |r| {
            Ok((decode::tenant(r)?, bytes(r, "api_key_hash")?))
        })
        .await
    }

    /// Sets a tenant's push-fatigue threshold (0 = off) and window; `NotFound` if no such
    /// tenant.
    pub async fn set_tenant_push_fatigue(
        &self,
        id: &TenantId,
        threshold: u32,
        window_seconds: u32,
    ) -> Result<(), StoreError> {
        let set = stmt!(SET_PUSH_FATIGUE, threshold, window_seconds, id.as_str());
        self.changes_one(set).await
    }

    /// Replaces a tenant's API key hash.
    pub async fn set_tenant_key(
        &self,
        id: &TenantId,
        key_hash: &[u8; 32],
    ) -> Result<(), StoreError> {
        self.changes_one(stmt!(SET_KEY, &key_hash[..], id.as_str()))
            .await
    }
}

/// The append-only audit log.
impl Store {
    /// Appends an audit event; returns its sequence number.
    pub async fn append_audit(&self, e: &NewAudit, at: i64) -> Result<i64, StoreError> {
        self.one(Mode::Write, audit_stmt(APPEND_AUDIT, e, at), |r| {
            int(r, "seq")
        })
        .await
    }

    /// A tenant's audit events after `since`, optionally for one user, oldest first.
    pub async fn audit(
        &self,
        tenant: &TenantId,
        user: Option<&UserId>,
        since: i64,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        // Two query texts, each on its own index: one text for both cases
        // (`$2 IS NULL OR user_id = $2`) could use neither and read the tenant's whole log.
        let page = match user {
            Some(user) => stmt!(AUDIT_OF_USER, tenant.as_str(), user.as_str(), since, limit),
            None => stmt!(AUDIT_OF_TENANT, tenant.as_str(), since, limit),
        };
        self.rows(Mode::Read, page, decode::audit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::plan::run;
    use crate::store::sqlite::SqliteStore;

    /// The query plan's lines for `sql` (parameters unbound: planned as for any value).
    fn plan(conn: &rusqlite::Connection, sql: &str) -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
        let rows = stmt
            .query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        rows.join(" | ")
    }

    #[tokio::test]
    async fn audit_pages_read_an_index_in_both_forms_and_never_sort() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("plan.db").display());
        let store = SqliteStore::open(&url, &crate::store::StoreOptions::default())
            .await
            .unwrap();
        let plans = run!(@on &store, Mode::Read, |c| Ok((
            plan(c, AUDIT_OF_TENANT),
            plan(c, AUDIT_OF_USER)
        )))
        .await
        .unwrap();
        assert!(plans.0.contains("INDEX audit_by_tenant "), "{}", plans.0);
        assert!(
            plans.1.contains("INDEX audit_by_tenant_user"),
            "{}",
            plans.1
        );
        for p in [&plans.0, &plans.1] {
            assert!(
                !p.contains("TEMP B-TREE"),
                "no sort of the tenant's log: {p}"
            );
        }
    }
}
