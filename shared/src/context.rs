//! The context a challenge approves, and its digest over the RFC 8785 (JCS) form.
//!
//! A context is a JSON object whose values are strings, integers, booleans, or
//! nested objects and arrays of those. Floats and `null` are refused: money is a
//! decimal string plus a currency. Integers are limited to the I-JSON safe range
//! (±(2^53 − 1), RFC 7493 §2.2) so every JSON implementation reads them exactly.
//!
//! With that value set the JCS serialisation is small enough to write here
//! exactly: keys sorted by their UTF-16 code units (RFC 8785 §3.2.3), strings
//! escaped as ECMAScript's `JSON.stringify` does (§3.2.2.2), integers in decimal
//! (§3.2.2.3 for integers in the safe range), no white space. The maintained JCS
//! crates also carry float formatting we refuse anyway; the RFC's own examples that
//! fall in this value set are the tests below.

use std::fmt::Write as _;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// The largest integer a context may hold: 2^53 − 1.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;
/// How deep objects and arrays may nest.
pub const MAX_DEPTH: usize = 8;
/// The largest canonical form a context may have, in bytes.
pub const MAX_CANONICAL_BYTES: usize = 8 * 1024;

/// Why a JSON value is not a valid context.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    /// The top level is not an object.
    #[error("context must be a JSON object")]
    NotAnObject,
    /// A float (money must be a decimal string plus a currency).
    #[error(
        "context field {path} is a non-integer number; send amounts as a decimal string with a currency"
    )]
    Float {
        /// Where, like `$.amount`.
        path: String,
    },
    /// An integer outside ±(2^53 − 1).
    #[error("context field {path} is an integer outside ±9007199254740991")]
    IntegerRange {
        /// Where.
        path: String,
    },
    /// A `null`.
    #[error("context field {path} is null; leave the field out instead")]
    Null {
        /// Where.
        path: String,
    },
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("context nests deeper than {MAX_DEPTH} levels at {path}")]
    TooDeep {
        /// Where.
        path: String,
    },
    /// Larger than [`MAX_CANONICAL_BYTES`] once canonicalised.
    #[error("context is {size} bytes, more than {MAX_CANONICAL_BYTES}")]
    TooLarge {
        /// Canonical size in bytes.
        size: usize,
    },
}

/// What a challenge asks the user to approve, shown on the phone exactly as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = Object))]
pub struct Context(Map<String, Value>);

impl Context {
    /// Checks a JSON value against the context value set.
    pub fn from_value(value: Value) -> Result<Self, ContextError> {
        let Value::Object(map) = value else {
            return Err(ContextError::NotAnObject);
        };
        for (key, value) in &map {
            check_value(value, &format!("$.{key}"), 1)?;
        }
        let context = Self(map);
        let size = context.canonical_json().len();
        if size > MAX_CANONICAL_BYTES {
            return Err(ContextError::TooLarge { size });
        }
        Ok(context)
    }

    /// The fields, as JSON.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.0
    }

    /// A top-level string field, if present and a string.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }

    /// The RFC 8785 (JCS) serialisation.
    pub fn canonical_json(&self) -> String {
        let mut out = String::new();
        write_object(&self.0, &mut out);
        out
    }

    /// SHA-256 of [`Context::canonical_json`].
    pub fn digest(&self) -> [u8; 32] {
        let hash = ring::digest::digest(&ring::digest::SHA256, self.canonical_json().as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(hash.as_ref());
        out
    }

    /// [`Context::digest`] as base64url without padding: the `ctx` claim of a decision.
    pub fn digest_b64(&self) -> String {
        crate::b64::encode(self.digest())
    }
}

impl TryFrom<Value> for Context {
    type Error = ContextError;

    fn try_from(value: Value) -> Result<Self, Self::Error> {
        Self::from_value(value)
    }
}

impl<'de> Deserialize<'de> for Context {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::from_value(Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

fn check_value(value: &Value, path: &str, depth: usize) -> Result<(), ContextError> {
    match value {
        Value::String(_) | Value::Bool(_) => Ok(()),
        Value::Null => Err(ContextError::Null {
            path: path.to_owned(),
        }),
        Value::Number(n) => match n.as_i64() {
            Some(i) if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&i) => Ok(()),
            Some(_) => Err(ContextError::IntegerRange {
                path: path.to_owned(),
            }),
            None if n.is_u64() => Err(ContextError::IntegerRange {
                path: path.to_owned(),
            }),
            None => Err(ContextError::Float {
                path: path.to_owned(),
            }),
        },
        Value::Array(items) => {
            if depth >= MAX_DEPTH {
                return Err(ContextError::TooDeep {
                    path: path.to_owned(),
                });
            }
            items
                .iter()
                .enumerate()
                .try_for_each(|(i, v)| check_value(v, &format!("{path}[{i}]"), depth + 1))
        }
        Value::Object(map) => {
            if depth >= MAX_DEPTH {
                return Err(ContextError::TooDeep {
                    path: path.to_owned(),
                });
            }
            map.iter()
                .try_for_each(|(k, v)| check_value(v, &format!("{path}.{k}"), depth + 1))
        }
    }
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        // Only integers in the safe range get here (checked on construction).
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(map, out),
    }
}

fn write_object(map: &Map<String, Value>, out: &mut String) {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    // RFC 8785 §3.2.3: sort by the UTF-16 code units of the keys.
    entries.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
    out.push('{');
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(key, out);
        out.push(':');
        write_value(value, out);
    }
    out.push('}');
}

/// RFC 8785 §3.2.2.2: escape `"` and `\`, the short forms for the five named control
/// characters, `\u00xx` (lower-case hex) for the other controls, everything else as is.
fn write_string(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn ctx(value: Value) -> Context {
        Context::from_value(value).unwrap()
    }

    /// RFC 8785 §3.2.2.2 example string (the part of the §3.2.2 example in our value set).
    #[test]
    fn rfc8785_string_escaping() {
        let input: Value =
            serde_json::from_str(r#"{"string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/"}"#)
                .unwrap();
        assert_eq!(
            ctx(input).canonical_json(),
            r#"{"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    /// RFC 8785 §3.2.2 example literals `true` / `false` (null is outside our set).
    #[test]
    fn rfc8785_literals() {
        assert_eq!(
            ctx(json!({"literals": [true, false]})).canonical_json(),
            r#"{"literals":[true,false]}"#
        );
    }

    /// RFC 8785 §3.2.3 sorting example: UTF-16 order puts the emoji before U+FB33.
    #[test]
    fn rfc8785_property_sorting() {
        let input: Value = serde_json::from_str(
            r#"{
              "\u20ac": "Euro Sign",
              "\r": "Carriage Return",
              "\ufb33": "Hebrew Letter Dalet With Dagesh",
              "1": "One",
              "\ud83d\ude00": "Emoji: Grinning Face",
              "\u0080": "Control",
              "\u00f6": "Latin Small Letter O With Diaeresis"
            }"#,
        )
        .unwrap();
        let keys: Vec<String> = {
            let canonical = ctx(input).canonical_json();
            let reparsed: Vec<(String, Value)> = {
                // Read keys in textual order from the canonical output.
                let mut out = Vec::new();
                let mut de = serde_json::Deserializer::from_str(&canonical);
                let map: indexmap_free::Ordered = serde::Deserialize::deserialize(&mut de).unwrap();
                for (k, v) in map.0 {
                    out.push((k, v));
                }
                out
            };
            reparsed.into_iter().map(|(k, _)| k).collect()
        };
        let expected = [
            "\r",
            "1",
            "\u{80}",
            "\u{f6}",
            "\u{20ac}",
            "\u{1f600}",
            "\u{fb33}",
        ];
        assert_eq!(keys, expected);
    }

    /// Reads a JSON object keeping the order its keys appear in.
    mod indexmap_free {
        use serde::de::{Deserializer, MapAccess, Visitor};
        use serde_json::Value;

        pub struct Ordered(pub Vec<(String, Value)>);

        impl<'de> serde::Deserialize<'de> for Ordered {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = Ordered;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("an object")
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Ordered, A::Error> {
                        let mut out = Vec::new();
                        while let Some((k, v)) = a.next_entry::<String, Value>()? {
                            out.push((k, v));
                        }
                        Ok(Ordered(out))
                    }
                }
                d.deserialize_map(V)
            }
        }
    }

    #[test]
    fn nested_objects_are_sorted_and_compact() {
        let c = ctx(json!({"b": {"y": 1, "x": [2, {"d": true, "c": "s"}]}, "a": -5}));
        assert_eq!(
            c.canonical_json(),
            r#"{"a":-5,"b":{"x":[2,{"c":"s","d":true}],"y":1}}"#
        );
    }

    #[test]
    fn floats_nulls_and_big_integers_are_refused_with_their_path() {
        assert_eq!(
            Context::from_value(json!({"amount": 10.5})),
            Err(ContextError::Float {
                path: "$.amount".into()
            })
        );
        assert_eq!(
            Context::from_value(json!({"a": {"b": null}})),
            Err(ContextError::Null {
                path: "$.a.b".into()
            })
        );
        assert!(matches!(
            Context::from_value(json!({"n": 9_007_199_254_740_992_i64})),
            Err(ContextError::IntegerRange { .. })
        ));
        assert!(matches!(
            Context::from_value(json!({"n": u64::MAX})),
            Err(ContextError::IntegerRange { .. })
        ));
        assert_eq!(
            Context::from_value(json!([1])),
            Err(ContextError::NotAnObject)
        );
    }

    #[test]
    fn deep_or_huge_contexts_are_refused() {
        // MAX_DEPTH objects, the context itself included, are allowed; one more is not.
        let mut deep = json!("x");
        for _ in 0..MAX_DEPTH {
            deep = json!({ "k": deep });
        }
        assert!(Context::from_value(deep.clone()).is_ok());
        let deeper = json!({ "k": deep });
        assert!(matches!(
            Context::from_value(deeper),
            Err(ContextError::TooDeep { .. })
        ));
        let huge = json!({"memo": "x".repeat(MAX_CANONICAL_BYTES)});
        assert!(matches!(
            Context::from_value(huge),
            Err(ContextError::TooLarge { .. })
        ));
    }

    #[test]
    fn digest_is_sha256_of_canonical_form() {
        let c = ctx(json!({"amount": "1000", "currency": "JPY"}));
        let expected = ring::digest::digest(
            &ring::digest::SHA256,
            br#"{"amount":"1000","currency":"JPY"}"#,
        );
        assert_eq!(c.digest().as_slice(), expected.as_ref());
        assert_eq!(c.digest_b64().len(), 43);
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<String>().prop_map(Value::from),
            (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
        ]
    }

    fn fields() -> impl Strategy<Value = Vec<(String, Value)>> {
        proptest::collection::btree_map("[a-z]{1,6}", leaf(), 1..8)
            .prop_map(|m| m.into_iter().collect())
    }

    proptest! {
        #[test]
        fn digest_ignores_key_order(entries in fields()) {
            // Written as JSON text in two orders, so the order really reaches the parser.
            let text = |items: &mut dyn Iterator<Item = &(String, Value)>| {
                let body: Vec<String> = items
                    .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), v))
                    .collect();
                format!("{{{}}}", body.join(","))
            };
            let forward: Value = serde_json::from_str(&text(&mut entries.iter())).unwrap();
            let reversed: Value = serde_json::from_str(&text(&mut entries.iter().rev())).unwrap();
            prop_assert_eq!(ctx(forward).digest(), ctx(reversed).digest());
        }

        #[test]
        fn digest_changes_when_any_value_changes(entries in fields(), pick in any::<prop::sample::Index>(), other in leaf()) {
            let map: Map<String, Value> = entries.iter().cloned().collect();
            let key = pick.get(&entries).0.clone();
            prop_assume!(map[&key] != other);
            let mut changed = map.clone();
            changed.insert(key, other);
            prop_assert_ne!(ctx(Value::Object(map)).digest(), ctx(Value::Object(changed)).digest());
        }

        #[test]
        fn canonical_form_is_valid_json_of_the_same_value(entries in fields()) {
            let map: Map<String, Value> = entries.into_iter().collect();
            let canonical = ctx(Value::Object(map.clone())).canonical_json();
            let back: Value = serde_json::from_str(&canonical).unwrap();
            prop_assert_eq!(back, Value::Object(map));
        }
    }
}
