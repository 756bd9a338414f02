//! Users of a contract: roles, password hashes and failure counters.

use onepush_protocol::{IdError, UserId};
use sqlx::FromRow;

use super::{Store, StoreError};

/// What a user may do (the seeds' サービス管理責任者, 承認者, 起票者, 照会のみ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Service manager: admin rights and approval rights.
    Manager,
    /// Approves transfers.
    Approver,
    /// Enters transfers.
    DataEntry,
    /// Looks at balances only.
    Inquiry,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manager => "manager",
            Self::Approver => "approver",
            Self::DataEntry => "data_entry",
            Self::Inquiry => "inquiry",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Manager,
            Self::Approver,
            Self::DataEntry,
            Self::Inquiry,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }

    /// Japanese label for pages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Manager => "サービス管理責任者 (service manager)",
            Self::Approver => "承認者 (approver)",
            Self::DataEntry => "起票者 (data entry)",
            Self::Inquiry => "照会のみ (inquiry only)",
        }
    }

    /// R17: service managers and users with approval rights must use a token.
    pub fn needs_token(self) -> bool {
        matches!(self, Self::Manager | Self::Approver)
    }

    /// Whether the user may enter transfers.
    pub fn can_transfer(self) -> bool {
        !matches!(self, Self::Inquiry)
    }

    /// Whether the user has the admin page (seed 000: admin rights only).
    pub fn is_admin(self) -> bool {
        matches!(self, Self::Manager)
    }
}

/// One user row.
#[derive(Debug, Clone, FromRow)]
pub struct User {
    /// 契約者番号.
    pub contract_number: String,
    /// 利用者ID.
    pub user_id: String,
    /// Display name.
    pub name: String,
    /// Stored role name; see [`User::role`].
    pub role: String,
    /// Where completion mails go.
    pub email: Option<String>,
    /// Argon2id PHC string of the login password.
    pub login_hash: String,
    /// Argon2id PHC string of the approval (transaction) password.
    pub approval_hash: String,
    /// Consecutive wrong login passwords.
    pub login_failures: i64,
    /// Consecutive wrong approval passwords.
    pub approval_failures: i64,
    /// R17 grace for users without a token, Unix seconds.
    pub password_only_until: Option<i64>,
}

impl User {
    /// The role (unknown names read as inquiry-only, the least rights).
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Inquiry)
    }

    /// The user ID the relay knows: `<contract>.<user>`, unique in the tenant.
    pub fn relay_user_id(&self) -> Result<UserId, IdError> {
        relay_user_id(&self.contract_number, &self.user_id)
    }
}

/// The user ID the relay knows for a bank user (an error only for a bank user ID the
/// relay's alphabet does not allow; the seeded ones all fit).
pub fn relay_user_id(contract: &str, user: &str) -> Result<UserId, IdError> {
    format!("{contract}.{user}").parse()
}

/// Which password a counter or hash is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordKind {
    /// ログインパスワード.
    Login,
    /// 依頼承認パスワード / 取引実行パスワード.
    Approval,
}

impl Store {
    /// One user of a contract.
    pub async fn user(&self, contract: &str, user_id: &str) -> Result<User, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM users WHERE contract_number = ? AND user_id = ?")
                .bind(contract)
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Every user of a contract, by user ID.
    pub async fn users(&self, contract: &str) -> Result<Vec<User>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM users WHERE contract_number = ? ORDER BY user_id")
                .bind(contract)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Adds a user.
    pub async fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (contract_number, user_id, name, role, email, login_hash, approval_hash, password_only_until) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&user.contract_number)
        .bind(&user.user_id)
        .bind(&user.name)
        .bind(&user.role)
        .bind(&user.email)
        .bind(&user.login_hash)
        .bind(&user.approval_hash)
        .bind(user.password_only_until)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Counts one more wrong password; returns the new count.
    pub async fn add_failure(
        &self,
        contract: &str,
        user_id: &str,
        kind: PasswordKind,
    ) -> Result<i64, StoreError> {
        let sql = match kind {
            PasswordKind::Login => {
                "UPDATE users SET login_failures = login_failures + 1 WHERE contract_number = ? AND user_id = ? RETURNING login_failures"
            }
            PasswordKind::Approval => {
                "UPDATE users SET approval_failures = approval_failures + 1 WHERE contract_number = ? AND user_id = ? RETURNING approval_failures"
            }
        };
        let (count,): (i64,) = sqlx::query_as(sql)
            .bind(contract)
            .bind(user_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(count)
    }

    /// Clears one failure counter (after a right password).
    pub async fn clear_failures(
        &self,
        contract: &str,
        user_id: &str,
        kind: PasswordKind,
    ) -> Result<(), StoreError> {
        let sql = match kind {
            PasswordKind::Login => {
                "UPDATE users SET login_failures = 0 WHERE contract_number = ? AND user_id = ?"
            }
            PasswordKind::Approval => {
                "UPDATE users SET approval_failures = 0 WHERE contract_number = ? AND user_id = ?"
            }
        };
        sqlx::query(sql)
            .bind(contract)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Admin unlock: clears both counters.
    pub async fn unlock_passwords(&self, contract: &str, user_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET login_failures = 0, approval_failures = 0 WHERE contract_number = ? AND user_id = ?")
            .bind(contract)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Admin reset: replaces the given hashes and clears their counters.
    pub async fn reset_passwords(
        &self,
        contract: &str,
        user_id: &str,
        login_hash: Option<&str>,
        approval_hash: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET login_hash = COALESCE(?, login_hash), approval_hash = COALESCE(?, approval_hash), \
             login_failures = CASE WHEN ? IS NULL THEN login_failures ELSE 0 END, \
             approval_failures = CASE WHEN ? IS NULL THEN approval_failures ELSE 0 END \
             WHERE contract_number = ? AND user_id = ?",
        )
        .bind(login_hash)
        .bind(approval_hash)
        .bind(login_hash)
        .bind(approval_hash)
        .bind(contract)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A settings change: the user's notification e-mail address.
    pub async fn set_email(
        &self,
        contract: &str,
        user_id: &str,
        email: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET email = ? WHERE contract_number = ? AND user_id = ?")
            .bind(email)
            .bind(contract)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Staff: sets the R17 password-only date for a user without a token.
    pub async fn set_password_only_until(
        &self,
        contract: &str,
        user_id: &str,
        until: Option<i64>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET password_only_until = ? WHERE contract_number = ? AND user_id = ?",
        )
        .bind(until)
        .bind(contract)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
