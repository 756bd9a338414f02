//! Argon2id password hashes (PHC strings) and the password rules of the bank.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

/// Wrong passwords in a row that lock a password (seed 000: the admin unlocks it).
pub const LOCK_AFTER: i64 = 5;

/// Hashes a password with Argon2id (default parameters: 19 MiB, 2 passes).
/// CPU-heavy: call it from `spawn_blocking`.
pub fn hash(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

/// Whether `password` matches the PHC string. CPU-heavy, like [`hash`].
pub fn verify(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// Hashes on the blocking pool.
pub async fn hash_async(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash(&password)).await?
}

/// Verifies on the blocking pool.
pub async fn verify_async(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || verify(&password, &phc))
        .await
        .unwrap_or(false)
}

/// The bank's rule for a new password: 8–32 characters with letters and digits.
/// Returns the message to show when it is broken.
pub fn check_rule(password: &str) -> Result<(), &'static str> {
    let len = password.chars().count();
    let letters = password.chars().any(|c| c.is_ascii_alphabetic());
    let digits = password.chars().any(|c| c.is_ascii_digit());
    if !(8..=32).contains(&len) || !letters || !digits {
        return Err(
            "パスワードは英字と数字を含む8〜32文字で入力してください (8–32 characters with letters and digits)",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_only_its_password() {
        let phc = hash("demo1234").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify("demo1234", &phc));
        assert!(!verify("demo12345", &phc));
    }

    #[test]
    fn weak_new_passwords_are_refused() {
        assert!(check_rule("short1").is_err());
        assert!(check_rule("onlyletters").is_err());
        assert!(check_rule("12345678").is_err());
        assert!(check_rule("newpass123").is_ok());
    }
}
