//! The one-shot commands: init, show, codes, accounts, pending, show-challenge,
//! approve, deny, history, reset. What they print is recorded in the phone's
//! [`ShownLog`]; `approve` and `deny` sign only a challenge printed before, unchanged.

use std::fmt::Write as _;

use anyhow::{Context as _, Result};
use onepush_device::{Authenticator, ShownError, ShownLog, Sighting, unix_now};
use onepush_protocol::api::{DeviceChallenge, TokenKind};
use onepush_protocol::{ChallengeId, DenyReason};
use serde::Serialize;
use serde_json::json;

use crate::render;
use crate::subscription;
use crate::unlock::Unlock;
use crate::watch;
use crate::{Cli, Command};

/// Runs the command line.
pub async fn run(cli: Cli) -> Result<()> {
    let unlock = cli.unlock();
    let json = cli.json;
    match cli.command {
        Command::Init { relay, kind } => init(&unlock, &relay, kind, json).await,
        Command::Show => show(&unlock, json),
        Command::Codes { enroll } => codes(&unlock, enroll, json),
        Command::Accounts => accounts(&unlock, json).await,
        Command::Pending => pending(&unlock, json).await,
        Command::ShowChallenge { id } => show_challenge(&unlock, &id, json).await,
        Command::Approve { id, number } => {
            answer(&unlock, &id, Answer::Approve(number), json).await
        }
        Command::Deny { id, not_me } => {
            let reason = if not_me {
                DenyReason::NotMe
            } else {
                DenyReason::Declined
            };
            answer(&unlock, &id, Answer::Deny(reason), json).await
        }
        Command::OfflineCode { payload, yes } => offline_code(&unlock, &payload, yes, json),
        Command::History => history(&unlock, json),
        Command::Settings {
            pin_before_approve,
            language,
        } => settings(&unlock, pin_before_approve, language, json),
        Command::Reset { force } => reset(&unlock, force, json).await,
        Command::Watch {
            answer,
            push_listen,
        } => {
            let device = open(&unlock)?;
            let options = watch::Options {
                answer,
                json,
                push_listen,
                push_public_url: None,
                home: unlock.home.clone(),
            };
            watch::run(device, options, true).await
        }
        Command::PushSubscription { target } => {
            let mut device = open(&unlock)?;
            subscription::run(&mut device, &target, json).await
        }
        Command::PushEndpoint {
            listen,
            public_url,
            answer,
        } => {
            let device = open(&unlock)?;
            let options = watch::Options {
                answer,
                json,
                push_listen: Some(listen),
                push_public_url: public_url,
                home: unlock.home.clone(),
            };
            watch::run(device, options, false).await
        }
    }
}

/// Prints `value` as one JSON line, or `text`.
pub fn emit(json: bool, value: &impl Serialize, text: impl FnOnce() -> String) {
    if json {
        println!("{}", serde_json::to_string(value).unwrap_or_default());
    } else {
        println!("{}", text());
    }
}

/// Opens this phone's vault.
pub fn open(unlock: &Unlock) -> Result<Authenticator> {
    Ok(Authenticator::open(unlock.open_store()?)?)
}

fn parse_id(id: &str) -> Result<ChallengeId> {
    Ok(id.trim().parse::<ChallengeId>()?)
}

async fn init(unlock: &Unlock, relay: &str, kind: TokenKind, json: bool) -> Result<()> {
    let store = unlock.new_store()?;
    let device = Authenticator::provision_as(store, relay, kind, unix_now()).await?;
    let vault = device.vault();
    let cid = vault.credential_id();
    let value = json!({
        "credential_id": cid.as_str(),
        "credential_id_grouped": cid.grouped(),
        "kind": device.kind(),
        "relay_url": vault.relay_url(),
        "encrypted": device.store().verifies_user(),
        "key": key_kind(unlock),
    });
    emit(json, &value, || {
        format!("credential ID: {} ({})", cid.grouped(), kind_label(kind))
    });
    Ok(())
}

/// How the text output names a token kind, next to the credential ID.
fn kind_label(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Push => "push token",
        TokenKind::Otp => "code-only token",
    }
}

/// Where a new vault's key is: `os-keystore`, `file` (--file-key) or `none` (insecure).
fn key_kind(unlock: &Unlock) -> &'static str {
    match (unlock.insecure, unlock.file_key) {
        (true, _) => "none",
        (false, true) => "file",
        (false, false) => "os-keystore",
    }
}

fn show(unlock: &Unlock, json: bool) -> Result<()> {
    let device = open(unlock)?;
    let vault = device.vault();
    let codes = device.codes(unix_now());
    let cid = vault.credential_id();
    let value = json!({
        "credential_id": cid.as_str(),
        "credential_id_grouped": cid.grouped(),
        "kind": device.kind(),
        "code": codes.current,
        "seconds_left": codes.seconds_left,
        "relay_url": vault.relay_url(),
        "push_endpoint": vault.push_endpoint,
        "accounts": vault.accounts,
        "encrypted": device.store().verifies_user(),
        "vault": device.store().location(),
    });
    emit(json, &value, || {
        let mut text = format!(
            "credential ID: {} ({})\ncode:          {} ({} s left)\nrelay:         {}\nvault:         {}{}",
            cid.grouped(),
            kind_label(device.kind()),
            codes.current,
            codes.seconds_left,
            vault.relay_url(),
            device.store().location(),
            if device.store().verifies_user() {
                ""
            } else {
                " (NOT encrypted)"
            },
        );
        for account in &vault.accounts {
            let _ = write!(text, "\naccount:       {}", render::account_line(account));
        }
        text
    });
    Ok(())
}

fn codes(unlock: &Unlock, enroll: bool, json: bool) -> Result<()> {
    let device = open(unlock)?;
    let codes = device.codes(unix_now());
    if enroll {
        let value =
            json!({ "codes": [codes.current, codes.next], "seconds_left": codes.seconds_left });
        emit(json, &value, || format!("{} {}", codes.current, codes.next));
    } else {
        emit(json, &codes, || {
            format!(
                "{} ({} s left; next {})",
                codes.current, codes.seconds_left, codes.next
            )
        });
    }
    Ok(())
}

async fn accounts(unlock: &Unlock, json: bool) -> Result<()> {
    let mut device = open(unlock)?;
    let cid = device.vault().credential_id().clone();
    let accounts = device.refresh_accounts().await?;
    let value = json!({ "credential_id": cid.as_str(), "accounts": accounts });
    emit(json, &value, || {
        if accounts.is_empty() {
            return format!(
                "credential {} serves no user yet: enroll it at a bank",
                cid.grouped()
            );
        }
        accounts
            .iter()
            .map(render::account_line)
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

async fn pending(unlock: &Unlock, json: bool) -> Result<()> {
    let device = open(unlock)?;
    let mut log = ShownLog::open(&unlock.home)?;
    let challenges = device.pending().await?;
    let now = unix_now();
    let changed: Vec<ChallengeId> = challenges
        .iter()
        .filter(|c| matches!(log.record(c, now), Sighting::Changed(_)))
        .map(|c| c.id)
        .collect();
    log.save(now)?;
    if json {
        for challenge in &challenges {
            emit(true, challenge, String::new);
        }
    } else if challenges.is_empty() {
        println!("no pending challenge");
    } else {
        for challenge in &challenges {
            let left = render::seconds_until(challenge.expires_at, now);
            println!("{} ({left} s left)", render::challenge_line(challenge));
        }
    }
    for id in changed {
        eprintln!(
            "warning: {}",
            ShownError::Changed {
                id,
                parts: Vec::new()
            }
        );
    }
    Ok(())
}

async fn show_challenge(unlock: &Unlock, id: &str, json: bool) -> Result<()> {
    let device = open(unlock)?;
    let mut log = ShownLog::open(&unlock.home)?;
    let challenge = device.challenge(parse_id(id)?).await?;
    let now = unix_now();
    let sighting = log.record(&challenge, now);
    log.save(now)?;
    emit(json, &challenge_json(&challenge), || {
        render::challenge_card(&challenge, now)
    });
    if let Sighting::Changed(parts) = sighting {
        return Err(ShownError::Changed {
            id: challenge.id,
            parts,
        }
        .into());
    }
    Ok(())
}

/// A challenge as JSON, with the digest the device would sign.
pub fn challenge_json(challenge: &DeviceChallenge) -> serde_json::Value {
    let mut value = serde_json::to_value(challenge).unwrap_or_default();
    value["context_digest"] = challenge.context.digest_b64().into();
    value
}

enum Answer {
    Approve(Option<u8>),
    Deny(DenyReason),
}

async fn answer(unlock: &Unlock, id: &str, answer: Answer, json: bool) -> Result<()> {
    let mut device = open(unlock)?;
    let mut log = ShownLog::open(&unlock.home)?;
    let challenge = device.challenge(parse_id(id)?).await?;
    // Signed only when it is what `show-challenge` / `pending` / `watch` printed.
    if let Err(refused) = log.check(&challenge) {
        log.save(unix_now())?;
        let hint = matches!(refused, ShownError::NotShown { .. }).then(|| {
            format!(
                "look at it first with `onepush-device show-challenge {}` (or `pending`)",
                challenge.id
            )
        });
        let refused = anyhow::Error::new(refused);
        return Err(match hint {
            Some(hint) => refused.context(hint),
            None => refused,
        });
    }
    if !json {
        print!("{}", render::challenge_card(&challenge, unix_now()));
    }
    let user_verified = device.store().verifies_user();
    let answered = match answer {
        Answer::Approve(number) => {
            device
                .approve(&challenge, number, user_verified, unix_now())
                .await?
        }
        Answer::Deny(reason) => {
            device
                .deny(&challenge, reason, user_verified, unix_now())
                .await?
        }
    };
    let entry = &answered.entry;
    let value = json!({
        "id": challenge.id,
        "verdict": entry.verdict,
        "reason": entry.reason,
        "number": entry.number,
        "user_verified": entry.user_verified,
        "status": answered.status,
        "jws": answered.jws,
    });
    emit(json, &value, || {
        format!(
            "→ {} ({})",
            render::verdict_text(entry.verdict, entry.reason),
            answered.status
        )
    });
    Ok(())
}

fn history(unlock: &Unlock, json: bool) -> Result<()> {
    let device = open(unlock)?;
    let history = &device.vault().history;
    if json {
        for entry in history {
            emit(true, entry, String::new);
        }
    } else if history.is_empty() {
        println!("no answer given yet");
    } else {
        for entry in history {
            println!("{}", render::history_line(entry));
        }
    }
    Ok(())
}

fn settings(
    unlock: &Unlock,
    pin_before_approve: Option<bool>,
    language: Option<String>,
    json: bool,
) -> Result<()> {
    let mut device = open(unlock)?;
    let settings = &mut device.vault_mut().settings;
    let changed = pin_before_approve.is_some() || language.is_some();
    if let Some(on) = pin_before_approve {
        settings.pin_before_approve = on;
    }
    if let Some(language) = language {
        settings.language = language;
    }
    if changed {
        device.save()?;
    }
    let settings = &device.vault().settings;
    emit(json, settings, || {
        let pin = if settings.pin_before_approve {
            "on"
        } else {
            "off"
        };
        format!(
            "pin-before-approve: {pin}\nlanguage:           {}",
            settings.language
        )
    });
    Ok(())
}

async fn reset(unlock: &Unlock, force: bool, json: bool) -> Result<()> {
    let device = open(unlock)?;
    let cid = device.vault().credential_id().clone();
    let revoked = match device.client().delete_self().await {
        Ok(()) => true,
        Err(e) if e.status() == Some(401) => {
            eprintln!("note: the relay no longer accepts this credential ({e})");
            false
        }
        Err(e) if force => {
            eprintln!(
                "warning: the credential was not revoked at the relay ({e}); deleting the vault anyway"
            );
            false
        }
        Err(e) => {
            return Err(e).context(
                "the credential was not revoked, so the vault is kept (--force deletes it anyway)",
            );
        }
    };
    device.forget()?;
    let value = json!({ "credential_id": cid.as_str(), "revoked": revoked, "vault_deleted": true });
    emit(json, &value, || {
        let what = if revoked {
            "revoked at the relay"
        } else {
            "not revoked"
        };
        format!("credential {} {what}; vault deleted", cid.grouped())
    });
    Ok(())
}

/// `offline-code PAYLOAD`: the transaction, a confirmation, then the code.
fn offline_code(unlock: &Unlock, payload: &str, yes: bool, json: bool) -> Result<()> {
    let payload = if payload == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .context("cannot read the payload from standard input")?;
        text
    } else {
        payload.to_owned()
    };
    let device = open(unlock)?;
    let now = unix_now();
    let prompt = device.read_offline(&payload, now)?;
    if !json {
        println!("offline code (no network needed)");
        print!("{}", render::challenge_card(&prompt.challenge, now));
        if !prompt.known_account {
            println!(
                "  note:        this bank and user are not among this phone's accounts as last fetched"
            );
        }
    }
    if !yes {
        eprint!("Approve this and show the code? [y/N] ");
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .context("cannot read the answer")?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            anyhow::bail!("not approved: no code shown");
        }
    }
    let code = device.offline_code(&prompt, unix_now())?;
    let value = json!({ "challenge": challenge_json(&prompt.challenge), "code": code,
        "known_account": prompt.known_account });
    emit(json, &value, || format!("code: {code}"));
    Ok(())
}
