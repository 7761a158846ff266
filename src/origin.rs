//! `SameOrigin`: a request guard that refuses requests made by other sites' pages.

use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};

use crate::config::WebOrigin;
use crate::error::AuthError;
use crate::state::AuthState;

/// A request guard that passes only requests made by the server's own pages (or by no page at
/// all), for routes that no token protects against cross-site request forgery. The login route
/// is the classic one: a forged login signs the victim in to the attacker's account, so that
/// what they do next is recorded there.
///
/// ```
/// use rocket_paseto::{AuthError, PasetoCookies, SameOrigin};
///
/// #[rocket::post("/login")]
/// async fn login(_origin: SameOrigin, cookies: PasetoCookies<'_>) -> Result<(), AuthError> {
///     // … check the password first, then:
///     cookies.login("alice").fresh().issue().await?;
///     Ok(())
/// }
/// ```
///
/// It compares the request's `Origin` header or, when there is none, the origin of its
/// `Referer`, with:
///
/// - the server's own origin: the request's `Host`, with `https` when Rocket serves TLS and
///   `http` otherwise;
/// - the origins listed in `paseto.allowed_origins`, e.g. the public `https://…` origin behind
///   a proxy that terminates TLS or rewrites `Host`, or another front-end of yours.
///
/// Any other origin, `Origin: null` and an unreadable value fail with a 403
/// [`AuthError::Csrf`] (`csrf_failed`), before the route reads its body.
///
/// A request with neither header passes. Current browsers send `Origin` with every request
/// that is not a `GET` or `HEAD` (RFC 6454 and the Fetch standard), so a cross-site form post
/// or `fetch` always names its foreign origin. Requests without either header come from
/// programs such as `curl` or API clients, which cannot make a victim's browser store the
/// cookies they get back, so refusing them would protect no one. (Django, which predates the
/// `Origin` header, requires a `Referer` on HTTPS instead.) Note that a page served with
/// `Referrer-Policy: no-referrer` sends `Origin: null` even to its own server; the default
/// policy, or `same-origin`, keeps the origin.
///
/// The guard needs [`PasetoFairing`](crate::PasetoFairing) for `allowed_origins`: a route
/// using it without the fairing aborts launch.
#[derive(Debug, Clone, Copy)]
pub struct SameOrigin(());

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SameOrigin {
    type Error = AuthError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, AuthError> {
        let Some(state) = AuthState::of(request) else {
            return AuthError::NotConfigured.fail(request);
        };
        if is_same_origin(request, state) {
            Outcome::Success(SameOrigin(()))
        } else {
            AuthError::Csrf.fail(request)
        }
    }
}

/// For a request authenticated by cookie: a browser sends cookies on a WebSocket upgrade from
/// any site's page, and the upgrade is a `GET`, which the CSRF check lets through, so only the
/// origin tells them apart. Fails with [`AuthError::Csrf`] for another site's upgrade.
pub(crate) fn check_websocket_upgrade(
    request: &Request<'_>,
    state: &AuthState,
) -> Result<(), AuthError> {
    let upgrade = request
        .headers()
        .get("Upgrade")
        .flat_map(|value| value.split(','))
        .any(|protocol| protocol.trim().eq_ignore_ascii_case("websocket"));
    if upgrade && !is_same_origin(request, state) {
        return Err(AuthError::Csrf);
    }
    Ok(())
}

/// The check of [`SameOrigin`], which the token guards also make on WebSocket upgrades that
/// carry a token cookie.
pub(crate) fn is_same_origin(request: &Request<'_>, state: &AuthState) -> bool {
    let headers = request.headers();
    let claimed = match (headers.get_one("Origin"), headers.get_one("Referer")) {
        (Some(origin), _) => WebOrigin::parse(origin),
        (None, Some(referer)) => WebOrigin::of_url(referer),
        (None, None) => return true,
    };
    claimed.is_some_and(|origin| {
        own_origin(request).as_ref() == Some(&origin)
            || state.http.allowed_origins.contains(&origin)
    })
}

impl Sentinel for SameOrigin {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        AuthState::missing(rocket, "SameOrigin", false)
    }
}

/// The origin the request was addressed to: its `Host`, and the scheme Rocket serves.
fn own_origin(request: &Request<'_>) -> Option<WebOrigin> {
    let host = request.host()?;
    let https = request.rocket().config().tls_enabled();
    Some(WebOrigin::new(https, host.domain().as_str(), host.port()))
}
