//! The cookie attribute settings: `Secure` and `SameSite`.

use serde::{Deserialize, Serialize};

/// The `Secure` cookie attribute setting: `"auto"`, `true` or `false`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Secure {
    /// `"auto"`: set `Secure` when Rocket itself serves TLS.
    #[default]
    Auto,
    /// `true`: always, e.g. behind a proxy that terminates TLS.
    Always,
    /// `false`: never.
    Never,
}

/// How `Secure` is written in the configuration: `true`, `false` or `"auto"`.
#[derive(Deserialize, Serialize)]
#[serde(untagged)]
enum SecureSetting {
    Flag(bool),
    Word(String),
}

impl<'de> Deserialize<'de> for Secure {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match SecureSetting::deserialize(deserializer)? {
            SecureSetting::Flag(true) => Ok(Secure::Always),
            SecureSetting::Flag(false) => Ok(Secure::Never),
            SecureSetting::Word(word) if word == "auto" => Ok(Secure::Auto),
            SecureSetting::Word(_) => {
                Err(serde::de::Error::custom("expected \"auto\", true or false"))
            }
        }
    }
}

impl Serialize for Secure {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Secure::Auto => SecureSetting::Word("auto".into()),
            Secure::Always => SecureSetting::Flag(true),
            Secure::Never => SecureSetting::Flag(false),
        }
        .serialize(serializer)
    }
}

/// The `SameSite` cookie attribute: `"strict"`, `"lax"` or `"none"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SameSite {
    /// Sent only with requests from this site.
    Strict,
    /// Also sent with top-level navigations from other sites (`GET` links), not with their
    /// form posts or scripts.
    #[default]
    Lax,
    /// Sent with every request; browsers then require `Secure`.
    None,
}

impl From<SameSite> for rocket::http::SameSite {
    fn from(same_site: SameSite) -> Self {
        match same_site {
            SameSite::Strict => rocket::http::SameSite::Strict,
            SameSite::Lax => rocket::http::SameSite::Lax,
            SameSite::None => rocket::http::SameSite::None,
        }
    }
}
