//! Tauri's build step: reads `tauri.conf.json`, embeds the UI, and declares the app's
//! commands so that `capabilities/` must grant each one the UI may call.

const COMMANDS: &[&str] = &[
    "get_config",
    "get_state",
    "setup",
    "unlock",
    "codes",
    "accounts",
    "pending",
    "get_challenge",
    "approve",
    "deny",
    "history",
    "set_settings",
    "reset",
    "push_status",
    "push_token",
    "push_message",
    "push_opened",
    "offline_read",
    "offline_code",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    tauri_build::try_build(attributes).expect("the Tauri build step failed");
}
