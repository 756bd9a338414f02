//! The bank staff's token status page (R13–R16) and the demo mail outbox.

use askama::Template;
use axum::Extension;
use axum::extract::{Form, State};
use axum::response::{Redirect, Response};
use onepush_protocol::api::GraceUntil;
use serde::Deserialize;
use subtle::ConstantTimeEq as _;
use time::OffsetDateTime;

use super::approval::fmt_date;
use super::login::binding_label;
use super::session::check_csrf;
use super::{AppError, Meta, render, render_invalid};
use crate::store::{Mail, Session, StoreError};
use crate::{AppState, seed};

#[derive(Template)]
#[template(path = "outbox.html")]
struct Outbox {
    meta: Meta,
    mails: Vec<Mail>,
}

impl Mail {
    /// Time for display.
    pub fn when(&self) -> String {
        fmt_date(self.sent_at)
    }
}

/// The demo's mail outbox: what the bank would have sent.
pub async fn outbox(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    let meta = Meta::new(&state, &session, "送信メール / Mail outbox (demo)").await?;
    render(&Outbox {
        meta,
        mails: state.store.mails().await?,
    })
}

#[derive(Template)]
#[template(path = "staff.html")]
struct StaffPage {
    meta: Meta,
    signed_in: bool,
    error: Option<String>,
    rows: Vec<TokenRow>,
}

struct TokenRow {
    user_id: String,
    name: String,
    role: &'static str,
    state: String,
    credential: String,
    grace: String,
    password_only_until: String,
}

pub async fn page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    let meta = Meta::new(
        &state,
        &session,
        "トークン管理（行員用）/ Token status (bank staff)",
    )
    .await?;
    let rows = if session.staff {
        rows(&state).await?
    } else {
        Vec::new()
    };
    render(&StaffPage {
        meta,
        signed_in: session.staff,
        error: None,
        rows,
    })
}

async fn rows(state: &AppState) -> Result<Vec<TokenRow>, AppError> {
    let mut rows = Vec::new();
    for user in state.store.users(seed::CONTRACT).await? {
        let binding = state.relay.user(&user.relay_user_id()?).await?;
        let (state_text, credential, grace) = match binding {
            None => (
                "未登録 / not registered".to_owned(),
                String::new(),
                String::new(),
            ),
            Some(b) => (
                match &b.lock_reason {
                    Some(reason) => format!("{} ({reason})", binding_label(b.state)),
                    None => binding_label(b.state).to_owned(),
                },
                b.credential_id.to_string(),
                b.grace_until
                    .map(|g| fmt_date(g.unix_timestamp()))
                    .unwrap_or_default(),
            ),
        };
        rows.push(TokenRow {
            role: user.role().label(),
            state: state_text,
            credential,
            grace,
            password_only_until: user.password_only_until.map(fmt_date).unwrap_or_default(),
            user_id: user.user_id,
            name: user.name,
        });
    }
    Ok(rows)
}

/// The staff sign-in form.
/// No `Debug`: it holds a password, which must never reach a log.
#[derive(Deserialize)]
pub struct StaffLogin {
    csrf: String,
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(form): Form<StaffLogin>,
) -> Result<Response, AppError> {
    check_csrf(&session, &form.csrf)?;
    let expected = state.settings.staff_password.as_bytes();
    if bool::from(expected.ct_eq(form.password.as_bytes())) {
        state.store.sign_in_staff(&session.id).await?;
        return Ok(axum::response::IntoResponse::into_response(Redirect::to(
            "/staff",
        )));
    }
    let meta = Meta::new(
        &state,
        &session,
        "トークン管理（行員用）/ Token status (bank staff)",
    )
    .await?;
    render_invalid(&StaffPage {
        meta,
        signed_in: false,
        error: Some("行員パスワードが違います / wrong staff password".to_owned()),
        rows: Vec::new(),
    })
}

/// One action on one user's token.
#[derive(Debug, Deserialize)]
pub struct StaffAction {
    csrf: String,
    user_id: String,
    action: String,
    #[serde(default)]
    grace_date: String,
}

pub async fn action(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(form): Form<StaffAction>,
) -> Result<Response, AppError> {
    check_csrf(&session, &form.csrf)?;
    if !session.staff {
        return Err(AppError::Forbidden("行員のみ / bank staff only"));
    }
    let user = match state.store.user(seed::CONTRACT, &form.user_id).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => return Err(AppError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let grace = match parse_date(&form.grace_date) {
        Ok(g) => g,
        Err(message) => return staff_error(&state, &session, message.to_owned()).await,
    };
    let relay_user = user.relay_user_id()?;
    let grace_body = GraceUntil { grace_until: grace };
    let result = match form.action.as_str() {
        "suspend" => state.relay.suspend(&relay_user, &grace_body).await.map(|_| "一時停止しました / suspended".to_owned()),
        "resume" => state.relay.resume(&relay_user).await.map(|_| "再開しました / resumed".to_owned()),
        "unlock" => state.relay.unlock(&relay_user).await.map(|_| "閉塞を解除しました / unlocked".to_owned()),
        "unregister" => state.relay.unregister(&relay_user, &grace_body).await.map(|_| "登録を解除しました / unregistered".to_owned()),
        "report_lost" => match state.relay.user(&relay_user).await? {
            Some(b) => state.relay.report_lost(&b.credential_id).await.map(|r| {
                format!(
                    "紛失届を受け付けました。ロック {} 件、取消 {} 件 / reported lost: {} bindings locked, {} challenges cancelled",
                    r.locked_bindings, r.cancelled_challenges, r.locked_bindings, r.cancelled_challenges
                )
            }),
            None => return staff_error(&state, &session, "トークンが登録されていません / no token registered".to_owned()).await,
        },
        "password_only" => {
            let until = grace.map(OffsetDateTime::unix_timestamp);
            state.store.set_password_only_until(seed::CONTRACT, &user.user_id, until).await?;
            Ok("パスワードのみ利用期限を設定しました / password-only date set".to_owned())
        }
        _ => return staff_error(&state, &session, "操作を選択してください / choose an action".to_owned()).await,
    };
    if form.action == "unregister" && result.is_ok() {
        // The next token the user registers is pinned afresh (flow::verify_approval).
        state
            .store
            .unpin_key(&user.contract_number, &user.user_id)
            .await?;
    }
    match result {
        Ok(message) => {
            state
                .store
                .set_flash(&session.id, &format!("{}: {message}", user.user_id))
                .await?;
            Ok(axum::response::IntoResponse::into_response(Redirect::to(
                "/staff",
            )))
        }
        Err(onepush_bank::Error::Problem { problem: p, .. }) => {
            staff_error(
                &state,
                &session,
                format!("{}: {} ({})", user.user_id, p.detail, p.slug()),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn staff_error(
    state: &AppState,
    session: &Session,
    message: String,
) -> Result<Response, AppError> {
    let meta = Meta::new(
        state,
        session,
        "トークン管理（行員用）/ Token status (bank staff)",
    )
    .await?;
    render_invalid(&StaffPage {
        meta,
        signed_in: true,
        error: Some(message),
        rows: rows(state).await?,
    })
}

/// `YYYY-MM-DD` as the end of that day in JST; empty is none.
fn parse_date(text: &str) -> Result<Option<OffsetDateTime>, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let date = time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| "日付は YYYY-MM-DD で入力してください / enter the date as YYYY-MM-DD")?;
    let end = date
        .with_time(time::macros::time!(23:59:59))
        .assume_offset(time::macros::offset!(+9));
    Ok(Some(end.to_offset(time::UtcOffset::UTC)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grace_date_is_the_end_of_that_day_in_japan() {
        let end = parse_date("2030-04-01").unwrap().unwrap();
        assert_eq!(end.to_string(), "2030-04-01 14:59:59.0 +00:00:00");
        assert_eq!(parse_date("").unwrap(), None);
        assert!(parse_date("2030/04/01").is_err());
    }
}
