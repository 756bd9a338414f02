//! The SDK's read of maintenance (R18): the announcement before customers try, and the
//! same status in the 503 problem when a challenge is asked for anyway.

use onepush_bank::{ApiKey, Client};
use onepush_protocol::api::{CreateChallenge, MaintenanceScope, SetMaintenance};
use onepush_protocol::{ChallengeKind, Context};
use onepush_relay::service::maintenance::Operator;

#[tokio::test]
async fn a_bank_reads_the_announcement_and_gets_it_again_in_the_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let test = onepush_relay::testing::spawn_relay(dir.path()).await;
    let relay = Client::new(&test.url, ApiKey::new(&test.api_key)).unwrap();
    assert!(!relay.maintenance().await.unwrap().on);

    let message = "システム障害のため一時停止中です";
    test.relay
        .service()
        .maintenance_on(
            Some(test.tenant_id.as_str()),
            SetMaintenance {
                message: Some(message.to_owned()),
                until: None,
            },
            Operator::Cli,
        )
        .await
        .unwrap();
    let status = relay.maintenance().await.unwrap();
    assert!(status.on);
    assert_eq!(status.scope, Some(MaintenanceScope::Tenant));
    assert_eq!(status.message.as_deref(), Some(message));

    let ask = CreateChallenge {
        user_id: "1234567.alice".parse().unwrap(),
        kind: ChallengeKind::Login,
        context: Context::from_value(
            serde_json::json!({"ip": "203.0.113.7", "user_agent": "Firefox"}),
        )
        .unwrap(),
        ttl_seconds: None,
        number_matching: false,
    };
    let err = relay.create_challenge(&ask, None).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.slug(), Some("maintenance"));
    let notice = err.problem().unwrap().maintenance.clone().unwrap();
    assert_eq!(notice, status);
    test.shutdown().await.unwrap();
}
