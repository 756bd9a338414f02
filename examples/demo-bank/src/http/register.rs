//! ワンプッシュ認証利用開始登録 (R8): sign in with contract number, user ID and login
//! password, then type the credential ID and two consecutive security codes.

use askama::Template;
use axum::Extension;
use axum::extract::{Form, State};
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use onepush_protocol::CredentialId;
use onepush_protocol::api::CreateEnrollment;
use serde::Deserialize;

use super::session::{check_csrf, new_session, set_cookie};
use super::{AppError, Meta, render, render_invalid, signed_in_user};
use crate::flow;
use crate::store::{PasswordKind, PinnedHow, PinnedKey, Session, StoreError, User};
use crate::{AppState, seed};

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    meta: Meta,
    /// The user signed in for registration, if any.
    who: Option<String>,
    error: Option<String>,
    done: Option<String>,
    contract: String,
    user_id: String,
    credential_id: String,
}

impl RegisterPage {
    fn new(meta: Meta, who: Option<String>) -> Self {
        Self {
            meta,
            who,
            error: None,
            done: None,
            contract: seed::CONTRACT.to_owned(),
            user_id: String::new(),
            credential_id: String::new(),
        }
    }
}

const TITLE: &str = "ワンプッシュ認証 利用開始登録 / Register one-push";

/// The user this session may register: signed in, or signed in on this page.
async fn registering_user(state: &AppState, session: &Session) -> Result<Option<User>, AppError> {
    if let Some(user) = signed_in_user(state, session).await? {
        return Ok(Some(user));
    }
    let (Some(contract), Some(user_id)) = (&session.contract_number, &session.register_user_id)
    else {
        return Ok(None);
    };
    match state.store.user(contract, user_id).await {
        Ok(user) => Ok(Some(user)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn who(user: &User) -> String {
    format!(
        "{} ({} / {})",
        user.name, user.contract_number, user.user_id
    )
}

pub async fn page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    let user = registering_user(&state, &session).await?;
    let meta = Meta::new(&state, &session, TITLE).await?;
    render(&RegisterPage::new(meta, user.as_ref().map(who)))
}

/// Step 1: the sign-in form of the registration page.
/// No `Debug`: it holds a password, which must never reach a log.
#[derive(Deserialize)]
pub struct SignInForm {
    csrf: String,
    contract: String,
    user_id: String,
    password: String,
}

pub async fn sign_in(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(form): Form<SignInForm>,
) -> Result<Response, AppError> {
    check_csrf(&session, &form.csrf)?;
    let meta = Meta::new(&state, &session, TITLE).await?;
    let fail = |meta: Meta, error: String| {
        let mut page = RegisterPage::new(meta, None);
        page.error = Some(error);
        page.contract.clone_from(&form.contract);
        page.user_id.clone_from(&form.user_id);
        render_invalid(&page)
    };
    let user = match state
        .store
        .user(form.contract.trim(), form.user_id.trim())
        .await
    {
        Ok(user) => user,
        Err(StoreError::NotFound) => {
            return fail(meta, "契約者番号、利用者IDまたはパスワードが違います / wrong contract number, user ID or password".to_owned());
        }
        Err(e) => return Err(e.into()),
    };
    if let Err(message) =
        flow::check_password(&state, &user, &form.password, PasswordKind::Login).await?
    {
        return fail(meta, message);
    }
    let fresh = new_session(&state).await?;
    state
        .store
        .sign_in_for_registration(&fresh.id, &user.contract_number, &user.user_id)
        .await?;
    let cookie = set_cookie(&fresh.id, state.settings.secure_cookies);
    Ok(([(SET_COOKIE, cookie)], Redirect::to("/register")).into_response())
}

/// Step 2: credential ID and two consecutive codes.
#[derive(Debug, Deserialize)]
pub struct EnrollForm {
    csrf: String,
    credential_id: String,
    code1: String,
    code2: String,
}

pub async fn enroll(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(form): Form<EnrollForm>,
) -> Result<Response, AppError> {
    check_csrf(&session, &form.csrf)?;
    let user = registering_user(&state, &session)
        .await?
        .ok_or(AppError::SignIn)?;
    let meta = Meta::new(&state, &session, TITLE).await?;
    let mut page = RegisterPage::new(meta, Some(who(&user)));
    page.credential_id.clone_from(&form.credential_id);
    let credential: CredentialId = match form.credential_id.parse() {
        Ok(c) => c,
        Err(e) => {
            page.error = Some(format!("クレデンシャルIDが正しくありません / {e}"));
            return render_invalid(&page);
        }
    };
    let codes = [form.code1.trim().to_owned(), form.code2.trim().to_owned()];
    if codes
        .iter()
        .any(|c| c.len() != 6 || !c.chars().all(|d| d.is_ascii_digit()))
        || codes[0] == codes[1]
    {
        page.error = Some(
            "セキュリティコードは6桁の数字を2つ、異なる連続したコードで入力してください / enter two different consecutive 6-digit codes"
                .to_owned(),
        );
        return render_invalid(&page);
    }
    let body = CreateEnrollment {
        user_id: user.relay_user_id()?,
        credential_id: credential.clone(),
        codes,
        kind: None,
    };
    match state.relay.enroll(&body).await {
        Ok(binding) => {
            pin(&state, &user, &binding.credential_id).await;
            page.done = Some(format!(
                "ワンプッシュ認証の登録が完了しました。クレデンシャルID {} / one-push is registered for {}",
                binding.credential_id, user.user_id
            ));
            page.credential_id.clear();
            render(&page)
        }
        Err(onepush_bank::Error::Problem { problem, .. }) => {
            page.error = Some(match problem.slug() {
                "credential-not-found" => "クレデンシャルIDが見つかりません。アプリに表示されたIDを確認してください / credential ID not found".to_owned(),
                "already-enrolled" => "この利用者は既にワンプッシュ認証を登録済みです（登録変更は登録解除の後に行ってください）/ already registered: unregister first".to_owned(),
                "codes-invalid" => "クレデンシャルIDまたはセキュリティコードが正しくありません。アプリに表示されたIDと連続した2つのコードを確認してください / the credential ID or the codes are wrong (codes not consecutive or already used)".to_owned(),
                _ => format!("登録できませんでした / could not register: {}", problem.detail),
            });
            render_invalid(&page)
        }
        Err(e) => Err(e.into()),
    }
}

/// Pins the key of the token the user just proved (the codes) as theirs: the bank
/// verifies this user's decisions against it from now on (`flow::verify_approval`).
/// Should the key not be read now, it is pinned on its first decision instead.
async fn pin(state: &AppState, user: &User, credential: &CredentialId) {
    let pinned = match state.relay.jwk(credential).await {
        Ok(key) => {
            let key = PinnedKey {
                credential_id: key.credential_id,
                jwk: key.jwk,
            };
            state
                .store
                .pin_key(
                    &user.contract_number,
                    &user.user_id,
                    &key,
                    PinnedHow::Registered,
                )
                .await
                .map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = pinned {
        tracing::warn!(user = %user.user_id, error = %e, "could not pin the registered token's key; it is pinned on first use");
    }
}
