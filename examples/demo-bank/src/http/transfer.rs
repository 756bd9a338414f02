//! 振込 (R2): payee, amount and the transaction password, then a push showing
//! exactly those details (number matching unless the bank turned it off); executed transfers are listed.

use askama::Template;
use axum::Extension;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use onepush_protocol::{ChallengeKind, Context};
use serde::Deserialize;
use serde_json::json;

use super::approval::{fmt_date, start_message, yen};
use super::session::check_csrf;
use super::{AppError, Meta, render, render_invalid, require_user};
use crate::AppState;
use crate::flow::{self, StartError};
use crate::store::{Session, Transfer, User};

/// Largest amount the demo accepts, yen.
const MAX_AMOUNT: i64 = 100_000_000;

#[derive(Template)]
#[template(path = "transfer.html")]
struct TransferPage {
    meta: Meta,
    error: Option<String>,
    payee_name: String,
    payee_account: String,
    amount: String,
}

#[derive(Template)]
#[template(path = "transfers.html")]
struct TransferList {
    meta: Meta,
    transfers: Vec<Transfer>,
}

/// The transfer form.
/// No `Debug`: it holds a password, which must never reach a log.
#[derive(Deserialize)]
pub struct TransferForm {
    csrf: String,
    payee_name: String,
    payee_account: String,
    amount: String,
    approval_password: String,
}

const TITLE: &str = "振込 / Transfer";

async fn transfer_user(state: &AppState, session: &Session) -> Result<User, AppError> {
    let user = require_user(state, session).await?;
    if !user.role().can_transfer() {
        return Err(AppError::Forbidden(
            "照会のみの利用者は振込できません / inquiry-only users cannot transfer",
        ));
    }
    Ok(user)
}

pub async fn page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    transfer_user(&state, &session).await?;
    let meta = Meta::new(&state, &session, TITLE)
        .await?
        .announce(&state)
        .await;
    render(&TransferPage {
        meta,
        error: None,
        payee_name: String::new(),
        payee_account: String::new(),
        amount: String::new(),
    })
}

/// Checks the form; `Err` is the message to show.
fn validate(form: &TransferForm) -> Result<(String, String, i64), &'static str> {
    let name = form.payee_name.trim();
    let account = form.payee_account.trim();
    if name.is_empty() || name.chars().count() > 60 {
        return Err(
            "受取人名を60文字以内で入力してください / enter the payee name (up to 60 characters)",
        );
    }
    if account.is_empty() || account.chars().count() > 80 {
        return Err(
            "振込先口座を入力してください / enter the payee account (bank, branch, number)",
        );
    }
    let amount: i64 = form
        .amount
        .trim()
        .replace([',', '，'], "")
        .parse()
        .map_err(
            |_| "金額は半角数字（円）で入力してください / enter the amount in yen as digits",
        )?;
    if !(1..=MAX_AMOUNT).contains(&amount) {
        return Err(
            "金額は1円以上1億円以下で入力してください / the amount must be between ¥1 and ¥100,000,000",
        );
    }
    if form.approval_password.is_empty() {
        return Err(
            "取引実行パスワード（依頼承認パスワード）を入力してください / enter your approval password",
        );
    }
    Ok((name.to_owned(), account.to_owned(), amount))
}

pub async fn submit(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(form): Form<TransferForm>,
) -> Result<Response, AppError> {
    check_csrf(&session, &form.csrf)?;
    let user = transfer_user(&state, &session).await?;
    let meta = Meta::new(&state, &session, TITLE)
        .await?
        .announce(&state)
        .await;
    let fail = |meta: Meta, error: String| {
        render_invalid(&TransferPage {
            meta,
            error: Some(error),
            payee_name: form.payee_name.clone(),
            payee_account: form.payee_account.clone(),
            amount: form.amount.clone(),
        })
    };
    let (payee_name, payee_account, amount) = match validate(&form) {
        Ok(v) => v,
        Err(message) => return fail(meta, message.to_owned()),
    };
    if let Err(message) =
        flow::check_approval_password(&state, &user, &form.approval_password).await?
    {
        return fail(meta, message);
    }
    let context = Context::from_value(json!({
        "type": "transfer",
        "amount": amount.to_string(),
        "currency": "JPY",
        "payee_name": payee_name,
        "payee_account": payee_account,
        "contract_number": user.contract_number,
        "user_name": user.name,
    }))
    .map_err(|e| AppError::Internal(e.into()))?;
    let purpose = crate::store::Purpose::Transfer {
        payee_name,
        payee_account,
        amount,
        currency: "JPY".to_owned(),
    };
    match flow::start(
        &state,
        &session.id,
        &user,
        ChallengeKind::Transaction,
        context,
        &purpose,
        state.settings.number_matching,
    )
    .await
    {
        Ok(approval) => {
            Ok(Redirect::to(&format!("/approval/{}", approval.challenge_id)).into_response())
        }
        Err(e @ (StartError::Relay(_) | StartError::NoActiveToken)) => {
            fail(meta, start_message(&e))
        }
        Err(StartError::Store(e)) => Err(e.into()),
    }
}

pub async fn list(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    let user = require_user(&state, &session).await?;
    let meta = Meta::new(&state, &session, "振込履歴 / Executed transfers").await?;
    render(&TransferList {
        meta,
        transfers: state.store.transfers(&user.contract_number).await?,
    })
}

impl Transfer {
    /// Amount for display.
    pub fn amount_text(&self) -> String {
        yen(self.amount)
    }

    /// Time for display.
    pub fn when(&self) -> String {
        fmt_date(self.executed_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(name: &str, account: &str, amount: &str, pw: &str) -> TransferForm {
        TransferForm {
            csrf: String::new(),
            payee_name: name.into(),
            payee_account: account.into(),
            amount: amount.into(),
            approval_password: pw.into(),
        }
    }

    #[test]
    fn amounts_with_commas_are_read_as_yen() {
        let (_, _, amount) = validate(&form(
            "カ）ヤマダ",
            "オープン銀行 本店 普通 7654321",
            "1,234,567",
            "x",
        ))
        .unwrap();
        assert_eq!(amount, 1_234_567);
    }

    #[test]
    fn bad_transfer_forms_say_what_is_wrong() {
        assert!(
            validate(&form("", "a", "1", "x"))
                .unwrap_err()
                .contains("payee name")
        );
        assert!(
            validate(&form("a", "", "1", "x"))
                .unwrap_err()
                .contains("payee account")
        );
        assert!(
            validate(&form("a", "b", "1.5", "x"))
                .unwrap_err()
                .contains("digits")
        );
        assert!(
            validate(&form("a", "b", "0", "x"))
                .unwrap_err()
                .contains("between")
        );
        assert!(
            validate(&form("a", "b", "10", ""))
                .unwrap_err()
                .contains("approval password")
        );
    }
}
