//! `onepush-bench`: drives a OnePush relay with real HTTP (bank calls, emulated devices
//! with signed proofs and decisions, event streams or Web Push) and reports throughput,
//! latency per leg, relay CPU per lifecycle and memory. See BENCHMARKS.md.

mod audit_load;
mod bank;
mod cli;
mod fleet;
mod http;
mod inbox;
mod pending;
mod probe;
mod procstat;
mod push;
mod stats;
mod target;
mod throughput;

use std::process::ExitCode;

use clap::Parser as _;

/// The same allocator as the relay (its devices allocate per request on several threads).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use crate::cli::{Cli, Command, SmokeArgs, TargetArgs, ThroughputArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Long-polls and event streams are one connection each: take every file descriptor
    // the hard limit allows (a spawned relay inherits it).
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("warning: cannot raise the open-files limit: {e}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("onepush-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Throughput(args) => {
            let report = throughput::run(&args).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                throughput::print(&report);
            }
            let probe_ok = report.probe.as_ref().is_none_or(|p| p.failed == 0);
            Ok(if report.failed == 0 && report.lifecycles > 0 && probe_ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Pending(args) => {
            let report = pending::run(&args).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                pending::print(&report);
            }
            Ok(if report.errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Smoke(args) => smoke(&args).await,
        Command::AuditLoad(args) => {
            let report = audit_load::run(&args).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                audit_load::print(&report);
            }
            let failed = report.before.failed + report.after.failed + report.audit_failures;
            Ok(if failed == 0 && report.after.lifecycles > 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// Two short runs on a spawned relay, event stream then Web Push; fails on any failed
/// lifecycle or none at all. Timings are printed, never asserted.
async fn smoke(args: &SmokeArgs) -> anyhow::Result<ExitCode> {
    let mut ok = true;
    let folder = tempfile::tempdir()?;
    for push in [false, true] {
        let samples = folder.path().join(format!("samples-{push}.csv"));
        let run = ThroughputArgs {
            target: TargetArgs {
                relay: None,
                spawn: true,
                database: None,
                relay_bin: args.relay_bin.clone(),
                api_keys: Vec::new(),
                relay_pid: None,
                tenants: 2,
            },
            devices: 4,
            concurrency: 8,
            duration: args.duration,
            warmup: std::time::Duration::ZERO,
            rate: None,
            push,
            samples: Some(samples.clone()),
            probe_rate: Some(50.0),
            json: false,
        };
        let report = throughput::run(&run).await?;
        throughput::print(&report);
        if let Some(probe) = &report.probe
            && (probe.failed > 0 || probe.round_trip.count == 0)
        {
            eprintln!(
                "smoke ({}): {} probes failed, {} answered",
                report.delivery, probe.failed, probe.round_trip.count
            );
            ok = false;
        }
        if report.failed > 0 || report.lifecycles == 0 {
            eprintln!(
                "smoke ({}): {} lifecycles failed, {} succeeded",
                report.delivery, report.failed, report.lifecycles
            );
            ok = false;
        }
        // A header, then one row per measured lifecycle.
        let rows = std::fs::read_to_string(&samples)?
            .lines()
            .count()
            .saturating_sub(1);
        if u64::try_from(rows).ok() != Some(report.lifecycles) {
            eprintln!(
                "smoke ({}): {rows} sample rows for {} lifecycles",
                report.delivery, report.lifecycles
            );
            ok = false;
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
