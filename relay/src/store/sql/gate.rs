//! The store's health check, the decision's read (the signer and the challenge) and the
//! challenge gate (which the challenge insert also reads, in its own statement on
//! PostgreSQL), each one statement on both backends: a round trip is what a request waits
//! for on PostgreSQL, and on SQLite one statement is one step fewer than three.

use onepush_protocol::{ChallengeId, CredentialId, TenantId, UserId};

use super::challenges::recent_refusals_sql;
use crate::store::codec::json;
use crate::store::plan::{Columns, Conn, Dialect, Mode, run, stmt};
use crate::store::{ChallengeGate, ChallengeRecord, CredentialRecord, Store, StoreError, decode};

/// `gate_sql!()`: the binding of user `$2` in tenant `$1` with the bound credential's push
/// subscription (`gate_push`); `gate_sql!(OPEN, CLOSE)`: and the user's recent refusals
/// since `$3`, at most `$4` ([`recent_refusals_sql!`]), as an array (`gate_refusals`)
/// written `OPEN refusals CLOSE`, as the backend writes an array of a query's rows.
macro_rules! gate_sql {
    ($($open:literal, $close:literal)?) => {
        concat!(
            "SELECT b.*, cr.push_subscription AS gate_push",
            $(
                ", ", $open, recent_refusals_sql!("$1", "$2", "$3", "$4"), $close,
                " AS gate_refusals",
            )?
            " FROM bindings b LEFT JOIN credentials cr ON cr.id = b.credential_id \
             WHERE b.tenant_id = $1 AND b.user_id = $2"
        )
    };
}

/// The gate without the refusals.
const GATE: &str = gate_sql!();

/// The gate with the refusals as a PostgreSQL array.
const GATE_WITH_REFUSALS_PG: &str = gate_sql!("ARRAY(", ")");

/// The gate with the refusals as a JSON array, newest first (SQLite has no arrays).
const GATE_WITH_REFUSALS_SQLITE: &str = gate_sql!(
    "(SELECT json_group_array(decided_at ORDER BY decided_at DESC) FROM (",
    "))"
);

/// A row of [`gate_sql!`] (with the refusals if `refusals`).
pub(crate) fn decode_gate(r: &dyn Columns, refusals: bool) -> Result<ChallengeGate, StoreError> {
    Ok(ChallengeGate {
        binding: decode::binding(r)?,
        refusals: if refusals {
            r.ints("gate_refusals")?
        } else {
            Vec::new()
        },
        push_subscription: r
            .text("gate_push")?
            .map(|s| json(&s, "push subscription"))
            .transpose()?,
    })
}

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

/// A row's columns read with the prefix `ch_`.
struct Prefixed<'r>(&'r dyn Columns);

/// `read("ch_" + col)`, the name made on the stack (a challenge's 14 columns are read
/// once per decision: no allocation each).
fn prefixed<T>(col: &str, read: impl FnOnce(&str) -> T) -> T {
    const PREFIX: &[u8] = b"ch_";
    let mut name = [0_u8; 64];
    let len = PREFIX.len() + col.len();
    if let Some(buf) = name.get_mut(..len) {
        buf[..PREFIX.len()].copy_from_slice(PREFIX);
        buf[PREFIX.len()..].copy_from_slice(col.as_bytes());
        if let Ok(name) = std::str::from_utf8(buf) {
            return read(name);
        }
    }
    read(&format!("ch_{col}"))
}

impl Columns for Prefixed<'_> {
    fn text(&self, col: &str) -> Result<Option<String>, StoreError> {
        prefixed(col, |c| self.0.text(c))
    }

    fn int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        prefixed(col, |c| self.0.int(c))
    }

    fn bytes(&self, col: &str) -> Result<Option<Vec<u8>>, StoreError> {
        prefixed(col, |c| self.0.bytes(c))
    }

    fn flag(&self, col: &str) -> Result<Option<bool>, StoreError> {
        prefixed(col, |c| self.0.flag(c))
    }

    fn ints(&self, col: &str) -> Result<Vec<i64>, StoreError> {
        prefixed(col, |c| self.0.ints(c))
    }
}

/// See [`Store::challenge_gate`].
pub(crate) async fn gate<C: Conn>(
    c: &mut C,
    tenant: &TenantId,
    user: &UserId,
    refusals: Option<(i64, u32)>,
) -> Result<Option<ChallengeGate>, StoreError> {
    let read = match refusals {
        Some((since, limit)) => stmt!(
            match C::DIALECT {
                Dialect::Postgres => GATE_WITH_REFUSALS_PG,
                Dialect::Sqlite => GATE_WITH_REFUSALS_SQLITE,
            },
            tenant.as_str(),
            user.as_str(),
            since,
            limit
        ),
        None => stmt!(GATE, tenant.as_str(), user.as_str()),
    };
    c.optional(read, |r| decode_gate(r, refusals.is_some()))
        .await
}

/// See [`Store::credential_and_challenge`]: one row, each part decoded if it is there.
fn decode_credential_and_challenge(
    r: &dyn Columns,
) -> Result<(Option<CredentialRecord>, Option<ChallengeRecord>), StoreError> {
    let credential = match r.text("id")? {
        Some(_) => Some(decode::credential(r)?),
        None => None,
    };
    let challenge = match r.text("ch_id")? {
        Some(_) => Some(decode::challenge(&Prefixed(r))?),
        None => None,
    };
    Ok((credential, challenge))
}

/// The health check and the two reads a request makes first (a decision's, a new challenge's).
impl Store {
    /// Checks the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.rows(Mode::Read, stmt!("SELECT 1 AS one"), |_| Ok(()))
            .await
            .map(drop)
    }

    /// The credential `credential` and the challenge `challenge` (each `None` when there
    /// is no such row): what a decision post needs when this relay keeps no key of its
    /// signer or did not make its challenge (or anything is unusual), read in one
    /// statement.
    pub async fn credential_and_challenge(
        &self,
        credential: &CredentialId,
        challenge: &ChallengeId,
    ) -> Result<(Option<CredentialRecord>, Option<ChallengeRecord>), StoreError> {
        let read = stmt!(
            CREDENTIAL_AND_CHALLENGE,
            credential.as_str(),
            challenge.to_string()
        );
        self.one(Mode::Read, read, decode_credential_and_challenge)
            .await
    }

    /// What creating a challenge for `user` checks first: the binding (`None`: the user
    /// is not enrolled, and nothing else is read), the push-fatigue refusals when
    /// `refusals` gives their `(since, limit)`, and the bound credential's push
    /// subscription, in one statement. The insert
    /// ([`insert_challenge_audited`](Store::insert_challenge_audited)) reads the
    /// same again with the pending count and decides on them, so that concurrent creates
    /// cannot both pass the limits; this read serves a user the relay has not seen yet.
    pub async fn challenge_gate(
        &self,
        tenant: &TenantId,
        user: &UserId,
        refusals: Option<(i64, u32)>,
    ) -> Result<Option<ChallengeGate>, StoreError> {
        let (tenant, user) = (tenant.clone(), user.clone());
        run!(self, Mode::Read, |c| gate(c, &tenant, &user, refusals)
            .await)
        .await
    }
}
