//! [`Revocation`]: the store together with the rules for using it: the guards' check, reuse
//! detection and logout.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::rotation::Generation;
use super::sessions::{Subjects, cut_off, ended_as_oldest};
use super::{OnError, Refusal, RevocationStore, Standing, StoreError, add_saturating, key};
use crate::token::{Claims, Rejection};

/// The store together with the rules for using it, shared by the guards and the issuer.
#[derive(Clone)]
pub(crate) struct Revocation {
    pub(super) store: Arc<dyn RevocationStore>,
    on_error: OnError,
    /// How long after a token expires it is still accepted.
    pub(super) leeway: Duration,
    /// How long any token minted now can live: the end of a family that does not state one.
    longest_ttl: Duration,
    /// How long a replaced refresh token still obtains its successor's generation.
    grace: Duration,
    /// Keys the subject hashes the store sees, and bounds each subject's list of logins.
    pub(super) subjects: Subjects,
}

/// The kind whose tokens rotate.
pub(super) const ROTATING: &str = "refresh";

/// How a check reads the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lookup {
    /// Its present values ([`RevocationStore::get`]): for minting and rotation.
    Store,
    /// Possibly from a replica a bounded time behind ([`RevocationStore::get_replicated`]).
    Replicated,
}

impl Revocation {
    pub(crate) fn new(
        store: Arc<dyn RevocationStore>,
        on_error: OnError,
        leeway: Duration,
        longest_ttl: Duration,
        grace: Duration,
        subjects: Subjects,
    ) -> Self {
        Revocation {
            store,
            on_error,
            leeway,
            longest_ttl,
            grace,
            subjects,
        }
    }

    /// The (counted) store and what to do when it fails, for the login throttle's counters.
    pub(crate) fn store_and_policy(&self) -> (Arc<dyn RevocationStore>, OnError) {
        (self.store.clone(), self.on_error)
    }

    /// Whether guards accept tokens unchecked while the store cannot answer.
    pub(crate) fn fails_open(&self) -> bool {
        self.on_error == OnError::Allow
    }

    /// The opaque id users see for the login (family) `family`.
    pub(crate) fn login_id(&self, family: &str) -> String {
        self.subjects.login_id(family)
    }

    /// A guard's check: neither the token nor its family is revoked and, for a refresh token,
    /// it has not been replaced by a rotation (beyond the grace window). A replaced one counts
    /// as reuse and revokes its family. A store failure follows `on_error`.
    ///
    /// Tokens that do not rotate are looked up with
    /// [`get_replicated`](RevocationStore::get_replicated), which a store may answer from
    /// memory; a refresh token's rotation entry always comes from the store itself.
    pub(crate) async fn check(&self, claims: &Claims) -> Result<Standing, Refusal> {
        match self.standing(claims, Lookup::Replicated).await {
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
        self.standing(claims, Lookup::Store).await
    }

    async fn standing(&self, claims: &Claims, lookup: Lookup) -> Result<Standing, Refusal> {
        let Some(jti) = claims.jti.as_deref() else {
            // A token without an id cannot be revoked, so it cannot be trusted here.
            return Err(Refusal::Revoked(Rejection::MissingClaim("jti")));
        };
        let family = claims.family().unwrap_or(jti);
        let token_key = key("jti:", jti);
        let family_key = key("fam:", family);
        let rotation_key = key("rot:", family);
        let rotates = claims.kind == ROTATING;
        // A rotation also updates the subject's list of logins: read it now, in the same call,
        // so that the rotation's two writes can go out together.
        let list_key =
            (rotates && self.subjects.lists()).then(|| self.subjects.list_key(&claims.sub));
        let (cutoff_keys, oldest_keys) = self.subjects.standing_keys(&claims.sub);
        let mut keys: Vec<&str> = vec![&token_key, &family_key];
        if rotates {
            keys.push(&rotation_key);
        }
        keys.extend(list_key.as_deref());
        let fixed = keys.len();
        keys.extend(cutoff_keys.iter().map(String::as_str));
        keys.extend(oldest_keys.iter().map(String::as_str));
        let lookup = if rotates { Lookup::Store } else { lookup };
        let mut values = self.lookup(&keys, lookup).await.map_err(|e| {
            rocket::error!("rocket_paseto: {e}");
            Refusal::Unavailable
        })?;
        let (cutoffs, oldest) = values[fixed..].split_at(cutoff_keys.len());
        if values[..2].iter().any(Option::is_some)
            || cut_off(claims, cutoffs)
            || ended_as_oldest(claims, oldest)
        {
            return Err(Refusal::Revoked(Rejection::Revoked));
        }
        let list = if list_key.is_some() {
            values[3].take()
        } else {
            None
        };
        let record = if rotates { values[2].take() } else { None };
        let Some(value) = record.as_deref() else {
            return Ok(Standing::Current { record: None, list });
        };
        match Generation::parse(value) {
            Some(generation) if generation.current == jti => Ok(Standing::Current { record, list }),
            Some(generation) if generation.previous == jti && self.within_grace(generation.at) => {
                Ok(Standing::Superseded {
                    successor: generation.current.to_owned(),
                })
            }
            // Boxed: only a replayed token gets here, and its state would widen every check.
            _ => Err(Box::pin(self.reuse(claims)).await),
        }
    }

    /// The store's values for `keys`, checking that it answered for each of them.
    pub(super) async fn get(&self, keys: &[&str]) -> Result<Vec<Option<String>>, StoreError> {
        self.lookup(keys, Lookup::Store).await
    }

    async fn lookup(
        &self,
        keys: &[&str],
        lookup: Lookup,
    ) -> Result<Vec<Option<String>>, StoreError> {
        let values = match lookup {
            Lookup::Store => self.store.get(keys).await?,
            Lookup::Replicated => self.store.get_replicated(keys).await?,
        };
        if values.len() != keys.len() {
            // A store that answers for fewer keys than asked has not answered.
            return Err(StoreError::new(
                "the store answered for the wrong number of keys",
            ));
        }
        Ok(values)
    }

    pub(super) fn within_grace(&self, at: i64) -> bool {
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
        Refusal::Reused
    }

    /// Revokes the token and its whole family.
    pub(crate) async fn revoke(&self, claims: &Claims) -> Result<(), StoreError> {
        self.record(claims).await
    }

    async fn record(&self, claims: &Claims) -> Result<(), StoreError> {
        let family = async {
            match claims.family() {
                Some(family) => {
                    let until = self.outlive(self.family_end(claims));
                    self.store.insert(&key("fam:", family), until).await
                }
                None => Ok(()),
            }
        };
        let token = async {
            match claims.jti.as_deref() {
                Some(jti) => {
                    let until = self.outlive(claims.exp);
                    self.store.insert(&key("jti:", jti), until).await
                }
                None => Ok(()),
            }
        };
        // Both at once, so a logout waits for one round trip rather than two; it succeeds only
        // once both are recorded.
        let (family, token) = rocket::futures::future::join(family, token).await;
        family.and(token)
    }

    /// Spends the single-use token with `claims`, checked beforehand with
    /// [`check_strictly`](Self::check_strictly): of any number of calls for one token, on
    /// every instance sharing the store, exactly one succeeds (the store's compare-and-set on
    /// the token's `jti:` entry, which then also refuses it). Fails closed whatever `on_error`
    /// says.
    pub(crate) async fn spend(&self, claims: &Claims) -> Result<(), Refusal> {
        let Some(jti) = claims.jti.as_deref() else {
            return Err(Refusal::Revoked(Rejection::MissingClaim("jti")));
        };
        let until = self.outlive(claims.exp);
        match self.store.swap(&key("jti:", jti), None, "1", until).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Refusal::Revoked(Rejection::Revoked)),
            Err(e) => {
                rocket::error!("rocket_paseto: {e}; a single-use token was not accepted");
                Err(Refusal::Unavailable)
            }
        }
    }

    /// When the token's family ends: its `fam_exp`, or for a family member without one (minted
    /// elsewhere), as late as any token minted now could live.
    pub(super) fn family_end(&self, claims: &Claims) -> OffsetDateTime {
        if claims.fam.is_some() && claims.fam_exp.is_none() {
            let newest_possible = add_saturating(OffsetDateTime::now_utc(), self.longest_ttl);
            return newest_possible.max(claims.exp);
        }
        claims.family_end()
    }

    /// `time` plus twice the leeway: see the module docs.
    pub(super) fn outlive(&self, time: OffsetDateTime) -> OffsetDateTime {
        add_saturating(add_saturating(time, self.leeway), self.leeway)
    }
}

impl fmt::Debug for Revocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revocation")
            .field("on_error", &self.on_error)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}
