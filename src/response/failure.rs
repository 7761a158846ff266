//! How each failure looks to clients: one table of status, body and challenge
//! ([`Body::row`]), the guards' outcomes, the record of a request's last failure for the
//! catchers, and the catchers themselves.

use std::io::Cursor;
use std::sync::Mutex;

use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket::{Catcher, catch, catchers as rocket_catchers};

use crate::config::MissingToken;
use crate::error::{AuthError, CookieError};
use crate::state::AuthState;
use crate::token::{IssueError, Rejection};

impl AuthError {
    /// The HTTP status this error responds with.
    pub fn status(&self) -> Status {
        self.body().row().status
    }

    /// Whether this is a genuine token that failed only because it expired, or because its
    /// login (its family, `fam_exp`) ended: the one cause clients are told, so that they
    /// refresh their token or sign in again.
    pub fn is_expired(&self) -> bool {
        self.body() == Body::Expired
    }

    /// The last failure of this crate's guards in `request`, if any: for your own catchers, to
    /// render the failure their own way.
    ///
    /// `None` when no guard of this crate failed, e.g. when a route answered
    /// `Status::Unauthorized` itself. A guard that forwarded a request without a token
    /// (`paseto.missing_token = "forward"`) records [`AuthError::Missing`].
    ///
    /// Show clients no more than the status, [`is_expired`](Self::is_expired) and what
    /// [`with_body`](Self::with_body) keeps: the [`Rejection`] inside [`AuthError::Invalid`]
    /// belongs in logs, never in a body.
    ///
    /// ```
    /// use rocket::response::content::RawHtml;
    /// use rocket::{Request, catch, catchers};
    /// use rocket_paseto::{AuthError, AuthFailure};
    ///
    /// #[catch(401)]
    /// fn unauthorized(request: &Request<'_>) -> AuthFailure<RawHtml<&'static str>> {
    ///     let error = AuthError::of(request).unwrap_or(AuthError::Missing);
    ///     let page = if error.is_expired() {
    ///         "<h1>Your session has expired</h1>"
    ///     } else {
    ///         "<h1>Please sign in</h1>"
    ///     };
    ///     // Still a 401 with the `WWW-Authenticate` challenge.
    ///     error.with_body(RawHtml(page))
    /// }
    ///
    /// let rocket = rocket::build().register("/", catchers![unauthorized]);
    /// ```
    pub fn of(request: &Request<'_>) -> Option<AuthError> {
        LastFailure::of(request).clone()
    }

    /// Responds with `body` in place of this crate's JSON, keeping the status and the
    /// `WWW-Authenticate` (with the configured scheme) and `Retry-After` headers: for routes
    /// (`Result<T, AuthFailure<R>>`) and for your own catchers (see [`AuthError::of`]).
    ///
    /// ```
    /// use rocket::serde::json::{Json, Value, json};
    /// use rocket_paseto::{Access, AuthError, AuthFailure, Paseto};
    ///
    /// #[rocket::get("/me")]
    /// fn me(auth: Result<Paseto<Access>, AuthError>) -> Result<String, AuthFailure<Json<Value>>> {
    ///     let token = auth.map_err(|e| {
    ///         let code = if e.is_expired() { "expired" } else { "login_required" };
    ///         e.with_body(Json(json!({ "code": code })))
    ///     })?;
    ///     Ok(token.subject().to_owned())
    /// }
    /// ```
    pub fn with_body<R>(self, body: R) -> AuthFailure<R> {
        AuthFailure { error: self, body }
    }

    /// The guard outcome of this failure: a forward to the next route (with status 401, the
    /// catcher's if no route is left) for a missing token when `paseto.missing_token` is
    /// `"forward"`, the error otherwise. Recorded either way, for the catchers.
    pub(crate) fn outcome<T>(
        self,
        request: &Request<'_>,
    ) -> rocket::request::Outcome<T, AuthError> {
        let forward = matches!(self, AuthError::Missing)
            && AuthState::of(request)
                .is_some_and(|s| s.http.missing_token == MissingToken::Forward);
        if forward {
            *LastFailure::of(request) = Some(self);
            return rocket::request::Outcome::Forward(Status::Unauthorized);
        }
        self.fail(request)
    }

    fn body(&self) -> Body {
        match self {
            AuthError::Missing => Body::Missing,
            // Only verified tokens are judged on `exp`, and only after every other claim.
            AuthError::Invalid(Rejection::Expired) => Body::Expired,
            AuthError::Invalid(_) | AuthError::ClaimsMismatch => Body::Invalid,
            // A login that has ended cannot grow: the client's token is too old, not our fault.
            AuthError::Issue(IssueError::SessionEnded) => Body::Expired,
            AuthError::BadCredentials => Body::BadCredentials,
            AuthError::FreshRequired => Body::FreshRequired,
            AuthError::Csrf => Body::Csrf,
            AuthError::InsufficientScope => Body::InsufficientScope,
            // A store that failed is a transient outage, whichever call met it.
            AuthError::Unavailable => Body::Unavailable,
            // The client sent more than fits in a cookie: its request, not our fault.
            AuthError::Cookie(CookieError::TooLarge(_)) => Body::TooLarge,
            AuthError::Throttled(wait) => {
                Body::Throttled(wait.as_secs_f64().ceil().max(1.0) as u64)
            }
            AuthError::Issue(_) | AuthError::Cookie(_) | AuthError::NotConfigured => {
                Body::ServerError
            }
        }
    }

    /// Records this error as the request's last guard failure, for the catchers, and returns it
    /// as a guard outcome.
    pub(crate) fn fail<T>(self, request: &Request<'_>) -> rocket::request::Outcome<T, AuthError> {
        *LastFailure::of(request) = Some(self.clone());
        rocket::request::Outcome::Error((self.status(), self))
    }

    /// Logs what the server should know about: its own failures.
    fn log(&self) {
        match self {
            AuthError::Cookie(CookieError::TooLarge(_)) => rocket::info!("rocket_paseto: {self}"),
            AuthError::Issue(_) | AuthError::Cookie(_) => {
                rocket::error!("rocket_paseto: {self}")
            }
            _ => {}
        }
    }
}

/// An [`AuthError`] that responds with a body of your own, made by [`AuthError::with_body`]:
/// `R`'s response with the error's status, `WWW-Authenticate` and `Retry-After`.
///
/// Like Rocket's [`status::Custom`](rocket::response::status::Custom), it wraps any responder
/// and overrides only what it owns.
#[derive(Debug)]
#[must_use = "a response does nothing unless returned"]
pub struct AuthFailure<R> {
    error: AuthError,
    body: R,
}

impl<R> AuthFailure<R> {
    /// The error this responds for.
    pub fn error(&self) -> &AuthError {
        &self.error
    }
}

impl<'r, 'o: 'r, R: Responder<'r, 'o>> Responder<'r, 'o> for AuthFailure<R> {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'o> {
        self.error.log();
        let mut response = self.body.respond_to(request)?;
        self.error.body().decorate(&mut response, request);
        Ok(response)
    }
}

/// The fixed response bodies. Fixed strings keep failures byte-identical whatever their cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Missing,
    Invalid,
    Expired,
    BadCredentials,
    Csrf,
    Forbidden,
    ServerError,
    InsufficientScope,
    FreshRequired,
    Unavailable,
    TooLarge,
    /// With the seconds for `Retry-After`.
    Throttled(u64),
}

/// RFC 9470's challenge for a token that is not fresh enough.
const FRESH_CHALLENGE: &str =
    r#" error="insufficient_user_authentication", error_description="A fresh token is required""#;

/// RFC 6750's challenge for an expired token, also given in the body.
const EXPIRED_CHALLENGE: &str =
    r#" error="invalid_token", error_description="The access token expired""#;
const EXPIRED_JSON: &str = r#"{"error":"invalid_token","error_description":"The access token expired","message":"The token is invalid or has expired."}"#;

/// The body of a throttled login attempt: the same whether the account exists or not.
const THROTTLED_JSON: &str =
    r#"{"error":"too_many_attempts","message":"Too many failed attempts. Try again later."}"#;

/// One row of the failure table: status, JSON body, and what follows the scheme in the
/// `WWW-Authenticate` challenge (`Some("")` for the bare scheme).
struct Row {
    status: Status,
    json: &'static str,
    challenge: Option<&'static str>,
}

impl Row {
    const fn new(status: Status, json: &'static str, challenge: Option<&'static str>) -> Row {
        Row {
            status,
            json,
            challenge,
        }
    }
}

impl Body {
    /// The table: every failure's status, body and challenge (RFC 6750; RFC 9470's
    /// `insufficient_user_authentication` for freshness, so that clients sign in again instead
    /// of refreshing).
    fn row(self) -> Row {
        use Status as S;
        let row = Row::new;
        match self {
            Body::Missing => row(
                S::Unauthorized,
                r#"{"error":"unauthorized","message":"Authentication is required."}"#,
                Some(""),
            ),
            Body::Invalid => row(
                S::Unauthorized,
                r#"{"error":"invalid_token","message":"The token is invalid or has expired."}"#,
                Some(r#" error="invalid_token""#),
            ),
            Body::Expired => row(S::Unauthorized, EXPIRED_JSON, Some(EXPIRED_CHALLENGE)),
            Body::BadCredentials => row(
                S::Unauthorized,
                r#"{"error":"invalid_credentials","message":"Bad username or password."}"#,
                Some(""),
            ),
            Body::FreshRequired => row(
                S::Unauthorized,
                r#"{"error":"fresh_token_required","message":"Sign in again to do this."}"#,
                Some(FRESH_CHALLENGE),
            ),
            Body::Csrf => row(
                S::Forbidden,
                r#"{"error":"csrf_failed","message":"A valid CSRF token is required."}"#,
                None,
            ),
            Body::Forbidden => row(
                S::Forbidden,
                r#"{"error":"forbidden","message":"Access is forbidden."}"#,
                None,
            ),
            Body::InsufficientScope => row(
                S::Forbidden,
                r#"{"error":"insufficient_scope","message":"The token does not grant this."}"#,
                Some(r#" error="insufficient_scope""#),
            ),
            Body::TooLarge => row(
                S::PayloadTooLarge,
                r#"{"error":"too_large","message":"The value is too large to store."}"#,
                None,
            ),
            Body::Throttled(_) => row(S::TooManyRequests, THROTTLED_JSON, None),
            Body::ServerError => row(
                S::InternalServerError,
                r#"{"error":"server_error","message":"The request could not be completed."}"#,
                None,
            ),
            Body::Unavailable => row(
                S::ServiceUnavailable,
                r#"{"error":"temporarily_unavailable","message":"Try again shortly."}"#,
                None,
            ),
        }
    }

    fn respond(self, request: &Request<'_>) -> Response<'static> {
        let json = self.row().json;
        let mut response = Response::build()
            .header(ContentType::JSON)
            .sized_body(json.len(), Cursor::new(json))
            .finalize();
        self.decorate(&mut response, request);
        response
    }

    /// Sets the status and headers of this failure on `response`, whatever its body.
    fn decorate(self, response: &mut Response<'_>, request: &Request<'_>) {
        let row = self.row();
        response.set_status(row.status);
        if let Some(rest) = row.challenge {
            let scheme = AuthState::of(request).map_or("Bearer", |s| s.http.scheme.as_str());
            response.set_header(Header::new("WWW-Authenticate", format!("{scheme}{rest}")));
        }
        let retry_after = match self {
            Body::Unavailable => Some(1),
            Body::Throttled(seconds) => Some(seconds),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response.set_header(Header::new("Retry-After", seconds.to_string()));
        }
    }
}

/// The last guard failure of a request, for the catchers.
struct LastFailure(Mutex<Option<AuthError>>);

impl LastFailure {
    fn of<'r>(request: &'r Request<'_>) -> std::sync::MutexGuard<'r, Option<AuthError>> {
        let failure = request.local_cache(|| LastFailure(Mutex::new(None)));
        // Each write replaces the whole value: a poisoned lock still holds a valid one.
        failure.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn last(request: &Request<'_>) -> Option<Body> {
    LastFailure::of(request).as_ref().map(AuthError::body)
}

/// A failure response with one of the fixed bodies.
struct Rendered(Body);

impl<'r> Responder<'r, 'static> for Rendered {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        Ok(self.0.respond(request))
    }
}

impl<'r> Responder<'r, 'static> for AuthError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        self.log();
        Ok(self.body().respond(request))
    }
}

#[catch(401)]
fn unauthorized(request: &Request<'_>) -> Rendered {
    match last(request) {
        Some(body @ (Body::Invalid | Body::Expired | Body::Missing | Body::BadCredentials)) => {
            Rendered(body)
        }
        _ => Rendered(Body::Missing),
    }
}

#[catch(403)]
fn forbidden(request: &Request<'_>) -> Rendered {
    match last(request) {
        Some(Body::Csrf) => Rendered(Body::Csrf),
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
