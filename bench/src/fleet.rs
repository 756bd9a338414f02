//! Setting up a run: one bank per tenant, N devices provisioned over HTTP and enrolled
//! (device i at tenant i mod M, user `bench-user-i`), and their event streams opened.

use std::sync::Arc;

use anyhow::Context as _;
use futures::StreamExt as _;

use crate::bank::Bank;
use crate::device::Device;
use crate::http::Failure;
use crate::push::PushEndpoint;
use crate::target::Target;

/// Devices set up at once.
const SETUP_CONCURRENCY: usize = 16;

/// The banks and devices of a run.
#[derive(Debug)]
pub struct Fleet {
    /// One per tenant API key.
    pub banks: Vec<Bank>,
    /// The devices, enrolled.
    pub devices: Vec<Arc<Device>>,
    /// Event-stream readers (empty with Web Push).
    pub streams: Vec<tokio::task::JoinHandle<Result<(), Failure>>>,
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
            .collect();
        let tenants = banks.len();
        let devices: Vec<Result<Arc<Device>, Failure>> = futures::stream::iter(0..count)
            .map(|i| {
                let client = client.clone();
                let bank = banks[i % tenants].clone();
                let endpoint = push.map(|p| p.endpoint(i));
                let url = target.url.clone();
                async move {
                    let device = Device::provision(i, &url, i % tenants, client, endpoint).await?;
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
            if let (Some(p), Some(keys)) = (push, &device.push_keys) {
                p.registry
                    .add(device.index, keys.clone(), device.inbox.clone());
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
