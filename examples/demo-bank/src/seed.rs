//! The demo contract and its four users (the seeds' roles), created on first start.

use crate::passwords;
use crate::store::{Role, Store, User};

/// 契約者番号 of the demo contract.
pub const CONTRACT: &str = "1234567";
/// Login password of every demo user.
pub const LOGIN_PASSWORD: &str = "demo1234";
/// Approval (transaction) password of every demo user.
pub const APPROVAL_PASSWORD: &str = "appr1234";
/// Days the demo users with approval rights may log in without a token.
pub const PASSWORD_ONLY_DAYS: i64 = 30;

/// The demo users: user ID, name, role, mail address.
pub const USERS: [(&str, &str, Role, &str); 4] = [
    (
        "admin01",
        "管理 花子 (Hanako Kanri)",
        Role::Manager,
        "admin01@open-shoji.example",
    ),
    (
        "approver01",
        "承認 太郎 (Taro Shonin)",
        Role::Approver,
        "approver01@open-shoji.example",
    ),
    (
        "entry01",
        "起票 次郎 (Jiro Kihyo)",
        Role::DataEntry,
        "entry01@open-shoji.example",
    ),
    (
        "viewer01",
        "照会 三郎 (Saburo Shokai)",
        Role::Inquiry,
        "viewer01@open-shoji.example",
    ),
];

/// Creates the demo contract and users unless the contract exists. Returns whether it did.
pub async fn seed(store: &Store, now: i64) -> anyhow::Result<bool> {
    if !store
        .insert_contract(CONTRACT, "株式会社オープン商事 (Open Shoji Co., Ltd.)")
        .await?
    {
        return Ok(false);
    }
    for (user_id, name, role, email) in USERS {
        let login_hash = passwords::hash_async(LOGIN_PASSWORD.to_owned()).await?;
        let approval_hash = passwords::hash_async(APPROVAL_PASSWORD.to_owned()).await?;
        let user = User {
            contract_number: CONTRACT.to_owned(),
            user_id: user_id.to_owned(),
            name: name.to_owned(),
            role: role.as_str().to_owned(),
            email: Some(email.to_owned()),
            login_hash,
            approval_hash,
            login_failures: 0,
            approval_failures: 0,
            password_only_until: role
                .needs_token()
                .then_some(now + PASSWORD_ONLY_DAYS * 86_400),
        };
        store.insert_user(&user).await?;
    }
    Ok(true)
}
