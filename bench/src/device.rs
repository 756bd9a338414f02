//! An emulated device, as the app does it: a P-256 signing key, provisioning, the
//! enrollment codes, a request proof on every call but the decision (which its own
//! signature authenticates), the event stream it follows (or Web Push it receives),
//! fetching a challenge the channel did not carry, and posting a signed decision.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use onepush_protocol::api::{DeviceChallenge, DeviceEvent, PROOF_HEADER, Provisioned};
use onepush_protocol::jws::{DecisionClaims, sign_decision};
use onepush_protocol::proof::{ProofSigner, sign_proof};
use onepush_protocol::totp::{self, TotpSecret};
use onepush_protocol::webpush::PushReceiverKeys;
use onepush_protocol::{ChallengeId, CredentialId, DecisionVerdict, DeviceKey};
use tokio::sync::oneshot;

use crate::http::{self, Failure};

/// Unix seconds now (proofs, codes, decisions).
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// How a device learned of a challenge.
#[derive(Debug)]
pub struct Arrival {
    /// When.
    pub at: Instant,
    /// Its details, when the channel carried them (the event stream does, and Web Push
    /// when they fit one message; otherwise the device fetches them).
    pub challenge: Option<Box<DeviceChallenge>>,
}

enum Slot {
    Waiting(oneshot::Sender<Arrival>),
    Arrived(Arrival),
}

/// Challenges a device has learned of, by ID, with when; and lifecycles waiting for one.
/// The event may come before the bank's create call has returned, so either side may
/// come first.
#[derive(Default)]
pub struct Inbox {
    slots: Mutex<HashMap<ChallengeId, Slot>>,
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox").finish_non_exhaustive()
    }
}

impl Inbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ChallengeId, Slot>> {
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The device learned of `id` at `at`, with its details or not.
    pub fn deliver(&self, id: ChallengeId, at: Instant, challenge: Option<Box<DeviceChallenge>>) {
        let arrival = Arrival { at, challenge };
        let mut slots = self.lock();
        match slots.remove(&id) {
            Some(Slot::Waiting(tx)) => {
                let _ = tx.send(arrival);
            }
            Some(arrived @ Slot::Arrived(_)) => {
                slots.insert(id, arrived); // a second channel: keep the first time
            }
            None => {
                slots.insert(id, Slot::Arrived(arrival));
            }
        }
    }

    /// Waits until the device has learned of `id`; answers when and how it did.
    pub async fn wait(&self, id: ChallengeId, timeout: Duration) -> Result<Arrival, Failure> {
        let rx = {
            let mut slots = self.lock();
            match slots.remove(&id) {
                Some(Slot::Arrived(arrival)) => return Ok(arrival),
                Some(Slot::Waiting(_)) | None => {
                    let (tx, rx) = oneshot::channel();
                    slots.insert(id, Slot::Waiting(tx));
                    rx
                }
            }
        };
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(arrival)) => Ok(arrival),
            Ok(Err(_)) => Err(Failure::new(
                "delivery-lost",
                "the inbox dropped the waiter",
            )),
            Err(_) => {
                self.lock().remove(&id);
                Err(Failure::new(
                    "delivery-timeout",
                    format!("challenge {id} did not reach the device within {timeout:?}"),
                ))
            }
        }
    }
}

/// One emulated device, provisioned and enrolled for one user at one tenant.
pub struct Device {
    /// Its number in the run.
    pub index: usize,
    /// The relay URL.
    base: String,
    key: DeviceKey,
    /// Its credential.
    pub credential: CredentialId,
    secret: TotpSecret,
    /// The bank user it is enrolled for.
    pub user_id: String,
    /// Which tenant (index into the API keys).
    pub tenant: usize,
    /// Challenges it has learned of.
    pub inbox: Arc<Inbox>,
    /// Its Web Push keys, when it has a subscription.
    pub push_keys: Option<PushReceiverKeys>,
    client: reqwest::Client,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("index", &self.index)
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

impl Device {
    /// Provisions a new credential (with a Web Push subscription at `push_endpoint`, if given).
    pub async fn provision(
        index: usize,
        base: &str,
        tenant: usize,
        client: reqwest::Client,
        push_endpoint: Option<String>,
    ) -> Result<Self, Failure> {
        let key = DeviceKey::generate();
        let push_keys = push_endpoint.as_ref().map(|_| PushReceiverKeys::generate());
        let subscription = push_endpoint
            .as_deref()
            .zip(push_keys.as_ref())
            .map(|(endpoint, keys)| keys.subscription(endpoint));
        let body = serde_json::to_vec(&serde_json::json!({
            "jwk": key.public_jwk(),
            "push_subscription": subscription,
        }))
        .expect("provision request serialises");
        let path = "/v1/device/credentials";
        let proof = sign_proof(
            &key,
            ProofSigner::EmbeddedJwk,
            "POST",
            &format!("{base}{path}"),
            &body,
            unix_now(),
        );
        let req = client
            .post(format!("{base}{path}"))
            .header(PROOF_HEADER, proof)
            .header("content-type", "application/json")
            .body(body);
        let provisioned: Provisioned =
            http::send("provision", req).await?.json("provision", 201)?;
        let secret = TotpSecret::from_base32(&provisioned.totp_secret)
            .map_err(|e| Failure::new("provision-bad-secret", e.to_string()))?;
        Ok(Self {
            index,
            base: base.to_owned(),
            key,
            credential: provisioned.credential_id,
            secret,
            user_id: format!("bench-user-{index}"),
            tenant,
            inbox: Arc::new(Inbox::default()),
            push_keys,
            client,
        })
    }

    /// The previous and the current code: what a user types after waiting for the next code.
    pub fn enrollment_codes(&self) -> [String; 2] {
        let step = totp::step_at(unix_now());
        [
            totp::code_at_step(&self.secret, step - 1),
            totp::code_at_step(&self.secret, step),
        ]
    }

    fn request(&self, method: reqwest::Method, path: &str, body: &[u8]) -> reqwest::RequestBuilder {
        let url = format!("{}{path}", self.base);
        let proof = sign_proof(
            &self.key,
            ProofSigner::Credential(&self.credential),
            method.as_str(),
            &url,
            body,
            unix_now(),
        );
        let req = self.client.request(method, url).header(PROOF_HEADER, proof);
        if body.is_empty() {
            req
        } else {
            req.header("content-type", "application/json")
                .body(body.to_vec())
        }
    }

    /// Opens the event stream and feeds the inbox until it ends; answers once the
    /// stream is open (200 received), with the task that reads it.
    pub async fn follow_events(
        &self,
    ) -> Result<tokio::task::JoinHandle<Result<(), Failure>>, Failure> {
        let req = self.request(reqwest::Method::GET, "/v1/device/events", b"");
        let mut response = req
            .timeout(Duration::from_secs(24 * 3600))
            .send()
            .await
            .map_err(|e| Failure::new("events-transport", e.to_string()))?;
        if response.status().as_u16() != 200 {
            let status = response.status().as_u16();
            let body = response.bytes().await.unwrap_or_default();
            return Err(http::Answer { status, body }.unexpected("events"));
        }
        let inbox = self.inbox.clone();
        Ok(tokio::spawn(async move {
            let mut buffer = Vec::<u8>::new();
            loop {
                let chunk = match response.chunk().await {
                    Ok(Some(c)) => c,
                    Ok(None) => return Ok(()),
                    Err(e) => return Err(Failure::new("events-transport", e.to_string())),
                };
                let at = Instant::now();
                buffer.extend_from_slice(&chunk);
                // Events end with a blank line; only `data:` lines matter here.
                while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
                    let event: Vec<u8> = buffer.drain(..end + 2).collect();
                    for line in event.split(|b| *b == b'\n') {
                        if let Some(data) = line.strip_prefix(b"data:")
                            && let Ok(DeviceEvent::Challenge { id, challenge }) =
                                serde_json::from_slice::<DeviceEvent>(data.trim_ascii())
                        {
                            inbox.deliver(id, at, challenge);
                        }
                    }
                }
            }
        }))
    }

    /// `GET /v1/device/challenges/{id}`.
    pub async fn fetch(&self, id: ChallengeId) -> Result<DeviceChallenge, Failure> {
        let req = self.request(
            reqwest::Method::GET,
            &format!("/v1/device/challenges/{id}"),
            b"",
        );
        http::send("fetch", req).await?.json("fetch", 200)
    }

    /// Signs an approval of `ch` and posts it. Answers when the signed POST was handed
    /// to the HTTP client: where the decision legs start (signing is the phone's work,
    /// not the relay's).
    pub async fn approve(&self, ch: &DeviceChallenge) -> Result<Instant, Failure> {
        let claims = DecisionClaims {
            v: 1,
            chl: ch.id,
            tnt: ch.tenant_id.clone(),
            sub: ch.user_id.clone(),
            cid: self.credential.clone(),
            knd: ch.kind,
            ctx: ch.context.digest_b64(),
            num: None,
            dec: DecisionVerdict::Approve,
            rsn: None,
            uv: true,
            iat: unix_now(),
            nonce: ch.nonce.clone(),
        };
        let jws = sign_decision(&self.key, &claims);
        let body =
            serde_json::to_vec(&serde_json::json!({ "jws": jws })).expect("decision serialises");
        // As the app: the signed decision authenticates the request, no proof with it.
        let req = self
            .client
            .post(format!(
                "{}/v1/device/challenges/{}/decision",
                self.base, ch.id
            ))
            .header("content-type", "application/json")
            .body(body);
        let sent = Instant::now();
        let answer = http::send("decision", req).await?;
        if answer.status == 200 {
            Ok(sent)
        } else {
            Err(answer.unexpected("decision"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_event_before_the_wait_is_kept_and_one_after_wakes_it() {
        let inbox = Inbox::default();
        let early = ChallengeId::new();
        let at = Instant::now();
        inbox.deliver(early, at, None);
        inbox.deliver(early, at + Duration::from_secs(1), None); // a second channel: first kept
        assert_eq!(
            inbox.wait(early, Duration::from_secs(1)).await.unwrap().at,
            at
        );

        let inbox = Arc::new(inbox);
        let late = ChallengeId::new();
        let feeder = inbox.clone();
        let sent = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let at = Instant::now();
            feeder.deliver(late, at, None);
            at
        });
        let got = inbox.wait(late, Duration::from_secs(5)).await.unwrap().at;
        assert_eq!(got, sent.await.unwrap());
    }

    #[tokio::test]
    async fn a_challenge_that_never_arrives_times_out() {
        let inbox = Inbox::default();
        let err = inbox
            .wait(ChallengeId::new(), Duration::from_millis(10))
            .await
            .unwrap_err();
        assert_eq!(err.kind, "delivery-timeout");
        assert!(inbox.lock().is_empty(), "the waiter is removed");
    }
}
