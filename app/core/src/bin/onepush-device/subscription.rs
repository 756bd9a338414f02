//! `push-subscription`: registers this phone's push channel by hand: an APNs device
//! token or an FCM registration token copied from a real phone (so a tester can drive a
//! staging relay with it), a Web Push endpoint, or none.

use anyhow::{Result, bail};
use onepush_device::Authenticator;
use onepush_protocol::{ApnsEnvironment, ApnsSubscription, FcmSubscription, PushChannel};
use serde_json::json;

use crate::commands::emit;

/// Where the relay should push.
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Target {
    /// An APNs device token (hex), as the iOS app got it from registerForRemoteNotifications.
    #[arg(long, value_name = "TOKEN", group = "target")]
    apns: Option<String>,
    /// An FCM registration token, as the Android app got it from Firebase.
    #[arg(long, value_name = "TOKEN", group = "target")]
    fcm: Option<String>,
    /// A Web Push endpoint URL (the push service's, or a UnifiedPush distributor's).
    #[arg(long, value_name = "URL", group = "target")]
    endpoint: Option<String>,
    /// Stop pushes to this phone.
    #[arg(long, group = "target")]
    clear: bool,
    /// With --apns: the token is from a development build (APNs sandbox).
    #[arg(long, requires = "apns")]
    sandbox: bool,
    /// With --apns or --fcm: the language of the visible alert (ja or en).
    #[arg(long, value_parser = ["ja", "en"])]
    language: Option<String>,
}

/// Registers `target` with this phone's push keys (the message to every channel is
/// encrypted to them).
pub async fn run(device: &mut Authenticator, target: &Target, json: bool) -> Result<()> {
    let keys = device.vault().push_keys().subscription("").keys;
    let channel = if let Some(token) = &target.apns {
        PushChannel::Apns(ApnsSubscription {
            device_token: token.trim().to_owned(),
            environment: if target.sandbox {
                ApnsEnvironment::Sandbox
            } else {
                ApnsEnvironment::Production
            },
            keys,
            language: target.language.clone(),
        })
    } else if let Some(token) = &target.fcm {
        PushChannel::Fcm(FcmSubscription {
            registration_token: token.trim().to_owned(),
            keys,
            language: target.language.clone(),
        })
    } else if let Some(endpoint) = &target.endpoint {
        device.set_push_endpoint(Some(endpoint)).await?;
        report(json, "webpush");
        return Ok(());
    } else if target.clear {
        device.set_push_endpoint(None).await?;
        report(json, "none");
        return Ok(());
    } else {
        bail!("give --apns TOKEN, --fcm TOKEN, --endpoint URL or --clear");
    };
    channel.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    device
        .client()
        .set_push_subscription(Some(channel.clone()))
        .await?;
    // A Web Push endpoint kept from before no longer receives anything.
    if device.vault().push_endpoint.is_some() {
        device.vault_mut().push_endpoint = None;
        device.save()?;
    }
    report(json, channel.kind());
    Ok(())
}

fn report(json: bool, kind: &str) {
    emit(json, &json!({ "push_subscription": kind }), || {
        format!("push subscription registered: {kind}")
    });
}
