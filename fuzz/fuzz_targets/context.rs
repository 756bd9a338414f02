//! Context validation and RFC 8785 canonicalisation on arbitrary bytes parsed as JSON.
//!
//! - `Context::from_value` never panics, and deserialising a `Context` directly agrees
//!   with it.
//! - When accepted: `canonical_json` is valid JSON of the same value; the re-parsed value
//!   is again a valid context whose canonical form is byte-for-byte the same
//!   (idempotent); `digest` is SHA-256 of the canonical form (computed here
//!   independently) and the same for the re-parsed context; the canonical form is within
//!   the size limit, has no white space outside strings and sorts keys by UTF-16 units.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onepush_fuzz::sha256_b64;
use onepush_protocol::context::MAX_CANONICAL_BYTES;
use onepush_protocol::{Context, b64};
use serde_json::Value;

/// Every object's keys, in the order they appear in `text`, must be in UTF-16 order.
fn assert_sorted(text: &str) {
    struct Check;
    impl<'de> serde::de::DeserializeSeed<'de> for Check {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> serde::de::Visitor<'de> for Check {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut previous: Option<Vec<u16>> = None;
            while let Some(key) = map.next_key::<String>()? {
                let units: Vec<u16> = key.encode_utf16().collect();
                if let Some(previous) = &previous {
                    assert!(previous < &units, "keys out of UTF-16 order at {key:?}");
                }
                previous = Some(units);
                map.next_value_seed(Check)?;
            }
            Ok(())
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(Check)?.is_some() {}
            Ok(())
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    serde::de::DeserializeSeed::deserialize(Check, &mut de).expect("canonical JSON reads");
}

/// Whether `text` has white space outside its strings.
fn has_white_space_outside_strings(text: &str) -> bool {
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if matches!(c, ' ' | '\t' | '\n' | '\r') {
            return true;
        }
    }
    false
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let context = Context::from_value(value);
    let direct = serde_json::from_slice::<Context>(data);
    assert_eq!(context.is_ok(), direct.is_ok(), "{context:?} vs {direct:?}");
    if let (Ok(context), Ok(direct)) = (&context, &direct) {
        assert_eq!(context, direct);
    }
    let Ok(context) = context else {
        return;
    };

    let canonical = context.canonical_json();
    assert!(canonical.len() <= MAX_CANONICAL_BYTES);
    assert!(!has_white_space_outside_strings(&canonical), "{canonical}");
    assert_sorted(&canonical);

    let reparsed: Value = serde_json::from_str(&canonical).expect("canonical form is JSON");
    assert_eq!(
        reparsed,
        Value::Object(context.fields().clone()),
        "canonical form changed the value"
    );
    let again = Context::from_value(reparsed).expect("the canonical form is a valid context");
    assert_eq!(
        again.canonical_json(),
        canonical,
        "canonicalisation is not idempotent"
    );

    let digest = context.digest();
    assert_eq!(b64::encode(digest), sha256_b64(canonical.as_bytes()));
    assert_eq!(again.digest(), digest);
    assert_eq!(context.digest(), digest);
    assert_eq!(context.digest_b64(), b64::encode(digest));
});
