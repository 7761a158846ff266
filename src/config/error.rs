//! Configuration errors: the field to blame and what is wrong, never the value.

use std::fmt;

use rocket::figment::error::{Actual, Kind};

use super::hints::{TABLE_EXPECTED, nearest, unit_of};

/// A configuration problem: which field, and what is wrong with it. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    field: String,
    message: String,
}

impl ConfigError {
    pub(crate) fn new(field: impl Into<String>, message: impl fmt::Display) -> Self {
        ConfigError {
            field: field.into(),
            message: message.to_string(),
        }
    }

    /// The offending field, e.g. `paseto.local_key` or `paseto.access.ttl`.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// What is wrong with it.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.field, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Describes a Figment error about setting `name` without the offending value, naming the
/// fix where it can: the setting a misspelled name probably meant, or a duration's unit.
pub(super) fn describe(name: &str, kind: &Kind) -> String {
    fn actual(a: &Actual) -> String {
        match a {
            Actual::Str(_) => "a string".into(),
            Actual::Char(_) => "a character".into(),
            Actual::Bytes(_) => "bytes".into(),
            Actual::Other(_) => "a value".into(),
            Actual::Bool(_) => "a boolean".into(),
            Actual::Unsigned(_) | Actual::Signed(_) => "an integer".into(),
            Actual::Float(_) => "a number with a fraction".into(),
            other => other.to_string(),
        }
    }
    if let (Kind::InvalidType(..) | Kind::InvalidValue(..), Some(unit)) = (kind, unit_of(name)) {
        return format!("must be {unit}");
    }
    match kind {
        Kind::InvalidType(Actual::Str(_), _) if name == "paseto" => TABLE_EXPECTED.into(),
        Kind::InvalidType(a, expected) => format!("found {}, expected {expected}", actual(a)),
        Kind::InvalidValue(a, expected) => {
            format!("invalid value {}, expected {expected}", actual(a))
        }
        Kind::UnknownVariant(_, expected) => format!("unknown value, expected one of {expected:?}"),
        Kind::UnknownField(field, known) => match nearest(field, known) {
            Some(known) => format!("unknown setting `{field}`: did you mean `{known}`?"),
            None => format!("unknown setting `{field}`"),
        },
        Kind::Message(_) => "invalid value".into(),
        other => other.to_string(),
    }
}
