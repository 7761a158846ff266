//! Revocation: taking tokens back before they expire, on every instance at once.
//!
//! PASETO tokens are stateless: a server accepts any token that verifies until it expires. To
//! log a user out for real, or to detect a stolen refresh token, the server must remember which
//! tokens it took back. This module keeps that memory in a [`RevocationStore`]:
//!
//! - [`MemoryStore`] keeps it in this process: for one instance, tests and development.
//! - `RedisStore` (cargo feature `redis`) keeps it in Redis, so every instance behind a load
//!   balancer sees a logout at once.
//! - Any type implementing [`RevocationStore`] can be attached with
//!   [`PasetoFairing::revocation`](crate::PasetoFairing::revocation).
//!
//! Stores only ever see keys derived from a token's `jti` or `fam` (family) claim, never the
//! token itself, and every entry expires when the token it stands for would have.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::token::{Claims, Rejection};

mod memory;
#[cfg(feature = "redis")]
mod redis;
pub use self::memory::MemoryStore;
#[cfg(feature = "redis")]
pub use self::redis::RedisStore;

/// A store could not answer: unreachable, timed out, or refused the command.
///
/// Its message describes the failure in general terms only (no URLs, keys or ids).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("revocation store failed: {0}")]
pub struct StoreError(String);

impl StoreError {
    /// A failure described by `message`, which must not contain secrets, URLs or token ids.
    pub fn new(message: impl Into<String>) -> Self {
        StoreError(message.into())
    }
}

/// An expiring set of revocation keys, shared by every instance that verifies tokens.
///
/// The crate chooses the keys: `jti:<id>` for a revoked token, `fam:<id>` for a revoked family
/// (the tokens of one login), and `used:<id>` for a refresh token that has been exchanged. Ids
/// come from token claims; a key is never a token. Each entry is kept at least until `until`,
/// after which the token it stands for has expired anyway and the entry may be dropped.
///
/// ```
/// use rocket_paseto::revocation::{RevocationStore, StoreError};
/// use time::OffsetDateTime;
///
/// /// A store that revokes nothing and never fails.
/// struct Nothing;
///
/// #[rocket::async_trait]
/// impl RevocationStore for Nothing {
///     async fn insert(&self, _: &str, _: OffsetDateTime) -> Result<(), StoreError> {
///         Ok(())
///     }
///     async fn contains_any(&self, _: &[&str]) -> Result<bool, StoreError> {
///         Ok(false)
///     }
///     async fn insert_new(&self, _: &str, _: OffsetDateTime) -> Result<bool, StoreError> {
///         Ok(true)
///     }
/// }
/// ```
#[rocket::async_trait]
pub trait RevocationStore: Send + Sync + 'static {
    /// Adds `key` until `until`.
    async fn insert(&self, key: &str, until: OffsetDateTime) -> Result<(), StoreError>;

    /// Whether any of `keys` is present (and not expired).
    async fn contains_any(&self, keys: &[&str]) -> Result<bool, StoreError>;

    /// Adds `key` until `until` unless it is present; `true` when this call added it.
    ///
    /// Must be atomic across every instance sharing the store: of two concurrent calls with
    /// the same key, exactly one returns `true`. Refresh-token reuse detection relies on it.
    async fn insert_new(&self, key: &str, until: OffsetDateTime) -> Result<bool, StoreError>;
}

/// What guards do when the store cannot answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Fail closed: answer 503 (`AuthError::Unavailable`) until the store is back.
    #[default]
    Reject,
    /// Fail open: accept the token as if it were not revoked, and log a warning.
    Allow,
}

/// Why a revocation check did not pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The token is revoked (or cannot be checked: it has no `jti`).
    Revoked(Rejection),
    /// The store failed and the configuration says to fail closed.
    Unavailable,
}

/// The store together with the rules for using it, shared by the guards and the issuer.
#[derive(Clone)]
pub(crate) struct Revocation {
    store: Arc<dyn RevocationStore>,
    /// Whether each kind (by its index in the rules) is checked.
    checked: Vec<bool>,
    on_error: OnError,
    /// How long after a token expires it is still accepted.
    leeway: Duration,
    /// How long any token minted now can live: a family revoked now is remembered this long.
    longest_ttl: Duration,
}

impl Revocation {
    pub(crate) fn new(
        store: Arc<dyn RevocationStore>,
        checked: Vec<bool>,
        on_error: OnError,
        leeway: Duration,
        longest_ttl: Duration,
    ) -> Self {
        Revocation {
            store,
            checked,
            on_error,
            leeway,
            longest_ttl,
        }
    }

    /// Whether tokens of the kind with this index are checked.
    pub(crate) fn checks(&self, index: usize) -> bool {
        self.checked.get(index).copied().unwrap_or(false)
    }

    /// Checks that neither the token nor its family is revoked.
    pub(crate) async fn check(&self, claims: &Claims) -> Result<(), Refusal> {
        let Some(jti) = claims.jti.as_deref() else {
            // A token without an id cannot be revoked, so it cannot be trusted here.
            return Err(Refusal::Revoked(Rejection::MissingClaim("jti")));
        };
        let token = key("jti:", jti);
        let family = key("fam:", family_id(claims).unwrap_or(jti));
        match self.store.contains_any(&[&token, &family]).await {
            Ok(false) => Ok(()),
            Ok(true) => Err(Refusal::Revoked(Rejection::Revoked)),
            Err(e) => self.on_store_error(&e),
        }
    }

    /// Revokes the token and its whole family.
    pub(crate) async fn revoke(&self, claims: &Claims) -> Result<(), StoreError> {
        if let Some(family) = family_id(claims) {
            self.store
                .insert(&key("fam:", family), self.family_until(claims))
                .await?;
        }
        if let Some(jti) = claims.jti.as_deref() {
            self.store
                .insert(&key("jti:", jti), later(claims.exp, self.leeway))
                .await?;
        }
        Ok(())
    }

    /// Marks a refresh token as exchanged: `Ok` the first time. A second use revokes its whole
    /// family (RFC 9700, section 4.14) and is refused.
    ///
    /// Always fails closed, whatever `on_error` says: an exchange that cannot be recorded could
    /// be repeated by a thief without being noticed.
    pub(crate) async fn exchange(&self, claims: &Claims) -> Result<(), Refusal> {
        // Whether or not the guard checks refresh tokens: a revoked family must not grow.
        self.check(claims).await?;
        let Some(jti) = claims.jti.as_deref() else {
            return Err(Refusal::Revoked(Rejection::MissingClaim("jti")));
        };
        match self
            .store
            .insert_new(&key("used:", jti), later(claims.exp, self.leeway))
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => {
                rocket::warn!(
                    "rocket_paseto: a refresh token was used twice; revoking its whole family"
                );
                match self.revoke(claims).await {
                    Ok(()) => Err(Refusal::Revoked(Rejection::Revoked)),
                    Err(e) => {
                        rocket::error!("rocket_paseto: {e}: the family could not be revoked");
                        Err(Refusal::Unavailable)
                    }
                }
            }
            Err(e) => {
                rocket::error!("rocket_paseto: {e}; refusing to rotate a refresh token");
                Err(Refusal::Unavailable)
            }
        }
    }

    fn family_until(&self, claims: &Claims) -> OffsetDateTime {
        let newest_possible = later(OffsetDateTime::now_utc(), self.longest_ttl);
        later(newest_possible.max(claims.exp), self.leeway)
    }

    fn on_store_error(&self, error: &StoreError) -> Result<(), Refusal> {
        match self.on_error {
            OnError::Reject => {
                rocket::error!("rocket_paseto: {error}; refusing tokens (on_error = \"reject\")");
                Err(Refusal::Unavailable)
            }
            OnError::Allow => {
                rocket::warn!(
                    "rocket_paseto: {error}; accepting the token unchecked (on_error = \"allow\")"
                );
                Ok(())
            }
        }
    }
}

impl fmt::Debug for Revocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revocation")
            .field("on_error", &self.on_error)
            .finish_non_exhaustive()
    }
}

/// The token's family: its `fam`, or for a token minted outside a family, its own `jti` (which
/// the tokens minted from it with [`family_of`](crate::TokenBuilder::family_of) or
/// [`rotate`](crate::Issuer::rotate) take as their `fam`).
pub(crate) fn family_id(claims: &Claims) -> Option<&str> {
    claims.fam.as_deref().or(claims.jti.as_deref())
}

/// `time + by`, or `time` itself where that would pass the year 9999 (a token's `exp` may be
/// that late): an entry then lasts as long as it can.
fn later(time: OffsetDateTime, by: Duration) -> OffsetDateTime {
    time::Duration::try_from(by)
        .ok()
        .and_then(|by| time.checked_add(by))
        .unwrap_or(time)
}

fn key(namespace: &str, id: &str) -> String {
    let mut key = String::with_capacity(namespace.len() + id.len());
    key.push_str(namespace);
    key.push_str(id);
    key
}
