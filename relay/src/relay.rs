//! [`Relay`]: the assembled service (store, keys, notifier, push sender) and how it is served.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::clock::{Clock, SystemClock};
use crate::keys::RelayKeys;
use crate::notify::postgres::PgNotifier;
use crate::notify::{InProcessNotifier, Notifier};
use crate::push::{Channels, PushSender};
use crate::serve::ConnectionLimits;
use crate::service::{NewTenant, Service};
use crate::settings::Settings;
use crate::shutdown::{self, Shutdown, Trigger};
use crate::store::Store;
use crate::webhook::WebhookClient;

/// Time each push request (Web Push, APNs, FCM, OAuth) may take.
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// A running relay's parts; cheap to clone.
#[derive(Clone, Debug)]
pub struct Relay {
    service: Service,
    trigger: Arc<Trigger>,
    shutdown: Shutdown,
}

/// What [`Relay::open_with`] can replace (tests inject a manual clock or a recording push sender).
#[derive(Default)]
pub struct Parts {
    /// The clock (system clock by default).
    pub clock: Option<Arc<dyn Clock>>,
    /// The push sender ([`Channels`] from the settings, with the relay's VAPID key, by default).
    pub push: Option<Arc<dyn PushSender>>,
    /// The notifier (by default in-process on SQLite, LISTEN/NOTIFY on PostgreSQL).
    pub notifier: Option<Arc<dyn Notifier>>,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts").finish_non_exhaustive()
    }
}

impl Relay {
    /// Validates the settings, opens the store chosen by the database URL's scheme
    /// (running migrations) and loads or creates the keys. On PostgreSQL the relay also
    /// listens for changes made by other relays on the same database.
    pub async fn open(settings: Settings) -> anyhow::Result<Self> {
        Self::open_with(settings, Parts::default()).await
    }

    /// As [`Relay::open`], with some parts replaced.
    pub async fn open_with(settings: Settings, parts: Parts) -> anyhow::Result<Self> {
        settings.validate()?;
        std::fs::create_dir_all(&settings.data_dir).with_context(|| {
            format!("cannot create data folder {}", settings.data_dir.display())
        })?;
        let master = settings
            .master_key
            .as_ref()
            .and_then(|k| onepush_protocol::b64::decode_array::<32>(&k.0));
        let keys = Arc::new(RelayKeys::load_or_create(&settings.data_dir, master)?);
        let store = crate::store::open(&settings.database_url(), &settings.store_options())
            .await
            .with_context(|| {
                format!("cannot open database {}", settings.database_url_redacted())
            })?;
        let clock = parts.clock.unwrap_or_else(|| Arc::new(SystemClock));
        crate::cluster::check(
            &store,
            &keys,
            &settings.data_dir,
            settings.master_key.is_some(),
            clock.now_unix(),
        )
        .await?;
        let (trigger, shutdown) = shutdown::channel();
        let notifier: Arc<dyn Notifier> = match (parts.notifier, &store) {
            (Some(notifier), _) => notifier,
            (None, Store::Postgres(pg)) => Arc::new(
                PgNotifier::start(pg.clone(), shutdown.clone())
                    .await
                    .context("cannot LISTEN for the changes other relays make")?,
            ),
            (None, Store::Sqlite(_)) => Arc::new(InProcessNotifier::new()),
        };
        let store = Arc::new(store);
        let push: Arc<dyn PushSender> = match parts.push {
            Some(p) => p,
            None => Arc::new(Channels::from_settings(
                &settings,
                keys.vapid_private(),
                PUSH_TIMEOUT,
            )?),
        };
        let service = Service::new(store, clock, notifier, push, keys, Arc::new(settings));
        // Webhook secrets written in clear by an older relay are sealed before use.
        service
            .seal_clear_webhook_secrets()
            .await
            .context("cannot seal the stored webhook secrets")?;
        // Suspensions stored by an operator (R18) are in force from the first request.
        service
            .refresh_maintenance()
            .await
            .context("cannot read the maintenance state")?;
        crate::metrics::install();
        Ok(Self {
            service,
            trigger: Arc::new(trigger),
            shutdown,
        })
    }

    /// The use cases (for tests and tools).
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// The application router, for `oneshot` tests.
    pub fn router(&self) -> axum::Router {
        crate::http::router(&self.service, self.shutdown.clone())
    }

    /// Creates a tenant; the API key is only returned here.
    pub async fn add_tenant(
        &self,
        slug: &str,
        display_name: &str,
        webhook_url: Option<String>,
    ) -> anyhow::Result<NewTenant> {
        Ok(self
            .service
            .add_tenant(slug, display_name, webhook_url)
            .await?)
    }

    /// Ends every overdue challenge now (what the expiry task does every half second).
    pub async fn expire_overdue(&self) -> anyhow::Result<usize> {
        Ok(self.service.expire_overdue().await?)
    }

    /// Serves HTTP/1.1 and HTTP/2 without TLS (h2c, prior knowledge; hyper's default of
    /// 200 concurrent streams per connection) on `listener`, and the operations routes
    /// (`/metrics`, `/maintenance`) on the setting `http.admin_listen`, with the background
    /// tasks (expiry, webhooks, the sweep of never-bound credentials, the maintenance
    /// poll), until `shutdown` resolves; then
    /// stops taking connections, ends event streams and long-polls, and waits for
    /// requests in flight.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = self.service.settings().http.admin_listen;
        let admin = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on admin_listen {addr}: {e}"))?;
        self.serve_with_admin(listener, admin, shutdown).await
    }

    /// As [`Relay::serve`], with the operations listener bound by the caller.
    pub async fn serve_with_admin(
        self,
        listener: tokio::net::TcpListener,
        admin: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let webhooks = WebhookClient::new(Duration::from_secs(u64::from(
            self.service.settings().webhooks.timeout_seconds,
        )))?;
        let retention = tokio::spawn(crate::retention::run(
            self.service.clone(),
            self.shutdown.clone(),
        ));
        let expiry = tokio::spawn(crate::expiry::run(
            self.service.clone(),
            self.shutdown.clone(),
        ));
        let outbox = tokio::spawn(crate::outbox::run(
            self.service.clone(),
            webhooks,
            self.shutdown.clone(),
        ));
        let sweep = tokio::spawn(crate::unbound::run(
            self.service.clone(),
            self.shutdown.clone(),
        ));
        let maintenance = tokio::spawn(crate::service::maintenance::watch(
            self.service.clone(),
            self.shutdown.clone(),
        ));
        tokio::spawn(crate::metrics::upkeep(self.shutdown.clone()));
        let trigger = self.trigger.clone();
        let stopped = self.shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = shutdown => {}
                () = stopped.wait() => {}
            }
            trigger.fire();
        });
        let state = crate::http::state(&self.service, self.shutdown.clone());
        let limits = ConnectionLimits::from_settings(self.service.settings());
        tracing::info!(addr = %listener.local_addr()?, "relay listening");
        tracing::info!(addr = %admin.local_addr()?, "operations (/metrics) listening");
        let public = crate::serve::serve(
            listener,
            crate::http::app(state.clone()),
            limits,
            self.shutdown.clone(),
            true,
        );
        let operations = crate::serve::serve(
            admin,
            crate::http::admin::admin_router(state),
            limits,
            self.shutdown.clone(),
            false,
        );
        tokio::join!(public, operations);
        self.trigger.fire();
        let _ = tokio::join!(expiry, outbox, sweep, retention, maintenance);
        tracing::info!("relay stopped");
        Ok(())
    }

    /// Asks a running [`Relay::serve`] to stop (same as its shutdown future resolving).
    pub fn stop(&self) {
        self.trigger.fire();
    }
}
