//! Every store method, written once over [`plan`](super::plan): each file's statements
//! and the `impl Store` methods that run them on either backend (`plan::run!`).

mod bindings;
mod challenges;
mod credentials;
mod gate;
mod maintenance;
mod offline;
mod ops;
mod outbox;
mod tenants;
mod upkeep;
