//! The end-to-end tests, one binary (`cargo test -p onepush-e2e --test main`; one file:
//! `--test main -- otp::`): only flows that cross crates — the device library or the
//! emulator CLI, the relay (in this process or as `onepush-relay` processes) and the bank
//! SDK together. What the relay does on its own is tested once, in `relay/tests`.

mod common;

mod approval;
mod cli;
mod cli_keystore;
mod delivery;
mod faults;
mod layout;
mod lifecycle;
mod offline;
mod push_channels;
mod shown;
mod token_kinds;
mod web_push_testing;
