//! [`Channels`]: the relay's push sender, which hands each message to the sender of its
//! channel (Web Push, APNs, FCM), built from the settings.

use std::time::Duration;

use futures::future::BoxFuture;
use onepush_protocol::PushChannel;

use super::apns::{ApnsConfig, ApnsSender};
use super::fcm::FcmSender;
use super::{PushError, PushMessage, PushResult, PushSender, WebPushSender};
use crate::settings::Settings;

/// Every configured sender; APNs and FCM only when their settings are given.
#[derive(Debug)]
pub struct Channels {
    /// Web Push, always on.
    pub web: WebPushSender,
    /// APNs (`push.apns.key_file` ...).
    pub apns: Option<ApnsSender>,
    /// FCM (`push.fcm.service_account_file`).
    pub fcm: Option<FcmSender>,
}

fn setting_error(key: &'static str, message: impl std::fmt::Display) -> PushError {
    PushError::Setting {
        key,
        message: message.to_string(),
    }
}

fn read(key: &'static str, path: &std::path::Path) -> Result<String, PushError> {
    std::fs::read_to_string(path)
        .map_err(|e| setting_error(key, format!("cannot read {}: {e}", path.display())))
}

impl Channels {
    /// The senders `settings` configure, with the relay's VAPID key.
    pub fn from_settings(
        settings: &Settings,
        vapid_private_key: &[u8],
        request_timeout: Duration,
    ) -> Result<Self, PushError> {
        let roots = match &settings.push.ca_file {
            Some(path) => {
                reqwest::Certificate::from_pem_bundle(read("push.ca_file", path)?.as_bytes())
                    .map_err(|e| setting_error("push.ca_file", e))?
            }
            None => Vec::new(),
        };
        let web = WebPushSender::new(
            vapid_private_key,
            settings.push.webpush.vapid_subject.clone(),
            request_timeout,
            settings.endpoint_policy(),
            &roots,
        )?;
        let apns = match &settings.push.apns.key_file {
            Some(path) => {
                let need = |key: &'static str, value: &Option<String>| {
                    value
                        .clone()
                        .ok_or_else(|| setting_error(key, "must be set with push.apns.key_file"))
                };
                let config = ApnsConfig {
                    key_pem: zeroize::Zeroizing::new(read("push.apns.key_file", path)?),
                    key_id: need("push.apns.key_id", &settings.push.apns.key_id)?,
                    team_id: need("push.apns.team_id", &settings.push.apns.team_id)?,
                    topic: need("push.apns.topic", &settings.push.apns.topic)?,
                    base_url: settings.push.apns.base_url.clone(),
                };
                Some(ApnsSender::new(config, request_timeout, &roots)?)
            }
            None => None,
        };
        let fcm = match &settings.push.fcm.service_account_file {
            Some(path) => Some(FcmSender::new(
                &zeroize::Zeroizing::new(read("push.fcm.service_account_file", path)?),
                settings.push.fcm.base_url.clone(),
                request_timeout,
                &roots,
            )?),
            None => None,
        };
        Ok(Self { web, apns, fcm })
    }
}

impl PushSender for Channels {
    fn send<'a>(
        &'a self,
        channel: &'a PushChannel,
        message: &'a PushMessage<'a>,
        ttl_seconds: u32,
    ) -> BoxFuture<'a, PushResult> {
        match (channel, &self.apns, &self.fcm) {
            (PushChannel::WebPush(s), _, _) => {
                Box::pin(self.web.post(s, message.payload, ttl_seconds))
            }
            (PushChannel::Apns(s), Some(apns), _) => Box::pin(apns.post(s, message)),
            (PushChannel::Fcm(s), _, Some(fcm)) => Box::pin(fcm.post(s, message, ttl_seconds)),
            (other, _, _) => {
                tracing::warn!(
                    channel = other.kind(),
                    "push channel not configured on this relay"
                );
                Box::pin(std::future::ready(PushResult::Rejected { status: 0 }))
            }
        }
    }
}
