//! Faults (issue 9) seen through the HTTP API: a SQLite database held locked by another
//! writer for longer than the relay will wait, and a device whose clock is off answering
//! a challenge. (A PostgreSQL database that goes away: `shared_database.rs`; a killed
//! relay process: `two_relays.rs` and `tests/tests/faults.rs`.)

use crate::common;

use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use common::{Answer, Bank, TestDevice};
use onepush_protocol::api::{BankChallenge, ChallengeCreated, DeviceChallengeList, UserBinding};
use onepush_protocol::{ChallengeStatus, DecisionVerdict};
use onepush_relay::testing::spawn_relay;
use serde_json::{Value, json};
use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

/// Longest the test lets a request wait on the locked database: far beyond any busy
/// timeout the relay may have; a request still waiting then is a hang, not a 503.
const HANG: Duration = Duration::from_secs(90);

/// Another writer on the relay's SQLite file (a backup tool, an operator's `sqlite3`
/// session) that took the write lock and keeps it until dropped.
async fn lock_database(data_dir: &std::path::Path) -> SqliteConnection {
    let url = format!("sqlite://{}", data_dir.join("onepush.db").display());
    let options = SqliteConnectOptions::from_str(&url).unwrap();
    let mut connection = SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::raw_sql("BEGIN EXCLUSIVE")
        .execute(&mut connection)
        .await
        .unwrap();
    connection
}

/// `answer` is a 503 `database-unavailable` problem that says to retry and names no
/// driver internals.
fn unavailable(what: &str, answer: &Answer) {
    let problem = answer.problem(503, "database-unavailable");
    assert!(
        answer.headers.contains_key("retry-after"),
        "{what}: Retry-After"
    );
    assert!(problem.detail.contains("retry"), "{what}: {problem:?}");
    for internal in ["sqlx", "sqlite", "locked", "busy", "onepush.db"] {
        assert!(
            !problem.detail.to_lowercase().contains(internal),
            "{what}: {problem:?}"
        );
    }
}

async fn within_hang<T>(what: &str, request: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(HANG, request)
        .await
        .unwrap_or_else(|_| panic!("{what} still waiting on the locked database after {HANG:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_sqlite_database_answers_503_writes_nothing_half_and_recovers_when_released() {
    let dir = tempfile::tempdir().unwrap();
    let relay = spawn_relay(dir.path()).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let device = TestDevice::provisioned(&relay.url, None).await;
    bank.enroll("alice", &device).await.json::<UserBinding>(201);
    let before: ChallengeCreated = bank
        .login("alice", json!({ "ttl_seconds": 600 }))
        .await
        .json(201);
    let id = before.id.to_string();
    let shown = device.challenge(&id).await;

    let lock = lock_database(dir.path()).await;
    let create = |key: &'static str| {
        let bank = bank.clone();
        async move {
            let body = json!({
                "user_id": "alice", "kind": "login", "ttl_seconds": 600,
                "context": { "ip": "203.0.113.7", "user_agent": "Firefox on Windows", "location": "Tokyo" },
            })
            .to_string();
            let headers = [
                ("authorization", format!("Bearer {}", bank.api_key)),
                ("content-type", "application/json".to_owned()),
                ("idempotency-key", key.to_owned()),
            ];
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            bank.raw(reqwest::Method::POST, "/v1/challenges", &body, &headers)
                .await
        }
    };
    // The bank's create and the phone's decision wait for the lock, then give up.
    let approval = device.claims(&shown, DecisionVerdict::Approve);
    let (created, decided) = within_hang("the requests", async {
        tokio::join!(
            create("locked-create"),
            device.post_decision(&id, &approval),
        )
    })
    .await;
    unavailable("bank create", &created);
    unavailable("device decision", &decided);
    let readyz = Answer::read(reqwest::get(format!("{}/readyz", relay.url)).await.unwrap()).await;
    eprintln!(
        "while another writer holds the lock: /readyz {} (reads still work in WAL mode)",
        readyz.status
    );
    drop(lock);

    // Released: nothing was half written ...
    let list: DeviceChallengeList = device
        .send("GET", "/v1/device/challenges", None)
        .await
        .json(200);
    let ids: Vec<String> = list.challenges.iter().map(|c| c.id.to_string()).collect();
    assert_eq!(
        ids,
        std::slice::from_ref(&id),
        "the refused create left no challenge behind"
    );
    let still: BankChallenge = bank.get(&format!("/v1/challenges/{id}")).await.json(200);
    assert_eq!(
        still.status,
        ChallengeStatus::Pending,
        "the refused decision left the challenge pending"
    );
    assert!(still.decision.is_none());
    // ... and the same requests succeed.
    let again: ChallengeCreated = create("locked-create").await.json(201);
    assert_ne!(again.id, before.id);
    device
        .answer(&id, DecisionVerdict::Approve, None)
        .await
        .json::<Value>(200);
    let ended: BankChallenge = bank.get(&format!("/v1/challenges/{id}")).await.json(200);
    assert_eq!(ended.status, ChallengeStatus::Approved);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_decision_from_a_phone_whose_clock_is_off_is_refused_naming_the_clock_and_can_be_resent()
{
    let dir = tempfile::tempdir().unwrap();
    let relay = spawn_relay(dir.path()).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let mut device = TestDevice::provisioned(&relay.url, None).await;
    bank.enroll("alice", &device).await.json::<UserBinding>(201);
    let id = bank
        .login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string();
    let shown = device.challenge(&id).await;
    let real = device.now.clone();
    for (skew, side) in [(900, "seconds ahead of"), (-900, "seconds behind")] {
        let r = real.clone();
        device.now = Arc::new(move || r() + skew);
        let answer = device
            .post_decision(&id, &device.claims(&shown, DecisionVerdict::Approve))
            .await;
        let problem = answer.problem(422, "decision-mismatch");
        // 900 seconds off, give or take the second the clock may tick on meanwhile.
        let off = problem
            .detail
            .split_once(side)
            .and_then(|(before, _)| before.split_whitespace().last()?.parse::<i64>().ok());
        assert!(
            off.is_some_and(|s| (899..=901).contains(&s)) && problem.detail.contains("clock"),
            "{problem:?}"
        );
        assert!(problem.detail.contains("date and time"), "{problem:?}");
        let state: BankChallenge = bank.get(&format!("/v1/challenges/{id}")).await.json(200);
        assert_eq!(state.status, ChallengeStatus::Pending);
    }
    // The user fixes the clock: the same answer goes through.
    device.now = real;
    device
        .post_decision(&id, &device.claims(&shown, DecisionVerdict::Approve))
        .await
        .json::<Value>(200);
    let state: BankChallenge = bank.get(&format!("/v1/challenges/{id}")).await.json(200);
    assert_eq!(state.status, ChallengeStatus::Approved);
    relay.shutdown().await.unwrap();
}
