//! [`Proxy`]: a TCP proxy on loopback that a test can cut (every connection dropped,
//! new ones closed at once) and restore: a phone that loses the network and finds it
//! again, a database that goes away and comes back.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A loopback proxy to one upstream address; cut and accept loop end when dropped.
#[derive(Debug)]
pub struct Proxy {
    /// `127.0.0.1:<port>`: where it listens.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    open: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Starts proxying a new loopback port to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let open = Arc::new(AtomicBool::new(true));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let accept = tokio::spawn(accept_loop(
            listener,
            upstream,
            open.clone(),
            connections.clone(),
        ));
        Self {
            addr,
            url: format!("http://{addr}"),
            open,
            connections,
            accept,
        }
    }

    /// Drops every connection and refuses new ones until [`Proxy::restore`].
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for connection in lock(&self.connections).drain(..) {
            connection.abort();
        }
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

fn lock(
    connections: &Mutex<Vec<JoinHandle<()>>>,
) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
    connections
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    open: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
) {
    while let Ok((mut inbound, _)) = listener.accept().await {
        if !open.load(Ordering::SeqCst) {
            drop(inbound); // the client sees the connection closed
            continue;
        }
        let task = tokio::spawn(async move {
            if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
        let mut open_ones = lock(&connections);
        open_ones.retain(|c| !c.is_finished());
        open_ones.push(task);
    }
}

/// The `host:port` of a `postgres://` URL (port 5432 when absent).
pub async fn server_addr(url: &str) -> SocketAddr {
    let rest = url.split_once("://").expect("a URL with a scheme").1;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    tokio::net::lookup_host(host_port)
        .await
        .expect("the database host resolves")
        .next()
        .expect("the database host has an address")
}

/// `url` with its host and port replaced by `addr` (a database URL through a proxy).
pub fn through(url: &str, addr: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let user = authority.rsplit_once('@').map(|(u, _)| format!("{u}@"));
    format!("{scheme}://{}{addr}{tail}", user.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_url_is_pointed_at_the_proxy() {
        let addr: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        assert_eq!(
            through("postgres://u:p@db.example:5432/test?sslmode=disable", addr),
            "postgres://u:p@127.0.0.1:40000/test?sslmode=disable"
        );
        assert_eq!(
            through("postgres://db.example/test", addr),
            "postgres://127.0.0.1:40000/test"
        );
    }
}
