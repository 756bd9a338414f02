//! The webhook worker: claims due messages from the store's outbox, signs and POSTs
//! them (Standard Webhooks), and records the result with the backoff schedule.
//!
//! Every relay on a shared database runs one; a claim leases its messages, so each
//! attempt is made by one relay. A relay killed holding a lease leaves its messages to
//! the others once the lease runs out: at least once, under a stable `webhook-id`.

use std::time::Duration;

use crate::service::Service;
use crate::shutdown::Shutdown;
use crate::store::{OutboxMessage, OutboxUpdate};
use crate::webhook::{WebhookClient, WebhookResult, next_attempt_delay};

/// Messages claimed at once.
const BATCH: u32 = 10;
/// A claimed message is not handed out again for this long (seconds): longer than a
/// batch takes when every request runs into the relay's 10 s webhook timeout, so a live
/// relay never loses its lease to another.
const LEASE_SECONDS: i64 = 120;

/// Runs until `shutdown` resolves; wakes when a message is queued and every second.
pub async fn run(service: Service, client: WebhookClient, shutdown: Shutdown) {
    let mut failing = false;
    loop {
        match pass(&service, &client).await {
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
            () = shutdown.wait() => return,
            () = service.webhook_wake.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Delivers every due message once, a batch at a time.
pub async fn pass(
    service: &Service,
    client: &WebhookClient,
) -> Result<usize, crate::store::StoreError> {
    let mut count = 0;
    loop {
        let due = service
            .store
            .claim_webhooks(service.now(), LEASE_SECONDS, BATCH)
            .await?;
        let claimed = due.len();
        for message in due {
            let update = attempt(service, client, &message).await?;
            service.store.webhook_attempted(&message.id, update).await?;
        }
        count += claimed;
        if claimed < BATCH as usize {
            return Ok(count);
        }
    }
}

async fn attempt(
    service: &Service,
    client: &WebhookClient,
    message: &OutboxMessage,
) -> Result<OutboxUpdate, crate::store::StoreError> {
    let tenant = service.tenant(&message.tenant_id).await?;
    let (Some(url), Some(secret)) = (tenant.webhook_url, tenant.webhook_secret) else {
        return Ok(OutboxUpdate::Failed);
    };
    let result = client
        .deliver(&url, &secret, &message.id, &message.body, service.now())
        .await;
    Ok(match result {
        WebhookResult::Delivered => {
            crate::metrics::webhook_attempt("delivered");
            OutboxUpdate::Delivered
        }
        WebhookResult::Retry { status } => {
            crate::metrics::webhook_attempt("retry");
            if let Some(delay) = next_attempt_delay(message.attempts + 1) {
                let at = service.now() + i64::try_from(delay.as_secs()).unwrap_or(i64::MAX / 2);
                tracing::info!(id = %message.id, ?status, retry_at = at, "webhook will be retried");
                OutboxUpdate::RetryAt(at)
            } else {
                tracing::warn!(id = %message.id, ?status, "webhook given up after retries");
                OutboxUpdate::Failed
            }
        }
        WebhookResult::Failed { status } => {
            crate::metrics::webhook_attempt("failed");
            tracing::warn!(id = %message.id, ?status, "webhook refused; not retried");
            OutboxUpdate::Failed
        }
    })
}
