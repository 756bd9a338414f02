//! The payment screens other than a single transfer (R2): bulk and payroll
//! transfers, Pay-easy tax and fee payments, direct debits and a settings change.
//! Each screen's fields, how a filled form becomes the context the phone shows
//! (`onepush_protocol::transaction`), and the one line the bank's pages show.
//! Pure: the date "today" comes from the caller.

use std::collections::HashMap;
use std::hash::BuildHasher;

use onepush_protocol::TransactionType;
use serde_json::{Value, json};
use time::Date;

use crate::http::yen;

/// Largest amount of one payment or line, yen.
pub const MAX_AMOUNT: i64 = 100_000_000;
/// Most lines in a bulk or payroll file.
pub const MAX_LINES: usize = 1_000;

/// One input of a screen.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Form name, also the context field unless said otherwise.
    pub name: &'static str,
    /// Japanese label.
    pub label: &'static str,
    /// English label.
    pub hint: &'static str,
    /// `text`, `date`, `numeric` or `lines` (a textarea, one payment a line).
    pub input: &'static str,
    /// Example value.
    pub placeholder: &'static str,
}

/// A payment screen.
#[derive(Debug, Clone, Copy)]
pub struct Screen {
    /// The transaction type; its wire name is the URL segment.
    pub tx: TransactionType,
    /// Japanese title.
    pub title: &'static str,
    /// English title.
    pub title_en: &'static str,
    /// What the screen is for.
    pub lead: &'static str,
    /// Inputs, in order.
    pub fields: &'static [Field],
}

const fn field(
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    input: &'static str,
    placeholder: &'static str,
) -> Field {
    Field {
        name,
        label,
        hint,
        input,
        placeholder,
    }
}

const LINES_HINT: &str = "カ）ヤマダショウジ,さくら銀行 本店 普通 7654321,120000";

/// Every screen, in menu order.
pub const SCREENS: [Screen; 5] = [
    Screen {
        tx: TransactionType::BulkTransfer,
        title: "総合振込",
        title_en: "Bulk transfer",
        lead: "複数の振込を1つのファイルとして依頼します。1行に「受取人名,振込先口座,金額」を入力してください。",
        fields: &[field(
            "lines",
            "振込明細",
            "Payments: payee, account, yen — one a line",
            "lines",
            LINES_HINT,
        )],
    },
    Screen {
        tx: TransactionType::PayrollTransfer,
        title: "給与・賞与振込",
        title_en: "Payroll transfer",
        lead: "給与・賞与を支払日に振り込みます。1行に「受取人名,振込先口座,金額」を入力してください。",
        fields: &[
            field(
                "payment_date",
                "支払日",
                "Payment date",
                "date",
                "2026-12-25",
            ),
            field(
                "lines",
                "振込明細",
                "Payments: payee, account, yen — one a line",
                "lines",
                LINES_HINT,
            ),
        ],
    },
    Screen {
        tx: TransactionType::TaxPayment,
        title: "税金・各種料金の払込み（ペイジー）",
        title_en: "Tax or fee payment (Pay-easy)",
        lead: "納付書や請求画面に記載の収納機関番号・お客様番号・確認番号と金額を入力してください。",
        fields: &[
            field(
                "payee_institution_number",
                "収納機関番号",
                "Payee institution number (5 digits)",
                "numeric",
                "00100",
            ),
            field(
                "customer_number",
                "お客様番号（納付番号）",
                "Customer number (up to 20 digits)",
                "numeric",
                "12345678901234567890",
            ),
            field(
                "confirmation_number",
                "確認番号",
                "Confirmation number (up to 16 digits)",
                "numeric",
                "123456",
            ),
            field("amount", "金額（円）", "Amount, JPY", "numeric", "350000"),
        ],
    },
    Screen {
        tx: TransactionType::DirectDebit,
        title: "口座振替",
        title_en: "Direct debit",
        lead: "収納企業（引落先）がご指定の日に口座から引き落とす金額を承認します。",
        fields: &[
            field(
                "creditor",
                "引落先（収納企業）",
                "Creditor",
                "text",
                "東京電力エナジーパートナー",
            ),
            field("amount", "金額（円）", "Amount, JPY", "numeric", "15800"),
            field("debit_date", "引落日", "Debit date", "date", "2026-12-27"),
        ],
    },
    Screen {
        tx: TransactionType::SettingsChange,
        title: "通知先メールアドレスの変更",
        title_en: "Settings change: notification e-mail",
        lead: "お取引や手続きのお知らせを送るメールアドレスを変更します。",
        fields: &[field(
            "new_email",
            "新しいメールアドレス",
            "New e-mail address",
            "text",
            "keiri@example.co.jp",
        )],
    },
];

/// The screen for a URL segment (`bulk_transfer`, ...).
pub fn screen(slug: &str) -> Option<&'static Screen> {
    SCREENS.iter().find(|s| s.tx.as_str() == slug)
}

/// A filled form, checked: what the phone shows and what the bank applies.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// The type's fields, `type` included (the caller adds who asks).
    pub context: Value,
    /// One line for the waiting page, the result and the list.
    pub summary: String,
    /// For the e-mail change: the new address, set once approved.
    pub new_email: Option<String>,
}

/// A checked form's context, summary and, for the e-mail change, new address.
type Made = (Value, String, Option<String>);
/// A form's fields, trimmed.
type Filled<'a> = HashMap<&'a str, &'a str>;

fn get<'a>(f: &Filled<'a>, name: &str) -> &'a str {
    f.get(name).copied().unwrap_or("")
}

/// Checks a form for `screen`; `Err` is the message to show. `current_email` is
/// the user's address now (the settings change shows it as the old value);
/// `batch` is the bank's new batch ID for a bulk transfer.
pub fn prepare<S: BuildHasher>(
    screen: &Screen,
    form: &HashMap<String, String, S>,
    today: Date,
    current_email: &str,
    batch: &str,
) -> Result<Prepared, String> {
    let f: Filled<'_> = form.iter().map(|(k, v)| (k.as_str(), v.trim())).collect();
    let (context, summary, new_email) = match screen.tx {
        TransactionType::BulkTransfer => bulk(&f, batch)?,
        TransactionType::PayrollTransfer => payroll(&f, today)?,
        TransactionType::TaxPayment => tax(&f)?,
        TransactionType::DirectDebit => debit(&f, today)?,
        TransactionType::SettingsChange => settings(&f, current_email)?,
        TransactionType::Transfer => {
            return Err("振込は振込画面から / use the transfer page".to_owned());
        }
    };
    if form.get("approval_password").is_none_or(String::is_empty) {
        return Err("取引実行パスワード（依頼承認パスワード）を入力してください / enter your approval password".to_owned());
    }
    Ok(Prepared {
        context,
        summary,
        new_email,
    })
}

fn bulk(f: &Filled<'_>, batch: &str) -> Result<Made, String> {
    let (count, total) = lines(get(f, "lines"))?;
    let summary = format!(
        "総合振込 / bulk transfer: {count}件 合計 {} ({batch})",
        yen(total)
    );
    let context = json!({"type": "bulk_transfer", "count": count, "total": total.to_string(),
        "currency": "JPY", "batch_id": batch});
    Ok((context, summary, None))
}

fn payroll(f: &Filled<'_>, today: Date) -> Result<Made, String> {
    let date = date(get(f, "payment_date"), today, "支払日 / payment date")?;
    let (count, total) = lines(get(f, "lines"))?;
    let summary = format!(
        "給与・賞与振込 / payroll: {count}件 合計 {} 支払日 {date}",
        yen(total)
    );
    let context = json!({"type": "payroll_transfer", "count": count, "total": total.to_string(),
        "currency": "JPY", "payment_date": date});
    Ok((context, summary, None))
}

fn tax(f: &Filled<'_>) -> Result<Made, String> {
    let institution = digits(
        get(f, "payee_institution_number"),
        5,
        5,
        "収納機関番号 / payee institution number",
    )?;
    let customer = digits(
        get(f, "customer_number"),
        1,
        20,
        "お客様番号 / customer number",
    )?;
    let confirmation = digits(
        get(f, "confirmation_number"),
        1,
        16,
        "確認番号 / confirmation number",
    )?;
    let amount = amount(get(f, "amount"))?;
    let summary = format!(
        "ペイジー / Pay-easy: 収納機関 {institution} お客様番号 {customer} 確認番号 {confirmation} {}",
        yen(amount)
    );
    let context = json!({"type": "tax_payment", "payee_institution_number": institution,
        "customer_number": customer, "confirmation_number": confirmation,
        "amount": amount.to_string(), "currency": "JPY"});
    Ok((context, summary, None))
}

fn debit(f: &Filled<'_>, today: Date) -> Result<Made, String> {
    let creditor = get(f, "creditor");
    if creditor.is_empty() || creditor.chars().count() > 60 {
        return Err(
            "引落先を60文字以内で入力してください / enter the creditor (up to 60 characters)"
                .to_owned(),
        );
    }
    let amount = amount(get(f, "amount"))?;
    let date = date(get(f, "debit_date"), today, "引落日 / debit date")?;
    let summary = format!(
        "口座振替 / direct debit: {creditor} {} 引落日 {date}",
        yen(amount)
    );
    let context = json!({"type": "direct_debit", "creditor": creditor,
        "amount": amount.to_string(), "currency": "JPY", "debit_date": date});
    Ok((context, summary, None))
}

fn settings(f: &Filled<'_>, current_email: &str) -> Result<Made, String> {
    let new = get(f, "new_email");
    let (local, domain) = new.split_once('@').unwrap_or_default();
    if new.len() > 254
        || local.is_empty()
        || !domain.contains('.')
        || new.contains(char::is_whitespace)
    {
        return Err(
            "メールアドレスを正しく入力してください / enter a valid e-mail address".to_owned(),
        );
    }
    if new == current_email {
        return Err("現在と同じメールアドレスです / that is the current address".to_owned());
    }
    let setting = "通知先メールアドレス / notification e-mail";
    let summary = format!("設定変更 / settings change: {setting}: {current_email} → {new}");
    let context = json!({"type": "settings_change", "setting": setting,
        "old_value": current_email, "new_value": new});
    Ok((context, summary, Some(new.to_owned())))
}

/// Yen as digits, commas allowed; 1 to [`MAX_AMOUNT`].
fn amount(text: &str) -> Result<i64, String> {
    let value: i64 = text.replace([',', '，'], "").parse().map_err(|_| {
        "金額は半角数字（円）で入力してください / enter the amount in yen as digits".to_owned()
    })?;
    if (1..=MAX_AMOUNT).contains(&value) {
        Ok(value)
    } else {
        Err("金額は1円以上1億円以下で入力してください / the amount must be between ¥1 and ¥100,000,000".to_owned())
    }
}

/// `min`–`max` ASCII digits.
fn digits(text: &str, min: usize, max: usize, name: &str) -> Result<String, String> {
    if (min..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(text.to_owned())
    } else if min == max {
        Err(format!(
            "{name}は{min}桁の半角数字です / must be {min} digits"
        ))
    } else {
        Err(format!(
            "{name}は{max}桁以内の半角数字です / must be 1 to {max} digits"
        ))
    }
}

/// An ISO 8601 date, today or later.
fn date(text: &str, today: Date, name: &str) -> Result<String, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match Date::parse(text, &format) {
        Ok(d) if d >= today => Ok(text.to_owned()),
        Ok(_) => Err(format!(
            "{name}は本日以降の日付を入力してください / must be today or later"
        )),
        Err(_) => Err(format!(
            "{name}を YYYY-MM-DD で入力してください / enter it as YYYY-MM-DD"
        )),
    }
}

/// `payee,account,yen` lines: their count and total.
fn lines(text: &str) -> Result<(i64, i64), String> {
    let mut count = 0_i64;
    let mut total = 0_i64;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        // The amount is the rest of the line, so it may have thousands separators.
        let parts: Vec<&str> = line.splitn(3, [',', '，', '\t']).map(str::trim).collect();
        let [name, account, yen_text] = parts.as_slice() else {
            return Err(format!(
                "{}行目: 「受取人名,振込先口座,金額」の形で入力してください / line {}: payee, account, amount",
                i + 1,
                i + 1
            ));
        };
        if name.is_empty() || account.is_empty() {
            return Err(format!(
                "{}行目: 受取人名と口座を入力してください / line {}: payee and account are needed",
                i + 1,
                i + 1
            ));
        }
        let value = amount(yen_text).map_err(|e| format!("{}行目 / line {}: {e}", i + 1, i + 1))?;
        count += 1;
        total += value;
    }
    if count == 0 {
        return Err("振込明細を1行以上入力してください / enter at least one payment".to_owned());
    }
    if usize::try_from(count).unwrap_or(usize::MAX) > MAX_LINES {
        return Err(format!(
            "明細は{MAX_LINES}行までです / at most {MAX_LINES} lines"
        ));
    }
    Ok((count, total))
}

#[cfg(test)]
#[path = "payments_tests.rs"]
mod tests;
