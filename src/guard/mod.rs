//! The `Paseto<K, C>` request guard.

use std::any::{Any, TypeId};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::csrf;
use crate::error::AuthError;
use crate::events::EventKind;
use crate::kind::{Access, Refresh, TokenKind};
use crate::origin;
use crate::state::{AuthState, CheckedRefresh};
use crate::stats;
use crate::token::{Claims, Rejection, Verified};
use crate::trace;

mod query;
mod source;
pub(crate) mod throttle;

pub use self::query::QueryToken;
pub(crate) use self::query::redact as redact_query_tokens;
pub(crate) use self::source::from_authorization;
use self::source::{Source, find_token};

/// A verified token of kind `K` (such as [`Access`] or [`Refresh`](crate::Refresh)), with its claims read into
/// `C`: the request guard at the centre of this crate.
///
/// The token is taken from the configured header (`Authorization: Bearer <token>` by default,
/// scheme matched case-insensitively) or, only when that header is absent, from the kind's
/// cookie; in a route that wraps the guard in [`QueryToken`], with neither, from the kind's
/// query parameter (`query`, off by default; no CSRF check). It must have the purpose configured for `K`, a key from the server's keyring, valid
/// times, the configured `iss` and `aud`, and `type` equal to `K::NAME`.
///
/// | route argument | no token | no token, `missing_token = "forward"` | bad token | good token |
/// |---|---|---|---|---|
/// | `Paseto<K>` | 401 | forwarded | 401 | the token |
/// | `Result<Paseto<K>, AuthError>` | `Err(AuthError::Missing)` | forwarded | `Err(AuthError::Invalid(_))` | `Ok(token)` |
/// | `Option<Paseto<K>>` | `None` | `None` | `None` | `Some(token)` |
///
/// "Forwarded" means Rocket tries the next matching route (e.g. a `rank = 2` fallback for
/// anonymous visitors) and, with none left, answers with the 401 catcher, as if the guard had
/// failed: [`catchers()`](crate::catchers) give the usual JSON body and challenge. A header
/// that holds no token of the configured scheme counts as a bad token, never a missing one.
///
/// ```
/// # use rocket_paseto::{Paseto, Access};
/// // With `paseto.missing_token = "forward"`:
/// #[rocket::get("/")]
/// fn home(token: Paseto<Access>) -> String {
///     format!("Welcome back, {}!", token.subject())
/// }
///
/// #[rocket::get("/", rank = 2)]
/// fn home_anonymous() -> &'static str {
///     "Welcome! Please sign in."
/// }
/// ```
///
/// Rocket turns every failure of an `Option` guard into `None`. For an optional login that
/// still answers 401 to a bad token, take the `Result` and call [`Paseto::optional`] (with
/// `missing_token = "reject"`, the default; in `"forward"` mode use a fallback route instead):
///
/// ```
/// # use rocket_paseto::{Paseto, Access, AuthError};
/// #[rocket::get("/greeting")]
/// fn greeting(auth: Result<Paseto<Access>, AuthError>) -> Result<String, AuthError> {
///     Ok(match Paseto::optional(auth)? {
///         Some(token) => format!("Hello, {}!", token.subject()),
///         None => "Hello, stranger!".into(),
///     })
/// }
/// ```
///
/// Each kind is verified at most once per request, however many guards ask for it.
pub struct Paseto<K: TokenKind = Access, C = Claims> {
    verified: Arc<Verified>,
    /// `None` when `C` is [`Claims`]: they are read from `verified` instead of copied. Boxed,
    /// so that the guard stays a few words wide: Rocket moves it through the route's future.
    claims: Option<Box<C>>,
    /// Whether the token came from the query string, where anyone may have read it.
    from_query: bool,
    kind: PhantomData<fn() -> K>,
}

impl<K: TokenKind, C: 'static> Paseto<K, C> {
    /// `sub`: whom the token is about.
    pub fn subject(&self) -> &str {
        &self.verified.claims().sub
    }

    /// `exp`: when the token expires.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.verified.claims().exp
    }

    /// `iat`: when the token was issued, if it says.
    pub fn issued_at(&self) -> Option<OffsetDateTime> {
        self.verified.claims().iat
    }

    /// `jti`: the token's unique id, if it has one.
    pub fn jti(&self) -> Option<&str> {
        self.verified.claims().jti.as_deref()
    }

    /// The claims, read into `C`: with the default `C`, [`Claims`], the registered ones
    /// (`sub`, `exp`, `iat`, `nbf`, `jti`, `iss`, `aud`, `type`); with a type of your own,
    /// whatever it declares, registered claims included (it is read from the whole payload).
    pub fn claims(&self) -> &C {
        match &self.claims {
            Some(claims) => claims.as_ref(),
            // Only the guard builds a `Paseto`, and it leaves `claims` empty only when `C` is
            // `Claims`, so this downcast always succeeds.
            None => (self.verified.claims() as &dyn Any)
                .downcast_ref::<C>()
                .expect("claims are omitted only when C is Claims"),
        }
    }

    /// Takes the claims out.
    pub fn into_claims(self) -> C {
        match self.claims {
            Some(claims) => *claims,
            None => {
                let registered: Box<dyn Any> = Box::new(self.verified.claims().clone());
                *registered
                    .downcast::<C>()
                    .expect("claims are omitted only when C is Claims")
            }
        }
    }

    /// The token exactly as the client sent it.
    pub fn token(&self) -> &str {
        self.verified.token()
    }

    /// Requires `scope` among the token's `scope` claim (a space-separated string, as in OAuth,
    /// or an array of strings). Fails with [`AuthError::InsufficientScope`]: a 403 with
    /// `WWW-Authenticate: Bearer error="insufficient_scope"`, never a 401.
    ///
    /// ```
    /// # use rocket_paseto::{Access, AuthError, Paseto};
    /// #[rocket::get("/reports")]
    /// fn reports(token: Paseto<Access>) -> Result<String, AuthError> {
    ///     token.require_scope("reports:read")?.require_role("analyst")?;
    ///     Ok(format!("reports for {}", token.subject()))
    /// }
    /// ```
    pub fn require_scope(&self, scope: &str) -> Result<&Self, AuthError> {
        self.grant(self.grants().scope.contains(scope))
    }

    /// Requires `role` in the token's `roles` claim (an array of strings, or a space-separated
    /// string) or equal to its `role` claim.
    pub fn require_role(&self, role: &str) -> Result<&Self, AuthError> {
        let grants = self.grants();
        self.grant(grants.roles.contains(role) || grants.role.as_deref() == Some(role))
    }

    /// Requires the claim `name` to equal `value` (compared as JSON).
    pub fn require_claim<T: Serialize>(&self, name: &str, value: T) -> Result<&Self, AuthError> {
        let expected = serde_json::to_value(value).ok();
        let payload = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(
            self.verified.payload(),
        );
        let found = payload.ok().and_then(|mut claims| claims.remove(name));
        self.grant(expected.is_some() && found == expected)
    }

    /// Requires the token's subject to be `subject`, e.g. a route's `<user>` parameter, so users
    /// reach only their own resources.
    pub fn require_subject(&self, subject: &str) -> Result<&Self, AuthError> {
        self.grant(self.subject() == subject)
    }

    /// [`require_subject`](Self::require_subject), unless the token has role `bypass`
    /// (e.g. `"admin"`), which may act on any subject.
    pub fn require_subject_or_role(&self, subject: &str, bypass: &str) -> Result<&Self, AuthError> {
        if self.subject() == subject {
            return Ok(self);
        }
        self.require_role(bypass)
    }

    /// Whether the token is fresh now: minted from a password login (see
    /// [`TokenBuilder::fresh`](crate::TokenBuilder::fresh)) and within its fresh period. A
    /// token read from the query string ([`QueryToken`]) never is: URLs reach logs and
    /// `Referer` headers.
    pub fn is_fresh(&self) -> bool {
        !self.from_query
            && self
                .verified
                .claims()
                .fresh
                .is_some_and(|until| OffsetDateTime::now_utc() <= until)
    }

    /// Requires a fresh token, e.g. before changing a password or deleting an account. Fails
    /// with [`AuthError::FreshRequired`]: a 401 telling the client to sign in again.
    pub fn require_fresh(&self) -> Result<&Self, AuthError> {
        if self.is_fresh() {
            Ok(self)
        } else {
            Err(AuthError::FreshRequired)
        }
    }

    fn grants(&self) -> Grants {
        serde_json::from_str(self.verified.payload()).unwrap_or_default()
    }

    fn grant(&self, granted: bool) -> Result<&Self, AuthError> {
        if granted {
            Ok(self)
        } else {
            rocket::debug!("rocket_paseto: {} token lacks a required grant", K::NAME);
            Err(AuthError::InsufficientScope)
        }
    }

    /// `Ok(None)` when no token was sent, `Err` when a bad one was: see the table above.
    pub fn optional(result: Result<Self, AuthError>) -> Result<Option<Self>, AuthError> {
        match result {
            Ok(token) => Ok(Some(token)),
            Err(AuthError::Missing) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Hands the token to [`Sessions`](crate::Sessions) and [`PasetoCookies`](crate::PasetoCookies)
/// calls, which also take a token from [`Issuer::authenticate`](crate::Issuer::authenticate).
/// Read its claims with [`claims`](Paseto::claims).
impl<K: TokenKind, C> AsRef<Verified> for Paseto<K, C> {
    fn as_ref(&self) -> &Verified {
        &self.verified
    }
}

impl<K: TokenKind, C> fmt::Debug for Paseto<K, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Paseto")
            .field("kind", &K::NAME)
            .field("claims", self.verified.claims())
            .finish_non_exhaustive()
    }
}

/// The authorisation claims the `require_*` helpers read.
#[derive(Default, Deserialize)]
struct Grants {
    #[serde(default)]
    scope: Words,
    #[serde(default)]
    roles: Words,
    #[serde(default)]
    role: Option<String>,
}

/// A list of words given as a space-separated string or as an array of strings.
#[derive(Default)]
struct Words(Vec<String>);

impl Words {
    fn contains(&self, word: &str) -> bool {
        self.0.iter().any(|w| w == word)
    }
}

impl<'de> Deserialize<'de> for Words {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Spaced(String),
            List(Vec<String>),
        }
        Ok(Words(match Form::deserialize(deserializer)? {
            Form::Spaced(s) => s.split_ascii_whitespace().map(str::to_owned).collect(),
            Form::List(list) => list,
        }))
    }
}

/// A verified token and where it came from.
type Found = (Arc<Verified>, Source);

/// The per-request verification outcome of kind `K`, shared by every guard of that kind; one
/// for the guards that may read the query string (`QUERY`), one for the others.
struct Cached<K, const QUERY: bool>(Result<Found, AuthError>, PhantomData<fn() -> K>);

async fn verify_request<K: TokenKind>(
    request: &Request<'_>,
    with_query: bool,
) -> Result<Found, AuthError> {
    let state = AuthState::of(request).ok_or(AuthError::NotConfigured)?;
    let checked = verify_in::<K>(request, state, with_query);
    let result = trace::guard(K::NAME, checked, stats::cause).await;
    stats::record(state, &result);
    result
}

async fn verify_in<K: TokenKind>(
    request: &Request<'_>,
    state: &AuthState,
    with_query: bool,
) -> Result<Found, AuthError> {
    let kind = state.kind(K::NAME).ok_or(AuthError::NotConfigured)?;
    // Implicit refresh stands in for an absent or expired access cookie, never a header token.
    let implicit = match &state.hooks.implicit_refresh {
        Some(implicit) if K::NAME == Access::NAME => Some(implicit),
        _ => None,
    };
    let (token, source) = match (find_token(request, state, kind, with_query), implicit) {
        (Err(AuthError::Missing), Some(implicit)) => {
            let refreshed = Box::pin(implicit.refresh(request, AuthError::Missing)).await?;
            return Ok((refreshed, Source::Cookie));
        }
        (found, _) => found?,
    };
    let verified = state
        .verify(K::NAME, token, state.guard_options(K::NAME))
        .await;
    let verified = match (verified, implicit) {
        (Err(Rejection::Expired), Some(implicit)) if source == Source::Cookie => {
            let expired = AuthError::Invalid(Rejection::Expired);
            let refreshed = Box::pin(implicit.refresh(request, expired)).await?;
            return Ok((refreshed, Source::Cookie));
        }
        (result, _) => result.map_err(AuthError::Invalid)?,
    };
    if source == Source::Cookie {
        csrf::check(request, &state.http, &verified).inspect_err(|_| {
            state.emit_about(EventKind::CsrfFailed, verified.claims(), Some(request))
        })?;
        origin::check_websocket_upgrade(request, state)?;
    }
    // Last, so only tokens that passed every local check cost a store lookup; and after the
    // verification cache, so a cached token is still checked on every request.
    if let Some(revocation) = &state.revocation
        && kind.1.checked
    {
        let standing = (Box::pin(revocation.check(verified.claims())).await)
            .inspect_err(|r| state.reused(r, verified.claims(), Some(request)))?;
        if K::NAME == Refresh::NAME {
            let found = Box::pin(renewing(request, state, verified, source)).await?;
            // Recorded last, so a rotation in this request starts from a read made as late as
            // the guard can (see `CheckedRefresh`).
            CheckedRefresh::record(request, found.0.claims().jti.as_deref(), &standing);
            return Ok(found);
        }
    }
    if K::NAME == Refresh::NAME {
        return Box::pin(renewing(request, state, verified, source)).await;
    }
    Ok((verified, source))
}

/// What a refresh token's guard adds, since a refresh renews a session: the application must
/// still accept its user, and the session's claims are reloaded.
async fn renewing(
    request: &Request<'_>,
    state: &AuthState,
    verified: Arc<Verified>,
    source: Source,
) -> Result<Found, AuthError> {
    if let Some(users) = &state.hooks.users {
        users.check(&verified.claims().sub, request).await?;
    }
    let revocation = state.revocation.as_ref();
    match state.hooks.reload(request, revocation, &verified).await? {
        Some(reloaded) => Ok((Arc::new(reloaded), source)),
        None => Ok((verified, source)),
    }
}

/// Reads the claims into `C`, or `None` when `C` is [`Claims`], which were parsed already.
fn claims_of<C: DeserializeOwned + 'static>(
    verified: &Verified,
) -> Result<Option<Box<C>>, serde_json::Error> {
    if TypeId::of::<C>() == TypeId::of::<Claims>() {
        return Ok(None);
    }
    serde_json::from_str::<C>(verified.payload()).map(|claims| Some(Box::new(claims)))
}

/// A serde error about claims, without the values it may quote (claims can be personal data).
fn describe_claims_error(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let message = message
        .split_once(" at line ")
        .map_or(message.as_str(), |(head, _)| head);
    if message.starts_with("missing field") || message.starts_with("unknown field") {
        message.to_owned()
    } else {
        // e.g. "invalid type: string \"…\", expected u32": keep the expectation only.
        match message.rsplit_once(", expected ") {
            Some((_, expected)) => format!("a claim has the wrong type, expected {expected}"),
            None => "a claim has the wrong type or value".to_owned(),
        }
    }
}

#[rocket::async_trait]
impl<'r, K, C> FromRequest<'r> for Paseto<K, C>
where
    K: TokenKind,
    C: DeserializeOwned + Send + 'static,
{
    type Error = AuthError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, AuthError> {
        let result = match query::query_allowed(request) {
            true => &cached::<K, true>(request).await.0,
            false => &cached::<K, false>(request).await.0,
        };
        let error = match result {
            Ok((verified, source)) => match claims_of::<C>(verified) {
                Ok(claims) => {
                    return Outcome::Success(Paseto {
                        verified: verified.clone(),
                        claims,
                        from_query: *source == Source::Query,
                        kind: PhantomData,
                    });
                }
                Err(e) => {
                    // The token is genuine: the route's claims type does not fit what this
                    // service mints. The client gets the usual 401; the cause is ours to fix.
                    rocket::warn!(
                        "rocket_paseto: a verified {} token does not fit the route's claims type \
                         `{}`: {}",
                        K::NAME,
                        std::any::type_name::<C>(),
                        describe_claims_error(&e)
                    );
                    AuthError::ClaimsMismatch
                }
            },
            Err(error) => error.clone(),
        };
        if let AuthError::Invalid(reason) = &error {
            rocket::debug!("rocket_paseto: {} token rejected: {reason}", K::NAME);
        }
        error.outcome(request)
    }
}

/// The request's token of kind `K` from its header or cookie, verified as the guard
/// `Paseto<K>` does and sharing its per-request result: for calls that find the token
/// themselves ([`Sessions::logout`](crate::Sessions::logout)).
pub(crate) async fn request_token<K: TokenKind>(
    request: &Request<'_>,
) -> Result<Arc<Verified>, AuthError> {
    match &cached::<K, false>(request).await.0 {
        Ok((verified, _)) => Ok(verified.clone()),
        Err(error) => Err(error.clone()),
    }
}

/// The request's verification of kind `K`, done once per request (and once more for the
/// guards that may read the query string).
async fn cached<'r, K: TokenKind, const QUERY: bool>(
    request: &'r Request<'_>,
) -> &'r Cached<K, QUERY> {
    request
        .local_cache_async(async {
            Cached::<K, QUERY>(verify_request::<K>(request, QUERY).await, PhantomData)
        })
        .await
}

impl<K: TokenKind, C> Sentinel for Paseto<K, C> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        if AuthState::missing(rocket, &format!("Paseto<{}>", K::NAME), false) {
            return true;
        }
        let registered = AuthState::fetch(rocket).is_some_and(|s| s.kind(K::NAME).is_some());
        if !registered {
            rocket::error!(
                "The token kind `{}` is used in a route but not registered with `PasetoFairing`.",
                K::NAME
            );
            rocket::info_!("Register it with `PasetoFairing::default().kind::<YourKind>()`.");
        }
        !registered
    }
}
