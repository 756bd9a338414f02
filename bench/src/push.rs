//! A Web Push endpoint the bench serves: `POST /push/{device}` is decrypted with that
//! device's receiver keys (RFC 8291, `onepush_device::push::open_push`) and the challenge it announces (with its details
//! when the message carries them) goes to its inbox.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use onepush_protocol::webpush::PushReceiverKeys;

use crate::inbox::Inbox;

/// A device's push keys and inbox.
type Receiver = (Arc<PushReceiverKeys>, Arc<Inbox>);

/// The devices the endpoint decrypts for, and what went wrong.
#[derive(Default)]
pub struct Registry {
    devices: RwLock<HashMap<usize, Receiver>>,
    /// Messages that could not be decrypted or parsed.
    pub bad_messages: AtomicU64,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

impl Registry {
    /// Makes messages to `/push/{index}` reach this device.
    pub fn add(&self, index: usize, keys: Arc<PushReceiverKeys>, inbox: Arc<Inbox>) {
        self.devices
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(index, (keys, inbox));
    }
}

/// A running endpoint.
#[derive(Debug)]
pub struct PushEndpoint {
    /// `http://127.0.0.1:PORT/push/` (append the device index).
    pub base: String,
    /// Its devices.
    pub registry: Arc<Registry>,
    server: tokio::task::JoinHandle<()>,
}

impl PushEndpoint {
    /// Serves on a free loopback port.
    pub async fn start() -> anyhow::Result<Self> {
        let registry = Arc::new(Registry::default());
        let app = axum::Router::new()
            .route("/push/{device}", axum::routing::post(receive))
            .with_state(registry.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}/push/", listener.local_addr()?);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            base,
            registry,
            server,
        })
    }

    /// The endpoint URL of device `index`.
    pub fn endpoint(&self, index: usize) -> String {
        format!("{}{index}", self.base)
    }
}

impl Drop for PushEndpoint {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(
    State(registry): State<Arc<Registry>>,
    Path(device): Path<usize>,
    body: Bytes,
) -> StatusCode {
    let at = Instant::now();
    let found = registry
        .devices
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&device)
        .map(|(keys, inbox)| (keys.clone(), inbox.clone()));
    let Some((keys, inbox)) = found else {
        registry.bad_messages.fetch_add(1, Ordering::Relaxed);
        return StatusCode::NOT_FOUND;
    };
    // As the phone opens it (the device library's Web Push receipt).
    if let Ok(p) = onepush_device::push::open_push(&keys, &body) {
        inbox.deliver(p.id, at, p.challenge);
        StatusCode::CREATED
    } else {
        registry.bad_messages.fetch_add(1, Ordering::Relaxed);
        StatusCode::BAD_REQUEST
    }
}
