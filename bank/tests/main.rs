//! The bank SDK against a real relay, one binary (`cargo test -p onepush-bank --test main`).

mod login;
mod maintenance;
