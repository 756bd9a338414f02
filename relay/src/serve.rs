//! The accept loop of a listener (issue 22, item 4): HTTP/1.1 and h2c on one port, with
//! what `axum::serve` has no setting for:
//!
//! - a cap on open connections: past it a connection is answered 503 `overloaded` (with
//!   `Retry-After`) and closed; past it by more than [`OVERFLOW`] it is closed unanswered;
//! - a header-read timeout (HTTP/1.1: the whole head within `http.header_read_timeout_seconds`,
//!   slowloris);
//! - an idle timeout: a connection with no request in flight for `http.idle_timeout_seconds`
//!   is closed (also one that never sends a byte; an event stream or a long-poll is a
//!   request in flight);
//! - HTTP/2 keep-alive pings (`http.http2_keep_alive_seconds`): a peer that stops answering
//!   them is dropped.
//!
//! On shutdown it stops accepting, asks every connection to finish its requests in flight
//! and waits for them (at most [`SHUTDOWN_GRACE`]).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, header};
use axum::response::IntoResponse as _;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tower::Service as _;

use crate::http::error::ApiError;
use crate::settings::Settings;
use crate::shutdown::Shutdown;

/// Connections past the cap that are still answered 503 (each briefly); beyond them a
/// connection is closed at once.
pub const OVERFLOW: usize = 256;

/// How long an idle connection asked to close may take to do so before it is dropped.
const IDLE_CLOSE_GRACE: Duration = Duration::from_secs(10);

/// How long a connection may take to finish its requests after shutdown began (event
/// streams and long-polls end at once; other requests take milliseconds) before it is
/// dropped, so that a peer that ignores the close cannot hold the relay's exit.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// How long an answered over-cap connection may stay open.
const OVER_CAP_LINGER: Duration = Duration::from_secs(1);

/// The connection settings of a listener.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Most connections open at once.
    pub max_connections: usize,
    /// Time to send a request head (HTTP/1.1).
    pub header_read_timeout: Duration,
    /// Time a connection may stay open with no request in flight.
    pub idle_timeout: Duration,
    /// Interval (and timeout) of HTTP/2 keep-alive pings.
    pub http2_keep_alive: Duration,
}

impl ConnectionLimits {
    /// The limits of `settings`.
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            max_connections: usize::try_from(settings.http.connections_max).unwrap_or(usize::MAX),
            header_read_timeout: Duration::from_secs(
                settings.http.header_read_timeout_seconds.into(),
            ),
            idle_timeout: Duration::from_secs(settings.http.idle_timeout_seconds.into()),
            http2_keep_alive: Duration::from_secs(settings.http.http2_keep_alive_seconds.into()),
        }
    }
}

/// Serves `app` on `listener` until `shutdown`, then waits for the open connections'
/// requests in flight. `count` says whether this listener's connections are the ones
/// the `onepush_connections_open` gauge shows (the public listener's).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: Shutdown,
    count: bool,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.http2_keep_alive)
        .keep_alive_timeout(limits.http2_keep_alive);
    let builder = Arc::new(builder);
    let open = Arc::new(AtomicUsize::new(0));
    // Every connection task holds a sender: when all are gone, the receiver says so.
    let (alive, mut all_closed) = mpsc::channel::<()>(1);
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.wait() => break,
        };
        let held = Held::new(&open, count);
        if held.open > limits.max_connections + OVERFLOW {
            crate::metrics::limit_refused("connections");
            continue;
        }
        let over = held.open > limits.max_connections;
        if over {
            crate::metrics::limit_refused("connections");
        }
        // Answers and event-stream events are small writes: without TCP_NODELAY a second
        // one waits for the ACK of the first (Nagle), up to the peer's delayed-ACK time.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let connection = Connection {
            builder: builder.clone(),
            app: app.clone(),
            remote,
            idle: if over {
                OVER_CAP_LINGER
            } else {
                limits.idle_timeout
            },
            over,
            shutdown: shutdown.clone(),
        };
        let alive = alive.clone();
        tokio::spawn(async move {
            connection.run(tcp).await;
            drop(held);
            drop(alive);
        });
    }
    drop(alive);
    let _ = all_closed.recv().await;
}

/// One open connection, counted until dropped.
struct Held {
    counter: Arc<AtomicUsize>,
    open: usize,
    count: bool,
}

impl Held {
    fn new(counter: &Arc<AtomicUsize>, count: bool) -> Self {
        let open = counter.fetch_add(1, Ordering::AcqRel) + 1;
        if count {
            crate::metrics::connections_open(open);
        }
        Self {
            counter: counter.clone(),
            open,
            count,
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let open = self.counter.fetch_sub(1, Ordering::AcqRel) - 1;
        if self.count {
            crate::metrics::connections_open(open);
        }
    }
}

struct Connection {
    builder: Arc<auto::Builder<TokioExecutor>>,
    app: Router,
    remote: SocketAddr,
    idle: Duration,
    over: bool,
    shutdown: Shutdown,
}

impl Connection {
    async fn run(self, tcp: TcpStream) {
        let activity = Arc::new(Activity::new());
        let (app, remote, over) = (self.app, self.remote, self.over);
        let tracked = activity.clone();
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let (mut app, activity) = (app.clone(), tracked.clone());
            async move {
                if over {
                    return Ok::<_, Infallible>(over_cap());
                }
                let busy = activity.begin();
                let mut req = req.map(Body::new);
                req.extensions_mut().insert(ConnectInfo(remote));
                let response = app.call(req).await.unwrap_or_else(|e| match e {});
                // In flight until its body is done (an event stream: until it ends).
                Ok(response.map(|body| {
                    Body::new(body.map_frame(move |frame| {
                        let _ = &busy;
                        frame
                    }))
                }))
            }
        });
        let connection = self.builder.serve_connection(TokioIo::new(tcp), service);
        tokio::pin!(connection);
        let (mut stopping, mut idle_closed) = (false, false);
        // Set once idle: a peer that does not take part in the graceful close (an HTTP/2
        // peer that never answers the GOAWAY's PING) is dropped after this much more.
        let give_up = tokio::time::sleep(Duration::MAX);
        tokio::pin!(give_up);
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, peer = %remote, "connection ended");
                    }
                    return;
                }
                () = self.shutdown.wait(), if !stopping => {
                    stopping = true;
                    connection.as_mut().graceful_shutdown();
                    let by = tokio::time::Instant::now() + SHUTDOWN_GRACE;
                    if by < give_up.deadline() {
                        give_up.as_mut().reset(by);
                    }
                }
                () = activity.idle_for(self.idle), if !idle_closed => {
                    idle_closed = true;
                    if !over {
                        crate::metrics::limit_refused("idle_timeout");
                    }
                    connection.as_mut().graceful_shutdown();
                    let by = tokio::time::Instant::now() + self.idle.min(IDLE_CLOSE_GRACE);
                    if by < give_up.deadline() {
                        give_up.as_mut().reset(by);
                    }
                }
                () = &mut give_up, if idle_closed || stopping => {
                    tracing::debug!(peer = %remote, "connection dropped: it did not close when asked");
                    return;
                }
            }
        }
    }
}

/// The answer on a connection past the cap.
fn over_cap() -> Response<Body> {
    let mut response = ApiError::Overloaded("connections").into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Requests in flight on a connection, and when the last one ended.
struct Activity {
    in_flight: AtomicUsize,
    since: Mutex<Instant>,
}

/// A request in flight; ends when dropped.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        *self.0.since.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Activity {
    fn new() -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            since: Mutex::new(Instant::now()),
        }
    }

    fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy(self.clone())
    }

    /// Resolves once no request has been in flight for `idle`. Wakes about once per
    /// `idle` (a request in flight is looked at again after `idle`).
    async fn idle_for(&self, idle: Duration) {
        loop {
            let since = *self.since.lock().unwrap_or_else(PoisonError::into_inner);
            if self.in_flight.load(Ordering::Acquire) > 0 {
                tokio::time::sleep(idle).await;
                continue;
            }
            let quiet = since.elapsed();
            if quiet >= idle {
                return;
            }
            tokio::time::sleep(idle.saturating_sub(quiet)).await;
        }
    }
}
