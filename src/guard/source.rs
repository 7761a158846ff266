//! Where a guard finds its token: the header, the kind's cookie, or the kind's query parameter.

use std::borrow::Cow;

use rocket::request::Request;

use super::query;
use crate::config::KindSettings;
use crate::error::AuthError;
use crate::state::AuthState;
use crate::token::Rejection;

/// Where a token was found.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    Header,
    Cookie,
    /// The kind's query parameter, read only by guards wrapped in `QueryToken`: never sent by
    /// a browser on its own, so no CSRF check.
    Query,
}

/// The request's token of `kind` (at `index` among the kinds), and where it was found; the
/// query string only where the route allows it (`with_query`).
pub(super) fn find_token<'r>(
    request: &'r Request<'_>,
    state: &AuthState,
    (index, kind): (usize, &KindSettings),
    with_query: bool,
) -> Result<(&'r str, Source), AuthError> {
    let http = &state.http;
    let mut values = header_values(request, &http.header);
    match (values.next(), values.next()) {
        (Some(_), Some(_)) => Err(AuthError::Invalid(Rejection::Malformed)),
        (Some(value), None) => from_authorization(value, &http.scheme)
            .map(|token| (token, Source::Header))
            .ok_or(AuthError::Invalid(Rejection::Malformed)),
        // The query string last: a link can carry anyone's token, so it never overrides the
        // browser's own cookie. A present cookie never falls back to it.
        (None, _) => match kind
            .cookie
            .as_deref()
            .and_then(|c| request.cookies().get(c))
        {
            Some(cookie) => Ok((cookie.value(), Source::Cookie)),
            None if with_query => {
                from_query(request, state, index, kind).map(|token| (token, Source::Query))
            }
            None => Err(AuthError::Missing),
        },
    }
}

/// The values of the header `name`, found by comparing the request's few header names in
/// turn: Rocket's lookup hashes a name (with SipHash, one byte at a time), which costs several
/// times a scan on every guarded request.
fn header_values<'r>(request: &'r Request<'_>, name: &str) -> impl Iterator<Item = &'r str> {
    let headers = request.headers().iter();
    headers
        .filter(move |header| header.name() == name)
        .filter_map(|header| match header.value {
            Cow::Borrowed(value) => Some(value),
            // `iter` lends the request's values: an owned one is never made, and could not
            // outlive this call.
            Cow::Owned(_) => None,
        })
}

/// The token in the kind's query parameter, if it has one; given twice or empty, a bad token.
///
/// Read only on `GET` (WebSocket upgrades and links) and only from a browser that holds none of
/// the crate's cookies: a link can carry anyone's token, and must never act for a browser that
/// is signed in (or can be, through its refresh or remember-me cookie) as someone else.
fn from_query<'r>(
    request: &'r Request<'_>,
    state: &AuthState,
    index: usize,
    kind: &KindSettings,
) -> Result<&'r str, AuthError> {
    if request.method() != rocket::http::Method::Get || holds_session_cookie(request, state) {
        return Err(AuthError::Missing);
    }
    query::sent(request, index, kind)
}

/// Whether the request carries any of the crate's token, CSRF or remember-me cookies.
fn holds_session_cookie(request: &Request<'_>, state: &AuthState) -> bool {
    let jar = request.cookies();
    let http = &state.http;
    state
        .kinds
        .iter()
        .filter_map(|kind| kind.cookie.as_deref())
        .chain([http.csrf_cookie.as_str(), http.remember_cookie.as_str()])
        .any(|name| jar.get(name).is_some())
}

/// The token in an `Authorization`-style header value `"<scheme> <token>"`, with the scheme
/// matched case-insensitively (RFC 9110) and surrounding spaces ignored. `None` when the scheme
/// differs or no token follows.
pub(crate) fn from_authorization<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (given, token) = value.split_once(' ')?;
    let token = token.trim_matches(' ');
    (given.eq_ignore_ascii_case(scheme) && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::from_authorization;

    #[test]
    fn the_scheme_is_matched_case_insensitively() {
        assert_eq!(
            from_authorization("bearer v4.local.x", "Bearer"),
            Some("v4.local.x")
        );
        assert_eq!(from_authorization("Basic dXNlcg==", "Bearer"), None);
    }
}
