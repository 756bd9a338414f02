//! `watch` and `push-endpoint`: receive challenges (event stream + pull, Web Push)
//! and answer each one automatically or at a y/n prompt, one line (or JSON object)
//! per challenge and its answer.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use onepush_device::events::{self, Incoming, Source};
use onepush_device::push::PushEndpoint;
use onepush_device::{Authenticator, ShownError, ShownLog, Sighting, unix_now};
use onepush_protocol::api::DeviceChallenge;
use onepush_protocol::{ChallengeId, ChallengeStatus, DenyReason};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::unlock::Unlock;
use crate::{AnswerArgs, Auto};
use crate::{number, render};

/// What `watch` / `push-endpoint` were told.
#[derive(Debug)]
pub struct Options {
    /// How to answer.
    pub answer: AnswerArgs,
    /// JSON lines instead of text.
    pub json: bool,
    /// Serve a Web Push endpoint here.
    pub push_listen: Option<SocketAddr>,
    /// The base URL the relay reaches the endpoint at.
    pub push_public_url: Option<String>,
    /// The phone's folder, where what is shown is recorded ([`ShownLog`]).
    pub home: PathBuf,
}

/// Receives and answers until Ctrl-C, `--count`, or the relay refuses the credential.
pub async fn run(mut device: Authenticator, options: Options, follow_events: bool) -> Result<()> {
    let shown = ShownLog::open(&options.home)?;
    let (tx, mut rx) = mpsc::channel(64);
    let endpoint = match options.push_listen {
        Some(addr) => Some(
            start_endpoint(
                &mut device,
                addr,
                options.push_public_url.as_deref(),
                tx.clone(),
            )
            .await?,
        ),
        None => None,
    };
    let follower = follow_events.then(|| events::follow(device.client().clone(), tx.clone()));
    drop(tx);
    let mut answerer = Answerer {
        options,
        shown,
        seen: HashSet::new(),
        answered: HashSet::new(),
        handled: 0,
        ready: false,
    };
    if !follow_events {
        answerer.ready(endpoint.as_ref(), false);
    }
    let result = loop {
        let incoming = tokio::select! {
            incoming = rx.recv() => incoming,
            _ = tokio::signal::ctrl_c() => None,
        };
        let Some(incoming) = incoming else {
            break Ok(());
        };
        if let Incoming::Connected { .. } = incoming {
            answerer.ready(endpoint.as_ref(), true);
        }
        match answerer.handle(&mut device, incoming).await {
            Ok(true) => {}
            Ok(false) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    if let Some(follower) = follower {
        follower.abort();
    }
    if let Some(endpoint) = endpoint {
        if let Err(e) = device.set_push_endpoint(None).await {
            eprintln!("warning: could not unregister the push endpoint: {e}");
        }
        endpoint.shutdown().await;
    }
    result
}

async fn start_endpoint(
    device: &mut Authenticator,
    addr: SocketAddr,
    public_url: Option<&str>,
    tx: mpsc::Sender<Incoming>,
) -> Result<PushEndpoint> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let vault = device.vault();
    let keys = vault.push_keys().clone();
    let vapid = Some(vault.vapid_public_key().to_owned());
    let endpoint = PushEndpoint::serve(listener, public_url, keys, vapid, tx)?;
    device
        .set_push_endpoint(Some(endpoint.url()))
        .await
        .context("cannot register the push endpoint at the relay")?;
    Ok(endpoint)
}

struct Answerer {
    options: Options,
    /// What was shown, in this process or an earlier command: a copy that differs
    /// from it is reported and never answered.
    shown: ShownLog,
    seen: HashSet<ChallengeId>,
    /// Challenges no longer pending when shown or answered here: their status events
    /// would only repeat what was printed.
    answered: HashSet<ChallengeId>,
    handled: u32,
    ready: bool,
}

impl Answerer {
    /// Prints the one `ready` line, once everything asked for is up.
    fn ready(&mut self, endpoint: Option<&PushEndpoint>, event_stream: bool) {
        if std::mem::replace(&mut self.ready, true) {
            return;
        }
        let url = endpoint.map(PushEndpoint::url);
        let value = json!({ "type": "ready", "event_stream": event_stream, "push_endpoint": url });
        crate::commands::emit(self.options.json, &value, || match url {
            Some(url) if event_stream => {
                format!("ready: following the event stream; Web Push endpoint {url}")
            }
            Some(url) => format!("ready: Web Push endpoint {url}"),
            None => "ready: following the event stream".to_owned(),
        });
    }

    /// Handles one report; false to stop.
    async fn handle(&mut self, device: &mut Authenticator, incoming: Incoming) -> Result<bool> {
        match incoming {
            Incoming::Challenge {
                id,
                source,
                challenge,
            } => {
                if !self.seen.insert(id) {
                    return Ok(true);
                }
                let report = self.answer(device, id, source, challenge).await;
                if report["status"].as_str().is_some_and(|s| s != "pending") {
                    self.answered.insert(id);
                }
                crate::commands::emit(self.options.json, &report, || report_line(&report));
                self.handled += 1;
                Ok(self.options.answer.count.is_none_or(|n| self.handled < n))
            }
            Incoming::Status { id, status } => {
                if self.answered.contains(&id) {
                    return Ok(true); // our own answer, already printed
                }
                let value = json!({ "type": "status", "id": id, "status": status });
                crate::commands::emit(self.options.json, &value, || {
                    format!("{id} is now {status}")
                });
                Ok(true)
            }
            Incoming::Connected { attempt } => {
                if attempt > 0 {
                    eprintln!("event stream connected again");
                }
                Ok(true)
            }
            Incoming::Disconnected { reason, retry_in } => {
                eprintln!(
                    "event stream lost ({reason}); trying again in {:.1} s",
                    retry_in.as_secs_f64()
                );
                Ok(true)
            }
            Incoming::Stopped { reason } => bail!("the relay refused the event stream: {reason}"),
        }
    }

    /// Shows and answers one challenge (fetching it when the channel did not carry its
    /// details); the report is what gets printed.
    async fn answer(
        &mut self,
        device: &mut Authenticator,
        id: ChallengeId,
        source: Source,
        carried: Option<Box<DeviceChallenge>>,
    ) -> Value {
        let mut report = json!({ "type": "challenge", "id": id, "source": source });
        let challenge = match carried {
            Some(challenge) => *challenge,
            None => match device.challenge(id).await {
                Ok(challenge) => challenge,
                Err(e) => return with_error(report, &e.to_string()),
            },
        };
        let now = unix_now();
        let sighting = self.shown.record(&challenge, now);
        report = merge(report, challenge_view(&challenge));
        if let Err(e) = self.shown.save(now) {
            return with_error(report, &e.to_string());
        }
        if let Sighting::Changed(parts) = sighting {
            let refused = ShownError::Changed { id, parts };
            return with_error(report, &refused.to_string());
        }
        if challenge.status != ChallengeStatus::Pending {
            report["answer"] = "none".into();
            return report;
        }
        let decided = match self.decide(device, &challenge).await {
            Ok(decided) => decided,
            Err(e) => return with_error(report, &format!("{e:#}")),
        };
        let now = unix_now();
        let posted = match decided {
            Decision::Ignore => {
                report["answer"] = "ignore".into();
                return report;
            }
            Decision::Approve {
                number,
                user_verified,
            } => device.approve(&challenge, number, user_verified, now).await,
            Decision::Deny(reason) => {
                device
                    .deny(&challenge, reason, device.store().verifies_user(), now)
                    .await
            }
        };
        match posted {
            Ok(answered) => {
                let entry = &answered.entry;
                report["answer"] = json!(entry.verdict);
                report["reason"] = json!(entry.reason);
                report["number"] = json!(entry.number);
                report["status"] = json!(answered.status);
                report
            }
            Err(e) => with_error(report, &e.to_string()),
        }
    }

    async fn decide(
        &self,
        device: &Authenticator,
        challenge: &DeviceChallenge,
    ) -> Result<Decision> {
        let answer = &self.options.answer;
        let Some(auto) = answer.auto else {
            return ask(device, challenge).await;
        };
        if auto != Auto::Ignore && answer.delay > 0 {
            tokio::time::sleep(Duration::from_millis(answer.delay)).await;
        }
        Ok(match auto {
            Auto::Ignore => Decision::Ignore,
            Auto::Deny => Decision::Deny(if answer.not_me {
                DenyReason::NotMe
            } else {
                DenyReason::Declined
            }),
            Auto::Approve => {
                let number = match (&answer.number_from, challenge.number_matching) {
                    (Some(file), true) => Some(number::wait_for(file, challenge).await?),
                    _ => None,
                };
                Decision::Approve {
                    number,
                    user_verified: device.store().verifies_user(),
                }
            }
        })
    }
}

enum Decision {
    Approve {
        number: Option<u8>,
        user_verified: bool,
    },
    Deny(DenyReason),
    Ignore,
}

/// The interactive prompt (on stderr; answers read from stdin).
async fn ask(device: &Authenticator, challenge: &DeviceChallenge) -> Result<Decision> {
    eprint!("\n{}", render::challenge_card(challenge, unix_now()));
    let line =
        read_line("approve? [y]es / [n]o / [f]raud: this wasn't me / Enter to skip: ").await?;
    match line.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => {}
        "n" | "no" => return Ok(Decision::Deny(DenyReason::Declined)),
        "f" | "fraud" => return Ok(Decision::Deny(DenyReason::NotMe)),
        _ => return Ok(Decision::Ignore),
    }
    let number = if challenge.number_matching {
        let typed = read_line("number shown on the bank's page: ").await?;
        Some(
            typed
                .trim()
                .parse::<u8>()
                .map_err(|_| anyhow!("{:?} is not a number from 10 to 99", typed.trim()))?,
        )
    } else {
        None
    };
    let mut user_verified = device.store().verifies_user();
    if device.vault().settings.pin_before_approve && user_verified {
        let pin = tokio::task::spawn_blocking(Unlock::ask_pin_again).await??;
        if !device.store().verify_pin(&pin) {
            bail!("wrong PIN: not approved");
        }
        user_verified = true;
    }
    Ok(Decision::Approve {
        number,
        user_verified,
    })
}

async fn read_line(prompt: &str) -> Result<String> {
    eprint!("{prompt}");
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        match std::io::stdin().read_line(&mut line) {
            Ok(0) => Err(anyhow!(
                "no answer: standard input is closed (use --auto to answer without asking)"
            )),
            Ok(_) => Ok(line),
            Err(e) => Err(anyhow!("cannot read the answer: {e}")),
        }
    })
    .await?
}

fn challenge_view(challenge: &DeviceChallenge) -> Value {
    json!({
        "kind": challenge.kind,
        "tenant_id": challenge.tenant_id,
        "tenant_name": challenge.tenant_name,
        "user_id": challenge.user_id,
        "context": challenge.context,
        "number_matching": challenge.number_matching,
        "status": challenge.status,
        "line": render::challenge_line(challenge),
    })
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

fn with_error(mut report: Value, error: &str) -> Value {
    report["answer"] = "error".into();
    report["error"] = error.into();
    report
}

/// The text line for a report: the challenge, how it came, and its answer.
fn report_line(report: &Value) -> String {
    let text = |key: &str| report[key].as_str().unwrap_or_default().to_owned();
    let head = match report["line"].as_str() {
        Some(line) => line.to_owned(),
        None => text("id"),
    };
    let outcome = match text("answer").as_str() {
        "error" => format!("error: {}", text("error")),
        "none" => format!("already {}", text("status")),
        "ignore" => "ignored".to_owned(),
        answer => format!("{answer} ({})", text("status")),
    };
    format!("{head} via {} → {outcome}", text("source"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_line_says_how_it_came_and_the_answer() {
        let report = json!({"id": "x", "source": "web-push", "line": "x login", "answer": "approve", "status": "approved"});
        assert_eq!(
            report_line(&report),
            "x login via web-push → approve (approved)"
        );
        let failed = with_error(json!({"id": "x", "source": "pull"}), "boom");
        assert_eq!(report_line(&failed), "x via pull → error: boom");
    }
}
