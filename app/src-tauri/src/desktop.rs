//! Desktop only: the app stays in the system tray when its window is closed (menu:
//! Open, Quit), starts at login when the user opts in (`tauri-plugin-autostart`,
//! started with [`AUTOSTART_ARG`]: into the tray, without a window), and a click on
//! a challenge's notification shows that challenge's prompt (Linux: the notification
//! server's "default" action; elsewhere the plugin's notification, without a click).

use onepush_protocol::ChallengeId;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Emitter as _, Manager as _, Runtime, Window, WindowEvent};

use crate::dto::ChallengeEvent;
use crate::prefs::Language;

/// The argument the login item starts the app with: it starts in the tray.
pub const AUTOSTART_ARG: &str = "--autostart";

/// The tray icon exists: closing the window hides it instead of quitting.
struct InTray;

/// The autostart plugin (its commands are not granted to the UI: the backend applies
/// the `startAtLogin` setting).
pub fn autostart_plugin<R: Runtime>() -> tauri::plugin::TauriPlugin<R> {
    tauri_plugin_autostart::Builder::new()
        .arg(AUTOSTART_ARG)
        .build()
}

/// The tray, as a plugin `run` adds (the real runtime only: the mock one of the tests
/// has no system tray).
pub fn tray_plugin<R: Runtime>() -> tauri::plugin::TauriPlugin<R> {
    tauri::plugin::Builder::new("onepush-tray")
        .setup(|app, _api| {
            let language = crate::prefs::PrefsFile::load(&tray_home(app))
                .prefs
                .language;
            setup_tray(app, language);
            Ok(())
        })
        .build()
}

/// The app home, for the tray's language (the settings may not be loaded yet).
fn tray_home<R: Runtime>(app: &AppHandle<R>) -> std::path::PathBuf {
    crate::home::AppConfig::from_env(|| app.path().app_data_dir().ok())
        .map(|c| c.home)
        .unwrap_or_default()
}

/// Makes the tray icon, and hides the window when started at login.
fn setup_tray<R: Runtime>(app: &AppHandle<R>, language: Language) {
    match build_tray(app, language) {
        Ok(()) => {
            app.manage(InTray);
        }
        Err(e) => tracing::warn!(error = %e, "no tray icon: closing the window quits the app"),
    }
    if std::env::args().any(|a| a == AUTOSTART_ARG)
        && app.try_state::<InTray>().is_some()
        && let Some(window) = app.get_webview_window("main")
    {
        tracing::info!("started at login: in the tray");
        let _ = window.hide();
    }
}

fn build_tray<R: Runtime>(app: &AppHandle<R>, language: Language) -> tauri::Result<()> {
    let (open, quit) = match language.resolved() {
        Language::Ja => ("開く", "終了"),
        _ => ("Open", "Quit"),
    };
    let open = MenuItem::with_id(app, "open", open, true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", quit, true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &quit])?;
    let mut tray = TrayIconBuilder::with_id("onepush")
        .tooltip("OnePush")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "open" => show_window(app),
            "quit" => app.exit(0),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                show_window(tray.app_handle());
            }
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    Ok(())
}

/// The window's close button: with a tray icon the window hides (the app keeps
/// following the relay); without one the app quits as usual.
pub fn on_window_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    if let WindowEvent::CloseRequested { api, .. } = event
        && window.app_handle().try_state::<InTray>().is_some()
    {
        api.prevent_close();
        if let Err(e) = window.hide() {
            tracing::warn!(error = %e, "cannot hide the window");
        }
        tracing::info!("window closed: the app stays in the tray");
    }
}

/// Shows, un-minimises and focuses the main window (the UI then pulls the pending
/// requests and opens the oldest).
pub fn show_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let shown = window
            .show()
            .and_then(|()| window.unminimize())
            .and_then(|()| window.set_focus());
        if let Err(e) = shown {
            tracing::debug!(error = %e, "cannot bring the window forward");
        }
    }
}

/// Shows the window with challenge `id`'s prompt (the UI opens it on the event).
pub fn open_prompt<R: Runtime>(app: &AppHandle<R>, id: ChallengeId) {
    show_window(app);
    let event = ChallengeEvent { id: id.to_string() };
    if let Err(e) = app.emit(crate::background::CHALLENGE_EVENT, event) {
        tracing::warn!(error = %e, "cannot tell the UI to open the prompt");
    }
}

/// Shows the notification for challenge `id`; a click on it opens the prompt.
#[cfg(target_os = "linux")]
pub fn notify<R: Runtime>(
    app: &AppHandle<R>,
    id: ChallengeId,
    title: &str,
    body: &str,
    open: &str,
) -> Result<(), String> {
    let handle = notify_rust::Notification::new()
        .appname("OnePush")
        .summary(title)
        .body(body)
        .action("default", open)
        .show()
        .map_err(|e| e.to_string())?;
    tracing::info!(%id, "notification shown");
    let app = app.clone();
    // Waits (on a thread of its own) until the notification is clicked or closed.
    std::thread::spawn(move || {
        handle.wait_for_action(|action| {
            if action == "default" {
                tracing::info!(%id, "notification clicked");
                open_prompt(&app, id);
            }
        });
    });
    Ok(())
}

/// Shows the notification for challenge `id` (no click action on this platform).
#[cfg(not(target_os = "linux"))]
pub fn notify<R: Runtime>(
    app: &AppHandle<R>,
    _id: ChallengeId,
    title: &str,
    body: &str,
    _open: &str,
) -> Result<(), String> {
    use tauri_plugin_notification::NotificationExt as _;
    app.notification()
        .builder()
        .title(title)
        .body(body)
        .show()
        .map_err(|e| e.to_string())
}
