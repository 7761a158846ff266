//! The `[paseto.revocation]` section.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret, defaults};
use crate::revocation::OnError;
use crate::token::KindRules;

/// Revocation settings: `[default.paseto.revocation]`. See [`revocation`](crate::revocation).
///
/// ```toml
/// [default.paseto.revocation]
/// store = "redis"
/// url = "redis://127.0.0.1:6379/"
/// kinds = ["access", "refresh"]
/// on_error = "reject"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RevocationConfig {
    /// Where revocations are kept: `"memory"` (this process only) or `"redis"` (shared by every
    /// instance; needs the cargo feature `redis`). Leave it unset when a store is attached in
    /// code with [`PasetoFairing::revocation`](crate::PasetoFairing::revocation).
    ///
    /// _Default:_ none: tokens cannot be revoked, and no request waits for a store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<StoreKind>,
    /// The Redis URL, `redis://[[user]:password@]host[:port][/db]`; required with
    /// `store = "redis"`. Error messages never repeat it.
    ///
    /// _Default:_ none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Secret>,
    /// Prefix of every Redis key, to share one Redis between applications.
    ///
    /// _Default:_ `"rocket_paseto:"`.
    #[serde(default = "defaults::revocation_prefix")]
    pub prefix: String,
    /// The kinds whose guards check the store on every request (`"access"`, `"refresh"`,
    /// `"remember_me"` or your own kinds). Tokens of these kinds must carry a `jti`.
    ///
    /// _Default:_ `["access", "refresh"]`.
    #[serde(default = "defaults::revocation_kinds")]
    pub kinds: Vec<String>,
    /// What guards do when the store cannot answer: `"reject"` (fail closed: 503 until it is
    /// back) or `"allow"` (fail open: accept tokens unchecked, with a warning in the log).
    ///
    /// _Default:_ `"reject"`.
    #[serde(default)]
    pub on_error: OnError,
    /// How long to wait for the Redis store, in milliseconds (1 to 60000), connecting included.
    ///
    /// _Default:_ `500`.
    #[serde(default = "defaults::revocation_timeout_ms")]
    pub timeout_ms: u64,
    /// Seconds during which a refresh token that was just rotated still obtains the same new
    /// generation instead of counting as reuse: parallel refreshes from two tabs, or a retry
    /// after a timeout, then share one new refresh token. `0` treats every second use as
    /// reuse. At most 300.
    ///
    /// _Default:_ `15`.
    #[serde(default = "defaults::rotation_grace")]
    pub rotation_grace: u64,
    /// How many logins (token families started by
    /// [`Sessions::login`](crate::Sessions::login)) each subject may hold at once, 1 to 1000.
    /// A new login beyond it ends the one least recently refreshed.
    ///
    /// _Default:_ `32`.
    #[serde(default = "defaults::max_sessions")]
    pub max_sessions: usize,
}

/// A revocation store that can be chosen in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// [`MemoryStore`](crate::revocation::MemoryStore): this process only.
    Memory,
    /// `RedisStore` (cargo feature `redis`): shared by every instance.
    Redis,
}

/// The validated revocation settings; the fairing builds the store from them.
pub(crate) struct RevocationSetup {
    /// The store chosen in the configuration, if any.
    pub store: Option<StoreSetup>,
    /// Whether `kinds` was set explicitly (it then needs a store).
    pub kinds_set: bool,
    /// Whether each kind, by index in the rules, is checked.
    pub checked: Vec<bool>,
    pub on_error: OnError,
    /// See `RevocationConfig::rotation_grace`.
    pub grace: Duration,
    /// See `RevocationConfig::max_sessions`.
    pub max_sessions: usize,
}

pub(crate) enum StoreSetup {
    Memory,
    #[cfg(feature = "redis")]
    Redis {
        url: String,
        prefix: String,
        timeout: Duration,
    },
}

impl RevocationConfig {
    pub(crate) fn resolve(&self, kinds: &[KindRules]) -> Result<RevocationSetup, ConfigError> {
        let mut checked = vec![false; kinds.len()];
        for (i, name) in self.kinds.iter().enumerate() {
            let index = kinds
                .iter()
                .position(|k| k.name() == name.as_str())
                .ok_or_else(|| {
                    ConfigError::new(
                        format!("paseto.revocation.kinds[{i}]"),
                        "names no registered token kind",
                    )
                })?;
            checked[index] = true;
        }
        if self.rotation_grace > 300 {
            return Err(ConfigError::new(
                "paseto.revocation.rotation_grace",
                "must be at most 300 seconds",
            ));
        }
        if !(1..=1000).contains(&self.max_sessions) {
            return Err(ConfigError::new(
                "paseto.revocation.max_sessions",
                "must be between 1 and 1000",
            ));
        }
        if self.timeout_ms == 0 || self.timeout_ms > 60_000 {
            return Err(ConfigError::new(
                "paseto.revocation.timeout_ms",
                "must be between 1 and 60000 milliseconds",
            ));
        }
        let store = self.store_setup()?;
        Ok(RevocationSetup {
            store,
            kinds_set: self.kinds != defaults::revocation_kinds(),
            checked,
            on_error: self.on_error,
            grace: Duration::from_secs(self.rotation_grace),
            max_sessions: self.max_sessions,
        })
    }

    /// The store chosen in the configuration, if any.
    fn store_setup(&self) -> Result<Option<StoreSetup>, ConfigError> {
        Ok(match (self.store, &self.url) {
            (None, None) => None,
            (Some(StoreKind::Memory), None) => Some(StoreSetup::Memory),
            #[cfg(not(feature = "redis"))]
            (Some(StoreKind::Redis), Some(_)) => {
                return Err(ConfigError::new(
                    "paseto.revocation.store",
                    "\"redis\" needs the cargo feature `redis` of rocket_paseto",
                ));
            }
            #[cfg(feature = "redis")]
            (Some(StoreKind::Redis), Some(url)) => Some(StoreSetup::Redis {
                url: url.expose().to_owned(),
                prefix: self.prefix.clone(),
                timeout: Duration::from_millis(self.timeout_ms),
            }),
            (Some(StoreKind::Redis), None) => {
                return Err(ConfigError::new(
                    "paseto.revocation.url",
                    "is required with store = \"redis\"",
                ));
            }
            (_, Some(_)) => {
                return Err(ConfigError::new(
                    "paseto.revocation.url",
                    "is only used with store = \"redis\"",
                ));
            }
        })
    }
}
