//! Unit tests of the relay client that need no relay.

use super::*;
use onepush_protocol::ChallengeStatus;

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
        maintenance: None,
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

/// Answers each request on `listener` with `body` (200, JSON) and hands back its head.
async fn answer_once(listener: tokio::net::TcpListener, body: String) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut buf).await.unwrap();
        assert!(n > 0, "the client closed before sending its request");
        head.extend_from_slice(&buf[..n]);
    }
    let answer = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(answer.as_bytes()).await.unwrap();
    String::from_utf8_lossy(&head).to_lowercase()
}

#[tokio::test]
async fn a_decision_is_posted_without_a_proof_and_other_requests_with_one() {
    let id = ChallengeId::new();
    let client_for = |addr: std::net::SocketAddr| {
        RelayClient::new(
            &format!("http://{addr}"),
            Arc::new(DeviceKey::generate()),
            Some("ONEP12345674".parse().unwrap()),
        )
        .unwrap()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = client_for(listener.local_addr().unwrap());
    let accepted = serde_json::to_string(&DecisionAccepted {
        id,
        status: ChallengeStatus::Approved,
    })
    .unwrap();
    let server = tokio::spawn(answer_once(listener, accepted));
    client.post_decision(id, "a.b.c").await.unwrap();
    let head = server.await.unwrap();
    assert!(
        head.starts_with(&format!("post /v1/device/challenges/{id}/decision")),
        "{head}"
    );
    assert!(
        !head.contains("onepush-proof"),
        "the decision authenticates itself: {head}"
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = client_for(listener.local_addr().unwrap());
    let server = tokio::spawn(answer_once(listener, r#"{"accounts":[]}"#.into()));
    let _ = client.accounts().await;
    let head = server.await.unwrap();
    assert!(head.contains("onepush-proof: "), "{head}");
}
