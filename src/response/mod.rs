//! What clients receive: responses that carry tokens, never stored by caches (RFC 6749,
//! section 5.1), and failures, rendered from one table (`failure`).

mod failure;

pub use failure::{AuthFailure, catchers};

use std::fmt::Write;

use rocket::http::ContentType;
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket::serde::json::Json;

use crate::issuer::TokenPair;
use crate::state::TokensSet;
use crate::token::needs_escaping;

impl<'r> Responder<'r, 'static> for TokenPair {
    /// JSON with `Cache-Control: no-store`, as token responses must be (RFC 6749, section 5.1).
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        match pair_json(&self) {
            Some(body) => no_store((ContentType::JSON, body).respond_to(request)?),
            None => no_store(Json(self).respond_to(request)?),
        }
    }
}

/// The JSON that serde writes for `pair`, written directly when no field needs escaping (as
/// tokens never do): serde examines every byte of the tokens on every login and refresh.
/// `None` when a field needs escaping, for serde to write.
fn pair_json(pair: &TokenPair) -> Option<String> {
    let fields = [&pair.access_token, &pair.refresh_token, &pair.token_type];
    if fields.iter().any(|field| needs_escaping(field)) {
        return None;
    }
    let mut body = String::with_capacity(fields.iter().map(|f| f.len()).sum::<usize>() + 96);
    body.push_str("{\"access_token\":\"");
    body.push_str(&pair.access_token);
    if !pair.refresh_token.is_empty() {
        body.push_str("\",\"refresh_token\":\"");
        body.push_str(&pair.refresh_token);
    }
    body.push_str("\",\"token_type\":\"");
    body.push_str(&pair.token_type);
    // Writing to a `String` cannot fail.
    let _ = write!(body, "\",\"expires_in\":{}}}", pair.expires_in);
    Some(body)
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Written directly or not, the body is what serde writes.
        #[test]
        fn a_pair_is_written_as_serde_writes_it(
            access_token in "[A-Za-z0-9._-]{1,300}|.{0,20}",
            refresh_token in "[A-Za-z0-9._-]{0,300}|.{0,20}",
            token_type in "Bearer|DPoP|.{0,10}",
            expires_in in any::<u64>(),
        ) {
            let pair = TokenPair { access_token, refresh_token, token_type, expires_in };
            let expected = serde_json::to_string(&pair).unwrap();
            match pair_json(&pair) {
                Some(body) => prop_assert_eq!(body, expected),
                None => prop_assert!(expected.contains('\\')),
            }
        }
    }
}
