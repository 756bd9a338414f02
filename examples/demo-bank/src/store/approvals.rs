//! Challenges this bank sent, with what to do once one is approved.

use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::{Store, StoreError};

/// An admin operation on another user (seed 000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminOp {
    /// ロック解除: clear both password lock counters.
    Unlock,
    /// パスワード初期化: set new login and/or approval passwords.
    Reset,
    /// OTP登録解除: unregister the one-push token.
    Unregister,
}

impl AdminOp {
    /// The wire name, also the `operation` of the challenge context.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unlock => "unlock_passwords",
            Self::Reset => "reset_passwords",
            Self::Unregister => "unregister_token",
        }
    }

    /// Parses a form value.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Unlock, Self::Reset, Self::Unregister]
            .into_iter()
            .find(|o| o.as_str() == s)
    }

    /// Japanese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Unlock => "ログインパスワード／依頼承認パスワードのロック解除",
            Self::Reset => "ログインパスワード／依頼承認パスワードの初期化（再設定）",
            Self::Unregister => "ワンプッシュ認証（OTP）の登録解除",
        }
    }
}

/// What an approval lets through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Purpose {
    /// Completes the login of the session.
    Login,
    /// Executes a transfer.
    Transfer {
        /// 受取人名.
        payee_name: String,
        /// 振込先口座.
        payee_account: String,
        /// Yen.
        amount: i64,
        /// `JPY`.
        currency: String,
    },
    /// A bulk or payroll transfer, a Pay-easy payment, a direct debit or a settings
    /// change (`crate::payments`): recorded as accepted once approved.
    Payment {
        /// The transaction type's wire name (`bulk_transfer`, ...).
        tx_type: String,
        /// The line the bank's pages show.
        summary: String,
        /// A settings change of the notification e-mail: the new address.
        new_email: Option<String>,
    },
    /// Runs an admin operation on another user of the contract.
    Admin {
        /// Which operation.
        operation: AdminOp,
        /// The target's bank user ID.
        target_user_id: String,
        /// Argon2id hash of the new login password (reset).
        new_login_hash: Option<String>,
        /// Argon2id hash of the new approval password (reset).
        new_approval_hash: Option<String>,
    },
}

impl Purpose {
    /// The stored name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Transfer { .. } => "transfer",
            Self::Payment { .. } => "payment",
            Self::Admin { .. } => "admin",
        }
    }
}

/// One approval row.
#[derive(Debug, Clone, FromRow)]
pub struct Approval {
    /// The relay's challenge ID.
    pub challenge_id: String,
    /// The browser session that asked.
    pub session_id: String,
    /// Contract of the approver.
    pub contract_number: String,
    /// The bank user who must approve.
    pub user_id: String,
    /// The credential the bank saw registered when it asked (compact form).
    pub credential_id: String,
    /// `login`, `transfer`, `payment` or `admin`.
    pub purpose: String,
    /// JSON of [`Purpose`].
    pub payload: String,
    /// The context exactly as sent, JSON.
    pub context: String,
    /// The number to match.
    pub number: Option<i64>,
    /// Deadline, Unix seconds.
    pub expires_at: i64,
    /// `pending`, a relay outcome, or `verification_failed`.
    pub status: String,
    /// What the bank found when it checked the decision.
    pub detail: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

impl Approval {
    /// The parsed payload.
    pub fn purpose(&self) -> Result<Purpose, serde_json::Error> {
        serde_json::from_str(&self.payload)
    }
}

impl Store {
    /// Records a challenge just created.
    pub async fn insert_approval(&self, a: &Approval) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO approvals (challenge_id, session_id, contract_number, user_id, credential_id, purpose, payload, context, \
             number, expires_at, status, detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&a.challenge_id)
        .bind(&a.session_id)
        .bind(&a.contract_number)
        .bind(&a.user_id)
        .bind(&a.credential_id)
        .bind(&a.purpose)
        .bind(&a.payload)
        .bind(&a.context)
        .bind(a.number)
        .bind(a.expires_at)
        .bind(&a.status)
        .bind(&a.detail)
        .bind(a.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An approval by challenge ID.
    pub async fn approval(&self, challenge_id: &str) -> Result<Approval, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM approvals WHERE challenge_id = ?")
                .bind(challenge_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Moves a pending approval to its outcome. Returns false when another request
    /// already did, so the outcome is applied exactly once.
    pub async fn finish_approval(
        &self,
        challenge_id: &str,
        status: &str,
        detail: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE approvals SET status = ?, detail = ? WHERE challenge_id = ? AND status = 'pending'")
            .bind(status)
            .bind(detail)
            .bind(challenge_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    /// A contract's approved payments (`Purpose::Payment`), newest first.
    pub async fn approved_payments(&self, contract: &str) -> Result<Vec<Approval>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT * FROM approvals WHERE contract_number = ? AND purpose = 'payment' AND status = 'approved' \
             ORDER BY created_at DESC, challenge_id",
        )
        .bind(contract)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Overwrites the outcome (when applying an approved operation failed).
    pub async fn set_approval_outcome(
        &self,
        challenge_id: &str,
        status: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE approvals SET status = ?, detail = ? WHERE challenge_id = ?")
            .bind(status)
            .bind(detail)
            .bind(challenge_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
