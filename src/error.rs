//! What a guard fails with, and how failures look to clients.

use std::io::Cursor;
use std::sync::atomic::{AtomicU8, Ordering};

use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket::{Catcher, catch, catchers as rocket_catchers};

use crate::cookies::CookieError;
use crate::issuer::Issuer;
use crate::token::{IssueError, Rejection};

/// Why authentication failed: the error of every guard in this crate, and a [`Responder`].
///
/// As a response it is JSON with the right status and an RFC 6750 `WWW-Authenticate` challenge.
/// Every rejected token gets the very same body, whichever check failed: the reason
/// ([`AuthError::Invalid`]) is for your logs, never for the client.
///
/// | variant | status | body `error` | `WWW-Authenticate` |
/// |---|---|---|---|
/// | `Missing` | 401 | `unauthorized` | `Bearer` |
/// | `Invalid(_)` | 401 | `invalid_token` | `Bearer error="invalid_token"` |
/// | `BadCredentials` | 401 | `invalid_credentials` | `Bearer` |
/// | `FreshRequired` | 401 | `fresh_token_required` | `Bearer error="insufficient_user_authentication", …` |
/// | `Csrf` | 403 | `csrf_failed` | — |
/// | `InsufficientScope` | 403 | `insufficient_scope` | `Bearer error="insufficient_scope"` |
/// | `Cookie(CookieError::TooLarge(_))` | 413 | `too_large` | — |
/// | `Unavailable` | 503 | `temporarily_unavailable` | — |
/// | `Issue(_)`, `Cookie(_)`, `Revocation(_)`, `NotConfigured` | 500 | `server_error` | — |
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The request carried no token.
    #[error("no token was presented")]
    Missing,
    /// A token was presented and rejected; the reason is for logs only.
    #[error("the token was rejected: {0}")]
    Invalid(Rejection),
    /// A token came from a cookie on an unsafe method without a matching CSRF header.
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
    Cookie(#[from] crate::cookies::CookieError),
    /// The revocation store could not answer and `on_error = "reject"`, so tokens of checked
    /// kinds are refused for now: 503, never 401, so clients keep their tokens and retry.
    #[error("the revocation store is unavailable")]
    Unavailable,
    /// A revocation (a logout) could not be recorded: the store failed.
    #[error(transparent)]
    Revocation(#[from] crate::revocation::StoreError),
    /// The fairing is not attached (a route's sentinel normally prevents this), or a feature
    /// used here needs configuration it lacks (e.g. revocation without a store).
    #[error("PasetoFairing is not attached, or not configured for this")]
    NotConfigured,
}

impl AuthError {
    /// The HTTP status this error responds with.
    pub fn status(&self) -> Status {
        match self {
            AuthError::Missing
            | AuthError::Invalid(_)
            | AuthError::BadCredentials
            | AuthError::FreshRequired => Status::Unauthorized,
            AuthError::Csrf | AuthError::InsufficientScope => Status::Forbidden,
            // The client sent more than fits in a cookie: its request, not our fault.
            AuthError::Cookie(CookieError::TooLarge(_)) => Status::PayloadTooLarge,
            AuthError::Unavailable => Status::ServiceUnavailable,
            AuthError::Issue(_)
            | AuthError::Cookie(_)
            | AuthError::Revocation(_)
            | AuthError::NotConfigured => Status::InternalServerError,
        }
    }

    /// Whether the request simply had no token (as opposed to a bad one).
    pub fn is_missing(&self) -> bool {
        matches!(self, AuthError::Missing)
    }

    fn body(&self) -> Body {
        match self {
            AuthError::Missing => Body::Missing,
            AuthError::Invalid(_) => Body::Invalid,
            AuthError::BadCredentials => Body::BadCredentials,
            AuthError::FreshRequired => Body::FreshRequired,
            AuthError::Csrf => Body::Csrf,
            AuthError::InsufficientScope => Body::InsufficientScope,
            AuthError::Unavailable => Body::Unavailable,
            AuthError::Cookie(CookieError::TooLarge(_)) => Body::TooLarge,
            AuthError::Issue(_)
            | AuthError::Cookie(_)
            | AuthError::Revocation(_)
            | AuthError::NotConfigured => Body::ServerError,
        }
    }
}

/// The fixed response bodies. Fixed strings keep failures byte-identical whatever their cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Body {
    None = 0,
    Missing,
    Invalid,
    BadCredentials,
    Csrf,
    Forbidden,
    ServerError,
    InsufficientScope,
    FreshRequired,
    Unavailable,
    TooLarge,
}

impl Body {
    fn json(self) -> &'static str {
        match self {
            Body::None | Body::Missing => {
                r#"{"error":"unauthorized","message":"Authentication is required."}"#
            }
            Body::Invalid => {
                r#"{"error":"invalid_token","message":"The token is invalid or has expired."}"#
            }
            Body::BadCredentials => {
                r#"{"error":"invalid_credentials","message":"Bad username or password."}"#
            }
            Body::Csrf => r#"{"error":"csrf_failed","message":"A valid CSRF token is required."}"#,
            Body::Forbidden => r#"{"error":"forbidden","message":"Access is forbidden."}"#,
            Body::ServerError => {
                r#"{"error":"server_error","message":"The request could not be completed."}"#
            }
            Body::InsufficientScope => {
                r#"{"error":"insufficient_scope","message":"The token does not grant this."}"#
            }
            Body::FreshRequired => {
                r#"{"error":"fresh_token_required","message":"Sign in again to do this."}"#
            }
            Body::Unavailable => {
                r#"{"error":"temporarily_unavailable","message":"Try again shortly."}"#
            }
            Body::TooLarge => {
                r#"{"error":"too_large","message":"The value is too large to store."}"#
            }
        }
    }

    fn from_u8(v: u8) -> Body {
        match v {
            1 => Body::Missing,
            2 => Body::Invalid,
            3 => Body::BadCredentials,
            4 => Body::Csrf,
            5 => Body::Forbidden,
            6 => Body::ServerError,
            7 => Body::InsufficientScope,
            8 => Body::FreshRequired,
            9 => Body::Unavailable,
            10 => Body::TooLarge,
            _ => Body::None,
        }
    }

    fn status(self) -> Status {
        match self {
            Body::None
            | Body::Missing
            | Body::Invalid
            | Body::BadCredentials
            | Body::FreshRequired => Status::Unauthorized,
            Body::Csrf | Body::Forbidden | Body::InsufficientScope => Status::Forbidden,
            Body::ServerError => Status::InternalServerError,
            Body::Unavailable => Status::ServiceUnavailable,
            Body::TooLarge => Status::PayloadTooLarge,
        }
    }
}

/// The last guard failure of a request, for the catchers.
struct LastFailure(AtomicU8);

pub(crate) fn record(request: &Request<'_>, error: &AuthError) {
    request
        .local_cache(|| LastFailure(AtomicU8::new(0)))
        .0
        .store(error.body() as u8, Ordering::Relaxed);
}

fn last(request: &Request<'_>) -> Body {
    Body::from_u8(
        request
            .local_cache(|| LastFailure(AtomicU8::new(0)))
            .0
            .load(Ordering::Relaxed),
    )
}

/// A failure response with one of the fixed bodies.
struct Rendered(Body);

impl<'r> Responder<'r, 'static> for Rendered {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        Ok(respond(request, self.0))
    }
}

fn respond(request: &Request<'_>, body: Body) -> Response<'static> {
    let json = body.json();
    let mut response = Response::build()
        .status(body.status())
        .header(ContentType::JSON)
        .sized_body(json.len(), Cursor::new(json))
        .finalize();
    let scheme = request
        .rocket()
        .state::<Issuer>()
        .map(|i| i.shared().web.scheme.as_str())
        .unwrap_or("Bearer");
    // RFC 6750 challenges; RFC 9470's `insufficient_user_authentication` for freshness, so that
    // clients sign in again instead of refreshing (a refresh never makes a token fresh).
    let challenge = match body {
        Body::Invalid => Some(format!(r#"{scheme} error="invalid_token""#)),
        Body::FreshRequired => Some(format!(
            r#"{scheme} error="insufficient_user_authentication", error_description="A fresh token is required""#
        )),
        Body::InsufficientScope => Some(format!(r#"{scheme} error="insufficient_scope""#)),
        _ if body.status() == Status::Unauthorized => Some(scheme.to_owned()),
        _ => None,
    };
    if let Some(challenge) = challenge {
        response.set_header(Header::new("WWW-Authenticate", challenge));
    }
    if body == Body::Unavailable {
        response.set_header(Header::new("Retry-After", "1"));
    }
    response
}

impl<'r> Responder<'r, 'static> for AuthError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        match &self {
            AuthError::Cookie(CookieError::TooLarge(_)) => rocket::info!("rocket_paseto: {self}"),
            AuthError::Issue(_) | AuthError::Cookie(_) | AuthError::Revocation(_) => {
                rocket::error!("rocket_paseto: {self}")
            }
            _ => {}
        }
        Ok(respond(request, self.body()))
    }
}

#[catch(401)]
fn unauthorized(request: &Request<'_>) -> Rendered {
    match last(request) {
        body @ (Body::Invalid | Body::Missing | Body::BadCredentials) => Rendered(body),
        _ => Rendered(Body::Missing),
    }
}

#[catch(403)]
fn forbidden(request: &Request<'_>) -> Rendered {
    match last(request) {
        Body::Csrf => Rendered(Body::Csrf),
        _ => Rendered(Body::Forbidden),
    }
}

#[catch(503)]
fn unavailable(_: &Request<'_>) -> Rendered {
    Rendered(Body::Unavailable)
}

/// Catchers that render 401 and 403 as JSON with an RFC 6750 `WWW-Authenticate` challenge, and
/// 503 (a revocation store that cannot answer) as JSON.
///
/// ```
/// let rocket = rocket::build().register("/", rocket_paseto::catchers());
/// ```
pub fn catchers() -> Vec<Catcher> {
    rocket_catchers![unauthorized, forbidden, unavailable]
}
