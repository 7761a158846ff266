//! The runtime state: what the fairing resolved at ignite, reached the same way by every guard,
//! the issuer, the cookie jar and the responders.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rocket::request::Request;
use rocket::{Ignite, Phase, Rocket};

use crate::config::{HttpSettings, KindSettings};
use crate::counters::Counters;
use crate::events::{EventKind, Events};
use crate::hooks::Hooks;
use crate::kind::{Refresh, TokenKind};
use crate::revocation::{LoggedOut, Refusal, Revocation, Standing};
use crate::throttle::Throttle;
use time::OffsetDateTime;

use crate::token::{Authority, Claims, Rejection, Verified, VerifyOptions};

/// Everything the fairing resolved: keys and rules, each kind's settings, the HTTP settings and
/// the revocation store. Managed by the fairing as `Arc<AuthState>`.
pub(crate) struct AuthState {
    pub authority: Authority,
    /// Each kind at run time, as the configuration resolved it.
    pub kinds: Vec<KindSettings>,
    pub http: HttpSettings,
    pub revocation: Option<Revocation>,
    /// The login throttle: its limits and where it counts.
    pub throttle: Throttle,
    /// How long a session (a token family) lasts: `paseto.session_ttl`.
    pub session_ttl: Duration,
    /// Whether sessions are listed (`paseto.revocation.max_sessions` above 0, with a store).
    pub list_sessions: bool,
    /// Whether a listed session keeps the client's address: `paseto.revocation.keep_ip`.
    pub keep_ip: bool,
    /// Whether a session's refresh rotates its refresh token (with a store):
    /// `paseto.revocation.rotate`.
    pub rotate: bool,
    /// The application's hooks and implicit refresh, plugged in by the fairing.
    pub hooks: Hooks,
    /// What the guards and the store have done, for [`PasetoStats`](crate::PasetoStats); shared
    /// with the store, which counts its own calls.
    pub counters: Arc<Counters>,
    /// The events hook and its queue: [`PasetoFairing::events`](crate::PasetoFairing::events).
    pub events: Arc<Events>,
    /// Where public keys are fetched from, with `[paseto.discovery]`.
    #[cfg(feature = "discovery")]
    pub discovery: Option<Arc<crate::discovery::Discovery>>,
}

impl AuthState {
    /// The state of `rocket`, once the fairing has run.
    pub(crate) fn fetch<P: Phase>(rocket: &Rocket<P>) -> Option<&AuthState> {
        rocket.state::<Arc<AuthState>>().map(|state| &**state)
    }

    /// The state of the request's Rocket instance.
    pub(crate) fn of<'r>(request: &'r Request<'_>) -> Option<&'r AuthState> {
        Self::fetch(request.rocket())
    }

    /// For sentinels: logs why and returns `true` when the fairing is missing, or (with
    /// `needs_local_key`) when there is no local key to seal cookie values with.
    pub(crate) fn missing(rocket: &Rocket<Ignite>, what: &str, needs_local_key: bool) -> bool {
        match Self::fetch(rocket) {
            None => {
                rocket::error!("`{what}` is used in a route, but `PasetoFairing` is not attached.");
                rocket::info_!(
                    "Attach it with `.attach(rocket_paseto::PasetoFairing::default())`."
                );
                true
            }
            Some(state) if needs_local_key && state.authority.local_key().is_none() => {
                rocket::error!("`{what}` is used in a route, but `paseto.local_key` is not set.");
                true
            }
            Some(_) => false,
        }
    }

    /// How a guard verifies tokens of kind `kind`: through the verified-token cache, except
    /// refresh tokens that rotate. Each of those is presented once (again only within the
    /// grace window), so caching it would only push out tokens that do come back.
    pub(crate) fn guard_options(&self, kind: &str) -> VerifyOptions<'static> {
        let presented_once = kind == Refresh::NAME && self.rotate && self.revocation.is_some();
        match presented_once {
            true => VerifyOptions::new(),
            false => VerifyOptions::new().cached(),
        }
    }

    /// Verifies `token` as a token of kind `kind` now. With key discovery, a public token
    /// naming a key not known yet may first fetch the issuer's keys (see
    /// [`Discovery::refetch_for_unknown_key`](crate::discovery::Discovery)), then is verified
    /// again.
    pub(crate) async fn verify(
        &self,
        kind: &str,
        token: &str,
        options: VerifyOptions<'_>,
    ) -> Result<Arc<Verified>, Rejection> {
        #[cfg(feature = "discovery")]
        let fetches_seen = self.discovery.as_ref().map(|d| d.fetches_finished());
        let result = self
            .authority
            .verify(kind, token, OffsetDateTime::now_utc(), options);
        #[cfg(feature = "discovery")]
        if let (Err(Rejection::UnknownKey), Some(discovery), Some(seen)) =
            (&result, &self.discovery, fetches_seen)
            && self.authority.rules().kind(kind).map(|k| k.purpose())
                == Some(crate::token::Purpose::Public)
            // Boxed: it is rare, and its state would otherwise enlarge every guard's future.
            && Box::pin(discovery.refetch_for_unknown_key(&self.authority, seen)).await
        {
            return self
                .authority
                .verify(kind, token, OffsetDateTime::now_utc(), options);
        }
        result
    }

    /// Sends an event to the events hook, if one is set (nothing is built otherwise): about
    /// `subject`, in the session (token family) `family`, from the client of `request`.
    pub(crate) fn emit(
        &self,
        kind: EventKind,
        subject: Option<&str>,
        family: Option<&str>,
        request: Option<&Request<'_>>,
    ) {
        let session = || Some(self.revocation.as_ref()?.login_id(family?));
        let address = || self.throttle.address_of(request?);
        self.events.emit(kind, subject, session, address);
    }

    /// Tells the events hook of a detected reuse, when `refusal` is one: the session of the
    /// token with `claims` has ended.
    pub(crate) fn reused(&self, refusal: &Refusal, claims: &Claims, request: Option<&Request<'_>>) {
        if *refusal == Refusal::Reused {
            self.emit_about(EventKind::ReuseDetected, claims, request);
        }
    }

    /// [`emit`](Self::emit) about the token with `claims`: its subject, in its session.
    pub(crate) fn emit_about(
        &self,
        kind: EventKind,
        claims: &Claims,
        request: Option<&Request<'_>>,
    ) {
        self.emit(kind, Some(&claims.sub), claims.family(), request);
    }

    /// The index and settings of kind `name`.
    pub(crate) fn kind(&self, name: &str) -> Option<(usize, &KindSettings)> {
        self.kinds.iter().enumerate().find(|(_, k)| k.name == name)
    }

    /// The configured lifetime of kind `name`'s tokens.
    pub(crate) fn ttl_of(&self, name: &str) -> Duration {
        self.authority
            .rules()
            .kind(name)
            .map(|k| k.ttl())
            .unwrap_or_default()
    }

    /// What revoking a token with these claims takes back: the checked kinds of its family, and
    /// not the token itself if its kind is not checked.
    pub(crate) fn revoked(&self, claims: &Claims) -> LoggedOut {
        let refused = self
            .kinds
            .iter()
            .filter(|k| k.checked)
            .map(|k| k.name.clone())
            .collect();
        let checked = self.kind(&claims.kind).is_some_and(|(_, k)| k.checked);
        let still_valid = if checked {
            Vec::new()
        } else {
            rocket::warn!(
                "rocket_paseto: revoked a `{}` token, a kind that `paseto.revocation.kinds` does \
                 not check: it stays valid until it expires (its family's checked kinds do not)",
                claims.kind
            );
            vec![claims.kind.clone()]
        };
        LoggedOut::new(1, refused, still_valid)
    }
}

/// Whether the response sets token cookies: the jar marks it, and the fairing then adds
/// `Cache-Control: no-store` so no cache keeps them.
#[derive(Default)]
pub(crate) struct TokensSet(AtomicBool);

impl TokensSet {
    pub(crate) fn of<'r>(request: &'r Request<'_>) -> &'r TokensSet {
        request.local_cache(TokensSet::default)
    }

    pub(crate) fn mark(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub(crate) fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A refresh token's standing as its guard read it from the store in this request, so that
/// refreshing it in the same request starts from that read instead of repeating it. The
/// rotation's compare-and-set still decides, and reads afresh when the record has moved.
#[derive(Default)]
pub(crate) struct CheckedRefresh(Mutex<Option<(String, Standing)>>);

impl CheckedRefresh {
    /// Records what the guard read for the refresh token `jti` (never an unchecked standing).
    pub(crate) fn record(request: &Request<'_>, jti: Option<&str>, standing: &Standing) {
        if let Some(jti) = jti
            && *standing != Standing::Unchecked
        {
            *Self::of(request) = Some((jti.to_owned(), standing.clone()));
        }
    }

    /// What the guard read for the refresh token `jti` in this request, once.
    pub(crate) fn take(request: &Request<'_>, jti: Option<&str>) -> Option<Standing> {
        match Self::of(request).take() {
            Some((seen, standing)) if Some(seen.as_str()) == jti => Some(standing),
            _ => None,
        }
    }

    fn of<'r>(request: &'r Request<'_>) -> std::sync::MutexGuard<'r, Option<(String, Standing)>> {
        let cell = request.local_cache(CheckedRefresh::default);
        cell.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
