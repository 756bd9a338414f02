//! OnePush relay: the service a bank backend posts challenges to and phones answer.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`settings`] | configuration: defaults < TOML < `ONEPUSH_*` |
//! | [`keys`] | VAPID key pair and master key (files, mode 0600) |
//! | [`store`] | the [`store::Store`] trait and its SQLite and PostgreSQL backends |
//! | [`service`] | use cases |
//! | [`http`] | axum handlers, extractors, problem answers |
//! | [`push`], [`webhook`], [`notify`] | delivery: Web Push, webhooks, wake-ups (in-process, or LISTEN/NOTIFY across relays) |
//! | [`expiry`], [`outbox`], [`unbound`], [`retention`] | background tasks |
//! | [`serve`], [`cluster`] | the accept loop with its limits; the start-up check of the keys |

pub mod clock;
pub mod cluster;
pub mod expiry;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod notify;
pub mod outbox;
pub mod push;
pub mod ratelimit;
mod relay;
pub mod retention;
pub mod serve;
pub mod service;
pub mod settings;
pub mod shutdown;
pub mod store;
pub mod unbound;
pub mod webhook;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use http::error::ApiError;
pub use relay::{Parts, Relay};
pub use service::NewTenant;
pub use settings::Settings;
