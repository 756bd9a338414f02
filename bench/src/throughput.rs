//! `throughput`: full lifecycles with real HTTP, closed loop (`--concurrency` loops) or
//! open loop (`--rate`), and the report: lifecycles/s, leg percentiles, relay CPU per
//! lifecycle, peak RSS, errors by kind.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use onepush_protocol::ChallengeStatus;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::bank::Bank;
use crate::cli::ThroughputArgs;
use crate::fleet::{Device, Fleet};
use crate::http::Failure;
use crate::probe::{self, ProbeReport};
use crate::procstat::{self, Memory};
use crate::push::PushEndpoint;
use crate::stats::{ErrorCount, LegSummary, Samples, Stats, Timings};
use crate::target::{SpawnSettings, Target};

/// How long a device may take to learn of a challenge before the lifecycle fails.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// The bank's long-poll `wait`.
const LONG_POLL_SECONDS: u32 = 30;
/// Challenge TTL.
const TTL_SECONDS: u32 = 60;

/// What a run measured.
#[derive(Debug, Serialize)]
pub struct Report {
    /// `closed` (concurrency loops) or `open` (target rate).
    pub mode: &'static str,
    /// `events` or `push`.
    pub delivery: &'static str,
    /// The relay URL.
    pub relay: String,
    /// Tenants.
    pub tenants: usize,
    /// Devices.
    pub devices: usize,
    /// Loops (closed) or most in flight (open).
    pub concurrency: usize,
    /// Open loop: lifecycles started per second.
    pub target_rate: Option<f64>,
    /// The measured window, seconds.
    pub window_seconds: f64,
    /// Successful lifecycles started in the window.
    pub lifecycles: u64,
    /// Failed ones.
    pub failed: u64,
    /// Successful lifecycles per second.
    pub lifecycles_per_second: f64,
    /// Leg percentiles.
    pub legs: BTreeMap<&'static str, LegSummary>,
    /// Relay figures from /proc (when its process is known).
    pub relay_process: Option<RelayFigures>,
    /// This bench's own CPU per lifecycle, µs (it shares the machine with the relay).
    pub bench_cpu_us_per_lifecycle: f64,
    /// Failures by kind.
    pub errors: BTreeMap<String, ErrorCount>,
    /// `GET /healthz` round trips over the window (`--probe-rate`).
    pub probe: Option<ProbeReport>,
    /// 1-minute load average before and after.
    pub load_average: [f64; 2],
}

/// The relay's CPU and memory over the window.
#[derive(Debug, Serialize)]
pub struct RelayFigures {
    /// CPU seconds (user + system) in the window.
    pub cpu_seconds: f64,
    /// CPU per successful lifecycle, µs.
    pub cpu_us_per_lifecycle: f64,
    /// Memory at the end.
    pub memory: Memory,
}

struct Record {
    started: Instant,
    outcome: Result<Timings, Failure>,
}

/// Aborts a spawned task when dropped (a lifecycle that failed leaves no long-poll behind).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One lifecycle: create → the device learns of it (and fetches it unless the event
/// carried it) → signed approval → the bank's long-poll (started right after create)
/// answers `approved`.
pub(crate) async fn lifecycle(device: &Device, bank: &Bank) -> Result<Timings, Failure> {
    let t0 = Instant::now();
    let id = bank.create(&device.user_id, TTL_SECONDS).await?;
    let t1 = Instant::now();
    let poller = bank.clone();
    let poll = AbortOnDrop(tokio::spawn(async move {
        let answer = poller.wait(id, LONG_POLL_SECONDS).await;
        (answer, Instant::now())
    }));
    let arrival = device.inbox.wait(id, DELIVERY_TIMEOUT).await?;
    let delivered = arrival.at;
    let ch = match arrival.challenge {
        Some(ch) => *ch,
        None => device.fetch(id).await?,
    };
    let known = Instant::now();
    let t2 = device.approve(&ch).await?;
    let t3 = Instant::now();
    let mut poll = poll;
    let (answer, t4) = (&mut poll.0)
        .await
        .map_err(|e| Failure::new("longpoll-task", e.to_string()))?;
    let bank_view = answer?;
    if bank_view.status != ChallengeStatus::Approved {
        return Err(Failure::new(
            format!("longpoll-status-{}", bank_view.status),
            format!("the bank saw {} instead of approved", bank_view.status),
        ));
    }
    Ok(Timings([
        t1 - t0,
        delivered.saturating_duration_since(t0),
        known.saturating_duration_since(delivered),
        t3 - t2,
        t4.saturating_duration_since(t2),
        t4 - t0,
    ]))
}

/// Sets up the relay and the devices, runs, stops a spawned relay, and reports.
pub async fn run(args: &ThroughputArgs) -> anyhow::Result<Report> {
    let load_before = procstat::load_average();
    let settings = SpawnSettings {
        // The push-fatigue guard (5 per user) is policy, not load: lift it so a device
        // with several lifecycles in flight is never refused.
        max_pending_per_user: Some(1000),
    };
    let target = Target::open(&args.target, &settings).await?;
    let result = measure(args, &target, load_before).await;
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

async fn measure(
    args: &ThroughputArgs,
    target: &Target,
    load_before: f64,
) -> anyhow::Result<Report> {
    let mut samples = args.samples.as_deref().map(Samples::create).transpose()?;
    let push = if args.push {
        Some(PushEndpoint::start().await?)
    } else {
        None
    };
    let devices = args.devices.max(1);
    let fleet = Fleet::setup(target, devices, push.as_ref(), !args.push).await?;
    let fleet = Arc::new(fleet);

    let (tx, mut rx) = mpsc::unbounded_channel::<Record>();
    let started = Instant::now();
    let warm_end = started + args.warmup;
    let end = warm_end + args.duration;

    // The relay's CPU counter is read when the warm-up ends and after the last lifecycle.
    let pid = target.pid;
    let me = std::process::id();
    let cpu_at_warm_end = tokio::spawn(async move {
        tokio::time::sleep_until(warm_end.into()).await;
        (
            pid.and_then(|p| procstat::cpu_seconds(p).ok()),
            procstat::cpu_seconds(me).unwrap_or(0.0),
        )
    });

    let driver = tokio::spawn(drive(args.clone(), fleet.clone(), tx, end));
    let probe = args.probe_rate.map(|rate| {
        tokio::spawn(probe::run(
            crate::http::client(),
            target.url.clone(),
            rate,
            warm_end,
            end,
        ))
    });
    let mut stats = Stats::default();
    let mut last_done = warm_end;
    while let Some(record) = rx.recv().await {
        if record.started >= warm_end {
            if let (Some(samples), Ok(timings)) = (samples.as_mut(), record.outcome.as_ref()) {
                samples.write(record.started - warm_end, timings)?;
            }
            stats.record(record.outcome);
            last_done = Instant::now();
        }
    }
    driver.await?;
    let probe = match probe {
        Some(task) => Some(task.await?),
        None => None,
    };
    if let Some(samples) = samples {
        samples.finish()?;
    }
    let cpu_end = pid.and_then(|p| procstat::cpu_seconds(p).ok());
    let own_cpu_end = procstat::cpu_seconds(me).unwrap_or(0.0);
    let (cpu_start, own_cpu_start) = cpu_at_warm_end.await?;
    count_delivery_failures(&mut stats, push.as_ref(), &fleet);
    let window = last_done.saturating_duration_since(warm_end).as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let ok = stats.ok as f64;
    let relay_process = match (pid, cpu_start, cpu_end) {
        (Some(p), Some(a), Some(b)) => Some(RelayFigures {
            cpu_seconds: b - a,
            cpu_us_per_lifecycle: if ok > 0.0 { (b - a) * 1e6 / ok } else { 0.0 },
            memory: procstat::memory(p)?,
        }),
        _ => None,
    };
    Ok(Report {
        mode: if args.rate.is_some() {
            "open"
        } else {
            "closed"
        },
        delivery: if args.push { "push" } else { "events" },
        relay: target.url.clone(),
        tenants: target.api_keys.len(),
        devices,
        concurrency: args.concurrency,
        target_rate: args.rate,
        window_seconds: window,
        lifecycles: stats.ok,
        failed: stats.failed(),
        lifecycles_per_second: if window > 0.0 { ok / window } else { 0.0 },
        legs: stats.summary(),
        relay_process,
        bench_cpu_us_per_lifecycle: if ok > 0.0 {
            (own_cpu_end - own_cpu_start) * 1e6 / ok
        } else {
            0.0
        },
        errors: stats.errors.clone(),
        probe,
        load_average: [load_before, procstat::load_average()],
    })
}

/// Adds what went wrong with delivery outside any one lifecycle: push messages the
/// endpoint could not decrypt or place, event streams that ended during the run.
fn count_delivery_failures(stats: &mut Stats, push: Option<&PushEndpoint>, fleet: &Fleet) {
    if let Some(p) = push {
        let bad = p
            .registry
            .bad_messages
            .load(std::sync::atomic::Ordering::Relaxed);
        for _ in 0..bad {
            stats.error(Failure::new(
                "push-bad-message",
                "undecryptable or unknown device",
            ));
        }
    }
    for s in &fleet.streams {
        if s.is_finished() {
            stats.error(Failure::new(
                "events-ended",
                "an event stream ended during the run",
            ));
        }
    }
}

/// Starts lifecycles until `end`: `concurrency` loops, or at `rate` per second.
async fn drive(
    args: ThroughputArgs,
    fleet: Arc<Fleet>,
    tx: mpsc::UnboundedSender<Record>,
    end: Instant,
) {
    let concurrency = args.concurrency.max(1);
    let n = fleet.devices.len();
    match args.rate {
        None => {
            let mut loops = tokio::task::JoinSet::new();
            for w in 0..concurrency {
                let fleet = fleet.clone();
                let tx = tx.clone();
                loops.spawn(async move {
                    let device = fleet.devices[w % n].clone();
                    let bank = fleet.bank_of(&device).clone();
                    while Instant::now() < end {
                        let started = Instant::now();
                        let outcome = lifecycle(&device, &bank).await;
                        if tx.send(Record { started, outcome }).is_err() {
                            return;
                        }
                    }
                });
            }
            while loops.join_next().await.is_some() {}
        }
        Some(rate) => {
            let limit = Arc::new(tokio::sync::Semaphore::new(concurrency));
            let begin = Instant::now();
            let mut launched: u64 = 0;
            let mut tasks = tokio::task::JoinSet::new();
            let mut tick = tokio::time::interval(Duration::from_millis(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            while Instant::now() < end {
                tick.tick().await;
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let due = (begin.elapsed().as_secs_f64() * rate) as u64;
                while launched < due {
                    let Ok(permit) = limit.clone().acquire_owned().await else {
                        return;
                    };
                    #[allow(clippy::cast_possible_truncation)]
                    let device = fleet.devices[(launched % n as u64) as usize].clone();
                    launched += 1;
                    let bank = fleet.bank_of(&device).clone();
                    let tx = tx.clone();
                    tasks.spawn(async move {
                        let started = Instant::now();
                        let outcome = lifecycle(&device, &bank).await;
                        drop(permit);
                        let _ = tx.send(Record { started, outcome });
                    });
                }
                while tasks.try_join_next().is_some() {}
            }
            while tasks.join_next().await.is_some() {}
        }
    }
}

/// Prints the report as text.
pub fn print(report: &Report) {
    println!(
        "relay {}  mode {}  delivery {}  tenants {}  devices {}  concurrency {}{}",
        report.relay,
        report.mode,
        report.delivery,
        report.tenants,
        report.devices,
        report.concurrency,
        report
            .target_rate
            .map_or_else(String::new, |r| format!("  target rate {r}/s"))
    );
    println!(
        "lifecycles: {} ok, {} failed in {:.2} s → {:.0} lifecycles/s   (load average {:.2} → {:.2})",
        report.lifecycles,
        report.failed,
        report.window_seconds,
        report.lifecycles_per_second,
        report.load_average[0],
        report.load_average[1]
    );
    println!(
        "{:<18} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "leg (µs)", "mean", "p50", "p90", "p99", "max"
    );
    for leg in crate::stats::LEGS {
        let s = &report.legs[leg];
        println!(
            "{:<18} {:>9.0} {:>9} {:>9} {:>9} {:>9}",
            leg, s.mean_us, s.p50_us, s.p90_us, s.p99_us, s.max_us
        );
    }
    if let Some(p) = &report.probe {
        let s = &p.round_trip;
        println!(
            "{:<18} {:>9.0} {:>9} {:>9} {:>9} {:>9}   ({} /s, {} failed: the machine's floor)",
            "probe /healthz", s.mean_us, s.p50_us, s.p90_us, s.p99_us, s.max_us, p.rate, p.failed
        );
    }
    match &report.relay_process {
        Some(r) => println!(
            "relay CPU: {:.2} s in the window = {:.0} µs per lifecycle; RSS {} KiB, peak {} KiB",
            r.cpu_seconds, r.cpu_us_per_lifecycle, r.memory.rss_kib, r.memory.hwm_kib
        ),
        None => println!("relay CPU and memory: unknown (give --relay-pid)"),
    }
    println!(
        "bench CPU (this process): {:.0} µs per lifecycle",
        report.bench_cpu_us_per_lifecycle
    );
    if report.errors.is_empty() {
        println!("errors: none");
    } else {
        println!("errors:");
        for (kind, e) in &report.errors {
            println!("  {kind}: {}  (first: {})", e.count, e.example);
        }
    }
}
