//! `GET /v1/audit` in pages (issue 22, item 7): `limit` (default 100, at most 1000) and
//! the cursor `since`, with and without `user_id`.

use crate::common;

use common::Answer;
use onepush_protocol::api::AuditEvent;
use onepush_relay::store::NewAudit;
use serde_json::json;

async fn get(relay: &onepush_relay::testing::TestRelay, query: &str) -> Answer {
    let response = reqwest::Client::new()
        .get(format!("{}/v1/audit?{query}", relay.url))
        .bearer_auth(&relay.api_key)
        .send()
        .await
        .unwrap();
    Answer::read(response).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_pages_follow_the_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let relay = onepush_relay::testing::spawn_relay(dir.path()).await;
    let service = relay.relay.service();
    let now = service.now();
    for i in 0..250 {
        let user = if i % 5 == 0 { "alice" } else { "bob" };
        let event = NewAudit {
            tenant_id: Some(relay.tenant_id.parse().unwrap()),
            event: "otp.verified".into(),
            user_id: Some(user.parse().unwrap()),
            credential_id: None,
            challenge_id: None,
            detail: json!({ "i": i }),
        };
        service.store().append_audit(&event, now).await.unwrap();
    }
    // Default pages of 100, each after the last seq of the one before.
    let mut sizes = Vec::new();
    let mut seen = Vec::new();
    let mut since = 0;
    loop {
        let page: Vec<AuditEvent> = get(&relay, &format!("since={since}")).await.json(200);
        sizes.push(page.len());
        let Some(last) = page.last() else { break };
        since = last.seq;
        seen.extend(page.iter().map(|e| e.detail["i"].as_i64().unwrap()));
    }
    assert_eq!(sizes, [100, 100, 50, 0]);
    assert_eq!(seen, (0..250).collect::<Vec<_>>());

    // One user's events, 20 at a time.
    let first: Vec<AuditEvent> = get(&relay, "user_id=alice&limit=20").await.json(200);
    assert_eq!(first.len(), 20);
    let next: Vec<AuditEvent> = get(
        &relay,
        &format!("user_id=alice&limit=40&since={}", first[19].seq),
    )
    .await
    .json(200);
    assert_eq!(next.len(), 30);
    assert!(
        next.iter()
            .all(|e| e.user_id.as_ref().unwrap().as_str() == "alice")
    );
    let all: Vec<AuditEvent> = get(&relay, "limit=1000").await.json(200);
    assert_eq!(all.len(), 250);

    for bad in ["limit=1001", "limit=0", "limit=-1", "since=-5"] {
        let problem = get(&relay, bad).await.problem(400, "invalid-request");
        let field = bad.split('=').next().unwrap();
        assert!(problem.detail.contains(field), "{bad}: {problem:?}");
    }
    relay.shutdown().await.unwrap();
}
