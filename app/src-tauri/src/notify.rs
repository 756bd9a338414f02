//! The native notification for a new challenge, in the app's language. It names the
//! kind and the bank only (no amount or payee on a lock screen); failing to show it
//! (no notification service, as under Xvfb) is logged and changes nothing else.

use onepush_protocol::api::DeviceChallenge;
use onepush_protocol::{ChallengeId, ChallengeKind};
use tauri::{AppHandle, Manager as _, Runtime};

use crate::backend::Backend;
use crate::prefs::Language;

/// Title and body of the notification for a `kind` challenge from `bank`.
pub fn text(
    language: Language,
    kind: Option<ChallengeKind>,
    bank: Option<&str>,
) -> (String, String) {
    let ja = language.resolved() == Language::Ja;
    let what = match (ja, kind) {
        (true, Some(ChallengeKind::Login)) => "ログインの承認",
        (true, Some(ChallengeKind::Transaction)) => "お取引の承認",
        (true, Some(ChallengeKind::Admin)) => "管理操作の承認",
        (true, None) => "承認のリクエスト",
        (false, Some(ChallengeKind::Login)) => "Approve a sign-in",
        (false, Some(ChallengeKind::Transaction)) => "Approve a transaction",
        (false, Some(ChallengeKind::Admin)) => "Approve an admin operation",
        (false, None) => "Approval request",
    };
    let title = format!("OnePush: {what}");
    let body = match (ja, bank) {
        (true, Some(bank)) => {
            format!("{bank}からのリクエストです。アプリで内容を確認してください。")
        }
        (true, None) => "アプリで内容を確認してください。".to_owned(),
        (false, Some(bank)) => {
            format!("{bank} asks for your approval. Check the details in the app.")
        }
        (false, None) => "Check the details in the app.".to_owned(),
    };
    (title, body)
}

/// The label of the notification's action that opens the prompt.
pub fn open_label(language: Language) -> &'static str {
    if language.resolved() == Language::Ja {
        "開く"
    } else {
        "Open"
    }
}

/// Shows the notification for challenge `id`: its kind and bank from `details`, or
/// fetched when the channel carried none.
pub async fn challenge<R: Runtime>(
    app: &AppHandle<R>,
    id: ChallengeId,
    details: Option<Box<DeviceChallenge>>,
) {
    let backend = app.state::<Backend>();
    let language = backend.prefs().await.prefs.language;
    let details = match details {
        Some(details) => Some(*details),
        None => match backend.client().await {
            Ok(client) => client.challenge(id).await.ok(),
            Err(_) => None,
        },
    };
    let (title, body) = text(
        language,
        details.as_ref().map(|c| c.kind),
        details.as_ref().map(|c| c.tenant_name.as_str()),
    );
    // Phones: the push plugin's notification, which carries the challenge ID so
    // that tapping it opens the prompt (`push_opened`).
    #[cfg(mobile)]
    let shown = crate::push_mobile::show(app, id, title, body)
        .await
        .map_err(|e| e.to_string());
    // Desktop: a click on it shows the prompt (crate::desktop).
    #[cfg(desktop)]
    let shown = crate::desktop::notify(app, id, &title, &body, open_label(language));
    if let Err(e) = shown {
        tracing::info!(error = %e, "no native notification");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_names_kind_and_bank_in_the_chosen_language() {
        let (title, body) = text(
            Language::Ja,
            Some(ChallengeKind::Transaction),
            Some("みずなみ銀行"),
        );
        assert_eq!(title, "OnePush: お取引の承認");
        assert!(body.starts_with("みずなみ銀行から"), "{body}");
        let (title, body) = text(Language::En, Some(ChallengeKind::Login), None);
        assert_eq!(title, "OnePush: Approve a sign-in");
        assert_eq!(body, "Check the details in the app.");
    }
}
