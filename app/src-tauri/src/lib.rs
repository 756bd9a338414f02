//! OnePush app: the Tauri 2 shell of the authenticator, for desktop and phones. The
//! commands (app/ui/COMMANDS.md) are thin over `onepush-device`; a background task
//! follows the relay's event stream and brings each challenge to the front.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`commands`] | the commands the UI invokes |
//! | [`backend`] | the shared state: authenticator, settings, followed credential |
//! | [`background`] | event stream → UI events, notification, window to the front |
//! | [`push`] | push registration ([`push::PushRegistrar`]) and incoming push messages |
//! | [`dto`], [`error`] | what commands answer: app types and the `{ kind, message }` error |
//! | [`home`], [`prefs`], [`pin`], [`verify`] | app home and vault key, app settings, PIN, user check |
//! | `desktop` | tray (Open, Quit), start at login, the notification's click |

pub mod backend;
pub mod background;
pub mod commands;
#[cfg(desktop)]
pub mod desktop;
pub mod dto;
pub mod error;
pub mod home;
pub mod notify;
pub mod pin;
pub mod prefs;
pub mod push;
#[cfg(mobile)]
mod push_mobile;
pub mod verify;

use tauri::{Builder, Manager as _, Runtime, WindowEvent};

pub use backend::Backend;
pub use home::AppConfig;

/// Runs the app (desktop `main` and the phones' entry point).
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    init_logging();
    let builder = Builder::default();
    #[cfg(desktop)]
    let builder = builder.plugin(desktop::tray_plugin());
    run_app(builder)
        .run(tauri::generate_context!())
        .expect("the app failed to start");
}

/// Registers the plugins, the state, the commands, the background task and the
/// focus pull on `builder`; tests pass `tauri::test::mock_builder()`. When a
/// [`Backend`] is managed already (tests), it is used; otherwise one is opened in
/// the app home (`ONEPUSH_APP_HOME`, else the app data folder).
pub fn run_app<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    #[cfg(desktop)]
    let builder = builder.plugin(tauri_plugin_notification::init());
    #[cfg(desktop)]
    let builder = builder.plugin(desktop::autostart_plugin());
    #[cfg(mobile)]
    let builder = push_mobile::plugin(builder);
    #[cfg(mobile)]
    let builder = builder.plugin(tauri_plugin_biometric::init());
    // Phones: the camera scan of an offline payload's QR code (the UI calls the
    // plugin's `scan` itself; capabilities/scan-mobile.json grants only that).
    #[cfg(mobile)]
    let builder = builder.plugin(tauri_plugin_barcode_scanner::init());
    builder
        .setup(|app| {
            if app.try_state::<Backend>().is_none() {
                let config = AppConfig::from_env(|| app.path().app_data_dir().ok())
                    .ok_or("the app has no data folder: set ONEPUSH_APP_HOME")?;
                app.manage(Backend::open(config));
            }
            #[cfg(mobile)]
            push_mobile::setup(app);
            background::start(app.handle());
            push::start(app.handle());
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::Focused(true) = event {
                background::pull(window.app_handle());
            }
            #[cfg(desktop)]
            desktop::on_window_event(window, event);
        })
        .invoke_handler(tauri::generate_handler![
            commands::device::get_config,
            commands::device::get_state,
            commands::device::setup,
            commands::device::unlock,
            commands::device::codes,
            commands::device::accounts,
            commands::device::reset,
            commands::challenges::pending,
            commands::challenges::get_challenge,
            commands::challenges::approve,
            commands::challenges::deny,
            commands::challenges::history,
            commands::offline::offline_read,
            commands::offline::offline_code,
            commands::settings::set_settings,
            commands::push::push_status,
            commands::push::push_token,
            commands::push::push_message,
            commands::push::push_opened,
        ])
}

/// Logs to stderr; `RUST_LOG` chooses what (default: this app and the device core at info).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "warn,onepush_app=info,onepush_device=info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
