//! The waiting page (number to match, time left), its long-poll endpoint, cancel,
//! and the outcome page with a distinct message for each way a push can end (R4).

use askama::Template;
use axum::Extension;
use axum::Json;
use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use onepush_protocol::ChallengeId;
use serde_json::json;

use super::login::CsrfForm;
use super::session::check_csrf;
use super::{AppError, Meta, render};
use crate::AppState;
use crate::flow::{self, StartError};
use crate::store::{Approval, Purpose, Session, StoreError};

/// How long the page's long-poll asks the relay to wait, seconds.
const LONG_POLL_SECONDS: u32 = 20;

#[derive(Template)]
#[template(path = "waiting.html")]
struct Waiting {
    meta: Meta,
    id: String,
    number: Option<i64>,
    seconds_left: i64,
    expires_at: i64,
    what: String,
}

/// "Phone offline?": the offline payload (as a QR code to scan and as text to paste) and
/// the code field.
#[derive(Template)]
#[template(path = "offline.html")]
struct OfflinePage {
    meta: Meta,
    id: String,
    payload: String,
    /// The payload as a QR code, inline SVG (made here from the payload: no user text).
    qr_svg: String,
    what: String,
    expires: String,
    error: Option<String>,
}

/// The offline code form: the code, and the payload shown (to show it again).
#[derive(serde::Deserialize)]
pub struct OfflineCodeForm {
    csrf: String,
    code: String,
    payload: String,
}

#[derive(Template)]
#[template(path = "result.html")]
struct Outcome {
    meta: Meta,
    status: String,
    heading: &'static str,
    message: &'static str,
    what: String,
    detail: Option<String>,
    next: &'static str,
    next_label: &'static str,
}

async fn load(state: &AppState, session: &Session, id: &str) -> Result<Approval, AppError> {
    if id.parse::<ChallengeId>().is_err() {
        return Err(AppError::NotFound);
    }
    match state.store.approval(id).await {
        Ok(a) if a.session_id == session.id => Ok(a),
        Ok(_) | Err(StoreError::NotFound) => Err(AppError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// Where the browser goes once the approval is decided.
fn location(approval: &Approval) -> String {
    if approval.status == "approved" {
        match approval.purpose.as_str() {
            "login" => return "/dashboard".to_owned(),
            "transfer" => return "/transfers".to_owned(),
            "admin" => return "/admin".to_owned(),
            _ => {}
        }
    }
    format!("/approval/{}/result", approval.challenge_id)
}

pub async fn waiting(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let approval = load(&state, &session, &id).await?;
    let approval = flow::poll(&state, approval, 0)
        .await
        .map_err(AppError::Internal)?;
    if approval.status != "pending" {
        return Ok(Redirect::to(&location(&approval)).into_response());
    }
    let what = describe(&approval);
    let meta = Meta::new(
        &state,
        &session,
        "スマートフォンで承認してください / Approve on your phone",
    )
    .await?;
    render(&Waiting {
        meta,
        id: approval.challenge_id.clone(),
        number: approval.number,
        seconds_left: (approval.expires_at - crate::now()).max(0),
        expires_at: approval.expires_at,
        what,
    })
}

/// What is being approved, for the waiting and result pages.
fn describe(approval: &Approval) -> String {
    match approval.purpose() {
        Ok(Purpose::Login) => "ログイン / sign-in".to_owned(),
        Ok(Purpose::Transfer {
            payee_name,
            payee_account,
            amount,
            ..
        }) => {
            format!(
                "振込 / transfer: {} → {payee_name} ({payee_account})",
                yen(amount)
            )
        }
        Ok(Purpose::Payment { summary, .. }) => summary,
        Ok(Purpose::Admin {
            operation,
            target_user_id,
            ..
        }) => format!("{} — 対象ID / target: {target_user_id}", operation.label()),
        Err(_) => String::new(),
    }
}

/// The page's long-poll: answers when the challenge is decided or after ~20 s.
pub async fn status(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let approval = load(&state, &session, &id).await?;
    let approval = flow::poll(&state, approval, LONG_POLL_SECONDS)
        .await
        .map_err(AppError::Internal)?;
    let done = approval.status != "pending";
    let body = json!({
        "status": approval.status,
        "done": done,
        "location": done.then(|| location(&approval)),
        "seconds_left": (approval.expires_at - crate::now()).max(0),
    });
    Ok(Json(body).into_response())
}

pub async fn cancel(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    check_csrf(&session, form.token())?;
    let approval = load(&state, &session, &id).await?;
    if approval.status == "pending" {
        let challenge: ChallengeId = id.parse().map_err(|_| AppError::NotFound)?;
        match state.relay.cancel_challenge(&challenge).await {
            Ok(_) => {}
            Err(e) if e.slug() == Some("challenge-decided") => {}
            Err(e) => return Err(e.into()),
        }
    }
    let approval = flow::poll(&state, approval, 0)
        .await
        .map_err(AppError::Internal)?;
    Ok(Redirect::to(&location(&approval)).into_response())
}

pub async fn result(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let approval = load(&state, &session, &id).await?;
    if approval.status == "pending" {
        return Ok(Redirect::to(&format!("/approval/{id}")).into_response());
    }
    let (heading, message) = outcome_text(&approval.status, approval.detail.as_deref());
    let (next, next_label) = match approval.purpose.as_str() {
        "transfer" => ("/transfer", "振込画面へ戻る / back to transfers"),
        "payment" => ("/payments", "各種お取引へ戻る / back to payments"),
        "admin" => ("/admin", "管理者画面へ戻る / back to the admin page"),
        _ if approval.status == "approved" => ("/dashboard", "トップページへ / to the dashboard"),
        _ => ("/login", "ログイン画面へ戻る / back to sign-in"),
    };
    let meta = Meta::new(&state, &session, heading).await?;
    let what = describe(&approval);
    let detail = approval.detail.filter(|_| {
        matches!(
            approval.status.as_str(),
            "approved" | "verification_failed" | "failed"
        )
    });
    render(&Outcome {
        meta,
        status: approval.status,
        heading,
        message,
        what,
        detail,
        next,
        next_label,
    })
}

/// "Phone offline?" on the waiting page: the push is replaced by an offline code.
pub async fn offline(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    check_csrf(&session, form.token())?;
    let approval = load(&state, &session, &id).await?;
    let approval = flow::poll(&state, approval, 0)
        .await
        .map_err(AppError::Internal)?;
    if approval.status != "pending" {
        return Ok(Redirect::to(&location(&approval)).into_response());
    }
    let (offline, created) = match flow::start_offline(&state, &approval).await {
        Ok(started) => started,
        Err(e) => {
            let message = match &e {
                StartError::Relay(r) if r.slug() == Some("offline-code-unavailable") => {
                    "このアプリはオフラインコードに対応していません。アプリを再設定してください / your app predates offline codes: set it up again".to_owned()
                }
                other => start_message(other),
            };
            state.store.set_flash(&session.id, &message).await?;
            return Ok(Redirect::to(&format!("/approval/{id}")).into_response());
        }
    };
    offline_page(&state, &session, &offline, created.payload, None).await
}

/// `payload` as a QR code in SVG (error correction M: a phone's camera reads it off a
/// screen), or an empty string when it does not fit in a QR code (the text stays).
fn qr_svg(payload: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(payload.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .module_dimensions(4, 4)
            .quiet_zone(true)
            .build(),
        Err(e) => {
            tracing::warn!(error = %e, len = payload.len(), "offline payload too long for a QR code");
            String::new()
        }
    }
}

async fn offline_page(
    state: &AppState,
    session: &Session,
    approval: &Approval,
    payload: String,
    error: Option<String>,
) -> Result<Response, AppError> {
    let meta = Meta::new(state, session, "オフラインで承認 / Approve offline").await?;
    let page = OfflinePage {
        meta,
        id: approval.challenge_id.clone(),
        qr_svg: qr_svg(&payload),
        payload,
        what: describe(approval),
        expires: fmt_date(approval.expires_at),
        error,
    };
    if page.error.is_some() {
        super::render_invalid(&page)
    } else {
        render(&page)
    }
}

/// The code typed from the app: verified by the relay, checked against this operation.
pub async fn offline_code(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    Form(form): Form<OfflineCodeForm>,
) -> Result<Response, AppError> {
    check_csrf(&session, &form.csrf)?;
    let approval = load(&state, &session, &id).await?;
    if approval.status != "pending" {
        return Ok(Redirect::to(&location(&approval)).into_response());
    }
    let code: String = form.code.chars().filter(|c| !c.is_whitespace()).collect();
    match flow::finish_offline(&state, &approval, &code)
        .await
        .map_err(AppError::Internal)?
    {
        flow::OfflineOutcome::Retry(message) => {
            offline_page(&state, &session, &approval, form.payload, Some(message)).await
        }
        flow::OfflineOutcome::Done => {
            let approval = state.store.approval(&id).await?;
            Ok(Redirect::to(&location(&approval)).into_response())
        }
    }
}

/// Heading and message for each outcome (R4 (1)–(4) and the rest).
pub fn outcome_text(status: &str, detail: Option<&str>) -> (&'static str, &'static str) {
    match status {
        "approved" => (
            "承認されました / Approved",
            "スマートフォンで承認され、銀行が署名を検証しました。/ Approved on the phone; the bank verified the signature.",
        ),
        "denied" if detail == Some("not_me") => (
            "拒否されました（身に覚えのない操作）/ Denied: \"this wasn't me\"",
            "スマートフォンで「身に覚えがない」として拒否されたため中止しました。ワンプッシュ認証はロックされました。お取引店にご連絡ください。/ Stopped; the token is now locked as a precaution.",
        ),
        "denied" => (
            "拒否されました / Denied",
            "スマートフォンで拒否されたため、処理を中止しました。/ Denied on the phone: stopped.",
        ),
        "expired" => (
            "時間切れです / Timed out",
            "所定の時間内にスマートフォンで承認されなかったため、処理を中止しました。/ Not approved in time: stopped.",
        ),
        "undeliverable" => (
            "通知を届けられませんでした / Could not reach your phone",
            "スマートフォンの故障や通信障害により承認を受け取れなかったため、処理を中止しました。/ The push or its answer did not get through: stopped.",
        ),
        "credential_mismatch" => (
            "クレデンシャルIDが一致しません / Wrong credential",
            "登録されているクレデンシャルIDと異なるアプリから応答があったため、処理を中止しました。/ The answer came from another credential than the registered one: stopped.",
        ),
        "cancelled" => (
            "取り消されました / Cancelled",
            "承認依頼は取り消されました。/ The request was cancelled.",
        ),
        "verification_failed" => (
            "署名を検証できませんでした / Signature check failed",
            "銀行による承認の署名検証に失敗したため、処理を中止しました。/ The bank could not verify the signed approval: stopped.",
        ),
        _ => (
            "処理に失敗しました / The operation failed",
            "承認後の処理に失敗しました。/ Approved, but the operation failed.",
        ),
    }
}

/// The message for a challenge that could not be started.
pub fn start_message(e: &StartError) -> String {
    let slug = match e {
        StartError::NoActiveToken => {
            return "ワンプッシュ認証が利用中ではありません。登録してください / one-push is not active for you: register first".to_owned();
        }
        StartError::Relay(relay) => {
            if let Some(status) = super::maintenance::suspension(relay) {
                // R18: the operator's announcement; transactions wait until it ends.
                return format!(
                    "{}\nメンテナンス終了後に再度お試しください / please try again after the maintenance",
                    super::maintenance::text(&status)
                );
            }
            relay.slug()
        }
        StartError::Store(_) => None,
    };
    match slug {
        Some("code-token") => "ワンタイムパスワード（コードトークン）をご利用のため、ワンプッシュ認証での承認はできません / your token is a code token: it cannot approve by push".to_owned(),
        Some("push-fatigue") => "短時間に承認依頼が多すぎます。しばらくしてから再度お試しください / too many requests: try again later".to_owned(),
        Some("user-not-enrolled" | "binding-not-active") => {
            "ワンプッシュ認証が利用中ではありません / one-push is not active for this user".to_owned()
        }
        Some(_) | None => "認証サービスに接続できません。しばらくしてから再度お試しください / the authentication service is unavailable".to_owned(),
    }
}

/// `¥1,234,567`.
pub fn yen(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}¥{out}", if amount < 0 { "-" } else { "" })
}

/// A Unix time as a JST date and time.
pub fn fmt_date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .map(|t| t.to_offset(time::macros::offset!(+9)))
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]/[month]/[day] [hour]:[minute] JST"
            ))
            .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yen_groups_thousands() {
        assert_eq!(yen(0), "¥0");
        assert_eq!(yen(1_234_567), "¥1,234,567");
        assert_eq!(yen(100), "¥100");
    }

    #[test]
    fn every_stop_case_has_its_own_heading() {
        let statuses = [
            "denied",
            "expired",
            "undeliverable",
            "credential_mismatch",
            "cancelled",
            "verification_failed",
        ];
        let headings: std::collections::HashSet<_> =
            statuses.iter().map(|s| outcome_text(s, None).0).collect();
        assert_eq!(headings.len(), statuses.len());
        assert_ne!(
            outcome_text("denied", Some("not_me")).0,
            outcome_text("denied", None).0
        );
    }
}

#[cfg(test)]
mod qr_tests {
    #[test]
    fn an_offline_payload_of_a_transfer_becomes_an_svg_qr_code() {
        let payload = "A".repeat(600);
        let svg = super::qr_svg(&payload);
        assert!(svg.contains("<svg"), "{svg:.80}");
        assert!(svg.contains("<path"), "dark modules drawn");
    }

    #[test]
    fn a_payload_too_long_for_any_qr_code_leaves_only_the_text() {
        assert_eq!(super::qr_svg(&"A".repeat(5000)), "");
    }
}
