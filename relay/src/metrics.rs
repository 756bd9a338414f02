//! Prometheus metrics: challenges by kind and outcome, push results, decision latency.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock, PoisonError, RwLock};
use std::time::Duration;

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
                .ok()?
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full(HTTP_DURATION.into()),
                    &[
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                        10.0, 30.0, 60.0,
                    ],
                )
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => {
                    describe();
                    Some(handle)
                }
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

/// The series of every challenge and push outcome, made once when the recorder is
/// installed ([`describe`]) and reused: a metric's key is label strings looked up in the
/// recorder's registry, which costs more than recording (as for [`http_request`]).
struct Series {
    /// `onepush_challenges_created_total` by kind.
    created: Vec<(ChallengeKind, metrics::Counter)>,
    /// `onepush_challenges_total` by kind and outcome.
    ended: Vec<((ChallengeKind, ChallengeStatus), metrics::Counter)>,
    /// `onepush_decision_latency_seconds` by kind.
    latency: Vec<(ChallengeKind, metrics::Histogram)>,
    /// `onepush_push_results_total` by result.
    push: Vec<(&'static str, metrics::Counter)>,
}

/// Set by [`describe`]; without a recorder each call makes its (no-op) handle.
static SERIES: OnceLock<Series> = OnceLock::new();

/// The handle of `key` in `series`.
fn series<'s, K: PartialEq, H>(series: &'s [(K, H)], key: &K) -> Option<&'s H> {
    series.iter().find(|(k, _)| k == key).map(|(_, h)| h)
}

/// A challenge was created.
pub fn challenge_created(kind: ChallengeKind) {
    match SERIES.get().and_then(|s| series(&s.created, &kind)) {
        Some(counter) => counter.increment(1),
        None => metrics::counter!("onepush_challenges_created_total", "kind" => kind.as_str())
            .increment(1),
    }
}

/// A challenge ended; `latency` = seconds from creation to the end.
pub fn challenge_ended(kind: ChallengeKind, outcome: ChallengeStatus, latency: i64) {
    let known = SERIES.get();
    match known.and_then(|s| series(&s.ended, &(kind, outcome))) {
        Some(counter) => counter.increment(1),
        None => metrics::counter!("onepush_challenges_total", "kind" => kind.as_str(), "outcome" => outcome.as_str())
            .increment(1),
    }
    if matches!(outcome, ChallengeStatus::Approved | ChallengeStatus::Denied) {
        #[allow(clippy::cast_precision_loss)] // seconds, far below 2^52
        let latency = latency as f64;
        match known.and_then(|s| series(&s.latency, &kind)) {
            Some(histogram) => histogram.record(latency),
            None => {
                metrics::histogram!("onepush_decision_latency_seconds", "kind" => kind.as_str())
                    .record(latency);
            }
        }
    }
}

/// The end of one Web Push delivery (after retries).
pub fn push_outcome(outcome: &DeliveryOutcome) {
    let result = match outcome {
        DeliveryOutcome::Sent => "sent",
        DeliveryOutcome::Gone => "gone",
        DeliveryOutcome::Failed => "failed",
    };
    match SERIES.get().and_then(|s| series(&s.push, &result)) {
        Some(counter) => counter.increment(1),
        None => metrics::counter!("onepush_push_results_total", "result" => result).increment(1),
    }
}

/// One webhook attempt.
pub fn webhook_attempt(result: &'static str) {
    metrics::counter!("onepush_webhook_attempts_total", "result" => result).increment(1);
}

/// HTTP requests answered, by route and status.
const HTTP_REQUESTS: &str = "onepush_http_requests_total";
/// Time to answer an HTTP request (to its head; an event stream's body goes on).
const HTTP_DURATION: &str = "onepush_http_request_duration_seconds";
/// Problems answered, by slug.
const PROBLEMS: &str = "onepush_problems_total";

/// Describes every metric (`# HELP`, `# TYPE`) and registers the series known from the
/// start at zero, so that a scrape right after start shows them all.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "onepush_challenges_created_total",
        "Challenges created, by kind."
    );
    describe_counter!(
        "onepush_challenges_total",
        "Challenges ended, by kind and outcome."
    );
    describe_histogram!(
        "onepush_decision_latency_seconds",
        metrics::Unit::Seconds,
        "Seconds from a challenge's creation to its approval or denial, by kind."
    );
    describe_counter!(
        "onepush_push_results_total",
        "Web Push deliveries (after retries), by result: sent, gone, failed."
    );
    describe_counter!(
        "onepush_webhook_attempts_total",
        "Webhook attempts, by result: delivered, retry, failed."
    );
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered on the public listener, by route (the matched path template; unmatched for none) and status."
    );
    describe_counter!(
        PROBLEMS,
        "Problems (application/problem+json) answered on either listener, by slug: the last segment of the problem type."
    );
    describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "Seconds to answer an HTTP request on the public listener (to the response head), by route and status."
    );
    describe_gauge!(
        "onepush_connections_open",
        "Connections open on the public listener."
    );
    describe_gauge!("onepush_event_streams_open", "Device event streams open.");
    describe_counter!(
        "onepush_limit_refusals_total",
        "Requests or connections refused or closed at a cap, by limit."
    );
    let mut known = Series {
        created: Vec::new(),
        ended: Vec::new(),
        latency: Vec::new(),
        push: Vec::new(),
    };
    for kind in onepush_protocol::ChallengeKind::ALL {
        let created =
            metrics::counter!("onepush_challenges_created_total", "kind" => kind.as_str());
        created.absolute(0);
        known.created.push((kind, created));
        for outcome in ChallengeStatus::ALL {
            if outcome != ChallengeStatus::Pending {
                let ended = metrics::counter!("onepush_challenges_total", "kind" => kind.as_str(), "outcome" => outcome.as_str());
                ended.absolute(0);
                known.ended.push(((kind, outcome), ended));
            }
        }
        known.latency.push((
            kind,
            metrics::histogram!("onepush_decision_latency_seconds", "kind" => kind.as_str()),
        ));
    }
    for result in ["sent", "gone", "failed"] {
        let counter = metrics::counter!("onepush_push_results_total", "result" => result);
        counter.absolute(0);
        known.push.push((result, counter));
    }
    let _ = SERIES.set(known);
    for result in ["delivered", "retry", "failed"] {
        metrics::counter!("onepush_webhook_attempts_total", "result" => result).absolute(0);
    }
    for limit in [
        "connections",
        "event_streams",
        "event_streams_per_credential",
        "long_polls_per_tenant",
        "idle_timeout",
        "refusal_audits",
    ] {
        metrics::counter!("onepush_limit_refusals_total", "limit" => limit).absolute(0);
    }
    metrics::gauge!("onepush_connections_open").set(0.0);
    metrics::gauge!("onepush_event_streams_open").set(0.0);
}

/// The request counter and duration histogram of one route and status.
type HttpSeries = (metrics::Counter, metrics::Histogram);

/// A route template's series, by status.
type SeriesByRoute = HashMap<String, Vec<(u16, HttpSeries)>>;

/// Every route's series by status, made on a route and status's first request and
/// reused: a metric's key is owned label strings looked up in the recorder's registry,
/// which costs more than recording, so it is done once per series, not per request.
/// Bounded as the series are: route templates times statuses.
static HTTP_SERIES: LazyLock<RwLock<SeriesByRoute>> = LazyLock::new(RwLock::default);

/// One HTTP request answered: `route` is the matched path template (never the path
/// itself, so the series stay few).
pub fn http_request(route: &str, status: u16, seconds: f64) {
    let record = |(requests, duration): &HttpSeries| {
        requests.increment(1);
        duration.record(seconds);
    };
    let found = |series: &SeriesByRoute| {
        series
            .get(route)
            .and_then(|by_status| by_status.iter().find(|(s, _)| *s == status))
            .map(|(_, handles)| handles.clone())
    };
    let known = found(&HTTP_SERIES.read().unwrap_or_else(PoisonError::into_inner));
    if let Some(handles) = known {
        record(&handles);
        return;
    }
    let mut series = HTTP_SERIES.write().unwrap_or_else(PoisonError::into_inner);
    let handles = found(&series).unwrap_or_else(|| {
        let labels = [("route", route.to_owned()), ("status", status.to_string())];
        let handles = (
            metrics::counter!(HTTP_REQUESTS, &labels),
            metrics::histogram!(HTTP_DURATION, &labels),
        );
        series
            .entry(route.to_owned())
            .or_default()
            .push((status, handles.clone()));
        handles
    });
    drop(series);
    record(&handles);
}

/// How often the recorder's histogram samples are folded into their buckets.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Folds the histogram samples recorded since the last scrape into their buckets every
/// [`UPKEEP_INTERVAL`], until `shutdown`. The recorder keeps each sample until then (it
/// is installed without its own upkeep task), so without this a relay nobody scrapes
/// would grow with every request.
pub async fn upkeep(shutdown: crate::shutdown::Shutdown) {
    let Some(handle) = install() else { return };
    loop {
        tokio::select! {
            () = tokio::time::sleep(UPKEEP_INTERVAL) => handle.run_upkeep(),
            () = shutdown.wait() => return,
        }
    }
}

/// One problem answered; `slug` is the last segment of its `type` (a few dozen values).
pub fn problem(slug: &'static str) {
    metrics::counter!(PROBLEMS, "slug" => slug).increment(1);
}

/// A request or connection refused (or a stream closed) at a cap.
pub fn limit_refused(limit: &'static str) {
    metrics::counter!("onepush_limit_refusals_total", "limit" => limit).increment(1);
}

/// Event streams open now.
pub fn event_streams_open(open: usize) {
    #[allow(clippy::cast_precision_loss)] // far below 2^52
    metrics::gauge!("onepush_event_streams_open").set(open as f64);
}

/// Connections open now on the public listener.
pub fn connections_open(open: usize) {
    #[allow(clippy::cast_precision_loss)] // far below 2^52
    metrics::gauge!("onepush_connections_open").set(open as f64);
}
