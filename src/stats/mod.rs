//! [`PasetoStats`]: what the guards, the caches and the revocation store have done since launch,
//! for operators: to size `cache_size`, and to notice a wave of forged or replayed tokens.

use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};
use serde::Serialize;

use crate::counters::Verdict;
use crate::error::AuthError;
use crate::state::AuthState;
use crate::token::{IssueError, Rejection};

#[cfg(feature = "metrics")]
mod export;

#[cfg(feature = "metrics")]
pub(crate) use self::export::spawn_publisher;

/// A snapshot of the crate's counters, all counted since launch (the `*_entries` fields are
/// sizes now, and `key_fetch_last_success` a time).
///
/// The token counters count the checks made by the [`Paseto`](crate::Paseto) guards (once per
/// kind per request, however many guards ask), the [`RememberMe`](crate::RememberMe) guard and
/// [`Issuer::authenticate`](crate::Issuer::authenticate), by how they ended. Counting costs the
/// guards one relaxed atomic addition; the caches count under the locks they take anyway.
///
/// Take it as a request guard, or from managed state with
/// [`Issuer::stats`](crate::Issuer::stats). It serialises as a flat JSON object with these
/// field names. With the cargo feature `metrics`, the same figures are published through the
/// [`metrics`](https://docs.rs/metrics) facade (see `docs/performance.md`, "Counters").
///
/// ```
/// use rocket::serde::json::Json;
/// use rocket_paseto::PasetoStats;
///
/// #[rocket::get("/internal/auth-stats")]
/// fn stats(stats: PasetoStats) -> Json<PasetoStats> {
///     Json(stats)
/// }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct PasetoStats {
    /// Tokens that passed every check.
    pub tokens_accepted: u64,
    /// Requests that carried no token for a guard that looked for one (anonymous visitors
    /// included).
    pub tokens_missing: u64,
    /// Tokens refused as malformed, forged or tampered, too long, for another purpose, under an
    /// unknown key, or with the wrong issuer or audience. A sudden rise means someone is trying
    /// tokens.
    pub tokens_invalid: u64,
    /// Genuine tokens refused because they expired (or their login ended).
    pub tokens_expired: u64,
    /// Genuine tokens refused by the revocation store (revoked, or a replaced refresh token
    /// presented again) or by the user check.
    pub tokens_revoked: u64,
    /// Genuine tokens of another kind, e.g. a refresh token sent as an access token.
    pub tokens_wrong_kind: u64,
    /// Cookie-borne tokens refused for a missing or wrong CSRF value.
    pub tokens_csrf_failed: u64,
    /// Tokens refused (503) because the revocation store could not answer.
    pub tokens_store_unavailable: u64,
    /// Checks the server could not finish: its own failures, which it logs.
    pub tokens_server_error: u64,
    /// Verified-token cache (`cache_size`): tokens found, which skipped the cryptography.
    pub cache_hits: u64,
    /// Verified-token cache: lookups that found nothing, so the token was verified in full.
    pub cache_misses: u64,
    /// Verified-token cache: entries dropped to make room (expired ones first).
    pub cache_evictions: u64,
    /// Verified-token cache: entries held now.
    pub cache_entries: u64,
    /// [`PasetoCookies`](crate::PasetoCookies) cache (`cookies.cache_size`): values found,
    /// which skipped the decryption.
    pub jar_hits: u64,
    /// Jar cache: reads that found nothing, so the value was decrypted.
    pub jar_misses: u64,
    /// Jar cache: entries dropped to make room (expired ones first).
    pub jar_evictions: u64,
    /// Jar cache: entries held now.
    pub jar_entries: u64,
    /// Calls to the revocation store: lookups by the guards (those a Redis store's replica
    /// answers from memory included), and the writes of logouts and rotations.
    pub store_calls: u64,
    /// Store calls that failed (unreachable, timed out, refused).
    pub store_errors: u64,
    /// Time spent in store calls, in microseconds: divided by `store_calls`, the mean latency.
    pub store_micros: u64,
    /// Login attempts the [`LoginThrottle`](crate::LoginThrottle) refused (429): a sudden rise
    /// means someone is guessing passwords.
    pub logins_throttled: u64,
    /// Key discovery (`[paseto.discovery]`): fetches of the issuer's key document, at launch,
    /// in the background and for unknown key ids, successful or not.
    pub key_fetches: u64,
    /// Key discovery: fetches that brought no keys (unreachable, timed out, refused, or a
    /// document that failed its checks); the keys fetched before stayed in use.
    pub key_fetch_errors: u64,
    /// Key discovery: when the last fetch that brought keys ended, in Unix seconds (0: never,
    /// or no discovery). Alert when it falls far behind `refresh_secs`: until a fetch succeeds,
    /// keys the issuer has withdrawn are still trusted.
    pub key_fetch_last_success: u64,
    /// Events that never reached the hook set with
    /// [`PasetoFairing::events`](crate::PasetoFairing::events): dropped because its queue was
    /// full (1,024 events wait at most), or lost to a hook that panicked. Always 0 without a
    /// hook. A rise means the hook is slower than the events come, or failing.
    pub events_dropped: u64,
}

impl PasetoStats {
    /// The figures of `state` now.
    pub(crate) fn of(state: &AuthState) -> Self {
        let [
            tokens_accepted,
            tokens_missing,
            tokens_invalid,
            tokens_expired,
            tokens_revoked,
            tokens_wrong_kind,
            tokens_csrf_failed,
            tokens_store_unavailable,
            tokens_server_error,
        ] = state.counters.verdicts();
        let cache = state.authority.cache_stats();
        let jar = state.authority.sealed_cache_stats();
        let store = state.counters.store();
        #[cfg(feature = "discovery")]
        let (key_fetches, key_fetch_errors, key_fetch_last_success) = state
            .discovery
            .as_ref()
            .map_or((0, 0, 0), |discovery| discovery.figures());
        #[cfg(not(feature = "discovery"))]
        let (key_fetches, key_fetch_errors, key_fetch_last_success) = (0, 0, 0);
        PasetoStats {
            tokens_accepted,
            tokens_missing,
            tokens_invalid,
            tokens_expired,
            tokens_revoked,
            tokens_wrong_kind,
            tokens_csrf_failed,
            tokens_store_unavailable,
            tokens_server_error,
            cache_hits: cache.hits,
            cache_misses: cache.misses,
            cache_evictions: cache.evictions,
            cache_entries: cache.entries,
            jar_hits: jar.hits,
            jar_misses: jar.misses,
            jar_evictions: jar.evictions,
            jar_entries: jar.entries,
            store_calls: store.calls,
            store_errors: store.errors,
            store_micros: u64::try_from(store.time.as_micros()).unwrap_or(u64::MAX),
            logins_throttled: state.counters.throttled(),
            key_fetches,
            key_fetch_errors,
            key_fetch_last_success,
            events_dropped: state.events.dropped(),
        }
    }
}

/// Counts how a guard's check ended.
pub(crate) fn record<T>(state: &AuthState, result: &Result<T, AuthError>) {
    state.counters.record(verdict(result));
}

/// The name of what a failed check or refresh ended with, for spans: `expired`, `revoked`,
/// `csrf_failed`, …, as [`PasetoStats`] counts them.
pub(crate) fn cause(error: &AuthError) -> &'static str {
    refused(error).name()
}

/// The counter a check's outcome goes to, following the causes the guards report.
fn verdict<T>(result: &Result<T, AuthError>) -> Verdict {
    match result {
        Ok(_) => Verdict::Accepted,
        Err(error) => refused(error),
    }
}

fn refused(error: &AuthError) -> Verdict {
    match error {
        AuthError::Missing => Verdict::Missing,
        AuthError::Invalid(Rejection::Expired) | AuthError::Issue(IssueError::SessionEnded) => {
            Verdict::Expired
        }
        AuthError::Invalid(Rejection::Revoked | Rejection::SubjectRefused) => Verdict::Revoked,
        AuthError::Invalid(Rejection::WrongKind) => Verdict::WrongKind,
        AuthError::Invalid(_) | AuthError::ClaimsMismatch => Verdict::Invalid,
        AuthError::Csrf => Verdict::CsrfFailed,
        AuthError::Unavailable => Verdict::StoreUnavailable,
        _ => Verdict::ServerError,
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for PasetoStats {
    type Error = AuthError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, AuthError> {
        match AuthState::of(request) {
            Some(state) => Outcome::Success(PasetoStats::of(state)),
            None => AuthError::NotConfigured.fail(request),
        }
    }
}

impl Sentinel for PasetoStats {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        AuthState::missing(rocket, "PasetoStats", false)
    }
}
