//! Browser sessions: the cookie's row, its CSRF token and who is signed in.

use sqlx::FromRow;

use super::{Store, StoreError};

/// One session row.
#[derive(Debug, Clone, FromRow)]
pub struct Session {
    /// The cookie value.
    pub id: String,
    /// The token every form of this session must carry.
    pub csrf: String,
    /// The contract of the signed-in (or registering) user.
    pub contract_number: Option<String>,
    /// The user, once the login is complete (password and, when needed, push).
    pub user_id: Option<String>,
    /// The user signed in on the registration page only (R8).
    pub register_user_id: Option<String>,
    /// A code-token user whose password was right, until their one-time code is checked.
    pub otp_user_id: Option<String>,
    /// Signed in as bank staff.
    pub staff: bool,
    /// A notice for the next page.
    pub flash: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

impl Store {
    /// A new anonymous session.
    pub async fn insert_session(
        &self,
        id: &str,
        csrf: &str,
        now: i64,
    ) -> Result<Session, StoreError> {
        Ok(sqlx::query_as(
            "INSERT INTO sessions (id, csrf, created_at) VALUES (?, ?, ?) RETURNING *",
        )
        .bind(id)
        .bind(csrf)
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    /// A session by its cookie value.
    pub async fn session(&self, id: &str) -> Result<Session, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM sessions WHERE id = ?")
            .bind(id)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Marks the login complete.
    pub async fn sign_in(&self, id: &str, contract: &str, user_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET contract_number = ?, user_id = ?, register_user_id = NULL, otp_user_id = NULL WHERE id = ?")
            .bind(contract)
            .bind(user_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The password of a code-token user was right: the login waits for their code.
    pub async fn await_otp(
        &self,
        id: &str,
        contract: &str,
        user_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET contract_number = ?, otp_user_id = ?, user_id = NULL, register_user_id = NULL WHERE id = ?")
            .bind(contract)
            .bind(user_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Signs in on the registration page only.
    pub async fn sign_in_for_registration(
        &self,
        id: &str,
        contract: &str,
        user_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET contract_number = ?, register_user_id = ?, user_id = NULL, otp_user_id = NULL WHERE id = ?")
            .bind(contract)
            .bind(user_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks the session as bank staff.
    pub async fn sign_in_staff(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET staff = 1 WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends a session.
    pub async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Leaves a notice for the next page.
    pub async fn set_flash(&self, id: &str, flash: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET flash = ? WHERE id = ?")
            .bind(flash)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Takes the notice (once).
    pub async fn take_flash(&self, id: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT flash FROM sessions WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let flash = row.and_then(|(f,)| f);
        if flash.is_some() {
            sqlx::query("UPDATE sessions SET flash = NULL WHERE id = ?")
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        Ok(flash)
    }
}
