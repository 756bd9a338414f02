//! The app tests' kit: the app on the mock runtime with a relay in this process (`app`),
//! the bank side (`bank`), a `WebDriver` client for the real window (`webdriver`).
#![allow(dead_code)] // each test module uses a different part

pub mod app;
pub mod bank;
pub mod webdriver;
