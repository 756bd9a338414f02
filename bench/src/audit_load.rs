//! `audit-load` (issue 22, item 7): does a tenant with a huge audit log slow another
//! tenant's challenges? Spawns a relay with two tenants, measures tenant B's lifecycles,
//! seeds `--rows` audit events for tenant A straight into the database (1,000,000 by
//! default), then measures B's lifecycles again while `--readers` clients page through
//! A's log (`GET /v1/audit?limit=1000`, with and without `user_id`). Prints both runs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::cli::AuditLoadArgs;
use crate::fleet::Fleet;
use crate::stats::{LegSummary, Stats};
use crate::target::{SpawnSettings, Target};

/// Audit events written per transaction while seeding.
pub const SEED_BATCH: u64 = 10_000;
/// Users the seeded events are spread over (`audit-user-0` …).
pub const SEED_USERS: u64 = 1000;

/// What the two runs measured.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Audit events seeded for tenant A.
    pub rows: u64,
    /// Seconds the seeding took.
    pub seed_seconds: f64,
    /// Tenant B's lifecycles before the seeding.
    pub before: Run,
    /// Tenant B's lifecycles after it, with A's log being read.
    pub after: Run,
    /// Audit pages read from A's log during the second run.
    pub audit_pages: u64,
    /// Audit reads that failed.
    pub audit_failures: u64,
}

/// One measured run of tenant B's lifecycles.
#[derive(Debug, Serialize)]
pub struct Run {
    /// Successful lifecycles.
    pub lifecycles: u64,
    /// Failed ones.
    pub failed: u64,
    /// Leg percentiles.
    pub legs: BTreeMap<&'static str, LegSummary>,
}

/// Seeds `rows` audit events for `tenant` into the relay's database at `database_url`
/// (SQLite or PostgreSQL, already migrated by the relay), in transactions of
/// [`SEED_BATCH`], spread over [`SEED_USERS`] users, one second apart ending at `now`.
pub async fn seed(database_url: &str, tenant: &str, rows: u64, now: i64) -> anyhow::Result<()> {
    let count = i64::try_from(rows).context("too many rows")?;
    let batch = i64::try_from(SEED_BATCH).unwrap_or(i64::MAX);
    let users = i64::try_from(SEED_USERS).unwrap_or(1);
    let mut from = 0;
    if database_url.starts_with("sqlite:") {
        use sqlx::ConnectOptions as _;
        let mut conn = database_url
            .parse::<sqlx::sqlite::SqliteConnectOptions>()?
            .busy_timeout(Duration::from_secs(30))
            .connect()
            .await
            .context("cannot open the relay's SQLite database")?;
        while from < count {
            let n = batch.min(count - from);
            sqlx::query(
                "WITH RECURSIVE k(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM k WHERE i + 1 < ?1 + ?2) \
                 INSERT INTO audit_events (tenant_id, at, event, user_id, detail) \
                 SELECT ?3, ?4 - ?5 + i, 'otp.verified', 'audit-user-' || (i % ?6), '{\"seeded\":true}' FROM k",
            )
            .bind(from)
            .bind(n)
            .bind(tenant)
            .bind(now)
            .bind(count)
            .bind(users)
            .execute(&mut conn)
            .await
            .context("cannot seed audit events")?;
            from += n;
        }
    } else if database_url.starts_with("postgres") {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(database_url)
            .await
            .context("cannot connect to the relay's PostgreSQL database")?;
        while from < count {
            let n = batch.min(count - from);
            sqlx::query(
                "INSERT INTO audit_events (tenant_id, at, event, user_id, detail) \
                 SELECT $3, $4 - $5 + i, 'otp.verified', 'audit-user-' || (i % $6), '{\"seeded\":true}' \
                 FROM generate_series($1::BIGINT, $1::BIGINT + $2::BIGINT - 1) AS i",
            )
            .bind(from)
            .bind(n)
            .bind(tenant)
            .bind(now)
            .bind(count)
            .bind(users)
            .execute(&mut conn)
            .await
            .context("cannot seed audit events")?;
            from += n;
        }
    } else {
        bail!("cannot seed {database_url}: not sqlite:// or postgres://");
    }
    Ok(())
}

/// Runs both measurements on a spawned relay.
pub async fn run(args: &AuditLoadArgs) -> anyhow::Result<Report> {
    if !args.target.spawn {
        bail!("audit-load seeds the relay's database: use --spawn");
    }
    let mut target_args = args.target.clone();
    target_args.tenants = 2;
    let settings = SpawnSettings {
        max_pending_per_user: Some(1000),
    };
    let target = Target::open(&target_args, &settings).await?;
    let result = measure(args, &target).await;
    let tail = target.log_tail();
    target.stop().await?;
    result.map_err(|e| {
        if tail.is_empty() {
            e
        } else {
            e.context(format!("relay log:\n{tail}"))
        }
    })
}

async fn measure(args: &AuditLoadArgs, target: &Target) -> anyhow::Result<Report> {
    // Devices alternate between the tenants: B's are the odd ones.
    let fleet = Fleet::setup(target, args.devices.max(1) * 2, None, true).await?;
    let fleet = Arc::new(fleet);
    let before = lifecycles(args, &fleet).await;
    let database = target
        .database_url
        .clone()
        .context("the spawned relay's database is unknown")?;
    let started = Instant::now();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    seed(&database, &target.tenant_ids[0], args.rows, now).await?;
    let seed_seconds = started.elapsed().as_secs_f64();
    let pages = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut readers = tokio::task::JoinSet::new();
    for r in 0..args.readers {
        let bank = fleet.banks[0].clone();
        let (pages, failures, stop) = (pages.clone(), failures.clone(), stop.clone());
        let every = (args.reader_pages_per_second > 0.0)
            .then(|| Duration::from_secs_f64(1.0 / args.reader_pages_per_second));
        readers.spawn(async move {
            let mut since = 0;
            let user = (r % 2 == 1).then(|| format!("audit-user-{r}"));
            let mut tick = every.map(tokio::time::interval);
            loop {
                if let Some(tick) = tick.as_mut() {
                    tick.tick().await;
                }
                let read = bank.audit_page(user.as_deref(), since, 1000);
                let page = tokio::select! {
                    () = stop.notified() => return,
                    page = read => page,
                };
                match page {
                    Ok(Some(last)) => since = last,
                    Ok(None) => since = 0,
                    Err(_) => {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
                pages.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let after = lifecycles(args, &fleet).await;
    stop.notify_waiters();
    readers.abort_all();
    while readers.join_next().await.is_some() {}
    Ok(Report {
        rows: args.rows,
        seed_seconds,
        before,
        after,
        audit_pages: pages.load(Ordering::Relaxed),
        audit_failures: failures.load(Ordering::Relaxed),
    })
}

/// Tenant B's lifecycles: `--concurrency` loops for `--warmup` + `--duration`.
async fn lifecycles(args: &AuditLoadArgs, fleet: &Arc<Fleet>) -> Run {
    let devices: Vec<_> = fleet
        .devices
        .iter()
        .filter(|d| d.tenant == 1)
        .cloned()
        .collect();
    let warm_end = Instant::now() + args.warmup;
    let end = warm_end + args.duration;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut loops = tokio::task::JoinSet::new();
    for w in 0..args.concurrency.max(1) {
        let device = devices[w % devices.len()].clone();
        let bank = fleet.bank_of(&device).clone();
        let tx = tx.clone();
        loops.spawn(async move {
            while Instant::now() < end {
                let started = Instant::now();
                let outcome = crate::throughput::lifecycle(&device, &bank).await;
                if tx.send((started, outcome)).is_err() {
                    return;
                }
            }
        });
    }
    drop(tx);
    let mut stats = Stats::default();
    while let Some((started, outcome)) = rx.recv().await {
        if started >= warm_end {
            stats.record(outcome);
        }
    }
    while loops.join_next().await.is_some() {}
    Run {
        lifecycles: stats.ok,
        failed: stats.failed(),
        legs: stats.summary(),
    }
}

/// Prints the report as text.
pub fn print(report: &Report) {
    println!(
        "audit rows seeded for tenant A: {} in {:.1} s; A's log pages read during the second run: {} ({} failed)",
        report.rows, report.seed_seconds, report.audit_pages, report.audit_failures
    );
    for (name, run) in [
        ("before seeding", &report.before),
        ("after, A's log read", &report.after),
    ] {
        // The legs as `throughput` names them; a run with no lifecycle has none.
        let Some(total) = run.legs.get("lifecycle") else {
            println!(
                "tenant B {name:<20}: {} ok, {} failed",
                run.lifecycles, run.failed
            );
            continue;
        };
        println!(
            "tenant B {name:<20}: {} ok, {} failed; lifecycle µs p50 {} p90 {} p99 {} max {}",
            run.lifecycles, run.failed, total.p50_us, total.p90_us, total.p99_us, total.max_us
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn seeding_writes_the_rows_for_one_tenant_in_batches_readable_in_pages() {
        use onepush_relay::store::{self, StoreOptions};
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("seed.db").display());
        let backend = store::open(&url, &StoreOptions::default()).await.unwrap();
        let rows = SEED_BATCH + 1234;
        seed(&url, "tenant-a", rows, 1_770_000_000).await.unwrap();
        let store = backend;
        let tenant = "tenant-a".parse().unwrap();
        let mut read = 0;
        let mut since = 0;
        let mut last_at = 0;
        loop {
            let page = store.audit(&tenant, None, since, 1000).await.unwrap();
            let Some(last) = page.last() else { break };
            read += page.len();
            since = last.seq;
            last_at = last.at.unix_timestamp();
        }
        assert_eq!(u64::try_from(read).unwrap(), rows);
        assert_eq!(
            last_at,
            1_770_000_000 - 1,
            "one second apart, ending at now"
        );
        let user = "audit-user-7".parse().unwrap();
        let one = store.audit(&tenant, Some(&user), 0, 1000).await.unwrap();
        assert_eq!(u64::try_from(one.len()).unwrap(), rows / SEED_USERS + 1);
        let other = store
            .audit(&"tenant-b".parse().unwrap(), None, 0, 10)
            .await
            .unwrap();
        assert!(other.is_empty());
    }
}
