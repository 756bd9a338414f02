//! Helpers for tests in this and other crates (feature `testing`): a relay served on
//! `127.0.0.1:0` with one tenant.

use std::path::Path;

use tokio::task::JoinHandle;

use crate::relay::{Parts, Relay};
use crate::settings::Settings;

/// The tenant every test relay is created with.
pub const TEST_TENANT: &str = "test-bank";

/// A relay serving on a loopback port.
#[derive(Debug)]
pub struct TestRelay {
    /// `http://127.0.0.1:<port>`, also the relay's `http.public_url` unless the settings
    /// named one (relays sharing a database behind one load-balancer URL).
    pub url: String,
    /// The relay (its service, router...).
    pub relay: Relay,
    /// The tenant's slug ([`TEST_TENANT`]).
    pub tenant_id: String,
    /// The tenant's API key.
    pub api_key: String,
    /// The server task.
    pub handle: JoinHandle<anyhow::Result<()>>,
    /// `http://127.0.0.1:<port>` of the operations listener (`/metrics`).
    pub admin_url: String,
}

impl TestRelay {
    /// Stops the server and waits for it (graceful shutdown).
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.relay.stop();
        self.handle.await?
    }
}

/// Settings for a test relay with its data in `dir`: the operations listener on a free
/// loopback port (so that test relays do not race for 8421), and Web Push allowed to
/// plain-HTTP loopback receivers (the tests' own push endpoints).
pub fn test_settings(dir: &Path) -> Settings {
    let mut s = Settings {
        data_dir: dir.to_owned(),
        ..Settings::default()
    };
    s.http.admin_listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    s.push.webpush.allow_insecure_endpoints = true;
    s.push.webpush.allow_private_endpoints = true;
    s
}

/// Serves a relay with data in `dir` on `127.0.0.1:0` with tenant [`TEST_TENANT`].
pub async fn spawn_relay(dir: &Path) -> TestRelay {
    spawn_relay_with(test_settings(dir), Parts::default(), true).await
}

/// As [`spawn_relay`] with chosen settings and parts; `add_tenant` false when the data
/// folder already has the tenant (a restart): `api_key` is then empty.
pub async fn spawn_relay_with(mut settings: Settings, parts: Parts, add_tenant: bool) -> TestRelay {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let url = format!("http://{addr}");
    settings.http.listen = addr;
    if settings.http.public_url.is_none() {
        settings.http.public_url = Some(url.clone());
    }
    let relay = Relay::open_with(settings, parts)
        .await
        .expect("relay opens");
    let api_key = if add_tenant {
        relay
            .add_tenant(TEST_TENANT, "Test Bank", None)
            .await
            .expect("tenant")
            .api_key
    } else {
        String::new()
    };
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let admin_url = format!("http://{}", admin.local_addr().expect("local address"));
    let server = relay.clone();
    let handle = tokio::spawn(async move {
        server
            .serve_with_admin(listener, admin, std::future::pending())
            .await
    });
    TestRelay {
        url,
        relay,
        tenant_id: TEST_TENANT.to_owned(),
        api_key,
        handle,
        admin_url,
    }
}

pub mod proxy;
pub mod tampering;
