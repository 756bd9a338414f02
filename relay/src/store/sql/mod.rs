//! Every store method, written once over [`plan`](super::plan): each file's statements
//! and the trait methods that run them, for every backend (`impl<R: Runner>`).

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
