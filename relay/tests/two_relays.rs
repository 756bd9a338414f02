//! Two `onepush-relay serve` processes on one PostgreSQL database, as behind a load
//! balancer: both have the balancer's URL as `public_url` (the device signs its proofs
//! for it) and the tests call each at its own port. A decision posted to one wakes the
//! bank's long-poll on the other; a relay killed with SIGKILL leaves its pending
//! challenges to the other, which ends them and sends their webhooks.

use crate::common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::postgres::with_database;
use common::receiver::Receiver;
use common::{Bank, TestDevice};
use onepush_protocol::api::{BankChallenge, ChallengeCreated, UserBinding};
use onepush_protocol::{ChallengeStatus, DecisionVerdict};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// The load balancer's URL: both relays' `public_url`.
const PUBLIC_URL: &str = "http://onepush.lb.test";
const BIN: &str = env!("CARGO_BIN_EXE_onepush-relay");

/// What every relay process of one deployment shares besides the database.
struct Deployment {
    database_url: String,
    master_key: String,
}

impl Deployment {
    fn new(database_url: &str) -> Self {
        let mut key = [0u8; 32];
        onepush_protocol::keys::fill_random(&mut key);
        Self {
            database_url: database_url.to_owned(),
            master_key: onepush_protocol::b64::encode(key),
        }
    }

    fn command(&self, data_dir: &Path) -> Command {
        let mut command = Command::new(BIN);
        command
            .arg("--database")
            .arg(&self.database_url)
            .arg("--data-dir")
            .arg(data_dir)
            .env("ONEPUSH_MASTER_KEY", &self.master_key)
            .env("ONEPUSH_HTTP__PUBLIC_URL", PUBLIC_URL)
            .env("ONEPUSH_LOG", "warn")
            .env("ONEPUSH_HTTP__ADMIN_LISTEN", "127.0.0.1:0")
            .kill_on_drop(true);
        command
    }

    /// `tenant add test-bank` through the CLI; answers the API key.
    async fn add_tenant(&self, data_dir: &Path, webhook: Option<&str>) -> String {
        let mut command = self.command(data_dir);
        command.args(["tenant", "add", "test-bank", "--json"]);
        if let Some(url) = webhook {
            command.args(["--webhook", url]);
        }
        let out = command.output().await.unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let created: Value = serde_json::from_slice(&out.stdout).unwrap();
        created["api_key"].as_str().unwrap().to_owned()
    }

    /// `serve` on a free loopback port; returns once `/readyz` answers 200. The port is
    /// picked, let go, then bound by the relay, so another process may take it in
    /// between: a relay that exits before it is ready is started again on another port
    /// (twice at most); one that neither exits nor gets ready fails the test with its log.
    async fn serve(&self, data_dir: &Path) -> RelayProcess {
        let log = data_dir.join("relay.log");
        let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = self
                .command(data_dir)
                .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .unwrap();
            let url = format!("http://127.0.0.1:{port}");
            let started = Instant::now();
            loop {
                if let Ok(r) = reqwest::get(format!("{url}/readyz")).await
                    && r.status() == 200
                {
                    return RelayProcess { child, url };
                }
                if let Some(status) = child.try_wait().unwrap() {
                    eprintln!(
                        "relay exited before it was ready ({status}):\n{}",
                        log_text()
                    );
                    break;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "relay did not become ready in 30 s; its log:\n{}",
                    log_text()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        panic!(
            "relay exited three times before it was ready; its last log:\n{}",
            log_text()
        )
    }
}

struct RelayProcess {
    child: Child,
    url: String,
}

/// Two data folders with the same VAPID key (copied, as a deployment would), a tenant,
/// relays A and B serving, and a device enrolled as alice (provisioned through B).
struct Setup {
    a: RelayProcess,
    b: RelayProcess,
    bank_a: Bank,
    bank_b: Bank,
    /// The device talking to B.
    device: TestDevice,
    _dirs: [tempfile::TempDir; 2],
}

async fn setup(url: &str, webhook: Option<&str>) -> Setup {
    let deployment = Deployment::new(url);
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let api_key = deployment.add_tenant(dirs[0].path(), webhook).await;
    let vapid = onepush_relay::keys::VAPID_FILE;
    std::fs::copy(dirs[0].path().join(vapid), dirs[1].path().join(vapid)).unwrap();
    // One after the other: `serve` picks a free port and lets it go before the relay
    // binds it, so two started at once could be handed the same port (and the second
    // relay would exit while the first answered for both).
    let a = deployment.serve(dirs[0].path()).await;
    let b = deployment.serve(dirs[1].path()).await;
    let (bank_a, bank_b) = (Bank::new(&a.url, &api_key), Bank::new(&b.url, &api_key));
    let mut device = TestDevice::new(&b.url).behind(PUBLIC_URL);
    device.provision(None).await.json::<Value>(201);
    bank_a
        .enroll("alice", &device)
        .await
        .json::<UserBinding>(201);
    Setup {
        a,
        b,
        bank_a,
        bank_b,
        device,
        _dirs: dirs,
    }
}

/// A device's `GET /v1/device/events`, read one event at a time.
struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    async fn open(device: &TestDevice) -> Self {
        let response = device.open_events().await;
        assert_eq!(response.status(), 200);
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event's name and data (keep-alive comments skipped).
    async fn next(&mut self) -> (String, Value) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
                };
                if let (Some(event), Some(data)) = (field("event:"), field("data:")) {
                    return (event, serde_json::from_str(&data).unwrap());
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .expect("an event in time")
                .unwrap()
                .expect("the stream is open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

async fn create(bank: &Bank, ttl_seconds: u32) -> String {
    bank.login("alice", json!({ "ttl_seconds": ttl_seconds }))
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string()
}

#[tokio::test]
async fn a_decision_posted_to_relay_b_wakes_the_long_poll_on_relay_a() {
    with_database(|url| async move {
        let s = setup(&url, None).await;
        let mut events = EventStream::open(&s.device).await;
        let created = Instant::now();
        let id = create(&s.bank_a, 60).await;
        // The new challenge, created on A, reaches the device's stream on B.
        let (event, data) = events.next().await;
        assert_eq!(
            (event.as_str(), data["id"].as_str()),
            ("challenge", Some(id.as_str()))
        );
        // Relay B read the details from the shared store (the change came by NOTIFY).
        assert_eq!(data["challenge"]["id"].as_str(), Some(id.as_str()));
        assert_eq!(data["challenge"]["status"], "pending");
        assert!(
            data["challenge"]["nonce"]
                .as_str()
                .is_some_and(|n| !n.is_empty())
        );
        eprintln!(
            "challenge created on A reached B's event stream in {:?}",
            created.elapsed()
        );

        let bank = s.bank_a.clone();
        let path = format!("/v1/challenges/{id}?wait=30");
        let poll = tokio::spawn(async move {
            let answer = bank.get(&path).await;
            (answer, Instant::now())
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !poll.is_finished(),
            "the long-poll waits while the challenge is pending"
        );
        let decided = Instant::now();
        s.device
            .answer(&id, DecisionVerdict::Approve, None)
            .await
            .json::<Value>(200);
        let (answer, returned) = poll.await.unwrap();
        let wake_up = returned.duration_since(decided);
        let outcome: BankChallenge = answer.json(200);
        assert_eq!(outcome.status, ChallengeStatus::Approved);
        assert!(outcome.decision.is_some());
        eprintln!("long-poll on A returned {wake_up:?} after the decision was posted to B");
        assert!(wake_up < Duration::from_secs(5), "took {wake_up:?}");
        let (event, data) = events.next().await;
        assert_eq!(
            (event.as_str(), data["status"].as_str()),
            ("status", Some("approved"))
        );
    })
    .await;
}

#[tokio::test]
async fn a_killed_relay_leaves_its_pending_challenges_to_the_other_with_their_webhooks() {
    with_database(|url| async move {
        let hook = Receiver::start(200).await;
        let mut s = setup(&url, Some(&hook.url)).await;
        let decided = create(&s.bank_a, 10).await;
        let seen = create(&s.bank_a, 10).await;
        let unseen = create(&s.bank_a, 10).await;
        s.device
            .answer(&decided, DecisionVerdict::Approve, None)
            .await
            .json::<Value>(200);
        s.device.challenge(&seen).await; // fetched: it reached the phone
        hook.wait_for(1).await;

        s.a.child.start_kill().unwrap(); // SIGKILL
        s.a.child.wait().await.unwrap();

        // B's expiry task ends what A left pending (the long-poll wakes when it does).
        let path = |id: &str| format!("/v1/challenges/{id}?wait=20");
        let seen_end: BankChallenge = s.bank_b.get(&path(&seen)).await.json(200);
        let unseen_end: BankChallenge = s.bank_b.get(&path(&unseen)).await.json(200);
        assert_eq!(seen_end.status, ChallengeStatus::Expired);
        assert_eq!(unseen_end.status, ChallengeStatus::Undeliverable);
        // Nothing decided was lost.
        let kept: BankChallenge = s.bank_b.get(&path(&decided)).await.json(200);
        assert_eq!(kept.status, ChallengeStatus::Approved);
        assert!(kept.decision.is_some());

        // Every end reached the bank's webhook, each under its own stable webhook-id.
        let mut by_id = std::collections::BTreeMap::new();
        for request in hook.wait_for(3).await {
            let id = request.headers["webhook-id"].to_str().unwrap().to_owned();
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            assert_eq!(body["id"].as_str(), Some(id.as_str()));
            by_id.insert(id, body["data"]["status"].as_str().unwrap().to_owned());
        }
        let expected: std::collections::BTreeMap<_, _> = [
            (format!("msg_{decided}"), "approved".to_owned()),
            (format!("msg_{seen}"), "expired".to_owned()),
            (format!("msg_{unseen}"), "undeliverable".to_owned()),
        ]
        .into();
        assert_eq!(by_id, expected);
        drop(s.b);
    })
    .await;
}

#[tokio::test]
async fn concurrent_decisions_through_two_relay_processes_have_one_winner() {
    with_database(|url| async move {
        let s = setup(&url, None).await;
        let on_a = s.device.through(&s.a.url);
        let id = create(&s.bank_b, 60).await;
        let ch = s.device.challenge(&id).await;
        let (approve, deny) = (
            on_a.claims(&ch, DecisionVerdict::Approve),
            s.device.claims(&ch, DecisionVerdict::Deny),
        );
        let (via_a, via_b) = tokio::join!(
            on_a.post_decision(&id, &approve),
            s.device.post_decision(&id, &deny)
        );
        let mut statuses = [via_a.status, via_b.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409]);
        let loser = if via_a.status == 409 { via_a } else { via_b };
        let problem = loser.problem(409, "challenge-decided");
        let outcome: BankChallenge = s
            .bank_a
            .get(&format!("/v1/challenges/{id}"))
            .await
            .json(200);
        assert_eq!(problem.challenge_status, Some(outcome.status));
        eprintln!("loser's answer: {}", problem.detail);
    })
    .await;
}
