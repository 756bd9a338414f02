//! Setting up a run: one bank per tenant (the bank SDK), N phones provisioned over HTTP
//! (the `onepush-device` library, as the app and the device CLI use it) and enrolled
//! (device i at tenant i mod M, user `bench-user-i`), and their event streams opened.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::StreamExt as _;
use onepush_device::events::{self, Incoming};
use onepush_device::{Authenticator, KeyStore, Vault, VaultError, unix_now};
use onepush_protocol::api::DeviceChallenge;
use onepush_protocol::{ChallengeId, totp};
use tokio::sync::{mpsc, oneshot};

use crate::bank::Bank;
use crate::http::Failure;
use crate::inbox::Inbox;
use crate::push::PushEndpoint;
use crate::target::Target;

/// Devices set up at once.
const SETUP_CONCURRENCY: usize = 16;
/// How long a device may take to open its event stream.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// One phone of the run, enrolled for one user at one tenant.
#[derive(Debug)]
pub struct Device {
    /// Its number in the run.
    pub index: usize,
    /// The bank user it is enrolled for.
    pub user_id: String,
    /// Which tenant (index into the API keys).
    pub tenant: usize,
    /// Challenges it has learned of.
    pub inbox: Arc<Inbox>,
    /// The phone: its keys, its signed client of the relay's device API.
    pub phone: Authenticator,
}

impl Device {
    /// Provisions a phone at `base` (registering a Web Push endpoint, if given).
    async fn provision(
        index: usize,
        base: &str,
        tenant: usize,
        push_endpoint: Option<String>,
    ) -> Result<Self, Failure> {
        let mut phone = Authenticator::provision(Box::new(Unkept), base, unix_now())
            .await
            .map_err(|e| Failure::device("provision", &e))?;
        if let Some(endpoint) = push_endpoint {
            phone
                .set_push_endpoint(Some(&endpoint))
                .await
                .map_err(|e| Failure::device("push-subscription", &e))?;
        }
        Ok(Self {
            index,
            user_id: format!("bench-user-{index}"),
            tenant,
            inbox: Arc::new(Inbox::default()),
            phone,
        })
    }

    /// The previous and the current code: what a user types after waiting for the next code.
    pub fn enrollment_codes(&self) -> [String; 2] {
        let step = totp::step_at(unix_now());
        let secret = self.phone.vault().totp_secret();
        [
            totp::code_at_step(secret, step - 1),
            totp::code_at_step(secret, step),
        ]
    }

    /// `GET /v1/device/challenges/{id}`, signed.
    pub async fn fetch(&self, id: ChallengeId) -> Result<DeviceChallenge, Failure> {
        self.phone
            .client()
            .challenge(id)
            .await
            .map_err(|e| Failure::client("fetch", &e))
    }

    /// Signs an approval of `ch` and posts it. Answers when the signed POST was handed
    /// to the HTTP client: where the decision legs start (signing is the phone's work,
    /// not the relay's). The decision is not kept in a history: nothing is written to
    /// disk in the measured loop.
    pub async fn approve(&self, ch: &DeviceChallenge) -> Result<Instant, Failure> {
        let jws = self
            .phone
            .sign_approval(ch, None, true, unix_now())
            .map_err(|e| Failure::device("decision", &e))?;
        let sent = Instant::now();
        self.phone
            .client()
            .post_decision(ch.id, &jws)
            .await
            .map_err(|e| Failure::client("decision", &e))?;
        Ok(sent)
    }

    /// Follows the event stream with the device library's follower, feeding the inbox
    /// with the time each announcement was read; answers once the stream is open.
    async fn follow_events(&self) -> Result<tokio::task::JoinHandle<()>, Failure> {
        let (tx, mut rx) = mpsc::channel(64);
        let follower = events::follow(self.phone.client().clone(), tx);
        let (open_tx, open_rx) = oneshot::channel();
        let inbox = self.inbox.clone();
        let feeder = tokio::spawn(async move {
            let mut open = Some(open_tx);
            while let Some(incoming) = rx.recv().await {
                let at = Instant::now();
                match incoming {
                    Incoming::Challenge { id, challenge, .. } => inbox.deliver(id, at, challenge),
                    Incoming::Connected { .. } => {
                        if let Some(open) = open.take() {
                            let _ = open.send(Ok(()));
                        }
                    }
                    Incoming::Stopped { reason } => {
                        if let Some(open) = open.take() {
                            let _ = open.send(Err(reason));
                        }
                        break;
                    }
                    Incoming::Status { .. } | Incoming::Disconnected { .. } => {}
                }
            }
            follower.abort();
        });
        match tokio::time::timeout(CONNECT_TIMEOUT, open_rx).await {
            Ok(Ok(Ok(()))) => Ok(feeder),
            Ok(Ok(Err(reason))) => Err(Failure::new("events-refused", reason)),
            Ok(Err(_)) => Err(Failure::new("events-lost", "the follower stopped")),
            Err(_) => {
                feeder.abort();
                Err(Failure::new(
                    "events-timeout",
                    format!("the event stream did not open within {CONNECT_TIMEOUT:?}"),
                ))
            }
        }
    }
}

/// Where a bench phone keeps its vault: nowhere. Its phones live for one run, and a
/// file per phone would only add disk writes to the set-up.
#[derive(Debug)]
struct Unkept;

impl KeyStore for Unkept {
    fn exists(&self) -> bool {
        false
    }

    fn load(&self) -> Result<Vault, VaultError> {
        Err(VaultError::NotFound(PathBuf::from("(memory)")))
    }

    fn save(&self, _vault: &Vault) -> Result<(), VaultError> {
        Ok(())
    }

    fn delete(&self) -> Result<(), VaultError> {
        Ok(())
    }

    fn verify_pin(&self, _pin: &str) -> bool {
        false
    }

    fn verifies_user(&self) -> bool {
        false
    }

    fn location(&self) -> String {
        "(kept in memory)".to_owned()
    }
}

/// The banks and devices of a run.
#[derive(Debug)]
pub struct Fleet {
    /// One per tenant API key.
    pub banks: Vec<Bank>,
    /// The devices, enrolled.
    pub devices: Vec<Arc<Device>>,
    /// Event-stream followers (empty with Web Push), stopped with the fleet.
    pub streams: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for stream in &self.streams {
            stream.abort();
        }
    }
}

impl Fleet {
    /// Provisions and enrolls `count` devices; with `push`, each gets a subscription at
    /// the endpoint, otherwise each opens its event stream.
    pub async fn setup(
        target: &Target,
        count: usize,
        push: Option<&PushEndpoint>,
        follow_events: bool,
    ) -> anyhow::Result<Self> {
        let client = crate::http::client();
        let banks: Vec<Bank> = target
            .api_keys
            .iter()
            .map(|k| Bank::new(&target.url, k, client.clone()))
            .collect::<Result<_, _>>()?;
        let tenants = banks.len();
        let devices: Vec<Result<Arc<Device>, Failure>> = futures::stream::iter(0..count)
            .map(|i| {
                let bank = banks[i % tenants].clone();
                let endpoint = push.map(|p| p.endpoint(i));
                let url = target.url.clone();
                async move {
                    let device = Device::provision(i, &url, i % tenants, endpoint).await?;
                    bank.enroll(&device).await?;
                    Ok(Arc::new(device))
                }
            })
            .buffer_unordered(SETUP_CONCURRENCY)
            .collect()
            .await;
        let mut ready = Vec::with_capacity(count);
        for d in devices {
            let device = d.map_err(|f| anyhow::anyhow!("cannot set up a device: {f}"))?;
            if let Some(p) = push {
                p.registry.add(
                    device.index,
                    device.phone.vault().push_keys().clone(),
                    device.inbox.clone(),
                );
            }
            ready.push(device);
        }
        ready.sort_by_key(|d| d.index);
        let mut streams = Vec::new();
        if follow_events {
            for d in &ready {
                streams.push(
                    d.follow_events()
                        .await
                        .map_err(|f| anyhow::anyhow!("{f}"))
                        .context("cannot open an event stream")?,
                );
            }
        }
        Ok(Self {
            banks,
            devices: ready,
            streams,
        })
    }

    /// The bank that enrolled `device`.
    pub fn bank_of(&self, device: &Device) -> &Bank {
        &self.banks[device.tenant]
    }
}
