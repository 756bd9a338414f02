//! The real `onepush-relay` binary as a process on a SQLite data folder (built once per
//! test binary, as `cli::device_bin` builds the device), so a test can SIGKILL it and
//! start it again on the same folder; and a webhook receiver that records every delivery.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use tokio::process::{Child, Command};

/// The path of the built `onepush-relay` binary (building it on first use).
pub fn relay_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| super::cli::build_bin("onepush-relay"))
}

/// The relay's `ONEPUSH_*` settings are cleared so the caller's environment cannot leak in.
fn command(data_dir: &Path, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(relay_bin());
    for (name, _) in std::env::vars() {
        if name.starts_with("ONEPUSH_") {
            command.env_remove(name);
        }
    }
    command
        .arg("--data-dir")
        .arg(data_dir)
        .env("ONEPUSH_LOG", "warn")
        // Operations listener on a free port: relays started side by side do not race for 8421.
        .env("ONEPUSH_HTTP__ADMIN_LISTEN", "127.0.0.1:0")
        .envs(env.iter().copied())
        .kill_on_drop(true);
    command
}

/// A tenant made with `onepush-relay tenant add`.
pub struct Tenant {
    pub api_key: String,
    pub webhook_secret: Option<String>,
}

/// `tenant add test-bank` through the CLI (creating the data folder and its keys), with
/// the push-fatigue lockout off: these tests deny on purpose and count every webhook.
pub async fn add_tenant(data_dir: &Path, webhook: Option<&str>) -> Tenant {
    let mut add = command(data_dir, &[]);
    add.args([
        "tenant",
        "add",
        "test-bank",
        "--display-name",
        "Test Bank",
        "--push-fatigue-threshold",
        "0",
        "--json",
    ]);
    if let Some(url) = webhook {
        add.args(["--webhook", url]);
    }
    let out = add.output().await.expect("onepush-relay runs");
    assert!(
        out.status.success(),
        "tenant add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    Tenant {
        api_key: created["api_key"].as_str().expect("api_key").to_owned(),
        webhook_secret: created["webhook_secret"].as_str().map(str::to_owned),
    }
}

/// `onepush-relay serve` on a loopback port.
pub struct RelayProcess {
    child: Child,
    /// `http://127.0.0.1:<port>` (also its `public_url`).
    pub url: String,
    pub addr: SocketAddr,
}

impl RelayProcess {
    /// Serves `data_dir` on `addr` (a free port when `None`) with extra `ONEPUSH_*`
    /// settings; returns once `/readyz` answers 200. Its log is `data_dir/relay-N.log`.
    pub async fn serve(data_dir: &Path, addr: Option<SocketAddr>, env: &[(&str, &str)]) -> Self {
        let addr = addr.unwrap_or_else(|| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
        });
        let log = (0..1000)
            .map(|n| data_dir.join(format!("relay-{n}.log")))
            .find(|p| !p.exists())
            .expect("a log name");
        let url = format!("http://{addr}");
        let child = command(data_dir, env)
            .args(["serve", "--listen", &addr.to_string()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("onepush-relay serve starts");
        let mut relay = Self { child, url, addr };
        let started = Instant::now();
        loop {
            if let Ok(r) = reqwest::get(format!("{}/readyz", relay.url)).await
                && r.status() == 200
            {
                return relay;
            }
            if let Ok(Some(status)) = relay.child.try_wait() {
                panic!(
                    "the relay exited ({status}): {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "relay did not become ready; see {}",
                log.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL, and waits for the process to be gone.
    pub async fn kill(mut self) {
        self.child.start_kill().expect("SIGKILL");
        let status = self.child.wait().await.expect("wait");
        assert!(!status.success(), "killed, not exited: {status}");
    }
}

/// One webhook delivery as the bank received it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Delivery {
    /// A header as text ("" when missing).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

/// The bank's webhook endpoint: records every delivery and answers 204, or, when
/// `fail_first`, 503 to the first delivery of each `webhook-id` (so every message is
/// delivered at least twice).
#[derive(Clone)]
pub struct WebhookReceiver {
    pub url: String,
    received: Arc<Mutex<Vec<Delivery>>>,
}

impl WebhookReceiver {
    pub async fn start(fail_first: bool) -> Self {
        let received = Arc::new(Mutex::new(Vec::<Delivery>::new()));
        let log = received.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                let delivery = Delivery {
                    headers,
                    body: body.to_vec(),
                };
                let mut log = log.lock().expect("lock");
                let id = delivery.header("webhook-id");
                let seen = log.iter().any(|d| d.header("webhook-id") == id);
                log.push(delivery);
                if fail_first && !seen {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!(
            "http://{}/hooks/onepush",
            listener.local_addr().expect("address")
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, received }
    }

    /// Every delivery so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.received.lock().expect("lock").clone()
    }
}
