//! `SameOrigin`: a request guard that refuses requests made by other sites' pages.

use rocket::http::uri::Authority;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};

use crate::error::{self, AuthError};
use crate::issuer::Issuer;

/// A request guard that passes only requests made by the server's own pages (or by no page at
/// all), for routes that no token protects against cross-site request forgery. The login route
/// is the classic one: a forged login signs the victim in to the attacker's account, so that
/// what they do next is recorded there.
///
/// ```
/// use rocket_paseto::{AuthError, PasetoCookies, SameOrigin};
///
/// #[rocket::post("/login")]
/// fn login(_origin: SameOrigin, cookies: PasetoCookies<'_>) -> Result<(), AuthError> {
///     // … check the password first, then:
///     cookies.set_fresh_tokens("alice")?;
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
        let Some(issuer) = request.rocket().state::<Issuer>() else {
            return Outcome::Error((AuthError::NotConfigured.status(), AuthError::NotConfigured));
        };
        let headers = request.headers();
        let claimed = match (headers.get_one("Origin"), headers.get_one("Referer")) {
            (Some(origin), _) => WebOrigin::parse(origin),
            (None, Some(referer)) => WebOrigin::of_url(referer),
            (None, None) => return Outcome::Success(SameOrigin(())),
        };
        let trusted = claimed.is_some_and(|origin| {
            own_origin(request).as_ref() == Some(&origin)
                || issuer.shared().web.allowed_origins.contains(&origin)
        });
        if trusted {
            Outcome::Success(SameOrigin(()))
        } else {
            let error = AuthError::Csrf;
            error::record(request, &error);
            Outcome::Error((error.status(), error))
        }
    }
}

impl Sentinel for SameOrigin {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        crate::fairing::missing(rocket, "SameOrigin")
    }
}

/// The origin the request was addressed to: its `Host`, and the scheme Rocket serves.
fn own_origin(request: &Request<'_>) -> Option<WebOrigin> {
    let host = request.host()?;
    let https = request.rocket().config().tls_enabled();
    Some(WebOrigin::new(https, host.domain().as_str(), host.port()))
}

/// A web origin (RFC 6454): scheme, host and port, with the host in lowercase and the port
/// always explicit, so that equal origins compare equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WebOrigin {
    https: bool,
    host: String,
    port: u16,
}

impl WebOrigin {
    fn new(https: bool, host: &str, port: Option<u16>) -> Self {
        WebOrigin {
            https,
            host: host.to_ascii_lowercase(),
            port: port.unwrap_or(if https { 443 } else { 80 }),
        }
    }

    /// Parses a serialised origin, `scheme://host[:port]` with scheme `http` or `https` and
    /// nothing after: an `Origin` header or an `allowed_origins` entry.
    pub(crate) fn parse(origin: &str) -> Option<Self> {
        let (scheme, authority) = origin.split_once("://")?;
        Self::from_parts(scheme, authority)
    }

    /// The origin of an absolute URL, such as a `Referer`.
    fn of_url(url: &str) -> Option<Self> {
        let (scheme, rest) = url.split_once("://")?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        Self::from_parts(scheme, &rest[..end])
    }

    fn from_parts(scheme: &str, authority: &str) -> Option<Self> {
        let https = if scheme.eq_ignore_ascii_case("https") {
            true
        } else if scheme.eq_ignore_ascii_case("http") {
            false
        } else {
            return None;
        };
        // An origin has no user name, and `parse` takes only what a URL authority may hold.
        let authority = Authority::parse(authority).ok()?;
        if authority.user_info().is_some() || authority.host().is_empty() {
            return None;
        }
        Some(Self::new(https, authority.host(), authority.port()))
    }
}
