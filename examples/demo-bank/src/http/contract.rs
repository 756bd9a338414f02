//! 契約解約 (R14, terms art. 8): when the bank ends the customer's contract, every
//! user's one-push registration ends with it, without password-only grace; the
//! relay cancels their pending challenges. Bank staff only.

use axum::Extension;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use onepush_protocol::api::{BindingState, GraceUntil};

use super::AppError;
use super::login::CsrfForm;
use super::session::check_csrf;
use crate::store::Session;
use crate::{AppState, seed};

/// `POST /staff/contract-end`: unregisters every user's token of the contract.
pub async fn end(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    check_csrf(&session, form.token())?;
    if !session.staff {
        return Err(AppError::Forbidden("行員のみ / bank staff only"));
    }
    let mut ended = Vec::new();
    for user in state.store.users(seed::CONTRACT).await? {
        let relay_user = user.relay_user_id()?;
        match state.relay.user(&relay_user).await? {
            Some(b) if b.state != BindingState::Unregistered => {
                state
                    .relay
                    .unregister(&relay_user, &GraceUntil::default())
                    .await?;
                state
                    .store
                    .unpin_key(&user.contract_number, &user.user_id)
                    .await?;
                ended.push(user.user_id);
            }
            _ => {}
        }
    }
    let message = format!(
        "契約 {} を解約しました。ワンプッシュ認証の登録を{}件解除しました / contract ended: {} token(s) unregistered ({})",
        seed::CONTRACT,
        ended.len(),
        ended.len(),
        ended.join(", ")
    );
    state.store.set_flash(&session.id, &message).await?;
    Ok(Redirect::to("/staff").into_response())
}
