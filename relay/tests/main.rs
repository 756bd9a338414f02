//! The relay's integration tests, one binary (`cargo test -p onepush-relay --test main`;
//! one test file: `--test main -- attacks::`). Each module is one area of behaviour,
//! driven over HTTP against a relay served in this process; `common` is the shared kit
//! (bank client, device, PostgreSQL database per test, receiver). The relay's own
//! behaviour is tested here once; flows that cross crates (device CLI, app, bank SDK
//! together) live in `tests/` at the workspace root.
//!
//! One binary instead of one per file: the workspace links each test binary against the
//! relay, sqlx and reqwest, and the link is most of a test build's time.

mod common;

mod attacks;
mod audit_paging;
mod bad_input;
mod binding_locks;
mod challenges;
mod cluster;
mod device_refusals;
mod enrollment;
mod expiry;
mod fair_webhooks;
mod faults;
mod flood;
mod http2;
mod lifecycle;
mod limits;
mod maintenance;
mod offline_codes;
mod ops;
mod postgres_notifier;
mod postgres_plans;
mod push;
mod push_channels;
mod push_fatigue;
mod retention;
mod shared_database;
mod store_contract;
mod token_kinds;
mod transaction_kinds;
mod two_relays;
