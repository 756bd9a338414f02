//! The webhook worker: claims due messages from the store's outbox, signs and POSTs
//! them (Standard Webhooks), and records the result with the backoff schedule.
//!
//! Fair across tenants (issue 22): deliveries run concurrently, at most
//! `webhooks.concurrency` at once and `webhooks.per_tenant` per tenant, and each pass
//! claims round-robin, tenant by tenant, only as many messages as that tenant has room
//! for. A tenant whose endpoint keeps failing has its [`circuit`] opened: its messages
//! wait in the outbox instead of holding connections. So one tenant's dead endpoint
//! (every attempt running into the timeout) holds at most its own slots, and other
//! tenants' messages are claimed and sent meanwhile.
//!
//! Every relay on a shared database runs one; a claim leases its messages, so each
//! attempt is made by one relay. A relay killed holding a lease leaves its messages to
//! the others once the lease runs out: at least once, under a stable `webhook-id`.

pub mod circuit;

use std::collections::HashMap;
use std::time::Duration;

use onepush_protocol::TenantId;
use tokio::task::JoinSet;

use crate::service::Service;
use crate::shutdown::Shutdown;
use crate::store::{OutboxMessage, OutboxUpdate, StoreError};
use crate::webhook::{WebhookClient, WebhookResult, next_attempt_delay};

use circuit::Circuits;

/// How long a claimed message is not handed out again (seconds), for a webhook timeout of
/// `timeout_seconds`: twice what an attempt may take plus the time to record it, so a live
/// relay never loses its lease to another, and no longer, so a message a killed relay held
/// is sent again soon (30 s at the default 10 s timeout, 130 s at the most, 60 s).
/// Messages are claimed only when a slot is free, so none waits.
pub fn lease_seconds(timeout_seconds: u32) -> i64 {
    2 * i64::from(timeout_seconds) + 10
}

/// What a finished delivery reports to the dispatcher.
struct Done {
    /// `Some(answered)` when the endpoint was tried: whether it gave a usable answer.
    answered: Option<bool>,
    recorded: Result<(), StoreError>,
}

/// Claims and starts deliveries within the limits, and keeps the circuits.
pub struct Dispatcher {
    service: Service,
    client: WebhookClient,
    per_tenant: u32,
    overall: u32,
    /// Seconds a claim leases its messages ([`lease_seconds`]).
    lease: i64,
    in_flight: HashMap<TenantId, u32>,
    circuits: Circuits,
    tasks: JoinSet<Done>,
    /// The tenant of each delivery in flight.
    task_tenants: HashMap<tokio::task::Id, TenantId>,
    /// Round-robin: the tenant after which the next pass starts.
    last_first: Option<TenantId>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("in_flight", &self.in_flight)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// A dispatcher with the limits and circuit settings of `service`'s settings.
    pub fn new(service: Service, client: WebhookClient) -> Self {
        let settings = service.settings();
        let (per_tenant, overall) = (settings.webhooks.per_tenant, settings.webhooks.concurrency);
        let lease = lease_seconds(settings.webhooks.timeout_seconds);
        let circuits = Circuits::new(
            settings.webhooks.circuit_failures,
            settings.webhooks.circuit_open_seconds,
        );
        Self {
            service,
            client,
            per_tenant,
            overall,
            lease,
            in_flight: HashMap::new(),
            circuits,
            tasks: JoinSet::new(),
            task_tenants: HashMap::new(),
            last_first: None,
        }
    }

    /// Deliveries in flight.
    pub fn in_flight(&self) -> usize {
        self.tasks.len()
    }

    /// Claims, tenant by tenant (round-robin), as many due messages as each has room
    /// for, and starts their deliveries; answers how many started.
    pub async fn dispatch(&mut self) -> Result<usize, StoreError> {
        let now = self.service.now();
        let mut tenants = self.service.store.tenants_with_due_webhooks(now).await?;
        // Start after the tenant that went first last time.
        if let Some(last) = &self.last_first {
            let at = tenants.partition_point(|t| t <= last);
            tenants.rotate_left(at);
        }
        let mut started = 0;
        let mut first = None;
        for tenant in tenants {
            let room_overall = self.overall.saturating_sub(self.total());
            if room_overall == 0 {
                break;
            }
            let busy = self.in_flight.get(&tenant).copied().unwrap_or(0);
            let room = self
                .circuits
                .allowance(&tenant, now, self.per_tenant)
                .saturating_sub(busy)
                .min(room_overall);
            if room == 0 {
                continue;
            }
            let claimed = self
                .service
                .store
                .claim_tenant_webhooks(&tenant, now, self.lease, room)
                .await?;
            if claimed.is_empty() {
                continue;
            }
            first.get_or_insert_with(|| tenant.clone());
            for message in claimed {
                *self.in_flight.entry(tenant.clone()).or_default() += 1;
                let (service, client) = (self.service.clone(), self.client.clone());
                let task = self
                    .tasks
                    .spawn(async move { deliver(service, client, message).await });
                self.task_tenants.insert(task.id(), tenant.clone());
                started += 1;
            }
        }
        if first.is_some() {
            self.last_first = first;
        }
        Ok(started)
    }

    /// Waits for the next delivery to finish and records it in the circuits; `None` when
    /// none is in flight.
    pub async fn next_done(&mut self) -> Option<Result<(), StoreError>> {
        let joined = self.tasks.join_next_with_id().await?;
        let id = match &joined {
            Ok((id, _)) => *id,
            Err(e) => e.id(),
        };
        let tenant = self.task_tenants.remove(&id)?;
        if let Some(count) = self.in_flight.get_mut(&tenant) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.in_flight.remove(&tenant);
            }
        }
        Some(match joined {
            Ok((_, done)) => {
                if let Some(answered) = done.answered {
                    self.circuits.record(&tenant, answered, self.service.now());
                }
                done.recorded
            }
            Err(e) => {
                // A panicked delivery: its lease runs out and the message is sent again.
                tracing::error!(error = %e, "webhook delivery task failed");
                Ok(())
            }
        })
    }

    /// Whether `tenant`'s circuit is open (or letting one probe through) now.
    pub fn circuit_open(&self, tenant: &TenantId) -> bool {
        self.circuits.is_open(tenant, self.service.now())
    }

    fn total(&self) -> u32 {
        u32::try_from(self.tasks.len()).unwrap_or(u32::MAX)
    }
}

/// Runs until `shutdown` resolves; claims when a message is queued, when a delivery
/// ends, and every second. At shutdown, waits for the deliveries in flight (each bounded
/// by the client's timeout).
pub async fn run(service: Service, client: WebhookClient, shutdown: Shutdown) {
    let wake = service.webhook_wake.clone();
    let mut dispatcher = Dispatcher::new(service, client);
    let mut failing = false;
    loop {
        let result = dispatcher.dispatch().await;
        match result {
            Ok(_) if failing => {
                tracing::info!("webhook passes work again");
                failing = false;
            }
            // Logged once per outage, not every second.
            Err(e) if !failing => {
                tracing::error!(error = %e, "webhook pass failed; retrying every second");
                failing = true;
            }
            Ok(_) | Err(_) => {}
        }
        tokio::select! {
            () = shutdown.wait() => break,
            Some(done) = dispatcher.next_done(), if dispatcher.in_flight() > 0 => {
                if let Err(e) = done {
                    tracing::error!(error = %e, "cannot record a webhook attempt");
                }
            }
            () = wake.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
    while let Some(done) = dispatcher.next_done().await {
        if let Err(e) = done {
            tracing::error!(error = %e, "cannot record a webhook attempt");
        }
    }
}

/// Attempts one message and records the result.
async fn deliver(service: Service, client: WebhookClient, message: OutboxMessage) -> Done {
    let (update, answered) = match attempt(&service, &client, &message).await {
        Ok(outcome) => outcome,
        Err(e) => {
            return Done {
                answered: None,
                recorded: Err(e),
            };
        }
    };
    let recorded = service.store.webhook_attempted(&message.id, update).await;
    Done { answered, recorded }
}

async fn attempt(
    service: &Service,
    client: &WebhookClient,
    message: &OutboxMessage,
) -> Result<(OutboxUpdate, Option<bool>), StoreError> {
    let mut tenant = service.tenant(&message.tenant_id).await?;
    if tenant.webhook_url.is_some() && tenant.webhook_secret.is_none() {
        // Added by an older relay after this one started: seal its clear secret now.
        service.seal_clear_webhook_secrets().await?;
        tenant = service.store.tenant(&message.tenant_id).await?;
    }
    let secret = service.open_webhook_secret(&tenant);
    let (Some(url), Some(secret)) = (tenant.webhook_url.as_deref(), secret) else {
        return Ok((OutboxUpdate::Failed, None));
    };
    let result = client
        .deliver(url, &secret, &message.id, &message.body, service.now())
        .await;
    Ok(match result {
        WebhookResult::Delivered => {
            crate::metrics::webhook_attempt("delivered");
            (OutboxUpdate::Delivered, Some(true))
        }
        WebhookResult::Retry { status } => {
            crate::metrics::webhook_attempt("retry");
            let update = if let Some(delay) = next_attempt_delay(message.attempts + 1) {
                let at = service.now() + i64::try_from(delay.as_secs()).unwrap_or(i64::MAX / 2);
                tracing::info!(id = %message.id, ?status, retry_at = at, "webhook will be retried");
                OutboxUpdate::RetryAt(at)
            } else {
                tracing::warn!(id = %message.id, ?status, "webhook given up after retries");
                OutboxUpdate::Failed
            };
            (update, Some(false))
        }
        WebhookResult::Failed { status } => {
            crate::metrics::webhook_attempt("failed");
            tracing::warn!(id = %message.id, ?status, "webhook refused; not retried");
            // An answer, if a refusal: the endpoint is up (a bad URL never is tried).
            (OutboxUpdate::Failed, status.map(|_| true))
        }
    })
}
