//! Latency histograms per leg (`HdrHistogram`, microseconds), error counts by kind, and
//! their summary for the report.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::http::Failure;

/// The legs of one lifecycle, in order.
pub const LEGS: [&str; 6] = [
    "create",
    "delivery",
    "details",
    "decision_post",
    "decision_to_bank",
    "lifecycle",
];

/// One successful lifecycle's leg times, in the order of [`LEGS`]:
/// create call; create sent → the device knows of the challenge; → the device has its
/// details (≈ 0 when the event carried them; the signed fetch after a Web Push);
/// the decision POST; decision POST sent → the bank's long-poll answered; the whole.
#[derive(Debug, Clone, Copy)]
pub struct Timings(pub [Duration; 6]);

/// Percentiles of one leg.
#[derive(Debug, Clone, Serialize)]
pub struct LegSummary {
    /// Samples.
    pub count: u64,
    /// Mean, µs.
    pub mean_us: f64,
    /// Median, µs.
    pub p50_us: u64,
    /// 90th percentile, µs.
    pub p90_us: u64,
    /// 99th percentile, µs.
    pub p99_us: u64,
    /// Largest, µs.
    pub max_us: u64,
}

/// One error kind: how many, and the first one's detail.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorCount {
    /// How many.
    pub count: u64,
    /// What the first said.
    pub example: String,
}

/// Everything recorded in the measured window.
#[derive(Debug)]
pub struct Stats {
    legs: Vec<Histogram<u64>>,
    /// Successful lifecycles.
    pub ok: u64,
    /// Failures by kind.
    pub errors: BTreeMap<String, ErrorCount>,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            legs: LEGS
                .iter()
                // 1 µs to 1 hour at 3 significant figures.
                .map(|_| Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"))
                .collect(),
            ok: 0,
            errors: BTreeMap::new(),
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Stats {
    /// Adds one lifecycle.
    pub fn record(&mut self, outcome: Result<Timings, Failure>) {
        match outcome {
            Ok(t) => {
                self.ok += 1;
                for (h, d) in self.legs.iter_mut().zip(t.0) {
                    h.saturating_record(micros(d));
                }
            }
            Err(f) => self.error(f),
        }
    }

    /// Adds one failure.
    pub fn error(&mut self, f: Failure) {
        self.errors
            .entry(f.kind)
            .and_modify(|e| e.count += 1)
            .or_insert(ErrorCount {
                count: 1,
                example: f.detail,
            });
    }

    /// Failed lifecycles (and other failures recorded).
    pub fn failed(&self) -> u64 {
        self.errors.values().map(|e| e.count).sum()
    }

    /// The percentiles of each leg.
    pub fn summary(&self) -> BTreeMap<&'static str, LegSummary> {
        LEGS.iter()
            .zip(&self.legs)
            .map(|(name, h)| {
                (
                    *name,
                    LegSummary {
                        count: h.len(),
                        mean_us: (h.mean() * 10.0).round() / 10.0,
                        p50_us: h.value_at_quantile(0.50),
                        p90_us: h.value_at_quantile(0.90),
                        p99_us: h.value_at_quantile(0.99),
                        max_us: h.max(),
                    },
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_errors_are_counted() {
        let mut stats = Stats::default();
        for ms in 1..=100 {
            stats.record(Ok(Timings([Duration::from_millis(ms); 6])));
        }
        stats.record(Err(Failure::new("create-transport", "refused")));
        stats.record(Err(Failure::new("create-transport", "again")));
        let s = stats.summary();
        assert_eq!(s["create"].count, 100);
        assert!((49_000..=51_000).contains(&s["create"].p50_us));
        assert!(s["lifecycle"].max_us >= 100_000);
        assert_eq!(stats.failed(), 2);
        assert_eq!(stats.errors["create-transport"].example, "refused");
    }
}
