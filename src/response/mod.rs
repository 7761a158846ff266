//! What clients receive: responses that carry tokens, never stored by caches (RFC 6749,
//! section 5.1), and failures, rendered from one table (`failure`).

mod failure;

pub use failure::{AuthFailure, catchers};

use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket::serde::json::Json;

use crate::issuer::TokenPair;
use crate::state::TokensSet;

impl<'r> Responder<'r, 'static> for TokenPair {
    /// JSON with `Cache-Control: no-store`, as token responses must be (RFC 6749, section 5.1).
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        no_store(Json(self).respond_to(request)?)
    }
}

/// Marks a response that carries tokens as never to be stored by caches.
fn no_store(mut response: Response<'static>) -> response::Result<'static> {
    response.set_raw_header("Cache-Control", "no-store");
    response.set_raw_header("Pragma", "no-cache");
    Ok(response)
}

/// For the fairing: marks `response` `no-store` when the request set token cookies.
pub(crate) fn protect_token_cookies(request: &Request<'_>, response: &mut Response<'_>) {
    // Rocket adds the jar's cookies before response fairings run: a response without any sets
    // no token cookie, and the mark (inserted into the request's cache by a first look) is
    // not looked up on every request. The few headers are compared in turn rather than
    // hashed, which their case-insensitive names make slow.
    let sets_cookies = response.headers().iter().any(|h| h.name() == "Set-Cookie");
    if sets_cookies && TokensSet::of(request).is_set() {
        response.set_raw_header("Cache-Control", "no-store");
        response.set_raw_header("Pragma", "no-cache");
    }
}
