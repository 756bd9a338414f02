//! A compromised relay, for the device side's tests: an HTTP proxy in front of a real
//! relay that records every request it forwards and, once told to, rewrites the
//! context of every challenge it serves from then on (single fetches and the pending
//! list). "Shows ¥1,000 to A, then asks for a signature over ¥1,000,000 to B."

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use onepush_protocol::api::PROOF_HEADER;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::{TestRelay, spawn_relay_with, test_settings};
use crate::relay::Parts;

/// The event stream's path: passed through as a stream (never rewritten).
const EVENTS_PATH: &str = "/v1/device/events";

/// One request the proxy forwarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Signed by the device: an `OnePush-Proof` header, or a decision (its body is a
    /// JWS of the credential).
    pub signed: bool,
}

impl Forwarded {
    /// True for `POST /v1/device/challenges/{id}/decision`.
    pub fn is_decision(&self) -> bool {
        self.method == "POST" && self.path.ends_with("/decision")
    }

    /// True for the event stream (opened once per connection, retried on its own).
    pub fn is_event_stream(&self) -> bool {
        self.path == EVENTS_PATH
    }
}

#[derive(Debug)]
struct Shared {
    upstream: String,
    http: reqwest::Client,
    forwarded: Mutex<Vec<Forwarded>>,
    swap: Mutex<Option<Value>>,
    block_events: AtomicBool,
}

/// The proxy, serving on a loopback port until dropped.
#[derive(Debug)]
pub struct TamperingProxy {
    /// `http://127.0.0.1:<port>`: give this to the device as its relay.
    pub url: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

/// A test relay (data in `dir`) reached by devices only through a [`TamperingProxy`]:
/// its public URL is the proxy's, so the devices' request proofs name the proxy. The
/// bank talks to the relay's own URL.
pub async fn spawn_relay_behind_proxy(dir: &Path) -> (TestRelay, TamperingProxy) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the proxy");
    let proxy_url = format!("http://{}", listener.local_addr().expect("proxy address"));
    let mut settings = test_settings(dir);
    settings.http.public_url = Some(proxy_url);
    let relay = spawn_relay_with(settings, Parts::default(), true).await;
    let proxy = TamperingProxy::serve(listener, &relay.url);
    (relay, proxy)
}

impl TamperingProxy {
    /// Serves on `listener` a proxy to the relay at `upstream` (honest until told
    /// otherwise).
    pub fn serve(listener: TcpListener, upstream: &str) -> Self {
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            forwarded: Mutex::new(Vec::new()),
            swap: Mutex::new(None),
            block_events: AtomicBool::new(false),
        });
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, shared, task }
    }

    /// From now on, every challenge served carries `context` instead of its own.
    pub fn swap_context(&self, context: Value) {
        *self.shared.swap.lock().expect("lock") = Some(context);
    }

    /// While on, the event stream answers 503: challenges reach the device only
    /// through what it fetches.
    pub fn block_event_stream(&self, on: bool) {
        self.shared.block_events.store(on, Ordering::SeqCst);
    }

    /// Every request forwarded so far, in order (blocked event streams included).
    pub fn forwarded(&self) -> Vec<Forwarded> {
        self.shared.forwarded.lock().expect("lock").clone()
    }

    /// The requests forwarded so far other than event-stream attempts.
    pub fn requests(&self) -> Vec<Forwarded> {
        self.forwarded()
            .into_iter()
            .filter(|f| !f.is_event_stream())
            .collect()
    }

    /// Forgets the requests recorded so far.
    pub fn clear(&self) {
        self.shared.forwarded.lock().expect("lock").clear();
    }
}

impl Drop for TamperingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or(path.clone(), |p| p.as_str().to_owned());
    let record = Forwarded {
        method: parts.method.as_str().to_owned(),
        signed: parts.headers.contains_key(PROOF_HEADER)
            || (parts.method == "POST" && path.ends_with("/decision")),
        path: path.clone(),
    };
    shared.forwarded.lock().expect("lock").push(record);
    if path == EVENTS_PATH && shared.block_events.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let Ok(body) = axum::body::to_bytes(body, 1 << 20).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let mut upstream = shared
        .http
        .request(
            parts.method.clone(),
            format!("{}{path_and_query}", shared.upstream),
        )
        .body(body);
    for (name, value) in &parts.headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            upstream = upstream.header(name, value);
        }
    }
    let Ok(answer) = upstream.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = answer.status();
    let headers = passed_headers(answer.headers());
    let body = if path == EVENTS_PATH {
        Body::from_stream(futures::stream::unfold(answer, |mut answer| async move {
            match answer.chunk().await {
                Ok(Some(chunk)) => Some((Ok::<Bytes, std::io::Error>(chunk), answer)),
                _ => None,
            }
        }))
    } else {
        let bytes = answer.bytes().await.unwrap_or_default();
        let swap = shared.swap.lock().expect("lock").clone();
        match swap {
            Some(context) if path.starts_with("/v1/device/challenges") && status.is_success() => {
                Body::from(rewrite(&bytes, &context))
            }
            _ => Body::from(bytes),
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// The upstream's headers without those the new body invalidates.
fn passed_headers(upstream: &HeaderMap) -> HeaderMap {
    let mut headers = upstream.clone();
    headers.remove(header::CONTENT_LENGTH);
    headers.remove(header::TRANSFER_ENCODING);
    headers
}

/// A challenge (or `{ "challenges": [...] }`) with every context replaced.
fn rewrite(bytes: &[u8], context: &Value) -> Vec<u8> {
    let Ok(mut value) = serde_json::from_slice::<Value>(bytes) else {
        return bytes.to_vec();
    };
    if let Some(list) = value.get_mut("challenges").and_then(Value::as_array_mut) {
        for challenge in list {
            challenge["context"] = context.clone();
        }
    } else if value.get("context").is_some() {
        value["context"] = context.clone();
    }
    serde_json::to_vec(&value).expect("JSON serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrite_replaces_the_context_of_one_challenge_or_a_list() {
        let swapped = serde_json::json!({ "amount": "1000000" });
        let one = rewrite(br#"{"id":"x","context":{"amount":"1000"}}"#, &swapped);
        assert_eq!(
            serde_json::from_slice::<Value>(&one).unwrap()["context"],
            swapped
        );
        let list = rewrite(
            br#"{"challenges":[{"context":{"a":1}},{"context":{"b":2}}]}"#,
            &swapped,
        );
        let list: Value = serde_json::from_slice(&list).unwrap();
        assert_eq!(list["challenges"][1]["context"], swapped);
        assert_eq!(rewrite(b"not json", &swapped), b"not json");
    }
}
