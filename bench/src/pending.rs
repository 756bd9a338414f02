//! `pending`: N pending challenges (TTL 600 s), each with an open bank long-poll, and the
//! relay's memory before, after creating them and with the long-polls open. A long-poll
//! is either its own HTTP/1.1 connection (raw sockets) or, with `--http2`, one h2c stream
//! of a few multiplexed connections; either way it is re-issued when the relay answers.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures::StreamExt as _;
use serde::Serialize;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::{Semaphore, watch};

use crate::cli::PendingArgs;
use crate::fleet::Fleet;
use crate::procstat::{self, Memory};
use crate::target::{SpawnSettings, Target};

/// Challenge TTL: the longest allowed, so none ends during the run.
const TTL_SECONDS: u32 = 600;
/// Connections being opened at once.
const CONNECT_CONCURRENCY: usize = 256;
/// File descriptors kept free on each side.
const FD_MARGIN: u64 = 300;
/// Ephemeral ports planned per source address (Linux default range 32768–60999).
const PORTS_PER_SOURCE: usize = 25_000;
/// Concurrent streams the relay allows per HTTP/2 connection (hyper's server default,
/// which `axum::serve` keeps).
const STREAMS_PER_CONNECTION: usize = 200;
/// h2c long-polls started per second: all at once, they queue for the relay's store pool
/// and fail with its time-out.
const STREAMS_PER_SECOND: usize = 1500;

/// What `pending` measured.
#[derive(Debug, Serialize)]
pub struct PendingReport {
    /// The relay.
    pub relay: String,
    /// Pending challenges created.
    pub challenges: usize,
    /// Long-polls asked for.
    pub long_polls_requested: usize,
    /// Long-polls open when memory was read.
    pub long_polls_open: u64,
    /// `HTTP/1.1` (one connection per long-poll) or `h2c` (streams over `connections`).
    pub protocol: String,
    /// Connections the long-polls were held on.
    pub connections: usize,
    /// Why fewer long-polls than asked for, if so.
    pub limited_by: Option<String>,
    /// Users the challenges are spread over.
    pub users: usize,
    /// Challenges created per second.
    pub create_rate: f64,
    /// Relay memory after set-up (devices enrolled, nothing pending).
    pub base: Memory,
    /// After creating the challenges.
    pub after_create: Memory,
    /// With the long-polls open.
    pub with_long_polls: Memory,
    /// RSS growth per pending challenge (stored, no long-poll), bytes.
    pub bytes_per_challenge: f64,
    /// RSS growth per open long-poll, bytes.
    pub bytes_per_long_poll: f64,
    /// RSS growth from the base per pending challenge with its long-poll open, bytes.
    pub bytes_per_long_polled_challenge: f64,
    /// Base + 100,000 × (challenge + long-poll), MiB.
    pub extrapolated_100k_mib: f64,
    /// Relay open files with the long-polls open.
    pub relay_open_files: usize,
    /// Failures by kind.
    pub errors: std::collections::BTreeMap<String, u64>,
    /// 1-minute load average before and after.
    pub load_average: [f64; 2],
}

struct Poll {
    relay: SocketAddr,
    source: Ipv4Addr,
    request: Vec<u8>,
}

#[derive(Default)]
struct Counters {
    open: AtomicU64,
    answered: AtomicU64,
    connect_failed: AtomicU64,
    broken: AtomicU64,
    bad_status: AtomicU64,
    statuses: std::sync::Mutex<std::collections::BTreeMap<u16, u64>>,
}

/// Reads one HTTP/1.1 answer (head + `Content-Length` body); answers its status.
async fn read_answer(
    stream: &mut tokio::net::TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<u16> {
    buf.clear();
    let mut chunk = [0u8; 2048];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(status)
}

/// Keeps one long-poll open until `stop`: connects, asks, and asks again whenever the
/// relay answers (at most every 60 s) or closes the connection.
async fn hold(
    poll: Poll,
    connect: Arc<Semaphore>,
    counters: Arc<Counters>,
    mut stop: watch::Receiver<bool>,
) {
    let mut buf = Vec::new();
    loop {
        let permit = connect.acquire().await;
        let Ok(socket) = tokio::net::TcpSocket::new_v4() else {
            counters.connect_failed.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let connected = async {
            socket.bind(SocketAddr::new(IpAddr::V4(poll.source), 0))?;
            let mut stream = socket.connect(poll.relay).await?;
            stream.set_nodelay(true)?;
            stream.write_all(&poll.request).await?;
            Ok::<_, std::io::Error>(stream)
        }
        .await;
        drop(permit);
        let Ok(mut stream) = connected else {
            counters.connect_failed.fetch_add(1, Ordering::Relaxed);
            return;
        };
        counters.open.fetch_add(1, Ordering::Relaxed);
        loop {
            tokio::select! {
                answer = read_answer(&mut stream, &mut buf) => match answer {
                    Ok(200) => {
                        counters.answered.fetch_add(1, Ordering::Relaxed);
                        if stream.write_all(&poll.request).await.is_err() {
                            break;
                        }
                    }
                    Ok(_) => {
                        counters.bad_status.fetch_add(1, Ordering::Relaxed);
                        counters.open.fetch_sub(1, Ordering::Relaxed);
                        return;
                    }
                    Err(_) => break,
                },
                _ = stop.changed() => {
                    counters.open.fetch_sub(1, Ordering::Relaxed);
                    return;
                }
            }
        }
        counters.open.fetch_sub(1, Ordering::Relaxed);
        counters.broken.fetch_add(1, Ordering::Relaxed);
        if *stop.borrow() {
            return;
        }
    }
}

/// One long-poll as an h2c stream.
struct StreamPoll {
    uri: http::Uri,
    authorization: http::HeaderValue,
}

impl StreamPoll {
    fn request(&self) -> http::Request<()> {
        let mut request = http::Request::new(());
        *request.uri_mut() = self.uri.clone();
        request
            .headers_mut()
            .insert(http::header::AUTHORIZATION, self.authorization.clone());
        request
    }
}

/// The status of one h2 answer, its body read (and its flow-control window given back).
async fn read_stream_answer(
    response: h2::client::ResponseFuture,
) -> Result<http::StatusCode, h2::Error> {
    let response = response.await?;
    let status = response.status();
    let mut body = response.into_body();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    Ok(status)
}

/// Keeps one long-poll open as a stream of `connection` until `stop`, asking again
/// whenever the relay answers; a broken connection ends it.
async fn hold_stream(
    poll: StreamPoll,
    connection: h2::client::SendRequest<bytes::Bytes>,
    counters: Arc<Counters>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let sent = async {
            let mut ready = connection.clone().ready().await?;
            ready.send_request(poll.request(), true)
        }
        .await;
        let Ok((response, _)) = sent else {
            counters.broken.fetch_add(1, Ordering::Relaxed);
            return;
        };
        counters.open.fetch_add(1, Ordering::Relaxed);
        tokio::select! {
            answer = read_stream_answer(response) => {
                counters.open.fetch_sub(1, Ordering::Relaxed);
                match answer {
                    Ok(status) if status == http::StatusCode::OK => {
                        counters.answered.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(status) => {
                        counters.bad_status.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut statuses) = counters.statuses.lock() {
                            *statuses.entry(status.as_u16()).or_insert(0) += 1;
                        }
                        return;
                    }
                    Err(_) => {
                        counters.broken.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
            }
            // Dropping the response resets the stream.
            _ = stop.changed() => {
                counters.open.fetch_sub(1, Ordering::Relaxed);
                return;
            }
        }
    }
}

/// Opens `n` h2c connections (prior knowledge) to `relay`; each is driven by its own task.
async fn h2_connections(
    relay: SocketAddr,
    n: usize,
    drivers: &mut tokio::task::JoinSet<()>,
) -> anyhow::Result<Vec<h2::client::SendRequest<bytes::Bytes>>> {
    let mut connections = Vec::with_capacity(n);
    for _ in 0..n {
        let stream = tokio::net::TcpStream::connect(relay)
            .await
            .context("cannot connect to the relay")?;
        stream.set_nodelay(true)?;
        let (send, connection) = h2::client::handshake(stream)
            .await
            .context("h2c handshake with the relay (prior knowledge) failed")?;
        drivers.spawn(async move {
            let _ = connection.await;
        });
        connections.push(send);
    }
    Ok(connections)
}

fn own_fd_budget() -> u64 {
    let (soft, _) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap_or((1024, 1024));
    let used = u64::try_from(procstat::open_files(std::process::id())).unwrap_or(0);
    soft.saturating_sub(used + FD_MARGIN)
}

#[allow(clippy::cast_precision_loss)]
fn per(bytes_kib_after: u64, bytes_kib_before: u64, n: u64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    (bytes_kib_after as f64 - bytes_kib_before as f64) * 1024.0 / n as f64
}

/// Runs `pending`.
#[allow(clippy::too_many_lines)]
pub async fn run(args: &PendingArgs) -> anyhow::Result<PendingReport> {
    let load_before = procstat::load_average();
    let count = args.count.max(1);
    let users = args.devices.unwrap_or((count / 100).clamp(1, 1000)).max(1);
    let per_user = u32::try_from(count.div_ceil(users)).unwrap_or(u32::MAX);
    let settings = SpawnSettings {
        max_pending_per_user: Some(per_user.saturating_add(5)),
    };
    let target = Target::open(&args.target, &settings).await?;
    let result = measure(args, &target, count, users, load_before).await;
    let tail = target.log_tail();
    target.stop().await?;
    result.map_err(|e| {
        if tail.is_empty() {
            e
        } else {
            e.context(format!("relay log:\n{tail}"))
        }
    })
}

#[allow(clippy::too_many_lines)]
async fn measure(
    args: &PendingArgs,
    target: &Target,
    count: usize,
    users: usize,
    load_before: f64,
) -> anyhow::Result<PendingReport> {
    let pid = target
        .pid
        .context("pending needs the relay's process: use --spawn or --relay-pid")?;
    let fleet = Fleet::setup(target, users, None, false).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base = procstat::memory(pid)?;

    // Create the challenges.
    let started = Instant::now();
    let created: Vec<_> = futures::stream::iter(0..count)
        .map(|i| {
            let device = fleet.devices[i % users].clone();
            let bank = fleet.bank_of(&device).clone();
            async move {
                (
                    device.tenant,
                    bank.create(&device.user_id, TTL_SECONDS).await,
                )
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let create_seconds = started.elapsed().as_secs_f64();
    let mut errors = std::collections::BTreeMap::new();
    let mut ids = Vec::with_capacity(count);
    for (tenant, c) in created {
        match c {
            Ok(id) => ids.push((tenant, id)),
            Err(f) => *errors.entry(f.kind).or_insert(0) += 1,
        }
    }
    if ids.is_empty() {
        bail!("no challenge could be created: {errors:?}");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after_create = procstat::memory(pid)?;

    // Open the long-polls, as many as both processes' file descriptors allow.
    let requested = args.long_polls.unwrap_or(ids.len()).min(ids.len());
    let relay_budget = procstat::open_files_limit(pid)?
        .saturating_sub(u64::try_from(procstat::open_files(pid)).unwrap_or(0) + FD_MARGIN);
    let own_budget = own_fd_budget();
    let budget = usize::try_from(relay_budget.min(own_budget)).unwrap_or(usize::MAX);
    let mut limited_by = None;
    let connections_wanted = if args.http2 {
        args.connections
            .unwrap_or(requested.div_ceil(STREAMS_PER_CONNECTION))
            .max(1)
    } else {
        requested
    };
    let polls = if connections_wanted > budget {
        limited_by = Some(format!(
            "open files: the relay may open {} more, this bench {} more (RLIMIT_NOFILE; the hard limit here is {})",
            relay_budget,
            own_budget,
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(0, |(_, h)| h)
        ));
        if args.http2 { requested } else { budget }
    } else {
        requested
    };
    let connection_count = if args.http2 {
        connections_wanted.min(budget).max(1)
    } else {
        polls
    };
    let sources = usize::from(args.source_addrs.unwrap_or(0))
        .max(polls.div_ceil(PORTS_PER_SOURCE))
        .max(1);
    let authority = target
        .url
        .strip_prefix("http://")
        .context("pending needs an http:// relay URL")?
        .trim_end_matches('/')
        .to_owned();
    let relay: SocketAddr = tokio::net::lookup_host(&authority)
        .await?
        .next()
        .context("relay address does not resolve")?;
    let counters = Arc::new(Counters::default());
    let connect = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let mut drivers = tokio::task::JoinSet::new();
    if args.http2 {
        let connections = h2_connections(relay, connection_count, &mut drivers).await?;
        for (i, (tenant, id)) in ids.iter().take(polls).enumerate() {
            if i % (STREAMS_PER_SECOND / 50) == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let poll = StreamPoll {
                uri: format!("http://{authority}/v1/challenges/{id}?wait=60").parse()?,
                authorization: format!("Bearer {}", target.api_keys[*tenant]).parse()?,
            };
            tasks.spawn(hold_stream(
                poll,
                connections[i % connections.len()].clone(),
                counters.clone(),
                stop_rx.clone(),
            ));
        }
    }
    for (i, (tenant, id)) in ids
        .iter()
        .take(if args.http2 { 0 } else { polls })
        .enumerate()
    {
        let request = format!(
            "GET /v1/challenges/{id}?wait=60 HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {}\r\n\r\n",
            target.api_keys[*tenant]
        );
        let last = u8::try_from(2 + i % sources).unwrap_or(2);
        tasks.spawn(hold(
            Poll {
                relay,
                source: Ipv4Addr::new(127, 0, 0, last),
                request: request.into_bytes(),
            },
            connect.clone(),
            counters.clone(),
            stop_rx.clone(),
        ));
    }
    let polls_u64 = polls as u64;
    let opening = Instant::now();
    while counters.open.load(Ordering::Relaxed) + counters.connect_failed.load(Ordering::Relaxed)
        < polls_u64
        && opening.elapsed() < Duration::from_secs(120)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Sent is not yet taken: wait until the relay has worked through the requests (its CPU
    // use falls below a tenth of a core), so the memory read includes every waiting one.
    let mut cpu = procstat::cpu_seconds(pid)?;
    let settling = Instant::now();
    while settling.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = procstat::cpu_seconds(pid)?;
        if now - cpu < 0.05 {
            break;
        }
        cpu = now;
    }
    tokio::time::sleep(args.hold).await;
    let with_long_polls = procstat::memory(pid)?;
    let relay_open_files = procstat::open_files(pid);
    let open = counters.open.load(Ordering::Relaxed);

    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    if let Ok(statuses) = counters.statuses.lock() {
        for (status, n) in statuses.iter() {
            errors.insert(format!("longpoll-status-{status}"), *n);
        }
    }
    drivers.abort_all();
    while drivers.join_next().await.is_some() {}
    for (name, n) in [
        ("longpoll-connect-failed", &counters.connect_failed),
        ("longpoll-bad-status", &counters.bad_status),
        ("longpoll-connection-closed", &counters.broken),
    ] {
        let n = n.load(Ordering::Relaxed);
        if n > 0 {
            errors.insert(name.to_owned(), n);
        }
    }
    if !target.is_spawned() {
        // Give the users their push-fatigue slots back.
        let _: Vec<_> = futures::stream::iter(ids.iter())
            .map(|(tenant, id)| fleet.banks[*tenant].cancel(*id))
            .buffer_unordered(64)
            .collect()
            .await;
    }
    let n_created = ids.len() as u64;
    let per_challenge = per(after_create.rss_kib, base.rss_kib, n_created);
    let per_poll = per(with_long_polls.rss_kib, after_create.rss_kib, open);
    let per_polled = per(with_long_polls.rss_kib, base.rss_kib, open);
    #[allow(clippy::cast_precision_loss)]
    let extrapolated =
        (base.rss_kib as f64 * 1024.0 + 100_000.0 * (per_challenge + per_poll)) / (1024.0 * 1024.0);
    Ok(PendingReport {
        relay: target.url.clone(),
        challenges: ids.len(),
        long_polls_requested: requested,
        long_polls_open: open,
        protocol: if args.http2 { "h2c" } else { "HTTP/1.1" }.to_owned(),
        connections: connection_count,
        limited_by,
        users,
        #[allow(clippy::cast_precision_loss)]
        create_rate: ids.len() as f64 / create_seconds,
        base,
        after_create,
        with_long_polls,
        bytes_per_challenge: per_challenge,
        bytes_per_long_poll: per_poll,
        bytes_per_long_polled_challenge: per_polled,
        extrapolated_100k_mib: extrapolated,
        relay_open_files,
        errors,
        load_average: [load_before, procstat::load_average()],
    })
}

/// Prints the report as text.
pub fn print(r: &PendingReport) {
    println!(
        "relay {}: {} pending challenges over {} users (created at {:.0}/s), {} of {} long-polls open   (load average {:.2} → {:.2})",
        r.relay,
        r.challenges,
        r.users,
        r.create_rate,
        r.long_polls_open,
        r.long_polls_requested,
        r.load_average[0],
        r.load_average[1]
    );
    println!(
        "long-polls held as {} on {} connection(s)",
        r.protocol, r.connections
    );
    if let Some(why) = &r.limited_by {
        println!("long-polls limited by {why}");
    }
    let mib = |kib: u64| {
        #[allow(clippy::cast_precision_loss)]
        let v = kib as f64 / 1024.0;
        v
    };
    println!(
        "relay RSS: base {:.1} MiB, with the challenges {:.1} MiB, with the long-polls {:.1} MiB (peak {:.1} MiB); {} open files",
        mib(r.base.rss_kib),
        mib(r.after_create.rss_kib),
        mib(r.with_long_polls.rss_kib),
        mib(r.with_long_polls.hwm_kib),
        r.relay_open_files
    );
    println!(
        "per pending challenge: {:.0} B stored + {:.0} B per open long-poll = {:.0} B; base + 100,000 × that = {:.0} MiB",
        r.bytes_per_challenge,
        r.bytes_per_long_poll,
        r.bytes_per_challenge + r.bytes_per_long_poll,
        r.extrapolated_100k_mib
    );
    println!(
        "measured: (RSS with the long-polls − base) / long-polls open = {:.0} B per long-polled pending challenge",
        r.bytes_per_long_polled_challenge
    );
    if r.errors.is_empty() {
        println!("errors: none");
    } else {
        println!("errors: {:?}", r.errors);
    }
}
