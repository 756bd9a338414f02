//! The OnePush desktop app: everything lives in the library, shared with the phones.

// No console window next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    onepush_app::run();
}
