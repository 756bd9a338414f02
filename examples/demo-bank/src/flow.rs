//! Asking the relay for an approval and applying its outcome exactly once.

use onepush_protocol::api::{
    BankChallenge, CreateChallenge, CreateOfflineChallenge, GraceUntil, OfflineChallengeCreated,
};
use onepush_protocol::jws::DenyReason;
use onepush_protocol::{ChallengeId, ChallengeKind, ChallengeStatus, Context, CredentialId};
use time::OffsetDateTime;

use onepush_bank::verify::{self, Expected};

use crate::AppState;
use crate::store::{
    AdminOp, Approval, PasswordKind, PinnedHow, PinnedKey, Purpose, StoreError, Transfer, User,
};

/// Why a challenge could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The user has no active one-push token.
    #[error("no active token")]
    NoActiveToken,
    /// The relay refused or could not be reached.
    #[error(transparent)]
    Relay(#[from] onepush_bank::Error),
    /// The bank's database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Sends a challenge to `user`'s phone and records what to do on approval.
pub async fn start(
    state: &AppState,
    session_id: &str,
    user: &User,
    kind: ChallengeKind,
    context: Context,
    purpose: &Purpose,
    number_matching: bool,
) -> Result<Approval, StartError> {
    // A bank user ID the relay's alphabet does not allow cannot be sent.
    let relay_user = user
        .relay_user_id()
        .map_err(|e| onepush_bank::Error::Url(format!("user ID: {e}")))?;
    let binding = state
        .relay
        .user(&relay_user)
        .await?
        .ok_or(StartError::NoActiveToken)?;
    if binding.state != onepush_protocol::api::BindingState::Active {
        return Err(StartError::NoActiveToken);
    }
    let body = CreateChallenge {
        user_id: relay_user,
        kind,
        context: context.clone(),
        ttl_seconds: Some(state.settings.ttl_seconds),
        number_matching,
    };
    let mut key = [0u8; 16];
    onepush_protocol::keys::fill_random(&mut key);
    let created = state
        .relay
        .create_challenge(&body, Some(&onepush_protocol::b64::encode(key)))
        .await?;
    let approval = Approval {
        challenge_id: created.id.to_string(),
        session_id: session_id.to_owned(),
        contract_number: user.contract_number.clone(),
        user_id: user.user_id.clone(),
        credential_id: binding.credential_id.as_str().to_owned(),
        purpose: purpose.name().to_owned(),
        // Strings and numbers only: serialising it cannot fail.
        payload: serde_json::to_string(purpose).expect("a purpose serialises"),
        context: context.canonical_json(),
        number: created.number.map(i64::from),
        expires_at: created.expires_at.unix_timestamp(),
        status: ChallengeStatus::Pending.as_str().to_owned(),
        detail: None,
        created_at: crate::now(),
    };
    state.store.insert_approval(&approval).await?;
    Ok(approval)
}

/// Asks the relay (waiting up to `wait` seconds) and, once the challenge is decided,
/// verifies and applies it. Returns the approval as it now stands.
pub async fn poll(state: &AppState, approval: Approval, wait: u32) -> anyhow::Result<Approval> {
    if approval.status != ChallengeStatus::Pending.as_str() {
        return Ok(approval);
    }
    let id: ChallengeId = approval.challenge_id.parse()?;
    let challenge = state.relay.challenge(&id, wait).await?;
    if challenge.status == ChallengeStatus::Pending {
        return Ok(approval);
    }
    finish(state, &approval, &challenge).await?;
    Ok(state.store.approval(&approval.challenge_id).await?)
}

async fn finish(
    state: &AppState,
    approval: &Approval,
    challenge: &BankChallenge,
) -> anyhow::Result<()> {
    let id = &approval.challenge_id;
    if challenge.status != ChallengeStatus::Approved {
        let detail = challenge
            .decision
            .as_ref()
            .and_then(|d| d.reason)
            .map(|r| match r {
                DenyReason::NotMe => "not_me",
                DenyReason::Declined => "declined",
            });
        state
            .store
            .finish_approval(id, challenge.status.as_str(), detail)
            .await?;
        return Ok(());
    }
    let expected = expected(approval)?;
    match verify_approval(state, approval, challenge, &expected).await {
        Err(why) => {
            tracing::warn!(challenge = %id, %why, "decision failed the bank's own check");
            state
                .store
                .finish_approval(id, "verification_failed", Some(&why))
                .await?;
        }
        Ok(verified) => {
            let summary = verified.summary();
            let claimed = state
                .store
                .finish_approval(id, "approved", Some(&summary))
                .await?;
            if !claimed {
                return Ok(());
            }
            if let Err(e) = apply(state, approval, &verified.thumbprint, &summary).await {
                tracing::error!(challenge = %id, error = %e, "applying an approved operation failed");
                let detail = format!("{summary}\n処理に失敗しました / the operation failed: {e}");
                state
                    .store
                    .set_approval_outcome(id, "failed", &detail)
                    .await?;
            }
        }
    }
    Ok(())
}

/// A decision the bank checked itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// RFC 7638 thumbprint of the key that signed.
    pub thumbprint: String,
    /// The credential that signed.
    pub credential_id: CredentialId,
    /// Whether the user unlocked the phone app with PIN or biometrics.
    pub user_verified: bool,
}

impl Verified {
    /// The line shown on the bank's pages.
    pub fn summary(&self) -> String {
        format!(
            "署名を検証しました / signature verified — クレデンシャルID {} · 鍵サムプリント (key thumbprint) {}",
            self.credential_id, self.thumbprint
        )
    }
}

/// The bank's own check of an `approved` challenge with the SDK: the JWS against the
/// key the bank pinned for this user, then every claim against what the bank sent.
/// `Err` says what did not match.
///
/// The key is the one pinned when the user registered the token on this bank's page
/// (`http::register`), not whatever the relay names now: a decision signed by another
/// credential is refused, even one the relay has bound to the user since. A user whose
/// token was registered elsewhere (the relay's API directly) has no pin yet: the key is
/// then fetched from the relay and pinned on this first use.
pub async fn verify_approval(
    state: &AppState,
    approval: &Approval,
    challenge: &BankChallenge,
    expected: &Expected,
) -> Result<Verified, String> {
    let (contract, user) = (&approval.contract_number, &approval.user_id);
    let pinned = state
        .store
        .pinned_key(contract, user)
        .await
        .map_err(|e| format!("could not read the pinned key: {e}"))?;
    let key = match pinned {
        Some(key) => key,
        None => pin_on_first_use(state, approval, &expected.credential_id).await?,
    };
    if key.credential_id != expected.credential_id {
        return Err(format!(
            "the relay named credential {}, but the token registered at this bank is {}: refused",
            expected.credential_id, key.credential_id
        ));
    }
    let claims = verify::verify_approval(challenge, &key.jwk, expected)
        .map_err(|e| format!("signature check failed: {e}"))?;
    Ok(Verified {
        thumbprint: key.jwk.thumbprint(),
        credential_id: claims.cid,
        user_verified: claims.uv,
    })
}

/// Fetches the key of `credential` from the relay and pins it as the token of the
/// approval's user: trust on first use, for a token registered elsewhere.
async fn pin_on_first_use(
    state: &AppState,
    approval: &Approval,
    credential: &CredentialId,
) -> Result<PinnedKey, String> {
    let fetched = state
        .relay
        .jwk(credential)
        .await
        .map_err(|e| format!("could not fetch the credential's key: {e}"))?;
    let key = PinnedKey {
        credential_id: fetched.credential_id,
        jwk: fetched.jwk,
    };
    state
        .store
        .pin_key(
            &approval.contract_number,
            &approval.user_id,
            &key,
            PinnedHow::FirstUse,
        )
        .await
        .map_err(|e| format!("could not pin the credential's key: {e}"))?;
    Ok(key)
}

/// The bank's own record of an approval that does not read back (a damaged row).
fn unreadable(e: &dyn std::fmt::Display) -> StartError {
    StartError::Store(StoreError::Db(sqlx::Error::Decode(
        format!("approval record: {e}").into(),
    )))
}

/// "Phone offline?": asks the relay for an offline code for the same operation as the
/// pending push `approval`, records it as an approval of its own (keyed by the offline
/// challenge ID, same purpose and context), and cancels the push so only one of the two
/// can approve. Returns the offline approval and the relay's answer (its QR payload).
pub async fn start_offline(
    state: &AppState,
    approval: &Approval,
) -> Result<(Approval, OfflineChallengeCreated), StartError> {
    let expected = expected(approval).map_err(|e| unreadable(&e))?;
    let body = CreateOfflineChallenge {
        user_id: expected.user_id.clone(),
        kind: expected.kind,
        context: expected.context,
        ttl_seconds: None,
    };
    let created = state.relay.create_offline_challenge(&body).await?;
    let offline = Approval {
        challenge_id: created.id.to_string(),
        number: None,
        expires_at: created.expires_at.unix_timestamp(),
        status: ChallengeStatus::Pending.as_str().to_owned(),
        detail: None,
        created_at: crate::now(),
        ..approval.clone()
    };
    state.store.insert_approval(&offline).await?;
    // The push can no longer approve: cancelled at the relay and here.
    let push: ChallengeId = approval
        .challenge_id
        .parse()
        .map_err(|e| unreadable(&format!("challenge ID: {e}")))?;
    match state.relay.cancel_challenge(&push).await {
        Ok(_) => {}
        Err(e) if e.slug() == Some("challenge-decided") => {}
        Err(e) => return Err(e.into()),
    }
    state
        .store
        .finish_approval(&approval.challenge_id, "cancelled", Some("offline"))
        .await?;
    Ok((offline, created))
}

/// What an offline code typed on the bank's page led to.
#[derive(Debug)]
pub enum OfflineOutcome {
    /// Verified and applied (or already finished): go to the approval's result.
    Done,
    /// Refused; the user may try again: the message to show.
    Retry(String),
}

/// Checks an offline code with the relay and, when it verifies for exactly this
/// approval's user, kind and context, applies the operation once.
pub async fn finish_offline(
    state: &AppState,
    approval: &Approval,
    code: &str,
) -> anyhow::Result<OfflineOutcome> {
    let id = &approval.challenge_id;
    let expected = expected(approval)?;
    let verified = match state
        .relay
        .verify_offline_code(&expected.challenge_id, code)
        .await
    {
        Ok(v) => v,
        Err(e) => {
            let (status, message) = match e.slug() {
                Some("code-invalid") => {
                    let left = e.problem().and_then(|p| p.attempts_left).unwrap_or(0);
                    return Ok(OfflineOutcome::Retry(format!(
                        "コードが違います（あと{left}回でロック）/ wrong code: {left} tries left before the token locks"
                    )));
                }
                Some("invalid-request") => {
                    return Ok(OfflineOutcome::Retry(
                        "8桁の数字を入力してください / type the 8 digits the app shows".to_owned(),
                    ));
                }
                Some("offline-challenge-expired") => ("expired", "offline code too late"),
                Some("binding-locked") => (
                    "denied",
                    "too many wrong offline codes: the token is locked",
                ),
                Some("offline-code-used") => ("failed", "offline code already used"),
                Some("binding-not-active") => ("failed", "one-push is not active"),
                _ => return Err(e.into()),
            };
            state
                .store
                .finish_approval(id, status, Some(message))
                .await?;
            return Ok(OfflineOutcome::Done);
        }
    };
    let same = verified.id == expected.challenge_id
        && verified.user_id == expected.user_id
        && verified.kind == expected.kind
        && verified.context == expected.context;
    if !same {
        tracing::warn!(challenge = %id, "offline code verified for another operation");
        state
            .store
            .finish_approval(
                id,
                "verification_failed",
                Some("the offline code approved another operation"),
            )
            .await?;
        return Ok(OfflineOutcome::Done);
    }
    let summary = format!(
        "オフラインコードで承認 / approved with an offline code (RFC 6287 OCRA, step {}, credential {})",
        verified.step, approval.credential_id
    );
    if !state
        .store
        .finish_approval(id, "approved", Some(&summary))
        .await?
    {
        return Ok(OfflineOutcome::Done);
    }
    let thumbprint = format!("ocra:{}", approval.credential_id);
    if let Err(e) = apply(state, approval, &thumbprint, &summary).await {
        tracing::error!(challenge = %id, error = %e, "applying an approved operation failed");
        let detail = format!("{summary}\n処理に失敗しました / the operation failed: {e}");
        state
            .store
            .set_approval_outcome(id, "failed", &detail)
            .await?;
    }
    Ok(OfflineOutcome::Done)
}

fn expected(approval: &Approval) -> anyhow::Result<Expected> {
    let kind = match approval.purpose()? {
        Purpose::Login => ChallengeKind::Login,
        Purpose::Transfer { .. } | Purpose::Payment { .. } => ChallengeKind::Transaction,
        Purpose::Admin { .. } => ChallengeKind::Admin,
    };
    Ok(Expected {
        challenge_id: approval.challenge_id.parse()?,
        tenant_id: None,
        user_id: crate::store::relay_user_id(&approval.contract_number, &approval.user_id)?,
        credential_id: approval.credential_id.parse::<CredentialId>()?,
        kind,
        context: Context::from_value(serde_json::from_str(&approval.context)?)?,
        number: approval.number.map(u8::try_from).transpose()?,
    })
}

async fn apply(
    state: &AppState,
    approval: &Approval,
    thumbprint: &str,
    summary: &str,
) -> anyhow::Result<()> {
    let store = &state.store;
    let contract = &approval.contract_number;
    let notice = match approval.purpose()? {
        Purpose::Login => {
            store
                .sign_in(&approval.session_id, contract, &approval.user_id)
                .await?;
            format!("ログインしました / signed in. {summary}")
        }
        Purpose::Transfer {
            payee_name,
            payee_account,
            amount,
            currency,
        } => {
            let transfer = Transfer {
                id: 0,
                contract_number: contract.clone(),
                user_id: approval.user_id.clone(),
                payee_name,
                payee_account,
                amount,
                currency,
                challenge_id: approval.challenge_id.clone(),
                key_thumbprint: thumbprint.to_owned(),
                executed_at: crate::now(),
            };
            store.insert_transfer(&transfer).await?;
            format!("振込を実行しました / transfer executed. {summary}")
        }
        Purpose::Payment { new_email, .. } => {
            if let Some(email) = new_email {
                store.set_email(contract, &approval.user_id, &email).await?;
            }
            format!("受け付けました / accepted. {summary}")
        }
        Purpose::Admin {
            operation,
            target_user_id,
            new_login_hash,
            new_approval_hash,
        } => {
            run_admin(
                state,
                contract,
                operation,
                &target_user_id,
                new_login_hash.as_deref(),
                new_approval_hash.as_deref(),
            )
            .await?;
            mail_completion(
                state,
                contract,
                &approval.user_id,
                operation,
                &target_user_id,
            )
            .await?;
            format!("{}を実行しました / done. {summary}", operation.label())
        }
    };
    store.set_flash(&approval.session_id, &notice).await?;
    Ok(())
}

/// Runs an admin operation (after the admin's push or OTP).
pub async fn run_admin(
    state: &AppState,
    contract: &str,
    operation: AdminOp,
    target: &str,
    new_login_hash: Option<&str>,
    new_approval_hash: Option<&str>,
) -> anyhow::Result<()> {
    match operation {
        AdminOp::Unlock => state.store.unlock_passwords(contract, target).await?,
        AdminOp::Reset => {
            state
                .store
                .reset_passwords(contract, target, new_login_hash, new_approval_hash)
                .await?;
        }
        AdminOp::Unregister => {
            let grace = grace_until(state);
            state
                .relay
                .unregister(&crate::store::relay_user_id(contract, target)?, &grace)
                .await?;
            state.store.unpin_key(contract, target).await?;
        }
    }
    Ok(())
}

/// The bank's grace date from now.
pub fn grace_until(state: &AppState) -> GraceUntil {
    let days = i64::from(state.settings.grace_days);
    GraceUntil {
        grace_until: Some(OffsetDateTime::now_utc() + time::Duration::days(days)),
    }
}

/// Seed 000: completion is mailed to every user of the contract with an address.
pub async fn mail_completion(
    state: &AppState,
    contract: &str,
    admin: &str,
    op: AdminOp,
    target: &str,
) -> anyhow::Result<()> {
    let now = crate::now();
    let at = OffsetDateTime::from_unix_timestamp(now)?.to_offset(time::macros::offset!(+9));
    let at = at.format(time::macros::format_description!(
        "[year]/[month]/[day] [hour]:[minute]:[second] JST"
    ))?;
    let subject = "【OnePushデモ銀行】手続完了のお知らせ / Completion notice";
    let body = format!(
        "契約者番号 {contract} のお客さま\n\n以下のお手続きが完了しました。\n\n手続き: {}\n対象ID: {target}\n管理者ID: {admin}\n日時: {at}\n\n\
         お心当たりのない場合は、お取引店までご連絡ください。\n\nThe procedure above ({}) for user {target} was completed by admin {admin}.",
        op.label(),
        op.as_str()
    );
    for user in state.store.users(contract).await? {
        if let Some(address) = user.email.as_deref().filter(|a| !a.is_empty()) {
            state
                .store
                .insert_mail(address, subject, &body, now)
                .await?;
        }
    }
    Ok(())
}

/// Checks an approval password and counts a failure; `Err` is the message to show.
pub async fn check_approval_password(
    state: &AppState,
    user: &User,
    password: &str,
) -> anyhow::Result<Result<(), String>> {
    check_password(state, user, password, PasswordKind::Approval).await
}

/// Checks a password against its lock counter; `Ok(Err(msg))` is a refusal to show.
pub async fn check_password(
    state: &AppState,
    user: &User,
    password: &str,
    kind: PasswordKind,
) -> anyhow::Result<Result<(), String>> {
    let (failures, hash, name) = match kind {
        PasswordKind::Login => (
            user.login_failures,
            &user.login_hash,
            "ログインパスワード (login password)",
        ),
        PasswordKind::Approval => (
            user.approval_failures,
            &user.approval_hash,
            "依頼承認パスワード (approval password)",
        ),
    };
    if failures >= crate::passwords::LOCK_AFTER {
        return Ok(Err(format!(
            "{name}はロックされています。管理者にロック解除を依頼してください / locked: ask your admin to unlock it"
        )));
    }
    if crate::passwords::verify_async(password.to_owned(), hash.clone()).await {
        state
            .store
            .clear_failures(&user.contract_number, &user.user_id, kind)
            .await?;
        return Ok(Ok(()));
    }
    let count = state
        .store
        .add_failure(&user.contract_number, &user.user_id, kind)
        .await?;
    let left = crate::passwords::LOCK_AFTER - count;
    Ok(Err(if left <= 0 {
        format!("{name}が違います。ロックされました / wrong password: it is now locked")
    } else {
        format!(
            "{name}が違います（あと{left}回でロック）/ wrong password: {left} tries left before it locks"
        )
    }))
}
