//! Push on phones, above the platform: a [`PushRegistrar`] (on phones the
//! notifications plugin, `push_mobile.rs`; in tests a fake) hands over a push
//! address — an APNs device token with its environment, an FCM registration token, or
//! a Web Push / `UnifiedPush` endpoint — and this module does the rest:
//!
//! - **register**: whenever the app follows a credential (at start when set up, after
//!   setup), the registrar is asked for the address, which goes with the vault's push
//!   keys to `PUT /v1/device/push-subscription`, and is remembered (`push.json` in the
//!   app home);
//! - **token refresh**: a new token from the platform is registered again, unless it
//!   is the one remembered;
//! - **incoming message**: the RFC 8291 message (base64url, the `onepush_message`
//!   field of the APNs payload or FCM data) is decrypted with the vault's push keys
//!   (`onepush_device::push`) and takes the event stream's path: recorded as shown
//!   (what a decision signs), the UI's `challenge` event, a native notification;
//! - **opened from push**: a tapped notification (the app may have been closed)
//!   names its challenge, by ID or by the message itself, and the UI opens that prompt.
//!
//! A message that does not decrypt or is not a OnePush announcement is dropped, and
//! why is logged.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use onepush_device::RelayClient;
use onepush_device::push::PushError;
use onepush_protocol::webpush::{PushKeys, PushReceiverKeys};
use onepush_protocol::{
    ApnsEnvironment, ApnsSubscription, ChallengeId, FcmSubscription, PushChannel,
};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter as _, Manager as _, Runtime};

use crate::backend::Backend;
use crate::background;
use crate::error::{AppError, CommandResult, ErrorKind};
use crate::prefs::Language;

/// The UI event after a push channel was registered at the relay: `{ channel }`.
pub const REGISTERED_EVENT: &str = "push-registered";

/// Where this app's pushes can reach it, as the platform hands it over.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "channel", rename_all = "lowercase")]
pub enum PushAddress {
    /// iOS: the APNs device token (hex) and the environment it belongs to.
    Apns {
        /// From `registerForRemoteNotifications`.
        device_token: String,
        /// `sandbox` for development-signed builds.
        environment: ApnsEnvironment,
    },
    /// Android: the FCM registration token.
    Fcm {
        /// From `FirebaseMessaging.getToken()`.
        registration_token: String,
    },
    /// A Web Push endpoint (a `UnifiedPush` distributor, a browser push service).
    #[serde(rename = "webpush")]
    WebPush {
        /// The endpoint URL the relay posts to.
        endpoint: String,
    },
}

impl PushAddress {
    /// `apns`, `fcm` or `webpush`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Apns { .. } => "apns",
            Self::Fcm { .. } => "fcm",
            Self::WebPush { .. } => "webpush",
        }
    }

    /// The channel to register: this address with the keys every message is
    /// encrypted to; `language` is the APNs alert's (`ja` or `en`).
    pub fn channel(&self, keys: &PushReceiverKeys, language: &str) -> PushChannel {
        let push_keys = PushKeys {
            p256dh: onepush_protocol::b64::encode(keys.public_key()),
            auth: onepush_protocol::b64::encode(keys.auth_secret()),
        };
        match self {
            Self::Apns {
                device_token,
                environment,
            } => PushChannel::Apns(ApnsSubscription {
                device_token: device_token.clone(),
                environment: *environment,
                keys: push_keys,
                language: Some(language.to_owned()),
            }),
            Self::Fcm { registration_token } => PushChannel::Fcm(FcmSubscription {
                registration_token: registration_token.clone(),
                keys: push_keys,
                language: Some(language.to_owned()),
            }),
            Self::WebPush { endpoint } => PushChannel::WebPush(keys.subscription(endpoint)),
        }
    }
}

impl std::fmt::Debug for PushAddress {
    /// Tokens shortened: they address one phone.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = |t: &str| format!("{}…", t.chars().take(8).collect::<String>());
        match self {
            Self::Apns {
                device_token,
                environment,
            } => write!(f, "Apns({}, {environment:?})", short(device_token)),
            Self::Fcm { registration_token } => write!(f, "Fcm({})", short(registration_token)),
            Self::WebPush { endpoint } => write!(f, "WebPush({endpoint})"),
        }
    }
}

/// What [`PushRegistrar::register`] answers.
pub type Registering<'a> = Pin<Box<dyn Future<Output = Result<PushAddress, String>> + Send + 'a>>;

/// The platform's push registration: the seam between the app and the phone's push
/// plugin (or a fake in tests).
pub trait PushRegistrar: Send + Sync + 'static {
    /// Registers for push with the platform; the address the relay should push to,
    /// or why there is none (no permission, no push service).
    fn register(&self) -> Registering<'_>;

    /// The address for a token the platform handed over later (a token refresh).
    fn refreshed(&self, token: &str) -> PushAddress;
}

/// The registrar and what was registered with it, managed by Tauri (absent on
/// platforms without push: then nothing registers and push commands say so).
pub struct Push {
    registrar: Box<dyn PushRegistrar>,
    remembered: Mutex<Option<Remembered>>,
}

impl std::fmt::Debug for Push {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Push")
            .field("remembered", &self.remembered())
            .finish_non_exhaustive()
    }
}

/// The address registered last, for which credential (`push.json` in the app home).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Remembered {
    credential: String,
    address: PushAddress,
}

impl Push {
    /// Push through `registrar`.
    pub fn new(registrar: impl PushRegistrar) -> Self {
        Self {
            registrar: Box::new(registrar),
            remembered: Mutex::new(None),
        }
    }

    fn remembered(&self) -> Option<Remembered> {
        self.remembered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn remember(&self, home: &Path, remembered: Option<Remembered>) {
        match &remembered {
            Some(r) => {
                let json = serde_json::to_vec_pretty(r).unwrap_or_default();
                if let Err(e) = std::fs::write(file(home), json) {
                    tracing::warn!(error = %e, "cannot remember the push registration");
                }
            }
            None => {
                let _ = std::fs::remove_file(file(home));
            }
        }
        *self
            .remembered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = remembered;
    }
}

fn file(home: &Path) -> PathBuf {
    home.join("push.json")
}

/// The channel registered last for the current credential: `apns`, `fcm`, `webpush`.
pub fn registered<R: Runtime>(app: &AppHandle<R>) -> Option<&'static str> {
    let push = app.try_state::<Push>()?;
    push.remembered().map(|r| r.address.kind())
}

/// Starts registering: whenever the app follows a credential (at start when set up,
/// after setup), the registrar is asked for the address and it is registered at the
/// relay. Without a [`Push`] (desktop) nothing happens.
pub fn start<R: Runtime>(app: &AppHandle<R>) {
    let Some(push) = app.try_state::<Push>() else {
        return;
    };
    let home = app.state::<Backend>().home().clone();
    if let Ok(bytes) = std::fs::read(file(&home))
        && let Ok(remembered) = serde_json::from_slice::<Remembered>(&bytes)
    {
        *push
            .remembered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(remembered);
    }
    let mut credential = app.state::<Backend>().followed();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let following = credential.borrow_and_update().is_some();
            if !following {
                // Reset: the credential and its subscription are gone at the relay.
                app.state::<Push>().remember(&home, None);
            } else if let Err(e) = register(&app).await {
                tracing::warn!(error = %e.message, "push registration failed; the event stream still works while the app runs");
            }
            if credential.changed().await.is_err() {
                return;
            }
        }
    });
}

/// Asks the platform for the address and registers it at the relay.
pub async fn register<R: Runtime>(app: &AppHandle<R>) -> CommandResult<PushChannel> {
    let push = state(app)?;
    let address = push.registrar.register().await.map_err(|reason| {
        AppError::new(
            ErrorKind::Internal,
            format!("the phone gave no push address: {reason}"),
        )
    })?;
    subscribe(app, address).await
}

/// A token the platform renewed: registered again unless it is the one registered.
/// `None` when it was already.
pub async fn token_refreshed<R: Runtime>(
    app: &AppHandle<R>,
    token: &str,
) -> CommandResult<Option<PushChannel>> {
    let push = state(app)?;
    let address = push.registrar.refreshed(token.trim());
    let (_, _, credential) = current(app).await.ok_or_else(AppError::not_set_up)?;
    if push
        .remembered()
        .is_some_and(|r| r.address == address && r.credential == credential)
    {
        tracing::debug!(?address, "push token unchanged");
        return Ok(None);
    }
    subscribe(app, address).await.map(Some)
}

/// `PUT /v1/device/push-subscription` with `address` and the vault's push keys; then
/// remembered and the UI told.
async fn subscribe<R: Runtime>(
    app: &AppHandle<R>,
    address: PushAddress,
) -> CommandResult<PushChannel> {
    let push = state(app)?;
    let backend = app.state::<Backend>();
    let (client, keys, credential) = current(app).await.ok_or_else(AppError::not_set_up)?;
    let language = match backend.prefs().await.prefs.language.resolved() {
        Language::Ja => "ja",
        _ => "en",
    };
    let channel = address.channel(&keys, language);
    channel.validate().map_err(|e| {
        AppError::new(
            ErrorKind::InvalidInput,
            format!("the phone's push address is not usable: {e}"),
        )
    })?;
    client.set_push_subscription(Some(channel.clone())).await?;
    tracing::info!(?address, "push channel registered");
    push.remember(
        backend.home(),
        Some(Remembered {
            credential,
            address,
        }),
    );
    if let Err(e) = app.emit(
        REGISTERED_EVENT,
        serde_json::json!({ "channel": channel.kind() }),
    ) {
        tracing::debug!(error = %e, "cannot emit to the UI");
    }
    Ok(channel)
}

/// The relay client, the push keys and the credential ID (`None` before setup),
/// without holding the vault.
async fn current<R: Runtime>(
    app: &AppHandle<R>,
) -> Option<(RelayClient, Arc<PushReceiverKeys>, String)> {
    let backend = app.state::<Backend>();
    let auth = backend.auth().await;
    let auth = auth.as_ref()?;
    Some((
        auth.client().clone(),
        auth.vault().push_keys().clone(),
        auth.vault().credential_id().to_string(),
    ))
}

fn state<R: Runtime>(app: &AppHandle<R>) -> CommandResult<tauri::State<'_, Push>> {
    app.try_state::<Push>().ok_or_else(|| {
        AppError::new(
            ErrorKind::InvalidInput,
            "this platform has no push registration",
        )
    })
}

/// Why an incoming push message was dropped.
#[derive(Debug, thiserror::Error)]
pub enum Dropped {
    /// Not base64url.
    #[error("the push message is not base64url")]
    Encoding,
    /// No credential to decrypt it for.
    #[error("this device has no credential")]
    NotSetUp,
    /// It did not decrypt, is not a OnePush announcement, or its challenge could not
    /// be fetched.
    #[error(transparent)]
    Push(#[from] PushError),
}

/// An incoming push message (`message`: the base64url RFC 8291 body): decrypted with
/// this device's push keys, recorded as shown and announced like a challenge from the
/// event stream (`alert`: with a notification and the window forward). The
/// challenge's ID; a message that cannot be taken is dropped and why is logged.
pub async fn incoming<R: Runtime>(
    app: &AppHandle<R>,
    message: &str,
    alert: bool,
) -> Result<ChallengeId, Dropped> {
    let taken = open(app, message).await;
    match &taken {
        Ok(challenge) => tracing::info!(id = %challenge.id, source = "push", "challenge"),
        Err(e) => tracing::warn!(reason = %e, "push message dropped"),
    }
    let challenge = taken?;
    let id = challenge.id;
    background::record(app, &challenge);
    background::announce(app, id, Some(Box::new(challenge)), alert);
    Ok(id)
}

async fn open<R: Runtime>(
    app: &AppHandle<R>,
    message: &str,
) -> Result<onepush_protocol::api::DeviceChallenge, Dropped> {
    let body = onepush_protocol::b64::decode(message.trim().trim_end_matches('='))
        .map_err(|_| Dropped::Encoding)?;
    let (client, keys, _) = current(app).await.ok_or(Dropped::NotSetUp)?;
    Ok(onepush_device::push::receive(&keys, &client, &body).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_becomes_its_channel_with_the_vaults_keys() {
        let keys = PushReceiverKeys::generate();
        let apns = PushAddress::Apns {
            device_token: "ab".repeat(32),
            environment: ApnsEnvironment::Sandbox,
        }
        .channel(&keys, "ja");
        let fcm = PushAddress::Fcm {
            registration_token: "fcm-token:APA91b".to_owned(),
        }
        .channel(&keys, "en");
        let web = PushAddress::WebPush {
            endpoint: "https://push.example.jp/up/abc".to_owned(),
        }
        .channel(&keys, "en");
        for channel in [&apns, &fcm, &web] {
            channel.validate().expect("a valid channel");
            assert_eq!(channel.keys(), &keys.subscription("x").keys);
        }
        let PushChannel::Apns(apns) = apns else {
            panic!("{apns:?}")
        };
        assert_eq!(apns.environment, ApnsEnvironment::Sandbox);
        assert_eq!(apns.language.as_deref(), Some("ja"));
        assert_eq!(fcm.kind(), "fcm");
        assert_eq!(
            web.web_push().map(|s| s.endpoint.as_str()),
            Some("https://push.example.jp/up/abc")
        );
    }

    #[test]
    fn addresses_are_remembered_as_json_without_full_tokens_in_logs() {
        let address = PushAddress::Apns {
            device_token: "0123456789abcdef".repeat(4),
            environment: ApnsEnvironment::Production,
        };
        let json = serde_json::to_value(&address).unwrap();
        assert_eq!(json["channel"], "apns");
        assert_eq!(json["environment"], "production");
        let back: PushAddress = serde_json::from_value(json).unwrap();
        assert_eq!(back, address);
        let logged = format!("{address:?}");
        assert!(!logged.contains("0123456789abcdef0123"), "{logged}");
    }
}
