//! Registering a push channel: the three forms, the errors, the SSRF guard at
//! registration. (Delivery through APNs and FCM over TLS, and Web Push against an
//! independent server, is tested end to end in `tests/tests/push_channels` and
//! `tests/tests/web_push_testing.rs`.)

mod registration;
