//! One-push suspended for maintenance (R18; seed 003 art. 5.4: the bank suspends
//! one-push during a system failure and announces it). The relay's operator switches
//! it; the bank reads it (`GET /v1/maintenance`) to show the announcement on its login
//! and payment pages, and, when a challenge is refused with 503 `maintenance`, applies
//! its policy: sign-in with passwords only (with the announcement), transactions refused
//! until it ends (they need the phone's signature).

use onepush_protocol::api::{MaintenanceStatus, Problem};

use super::Meta;
use crate::AppState;

/// The announcement for the page frame, when one-push is suspended now (nothing when it
/// is not, or the relay cannot say).
pub async fn announcement(state: &AppState) -> Option<String> {
    match state.relay.maintenance().await {
        Ok(status) if status.on => Some(text(&status)),
        Ok(_) => None,
        Err(e) => {
            tracing::debug!(error = %e, "cannot read the relay's maintenance state");
            None
        }
    }
}

impl Meta {
    /// Adds the maintenance announcement, if any, to the frame.
    pub async fn announce(mut self, state: &AppState) -> Self {
        self.maintenance = announcement(state).await;
        self
    }
}

/// The suspension in a 503 `maintenance` refusal, if that is what `e` is.
pub fn suspension(e: &onepush_bank::Error) -> Option<MaintenanceStatus> {
    let problem: &Problem = e.problem()?;
    (problem.slug() == "maintenance").then(|| problem.maintenance.clone().unwrap_or_default())
}

/// `ワンプッシュ認証は一時停止中です（…まで）: <message>` in Japanese and English.
pub fn text(status: &MaintenanceStatus) -> String {
    let until = status
        .until
        .map(|t| super::approval::fmt_date(t.unix_timestamp()));
    let mut out = match &until {
        Some(until) => format!(
            "ワンプッシュ認証はメンテナンスのため{until}まで一時停止中です / one-push is suspended for maintenance until {until}"
        ),
        None => "ワンプッシュ認証はメンテナンスのため一時停止中です / one-push is suspended for maintenance".to_owned(),
    };
    if let Some(message) = &status.message {
        out.push('\n');
        out.push_str(message);
    }
    out
}

/// The notice of a sign-in let through with passwords only during the suspension.
pub fn password_only_notice(status: &MaintenanceStatus) -> String {
    format!(
        "{}\nメンテナンス中のため、パスワードのみでログインしました / signed in with passwords only during the maintenance",
        text(status)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_announcement_carries_the_operators_message_and_end() {
        let status = MaintenanceStatus {
            on: true,
            message: Some("障害対応中".into()),
            until: Some(time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()),
            ..MaintenanceStatus::default()
        };
        let shown = text(&status);
        assert!(shown.contains("障害対応中"), "{shown}");
        assert!(shown.contains("2027/01/15 17:00 JST"), "{shown}");
        assert!(password_only_notice(&status).contains("パスワードのみ"));
    }
}
