//! Executed transfers and the mail outbox.

use sqlx::FromRow;

use super::{Store, StoreError};

/// An executed transfer.
#[derive(Debug, Clone, FromRow)]
pub struct Transfer {
    /// Row ID.
    pub id: i64,
    /// Contract.
    pub contract_number: String,
    /// Who approved it.
    pub user_id: String,
    /// 受取人名.
    pub payee_name: String,
    /// 振込先口座.
    pub payee_account: String,
    /// Yen.
    pub amount: i64,
    /// `JPY`.
    pub currency: String,
    /// The challenge that approved it.
    pub challenge_id: String,
    /// RFC 7638 thumbprint of the key that signed the approval.
    pub key_thumbprint: String,
    /// Unix seconds.
    pub executed_at: i64,
}

/// A mail in the outbox (the demo sends none).
#[derive(Debug, Clone, FromRow)]
pub struct Mail {
    /// Row ID.
    pub id: i64,
    /// Address.
    pub recipient: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// Unix seconds.
    pub sent_at: i64,
}

impl Store {
    /// Records an executed transfer.
    pub async fn insert_transfer(&self, t: &Transfer) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO transfers (contract_number, user_id, payee_name, payee_account, amount, currency, \
             challenge_id, key_thumbprint, executed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&t.contract_number)
        .bind(&t.user_id)
        .bind(&t.payee_name)
        .bind(&t.payee_account)
        .bind(t.amount)
        .bind(&t.currency)
        .bind(&t.challenge_id)
        .bind(&t.key_thumbprint)
        .bind(t.executed_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A contract's transfers, newest first.
    pub async fn transfers(&self, contract: &str) -> Result<Vec<Transfer>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM transfers WHERE contract_number = ? ORDER BY id DESC")
                .bind(contract)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Puts a mail in the outbox.
    pub async fn insert_mail(
        &self,
        recipient: &str,
        subject: &str,
        body: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO outbox (recipient, subject, body, sent_at) VALUES (?, ?, ?, ?)")
            .bind(recipient)
            .bind(subject)
            .bind(body)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every mail, newest first.
    pub async fn mails(&self) -> Result<Vec<Mail>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM outbox ORDER BY id DESC")
            .fetch_all(&self.pool)
            .await?)
    }
}
