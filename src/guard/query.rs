//! Tokens in the query string: taken out of the URI before Rocket logs the request line, and
//! read only by the guards a route wraps in [`QueryToken`].

use std::borrow::Cow;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

use rocket::http::RawStr;
use rocket::http::uri::Origin;
use rocket::request::{FromRequest, Outcome, Request};

use crate::config::KindSettings;
use crate::error::AuthError;
use crate::state::AuthState;
use crate::token::Rejection;

/// What stands in the URI for a token the fairing took out of it.
const REDACTED: &str = "redacted";

/// Lets the guard `G` read its token from the kind's query parameter (`query`, e.g.
/// `paseto.access.query = "access_token"`), for WebSocket upgrades, where browsers cannot set
/// headers. Any other route ignores the parameter, so a token copied into a link opens nothing
/// else.
///
/// ```
/// use rocket_paseto::{Access, Paseto, QueryToken};
///
/// // `new WebSocket("wss://example.com/ws?access_token=" + accessToken)`
/// #[rocket::get("/ws")]
/// fn ws(token: QueryToken<Paseto<Access>>) -> String {
///     format!("upgrade for {}", token.subject())
/// }
/// ```
///
/// The header and the cookie still come first, and a token from the query string is checked
/// exactly as one from the header, revocation included, with three differences: it is read on
/// `GET` only, never from a browser that holds any of the crate's cookies, and it is never fresh
/// ([`Paseto::require_fresh`](crate::Paseto::require_fresh) refuses it). The fairing takes the
/// parameter's value out of the request's URI before Rocket logs the request, whatever the
/// route, so no log shows it.
pub struct QueryToken<G>(G);

impl<G> QueryToken<G> {
    /// The guard's value.
    pub fn into_inner(self) -> G {
        self.0
    }
}

impl<G> Deref for QueryToken<G> {
    type Target = G;

    fn deref(&self) -> &G {
        &self.0
    }
}

impl<G> DerefMut for QueryToken<G> {
    fn deref_mut(&mut self) -> &mut G {
        &mut self.0
    }
}

impl<G: fmt::Debug> fmt::Debug for QueryToken<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("QueryToken").field(&self.0).finish()
    }
}

#[rocket::async_trait]
impl<'r, G: FromRequest<'r>> FromRequest<'r> for QueryToken<G> {
    type Error = G::Error;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, G::Error> {
        // Only while `G` runs: other guards of the route, and routes tried after this one
        // when it forwards, do not read the query string.
        let allowed = &request.local_cache(QueryAllowed::default).0;
        allowed.store(true, Ordering::Relaxed);
        let outcome = G::from_request(request).await;
        allowed.store(false, Ordering::Relaxed);
        outcome.map(QueryToken)
    }
}

/// Whether the guard running now was wrapped in [`QueryToken`].
#[derive(Default)]
struct QueryAllowed(AtomicBool);

pub(super) fn query_allowed(request: &Request<'_>) -> bool {
    // Without a kind that takes a query parameter there is nothing to allow, and the flag is
    // not looked up: a first look inserts it into the request's cache, on every request.
    AuthState::of(request).is_some_and(|state| state.kinds.iter().any(|k| k.query.is_some()))
        && request
            .local_cache(QueryAllowed::default)
            .0
            .load(Ordering::Relaxed)
}

/// The values of every kind's query parameter, taken out of the URI by [`redact`]: the kind's
/// index and the percent-decoded value, once per occurrence.
#[derive(Default)]
struct QueryTokens(Vec<(usize, String)>);

/// For the fairing: takes the value of each kind's query parameter out of the request's URI,
/// where Rocket's request log would print it, into the request's local cache, where
/// [`sent`] finds it. The parameter stays, with the value `redacted`.
pub(crate) fn redact(request: &mut Request<'_>, state: &AuthState) {
    if !state.kinds.iter().any(|kind| kind.query.is_some()) {
        return;
    }
    let Some(query) = request.uri().query() else {
        return;
    };
    let mut taken = Vec::new();
    let pairs: Vec<Cow<'_, str>> = query
        .as_str()
        .split('&')
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = RawStr::new(name).url_decode_lossy();
            match state
                .kinds
                .iter()
                .position(|k| k.query.as_deref() == Some(&*name))
            {
                Some(index) => {
                    taken.push((index, RawStr::new(value).url_decode_lossy().into_owned()));
                    Cow::Owned(format!("{name}={REDACTED}"))
                }
                None => Cow::Borrowed(pair),
            }
        })
        .collect();
    if taken.is_empty() {
        return;
    }
    let path = request.uri().path().to_string();
    let uri = format!("{path}?{}", pairs.join("&"));
    // Both parts come from a URI Rocket parsed, and the parameter names and `redacted` need no
    // encoding, so this parses; were it ever not to, the whole query string would go.
    let uri = Origin::parse_owned(uri)
        .or_else(|_| Origin::parse_owned(path))
        .unwrap_or(Origin::ROOT);
    request.set_uri(uri);
    request.local_cache(|| QueryTokens(taken));
}

/// The token of `kind` (at `index` among the kinds) that the request's URI carried: given
/// twice or empty, a bad token.
pub(super) fn sent<'r>(
    request: &'r Request<'_>,
    index: usize,
    kind: &KindSettings,
) -> Result<&'r str, AuthError> {
    if kind.query.is_none() {
        return Err(AuthError::Missing);
    }
    let tokens = &request.local_cache(QueryTokens::default).0;
    let mut values = tokens.iter().filter(|(i, _)| *i == index).map(|(_, v)| v);
    match (values.next(), values.next()) {
        (None, _) => Err(AuthError::Missing),
        (Some(token), None) if !token.is_empty() => Ok(token),
        _ => Err(AuthError::Invalid(Rejection::Malformed)),
    }
}
