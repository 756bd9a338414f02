//! The background task that ends overdue challenges (`expired` or `undeliverable`).
//! The work is [`Service::expire_overdue`], which tests call with a manual clock.
//!
//! Every relay on a shared database runs it. Two may pick the same overdue challenge;
//! the store's conditional update (`WHERE status = 'pending'`) lets exactly one end it,
//! and only that one audits, notifies and queues the webhook (in the same transaction as
//! the end), so a challenge left by a killed relay is ended once, by another.

use std::time::Duration;

use crate::service::Service;

/// How often the task looks for overdue challenges.
pub const EXPIRY_INTERVAL: Duration = Duration::from_millis(500);

/// Runs until `shutdown` resolves.
pub async fn run(service: Service, shutdown: crate::shutdown::Shutdown) {
    let mut tick = tokio::time::interval(EXPIRY_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            () = shutdown.wait() => return,
            _ = tick.tick() => {}
        }
        // Expired proof `jti`s are forgotten here, once a tick, rather than before every
        // proof is recorded.
        match service.store().prune_jtis(service.now()).await {
            Ok(n) => crate::retention::deleted("jtis", n),
            Err(e) => tracing::debug!(error = %e, "cannot prune expired proof jtis"),
        }
        match service.expire_overdue().await {
            Ok(n) => {
                if failing {
                    tracing::info!("expiry passes work again");
                    failing = false;
                }
                if n > 0 {
                    tracing::debug!(ended = n, "overdue challenges ended");
                }
            }
            // Logged once per outage, not twice a second.
            Err(e) if !failing => {
                tracing::error!(error = %e, "expiry pass failed; retrying every {EXPIRY_INTERVAL:?}");
                failing = true;
            }
            Err(_) => {}
        }
    }
}
