//! Web Push receipt: decrypt a push message (RFC 8291) into the [`PushPayload`] it
//! carries (the challenge's details when they fit one message; otherwise they are
//! fetched over the signed channel); and [`PushEndpoint`], a local RFC 8030 receiving
//! endpoint so the real Web Push path runs end to end without a cloud push service.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use onepush_protocol::api::{DeviceChallenge, PushPayload};
use onepush_protocol::webpush::{PushReceiverKeys, PushSubscription};
use subtle::ConstantTimeEq as _;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::client::{ClientError, RelayClient};
use crate::events::{Incoming, Source};

/// The largest push message body (RFC 8291 §4 limits the record to 4096 bytes).
const MAX_BODY: usize = 4096;

/// Why a push message was not taken.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The body did not decrypt with this device's push keys.
    #[error("the push message does not decrypt with this device's keys")]
    Decrypt,
    /// The plaintext is not a OnePush payload.
    #[error("the push message is not a OnePush challenge announcement: {0}")]
    Payload(String),
    /// Fetching the announced challenge failed.
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// Decrypts a raw Web Push body (`Content-Encoding: aes128gcm`) into the announcement
/// it carries: the challenge, with its details when they fit the message.
pub fn open_push(keys: &PushReceiverKeys, body: &[u8]) -> Result<PushPayload, PushError> {
    let plain = keys.decrypt(body).map_err(|_| PushError::Decrypt)?;
    PushPayload::from_plaintext(&plain).map_err(PushError::Payload)
}

/// Push receipt: decrypts the body and answers the challenge's details, from the
/// message when it carries them, else fetched over the signed channel.
pub async fn receive(
    keys: &PushReceiverKeys,
    client: &RelayClient,
    body: &[u8],
) -> Result<DeviceChallenge, PushError> {
    let payload = open_push(keys, body)?;
    match payload.challenge {
        Some(challenge) => Ok(*challenge),
        None => Ok(client.challenge(payload.id).await?),
    }
}

/// What the endpoint's handler needs.
#[derive(Debug)]
struct EndpointState {
    token: String,
    keys: Arc<PushReceiverKeys>,
    vapid_public_key: Option<String>,
    tx: mpsc::Sender<Incoming>,
    received: AtomicU64,
}

/// A running local push endpoint.
#[derive(Debug)]
pub struct PushEndpoint {
    url: String,
    local_addr: SocketAddr,
    keys: Arc<PushReceiverKeys>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl PushEndpoint {
    /// Serves the endpoint on `listener`. Each decrypted announcement goes to `tx` as
    /// [`Incoming::Challenge`] from [`Source::WebPush`]. `public_base` is the base URL
    /// the relay reaches this listener at (default: `http://` + the bound address);
    /// with `vapid_public_key` set, messages not signed for that key are refused (401),
    /// as a push service refuses them.
    pub fn serve(
        listener: TcpListener,
        public_base: Option<&str>,
        keys: Arc<PushReceiverKeys>,
        vapid_public_key: Option<String>,
        tx: mpsc::Sender<Incoming>,
    ) -> std::io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let mut token = [0u8; 16];
        onepush_protocol::keys::fill_random(&mut token);
        let token = onepush_protocol::b64::encode(token);
        let base = public_base.map_or_else(
            || default_base(local_addr),
            |b| b.trim_end_matches('/').to_owned(),
        );
        let url = format!("{base}/push/{token}");
        let state = Arc::new(EndpointState {
            token,
            keys: keys.clone(),
            vapid_public_key,
            tx,
            received: AtomicU64::new(0),
        });
        let (shutdown, stop) = oneshot::channel::<()>();
        let app = router(state);
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { drop(stop.await) })
                .await
        });
        Ok(Self {
            url,
            local_addr,
            keys,
            shutdown,
            task,
        })
    }

    /// The endpoint URL to register as the push subscription.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The subscription (endpoint + this device's `p256dh` and `auth`).
    pub fn subscription(&self) -> PushSubscription {
        self.keys.subscription(&self.url)
    }

    /// Stops serving.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(());
        let _ = self.task.await;
    }
}

/// `http://<addr>`, with a loopback host when bound to every address.
fn default_base(addr: SocketAddr) -> String {
    let host = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
        ip if ip.is_unspecified() => "[::1]".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        std::net::IpAddr::V4(ip) => ip.to_string(),
    };
    format!("http://{host}:{}", addr.port())
}

fn router(state: Arc<EndpointState>) -> Router {
    Router::new()
        .route("/push/{token}", post(receive_message))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// `POST /push/{token}` (RFC 8030 §5): 201 with the message's `Location` when taken.
async fn receive_message(
    State(state): State<Arc<EndpointState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !bool::from(token.as_bytes().ct_eq(state.token.as_bytes())) {
        return (StatusCode::NOT_FOUND, "no such push subscription\n").into_response();
    }
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok());
    if encoding != Some("aes128gcm") {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Encoding must be aes128gcm (RFC 8188)\n",
        )
            .into_response();
    }
    if let Some(expected) = &state.vapid_public_key {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(vapid_key);
        if given.as_deref() != Some(expected.trim_end_matches('=')) {
            tracing::warn!("push refused: not signed for the relay's VAPID key");
            return (
                StatusCode::UNAUTHORIZED,
                "VAPID key missing or not the subscription's\n",
            )
                .into_response();
        }
    }
    let payload = match open_push(&state.keys, &body) {
        Ok(payload) => payload,
        Err(e) => {
            tracing::warn!(error = %e, "push refused");
            return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response();
        }
    };
    let number = state.received.fetch_add(1, Ordering::Relaxed);
    if state
        .tx
        .send(Incoming::Challenge {
            id: payload.id,
            source: Source::WebPush,
            challenge: payload.challenge,
        })
        .await
        .is_err()
    {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the device is shutting down\n",
        )
            .into_response();
    }
    let location = format!("/push/{}/messages/{number}", state.token);
    (StatusCode::CREATED, [(header::LOCATION, location)]).into_response()
}

/// The `k` parameter of `Authorization: vapid t=…, k=…` (RFC 8292 §3), unpadded.
fn vapid_key(authorization: &str) -> Option<String> {
    let params = authorization.strip_prefix("vapid ")?;
    params
        .split(',')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(name, _)| *name == "k")
        .map(|(_, value)| value.trim().trim_end_matches('=').to_owned())
}

#[cfg(test)]
#[path = "push_tests.rs"]
mod tests;
