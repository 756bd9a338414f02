//! The commands the UI invokes (app/ui/COMMANDS.md), each a few lines over
//! `onepush-device`: the device itself, its challenges, its settings.

pub mod challenges;
pub mod device;
pub mod offline;
pub mod push;
pub mod settings;
