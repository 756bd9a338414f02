//! The command line: `throughput`, `pending`, `smoke` and `audit-load`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// Drives a OnePush relay with real HTTP and reports throughput, latency, CPU and memory.
#[derive(Debug, Parser)]
#[command(name = "onepush-bench", version, about)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The benchmarks.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Full challenge lifecycles: create → device learns → signed decision → bank's long-poll.
    Throughput(ThroughputArgs),
    /// Holds N pending challenges, each with an open bank long-poll, and reports relay RSS.
    Pending(PendingArgs),
    /// A few seconds of lifecycles on a spawned relay (event stream, then Web Push); exits
    /// non-zero if any lifecycle failed. Asserts no timing.
    Smoke(SmokeArgs),
    /// Tenant B's lifecycles before and after tenant A gets `--rows` audit events (seeded
    /// into the database) while A's log is read in pages (`--spawn` only).
    AuditLoad(AuditLoadArgs),
}

/// Which relay to drive.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// A running relay's URL (its `public_url`), e.g. `http://127.0.0.1:8420`.
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "spawn",
        required_unless_present = "spawn"
    )]
    pub relay: Option<String>,
    /// Start `onepush-relay serve` on a temporary data folder and a free port, stop it after.
    #[arg(long)]
    pub spawn: bool,
    /// With `--spawn`: the database URL the spawned relay uses [default: SQLite in the temp folder].
    #[arg(long, value_name = "URL", requires = "spawn")]
    pub database: Option<String>,
    /// With `--spawn`: the relay binary [default: `onepush-relay` next to this binary].
    #[arg(long, value_name = "PATH")]
    pub relay_bin: Option<PathBuf>,
    /// With `--relay`: a tenant API key (repeat for several tenants).
    #[arg(
        long = "api-key",
        value_name = "KEY",
        env = "ONEPUSH_BENCH_API_KEYS",
        value_delimiter = ','
    )]
    pub api_keys: Vec<String>,
    /// With `--relay`: the relay's process ID, to read its CPU time and memory from /proc.
    #[arg(long, value_name = "PID")]
    pub relay_pid: Option<u32>,
    /// With `--spawn`: how many tenants to create.
    #[arg(long, default_value_t = 1)]
    pub tenants: usize,
}

/// `throughput`.
#[derive(Debug, Clone, Args)]
pub struct ThroughputArgs {
    /// The relay.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Emulated devices (each one credential enrolled for one user).
    #[arg(long, default_value_t = 16)]
    pub devices: usize,
    /// Lifecycles in flight at once (closed loop); with `--rate`, the most in flight.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// How long to measure, e.g. `10s`, `500ms`, `2m`.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Load before measuring (lifecycles started then are not counted).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Open loop: start this many lifecycles per second (instead of `--concurrency` loops).
    #[arg(long, value_name = "PER_SECOND")]
    pub rate: Option<f64>,
    /// Devices learn of challenges by Web Push to an endpoint this bench serves and
    /// decrypts, instead of the event stream.
    #[arg(long)]
    pub push: bool,
    /// Also write every measured lifecycle's leg times to this CSV file (one row each:
    /// when it started after the warm-up, then each leg in µs), to see when the slow ones
    /// happened: spread out, or together in one stall.
    #[arg(long, value_name = "FILE")]
    pub samples: Option<PathBuf>,
    /// Also send `GET /healthz` this many times a second over the measured window and
    /// report its round trip: the floor any request to the relay meets on this machine
    /// under the same load (see `probe.rs`).
    #[arg(long, value_name = "PER_SECOND", value_parser = parse_probe_rate)]
    pub probe_rate: Option<f64>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_probe_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate > 0.0 && rate <= 10_000.0 => Ok(rate),
        _ => Err(format!(
            "{text:?} is not a rate above 0 and up to 10000 per second"
        )),
    }
}

/// `pending`.
#[derive(Debug, Clone, Args)]
pub struct PendingArgs {
    /// The relay.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Pending challenges to create (TTL 600 s).
    #[arg(long)]
    pub count: usize,
    /// Of those, how many get an open long-poll [default: all, as far as file descriptors allow].
    #[arg(long)]
    pub long_polls: Option<usize>,
    /// Users (devices) the challenges are spread over [default: count / 100, 1–1000].
    #[arg(long)]
    pub devices: Option<usize>,
    /// Loopback source addresses (127.0.0.2, 127.0.0.3, …) the long-polls connect from;
    /// each gives about 28,000 ephemeral ports [default: enough for the long-polls].
    #[arg(long)]
    pub source_addrs: Option<u8>,
    /// Hold the long-polls as HTTP/2 streams without TLS (h2c, prior knowledge),
    /// multiplexed over `--connections` connections, instead of one HTTP/1.1 connection each.
    #[arg(long)]
    pub http2: bool,
    /// With `--http2`: connections the streams are spread over [default: enough for at
    /// most 200 streams each, the relay's (hyper's) limit of concurrent streams per connection].
    #[arg(long, requires = "http2")]
    pub connections: Option<usize>,
    /// How long to hold the long-polls open before reading the relay's memory.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub hold: Duration,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `smoke`.
#[derive(Debug, Clone, Args)]
pub struct SmokeArgs {
    /// The relay binary [default: `onepush-relay` next to this binary].
    #[arg(long, value_name = "PATH")]
    pub relay_bin: Option<PathBuf>,
    /// Length of each of the two runs (event stream, Web Push).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub duration: Duration,
}

/// `audit-load`.
#[derive(Debug, Clone, Args)]
pub struct AuditLoadArgs {
    /// The relay (`--spawn`, with `--database` for PostgreSQL); two tenants are created.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Audit events to seed for tenant A.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: u64,
    /// Tenant B's devices.
    #[arg(long, default_value_t = 8)]
    pub devices: usize,
    /// Tenant B's lifecycles in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Clients paging through A's audit log during the second run (odd ones by user).
    #[arg(long, default_value_t = 2)]
    pub readers: usize,
    /// Pages (of 1,000 events) each reader reads per second; 0 = as fast as the relay
    /// answers (a flood: what it costs the other tenant is then the relay's CPU for the
    /// pages, not the size of the log).
    #[arg(long, default_value_t = 0.0)]
    pub reader_pages_per_second: f64,
    /// How long each run measures.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Load before each run measures.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Parses `250ms`, `10s`, `2m` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or((text, "s"), |i| text.split_at(i));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 500ms, 10s or 2m"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" | "min" => value * 60.0,
        _ => return Err(format!("unknown unit {unit:?} in {text:?}: use ms, s or m")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_and_without_units() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("3h").is_err());
        assert!(parse_duration("x").is_err());
    }
}
