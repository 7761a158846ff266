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
//! token itself, and every entry expires once no token it stands for can be accepted.
//!
//! # What is stored
//!
//! | key | written by | value | kept until |
//! |---|---|---|---|
//! | `jti:<jti>` | a logout | `1` | the token's `exp`, plus twice the leeway |
//! | `fam:<fam>` | a logout, a detected reuse | `1` | the family's end (`fam_exp`), plus twice the leeway |
//! | `rot:<fam>` | each rotation, replacing the last | the current and previous refresh `jti`, and when | the family's end, plus twice the leeway |
//!
//! A login writes nothing; each login that rotates holds one `rot:` entry, whatever the number
//! of rotations; a logout adds two entries. Twice the leeway: once because tokens are accepted
//! that long after `exp`, once because the instance writing the entry may have a clock that
//! runs ahead by as much.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::token::{Claims, Rejection};

mod memory;
pub use self::memory::MemoryStore;

#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
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
    /// Guards call this once per request, so it should be a single round trip.
    async fn get(&self, keys: &[&str]) -> Result<Vec<Option<String>>, StoreError>;

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
}

/// What guards do when the store cannot answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Fail closed: answer 503 (`AuthError::Unavailable`) until the store is back.
    #[default]
    Reject,
    /// Fail open: accept the token as if it were not revoked, and log a warning. Never applies
    /// to minting: a rotation, a refreshed access token or a renewed remember-me token needs a
    /// definite answer.
    Allow,
}

/// What a logout took back: returned by [`Issuer::revoke`](crate::Issuer::revoke) and
/// [`PasetoCookies::logout`](crate::PasetoCookies::logout).
///
/// Revoking always records the token and its whole family, but only the guards of the kinds
/// listed in `paseto.revocation.kinds` consult the store: tokens of other kinds keep working
/// until they expire. This says which.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Revoked {
    /// How many tokens were presented and revoked with their families.
    pub tokens: usize,
    /// The kinds whose tokens of those families are refused from now on (the checked kinds),
    /// e.g. `["access", "refresh"]`. Empty when nothing was revoked.
    pub refused: Vec<String>,
    /// The kinds of the presented tokens that still work until they expire, because their
    /// guards do not check the store.
    pub still_valid: Vec<String>,
}

impl Revoked {
    pub(crate) fn new(tokens: usize, refused: Vec<String>, still_valid: Vec<String>) -> Self {
        Revoked {
            tokens,
            refused,
            still_valid,
        }
    }

    /// Whether every presented token, and its family's checked kinds, is refused from now on.
    pub fn is_complete(&self) -> bool {
        self.tokens > 0 && self.still_valid.is_empty()
    }

    fn merge(&mut self, other: Revoked) {
        self.tokens += other.tokens;
        for kind in other.refused {
            if !self.refused.contains(&kind) {
                self.refused.push(kind);
            }
        }
        for kind in other.still_valid {
            if !self.still_valid.contains(&kind) {
                self.still_valid.push(kind);
            }
        }
    }
}

/// Why a revocation check did not pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The token is revoked (or cannot be checked: it has no `jti`).
    Revoked(Rejection),
    /// The store failed and the configuration says to fail closed.
    Unavailable,
}

/// A refresh token's place in its family's rotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Standing {
    /// The family's current refresh token; `record` is the family's rotation entry, if any.
    Current { record: Option<String> },
    /// Replaced within the grace window by the refresh token whose `jti` is `successor`.
    Superseded { successor: String },
    /// The store could not be asked, and the configuration says to go on.
    Unchecked,
}

/// The rotation entry of a family: its current refresh token, the one it replaced, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Generation<'a> {
    current: &'a str,
    previous: &'a str,
    at: i64,
}

impl<'a> Generation<'a> {
    fn parse(value: &'a str) -> Option<Self> {
        let mut parts = value.split(' ');
        let generation = Generation {
            current: parts.next()?,
            previous: parts.next()?,
            at: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(generation)
    }

    fn encode(&self) -> String {
        format!("{} {} {}", self.current, self.previous, self.at)
    }
}

/// The store together with the rules for using it, shared by the guards and the issuer.
#[derive(Clone)]
pub(crate) struct Revocation {
    store: Arc<dyn RevocationStore>,
    on_error: OnError,
    /// How long after a token expires it is still accepted.
    leeway: Duration,
    /// How long any token minted now can live: the end of a family that does not state one.
    longest_ttl: Duration,
    /// How long a replaced refresh token still obtains its successor's generation.
    grace: Duration,
}

/// The kind whose tokens rotate.
const ROTATING: &str = "refresh";

/// How often a rotation retries after losing a race before giving up with a 503.
const ROTATION_ATTEMPTS: usize = 4;

impl Revocation {
    pub(crate) fn new(
        store: Arc<dyn RevocationStore>,
        on_error: OnError,
        leeway: Duration,
        longest_ttl: Duration,
        grace: Duration,
    ) -> Self {
        Revocation {
            store,
            on_error,
            leeway,
            longest_ttl,
            grace,
        }
    }

    /// A guard's check: neither the token nor its family is revoked and, for a refresh token,
    /// it has not been replaced by a rotation (beyond the grace window). A replaced one counts
    /// as reuse and revokes its family. A store failure follows `on_error`.
    pub(crate) async fn check(&self, claims: &Claims) -> Result<Standing, Refusal> {
        match self.standing(claims).await {
            Err(Refusal::Unavailable) if self.on_error == OnError::Allow => {
                rocket::warn!(
                    "rocket_paseto: the revocation store failed; accepting a token unchecked \
                     (on_error = \"allow\")"
                );
                Ok(Standing::Unchecked)
            }
            other => other,
        }
    }

    /// [`check`](Self::check), failing closed whatever `on_error` says: for minting into the
    /// token's family, which needs a definite "not revoked".
    pub(crate) async fn check_strictly(&self, claims: &Claims) -> Result<Standing, Refusal> {
        self.standing(claims).await
    }

    async fn standing(&self, claims: &Claims) -> Result<Standing, Refusal> {
        let Some(jti) = claims.jti.as_deref() else {
            // A token without an id cannot be revoked, so it cannot be trusted here.
            return Err(Refusal::Revoked(Rejection::MissingClaim("jti")));
        };
        let family = claims.family().unwrap_or(jti);
        let token_key = key("jti:", jti);
        let family_key = key("fam:", family);
        let rotation_key = key("rot:", family);
        let rotates = claims.kind == ROTATING;
        let keys: &[&str] = if rotates {
            &[&token_key, &family_key, &rotation_key]
        } else {
            &[&token_key, &family_key]
        };
        let values = self.store.get(keys).await.map_err(|e| {
            rocket::error!("rocket_paseto: {e}");
            Refusal::Unavailable
        })?;
        if values.len() != keys.len() {
            // A store that answers for fewer keys than asked has not answered.
            rocket::error!(
                "rocket_paseto: the revocation store answered for the wrong number of keys"
            );
            return Err(Refusal::Unavailable);
        }
        if values.iter().take(2).any(Option::is_some) {
            return Err(Refusal::Revoked(Rejection::Revoked));
        }
        let record = values.into_iter().nth(2).flatten();
        let Some(value) = record.as_deref() else {
            return Ok(Standing::Current { record: None });
        };
        match Generation::parse(value) {
            Some(generation) if generation.current == jti => Ok(Standing::Current { record }),
            Some(generation) if generation.previous == jti && self.within_grace(generation.at) => {
                Ok(Standing::Superseded {
                    successor: generation.current.to_owned(),
                })
            }
            _ => Err(self.reuse(claims).await),
        }
    }

    fn within_grace(&self, at: i64) -> bool {
        let age = OffsetDateTime::now_utc()
            .unix_timestamp()
            .saturating_sub(at);
        // `at` comes from the clock of the instance that rotated, which may differ from ours by
        // up to the leeway either way.
        let skew = self.leeway.as_secs() as i64;
        let grace = self.grace.as_secs() as i64;
        grace > 0 && (-skew..=grace.saturating_add(skew)).contains(&age)
    }

    /// A replaced refresh token came back after the grace window: by its owner's mistake or in
    /// a thief's hands, so the whole family is revoked (RFC 9700, section 4.14). The token is
    /// refused even if that revocation cannot be written.
    async fn reuse(&self, claims: &Claims) -> Refusal {
        rocket::warn!("rocket_paseto: a replaced refresh token was presented; revoking its family");
        if let Err(e) = self.record(claims).await {
            // The token is refused all the same: the store said it was replaced, and failing to
            // record the consequence must not turn that answer into "unknown" (which
            // `on_error = "allow"` would accept).
            rocket::error!("rocket_paseto: {e}: the family could not be revoked");
        }
        Refusal::Revoked(Rejection::Revoked)
    }

    /// Revokes the token and its whole family.
    pub(crate) async fn revoke(&self, claims: &Claims) -> Result<(), StoreError> {
        self.record(claims).await
    }

    async fn record(&self, claims: &Claims) -> Result<(), StoreError> {
        if let Some(family) = claims.family() {
            self.store
                .insert(&key("fam:", family), self.outlive(self.family_end(claims)))
                .await?;
        }
        if let Some(jti) = claims.jti.as_deref() {
            self.store
                .insert(&key("jti:", jti), self.outlive(claims.exp))
                .await?;
        }
        Ok(())
    }

    /// Marks `claims`' refresh token as replaced by a new one and returns the new one's `jti`,
    /// or, within the grace window of an earlier rotation, that rotation's `jti` (so parallel
    /// refreshes and retries get the same generation). A refresh token replaced longer ago
    /// revokes its whole family. Always fails closed: an exchange that cannot be recorded could
    /// be repeated by a thief without being noticed.
    pub(crate) async fn rotate(&self, claims: &Claims) -> Result<String, Refusal> {
        let (Some(jti), Some(family)) = (claims.jti.as_deref(), claims.family()) else {
            return Err(Refusal::Revoked(Rejection::MissingClaim("jti")));
        };
        let rotation_key = key("rot:", family);
        let until = self.outlive(self.family_end(claims));
        for _ in 0..ROTATION_ATTEMPTS {
            let record = match self.check_strictly(claims).await? {
                Standing::Superseded { successor } => return Ok(successor),
                Standing::Current { record } => record,
                Standing::Unchecked => return Err(Refusal::Unavailable),
            };
            let successor = crate::token::random_id().map_err(|_| Refusal::Unavailable)?;
            let next = Generation {
                current: &successor,
                previous: jti,
                at: OffsetDateTime::now_utc().unix_timestamp(),
            }
            .encode();
            match self
                .store
                .swap(&rotation_key, record.as_deref(), &next, until)
                .await
            {
                Ok(true) => return Ok(successor),
                // Another request rotated this family meanwhile: look again.
                Ok(false) => continue,
                Err(e) => {
                    rocket::error!("rocket_paseto: {e}; refusing to rotate a refresh token");
                    return Err(Refusal::Unavailable);
                }
            }
        }
        Err(Refusal::Unavailable)
    }

    /// When the token's family ends: its `fam_exp`, or for a family member without one (minted
    /// elsewhere), as late as any token minted now could live.
    fn family_end(&self, claims: &Claims) -> OffsetDateTime {
        if claims.fam.is_some() && claims.fam_exp.is_none() {
            let newest_possible = add_saturating(OffsetDateTime::now_utc(), self.longest_ttl);
            return newest_possible.max(claims.exp);
        }
        claims.family_end()
    }

    /// `time` plus twice the leeway: see the module docs.
    fn outlive(&self, time: OffsetDateTime) -> OffsetDateTime {
        add_saturating(add_saturating(time, self.leeway), self.leeway)
    }
}

/// Merges the results of several revocations (a logout with several cookies).
pub(crate) fn merge_all(results: impl IntoIterator<Item = Revoked>) -> Revoked {
    let mut all = Revoked::default();
    for result in results {
        all.merge(result);
    }
    all
}

impl fmt::Debug for Revocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revocation")
            .field("on_error", &self.on_error)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

/// `time + by`, or `time` itself where that would pass the year 9999 (a token's `exp` may be
/// that late): an entry then lasts as long as it can.
pub(crate) fn add_saturating(time: OffsetDateTime, by: Duration) -> OffsetDateTime {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_round_trip_and_refuse_garbage() {
        let generation = Generation {
            current: "b",
            previous: "a",
            at: 1_700_000_000,
        };
        let encoded = generation.encode();
        assert_eq!(Generation::parse(&encoded), Some(generation));
        for bad in ["", "a", "a b", "a b c", "a b 1 d", "a b  1"] {
            assert_eq!(Generation::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn results_merge_without_repeating_kinds() {
        let one = Revoked {
            tokens: 1,
            refused: vec!["access".into(), "refresh".into()],
            still_valid: vec![],
        };
        let two = Revoked {
            tokens: 1,
            refused: vec!["access".into(), "refresh".into()],
            still_valid: vec!["remember_me".into()],
        };
        let all = merge_all([one, two]);
        assert_eq!(all.tokens, 2);
        assert_eq!(all.refused, ["access", "refresh"]);
        assert_eq!(all.still_valid, ["remember_me"]);
        assert!(!all.is_complete());
        assert!(!Revoked::default().is_complete());
    }
}
