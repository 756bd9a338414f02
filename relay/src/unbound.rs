//! The background task that deletes credentials never bound to a user (issue 22, item
//! 3): a credential is provisioned by anyone who asks, so unused ones would pile up and
//! keep the ID space filling. After `retention.unbound_credential_days` (default 30; 0 = kept) one
//! that no binding and no challenge names is deleted. [`sweep`] is the work, which tests
//! call with a manual clock. Every relay on a shared database may run it: a deletion is
//! the same whoever makes it.

use std::time::Duration;

use crate::service::Service;
use crate::store::StoreError;

/// How often the task sweeps.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(3600);

/// Credentials deleted per pass at most (the next pass goes on).
pub const SWEEP_LIMIT: u32 = 10_000;

/// Deletes the credentials never bound and older than the setting; answers how many
/// (0 when the setting is 0).
pub async fn sweep(service: &Service) -> Result<u64, StoreError> {
    let days = service.settings().retention.unbound_credential_days;
    if days == 0 {
        return Ok(0);
    }
    let before = service.now() - i64::from(days) * 86_400;
    let deleted = service
        .store()
        .delete_unbound_credentials(before, SWEEP_LIMIT)
        .await?;
    if deleted > 0 {
        tracing::info!(deleted, days, "credentials never bound deleted");
    }
    Ok(deleted)
}

/// Runs until `shutdown` resolves: one sweep at start, then every [`SWEEP_INTERVAL`].
pub async fn run(service: Service, shutdown: crate::shutdown::Shutdown) {
    let mut tick = tokio::time::interval(SWEEP_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.wait() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = sweep(&service).await {
            tracing::warn!(error = %e, "cannot delete the credentials never bound; next try in an hour");
        }
    }
}
