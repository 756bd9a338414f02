//! The relay under test: one already running (`--relay URL`), or the `onepush-relay`
//! binary started on a temporary data folder and a free port (`--spawn`).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::process::{Child, Command};

use crate::cli::TargetArgs;

/// Relay settings a spawned relay gets, on top of its defaults.
#[derive(Debug, Clone, Default)]
pub struct SpawnSettings {
    /// `max_pending_per_user` (the push-fatigue guard), when the bench needs more.
    pub max_pending_per_user: Option<u32>,
}

/// A relay to drive.
#[derive(Debug)]
pub struct Target {
    /// Its URL (also its `public_url`).
    pub url: String,
    /// One API key per tenant.
    pub api_keys: Vec<String>,
    /// Its process, when known (for /proc figures).
    pub pid: Option<u32>,
    /// A spawned relay's tenant slugs, in the order of `api_keys` (empty for `--relay`).
    pub tenant_ids: Vec<String>,
    /// A spawned relay's database URL (`None` for `--relay`).
    pub database_url: Option<String>,
    spawned: Option<Spawned>,
}

#[derive(Debug)]
struct Spawned {
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

fn relay_binary(explicit: Option<&PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path.clone());
    }
    let me = std::env::current_exe().context("cannot find this binary's path")?;
    let mut dir = me.parent().context("binary has no folder")?.to_owned();
    // `cargo bench`/`cargo test` binaries live one level down, in `deps/`.
    if dir.ends_with("deps") {
        dir.pop();
    }
    let candidate = dir.join("onepush-relay");
    if candidate.exists() {
        Ok(candidate)
    } else {
        bail!(
            "no relay binary at {}: build it (`cargo build --release -p onepush-relay`) or pass --relay-bin",
            candidate.display()
        )
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("no free port")?;
    Ok(listener.local_addr()?.port())
}

impl Target {
    /// Connects to `--relay` or spawns a relay for `--spawn`.
    pub async fn open(args: &TargetArgs, settings: &SpawnSettings) -> anyhow::Result<Self> {
        if let Some(url) = &args.relay {
            if args.api_keys.is_empty() {
                bail!("--relay needs at least one --api-key (or ONEPUSH_BENCH_API_KEYS)");
            }
            let target = Self {
                url: url.trim_end_matches('/').to_owned(),
                api_keys: args.api_keys.clone(),
                pid: args.relay_pid,
                tenant_ids: Vec::new(),
                database_url: None,
                spawned: None,
            };
            target.wait_healthy(Duration::from_secs(5)).await?;
            return Ok(target);
        }
        Self::spawn(args, settings).await
    }

    async fn spawn(args: &TargetArgs, settings: &SpawnSettings) -> anyhow::Result<Self> {
        let bin = relay_binary(args.relay_bin.as_ref())?;
        let dir = tempfile::Builder::new()
            .prefix("onepush-bench-")
            .tempdir()
            .context("cannot create a temporary data folder")?;
        let base = |cmd: &mut Command| {
            cmd.arg("--data-dir").arg(dir.path());
            if let Some(db) = &args.database {
                cmd.arg("--database").arg(db);
            }
            // A load generator from one address: the relay's abuse limits (issue 22) would
            // measure themselves, not the relay.
            cmd.env("ONEPUSH_LOG", "warn")
                .env("ONEPUSH_LIMITS__PROVISION_PER_MINUTE", "1000000")
                .env("ONEPUSH_HTTP__ADMIN_LISTEN", "127.0.0.1:0")
                .env("ONEPUSH_LIMITS__DEVICE_PER_ADDRESS_PER_MINUTE", "0")
                .env("ONEPUSH_LIMITS__DEVICE_PER_CREDENTIAL_PER_MINUTE", "0")
                .env("ONEPUSH_LIMITS__LONG_POLLS_PER_TENANT", "1000000")
                .env("ONEPUSH_LIMITS__EVENT_STREAMS_MAX", "1000000")
                .env("ONEPUSH_HTTP__CONNECTIONS_MAX", "1000000")
                // The bench's push endpoint is plain HTTP on loopback.
                .env("ONEPUSH_PUSH__WEBPUSH__ALLOW_INSECURE_ENDPOINTS", "true")
                .env("ONEPUSH_PUSH__WEBPUSH__ALLOW_PRIVATE_ENDPOINTS", "true");
            if let Some(n) = settings.max_pending_per_user {
                cmd.env("ONEPUSH_PUSH_FATIGUE__MAX_PENDING_PER_USER", n.to_string());
            }
        };
        // Tenant names are unique per run, so a shared PostgreSQL database can be reused.
        let run = uuid::Uuid::now_v7().simple().to_string();
        let mut api_keys = Vec::new();
        let mut tenant_ids = Vec::new();
        for i in 0..args.tenants.max(1) {
            let mut cmd = Command::new(&bin);
            base(&mut cmd);
            let name = format!("bench-{}-{i}", &run[run.len() - 8..]);
            cmd.args(["tenant", "add", &name, "--json"]);
            let out = cmd
                .output()
                .await
                .with_context(|| format!("cannot run {}", bin.display()))?;
            if !out.status.success() {
                bail!(
                    "`onepush-relay tenant add` failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            let v: serde_json::Value = serde_json::from_slice(&out.stdout)
                .context("`tenant add --json` printed no JSON")?;
            api_keys.push(
                v["api_key"]
                    .as_str()
                    .context("`tenant add --json` printed no api_key")?
                    .to_owned(),
            );
            tenant_ids.push(name);
        }
        let database_url =
            Some(args.database.clone().unwrap_or_else(|| {
                format!("sqlite://{}", dir.path().join("onepush.db").display())
            }));
        let port = free_port()?;
        let log = dir.path().join("relay.log");
        let log_file = std::fs::File::create(&log)?;
        let mut cmd = Command::new(&bin);
        base(&mut cmd);
        cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let pid = child.id();
        let target = Self {
            url: format!("http://127.0.0.1:{port}"),
            api_keys,
            pid,
            tenant_ids,
            database_url,
            spawned: Some(Spawned {
                child,
                log,
                _dir: dir,
            }),
        };
        if let Err(e) = target.wait_healthy(Duration::from_secs(20)).await {
            bail!("{e}\nrelay log:\n{}", target.log_tail());
        }
        Ok(target)
    }

    async fn wait_healthy(&self, within: Duration) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let started = Instant::now();
        let url = format!("{}/healthz", self.url);
        loop {
            match client.get(&url).send().await {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) => {
                    if started.elapsed() > within {
                        bail!("{url} answered {}", r.status());
                    }
                }
                Err(e) => {
                    if started.elapsed() > within {
                        bail!("relay not reachable at {url}: {e}");
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines of a spawned relay's log (empty otherwise).
    pub fn log_tail(&self) -> String {
        let Some(s) = &self.spawned else {
            return String::new();
        };
        let text = std::fs::read_to_string(&s.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Whether this bench started the relay.
    pub fn is_spawned(&self) -> bool {
        self.spawned.is_some()
    }

    /// Stops a spawned relay (SIGTERM, then SIGKILL after 10 s); nothing for `--relay`.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let Some(mut s) = self.spawned.take() else {
            return Ok(());
        };
        if let Some(pid) = s.child.id() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        if tokio::time::timeout(Duration::from_secs(10), s.child.wait())
            .await
            .is_err()
        {
            s.child.start_kill()?;
            s.child.wait().await?;
        }
        Ok(())
    }
}
