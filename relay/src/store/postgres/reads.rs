//! PostgreSQL's one-trip reads on the hot path: the create gate (binding, push-fatigue
//! refusals, the bound credential's push subscription) and a decision's credential and
//! challenge, each one statement where the trait's default makes two or three round
//! trips.

use onepush_protocol::{ChallengeId, CredentialId, TenantId, UserId};
use sqlx::postgres::PgRow;

use super::rows::{self, get};
use crate::store::codec::json;
use crate::store::decode::Columns;
use crate::store::{ChallengeGate, ChallengeRecord, CredentialRecord, StoreError};

/// The binding with the bound credential's push subscription (`gate_push`).
const GATE: &str = "SELECT b.*, cr.push_subscription AS gate_push FROM bindings b \
     LEFT JOIN credentials cr ON cr.id = b.credential_id \
     WHERE b.tenant_id = $1 AND b.user_id = $2";

/// [`GATE`] with the user's recent refusals as an array, newest first: the query of
/// `recent_refusals_for_user` (`$3` since, `$4` limit).
const GATE_WITH_REFUSALS: &str = "SELECT b.*, cr.push_subscription AS gate_push, \
     ARRAY(SELECT decided_at FROM challenges \
         WHERE tenant_id = $1 AND user_id = $2 AND status IN ('denied', 'expired') \
         AND decided_at >= $3 \
         AND decided_at > COALESCE((SELECT MAX(decided_at) FROM challenges \
             WHERE tenant_id = $1 AND user_id = $2 AND status = 'approved' \
             AND decided_at >= $3), $3 - 1) \
         ORDER BY decided_at DESC LIMIT $4) AS gate_refusals \
     FROM bindings b LEFT JOIN credentials cr ON cr.id = b.credential_id \
     WHERE b.tenant_id = $1 AND b.user_id = $2";

/// The credential (its own column names, `id` `NULL` when there is none) and the
/// challenge (its columns prefixed `ch_`, `ch_id` `NULL` when there is none) in one row.
const CREDENTIAL_AND_CHALLENGE: &str = "SELECT cr.*, ch.id AS ch_id, \
     ch.tenant_id AS ch_tenant_id, ch.user_id AS ch_user_id, \
     ch.credential_id AS ch_credential_id, ch.kind AS ch_kind, ch.context AS ch_context, \
     ch.number AS ch_number, ch.nonce AS ch_nonce, ch.status AS ch_status, \
     ch.created_at AS ch_created_at, ch.expires_at AS ch_expires_at, \
     ch.decided_at AS ch_decided_at, ch.reached_device AS ch_reached_device, \
     ch.decision AS ch_decision \
     FROM (SELECT 1) AS one \
     LEFT JOIN credentials cr ON cr.id = $1 \
     LEFT JOIN challenges ch ON ch.id = $2";

/// A row's columns read with a prefix (`ch_` + the column the decoder asks for).
struct Prefixed<'r>(&'r PgRow);

impl Prefixed<'_> {
    fn col(col: &str) -> String {
        format!("ch_{col}")
    }
}

impl Columns for Prefixed<'_> {
    fn text(&self, col: &str) -> Result<Option<String>, StoreError> {
        get(self.0, &Self::col(col))
    }

    fn int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        get(self.0, &Self::col(col))
    }

    fn bytes(&self, col: &str) -> Result<Option<Vec<u8>>, StoreError> {
        get(self.0, &Self::col(col))
    }

    fn flag(&self, col: &str) -> Result<Option<bool>, StoreError> {
        get(self.0, &Self::col(col))
    }
}

impl super::PgStore {
    /// See [`Store::challenge_gate`](crate::store::Store::challenge_gate).
    pub(super) async fn read_gate(
        &self,
        tenant: &TenantId,
        user: &UserId,
        refusals: Option<(i64, u32)>,
    ) -> Result<Option<ChallengeGate>, StoreError> {
        let query = match refusals {
            Some((since, limit)) => sqlx::query(GATE_WITH_REFUSALS)
                .bind(tenant.as_str())
                .bind(user.as_str())
                .bind(since)
                .bind(i64::from(limit)),
            None => sqlx::query(GATE).bind(tenant.as_str()).bind(user.as_str()),
        };
        let Some(row) = query
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?
        else {
            return Ok(None);
        };
        let refusals = match refusals {
            Some(_) => get::<Vec<i64>>(&row, "gate_refusals")?,
            None => Vec::new(),
        };
        let push_subscription = get::<Option<String>>(&row, "gate_push")?
            .map(|s| json(&s, "push subscription"))
            .transpose()?;
        Ok(Some(ChallengeGate {
            binding: rows::binding(&row)?,
            refusals,
            push_subscription,
        }))
    }

    /// See [`Store::credential_and_challenge`](crate::store::Store::credential_and_challenge).
    pub(super) async fn read_credential_and_challenge(
        &self,
        credential: &CredentialId,
        challenge: &ChallengeId,
    ) -> Result<(Option<CredentialRecord>, Option<ChallengeRecord>), StoreError> {
        let row = sqlx::query(CREDENTIAL_AND_CHALLENGE)
            .bind(credential.as_str())
            .bind(challenge.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        let credential = match get::<Option<String>>(&row, "id")? {
            Some(_) => Some(rows::credential(&row)?),
            None => None,
        };
        let challenge = match get::<Option<String>>(&row, "ch_id")? {
            Some(_) => Some(rows::challenge(&Prefixed(&row))?),
            None => None,
        };
        Ok((credential, challenge))
    }
}
