//! Typed identifiers: credential, challenge, tenant and user.
//!
//! Each parses with an [`IdError`] that says what is wrong, so a bank page or the
//! CLI can show it to a person as it is.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The value has the wrong number of characters.
    #[error("{what} must be {expected}, got {got} characters")]
    Length {
        /// Which identifier.
        what: &'static str,
        /// The expected length, in words (`"12 characters"`, `"1 to 64 characters"`).
        expected: &'static str,
        /// The length that was given.
        got: usize,
    },
    /// The credential ID does not start with four letters.
    #[error("credential ID must start with 4 letters (like ONEP), got {0:?}")]
    Prefix(String),
    /// The credential ID has something other than digits after its prefix.
    #[error("credential ID must have 8 digits after its 4 letters, got {0:?}")]
    Digits(String),
    /// The Luhn check digit does not match: a typing mistake.
    #[error("credential ID check digit is wrong: please check for a typing mistake")]
    CheckDigit,
    /// A character that the identifier does not allow.
    #[error("{what} may only contain {allowed}; found {found:?}")]
    Character {
        /// Which identifier.
        what: &'static str,
        /// The allowed characters, in words.
        allowed: &'static str,
        /// The first character that is not allowed.
        found: char,
    },
    /// Not a UUID version 7.
    #[error("challenge ID must be a UUID version 7, got {0:?}")]
    Uuid(String),
}

// ---------------------------------------------------------------------------
// Credential ID
// ---------------------------------------------------------------------------

/// The credential ID an app install holds (R6): four upper-case letters (the
/// deployment prefix, default [`CredentialId::DEFAULT_PREFIX`]) and eight digits, the
/// last a Luhn check digit over the first seven.
///
/// Displayed grouped (`ONEP 1234 5678`), serialised compact (`ONEP12345678`), parsed
/// ignoring case, spaces and hyphens.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CredentialId(String);

impl CredentialId {
    /// The prefix used when a deployment does not choose its own.
    pub const DEFAULT_PREFIX: &'static str = "ONEP";

    /// Creates a new credential ID: `prefix` + 7 random digits + Luhn check digit.
    ///
    /// # Errors
    /// [`IdError::Prefix`] when `prefix` is not four ASCII letters.
    pub fn generate(prefix: &str) -> Result<Self, IdError> {
        let prefix = parse_prefix(prefix)?;
        let mut body = String::with_capacity(7);
        let mut random = [0u8; 16];
        while body.len() < 7 {
            crate::keys::fill_random(&mut random);
            // Only the bytes below 250 (25 × 10) map evenly onto the ten digits.
            let digits = random
                .iter()
                .filter(|&&b| b < 250)
                .map(|b| char::from(b'0' + b % 10));
            body.extend(digits.take(7 - body.len()));
        }
        let check = luhn_check_digit(&body);
        Ok(Self(format!("{prefix}{body}{check}")))
    }

    /// The compact form, `ONEP12345678`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The grouped form a person reads, `ONEP 1234 5678`.
    pub fn grouped(&self) -> String {
        format!("{} {} {}", &self.0[..4], &self.0[4..8], &self.0[8..])
    }

    /// The four-letter prefix.
    pub fn prefix(&self) -> &str {
        &self.0[..4]
    }
}

fn parse_prefix(prefix: &str) -> Result<String, IdError> {
    if prefix.len() == 4 && prefix.chars().all(|c| c.is_ascii_alphabetic()) {
        Ok(prefix.to_ascii_uppercase())
    } else {
        Err(IdError::Prefix(prefix.to_owned()))
    }
}

/// The Luhn check digit for a string of ASCII digits.
fn luhn_check_digit(digits: &str) -> char {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    char::from_digit((10 - sum % 10) % 10, 10).unwrap_or('0')
}

impl FromStr for CredentialId {
    type Err = IdError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        // The compact form (what the relay stores and devices send) as it is: one copy,
        // where the general path below makes three strings. The same checks, the same ID.
        let bytes = input.as_bytes();
        if bytes.len() == 12
            && bytes[..4].iter().all(u8::is_ascii_uppercase)
            && bytes[4..].iter().all(u8::is_ascii_digit)
        {
            let (body, check) = input[4..].split_at(7);
            if !check.starts_with(luhn_check_digit(body)) {
                return Err(IdError::CheckDigit);
            }
            return Ok(Self(input.to_owned()));
        }
        let compact: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let got = compact.chars().count();
        if got != 12 {
            return Err(IdError::Length {
                what: "credential ID",
                expected: "4 letters and 8 digits (12 characters)",
                got,
            });
        }
        // Split by characters, not bytes: the input may hold multi-byte characters.
        let prefix: String = compact.chars().take(4).collect();
        let digits: String = compact.chars().skip(4).collect();
        if !prefix.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(IdError::Prefix(prefix));
        }
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(IdError::Digits(digits));
        }
        let (body, check) = digits.split_at(7);
        if !check.starts_with(luhn_check_digit(body)) {
            return Err(IdError::CheckDigit);
        }
        Ok(Self(compact))
    }
}

impl fmt::Display for CredentialId {
    /// Grouped, as a person reads it; use [`CredentialId::as_str`] for the compact form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.grouped())
    }
}

impl fmt::Debug for CredentialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CredentialId({})", self.0)
    }
}

impl Serialize for CredentialId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CredentialId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------
// Challenge ID
// ---------------------------------------------------------------------------

/// A challenge's identifier: a UUID version 7 (RFC 9562 §5.7), so IDs sort by
/// creation time and cannot be guessed (74 random bits).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ChallengeId(uuid::Uuid);

impl ChallengeId {
    /// A new ID for a challenge created now.
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7())
    }

    /// The UUID inside.
    pub fn as_uuid(&self) -> uuid::Uuid {
        self.0
    }
}

impl Default for ChallengeId {
    fn default() -> Self {
        Self::new()
    }
}

impl FromStr for ChallengeId {
    type Err = IdError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let uuid = uuid::Uuid::try_parse(input).map_err(|_| IdError::Uuid(input.to_owned()))?;
        if uuid.get_version_num() == 7 {
            Ok(Self(uuid))
        } else {
            Err(IdError::Uuid(input.to_owned()))
        }
    }
}

impl fmt::Display for ChallengeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl fmt::Debug for ChallengeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChallengeId({})", self.0)
    }
}

impl<'de> Deserialize<'de> for ChallengeId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------
// Tenant and user
// ---------------------------------------------------------------------------

/// Declares a validated string identifier.
macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:literal, $expected:literal, $allowed:literal, $ok:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(input: &str) -> Result<Self, Self::Err> {
                let got = input.chars().count();
                if got == 0 || got > $max {
                    return Err(IdError::Length { what: $what, expected: $expected, got });
                }
                let allowed: fn(char) -> bool = $ok;
                if let Some(found) = input.chars().find(|c| !allowed(*c)) {
                    return Err(IdError::Character { what: $what, allowed: $allowed, found });
                }
                Ok(Self(input.to_owned()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

text_id!(
    /// A tenant (a bank) by its slug: 1–32 characters of lower-case ASCII letters,
    /// digits and `-`, starting with a letter.
    TenantId,
    "tenant ID",
    32,
    "1 to 32 characters",
    "lower-case letters a-z, digits and '-'",
    |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
);

text_id!(
    /// The bank's own identifier for a user, opaque to the relay: 1–64 printable ASCII
    /// characters from letters, digits and `. _ - @ +`.
    UserId,
    "user ID",
    64,
    "1 to 64 characters",
    "letters, digits and . _ - @ +",
    |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+')
);

impl TenantId {
    /// Whether the slug also starts with a letter (checked on creation of a tenant).
    pub fn starts_with_letter(&self) -> bool {
        self.0.starts_with(|c: char| c.is_ascii_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generated_id_has_prefix_digits_and_valid_check() {
        let id = CredentialId::generate("onep").unwrap();
        assert_eq!(id.prefix(), "ONEP");
        assert_eq!(id.as_str().len(), 12);
        assert_eq!(id.as_str().parse::<CredentialId>().unwrap(), id);
    }

    #[test]
    fn generated_digits_are_even_across_zero_to_nine() {
        // 350,000 digits: 35,000 of each expected, with a standard deviation of about
        // 180. Mapping every byte by `% 10` would give 0-5 one part in 26 more than 6-9
        // (about +550 against -820 per digit): the gap between the two groups' means
        // would be about 1,370, twelve times its deviation under even digits (≈ 115).
        let mut counts = [0_u32; 10];
        for _ in 0..50_000 {
            let id = CredentialId::generate("ONEP").unwrap();
            for d in id.as_str()[4..11].bytes() {
                counts[usize::from(d - b'0')] += 1;
            }
        }
        let low = f64::from(counts[..6].iter().sum::<u32>()) / 6.0;
        let high = f64::from(counts[6..].iter().sum::<u32>()) / 4.0;
        assert!((low - high).abs() < 600.0, "{counts:?}");
    }

    #[test]
    fn known_luhn_number_parses() {
        // 7992739871 + check 3 is the classic Luhn example; here 7 digits 1234567 → 4.
        assert_eq!(luhn_check_digit("7992739871"), '3');
        let id: CredentialId = "onep-1234 5674".parse().unwrap();
        assert_eq!(id.as_str(), "ONEP12345674");
        assert_eq!(id.to_string(), "ONEP 1234 5674");
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(matches!(
            "ONEP1234".parse::<CredentialId>(),
            Err(IdError::Length { got: 8, .. })
        ));
        assert!(matches!(
            "ON3P12345674".parse::<CredentialId>(),
            Err(IdError::Prefix(_))
        ));
        assert!(matches!(
            "ONEP1234567X".parse::<CredentialId>(),
            Err(IdError::Digits(_))
        ));
        assert_eq!(
            "ONEP12345675".parse::<CredentialId>(),
            Err(IdError::CheckDigit)
        );
        let message = "ONEP12345675"
            .parse::<CredentialId>()
            .unwrap_err()
            .to_string();
        assert!(message.contains("check digit"), "{message}");
    }

    #[test]
    fn multi_byte_characters_are_refused_without_panicking() {
        // Found by fuzz/fuzz_targets/credential_id.rs: 12 characters whose 4th byte is
        // inside a multi-byte character used to panic on a byte-index split.
        assert!(matches!(
            "3==÷=2===÷=2".parse::<CredentialId>(),
            Err(IdError::Prefix(_))
        ));
        assert_eq!(
            "ONEP1234567÷".parse::<CredentialId>(),
            Err(IdError::Digits("1234567÷".into()))
        );
        assert!(matches!(
            "ÖNEP12345674".parse::<CredentialId>(),
            Err(IdError::Prefix(p)) if p == "ÖNEP"
        ));
    }

    #[test]
    fn bad_prefix_for_generation_is_refused() {
        assert!(CredentialId::generate("AB1").is_err());
    }

    #[test]
    fn credential_id_serialises_compact() {
        let id: CredentialId = "ONEP 1234 5674".parse().unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"ONEP12345674\"");
        let back: CredentialId = serde_json::from_str("\"onep 1234-5674\"").unwrap();
        assert_eq!(back, id);
        assert!(serde_json::from_str::<CredentialId>("\"ONEP12345670\"").is_err());
    }

    #[test]
    fn challenge_id_is_uuid_v7() {
        let id = ChallengeId::new();
        assert_eq!(id.to_string().parse::<ChallengeId>().unwrap(), id);
        assert!(matches!(
            "6ba7b810-9dad-11d1-80b4-00c04fd430c8".parse::<ChallengeId>(),
            Err(IdError::Uuid(_))
        ));
        assert!("not-a-uuid".parse::<ChallengeId>().is_err());
    }

    #[test]
    fn tenant_and_user_ids_are_validated() {
        assert!("acme-bank".parse::<TenantId>().is_ok());
        assert!(matches!(
            "Acme".parse::<TenantId>(),
            Err(IdError::Character { found: 'A', .. })
        ));
        assert!(matches!(
            "".parse::<TenantId>(),
            Err(IdError::Length { .. })
        ));
        assert!("user.01@corp".parse::<UserId>().is_ok());
        assert!(matches!(
            "user'; DROP TABLE".parse::<UserId>(),
            Err(IdError::Character { found: '\'', .. })
        ));
        assert!(matches!(
            "x".repeat(65).parse::<UserId>(),
            Err(IdError::Length { got: 65, .. })
        ));
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(prefix in "[A-Za-z]{4}", body in "[0-9]{7}") {
            let check = luhn_check_digit(&body);
            let id: CredentialId = format!("{prefix}{body}{check}").parse().unwrap();
            prop_assert_eq!(id.to_string().parse::<CredentialId>().unwrap(), id.clone());
            prop_assert_eq!(id.as_str().to_lowercase().parse::<CredentialId>().unwrap(), id);
        }

        #[test]
        fn luhn_catches_every_single_digit_change(body in "[0-9]{7}", pos in 0usize..8, delta in 1u8..10) {
            let check = luhn_check_digit(&body);
            let mut digits: Vec<u8> = format!("{body}{check}").into_bytes();
            digits[pos] = b'0' + (digits[pos] - b'0' + delta) % 10;
            let changed = format!("ONEP{}", String::from_utf8(digits).unwrap());
            prop_assert_eq!(changed.parse::<CredentialId>(), Err(IdError::CheckDigit));
        }
    }
}
