//! `throughput --probe-rate`: the machine's own floor under the run's load.
//!
//! A `GET /healthz` (no store, no cryptography: the least any request to the relay can
//! cost) sent at a steady rate over a keep-alive client of its own, from the same process
//! as the lifecycles, timed from the moment it is handed to the HTTP client until its
//! answer is read. The decision leg crosses the same processes as often (the bench
//! writes, the relay reads and answers, the bench reads and a task wakes), so its tail
//! cannot be shorter than the probe's: a latency target near the probe's p99 is a target
//! for the machine (its scheduler, its hypervisor), not for the relay's code.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::http::{self, Failure};
use crate::stats::{self, LegSummary};

/// What the probe measured over the window.
#[derive(Debug, Serialize)]
pub struct ProbeReport {
    /// Probes sent per second.
    pub rate: f64,
    /// Round trips of the probes that were answered 200.
    pub round_trip: LegSummary,
    /// Probes that failed (transport error or another status).
    pub failed: u64,
}

/// Sends `GET {relay}/healthz` `rate` times a second from `start` to `end` (each on its
/// own task, so a slow one does not hold back the next) and summarises the round trips.
pub async fn run(
    client: reqwest::Client,
    relay: String,
    rate: f64,
    start: Instant,
    end: Instant,
) -> ProbeReport {
    let url = format!("{relay}/healthz");
    let mut tick = tokio::time::interval_at(start.into(), Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut probes = tokio::task::JoinSet::new();
    while Instant::now() < end {
        tick.tick().await;
        let request = client.get(&url);
        probes.spawn(async move {
            let sent = Instant::now();
            let answer = http::send("probe", request).await?;
            let took = sent.elapsed();
            if answer.status == 200 {
                Ok(took)
            } else {
                Err(answer.unexpected("probe"))
            }
        });
    }
    summarise(rate, probes.join_all().await)
}

fn summarise(rate: f64, outcomes: Vec<Result<Duration, Failure>>) -> ProbeReport {
    let mut histogram = stats::histogram();
    let mut failed = 0;
    for outcome in outcomes {
        match outcome {
            Ok(took) => histogram.saturating_record(stats::micros(took)),
            Err(_) => failed += 1,
        }
    }
    ProbeReport {
        rate,
        round_trip: stats::summary_of(&histogram),
        failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_are_summarised_and_failures_counted_apart() {
        let mut outcomes: Vec<Result<Duration, Failure>> =
            (1..=100).map(|ms| Ok(Duration::from_millis(ms))).collect();
        outcomes.push(Err(Failure::new("probe-transport", "refused")));
        let report = summarise(200.0, outcomes);
        assert_eq!(report.round_trip.count, 100);
        assert_eq!(report.failed, 1);
        assert!((98_000..=100_000).contains(&report.round_trip.p99_us));
        assert!(report.round_trip.max_us >= 100_000);
    }
}
