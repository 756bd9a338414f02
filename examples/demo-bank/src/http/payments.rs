//! 各種お取引 (R2): a screen per transaction type — bulk and payroll transfers,
//! Pay-easy, direct debit, settings change — each asking for the approval
//! password, then a push (number matching unless the bank turned it off) showing
//! exactly what is approved, then the result; approved ones are listed on the menu.

use std::collections::HashMap;

use askama::Template;
use axum::Extension;
use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use onepush_protocol::{ChallengeKind, Context};

use super::approval::{fmt_date, start_message};
use super::session::check_csrf;
use super::{AppError, Meta, render, render_invalid, require_user};
use crate::AppState;
use crate::flow::{self, StartError};
use crate::payments::{self, SCREENS, Screen};
use crate::store::{Approval, Purpose, Session, User};

/// One input as the template shows it.
struct Row {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    input: &'static str,
    placeholder: &'static str,
    value: String,
}

#[derive(Template)]
#[template(path = "payment.html")]
struct PaymentPage {
    meta: Meta,
    slug: &'static str,
    title: &'static str,
    title_en: &'static str,
    lead: &'static str,
    inputs: Vec<Row>,
    current: Option<String>,
    error: Option<String>,
}

/// A menu entry.
struct Entry {
    slug: &'static str,
    title: &'static str,
    title_en: &'static str,
}

/// An approved payment as the list shows it.
struct Done {
    when: String,
    user_id: String,
    summary: String,
}

#[derive(Template)]
#[template(path = "payments.html")]
struct Menu {
    meta: Meta,
    entries: Vec<Entry>,
    done: Vec<Done>,
}

async fn payer(state: &AppState, session: &Session) -> Result<User, AppError> {
    let user = require_user(state, session).await?;
    if !user.role().can_transfer() {
        return Err(AppError::Forbidden(
            "照会のみの利用者はお取引できません / inquiry-only users cannot make payments",
        ));
    }
    Ok(user)
}

fn screen_of(slug: &str) -> Result<&'static Screen, AppError> {
    payments::screen(slug).ok_or(AppError::NotFound)
}

fn page_for(
    meta: Meta,
    screen: &'static Screen,
    user: &User,
    form: &HashMap<String, String>,
    error: Option<String>,
) -> PaymentPage {
    let inputs = screen
        .fields
        .iter()
        .map(|f| Row {
            name: f.name,
            label: f.label,
            hint: f.hint,
            input: f.input,
            placeholder: f.placeholder,
            value: form.get(f.name).cloned().unwrap_or_default(),
        })
        .collect();
    let current = (screen.tx == onepush_protocol::TransactionType::SettingsChange)
        .then(|| user.email.clone().unwrap_or_default());
    PaymentPage {
        meta,
        slug: screen.tx.as_str(),
        title: screen.title,
        title_en: screen.title_en,
        lead: screen.lead,
        inputs,
        current,
        error,
    }
}

/// `GET /payments`: the screens and what was approved.
pub async fn menu(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    let user = payer(&state, &session).await?;
    let meta = Meta::new(&state, &session, "各種お取引 / Payments")
        .await?
        .announce(&state)
        .await;
    let done = state
        .store
        .approved_payments(&user.contract_number)
        .await?
        .into_iter()
        .map(|a: Approval| Done {
            when: fmt_date(a.created_at),
            summary: match a.purpose() {
                Ok(Purpose::Payment { summary, .. }) => summary,
                _ => String::new(),
            },
            user_id: a.user_id,
        })
        .collect();
    let entries = SCREENS
        .iter()
        .map(|s| Entry {
            slug: s.tx.as_str(),
            title: s.title,
            title_en: s.title_en,
        })
        .collect();
    render(&Menu {
        meta,
        entries,
        done,
    })
}

/// `GET /payments/{kind}`: the empty form.
pub async fn page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let screen = screen_of(&slug)?;
    let user = payer(&state, &session).await?;
    let meta = Meta::new(&state, &session, screen.title)
        .await?
        .announce(&state)
        .await;
    render(&page_for(meta, screen, &user, &HashMap::new(), None))
}

/// A new bulk batch ID: `SOGO-YYYYMMDD-XXXX` (JST date, random hex).
fn batch_id(now: i64) -> String {
    let mut r = [0u8; 2];
    onepush_protocol::keys::fill_random(&mut r);
    let day = time::OffsetDateTime::from_unix_timestamp(now).map_or(time::Date::MIN, |t| {
        t.to_offset(time::macros::offset!(+9)).date()
    });
    format!(
        "SOGO-{:04}{:02}{:02}-{:02X}{:02X}",
        day.year(),
        u8::from(day.month()),
        day.day(),
        r[0],
        r[1]
    )
}

/// `POST /payments/{kind}`: checks the form and the approval password, then asks
/// the phone and goes to the waiting page.
pub async fn submit(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(slug): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let screen = screen_of(&slug)?;
    check_csrf(&session, form.get("csrf").map_or("", String::as_str))?;
    let user = payer(&state, &session).await?;
    let meta = Meta::new(&state, &session, screen.title)
        .await?
        .announce(&state)
        .await;
    let fail = |meta: Meta, error: String| {
        render_invalid(&page_for(meta, screen, &user, &form, Some(error)))
    };
    let now = crate::now();
    let today = time::OffsetDateTime::from_unix_timestamp(now)
        .map_err(|e| AppError::Internal(e.into()))?
        .to_offset(time::macros::offset!(+9))
        .date();
    let current_email = user.email.clone().unwrap_or_default();
    let prepared = match payments::prepare(screen, &form, today, &current_email, &batch_id(now)) {
        Ok(p) => p,
        Err(message) => return fail(meta, message),
    };
    let password = form.get("approval_password").map_or("", String::as_str);
    if let Err(message) = flow::check_approval_password(&state, &user, password).await? {
        return fail(meta, message);
    }
    let mut context = prepared.context;
    context["contract_number"] = user.contract_number.clone().into();
    context["user_name"] = user.name.clone().into();
    let context = Context::from_value(context).map_err(|e| AppError::Internal(e.into()))?;
    let purpose = Purpose::Payment {
        tx_type: screen.tx.as_str().to_owned(),
        summary: prepared.summary,
        new_email: prepared.new_email,
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
