//! Maintenance at run time (R18, issue 24 item 3): an operator suspends one-push through
//! the operations listener or the CLI, for every bank or for one; new challenges get 503
//! `maintenance` with `Retry-After` and the announcement while devices, decisions and
//! OTP keep working; `until` ends it by itself; every change is audited; a second relay
//! on the same PostgreSQL database follows within its poll.

use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::postgres::with_database;
use common::{Answer, Bank, TestDevice};
use onepush_protocol::api::{
    AuditEvent, BankChallenge, ChallengeCreated, MaintenanceOverview, MaintenanceScope,
    MaintenanceStatus, UserBinding,
};
use onepush_protocol::{ChallengeStatus, DecisionVerdict};
use onepush_relay::Parts;
use onepush_relay::clock::{Clock as _, ManualClock};
use onepush_relay::settings::{Secret, Settings};
use onepush_relay::testing::{TestRelay, spawn_relay_with, test_settings};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

const BIN: &str = env!("CARGO_BIN_EXE_onepush-relay");
const MESSAGE: &str =
    "システム障害のためワンプッシュ認証を一時停止しています / one-push is suspended";

/// A call to the operations listener (no credentials: reaching it is the operator's).
async fn admin(
    relay: &TestRelay,
    method: reqwest::Method,
    path: &str,
    body: Option<&str>,
) -> Answer {
    let mut req = reqwest::Client::new().request(method, format!("{}{path}", relay.admin_url));
    if let Some(body) = body {
        req = req
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    Answer::read(req.send().await.expect("request")).await
}

async fn put(relay: &TestRelay, path: &str, body: &Value) -> Answer {
    admin(relay, reqwest::Method::PUT, path, Some(&body.to_string())).await
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .unwrap()
        .format(&Rfc3339)
        .unwrap()
}

/// A relay on SQLite (or `database_url`) with its clock, and alice enrolled.
async fn enrolled(dir: &std::path::Path, clock: &ManualClock) -> (TestRelay, Bank, TestDevice) {
    let parts = Parts {
        clock: Some(Arc::new(clock.clone())),
        ..Parts::default()
    };
    let relay = spawn_relay_with(test_settings(dir), parts, true).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let c = clock.clone();
    let mut device = TestDevice::with_clock(&relay.url, Arc::new(move || c.now_unix()));
    device.provision(None).await;
    bank.enroll("alice", &device).await.json::<UserBinding>(201);
    (relay, bank, device)
}

/// The audit events `event` of the whole relay (`tenant_id IS NULL`), their details.
async fn relay_audit(database_url: &str, event: &str) -> Vec<Value> {
    // `event` is one of this file's constants.
    let sql = format!(
        "SELECT detail FROM audit_events WHERE tenant_id IS NULL AND event = '{event}' ORDER BY seq"
    );
    let details: Vec<String> = if database_url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(database_url).await.unwrap();
        let rows = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        rows
    } else {
        let pool = sqlx::PgPool::connect(database_url).await.unwrap();
        let rows = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        rows
    };
    details
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}", dir.join("onepush.db").display())
}

/// Polls `check` (bounded by a generous deadline, so a broken poll fails the test rather
/// than hanging it; the speed itself is not asserted).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `bank`'s relay announces maintenance (`on`) or its end on
/// `GET /v1/maintenance`: the relay's state in memory, read without side effects.
async fn until_announced(what: &str, bank: &Bank, on: bool) {
    eventually(what, || {
        let bank = bank.clone();
        async move {
            bank.get("/v1/maintenance")
                .await
                .json::<MaintenanceStatus>(200)
                .on
                == on
        }
    })
    .await;
}

#[tokio::test]
async fn maintenance_refuses_new_challenges_with_the_message_while_devices_and_otp_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let (relay, bank, device) = enrolled(dir.path(), &clock).await;
    let before: ChallengeCreated = bank.login("alice", json!({})).await.json(201);

    let until = clock.now_unix() + 600;
    let on: MaintenanceStatus = put(
        &relay,
        "/maintenance",
        &json!({ "message": MESSAGE, "until": rfc3339(until) }),
    )
    .await
    .json(200);
    assert!(on.on);
    assert_eq!(on.scope, Some(MaintenanceScope::Relay));
    assert_eq!(on.retry_after_seconds, Some(600));

    // A new challenge: 503 with Retry-After up to `until`, the message in the detail and
    // in a field the bank reads.
    let refused = bank.login("alice", json!({})).await;
    let problem = refused.problem(503, "maintenance");
    assert_eq!(refused.headers.get("retry-after").unwrap(), "600");
    assert!(problem.detail.contains(MESSAGE), "{}", problem.detail);
    let notice = problem.maintenance.expect("the maintenance field");
    assert_eq!(notice.message.as_deref(), Some(MESSAGE));
    assert_eq!(
        notice.until.map(time::OffsetDateTime::unix_timestamp),
        Some(until)
    );
    // The bank's read, before its customers try.
    let read: MaintenanceStatus = bank.get("/v1/maintenance").await.json(200);
    assert_eq!(read, notice);

    // The challenge made before still gets its answer, and OTP still works.
    let answered = device
        .answer(&before.id.to_string(), DecisionVerdict::Approve, None)
        .await;
    assert_eq!(
        answered.status,
        200,
        "{}",
        String::from_utf8_lossy(&answered.body)
    );
    let decided: BankChallenge = bank
        .get(&format!("/v1/challenges/{}", before.id))
        .await
        .json(200);
    assert_eq!(decided.status, ChallengeStatus::Approved);
    clock.advance(60);
    bank.post(
        "/v1/users/alice/otp/verify",
        &json!({ "code": device.code_at_offset(0) }),
    )
    .await
    .json::<Value>(200);

    // Off: challenges again, and both changes in the relay-wide audit.
    let off = admin(&relay, reqwest::Method::DELETE, "/maintenance", None).await;
    assert_eq!(off.status, 204);
    bank.login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201);
    let read: MaintenanceStatus = bank.get("/v1/maintenance").await.json(200);
    assert!(!read.on);
    let url = sqlite_url(dir.path());
    let ons = relay_audit(&url, "maintenance.on").await;
    assert_eq!(ons.len(), 1, "{ons:?}");
    assert_eq!(ons[0]["message"], MESSAGE);
    assert_eq!(ons[0]["until"], rfc3339(until));
    assert_eq!(ons[0]["by"], "admin_route");
    let offs = relay_audit(&url, "maintenance.off").await;
    assert_eq!(offs.len(), 1, "{offs:?}");
    // Not in the bank's own log: the relay-wide switch is the operator's.
    let log: Vec<AuditEvent> = bank.get("/v1/audit").await.json(200);
    assert!(log.iter().all(|e| !e.event.starts_with("maintenance.")));
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_banks_own_maintenance_leaves_other_banks_alone_and_is_in_its_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let (relay, bank, _device) = enrolled(dir.path(), &clock).await;
    let other = relay
        .relay
        .add_tenant("other-bank", "Other", None)
        .await
        .unwrap();
    let other = Bank::new(&relay.url, &other.api_key);

    // No body: on, with no message and no end (Retry-After from the setting).
    let on = admin(&relay, reqwest::Method::PUT, "/maintenance/test-bank", None).await;
    let on: MaintenanceStatus = on.json(200);
    assert_eq!(on.scope, Some(MaintenanceScope::Tenant));
    let refused = bank.login("alice", json!({})).await;
    refused.problem(503, "maintenance");
    assert_eq!(refused.headers.get("retry-after").unwrap(), "300");
    // The other bank is not suspended (its alice is simply not enrolled).
    other
        .login("alice", json!({}))
        .await
        .problem(404, "user-not-enrolled");
    assert!(
        !other
            .get("/v1/maintenance")
            .await
            .json::<MaintenanceStatus>(200)
            .on
    );

    let overview: MaintenanceOverview = admin(&relay, reqwest::Method::GET, "/maintenance", None)
        .await
        .json(200);
    assert!(!overview.relay.on);
    assert_eq!(overview.tenants.len(), 1);
    assert_eq!(overview.tenants[0].tenant_id.as_str(), "test-bank");
    let own: MaintenanceStatus = admin(
        &relay,
        reqwest::Method::GET,
        "/maintenance/other-bank",
        None,
    )
    .await
    .json(200);
    assert!(!own.on);

    // A relay-wide suspension with an end and the bank's own without: the longer one
    // (the bank's, no end) answers.
    put(
        &relay,
        "/maintenance",
        &json!({ "message": "relay", "until": rfc3339(clock.now_unix() + 60) }),
    )
    .await
    .json::<MaintenanceStatus>(200);
    let read: MaintenanceStatus = bank.get("/v1/maintenance").await.json(200);
    assert_eq!(read.scope, Some(MaintenanceScope::Tenant));
    let read: MaintenanceStatus = other.get("/v1/maintenance").await.json(200);
    assert_eq!(read.message.as_deref(), Some("relay"));
    admin(&relay, reqwest::Method::DELETE, "/maintenance", None).await;

    let off = admin(
        &relay,
        reqwest::Method::DELETE,
        "/maintenance/test-bank",
        None,
    )
    .await;
    assert_eq!(off.status, 204);
    bank.login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201);
    let log: Vec<AuditEvent> = bank.get("/v1/audit").await.json(200);
    let events: Vec<&str> = log
        .iter()
        .map(|e| e.event.as_str())
        .filter(|e| e.starts_with("maintenance."))
        .collect();
    assert_eq!(events, ["maintenance.on", "maintenance.off"]);
    let log: Vec<AuditEvent> = other.get("/v1/audit").await.json(200);
    assert!(log.iter().all(|e| !e.event.starts_with("maintenance.")));
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn until_ends_maintenance_by_itself_and_the_end_is_audited_once() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let (relay, bank, _device) = enrolled(dir.path(), &clock).await;
    put(
        &relay,
        "/maintenance",
        &json!({ "until": rfc3339(clock.now_unix() + 30) }),
    )
    .await
    .json::<MaintenanceStatus>(200);
    let refused = bank.login("alice", json!({})).await;
    refused.problem(503, "maintenance");
    assert_eq!(refused.headers.get("retry-after").unwrap(), "30");
    clock.advance(10);
    let refused = bank.login("alice", json!({})).await;
    assert_eq!(refused.headers.get("retry-after").unwrap(), "20");

    clock.advance(20);
    // Past `until`: in force no more, at once (no poll needed).
    bank.login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201);
    assert!(
        !bank
            .get("/v1/maintenance")
            .await
            .json::<MaintenanceStatus>(200)
            .on
    );
    // The poll deletes the row and audits the end, once.
    let url = sqlite_url(dir.path());
    eventually("the end by `until` is audited", || {
        let url = url.clone();
        async move { !relay_audit(&url, "maintenance.off").await.is_empty() }
    })
    .await;
    let offs = relay_audit(&url, "maintenance.off").await;
    assert_eq!(offs.len(), 1, "{offs:?}");
    assert_eq!(offs[0]["by"], "until");
    let overview: MaintenanceOverview = admin(&relay, reqwest::Method::GET, "/maintenance", None)
        .await
        .json(200);
    assert!(!overview.relay.on && overview.tenants.is_empty());
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_input_to_the_operator_routes_is_a_problem_and_banks_cannot_switch() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let (relay, bank, _device) = enrolled(dir.path(), &clock).await;
    let past = rfc3339(clock.now_unix() - 1);
    let cases: [(&str, String, u16, &str, &str); 6] = [
        (
            "/maintenance",
            json!({ "until": past }).to_string(),
            400,
            "invalid-request",
            "future",
        ),
        (
            "/maintenance",
            json!({ "until": "tomorrow" }).to_string(),
            400,
            "invalid-request",
            "invalid JSON body",
        ),
        (
            "/maintenance",
            json!({ "mesage": "typo" }).to_string(),
            400,
            "invalid-request",
            "unknown field",
        ),
        (
            "/maintenance",
            json!({ "message": "x".repeat(501) }).to_string(),
            400,
            "invalid-request",
            "500 characters",
        ),
        (
            "/maintenance",
            json!({ "message": "ring\u{7}" }).to_string(),
            400,
            "invalid-request",
            "control",
        ),
        (
            "/maintenance/no-such-bank",
            "{}".to_owned(),
            404,
            "tenant-not-found",
            "no-such-bank",
        ),
    ];
    for (path, body, status, slug, says) in cases {
        let answer = admin(&relay, reqwest::Method::PUT, path, Some(&body)).await;
        let problem = answer.problem(status, slug);
        assert!(problem.detail.contains(says), "{body}: {}", problem.detail);
    }
    let wrong_type = reqwest::Client::new()
        .put(format!("{}/maintenance", relay.admin_url))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    Answer::read(wrong_type)
        .await
        .problem(400, "invalid-request");
    admin(
        &relay,
        reqwest::Method::DELETE,
        "/maintenance/no-such-bank",
        None,
    )
    .await
    .problem(404, "tenant-not-found");
    // Nothing was switched on by any of these.
    bank.login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201);
    // The public listener has no operator route, with or without a bank key.
    bank.send(reqwest::Method::PUT, "/maintenance", Some(&json!({})))
        .await
        .problem(404, "not-found");
    let put_public = bank
        .send(reqwest::Method::PUT, "/v1/maintenance", Some(&json!({})))
        .await;
    assert_eq!(put_public.status, 405);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_operations_listener_documents_its_maintenance_routes() {
    let dir = tempfile::tempdir().unwrap();
    let relay = spawn_relay_with(test_settings(dir.path()), Parts::default(), true).await;
    let doc: Value = admin(&relay, reqwest::Method::GET, "/openapi.json", None)
        .await
        .json(200);
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/maintenance", ["get", "put", "delete"]),
        ("/maintenance/{tenant}", ["get", "put", "delete"]),
    ] {
        for method in methods {
            assert!(paths[path].get(method).is_some(), "{method} {path} missing");
        }
    }
    assert!(doc["components"]["schemas"].get("SetMaintenance").is_some());
    // The public document has the bank's read only.
    let public: Value = Bank::new(&relay.url, "")
        .get("/openapi.json")
        .await
        .json(200);
    assert!(public["paths"].get("/maintenance").is_none());
    assert!(public["paths"]["/v1/maintenance"].get("get").is_some());
    relay.shutdown().await.unwrap();
}

/// `onepush-relay maintenance …` on `data_dir` (the relay's SQLite file, or `database`
/// with its master key).
async fn cli(
    data_dir: &std::path::Path,
    database: Option<(&str, &Secret)>,
    args: &[&str],
) -> std::process::Output {
    let mut command = tokio::process::Command::new(BIN);
    command
        .arg("--data-dir")
        .arg(data_dir)
        .env("ONEPUSH_LOG", "warn")
        .env_remove("ONEPUSH_MAINTENANCE")
        .env_remove("ONEPUSH_MAINTENANCE__ENABLED");
    if let Some((url, master)) = database {
        command
            .arg("--database")
            .arg(url)
            .env("ONEPUSH_MASTER_KEY", &master.0);
    }
    command
        .arg("maintenance")
        .args(args)
        .output()
        .await
        .unwrap()
}

/// The CLI's refusal: exit 2, one line on stderr saying `says`.
fn refused(out: &std::process::Output, says: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(says), "{stderr}");
}

#[tokio::test]
async fn the_cli_refuses_bad_input_in_one_line_and_switches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let relay = spawn_relay_with(test_settings(dir.path()), Parts::default(), true).await;
    let bank = Bank::new(&relay.url, &relay.api_key);

    refused(
        &cli(dir.path(), None, &["on", "--until", "tomorrow"]).await,
        "RFC 3339",
    );
    refused(
        &cli(dir.path(), None, &["on", "--until", "2001-01-01T00:00:00Z"]).await,
        "future",
    );
    refused(
        &cli(dir.path(), None, &["on", "--tenant", "no-such-bank"]).await,
        "no-such-bank",
    );
    refused(
        &cli(dir.path(), None, &["off", "--tenant", "no-such-bank"]).await,
        "no-such-bank",
    );
    let long = "x".repeat(501);
    refused(
        &cli(dir.path(), None, &["on", "--message", &long]).await,
        "500",
    );
    assert!(
        !bank
            .get("/v1/maintenance")
            .await
            .json::<MaintenanceStatus>(200)
            .on
    );
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_cli_switches_a_running_relay() {
    let dir = tempfile::tempdir().unwrap();
    let relay = spawn_relay_with(test_settings(dir.path()), Parts::default(), true).await;
    let bank = Bank::new(&relay.url, &relay.api_key);

    // On for this bank, from another process: the running relay follows.
    let out = cli(
        dir.path(),
        None,
        &[
            "on",
            "--tenant",
            "test-bank",
            "--message",
            MESSAGE,
            "--json",
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: MaintenanceStatus = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed.message.as_deref(), Some(MESSAGE));
    until_announced("the running relay sees the CLI's maintenance", &bank, true).await;
    let status = cli(dir.path(), None, &["status", "--json"]).await;
    let overview: MaintenanceOverview = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(overview.tenants[0].status.message.as_deref(), Some(MESSAGE));
    let text = cli(dir.path(), None, &["status"]).await;
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("relay\toff") && text.contains("test-bank\ton"),
        "{text}"
    );

    let out = cli(dir.path(), None, &["off", "--tenant", "test-bank"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("maintenance off for tenant test-bank"));
    until_announced("the running relay sees the CLI's end", &bank, false).await;
    let log: Vec<AuditEvent> = bank.get("/v1/audit").await.json(200);
    let changes: Vec<(&str, &str)> = log
        .iter()
        .filter(|e| e.event.starts_with("maintenance."))
        .map(|e| {
            (
                e.event.as_str(),
                e.detail["by"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [("maintenance.on", "cli"), ("maintenance.off", "cli")]
    );
    relay.shutdown().await.unwrap();
}

fn master_key() -> Secret {
    let mut key = [0u8; 32];
    onepush_protocol::keys::fill_random(&mut key);
    Secret(onepush_protocol::b64::encode(key))
}

fn pg_settings(dir: &std::path::Path, database_url: &str, master: &Secret) -> Settings {
    Settings {
        master_key: Some(master.clone()),
        ..common::postgres::relay_settings(dir, database_url)
    }
}

#[tokio::test]
async fn maintenance_switched_on_one_relay_is_seen_by_a_second_relay_on_postgres() {
    with_database(|url| async move {
        let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        let master = master_key();
        let vapid = onepush_relay::keys::VAPID_FILE;
        onepush_relay::keys::RelayKeys::load_or_create(dirs[0].path(), None).unwrap();
        std::fs::copy(dirs[0].path().join(vapid), dirs[1].path().join(vapid)).unwrap();
        let a = spawn_relay_with(
            pg_settings(dirs[0].path(), &url, &master),
            Parts::default(),
            true,
        )
        .await;
        let b = spawn_relay_with(
            pg_settings(dirs[1].path(), &url, &master),
            Parts::default(),
            false,
        )
        .await;
        let on_b = Bank::new(&b.url, &a.api_key);
        let mut device = TestDevice::new(&b.url);
        device.provision(None).await;
        on_b.enroll("alice", &device).await.json::<UserBinding>(201);

        // Through A's operations listener; B refuses within its poll.
        put(&a, "/maintenance", &json!({ "message": MESSAGE }))
            .await
            .json::<MaintenanceStatus>(200);
        // B is probed through its read of the state it holds (`GET /v1/maintenance`):
        // probing with logins would create challenges until B sees the change, and five
        // of them fill alice's pending limit (the flake this test once had).
        until_announced("relay B announces the suspension", &on_b, true).await;
        let refused = on_b.login("alice", json!({})).await;
        let problem = refused.problem(503, "maintenance");
        assert_eq!(refused.headers.get("retry-after").unwrap(), "300");
        assert_eq!(
            problem.maintenance.unwrap().message.as_deref(),
            Some(MESSAGE)
        );
        assert_eq!(relay_audit(&url, "maintenance.on").await.len(), 1);

        // Off through the CLI on the same database: B takes challenges again.
        let out = cli(dirs[1].path(), Some((&url, &master)), &["off"]).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        until_announced("relay B ends the suspension", &on_b, false).await;
        on_b.login("alice", json!({})).await.json::<Value>(201);
        let offs = relay_audit(&url, "maintenance.off").await;
        assert_eq!(offs.len(), 1, "{offs:?}");
        assert_eq!(offs[0]["by"], "cli");
        a.shutdown().await.unwrap();
        b.shutdown().await.unwrap();
    })
    .await;
}
