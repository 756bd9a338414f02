//! 時刻補正 (R12): a signed-in user — admins included — types two consecutive
//! security codes of their phone and the relay records how far its clock is off,
//! so later OTPs from it are accepted.

use askama::Template;
use axum::Extension;
use axum::extract::{Form, State};
use axum::response::Response;
use serde::Deserialize;

use super::session::check_csrf;
use super::{AppError, Meta, render, render_invalid, require_user};
use crate::AppState;
use crate::store::Session;

const TITLE: &str = "時刻補正 / Resynchronise your token";

#[derive(Template)]
#[template(path = "resync.html")]
struct ResyncPage {
    meta: Meta,
    error: Option<String>,
    done: Option<String>,
}

/// The two codes.
#[derive(Debug, Deserialize)]
pub struct ResyncForm {
    csrf: String,
    code1: String,
    code2: String,
}

pub async fn page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    require_user(&state, &session).await?;
    let meta = Meta::new(&state, &session, TITLE).await?;
    render(&ResyncPage {
        meta,
        error: None,
        done: None,
    })
}

/// The drift in words.
fn drift_text(steps: i64) -> String {
    let seconds = steps * 30;
    match seconds {
        0 => "時刻のずれはありません / your phone's clock is on time".to_owned(),
        s if s > 0 => format!(
            "スマートフォンの時計が約{s}秒進んでいます。補正しました / your phone is about {s} s ahead: corrected"
        ),
        s => format!(
            "スマートフォンの時計が約{}秒遅れています。補正しました / your phone is about {} s behind: corrected",
            -s, -s
        ),
    }
}

pub async fn submit(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(form): Form<ResyncForm>,
) -> Result<Response, AppError> {
    check_csrf(&session, &form.csrf)?;
    let user = require_user(&state, &session).await?;
    let meta = Meta::new(&state, &session, TITLE).await?;
    let codes = [form.code1.trim().to_owned(), form.code2.trim().to_owned()];
    let fail = |meta: Meta, message: String| {
        render_invalid(&ResyncPage {
            meta,
            error: Some(message),
            done: None,
        })
    };
    if codes
        .iter()
        .any(|c| c.len() != 6 || !c.bytes().all(|b| b.is_ascii_digit()))
    {
        return fail(
            meta,
            "6桁のセキュリティコードを2つ入力してください / enter two 6-digit codes".to_owned(),
        );
    }
    let [older, newer] = [codes[0].as_str(), codes[1].as_str()];
    match state
        .relay
        .resync_otp(&user.relay_user_id()?, [older, newer])
        .await
    {
        Ok(r) => render(&ResyncPage {
            meta,
            error: None,
            done: Some(drift_text(r.drift_steps)),
        }),
        Err(onepush_bank::Error::Problem { problem: p, .. }) => fail(meta, match p.slug() {
            "codes-invalid" => "コードが正しくないか、連続していません。次のコードに変わるのを待って、連続する2つを入力してください / the codes are wrong or not consecutive".to_owned(),
            "user-not-enrolled" => "ワンプッシュ認証が登録されていません / no token is registered for you".to_owned(),
            _ => format!("補正できませんでした / could not resynchronise: {}", p.detail),
        }),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::drift_text;

    #[test]
    fn the_drift_is_said_in_seconds_and_direction() {
        assert!(drift_text(0).contains("on time"));
        assert!(drift_text(4).contains("120 s ahead"));
        assert!(drift_text(-2).contains("60 s behind"));
    }
}
