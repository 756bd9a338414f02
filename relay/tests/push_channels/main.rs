//! Push channels end to end: the SSRF guard at registration, APNs and FCM against local
//! HTTP/2 TLS servers that check what Apple and Google check, and Web Push against the
//! independent `web-push-testing` server.

#[path = "../common/mod.rs"]
mod common;
mod ssrf;
