//! Latency histograms per leg (`HdrHistogram`, microseconds), error counts by kind, and
//! their summary for the report.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;

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
/// the decision POST (from the moment the signed request is handed to the HTTP client:
/// signing is the phone's work); decision POST sent → the bank's long-poll answered;
/// the whole.
#[derive(Debug, Clone, Copy)]
pub struct Timings(pub [Duration; 6]);

/// Every measured lifecycle's leg times as CSV (`--samples`).
#[derive(Debug)]
pub struct Samples {
    path: PathBuf,
    out: BufWriter<File>,
}

impl Samples {
    /// Creates `path` and writes the header row.
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut samples = Self {
            path: path.to_owned(),
            out: BufWriter::new(file),
        };
        let header: Vec<String> = std::iter::once("started".to_owned())
            .chain(LEGS.iter().map(|leg| (*leg).to_owned()))
            .map(|name| format!("{name}_us"))
            .collect();
        samples.line(&header.join(","))?;
        Ok(samples)
    }

    /// One lifecycle that started `started` after the warm-up.
    pub fn write(&mut self, started: Duration, timings: &Timings) -> anyhow::Result<()> {
        let row: Vec<String> = std::iter::once(started)
            .chain(timings.0)
            .map(|d| micros(d).to_string())
            .collect();
        self.line(&row.join(","))
    }

    /// Writes out what is buffered.
    pub fn finish(mut self) -> anyhow::Result<()> {
        self.out
            .flush()
            .with_context(|| format!("cannot write {}", self.path.display()))
    }

    fn line(&mut self, text: &str) -> anyhow::Result<()> {
        writeln!(self.out, "{text}")
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

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
            legs: LEGS.iter().map(|_| histogram()).collect(),
            ok: 0,
            errors: BTreeMap::new(),
        }
    }
}

/// An empty latency histogram: 1 µs to 1 hour at 3 significant figures.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds")
}

/// `d` in whole microseconds.
pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The percentiles of one histogram.
pub fn summary_of(h: &Histogram<u64>) -> LegSummary {
    LegSummary {
        count: h.len(),
        mean_us: (h.mean() * 10.0).round() / 10.0,
        p50_us: h.value_at_quantile(0.50),
        p90_us: h.value_at_quantile(0.90),
        p99_us: h.value_at_quantile(0.99),
        max_us: h.max(),
    }
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
            .map(|(name, h)| (*name, summary_of(h)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_one_csv_row_per_lifecycle_under_a_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("samples.csv");
        let mut samples = Samples::create(&path).unwrap();
        let timings = Timings([1, 2, 3, 4, 5, 15].map(Duration::from_micros));
        samples.write(Duration::from_millis(7), &timings).unwrap();
        samples.finish().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "started_us,create_us,delivery_us,details_us,decision_post_us,decision_to_bank_us,lifecycle_us\n7000,1,2,3,4,5,15\n"
        );
    }

    #[test]
    fn stalls_py_finds_the_stall_in_a_samples_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("samples.csv");
        let mut samples = Samples::create(&path).unwrap();
        // 200 decisions 5 ms apart answered in 1 ms, but three in a row in 9 ms.
        for i in 0..200_u64 {
            let wait = if (100..103).contains(&i) {
                9_000
            } else {
                1_000
            };
            let legs = [100, 200, 0, 500, wait, 1_000 + wait].map(Duration::from_micros);
            samples
                .write(Duration::from_millis(5 * i), &Timings(legs))
                .unwrap();
        }
        samples.finish().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/stalls.py");
        let out = std::process::Command::new("python3")
            .arg(script)
            .arg(&path)
            .output()
            .expect("python3 runs");
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("p99 9000 us; of the slowest 1 % (3), 3 came in 1 stalls"),
            "{text}"
        );
    }

    #[test]
    fn samples_to_a_missing_folder_fail_with_the_path() {
        let e = Samples::create(Path::new("/nonexistent/dir/samples.csv")).unwrap_err();
        assert!(
            format!("{e:#}").contains("/nonexistent/dir/samples.csv"),
            "{e:#}"
        );
    }

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
