//! Revocation: taking tokens back before they expire, on every instance at once.
//!
//! PASETO tokens are stateless: a server accepts any token that verifies until it expires. To
//! log a user out for real, or to detect a stolen refresh token, the server must remember which
//! tokens it took back. This module keeps that memory in a [`RevocationStore`]:
//!
//! - [`MemoryStore`] keeps it in this process: for one instance, tests and development.
//! - `RedisStore` (cargo feature `redis`) keeps it in Redis, so every instance behind a load
//!   balancer sees a logout, within 100 ms as each answers checks from a replica in memory.
//! - `RedisClusterStore` (cargo feature `redis`) keeps it in a Redis Cluster, each check a
//!   round trip.
//! - Any type implementing [`RevocationStore`] can be attached with
//!   [`PasetoFairing::revocation`](crate::PasetoFairing::revocation).
//!
//! Stores only ever see keys derived from a token's `jti` or `fam` (family) claim, never the
//! token itself, and every entry expires once no token it stands for can be accepted.
//!
//! # What is stored
//!
//! | key | written by | value | kept until |
//! |---|---|---|---|
//! | `jti:<jti>` | a logout | `1` | the token's `exp`, plus twice the leeway |
//! | `fam:<fam>` | a logout, a detected reuse, a session ended | `1` | the session's end (`fam_exp`), plus twice the leeway |
//! | `rot:<fam>` | each rotation, replacing the last | the current and previous refresh `jti`, and when | the session's end, plus twice the leeway |
//! | `ses:<hash>` | each login ([`Sessions::login`](crate::Sessions::login), [`PasetoCookies::login`](crate::PasetoCookies::login)), replacing the last | the subject's sessions, at most `max_sessions` | the last session's end, plus twice the leeway |
//! | `old:<hash>` | a login beyond `max_sessions`, raising it | when the newest session ended as the oldest started: the subject's sessions that started no later are refused | 366 days, plus twice the leeway |
//! | `cut:<hash>` | a logout everywhere, raising it | the time before which the subject's tokens are refused | 366 days, plus twice the leeway |
//!
//! `<hash>` is a keyed hash of the subject. A login rewrites its subject's list (nothing with
//! `max_sessions = 0`), and beyond `max_sessions` raises the subject's `old:` entry to end the
//! oldest (a listed session's id carries its start), so logging in alone leaves at most two
//! entries per subject, however often. Each session that rotates holds one `rot:` entry, whatever the
//! number of rotations; a logout adds two entries. Twice the leeway: once because tokens are
//! accepted that long after `exp`, once because the instance writing the entry may have a
//! clock that runs ahead by as much.
//!
//! The login throttle ([`LoginThrottle`](crate::LoginThrottle)) keeps its failure counts in the
//! same store, as counters ([`RevocationStore::count`]) under `thr:a:<hash>` (an account) and
//! `thr:i:<hash>` (a client address), each kept until its window ends. The hashes are keyed, so
//! the store sees neither account names nor addresses.
//!
//! The `jti:`, `fam:`, `cut:` and `old:` entries are all a guard reads for a token that does
//! not rotate, in one call, and they are only ever added or raised, so a copy of them can
//! be kept in memory and followed ([`RevocationStore::get_replicated`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::token::Rejection;

mod check;
mod counter;
pub(crate) mod listing;
mod memory;
#[cfg(feature = "redis")]
mod replica;
pub(crate) mod report;
mod rotation;
mod sessions;

pub(crate) use self::check::Revocation;
pub use self::memory::MemoryStore;
pub(crate) use self::report::{LoggedOut, merge_all};
pub(crate) use self::sessions::{Device, LoginRecord, Subjects, login_family};

#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::{RedisClusterStore, RedisStore};

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

/// An expiring map of short string values, shared by every instance that verifies tokens.
///
/// The crate chooses the keys and values (see the [module docs](self)); ids come from token
/// claims, and neither a key nor a value is ever a token. Each entry is kept at least until
/// `until`, after which it may be dropped; values are never empty.
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
///     async fn get(&self, keys: &[&str]) -> Result<Vec<Option<String>>, StoreError> {
///         Ok(vec![None; keys.len()])
///     }
///     async fn swap(
///         &self,
///         _: &str,
///         _: Option<&str>,
///         _: &str,
///         _: OffsetDateTime,
///     ) -> Result<bool, StoreError> {
///         Ok(true)
///     }
/// }
/// ```
#[rocket::async_trait]
pub trait RevocationStore: Send + Sync + 'static {
    /// Sets `key` (to the value `1`) until `until`, or keeps it longer if it already lives
    /// longer: an entry is never shortened.
    async fn insert(&self, key: &str, until: OffsetDateTime) -> Result<(), StoreError>;

    /// The values of `keys`, in the same order: `None` for a key that is absent or expired.
    /// Guards call this once per request for refresh tokens, and the rules call it wherever
    /// they need the store's present value, so it should be a single round trip.
    async fn get(&self, keys: &[&str]) -> Result<Vec<Option<String>>, StoreError>;

    /// The values of `keys`, every one a `jti:`, `fam:`, `cut:` or `old:` key, for a guard's check of a
    /// token that does not rotate: called once per request.
    ///
    /// Unlike [`get`](Self::get), the answer may come from a copy in memory that follows the
    /// store's writes, provided it can show that it misses none written longer than a bounded
    /// time ago (`RedisStore`'s replica does). Those entries are only ever added or extended, so
    /// such a copy is never wrong for long. By default, [`get`](Self::get).
    async fn get_replicated(&self, keys: &[&str]) -> Result<Vec<Option<String>>, StoreError> {
        self.get(keys).await
    }

    /// Sets `key` to `value` until `until` if its value is `expected` (`None`: absent or
    /// expired); `true` when this call set it.
    ///
    /// Must be atomic across every instance sharing the store: of two concurrent calls with
    /// the same key and `expected`, exactly one returns `true`. Refresh-token rotation relies
    /// on it.
    async fn swap(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Adds `by` to the counter `key` (`0`: only reads it), and returns its count and when it
    /// ends. An absent or ended counter counts 0; the addition that starts it sets its end,
    /// `window` later, and later ones leave that end alone. Must be atomic across every
    /// instance sharing the store: of `n` concurrent additions of 1, each sees another count.
    ///
    /// The login throttle's failure counts. By default, built on [`get`](Self::get) and
    /// [`swap`](Self::swap) (values `<count>:<end in unix milliseconds>`); this crate's stores
    /// count natively.
    async fn count(
        &self,
        key: &str,
        by: u64,
        window: Duration,
    ) -> Result<(u64, OffsetDateTime), StoreError> {
        counter::count_by_swap(self, key, by, window).await
    }

    /// Ends the counter `key` now; nothing when it is absent. By default, with
    /// [`swap`](Self::swap).
    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        counter::reset_by_swap(self, key).await
    }
}

/// What guards do when the store cannot answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum OnError {
    /// Fail closed: answer 503 (`AuthError::Unavailable`) until the store is back.
    #[default]
    Reject,
    /// Fail open: accept the token as if it were not revoked, and log a warning. Never applies
    /// to minting: a rotation, a refreshed access token or a renewed remember-me token needs a
    /// definite answer.
    Allow,
}

/// Why a revocation check did not pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The token is revoked (or cannot be checked: it has no `jti`).
    Revoked(Rejection),
    /// A refresh token replaced by a rotation came back after the grace window: its family
    /// is now revoked, and the token refused as revoked.
    Reused,
    /// The store failed and the configuration says to fail closed.
    Unavailable,
}

/// A refresh token's place in its family's rotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Standing {
    /// The family's current refresh token; `record` is the family's rotation entry, if any,
    /// and `list` its subject's `ses:` entry as read with it (read only for a refresh token
    /// whose sessions are listed), which the rotation's update of the list starts from.
    Current {
        record: Option<String>,
        list: Option<String>,
    },
    /// Replaced within the grace window by the refresh token whose `jti` is `successor`.
    Superseded { successor: String },
    /// The store could not be asked, and the configuration says to go on.
    Unchecked,
}

/// `time + by`, or `time` itself where that would pass the year 9999 (a token's `exp` may be
/// that late): an entry then lasts as long as it can.
pub(crate) fn add_saturating(time: OffsetDateTime, by: Duration) -> OffsetDateTime {
    time::Duration::try_from(by)
        .ok()
        .and_then(|by| time.checked_add(by))
        .unwrap_or(time)
}

/// The namespaces of the entries a guard reads for a token that does not rotate: those a
/// replica copies.
#[cfg(feature = "redis")]
const REPLICATED: [&str; 4] = ["jti:", "fam:", "cut:", "old:"];

/// Whether `key` is one of the entries a replica copies.
#[cfg(feature = "redis")]
fn is_replicated(key: &str) -> bool {
    REPLICATED
        .iter()
        .any(|namespace| key.starts_with(namespace))
}

fn key(namespace: &str, id: &str) -> String {
    let mut key = String::with_capacity(namespace.len() + id.len());
    key.push_str(namespace);
    key.push_str(id);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_merge_without_repeating_kinds() {
        let one = LoggedOut {
            tokens: 1,
            refused: vec!["access".into(), "refresh".into()],
            still_valid: vec![],
        };
        let two = LoggedOut {
            tokens: 1,
            refused: vec!["access".into(), "refresh".into()],
            still_valid: vec!["remember_me".into()],
        };
        let all = merge_all([one, two]);
        assert_eq!(all.tokens, 2);
        assert_eq!(all.refused, ["access", "refresh"]);
        assert_eq!(all.still_valid, ["remember_me"]);
        assert!(!all.is_complete());
        assert!(!LoggedOut::default().is_complete());
    }
}
