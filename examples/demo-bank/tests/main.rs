//! The demo bank's tests, one binary (`cargo test -p onepush-demo-bank --test main`):
//! its pages on their own, and its flows against a real relay and an emulated phone.

mod common;

mod contract;
mod otp_login;
mod pages;
mod payments;
mod resync;
mod with_relay;
