//! Unit tests of the relay client that need no relay.

use super::*;

#[test]
fn base_url_is_checked_and_trimmed() {
    assert_eq!(
        normalise_base_url("http://127.0.0.1:8420/").unwrap(),
        "http://127.0.0.1:8420"
    );
    assert_eq!(
        normalise_base_url("https://relay.example/onepush/").unwrap(),
        "https://relay.example/onepush"
    );
    assert!(matches!(
        normalise_base_url("ftp://x"),
        Err(ClientError::BadUrl(_))
    ));
    assert!(matches!(
        normalise_base_url("relay"),
        Err(ClientError::BadUrl(_))
    ));
    assert!(matches!(
        normalise_base_url("http://x/?a=1"),
        Err(ClientError::BadUrl(_))
    ));
}

#[test]
fn problem_error_reads_as_its_detail() {
    let problem = Problem {
        kind: "https://onepush.dev/problems/challenge-not-found".into(),
        title: "Not found".into(),
        status: 404,
        detail: "no such challenge for this credential".into(),
        state: None,
        grace_until: None,
        challenge_status: None,
        attempts_left: None,
    };
    let err = ClientError::Problem(Box::new(problem));
    assert_eq!(
        err.to_string(),
        "no such challenge for this credential (404 challenge-not-found)"
    );
    assert_eq!(err.slug(), Some("challenge-not-found"));
    assert_eq!(err.status(), Some(404));
}

#[tokio::test]
async fn unreachable_relay_is_reported_with_its_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let key = Arc::new(DeviceKey::generate());
    let client = RelayClient::new(
        &format!("http://{addr}"),
        key,
        Some("ONEP12345674".parse().unwrap()),
    )
    .unwrap();
    let err = client.accounts().await.unwrap_err();
    assert!(matches!(err, ClientError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}
