//! Encoding helpers both backends use: JSON columns, parsed text columns, binding states.

use onepush_protocol::api::{BindingState, TokenKind};
use serde::de::DeserializeOwned;

use super::StoreError;

/// A record field as a JSON text column.
pub(super) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("records serialise to JSON")
}

/// A text column parsed as `T`; `what` names it in the error.
pub(super) fn parse<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("{what} {text:?}: {e}")))
}

/// A JSON text column decoded as `T`.
pub(super) fn json<T: DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// A non-negative integer column as `u32`.
pub(super) fn to_u32(value: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} = {value}")))
}

pub(super) fn binding_state_str(state: BindingState) -> &'static str {
    match state {
        BindingState::Active => "active",
        BindingState::Suspended => "suspended",
        BindingState::Unregistered => "unregistered",
        BindingState::Locked => "locked",
    }
}

/// A token kind as stored (`push`, `otp`; the migration's `CHECK` allows only these).
pub(super) fn token_kind_str(kind: TokenKind) -> &'static str {
    kind.as_str()
}

pub(super) fn binding_state(text: &str) -> Result<BindingState, StoreError> {
    Ok(match text {
        "active" => BindingState::Active,
        "suspended" => BindingState::Suspended,
        "unregistered" => BindingState::Unregistered,
        "locked" => BindingState::Locked,
        other => return Err(StoreError::Corrupt(format!("binding state {other:?}"))),
    })
}
