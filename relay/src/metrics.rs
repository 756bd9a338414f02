//! Prometheus metrics: challenges by kind and outcome, push results, decision latency.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use onepush_protocol::{ChallengeKind, ChallengeStatus};

use crate::push::DeliveryOutcome;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder once (later calls reuse it) and answers its handle.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full(
                        "onepush_decision_latency_seconds".into(),
                    ),
                    &[1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0],
                )
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .clone()
}

/// The text exposition of every metric.
pub fn render() -> String {
    install().map(|h| h.render()).unwrap_or_default()
}

/// A challenge was created.
pub fn challenge_created(kind: ChallengeKind) {
    metrics::counter!("onepush_challenges_created_total", "kind" => kind.as_str()).increment(1);
}

/// A challenge ended; `latency` = seconds from creation to the end.
pub fn challenge_ended(kind: ChallengeKind, outcome: ChallengeStatus, latency: i64) {
    metrics::counter!("onepush_challenges_total", "kind" => kind.as_str(), "outcome" => outcome.as_str())
        .increment(1);
    if matches!(outcome, ChallengeStatus::Approved | ChallengeStatus::Denied) {
        #[allow(clippy::cast_precision_loss)] // seconds, far below 2^52
        metrics::histogram!("onepush_decision_latency_seconds", "kind" => kind.as_str())
            .record(latency as f64);
    }
}

/// The end of one Web Push delivery (after retries).
pub fn push_outcome(outcome: &DeliveryOutcome) {
    let result = match outcome {
        DeliveryOutcome::Sent => "sent",
        DeliveryOutcome::Gone => "gone",
        DeliveryOutcome::Failed => "failed",
    };
    metrics::counter!("onepush_push_results_total", "result" => result).increment(1);
}

/// One webhook attempt.
pub fn webhook_attempt(result: &'static str) {
    metrics::counter!("onepush_webhook_attempts_total", "result" => result).increment(1);
}
