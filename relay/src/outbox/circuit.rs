//! A circuit breaker per tenant webhook endpoint, kept by each relay: after
//! `failures` consecutive attempts without a usable answer (no answer, 429, 5xx) the
//! tenant's messages are not claimed for `open` seconds; then one probe is let through
//! (half-open). A probe answered closes the circuit; a failed one opens it again for
//! twice as long, up to [`MAX_OPEN_SECONDS`]. Messages wait in the outbox meanwhile and
//! keep their retry schedule: an outage does not use their attempts up.

use std::collections::HashMap;

use onepush_protocol::TenantId;

/// The longest a circuit stays open before the next probe (seconds).
pub const MAX_OPEN_SECONDS: i64 = 3600;

/// The circuits of every tenant this relay delivered to.
#[derive(Debug, Clone)]
pub struct Circuits {
    threshold: u32,
    open_seconds: i64,
    tenants: HashMap<TenantId, Circuit>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Circuit {
    /// Consecutive failed attempts.
    failures: u32,
    /// While open, until when (Unix seconds).
    open_until: Option<i64>,
    /// How often it opened in a row (the next open period doubles).
    opened: u32,
}

impl Circuits {
    /// Circuits that open after `threshold` consecutive failures, first for
    /// `open_seconds`.
    pub fn new(threshold: u32, open_seconds: u32) -> Self {
        Self {
            threshold: threshold.max(1),
            open_seconds: i64::from(open_seconds.max(1)),
            tenants: HashMap::new(),
        }
    }

    /// How many deliveries `tenant` may have in flight at `now`: `full` while its circuit
    /// is closed, 0 while open, 1 (the probe) once the open period has passed.
    pub fn allowance(&self, tenant: &TenantId, now: i64, full: u32) -> u32 {
        match self.tenants.get(tenant) {
            None => full,
            Some(c) => match c.open_until {
                None => full,
                Some(until) if now < until => 0,
                Some(_) => 1,
            },
        }
    }

    /// Whether `tenant`'s circuit is open (or half-open) at `now`.
    pub fn is_open(&self, tenant: &TenantId, now: i64) -> bool {
        self.allowance(tenant, now, 2) < 2
    }

    /// Records an attempt's outcome at `now`: `answered` when the endpoint gave a usable
    /// answer (2xx, or a refusal that is not retried).
    pub fn record(&mut self, tenant: &TenantId, answered: bool, now: i64) {
        if answered {
            if self
                .tenants
                .remove(tenant)
                .is_some_and(|c| c.open_until.is_some())
            {
                tracing::info!(%tenant, "webhook endpoint answers again; circuit closed");
            }
            return;
        }
        let circuit = self.tenants.entry(tenant.clone()).or_default();
        circuit.failures = circuit.failures.saturating_add(1);
        let probe_failed = circuit.open_until.is_some_and(|until| now >= until);
        let reached = circuit.open_until.is_none() && circuit.failures >= self.threshold;
        if probe_failed || reached {
            let factor = 1_i64 << circuit.opened.min(20);
            let seconds = self
                .open_seconds
                .saturating_mul(factor)
                .min(MAX_OPEN_SECONDS);
            circuit.open_until = Some(now + seconds);
            circuit.opened = circuit.opened.saturating_add(1);
            metrics::counter!("onepush_webhook_circuit_opened_total").increment(1);
            tracing::warn!(%tenant, failures = circuit.failures, seconds, "webhook endpoint keeps failing; circuit open");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bank() -> TenantId {
        "bank".parse().unwrap()
    }

    #[test]
    fn a_circuit_opens_after_consecutive_failures_and_an_answer_resets_the_count() {
        let mut c = Circuits::new(3, 60);
        let t = bank();
        c.record(&t, false, 0);
        c.record(&t, false, 0);
        c.record(&t, true, 0);
        c.record(&t, false, 0);
        c.record(&t, false, 0);
        assert_eq!(c.allowance(&t, 0, 4), 4, "two in a row since the answer");
        c.record(&t, false, 10);
        assert_eq!(c.allowance(&t, 10, 4), 0);
        assert_eq!(c.allowance(&t, 69, 4), 0);
        assert_eq!(
            c.allowance(&t, 70, 4),
            1,
            "one probe once the period passed"
        );
        let other: TenantId = "other".parse().unwrap();
        assert_eq!(
            c.allowance(&other, 10, 4),
            4,
            "other tenants are not affected"
        );
    }

    #[test]
    fn a_failed_probe_doubles_the_open_period_and_an_answered_one_closes_it() {
        let mut c = Circuits::new(1, 60);
        let t = bank();
        c.record(&t, false, 0);
        assert_eq!(c.allowance(&t, 59, 4), 0);
        c.record(&t, false, 60);
        assert_eq!(
            c.allowance(&t, 179, 4),
            0,
            "open 120 s after the failed probe"
        );
        assert_eq!(c.allowance(&t, 180, 4), 1);
        c.record(&t, false, 180);
        assert_eq!(c.allowance(&t, 419, 4), 0, "then 240 s");
        c.record(&t, true, 420);
        assert_eq!(c.allowance(&t, 420, 4), 4);
        assert!(!c.is_open(&t, 420));
    }

    #[test]
    fn late_failures_of_attempts_started_before_the_circuit_opened_do_not_extend_it() {
        let mut c = Circuits::new(2, 60);
        let t = bank();
        c.record(&t, false, 0);
        c.record(&t, false, 0);
        c.record(&t, false, 5);
        c.record(&t, false, 6);
        assert_eq!(c.allowance(&t, 60, 4), 1);
    }

    #[test]
    fn the_open_period_is_capped() {
        let mut c = Circuits::new(1, 600);
        let t = bank();
        let mut now = 0;
        for _ in 0..40 {
            c.record(&t, false, now);
            now += MAX_OPEN_SECONDS;
        }
        assert_eq!(c.allowance(&t, now - 1, 4), 0);
        assert_eq!(c.allowance(&t, now, 4), 1);
    }
}
