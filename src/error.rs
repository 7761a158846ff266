//! What the crate fails with. How each failure looks to clients (status, body, challenge) is
//! one table in `response`, which renders these errors.

use crate::revocation::{Refusal, StoreError};
use crate::token::{IssueError, Rejection};

/// Browsers keep cookies of up to 4096 bytes (name, value and attributes together).
pub const MAX_COOKIE_SIZE: usize = 4096;

/// Why a value could not be put in a cookie.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CookieError {
    /// The cookie would exceed [`MAX_COOKIE_SIZE`]; browsers would drop it silently.
    #[error("the cookie would be {0} bytes; browsers keep at most 4096")]
    TooLarge(usize),
    /// The cookie name is not a valid cookie name (RFC 6265 token).
    #[error("the cookie name is not a valid cookie name")]
    InvalidName,
    /// The name's `__Secure-` or `__Host-` prefix demands attributes the cookie lacks
    /// (`Secure`; for `__Host-` also `Path=/` and no `Domain`), so browsers would drop it.
    #[error(
        "a `__Secure-` cookie needs `Secure`, and a `__Host-` cookie `Secure`, `Path=/` and no `Domain`"
    )]
    Prefix,
    /// The kind's cookie is turned off (`cookie = ""`).
    #[error("the `{0}` cookie is turned off in the configuration")]
    Disabled(&'static str),
    /// The token or sealed value could not be made.
    #[error(transparent)]
    Issue(#[from] IssueError),
}

/// Why authentication failed: the error of every guard in this crate, and a [`Responder`](rocket::response::Responder).
///
/// As a response it is JSON with the right status and an RFC 6750 `WWW-Authenticate` challenge
/// (with the configured scheme in place of `Bearer`). Every rejected token gets the very same
/// body and headers, whichever check failed, with one exception: a genuine token (its MAC or
/// signature verified) that failed only because it expired, or whose session ended, is answered
/// as expired, so that clients know to refresh it ([`is_expired`](Self::is_expired)). The
/// reason inside [`AuthError::Invalid`] is for your logs, never for the client.
///
/// | variant | status | body `error` | `WWW-Authenticate` |
/// |---|---|---|---|
/// | `Missing` | 401 | `unauthorized` | `Bearer` |
/// | `Invalid(Rejection::Expired)`, `Issue(IssueError::SessionEnded)` | 401 | `invalid_token`, with `"error_description":"The access token expired"` | `Bearer error="invalid_token", error_description="The access token expired"` |
/// | other `Invalid(_)`, `ClaimsMismatch` | 401 | `invalid_token` | `Bearer error="invalid_token"` |
/// | `BadCredentials` | 401 | `invalid_credentials` | `Bearer` |
/// | `FreshRequired` | 401 | `fresh_token_required` | `Bearer error="insufficient_user_authentication", …` |
/// | `Csrf` | 403 | `csrf_failed` | — |
/// | `InsufficientScope` | 403 | `insufficient_scope` | `Bearer error="insufficient_scope"` |
/// | `Cookie(CookieError::TooLarge(_))` | 413 | `too_large` | — |
/// | `Throttled(_)` | 429 | `too_many_attempts` | — |
/// | `Unavailable` | 503 | `temporarily_unavailable` | — |
/// | `Issue(_)`, `Cookie(_)`, `NotConfigured` | 500 | `server_error` | — |
///
/// `Unavailable` also sets `Retry-After: 1`, and `Throttled(wait)` sets it to
/// `wait` in whole seconds, rounded up. To answer with bodies of your own while keeping
/// the status and these headers, see [`with_body`](Self::with_body); for your own catchers,
/// [`AuthError::of`] tells what a guard failed with.
///
/// [`IssueError::SessionEnded`]: crate::token::IssueError::SessionEnded
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The request carried no token.
    #[error("no token was presented")]
    Missing,
    /// A token was presented and rejected. The reason is for logs only: never show it to
    /// clients, who could otherwise probe which check their forgeries pass.
    #[error("the token was rejected: {0}")]
    Invalid(Rejection),
    /// A genuine token whose claims do not fit the route's claims type: a mismatch on the
    /// server's side, logged at warn level; the client sees an invalid token.
    #[error("the token's claims do not fit the route's claims type")]
    ClaimsMismatch,
    /// A token came from a cookie on an unsafe method without a matching CSRF header, or a
    /// request came from another site's page ([`SameOrigin`](crate::SameOrigin)).
    #[error("the request lacks a valid CSRF token")]
    Csrf,
    /// The token is valid but does not grant what the route requires (a scope, role, claim or
    /// subject): 403, never 401, for an authenticated caller.
    #[error("the token does not grant this")]
    InsufficientScope,
    /// The route requires a fresh token (from a password login) and this one is not.
    #[error("a fresh token is required")]
    FreshRequired,
    /// For login routes: the username or password is wrong.
    #[error("bad username or password")]
    BadCredentials,
    /// A token could not be minted.
    #[error(transparent)]
    Issue(#[from] IssueError),
    /// A value or token could not be put in a cookie.
    #[error(transparent)]
    Cookie(#[from] CookieError),
    /// The revocation store (or, from your hooks, your database) cannot answer for now: 503
    /// with `Retry-After`, never 401, so clients keep their tokens and retry. A store's error
    /// is logged, never sent.
    #[error("a service this request needs is unavailable")]
    Unavailable,
    /// For login routes: the [`LoginThrottle`](crate::LoginThrottle) refuses this attempt, after
    /// too many failed ones for its account or client address, until the wait given here is
    /// over (sent as `Retry-After`). The body is the same whether the account exists or not.
    #[error("too many failed logins; try again later")]
    Throttled(std::time::Duration),
    /// The fairing is not attached (a route's sentinel normally prevents this), or a feature
    /// used here needs configuration it lacks (e.g. revocation without a store).
    #[error("PasetoFairing is not attached, or not configured for this")]
    NotConfigured,
}

impl From<StoreError> for AuthError {
    fn from(error: StoreError) -> Self {
        rocket::error!("rocket_paseto: {error}");
        AuthError::Unavailable
    }
}

impl From<Refusal> for AuthError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Revoked(rejection) => AuthError::Invalid(rejection),
            Refusal::Reused => AuthError::Invalid(Rejection::Revoked),
            Refusal::Unavailable => AuthError::Unavailable,
        }
    }
}
