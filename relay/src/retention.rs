//! Retention (issue 22): background jobs that delete what is no longer needed, each
//! counted in `onepush_retention_deleted_total{what}`:
//!
//! | job (`what`) | deletes | after (setting) |
//! | --- | --- | --- |
//! | `challenges` | ended challenges | `retention.challenges_days` (90) |
//! | `audit` | audit events | `retention.audit_days` (400) |
//! | `outbox` | delivered and given-up webhook messages | `retention.outbox_days` (7) |
//! | `idempotency_keys` | idempotency keys | `retention.idempotency_hours` (24) |
//! | `jtis` | expired proof `jti`s | at expiry (the [`crate::expiry`] task, every tick) |
//!
//! Every relay runs the task; each job is claimed through its lease row
//! ([`Store::claim_retention`](crate::store::Store::claim_retention)) for
//! `retention.interval_seconds`, so one relay runs it per interval (on PostgreSQL the
//! claim is one conditional upsert: of relays claiming at once, one wins). Deletes go in
//! batches of `retention.batch` rows, one statement each: the SQLite writer is free
//! between them, and the task yields to other work.

use std::time::Duration;

use crate::service::Service;
use crate::shutdown::Shutdown;
use crate::store::StoreError;

/// How often the task tries to claim the jobs (a job runs once per interval anyway).
pub const TICK: Duration = Duration::from_secs(60);

/// A retention job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Ended challenges.
    Challenges,
    /// Audit events.
    Audit,
    /// Delivered and given-up webhook messages.
    Outbox,
    /// Idempotency keys.
    IdempotencyKeys,
}

impl Job {
    /// Every job, in the order a run takes them (keys before their challenges).
    pub const ALL: [Self; 4] = [
        Self::IdempotencyKeys,
        Self::Challenges,
        Self::Outbox,
        Self::Audit,
    ];

    /// The job's name: its lease row and its metric label.
    pub fn name(self) -> &'static str {
        match self {
            Self::Challenges => "challenges",
            Self::Audit => "audit",
            Self::Outbox => "outbox",
            Self::IdempotencyKeys => "idempotency_keys",
        }
    }

    /// How old (seconds) what the job deletes must be, per the settings; `None` = kept.
    pub fn period(self, settings: &crate::Settings) -> Option<i64> {
        let (amount, unit) = match self {
            Self::Challenges => (settings.retention.challenges_days, 86_400),
            Self::Audit => (settings.retention.audit_days, 86_400),
            Self::Outbox => (settings.retention.outbox_days, 86_400),
            Self::IdempotencyKeys => (settings.retention.idempotency_hours, 3600),
        };
        (amount > 0).then(|| i64::from(amount) * unit)
    }
}

/// Describes the retention and webhook-circuit metrics (HELP lines).
pub fn describe() {
    metrics::describe_counter!(
        "onepush_retention_deleted_total",
        "Rows deleted by the retention jobs, by what (challenges, audit, outbox, idempotency_keys, jtis)"
    );
    metrics::describe_counter!(
        "onepush_webhook_circuit_opened_total",
        "Times a tenant's webhook circuit opened (its endpoint kept failing)"
    );
}

/// Counts `n` rows deleted by retention as `what`.
pub fn deleted(what: &'static str, n: u64) {
    metrics::counter!("onepush_retention_deleted_total", "what" => what).increment(n);
}

/// Runs every job that `holder` (this relay) can claim now; answers the jobs it ran with
/// the rows each deleted.
pub async fn run_once(service: &Service, holder: &str) -> Result<Vec<(Job, u64)>, StoreError> {
    let settings = service.settings();
    let store = service.store();
    let mut ran = Vec::new();
    for job in Job::ALL {
        let Some(period) = job.period(settings) else {
            continue;
        };
        let now = service.now();
        let until = now + i64::from(settings.retention.interval_seconds);
        if !store
            .claim_retention(job.name(), holder, now, until)
            .await?
        {
            continue;
        }
        let before = now - period;
        let mut total = 0;
        loop {
            let batch = settings.retention.batch;
            let n = match job {
                Job::Challenges => store.delete_old_challenges(before, batch).await?,
                Job::Audit => store.delete_old_audit(before, batch).await?,
                Job::Outbox => store.delete_ended_webhooks(before, batch).await?,
                Job::IdempotencyKeys => store.delete_old_idempotency_keys(before, batch).await?,
            };
            deleted(job.name(), n);
            total += n;
            if n == 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
        if total > 0 {
            tracing::info!(job = job.name(), deleted = total, before, "retention");
        }
        ran.push((job, total));
    }
    Ok(ran)
}

/// Runs until `shutdown` resolves: tries the jobs at start and every [`TICK`].
pub async fn run(service: Service, shutdown: Shutdown) {
    let holder = format!(
        "relay-{}-{}",
        std::process::id(),
        crate::service::random_b64(6)
    );
    describe();
    tracing::debug!(%holder, "retention task started");
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.wait() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = run_once(&service, &holder).await {
            tracing::warn!(error = %e, "retention run failed; trying again in {TICK:?}");
        }
    }
}
