//! The SSRF guard: every refused address class, literal and resolved, at registration
//! and at connection time.

use super::*;

const STRICT: EndpointPolicy = EndpointPolicy {
    allow_insecure: false,
    allow_private: false,
};

fn class(ip: &str) -> Option<&'static str> {
    refused_class(ip.parse().unwrap())
}

#[test]
fn each_internal_address_class_is_refused() {
    let cases = [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private (RFC 1918)"),
        ("172.16.0.1", "private (RFC 1918)"),
        ("172.31.255.255", "private (RFC 1918)"),
        ("192.168.1.1", "private (RFC 1918)"),
        ("fd12:3456::1", "private (IPv6 unique local)"),
        ("fc00::1", "private (IPv6 unique local)"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "shared address space (CGNAT, RFC 6598)"),
        ("100.127.255.254", "shared address space (CGNAT, RFC 6598)"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("255.255.255.255", "reserved"),
        ("240.0.0.1", "reserved"),
    ];
    for (ip, expected) in cases {
        assert_eq!(class(ip), Some(expected), "{ip}");
    }
}

#[test]
fn internal_ipv4_hidden_in_ipv6_is_refused() {
    assert_eq!(class("::ffff:127.0.0.1"), Some("loopback"));
    assert_eq!(class("::ffff:10.0.0.1"), Some("private (RFC 1918)"));
    assert_eq!(class("64:ff9b::a9fe:a9fe"), Some("link-local"));
    assert_eq!(class("::7f00:1"), Some("loopback"));
}

#[test]
fn public_addresses_pass() {
    for ip in [
        "142.250.72.10",
        "17.253.144.10",
        "100.63.255.255",
        "100.128.0.0",
        "172.32.0.1",
        "2a00:1450:4001:80b::200a",
        "::ffff:8.8.8.8",
    ] {
        assert_eq!(class(ip), None, "{ip}");
    }
}

#[test]
fn only_https_unless_insecure_is_allowed() {
    let err = STRICT.check_url("http://push.example/x").unwrap_err();
    assert_eq!(err, EndpointRefused::Scheme("http".into()));
    assert!(
        err.to_string()
            .contains("push.webpush.allow_insecure_endpoints")
    );
    assert!(matches!(
        STRICT.check_url("ftp://push.example/x"),
        Err(EndpointRefused::Scheme(_))
    ));
    let insecure = EndpointPolicy {
        allow_insecure: true,
        ..STRICT
    };
    assert_eq!(
        insecure.check_url("http://push.example/x"),
        Ok(Some("push.example".into()))
    );
    assert_eq!(
        STRICT.check_url("https://fcm.googleapis.com/fcm/send/a"),
        Ok(Some("fcm.googleapis.com".into()))
    );
}

#[test]
fn literal_internal_addresses_are_refused_however_written() {
    for url in [
        "https://127.0.0.1/push",
        "https://[::1]:8443/push",
        "https://0x7f.1/push",
        "https://2130706433/push",
        "https://169.254.169.254/latest/meta-data",
        "https://[::ffff:192.168.0.1]/x",
    ] {
        let err = STRICT.check_url(url).unwrap_err();
        assert!(
            matches!(err, EndpointRefused::Address { .. }),
            "{url}: {err}"
        );
        assert!(
            err.to_string()
                .contains("push.webpush.allow_private_endpoints")
        );
    }
    let private = EndpointPolicy {
        allow_private: true,
        ..STRICT
    };
    assert_eq!(private.check_url("https://127.0.0.1/push"), Ok(None));
}

#[tokio::test]
async fn a_name_that_resolves_to_loopback_is_refused_at_registration() {
    let err = STRICT
        .check_registration("https://localhost:8443/push/1")
        .await
        .unwrap_err();
    match err {
        EndpointRefused::Resolved { host, class, .. } => {
            assert_eq!(host, "localhost");
            assert_eq!(class, "loopback");
        }
        other => panic!("{other}"),
    }
    let private = EndpointPolicy {
        allow_private: true,
        ..STRICT
    };
    private
        .check_registration("https://localhost:8443/push/1")
        .await
        .unwrap();
}

#[tokio::test]
async fn the_resolver_never_hands_out_a_refused_address() {
    let resolver = GuardedResolver { policy: STRICT };
    let err = match resolver.resolve("localhost".parse().unwrap()).await {
        Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
        Err(e) => e,
    };
    let refused = refused_by_guard(err.as_ref()).expect("the guard's refusal is the cause");
    assert!(matches!(
        refused,
        EndpointRefused::Resolved {
            class: "loopback",
            ..
        }
    ));

    let open = GuardedResolver {
        policy: EndpointPolicy {
            allow_private: true,
            ..STRICT
        },
    };
    let addrs: Vec<SocketAddr> = open
        .resolve("localhost".parse().unwrap())
        .await
        .unwrap()
        .collect();
    assert!(addrs.iter().all(|a| a.ip().is_loopback()) && !addrs.is_empty());
}
