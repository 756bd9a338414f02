//! Login (contract number, user ID, login password), the R17 token policy, the OTP
//! login of code-token users (R10, R11), logout and the dashboard.

use askama::Template;
use axum::Extension;
use axum::extract::{Form, State};
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use onepush_protocol::ChallengeKind;
use onepush_protocol::api::{BindingState, TokenKind, UserBinding};
use serde::Deserialize;
use serde_json::json;

use super::approval::{fmt_date, start_message};
use super::maintenance;
use super::session::{check_csrf, new_session, set_cookie};
use super::{AppError, ClientInfo, Meta, render, render_invalid, require_user, signed_in_user};
use crate::flow::{self, StartError};
use crate::store::{PasswordKind, Purpose, Session, StoreError, Transfer, User};
use crate::{AppState, seed};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    meta: Meta,
    error: Option<String>,
    contract: String,
    user_id: String,
}

/// The login form.
/// No `Debug`: it holds a password, which must never reach a log.
#[derive(Deserialize)]
pub struct LoginForm {
    csrf: String,
    contract: String,
    user_id: String,
    password: String,
}

pub async fn index(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Redirect, AppError> {
    Ok(if signed_in_user(&state, &session).await?.is_some() {
        Redirect::to("/dashboard")
    } else {
        Redirect::to("/login")
    })
}

pub async fn login_page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    let meta = Meta::new(&state, &session, "ログイン / Sign in")
        .await?
        .announce(&state)
        .await;
    render(&LoginPage {
        meta,
        error: None,
        contract: seed::CONTRACT.to_owned(),
        user_id: String::new(),
    })
}

/// What the token policy lets a user with a right password do.
enum Gate {
    /// Ask the phone.
    Push,
    /// Ask for a one-time code: the user's token is a code token (binding kind `otp`).
    Otp,
    /// Let in with passwords only, with a notice.
    PasswordOnly(Option<String>),
    /// Refuse, with the reason.
    Refuse(String),
}

pub async fn login(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    client: ClientInfo,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    check_csrf(&session, &form.csrf)?;
    let refuse = |meta: Meta, error: String| {
        render_invalid(&LoginPage {
            meta,
            error: Some(error),
            contract: form.contract.clone(),
            user_id: form.user_id.clone(),
        })
    };
    let meta = Meta::new(&state, &session, "ログイン / Sign in")
        .await?
        .announce(&state)
        .await;
    let (contract, user_id) = (form.contract.trim(), form.user_id.trim());
    if contract.is_empty() || user_id.is_empty() || form.password.is_empty() {
        return refuse(
            meta,
            "契約者番号、利用者ID、ログインパスワードを入力してください / enter all three fields"
                .to_owned(),
        );
    }
    let user = match state.store.user(contract, user_id).await {
        Ok(user) => user,
        Err(StoreError::NotFound) => {
            return refuse(meta, "契約者番号、利用者IDまたはパスワードが違います / wrong contract number, user ID or password".to_owned());
        }
        Err(e) => return Err(e.into()),
    };
    if let Err(message) =
        flow::check_password(&state, &user, &form.password, PasswordKind::Login).await?
    {
        return refuse(meta, message);
    }
    let gate = match state.relay.user(&user.relay_user_id()?).await {
        Ok(binding) => token_gate(&user, binding.as_ref(), crate::now()),
        Err(e) => return refuse(meta, start_message(&StartError::Relay(e))),
    };
    // The password is right: continue in a fresh session (no session fixation).
    let fresh = new_session(&state).await?;
    let cookie = set_cookie(&fresh.id, state.settings.secure_cookies);
    let target = match gate {
        Gate::Refuse(message) => return refuse(meta, message),
        Gate::PasswordOnly(notice) => {
            password_only(&state, &fresh.id, &user, notice).await?;
            "/dashboard".to_owned()
        }
        Gate::Otp => {
            state
                .store
                .await_otp(&fresh.id, &user.contract_number, &user.user_id)
                .await?;
            "/login/otp".to_owned()
        }
        Gate::Push => {
            let context = json!({
                "ip": client.ip,
                "user_agent": client.user_agent,
                "contract_number": user.contract_number,
                "user_name": user.name,
            });
            let context = onepush_protocol::Context::from_value(context)
                .map_err(|e| AppError::Internal(e.into()))?;
            let number_matching = state.settings.number_matching;
            match flow::start(
                &state,
                &fresh.id,
                &user,
                ChallengeKind::Login,
                context,
                &Purpose::Login,
                number_matching,
            )
            .await
            {
                Ok(approval) => format!("/approval/{}", approval.challenge_id),
                Err(StartError::Relay(e)) => match maintenance::suspension(&e) {
                    // R18: one-push suspended by the relay's operator: the bank's
                    // password-only policy, with the announcement.
                    Some(status) => {
                        let notice = maintenance::password_only_notice(&status);
                        password_only(&state, &fresh.id, &user, Some(notice)).await?;
                        "/dashboard".to_owned()
                    }
                    None => return refuse(meta, start_message(&StartError::Relay(e))),
                },
                Err(e @ StartError::NoActiveToken) => return refuse(meta, start_message(&e)),
                Err(StartError::Store(e)) => return Err(e.into()),
            }
        }
    };
    Ok(([(SET_COOKIE, cookie)], Redirect::to(&target)).into_response())
}

/// Signs `user` in on the session `session_id` with passwords only, with `notice`.
async fn password_only(
    state: &AppState,
    session_id: &str,
    user: &User,
    notice: Option<String>,
) -> Result<(), AppError> {
    state
        .store
        .sign_in(session_id, &user.contract_number, &user.user_id)
        .await?;
    if let Some(notice) = notice {
        state.store.set_flash(session_id, &notice).await?;
    }
    Ok(())
}

/// R13, R14, R17: who may log in how, given the relay's binding.
fn token_gate(user: &User, binding: Option<&UserBinding>, now: i64) -> Gate {
    let needs_token = user.role().needs_token();
    let Some(binding) = binding else {
        return match user.password_only_until {
            _ if !needs_token => Gate::PasswordOnly(None),
            Some(until) if until > now => Gate::PasswordOnly(Some(format!(
                "ワンプッシュ認証が未登録です。{}までに登録してください / please register one-push before {}",
                fmt_date(until),
                fmt_date(until)
            ))),
            _ => Gate::Refuse(r17_message()),
        };
    };
    match binding.state {
        BindingState::Active if binding.kind == TokenKind::Otp => Gate::Otp,
        BindingState::Active => Gate::Push,
        BindingState::Locked => Gate::Refuse(format!(
            "ワンプッシュ認証がロック（閉塞）されています。お取引店にご連絡ください / your token is locked ({})",
            binding.lock_reason.as_deref().unwrap_or("locked")
        )),
        BindingState::Suspended | BindingState::Unregistered => {
            let grace = binding
                .grace_until
                .map(time::OffsetDateTime::unix_timestamp);
            match grace {
                Some(until) if until > now => Gate::PasswordOnly(Some(format!(
                    "ワンプッシュ認証は{}です。{}まではパスワードのみでご利用いただけます / password-only use until {}",
                    if binding.state == BindingState::Suspended {
                        "一時停止中"
                    } else {
                        "登録解除済み"
                    },
                    fmt_date(until),
                    fmt_date(until)
                ))),
                _ if !needs_token => Gate::PasswordOnly(None),
                _ => Gate::Refuse(r17_message()),
            }
        }
    }
}

#[derive(Template)]
#[template(path = "login_otp.html")]
struct OtpPage {
    meta: Meta,
    name: String,
    error: Option<String>,
}

/// The one-time code of an OTP login.
#[derive(Debug, Deserialize)]
pub struct OtpForm {
    csrf: String,
    code: String,
}

const OTP_TITLE: &str = "ワンタイムパスワード / One-time code";

/// The user whose password was right and whose code is awaited, if any.
async fn otp_pending_user(state: &AppState, session: &Session) -> Result<Option<User>, AppError> {
    let (Some(contract), Some(user_id)) = (&session.contract_number, &session.otp_user_id) else {
        return Ok(None);
    };
    match state.store.user(contract, user_id).await {
        Ok(user) => Ok(Some(user)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `GET /login/otp`: the code form, after a right password.
pub async fn otp_page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    let Some(user) = otp_pending_user(&state, &session).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    let meta = Meta::new(&state, &session, OTP_TITLE).await?;
    render(&OtpPage {
        meta,
        name: user.name,
        error: None,
    })
}

/// `POST /login/otp`: the code is checked by the relay (used once, failures counted
/// toward the lock); a right one completes the login.
pub async fn otp_submit(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(form): Form<OtpForm>,
) -> Result<Response, AppError> {
    check_csrf(&session, &form.csrf)?;
    let Some(user) = otp_pending_user(&state, &session).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    let code = form.code.trim();
    let refused = if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        match state.relay.verify_otp(&user.relay_user_id()?, code).await {
            Ok(_) => None,
            Err(e) => match e.problem() {
                Some(p) => Some(otp_refusal(p)),
                None => return Err(e.into()),
            },
        }
    } else {
        Some(
            "ワンタイムパスワード（6桁の数字）を入力してください / enter the 6-digit code"
                .to_owned(),
        )
    };
    if let Some(error) = refused {
        let meta = Meta::new(&state, &session, OTP_TITLE).await?;
        return render_invalid(&OtpPage {
            meta,
            name: user.name,
            error: Some(error),
        });
    }
    state
        .store
        .sign_in(&session.id, &user.contract_number, &user.user_id)
        .await?;
    state
        .store
        .set_flash(
            &session.id,
            "ワンタイムパスワードでログインしました / signed in with a one-time code",
        )
        .await?;
    Ok(Redirect::to("/dashboard").into_response())
}

/// A refused code in words.
fn otp_refusal(p: &onepush_protocol::api::Problem) -> String {
    match p.slug() {
        "code-invalid" => format!(
            "ワンタイムパスワードが正しくありません（あと{}回でロック）/ wrong code ({} tries left)",
            p.attempts_left.map_or_else(|| "-".to_owned(), |n| n.to_string()),
            p.attempts_left.map_or_else(|| "-".to_owned(), |n| n.to_string())
        ),
        "code-replayed" => "このワンタイムパスワードは使用済みです。次のコードを入力してください / code already used: wait for the next one".to_owned(),
        "binding-locked" => "ワンタイムパスワードの誤りが続いたためロック（閉塞）されました。お取引店にご連絡ください / too many wrong codes: your token is locked".to_owned(),
        "user-not-enrolled" | "binding-not-active" => {
            "トークンが利用中ではありません。もう一度ログインしてください / your token is not active: sign in again".to_owned()
        }
        _ => format!("ワンタイムパスワードを確認できません / could not check the code: {}", p.detail),
    }
}

fn r17_message() -> String {
    "承認権限のある利用者はワンプッシュ認証（またはOTP）の登録が必要です。所定の期間を過ぎたため、パスワードのみではログインできません。\
     「ワンプッシュ認証利用開始登録」から登録してください / users with approval rights must use one-push: the password-only period has ended; please register first"
        .to_owned()
}

pub async fn logout(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect, AppError> {
    check_csrf(&session, &form.csrf)?;
    state.store.delete_session(&session.id).await?;
    Ok(Redirect::to("/login"))
}

/// A form that carries only its token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

impl CsrfForm {
    /// The token.
    pub fn token(&self) -> &str {
        &self.csrf
    }
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    meta: Meta,
    user: User,
    role: &'static str,
    contract_name: String,
    token: String,
    transfers: Vec<Transfer>,
}

pub async fn dashboard(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    let user = require_user(&state, &session).await?;
    let meta = Meta::new(&state, &session, "トップページ / Dashboard").await?;
    let token = match state.relay.user(&user.relay_user_id()?).await {
        Ok(Some(b)) => format!(
            "{} — {} ({})",
            binding_label(b.state),
            kind_label(b.kind),
            b.credential_id
        ),
        Ok(None) => "未登録 / not registered".to_owned(),
        Err(_) => "確認できません / unavailable".to_owned(),
    };
    let mut transfers = state.store.transfers(&user.contract_number).await?;
    transfers.truncate(5);
    render(&Dashboard {
        meta,
        role: user.role().label(),
        contract_name: state.store.contract_name(&user.contract_number).await?,
        token,
        transfers,
        user,
    })
}

/// Japanese label of a token kind.
pub fn kind_label(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Push => "ワンプッシュ認証 / one-push",
        TokenKind::Otp => "ワンタイムパスワード（コードトークン）/ code token",
    }
}

/// Japanese label of a binding state.
pub fn binding_label(state: BindingState) -> &'static str {
    match state {
        BindingState::Active => "利用中 / active",
        BindingState::Suspended => "一時停止中 / suspended",
        BindingState::Unregistered => "登録解除 / unregistered",
        BindingState::Locked => "ロック（閉塞）/ locked",
    }
}
