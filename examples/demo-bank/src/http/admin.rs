//! 管理者画面 (R5, seed 000): unlock or reset another user's passwords, or
//! unregister their token, each authenticated by the admin's own push (or OTP).
//! Unregistering also needs the admin's approval password. Completion is mailed.

use askama::Template;
use axum::Extension;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use onepush_protocol::{ChallengeKind, Context};
use serde::Deserialize;
use serde_json::json;

use super::approval::start_message;
use super::session::check_csrf;
use super::{AppError, Meta, render, render_invalid, require_user};
use crate::AppState;
use crate::flow::{self, StartError};
use crate::passwords::{self, LOCK_AFTER};
use crate::store::{AdminOp, Purpose, Session, StoreError, User};

const TITLE: &str = "管理者メニュー / Admin";

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    meta: Meta,
    error: Option<String>,
    done: Option<String>,
    users: Vec<UserRow>,
    operation: String,
    target: String,
    method: String,
}

struct UserRow {
    user_id: String,
    name: String,
    role: &'static str,
    login_locked: bool,
    approval_locked: bool,
}

/// The admin form.
/// No `Debug`: it holds a password, which must never reach a log.
#[derive(Deserialize)]
pub struct AdminForm {
    csrf: String,
    operation: String,
    target_user_id: String,
    #[serde(default)]
    new_login_password: String,
    #[serde(default)]
    new_login_password2: String,
    #[serde(default)]
    new_approval_password: String,
    #[serde(default)]
    new_approval_password2: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    otp: String,
    #[serde(default)]
    approval_password: String,
}

async fn admin_user(state: &AppState, session: &Session) -> Result<User, AppError> {
    let user = require_user(state, session).await?;
    if !user.role().is_admin() {
        return Err(AppError::Forbidden(
            "管理者権限をお持ちのユーザのみ操作可能です / admin rights only",
        ));
    }
    Ok(user)
}

async fn page_for(
    state: &AppState,
    session: &Session,
    admin: &User,
) -> Result<AdminPage, AppError> {
    let users = state
        .store
        .users(&admin.contract_number)
        .await?
        .into_iter()
        .map(|u| UserRow {
            role: u.role().label(),
            login_locked: u.login_failures >= LOCK_AFTER,
            approval_locked: u.approval_failures >= LOCK_AFTER,
            user_id: u.user_id,
            name: u.name,
        })
        .collect();
    Ok(AdminPage {
        meta: Meta::new(state, session, TITLE).await?,
        error: None,
        done: None,
        users,
        operation: AdminOp::Unlock.as_str().to_owned(),
        target: String::new(),
        method: "push".to_owned(),
    })
}

pub async fn page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    let admin = admin_user(&state, &session).await?;
    render(&page_for(&state, &session, &admin).await?)
}

/// New password hashes for a reset; `Err` is the message to show.
async fn new_hashes(
    form: &AdminForm,
) -> Result<Result<(Option<String>, Option<String>), String>, AppError> {
    let pairs = [
        (
            &form.new_login_password,
            &form.new_login_password2,
            "新しいログインパスワード (new login password)",
        ),
        (
            &form.new_approval_password,
            &form.new_approval_password2,
            "新しい依頼承認パスワード (new approval password)",
        ),
    ];
    if pairs.iter().all(|(p, _, _)| p.is_empty()) {
        return Ok(Err("新しいパスワードをいずれか、または両方入力してください / enter at least one new password".to_owned()));
    }
    let mut hashes = [None, None];
    for (slot, (password, again, name)) in hashes.iter_mut().zip(pairs) {
        if password.is_empty() {
            continue;
        }
        if password != again {
            return Ok(Err(format!(
                "{name}と再入力が一致しません / the two entries differ"
            )));
        }
        if let Err(rule) = passwords::check_rule(password) {
            return Ok(Err(format!("{name}: {rule}")));
        }
        *slot = Some(passwords::hash_async(password.clone()).await?);
    }
    let [login, approval] = hashes;
    Ok(Ok((login, approval)))
}

pub async fn submit(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(form): Form<AdminForm>,
) -> Result<Response, AppError> {
    check_csrf(&session, &form.csrf)?;
    let admin = admin_user(&state, &session).await?;
    let mut page = page_for(&state, &session, &admin).await?;
    page.operation.clone_from(&form.operation);
    page.target = form.target_user_id.trim().to_owned();
    page.method.clone_from(&form.method);
    match prepare(&state, &admin, &form).await? {
        Err(message) => {
            page.error = Some(message);
            render_invalid(&page)
        }
        Ok(purpose) => execute(&state, &session, &admin, &form, purpose, page).await,
    }
}

/// Checks the form and builds what the approval will run; `Ok(Err)` is a message.
async fn prepare(
    state: &AppState,
    admin: &User,
    form: &AdminForm,
) -> Result<Result<Purpose, String>, AppError> {
    let Some(operation) = AdminOp::parse(&form.operation) else {
        return Ok(Err(
            "手続きを選択してください / choose an operation".to_owned()
        ));
    };
    let target = form.target_user_id.trim();
    if target.is_empty() {
        return Ok(Err(
            "対象ID（対象者のユーザID）を入力してください / enter the target user ID".to_owned(),
        ));
    }
    let target_user = match state.store.user(&admin.contract_number, target).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => {
            return Ok(Err(format!(
                "対象ID {target} は登録されていません / no such user in this contract"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let (mut new_login_hash, mut new_approval_hash) = (None, None);
    match operation {
        AdminOp::Unlock => {}
        AdminOp::Reset => match new_hashes(form).await? {
            Ok((l, a)) => (new_login_hash, new_approval_hash) = (l, a),
            Err(message) => return Ok(Err(message)),
        },
        AdminOp::Unregister => {
            if form.approval_password.is_empty() {
                return Ok(Err("登録解除には管理者の依頼承認パスワードが必要です / unregistering needs your approval password".to_owned()));
            }
            if let Err(message) =
                flow::check_approval_password(state, admin, &form.approval_password).await?
            {
                return Ok(Err(message));
            }
            let binding = state.relay.user(&target_user.relay_user_id()?).await?;
            if binding.is_none_or(|b| b.state == onepush_protocol::api::BindingState::Unregistered)
            {
                return Ok(Err(format!(
                    "対象ID {target} はワンプッシュ認証が登録されていません / this user has no token to unregister"
                )));
            }
        }
    }
    Ok(Ok(Purpose::Admin {
        operation,
        target_user_id: target.to_owned(),
        new_login_hash,
        new_approval_hash,
    }))
}

async fn execute(
    state: &AppState,
    session: &Session,
    admin: &User,
    form: &AdminForm,
    purpose: Purpose,
    mut page: AdminPage,
) -> Result<Response, AppError> {
    let Purpose::Admin {
        operation,
        target_user_id,
        new_login_hash,
        new_approval_hash,
    } = &purpose
    else {
        return Err(AppError::NotFound);
    };
    if form.method == "otp" {
        if let Err(message) = verify_otp(state, admin, form.otp.trim()).await? {
            page.error = Some(message);
            return render_invalid(&page);
        }
        let contract = &admin.contract_number;
        flow::run_admin(
            state,
            contract,
            *operation,
            target_user_id,
            new_login_hash.as_deref(),
            new_approval_hash.as_deref(),
        )
        .await?;
        flow::mail_completion(state, contract, &admin.user_id, *operation, target_user_id).await?;
        page.done = Some(format!(
            "{}を実行しました（OTPで認証）/ done, authenticated by OTP",
            operation.label()
        ));
        return render(&page);
    }
    let context = Context::from_value(json!({
        "operation": operation.as_str(),
        "operation_label": operation.label(),
        "target_user_id": target_user_id,
        "contract_number": admin.contract_number,
    }))
    .map_err(|e| AppError::Internal(e.into()))?;
    match flow::start(
        state,
        &session.id,
        admin,
        ChallengeKind::Admin,
        context,
        &purpose,
        false,
    )
    .await
    {
        Ok(approval) => {
            Ok(Redirect::to(&format!("/approval/{}", approval.challenge_id)).into_response())
        }
        Err(e @ (StartError::Relay(_) | StartError::NoActiveToken)) => {
            page.error = Some(start_message(&e));
            render_invalid(&page)
        }
        Err(StartError::Store(e)) => Err(e.into()),
    }
}

/// The admin's own OTP through the relay; `Ok(Err)` is the message to show.
async fn verify_otp(
    state: &AppState,
    admin: &User,
    code: &str,
) -> Result<Result<(), String>, AppError> {
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Ok(Err(
            "OTP（6桁のセキュリティコード）を入力してください / enter your 6-digit code".to_owned(),
        ));
    }
    match state.relay.verify_otp(&admin.relay_user_id()?, code).await {
        Ok(_) => Ok(Ok(())),
        Err(onepush_bank::Error::Problem { problem: p, .. }) => Ok(Err(match p.slug() {
            "code-invalid" => format!(
                "OTPが正しくありません（あと{}回でロック）/ wrong code",
                p.attempts_left.map_or_else(|| "-".to_owned(), |n| n.to_string())
            ),
            "code-replayed" => "このOTPは使用済みです。次のコードを入力してください / code already used: wait for the next one".to_owned(),
            "binding-locked" => "OTPの誤りが続いたためロックされました / too many wrong codes: the token is locked".to_owned(),
            "user-not-enrolled" | "binding-not-active" => {
                "管理者のワンプッシュ認証（OTP）が利用中ではありません / your token is not active".to_owned()
            }
            _ => format!("OTPを確認できません / {}", p.detail),
        })),
        Err(e) => Err(e.into()),
    }
}
