//! Credential-ID parsing (`CredentialId::from_str`) on arbitrary UTF-8.
//!
//! - Parsing never panics.
//! - It accepts exactly the inputs that, with white space and `-` removed and upper-cased,
//!   are 4 ASCII letters, 7 digits and their Luhn check digit (checked by an independent
//!   implementation in `onepush_fuzz::luhn`).
//! - An accepted ID's display (`ONEP 1234 5678`), compact, lower-case and JSON forms all
//!   parse back to the same ID.
//!
//! The other identifiers (challenge, tenant, user) get the display round trip too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onepush_fuzz::luhn;
use onepush_protocol::{ChallengeId, CredentialId, TenantId, UserId};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = text.parse::<CredentialId>();

    let normalized: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let b = normalized.as_bytes();
    let should_parse = b.len() == 12
        && b[..4].iter().all(u8::is_ascii_uppercase)
        && b[4..].iter().all(u8::is_ascii_digit)
        && luhn(&b[4..11]) == b[11];
    assert_eq!(
        parsed.is_ok(),
        should_parse,
        "{text:?} (normalised {normalized:?}) gave {parsed:?}"
    );

    if let Ok(id) = parsed {
        let compact = id.as_str();
        assert_eq!(compact, normalized);
        assert_eq!(id.prefix(), &compact[..4]);
        let shown = id.to_string();
        assert_eq!(shown, id.grouped());
        assert_eq!(
            shown,
            format!("{} {} {}", &compact[..4], &compact[4..8], &compact[8..])
        );
        for form in [shown.clone(), compact.to_owned(), compact.to_lowercase()] {
            assert_eq!(form.parse::<CredentialId>().as_ref(), Ok(&id), "{form:?}");
        }
        let json = serde_json::to_string(&id).expect("serialises");
        assert_eq!(json, format!("\"{compact}\""));
        assert_eq!(serde_json::from_str::<CredentialId>(&json).ok(), Some(id));
    } else if let Err(err) = parsed {
        // Every refusal has a message a person can read.
        assert!(!err.to_string().is_empty());
    }

    if let Ok(id) = text.parse::<ChallengeId>() {
        assert_eq!(id.to_string().parse::<ChallengeId>().ok(), Some(id));
        assert_eq!(id.as_uuid().get_version_num(), 7);
    }
    if let Ok(id) = text.parse::<TenantId>() {
        assert_eq!(id.to_string(), text);
        assert_eq!(id.to_string().parse::<TenantId>().ok(), Some(id));
    }
    if let Ok(id) = text.parse::<UserId>() {
        assert_eq!(id.to_string(), text);
        assert_eq!(id.to_string().parse::<UserId>().ok(), Some(id));
    }
});
