//! A local HTTP endpoint that records what it receives (push service, webhook receiver).

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};

/// One request received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
    pub status: Arc<AtomicU16>,
}

impl Receiver {
    /// Serves on 127.0.0.1:0, answering every POST with `status`.
    pub async fn start(status: u16) -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(status));
        let (r, s) = (received.clone(), status.clone());
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
                let (r, s) = (r.clone(), s.clone());
                async move {
                    r.lock().unwrap().push(Received {
                        path: uri.path().to_owned(),
                        headers,
                        body: body.to_vec(),
                    });
                    StatusCode::from_u16(s.load(Ordering::SeqCst)).unwrap()
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            received,
            status,
        }
    }

    /// Waits (a few seconds at most) until `n` requests arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..200 {
            let got = self.received.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "expected {n} requests, got {}",
            self.received.lock().unwrap().len()
        );
    }
}
