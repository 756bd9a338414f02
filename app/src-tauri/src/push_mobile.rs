//! Phones only: the push plugin (`tauri-plugin-notifications`, feature
//! `push-notifications`) behind [`PushRegistrar`]. It replaces
//! `tauri-plugin-notification` on phones (both register the same native plugin
//! classes), so phone notifications are shown here too.
//!
//! Not compiled on the project's machines (no Android NDK, no Apple SDK): keep it thin.
//! What the plugin reports later — `push-token`, `push-message`, `notificationClicked`
//! — reaches JavaScript listeners only, so the UI forwards them to the `push_*`
//! commands (app/ui/js/push.js).

use onepush_protocol::{ApnsEnvironment, ChallengeId};
use tauri::{AppHandle, Builder, Manager as _, Runtime};
use tauri_plugin_notifications::{NotificationsExt as _, PermissionState};

use crate::push::{Push, PushAddress, PushRegistrar, Registering};

/// Adds the plugin.
pub fn plugin<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    builder.plugin(tauri_plugin_notifications::init())
}

/// Manages the registrar (registration then runs from `push::start`) and asks once
/// for the right to show notifications (Android 13+, iOS).
pub fn setup<R: Runtime>(app: &tauri::App<R>) {
    app.manage(Push::new(PluginRegistrar {
        app: app.handle().clone(),
    }));
    let app = app.handle().clone();
    tauri::async_runtime::spawn(async move {
        let notifications = app.notifications();
        let granted = matches!(
            notifications.permission_state().await,
            Ok(PermissionState::Granted)
        );
        if !granted && let Err(e) = notifications.request_permission().await {
            tracing::warn!(error = %e, "notification permission not asked");
        }
    });
}

/// Shows the notification for challenge `id`; tapping it hands `challengeId` to the
/// UI's `notificationClicked` listener.
pub async fn show<R: Runtime>(
    app: &AppHandle<R>,
    id: ChallengeId,
    title: String,
    body: String,
) -> tauri_plugin_notifications::Result<()> {
    let id_text = id.to_string();
    let number = id_text
        .bytes()
        .fold(17_i32, |n, b| n.wrapping_mul(31).wrapping_add(i32::from(b)))
        & 0x7fff_ffff;
    app.notifications()
        .builder()
        .id(number)
        .title(title)
        .body(body)
        .extra("challengeId", id_text)
        .show()
        .await
}

/// The plugin's registration: the APNs device token on iOS, the FCM registration
/// token on Android.
struct PluginRegistrar<R: Runtime> {
    app: AppHandle<R>,
}

impl<R: Runtime> PushRegistrar for PluginRegistrar<R> {
    fn register(&self) -> Registering<'_> {
        Box::pin(async move {
            let token = self
                .app
                .notifications()
                .register_for_push_notifications()
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(self.refreshed(&token))
        })
    }

    fn refreshed(&self, token: &str) -> PushAddress {
        if cfg!(target_os = "ios") {
            PushAddress::Apns {
                device_token: token.to_owned(),
                environment: apns_environment(),
            }
        } else {
            PushAddress::Fcm {
                registration_token: token.to_owned(),
            }
        }
    }
}

/// Development-signed (debug) builds get sandbox tokens, release builds production
/// ones; `ONEPUSH_APNS_ENVIRONMENT=sandbox|production` at build time overrides.
fn apns_environment() -> ApnsEnvironment {
    match option_env!("ONEPUSH_APNS_ENVIRONMENT") {
        Some("sandbox") => ApnsEnvironment::Sandbox,
        Some("production") => ApnsEnvironment::Production,
        _ if cfg!(debug_assertions) => ApnsEnvironment::Sandbox,
        _ => ApnsEnvironment::Production,
    }
}
