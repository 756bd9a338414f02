//! The SSRF guard for device-chosen Web Push endpoints: only `https` (plain `http` only
//! with `push.webpush.allow_insecure_endpoints`), and never an internal address (loopback,
//! private, link-local, CGNAT, multicast, unspecified, reserved) unless
//! `push.webpush.allow_private_endpoints` is on.
//!
//! Checked twice: when a device registers the endpoint (so it learns at once why it is
//! refused), and on every connection: the sender's DNS resolver ([`GuardedResolver`])
//! drops refused addresses from every answer, and literal addresses are checked before
//! the request is built, so a name that resolved to a public address at registration and
//! to `127.0.0.1` later (DNS rebinding) still cannot reach an internal service.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// How long the registration check waits for DNS before leaving the decision to the
/// connection-time check.
const REGISTRATION_LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// What the guard lets through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndpointPolicy {
    /// Plain `http://` endpoints are allowed (demo and tests only).
    pub allow_insecure: bool,
    /// Internal addresses are allowed (demo and tests only).
    pub allow_private: bool,
}

/// Why an endpoint is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointRefused {
    /// Not `https` (and `push.webpush.allow_insecure_endpoints` is off), or not a URL at all.
    #[error(
        "push endpoint must be an https:// URL (plain http:// only with push.webpush.allow_insecure_endpoints), got scheme {0:?}"
    )]
    Scheme(String),
    /// The URL cannot be parsed or has no host.
    #[error("push endpoint is not a URL with a host: {0}")]
    NotAUrl(String),
    /// The address is internal.
    #[error(
        "push endpoint address {addr} is {class}; the relay only sends to public addresses (push.webpush.allow_private_endpoints is off)"
    )]
    Address {
        /// The refused address.
        addr: IpAddr,
        /// Its class (`loopback`, `private`, ...).
        class: &'static str,
    },
    /// The host name resolves to internal addresses only.
    #[error(
        "push endpoint host {host} resolves to {addr}, which is {class}; the relay only sends to public addresses (push.webpush.allow_private_endpoints is off)"
    )]
    Resolved {
        /// The host name.
        host: String,
        /// The first refused address.
        addr: IpAddr,
        /// Its class.
        class: &'static str,
    },
}

/// The class of an address the relay must not connect to, or `None` for a public one.
///
/// IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible and NAT64 (`64:ff9b::/96`) IPv6
/// addresses are judged by the IPv4 address they carry.
pub fn refused_class(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_class(v4),
        IpAddr::V6(v6) => v6_class(v6),
    }
}

fn v4_class(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(match (a, b) {
        _ if ip.is_unspecified() || a == 0 => "unspecified",
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_private() => "private (RFC 1918)",
        _ if ip.is_link_local() => "link-local",
        (100, 64..=127) => "shared address space (CGNAT, RFC 6598)",
        _ if ip.is_multicast() => "multicast",
        _ if ip.is_broadcast() || a >= 240 => "reserved",
        // 192.0.0.0/24 (IETF protocol assignments), 198.18.0.0/15 (benchmarking).
        (192, 0) if ip.octets()[2] == 0 => "reserved",
        (198, 18 | 19) => "reserved",
        _ => return None,
    })
}

fn v6_class(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = embedded_v4(ip) {
        return v4_class(v4);
    }
    let first = ip.segments()[0];
    Some(match first {
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_loopback() => "loopback",
        _ if first & 0xfe00 == 0xfc00 => "private (IPv6 unique local)",
        _ if first & 0xffc0 == 0xfe80 => "link-local",
        // fec0::/10, the deprecated site-local range, is still routed internally.
        _ if first & 0xffc0 == 0xfec0 => "private (IPv6 site-local)",
        _ if first & 0xff00 == 0xff00 => "multicast",
        _ => return None,
    })
}

/// The IPv4 address an IPv6 address stands for: IPv4-mapped, IPv4-compatible (the
/// deprecated `::a.b.c.d`) or NAT64 well-known prefix.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let low = Ipv4Addr::new(
        (s[6] >> 8) as u8,
        (s[6] & 0xff) as u8,
        (s[7] >> 8) as u8,
        (s[7] & 0xff) as u8,
    );
    let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4];
    let compatible = s[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified();
    (nat64 || compatible).then_some(low)
}

impl EndpointPolicy {
    /// Checks an address against the policy.
    pub fn check_addr(&self, addr: IpAddr) -> Result<(), EndpointRefused> {
        match refused_class(addr) {
            Some(class) if !self.allow_private => Err(EndpointRefused::Address { addr, class }),
            _ => Ok(()),
        }
    }

    /// Checks what can be checked without DNS: the scheme, and the host when it is a
    /// literal address. Returns the host name to resolve, if it is one.
    pub fn check_url(&self, endpoint: &str) -> Result<Option<String>, EndpointRefused> {
        let url =
            reqwest::Url::parse(endpoint).map_err(|e| EndpointRefused::NotAUrl(e.to_string()))?;
        self.check_parsed(&url).map(|host| host.map(str::to_owned))
    }

    /// [`Self::check_url`] on an already parsed URL (the sender parses each endpoint
    /// once); the host name to resolve, if it is one.
    pub fn check_parsed<'u>(
        &self,
        url: &'u reqwest::Url,
    ) -> Result<Option<&'u str>, EndpointRefused> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_insecure => {}
            other => return Err(EndpointRefused::Scheme(other.to_owned())),
        }
        let host = url
            .host_str()
            .ok_or_else(|| EndpointRefused::NotAUrl("no host".into()))?;
        // `Url` has already normalised the host (`0x7f.1` is `127.0.0.1`).
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        match bare.parse::<IpAddr>() {
            Ok(ip) => self.check_addr(ip).map(|()| None),
            Err(_) => Ok(Some(host)),
        }
    }

    /// The registration check: [`Self::check_url`], then the host name's addresses now.
    /// Every address must be allowed. A name that does not resolve (yet) is left to
    /// the connection-time check.
    pub async fn check_registration(&self, endpoint: &str) -> Result<(), EndpointRefused> {
        let Some(host) = self.check_url(endpoint)? else {
            return Ok(());
        };
        if self.allow_private {
            return Ok(());
        }
        let lookup = tokio::net::lookup_host((host.clone(), 443));
        let resolved = tokio::time::timeout(REGISTRATION_LOOKUP_TIMEOUT, lookup).await;
        let Ok(Ok(addrs)) = resolved else {
            tracing::debug!(%host, "push endpoint host does not resolve now");
            return Ok(());
        };
        for addr in addrs {
            if let Some(class) = refused_class(addr.ip()) {
                return Err(EndpointRefused::Resolved {
                    host,
                    addr: addr.ip(),
                    class,
                });
            }
        }
        Ok(())
    }
}

/// The push sender's DNS resolver: the system resolver's answer without the addresses
/// the policy refuses; a name left with none fails to resolve (with
/// [`EndpointRefused::Resolved`] as the cause), so the connection is never made.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    /// The policy applied to every answer.
    pub policy: EndpointPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = resolved
                .iter()
                .copied()
                .filter(|addr| policy.check_addr(addr.ip()).is_ok())
                .collect();
            if allowed.is_empty()
                && let Some(first) = resolved.first()
            {
                let addr = first.ip();
                let class = refused_class(addr).unwrap_or("refused");
                return Err(Box::new(EndpointRefused::Resolved { host, addr, class })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Whether a request error was the guard refusing the address (then the push is
/// refused for good, not retried).
pub fn refused_by_guard<'e>(
    error: &'e (dyn std::error::Error + 'static),
) -> Option<&'e EndpointRefused> {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if let Some(refused) = e.downcast_ref::<EndpointRefused>() {
            return Some(refused);
        }
        cause = e.source();
    }
    None
}

#[cfg(test)]
#[path = "guard_tests.rs"]
mod tests;
