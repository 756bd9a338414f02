//! The device API: every request carries an `OnePush-Proof` signed by the credential key.

pub mod challenges;
pub mod credentials;
pub mod events;
