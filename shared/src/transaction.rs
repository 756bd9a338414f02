//! What a challenge's context must hold, per kind and, for a `transaction`, per
//! transaction type (R2).
//!
//! A `transaction` challenge says which transaction it is in the context's `type`
//! field, so the type is covered by the context digest the phone signs. A context
//! without `type` is a `transfer`: banks that sent single transfers before types
//! existed keep working, and the phone shows them as before. Every type has its
//! required fields ([`TransactionType::fields`]); any other field is allowed and is
//! shown under "other" on the phone.
//!
//! Field shapes: money is a decimal string (`"1234567"`, `"1234.50"`; no sign, no
//! leading zeros, no exponent, at most the currency's minor-unit digits) next to a
//! `currency` of three upper-case letters (ISO 4217); a count is a JSON integer of
//! at least 1; a date is an ISO 8601 calendar date `YYYY-MM-DD` that exists; a
//! Pay-easy number is ASCII digits of the length the scheme uses; text is a
//! non-empty string (a settings change's old and new value may be empty: a setting
//! that had no value, or is cleared).

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::challenge::{ChallengeKind, UnknownName};
use crate::context::Context;

/// The context field that names a transaction's type.
pub const TYPE_FIELD: &str = "type";
/// The context field that holds the currency of every money field.
pub const CURRENCY_FIELD: &str = "currency";
/// Most integer digits a money amount may have.
pub const MAX_AMOUNT_DIGITS: usize = 18;

/// Which transaction a `transaction` challenge approves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionType {
    /// A single transfer (振込); also a context without `type`.
    Transfer,
    /// A bulk transfer (総合振込): several transfers in one file or batch.
    BulkTransfer,
    /// A payroll transfer (給与・賞与振込) paid on one date.
    PayrollTransfer,
    /// A tax or fee payment through Pay-easy (ペイジー).
    TaxPayment,
    /// A direct debit (口座振替) a creditor draws on a date.
    DirectDebit,
    /// A change to a setting of the account or contract.
    SettingsChange,
}

/// The shape a required field must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldShape {
    /// A non-empty string (after trimming).
    Text,
    /// A string, possibly empty.
    AnyText,
    /// A decimal string in the context's `currency`.
    Money,
    /// The three-letter currency code.
    Currency,
    /// A JSON integer of at least 1.
    Count,
    /// An ISO 8601 calendar date, `YYYY-MM-DD`.
    Date,
    /// Exactly this many ASCII digits.
    Digits(usize),
    /// One to this many ASCII digits.
    DigitsUpTo(usize),
}

impl FieldShape {
    /// What the shape is, in words, for error details and docs.
    pub fn describe(self) -> String {
        match self {
            Self::Text => "a non-empty string".to_owned(),
            Self::AnyText => "a string".to_owned(),
            Self::Money => "a decimal string such as \"1234567\" or \"1234.50\" (no sign, no leading zeros, at most the currency's minor-unit digits)".to_owned(),
            Self::Currency => "a three-letter upper-case ISO 4217 code such as \"JPY\"".to_owned(),
            Self::Count => "a JSON integer of at least 1".to_owned(),
            Self::Date => "an ISO 8601 date YYYY-MM-DD".to_owned(),
            Self::Digits(n) => format!("a string of exactly {n} digits"),
            Self::DigitsUpTo(n) => format!("a string of 1 to {n} digits"),
        }
    }
}

/// A required context field.
pub type FieldRule = (&'static str, FieldShape);

use FieldShape::{AnyText, Count, Currency, Date, Digits, DigitsUpTo, Money, Text};

impl TransactionType {
    /// Every type, in display order.
    pub const ALL: [Self; 6] = [
        Self::Transfer,
        Self::BulkTransfer,
        Self::PayrollTransfer,
        Self::TaxPayment,
        Self::DirectDebit,
        Self::SettingsChange,
    ];

    /// The wire name, the value of the context's `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transfer => "transfer",
            Self::BulkTransfer => "bulk_transfer",
            Self::PayrollTransfer => "payroll_transfer",
            Self::TaxPayment => "tax_payment",
            Self::DirectDebit => "direct_debit",
            Self::SettingsChange => "settings_change",
        }
    }

    /// The fields this type requires (besides `type`), in display order.
    pub fn fields(self) -> &'static [FieldRule] {
        match self {
            Self::Transfer => &[
                ("amount", Money),
                ("currency", Currency),
                ("payee_name", Text),
                ("payee_account", Text),
            ],
            Self::BulkTransfer => &[
                ("count", Count),
                ("total", Money),
                ("currency", Currency),
                ("batch_id", Text),
            ],
            Self::PayrollTransfer => &[
                ("count", Count),
                ("total", Money),
                ("currency", Currency),
                ("payment_date", Date),
            ],
            // Pay-easy: 収納機関番号 5 digits, お客様番号 up to 20, 確認番号 up to 16.
            Self::TaxPayment => &[
                ("payee_institution_number", Digits(5)),
                ("customer_number", DigitsUpTo(20)),
                ("confirmation_number", DigitsUpTo(16)),
                ("amount", Money),
                ("currency", Currency),
            ],
            Self::DirectDebit => &[
                ("creditor", Text),
                ("amount", Money),
                ("currency", Currency),
                ("debit_date", Date),
            ],
            Self::SettingsChange => &[
                ("setting", Text),
                ("old_value", AnyText),
                ("new_value", AnyText),
            ],
        }
    }

    /// A valid context of this type, `type` included: for docs, OpenAPI and tests.
    pub fn example(self) -> Value {
        let mut v = match self {
            Self::Transfer => serde_json::json!({
                "amount": "1234567", "currency": "JPY",
                "payee_name": "カ）ヤマダショウジ", "payee_account": "さくら銀行 本店 普通 7654321",
            }),
            Self::BulkTransfer => serde_json::json!({
                "count": 120, "total": "45678900", "currency": "JPY", "batch_id": "SOGO-20250401-0001",
            }),
            Self::PayrollTransfer => serde_json::json!({
                "count": 35, "total": "9876543", "currency": "JPY", "payment_date": "2025-04-25",
            }),
            Self::TaxPayment => serde_json::json!({
                "payee_institution_number": "00100", "customer_number": "12345678901234567890",
                "confirmation_number": "123456", "amount": "350000", "currency": "JPY",
            }),
            Self::DirectDebit => serde_json::json!({
                "creditor": "東京電力エナジーパートナー", "amount": "15800", "currency": "JPY",
                "debit_date": "2025-04-27",
            }),
            Self::SettingsChange => serde_json::json!({
                "setting": "1日あたりの振込限度額", "old_value": "1,000,000円", "new_value": "5,000,000円",
            }),
        };
        v[TYPE_FIELD] = Value::from(self.as_str());
        v
    }

    /// The type of a `transaction` context: its `type`, or `transfer` when absent.
    pub fn of(context: &Context) -> Result<Self, ContextFieldError> {
        match context.fields().get(TYPE_FIELD) {
            None => Ok(Self::Transfer),
            Some(Value::String(name)) => name
                .parse()
                .map_err(|_| ContextFieldError::UnknownType(name.clone())),
            Some(other) => Err(ContextFieldError::UnknownType(other.to_string())),
        }
    }
}

impl fmt::Display for TransactionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TransactionType {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownName(s.to_owned()))
    }
}

/// Why a context does not fit its kind (and transaction type).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextFieldError {
    /// `type` is not one of [`TransactionType::ALL`].
    #[error(
        "context field `type` of a transaction must be one of transfer, bulk_transfer, payroll_transfer, tax_payment, direct_debit, settings_change (or left out for a transfer), got {0}"
    )]
    UnknownType(String),
    /// A required field is absent.
    #[error("context of a {what} needs field `{field}`: {expected} (required: {required})")]
    Missing {
        /// `login challenge`, `transaction of type bulk_transfer`, ...
        what: String,
        /// The field.
        field: &'static str,
        /// Its shape, in words.
        expected: String,
        /// Every required field of the kind.
        required: String,
    },
    /// A required field has the wrong shape.
    #[error("context field `{field}` of a {what} must be {expected}, got {got}")]
    Malformed {
        /// `login challenge`, `transaction of type bulk_transfer`, ...
        what: String,
        /// The field.
        field: &'static str,
        /// Its shape, in words.
        expected: String,
        /// The value sent, as JSON (cut to 40 characters).
        got: String,
    },
}

impl ContextFieldError {
    /// The field the error is about.
    pub fn field(&self) -> &str {
        match self {
            Self::UnknownType(_) => TYPE_FIELD,
            Self::Missing { field, .. } | Self::Malformed { field, .. } => field,
        }
    }
}

/// The fields a login or admin challenge requires (each a non-empty string).
fn kind_fields(kind: ChallengeKind) -> &'static [FieldRule] {
    match kind {
        ChallengeKind::Login => &[("ip", Text), ("user_agent", Text)],
        ChallengeKind::Admin => &[("operation", Text), ("target_user_id", Text)],
        ChallengeKind::Transaction => TransactionType::Transfer.fields(),
    }
}

/// Checks that `context` has every field its kind (and transaction type) requires,
/// each of the right shape.
pub fn check_context(kind: ChallengeKind, context: &Context) -> Result<(), ContextFieldError> {
    let (what, rules) = match kind {
        ChallengeKind::Transaction => {
            let ty = TransactionType::of(context)?;
            (format!("transaction of type {ty}"), ty.fields())
        }
        other => (format!("{other} challenge"), kind_fields(other)),
    };
    let required = || {
        rules
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let currency = context.str(CURRENCY_FIELD);
    for &(field, shape) in rules {
        let Some(value) = context.fields().get(field) else {
            return Err(ContextFieldError::Missing {
                what,
                field,
                expected: shape.describe(),
                required: required(),
            });
        };
        if !fits(shape, value, currency) {
            return Err(ContextFieldError::Malformed {
                what,
                field,
                expected: shape.describe(),
                got: shown(value),
            });
        }
    }
    Ok(())
}

/// The value as JSON, cut so an error detail stays one readable line.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 40 {
        text
    } else {
        format!("{}…", text.chars().take(40).collect::<String>())
    }
}

fn fits(shape: FieldShape, value: &Value, currency: Option<&str>) -> bool {
    match (shape, value) {
        (Count, Value::Number(n)) => n.as_i64().is_some_and(|n| n >= 1),
        (_, Value::String(s)) => fits_text(shape, s, currency),
        _ => false,
    }
}

fn fits_text(shape: FieldShape, s: &str, currency: Option<&str>) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match shape {
        Text => !s.trim().is_empty(),
        AnyText => true,
        Money => is_money(s, currency.map_or(2, minor_units)),
        Currency => s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()),
        Count => false,
        Date => is_date(s),
        Digits(n) => s.len() == n && digits(s),
        DigitsUpTo(n) => s.len() <= n && digits(s),
    }
}

/// `0`, `1234567`, `1234.50`: no sign, no leading zeros, at most `max_fraction`
/// fraction digits.
pub fn is_money(s: &str, max_fraction: usize) -> bool {
    let (int, fraction) = match s.split_once('.') {
        Some((int, fraction)) => (int, Some(fraction)),
        None => (s, None),
    };
    let int_ok = !int.is_empty()
        && int.len() <= MAX_AMOUNT_DIGITS
        && int.bytes().all(|b| b.is_ascii_digit())
        && (int == "0" || !int.starts_with('0'));
    let fraction_ok = match fraction {
        None => true,
        Some(f) => {
            !f.is_empty() && f.len() <= max_fraction && f.bytes().all(|b| b.is_ascii_digit())
        }
    };
    int_ok && fraction_ok
}

/// ISO 4217 minor-unit digits: 0 for yen, won and the like, 3 for the dinars and
/// rials that use fils or baisa, 4 for the two units of account, 2 otherwise.
pub fn minor_units(currency: &str) -> usize {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        "CLF" | "UYW" => 4,
        _ => 2,
    }
}

/// `YYYY-MM-DD`, a day that exists.
pub fn is_date(s: &str) -> bool {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    s.len() == 10
        && s.starts_with(|c: char| c.is_ascii_digit())
        && time::Date::parse(s, &format).is_ok()
}

#[cfg(test)]
#[path = "transaction_tests.rs"]
mod tests;
