//! The app's integration tests, one binary (`cargo test -p onepush-app --test main`).
//! `window` is the real window under Xvfb: ignored here, run by `test-window.sh` as
//! `cargo test -p onepush-app --test main -- --ignored window::`.

mod common;

mod commands;
mod config;
mod keystore;
mod push;
mod shown;
mod window;
