//! Challenges and idempotency keys.
//!
//! Creating and ending a challenge are the hot path, and there the SQL differs: on
//! PostgreSQL each is one statement (data-modifying `WITH`: the count, the inserts, the
//! webhook and the audit event in one round trip, as round trips are what a request
//! waits for), which SQLite cannot write; on SQLite each is a few cached statements in
//! one writer job, which costs no round trip at all.

use std::fmt::Write as _;
use std::sync::LazyLock;

use onepush_protocol::api::DecisionRecord;
use onepush_protocol::{ChallengeId, ChallengeStatus, CredentialId, TenantId, UserId};

use super::gate::{decode_gate, gate};
use super::outbox::insert_outbox;
use super::tenants::{audit_args, insert_audit};
use crate::store::bindings::sql;
use crate::store::codec::{parse, to_json};
use crate::store::decode;
use crate::store::plan::{Arg, Conn, Dialect, Mode, Stmt, bytes, count, int, run, stmt, text};
use crate::store::{Admission, Admit, ChallengeRecord, NewAudit, OutboxMessage, Store, StoreError};

/// The challenge columns [`decode::challenge`] reads, and `$where`.
macro_rules! select_challenges {
    ($where:literal) => {
        concat!(
            "SELECT id, tenant_id, user_id, credential_id, kind, context, number, nonce, \
             status, created_at, expires_at, decided_at, reached_device, decision \
             FROM challenges ",
            $where
        )
    };
}

const CHALLENGE: &str = select_challenges!("WHERE id = $1");
const PENDING_FOR_CREDENTIAL: &str =
    select_challenges!("WHERE credential_id = $1 AND status = 'pending' ORDER BY created_at, id");
/// Several relays may read the same rows; `finish_challenge` lets one of them end each.
/// `decided_at IS NULL` (true of every pending challenge) is what lets this statement, and
/// no other, read PostgreSQL's index of pending challenges by deadline (migration 0014).
const OVERDUE: &str = select_challenges!(
    "WHERE status = 'pending' AND decided_at IS NULL AND expires_at <= $1 \
     ORDER BY expires_at LIMIT $2"
);
const PENDING_COUNT: &str = "SELECT COUNT(*) AS n FROM challenges \
     WHERE tenant_id = $1 AND user_id = $2 AND status = 'pending' AND expires_at > $3";
/// `recent_refusals_sql!(tenant, user, since, limit)`: a user's refusals since `since`, newest
/// first, at most `limit` (each argument the SQL of a parameter, as `"$1"`). Both parts
/// read `challenges_by_user_decided` (tenant, user, status, `decided_at`). An approval in
/// the same second as a refusal clears it (the approval wins ties). The last approval is
/// read as the first row of a backward scan (`ORDER BY … DESC LIMIT 1`), not as `MAX`,
/// which PostgreSQL may compute over every approval in the window: a cost that would grow
/// with the user's approvals.
macro_rules! recent_refusals_sql {
    ($tenant:literal, $user:literal, $since:literal, $limit:literal) => {
        concat!(
            "SELECT decided_at FROM challenges WHERE tenant_id = ",
            $tenant,
            " AND user_id = ",
            $user,
            " AND status IN ('denied', 'expired') AND decided_at >= ",
            $since,
            " AND decided_at > COALESCE((SELECT decided_at FROM challenges \
             WHERE tenant_id = ",
            $tenant,
            " AND user_id = ",
            $user,
            " AND status = 'approved' AND decided_at >= ",
            $since,
            " ORDER BY decided_at DESC LIMIT 1), ",
            $since,
            " - 1) ORDER BY decided_at DESC LIMIT ",
            $limit
        )
    };
}
pub(crate) use recent_refusals_sql;
const RECENT_REFUSALS: &str = recent_refusals_sql!("$1", "$2", "$3", "$4");
const IDEMPOTENT: &str = "SELECT challenge_id, request_hash FROM idempotency_keys \
     WHERE tenant_id = $1 AND key = $2";
const INSERT_IDEMPOTENCY: &str = "INSERT INTO idempotency_keys (tenant_id, key, \
     request_hash, challenge_id) VALUES ($1, $2, $3, $4)";
const INSERT: &str = "INSERT INTO challenges (id, tenant_id, user_id, credential_id, kind, \
     context, number, nonce, status, created_at, expires_at, decided_at, reached_device, \
     decision) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
const REACHED: &str =
    "UPDATE challenges SET reached_device = TRUE WHERE id = $1 AND NOT reached_device";
/// One statement: two relays counting misses at once each see their own total.
const NUMBER_MISS: &str = "UPDATE challenges SET number_misses = number_misses + 1 \
     WHERE id = $1 AND status = 'pending' RETURNING number_misses";

/// The audit columns (`$AT` the event's time) of an insert fed by `source`: six
/// parameters from `$first`, bound by [`audit_args`].
fn audit_insert(first: usize, at: &str, source: &str) -> String {
    let p = |i: usize| format!("${}", first + i);
    format!(
        "INSERT INTO audit_events (tenant_id, at, event, user_id, credential_id, challenge_id, \
         detail) SELECT {}, {at}, {}, {}, {}, {}, {} FROM {source}",
        p(0),
        p(1),
        p(2),
        p(3),
        p(4),
        p(5)
    )
}

/// PostgreSQL's challenge insert in one statement: the user's binding locked and read,
/// and their pending, not overdue challenges counted (`onepush_lock_binding`, migration
/// 0012: after the lock, so a concurrent insert for the same user waits, then counts
/// this one, and the binding is read as a concurrent change left it), the rest of the
/// gate read with it (the credential's push subscription and, when asked, the user's
/// recent refusals `$16`, `$17`, as the gate read reads them), and the challenge
/// inserted only as [`Admit::admits`] says: the binding active, for push and bound to its
/// credential, fewer refusals than `$17`, fewer pending than `$15` (`made`: 1 or 0); with
/// its idempotency key and audit event when asked for. No row: the user has no binding.
/// Indexed by `refusals + 2 * idempotency + 4 * audit`.
static INSERT_AND_COUNT: LazyLock<[String; 8]> = LazyLock::new(|| {
    std::array::from_fn(|i| {
        let (refusals, idem, audit) = (i & 1 == 1, i & 2 == 2, i & 4 == 4);
        let (read, refused, mut next) = if refusals {
            (
                concat!(
                    ", ARRAY(",
                    recent_refusals_sql!("$2", "$3", "$16", "$17"),
                    ") AS gate_refusals"
                ),
                " AND cardinality(bound.gate_refusals) < $17",
                18,
            )
        } else {
            ("", "", 16)
        };
        let mut sql = format!(
            "WITH bound AS (SELECT (l.binding).*, l.n, cr.push_subscription AS gate_push{read} \
             FROM onepush_lock_binding($2, $3, $10) AS l \
             LEFT JOIN credentials cr ON cr.id = (l.binding).credential_id), \
             made AS (INSERT INTO challenges (id, tenant_id, user_id, credential_id, kind, \
             context, number, nonce, status, created_at, expires_at, decided_at, \
             reached_device, decision) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             $12, $13, $14 FROM bound WHERE bound.state = 'active' \
             AND bound.credential_id = $4 AND bound.kind = 'push' AND bound.n < $15{refused} \
             RETURNING id)"
        );
        if idem {
            write!(
                sql,
                ", idem AS (INSERT INTO idempotency_keys (tenant_id, key, request_hash, \
                 challenge_id) SELECT $2, ${next}, ${}, $1 FROM made)",
                next + 1
            )
            .expect("writing to a String cannot fail");
            next += 2;
        }
        if audit {
            write!(sql, ", audited AS ({})", audit_insert(next, "$10", "made"))
                .expect("writing to a String cannot fail");
        }
        sql.push_str(" SELECT bound.*, (SELECT COUNT(*) FROM made) AS made FROM bound");
        sql
    })
});

/// PostgreSQL's end of a challenge in one statement (`n`: 1 if it ended, 0 if it was not
/// pending, its signer revoked, or, for an approval, its binding not active and bound to
/// the signer), with
/// its webhook (due at once) and audit event when asked for. Indexed by `approve + 2 *
/// webhook + 4 * audit`.
static FINISH_IN_ONE: LazyLock<[String; 8]> = LazyLock::new(|| {
    std::array::from_fn(|i| {
        let (approve, webhook, audit) = (i & 1 == 1, i & 2 == 2, i & 4 == 4);
        let update = if approve {
            sql::APPROVE_CHALLENGE
        } else {
            sql::FINISH_CHALLENGE
        };
        let mut sql = format!("WITH done AS ({update} RETURNING id)");
        let mut next = 6;
        if webhook {
            write!(
                sql,
                ", hook AS (INSERT INTO webhook_outbox (id, tenant_id, body, created_at, \
                 attempts, next_attempt_at) SELECT ${}, ${}, ${}, ${}, 0, $2 FROM done)",
                next,
                next + 1,
                next + 2,
                next + 3
            )
            .expect("writing to a String cannot fail");
            next += 4;
        }
        if audit {
            write!(sql, ", audited AS ({})", audit_insert(next, "$2", "done"))
                .expect("writing to a String cannot fail");
        }
        sql.push_str(" SELECT COUNT(*) AS n FROM done");
        sql
    })
});

/// A challenge's fourteen columns, in [`INSERT`]'s order.
fn challenge_args(ch: &ChallengeRecord) -> Vec<Arg<'_>> {
    stmt!(
        INSERT,
        ch.id.to_string(),
        ch.tenant_id.as_str(),
        ch.user_id.as_str(),
        ch.credential_id.as_str(),
        ch.kind.as_str(),
        ch.context.canonical_json(),
        ch.number.map(i64::from),
        ch.nonce.as_str(),
        ch.status.as_str(),
        ch.created_at,
        ch.expires_at,
        ch.decided_at,
        ch.reached_device,
        ch.decision.as_ref().map(to_json),
    )
    .args
}

/// Inserts `ch` if `admit` admits it (see `insert_challenge_audited`).
async fn insert<C: Conn>(
    c: &mut C,
    ch: &ChallengeRecord,
    idempotency: Option<&(String, [u8; 32])>,
    audit: Option<&NewAudit>,
    admit: Admit,
) -> Result<Admission, StoreError> {
    match C::DIALECT {
        Dialect::Postgres => insert_in_one(c, ch, idempotency, audit, admit).await,
        Dialect::Sqlite => insert_in_steps(c, ch, idempotency, audit, admit).await,
    }
}

/// PostgreSQL: the binding's lock and check, the gate read, the count, the inserts and
/// the audit event in one statement ([`INSERT_AND_COUNT`]). The lock holds to the
/// statement's commit, so a concurrent insert for the same user (on any relay) waits,
/// then counts this one, and a concurrent binding change waits, then ends this challenge
/// too (or, first, makes this statement see the binding no longer active).
async fn insert_in_one(
    c: &mut impl Conn,
    ch: &ChallengeRecord,
    idempotency: Option<&(String, [u8; 32])>,
    audit: Option<&NewAudit>,
    admit: Admit,
) -> Result<Admission, StoreError> {
    let sql = INSERT_AND_COUNT[usize::from(admit.refusals.is_some())
        + 2 * usize::from(idempotency.is_some())
        + 4 * usize::from(audit.is_some())]
    .as_str();
    let mut args = challenge_args(ch);
    args.push(admit.max_pending.map_or(i64::MAX, i64::from).into());
    if let Some((since, limit)) = admit.refusals {
        args.extend([since.into(), limit.into()]);
    }
    if let Some((key, hash)) = idempotency {
        // The primary key (tenant, key) makes a second relay's insert fail: `Conflict`.
        args.extend([key.into(), Arg::from(&hash[..])]);
    }
    if let Some(event) = audit {
        args.extend(audit_args(event));
    }
    let read = c
        .optional(Stmt { sql, args }, |r| {
            Ok((
                decode_gate(r, admit.refusals.is_some())?,
                count(r, "n")?,
                int(r, "made")?,
            ))
        })
        .await?;
    Ok(match read {
        None => Admission::NoBinding,
        Some((gate, _, 1)) => Admission::Admitted(gate),
        Some((gate, pending, _)) => Admission::Refused { gate, pending },
    })
}

/// SQLite: the gate read, the count and each insert, one cached statement each in the
/// one writer job (nothing runs between them).
async fn insert_in_steps(
    c: &mut impl Conn,
    ch: &ChallengeRecord,
    idempotency: Option<&(String, [u8; 32])>,
    audit: Option<&NewAudit>,
    admit: Admit,
) -> Result<Admission, StoreError> {
    let Some(gate) = gate(c, &ch.tenant_id, &ch.user_id, admit.refusals).await? else {
        return Ok(Admission::NoBinding);
    };
    let pending = match admit.max_pending {
        Some(_) => {
            let pending = stmt!(
                PENDING_COUNT,
                ch.tenant_id.as_str(),
                ch.user_id.as_str(),
                ch.created_at
            );
            c.one(pending, |r| count(r, "n")).await?
        }
        None => 0,
    };
    if !admit.admits(&gate, pending, &ch.credential_id) {
        return Ok(Admission::Refused { gate, pending });
    }
    if let Some((key, hash)) = idempotency {
        // The primary key (tenant, key) makes a second insert fail: `Conflict`.
        c.execute(stmt!(
            INSERT_IDEMPOTENCY,
            ch.tenant_id.as_str(),
            key.as_str(),
            &hash[..],
            ch.id.to_string()
        ))
        .await?;
    }
    c.execute(Stmt {
        sql: INSERT,
        args: challenge_args(ch),
    })
    .await?;
    if let Some(event) = audit {
        insert_audit(c, event, ch.created_at).await?;
    }
    Ok(Admission::Admitted(gate))
}

/// What ending a challenge writes (see `finish_challenge_audited`).
struct Finish {
    id: ChallengeId,
    status: ChallengeStatus,
    at: i64,
    decision: Option<String>,
    signer: Option<String>,
    webhook: Option<OutboxMessage>,
    audit: Option<NewAudit>,
}

/// Ends a challenge if it is pending (an approval: only while its binding is active and
/// bound to the signer, in the same statement), with its webhook and audit event.
async fn finish<C: Conn>(c: &mut C, f: &Finish) -> Result<bool, StoreError> {
    let approve = f.status == ChallengeStatus::Approved;
    let mut end = stmt!(
        if approve {
            sql::APPROVE_CHALLENGE
        } else {
            sql::FINISH_CHALLENGE
        },
        f.status.as_str(),
        f.at,
        &f.decision,
        f.id.to_string(),
        &f.signer
    );
    if C::DIALECT == Dialect::Postgres {
        // One statement, so one implicit transaction: the webhook and the audit event are
        // inserted only if the update ended the challenge (PostgreSQL re-checks the
        // condition after waiting for a concurrent end's lock: the second ends nothing).
        let i = usize::from(approve)
            + 2 * usize::from(f.webhook.is_some())
            + 4 * usize::from(f.audit.is_some());
        end.sql = FINISH_IN_ONE[i].as_str();
        if let Some(m) = &f.webhook {
            end.args.extend([
                Arg::from(&m.id),
                m.tenant_id.as_str().into(),
                (&m.body).into(),
                m.created_at.into(),
            ]);
        }
        if let Some(event) = &f.audit {
            end.args.extend(audit_args(event));
        }
        return Ok(c.one(end, |r| int(r, "n")).await? == 1);
    }
    if c.execute(end).await? != 1 {
        return Ok(false);
    }
    if let Some(message) = &f.webhook {
        insert_outbox(c, message, f.at).await?;
    }
    if let Some(event) = &f.audit {
        insert_audit(c, event, f.at).await?;
    }
    Ok(true)
}

/// Challenges and the idempotency keys that created them.
impl Store {
    /// Inserts a challenge, with its idempotency key (`Conflict` if the key exists, or
    /// if the user's binding is not active, for push and bound to the challenge's
    /// credential).
    pub async fn insert_challenge(
        &self,
        challenge: &ChallengeRecord,
        idempotency: Option<(&str, &[u8; 32])>,
    ) -> Result<(), StoreError> {
        match self
            .insert_challenge_audited(challenge, idempotency, None, Admit::default())
            .await?
        {
            Admission::Admitted(_) => Ok(()),
            Admission::NoBinding | Admission::Refused { .. } => Err(StoreError::Conflict),
        }
    }

    /// Ends a pending challenge and, in the same transaction, queues `webhook` (due at
    /// `at`); false (and nothing queued) if it was no longer pending. Of several relays
    /// ending one challenge at once, exactly one gets true.
    pub async fn finish_challenge(
        &self,
        id: &ChallengeId,
        status: ChallengeStatus,
        at: i64,
        decision: Option<&DecisionRecord>,
        webhook: Option<&OutboxMessage>,
    ) -> Result<bool, StoreError> {
        self.finish_challenge_audited(id, status, at, decision, webhook, None)
            .await
    }

    /// [`insert_challenge`](Self::insert_challenge) and, in the same transaction, appends
    /// `audit` (at the challenge's `created_at`): one commit for the two writes. First
    /// reads what [`challenge_gate`](Store::challenge_gate) reads (the refusals as
    /// `admit` asks) and, with `admit.max_pending`, counts the user's challenges pending
    /// and not overdue at the challenge's `created_at`; writes nothing unless
    /// [`Admit::admits`] them ([`Admission::Refused`], with what was read). The reads and
    /// the insert are one step: of two concurrent inserts for one user (through one relay
    /// or several), the second counts the first, and a challenge created while the
    /// binding leaves `active` is either refused or ended by that change (PostgreSQL
    /// locks the binding, `FOR UPDATE`, and reads its state after the lock).
    pub async fn insert_challenge_audited(
        &self,
        ch: &ChallengeRecord,
        idempotency: Option<(&str, &[u8; 32])>,
        audit: Option<&NewAudit>,
        admit: Admit,
    ) -> Result<Admission, StoreError> {
        // Owned: on SQLite the write may run in another caller's batch.
        let ch = ch.clone();
        let idempotency = idempotency.map(|(key, hash)| (key.to_owned(), *hash));
        let audit = audit.cloned();
        // One statement on PostgreSQL, one writer job on SQLite: no transaction to open.
        run!(self, Mode::Write, |c| insert(
            c,
            &ch,
            idempotency.as_ref(),
            audit.as_ref(),
            admit
        )
        .await)
        .await
    }

    /// The challenge and request hash stored under an idempotency key.
    pub async fn idempotent_challenge(
        &self,
        tenant: &TenantId,
        key: &str,
    ) -> Result<Option<(ChallengeId, Vec<u8>)>, StoreError> {
        self.optional(Mode::Read, stmt!(IDEMPOTENT, tenant.as_str(), key), |r| {
            let id = parse(&text(r, "challenge_id")?, "challenge id")?;
            Ok((id, bytes(r, "request_hash")?))
        })
        .await
    }

    /// One challenge.
    pub async fn challenge(&self, id: &ChallengeId) -> Result<ChallengeRecord, StoreError> {
        let read = stmt!(CHALLENGE, id.to_string());
        self.one(Mode::Read, read, decode::challenge).await
    }

    /// [`finish_challenge`](Self::finish_challenge) that also appends `audit` (at `at`) in
    /// the same transaction, only if this call ended the challenge. An end `approved`
    /// is made only if, in the same statement, the challenge's binding is still `active`
    /// and bound to the challenge's credential and the decision's signer. An end with a
    /// decision is made only if its signer is not revoked, read in the same statement.
    pub async fn finish_challenge_audited(
        &self,
        id: &ChallengeId,
        status: ChallengeStatus,
        at: i64,
        decision: Option<&DecisionRecord>,
        webhook: Option<&OutboxMessage>,
        audit: Option<&NewAudit>,
    ) -> Result<bool, StoreError> {
        let f = Finish {
            id: *id,
            status,
            at,
            decision: decision.map(to_json),
            signer: decision.map(|d| d.credential_id.as_str().to_owned()),
            webhook: webhook.cloned(),
            audit: audit.cloned(),
        };
        // One statement on PostgreSQL, one writer job on SQLite: no transaction to open.
        run!(self, Mode::Write, |c| finish(c, &f).await).await
    }

    /// Records that a channel reached the device.
    pub async fn mark_reached_device(&self, id: &ChallengeId) -> Result<(), StoreError> {
        self.execute(stmt!(REACHED, id.to_string())).await.map(drop)
    }

    /// Pending challenges sent to a credential, oldest first.
    pub async fn pending_for_credential(
        &self,
        id: &CredentialId,
    ) -> Result<Vec<ChallengeRecord>, StoreError> {
        let pending = stmt!(PENDING_FOR_CREDENTIAL, id.as_str());
        self.rows(Mode::Read, pending, decode::challenge).await
    }

    /// How many challenges of a user are pending and not yet overdue.
    pub async fn pending_count_for_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
        now: i64,
    ) -> Result<u32, StoreError> {
        let pending = stmt!(PENDING_COUNT, tenant.as_str(), user.as_str(), now);
        self.one(Mode::Read, pending, |r| count(r, "n")).await
    }

    /// Push fatigue: when the user's challenges ended `denied` or `expired` (unanswered)
    /// at or after `since` and after the user's latest approval, newest first, at most
    /// `limit` of them (one indexed query).
    pub async fn recent_refusals_for_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
        since: i64,
        limit: u32,
    ) -> Result<Vec<i64>, StoreError> {
        let read = stmt!(
            RECENT_REFUSALS,
            tenant.as_str(),
            user.as_str(),
            since,
            limit
        );
        self.rows(Mode::Read, read, |r| int(r, "decided_at")).await
    }

    /// Counts a wrong number typed for a pending challenge; answers the wrong numbers so
    /// far (0 if it is no longer pending).
    pub async fn record_number_miss(&self, id: &ChallengeId) -> Result<u32, StoreError> {
        let miss = stmt!(NUMBER_MISS, id.to_string());
        let misses = self.optional(Mode::Write, miss, |r| count(r, "number_misses"));
        Ok(misses.await?.unwrap_or(0))
    }

    /// Pending challenges whose deadline is at or before `now`, oldest deadline first.
    pub async fn overdue_challenges(
        &self,
        now: i64,
        limit: u32,
    ) -> Result<Vec<ChallengeRecord>, StoreError> {
        let overdue = stmt!(OVERDUE, now, limit);
        self.rows(Mode::Read, overdue, decode::challenge).await
    }
}
