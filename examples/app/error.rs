//! What the routes fail with, and JSON bodies for every error status.

use rocket::http::Status;
use rocket::request::Request;
use rocket::response::{self, Responder};
use rocket::serde::json::{Json, Value, json};
use rocket::{Catcher, catch, catchers};
use rocket_db_pools::sqlx;
use rocket_paseto::AuthError;

/// A route's failure. Token and credential failures keep the library's bodies; database
/// failures are logged and answered without details.
#[derive(Debug)]
pub enum ApiError {
    Auth(AuthError),
    /// 422: the request is well-formed JSON, but a field is not acceptable.
    Invalid(&'static str, &'static str),
    /// 409: the username is taken.
    Taken,
    /// 404: nothing of the caller's has this id.
    NotFound,
    /// 503: the database cannot be reached right now.
    Unavailable,
    /// 500: anything else went wrong on this side.
    Internal,
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        ApiError::Auth(error)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        rocket::error!("database error: {error}");
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                ApiError::Unavailable
            }
            _ => ApiError::Internal,
        }
    }
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let (status, body) = match self {
            ApiError::Auth(error) => return error.respond_to(request),
            ApiError::Invalid(error, message) => (
                Status::UnprocessableEntity,
                json!({ "error": error, "message": message }),
            ),
            ApiError::Taken => (
                Status::Conflict,
                json!({ "error": "username_taken", "message": "This username is taken." }),
            ),
            ApiError::NotFound => (Status::NotFound, body(Status::NotFound)),
            ApiError::Unavailable => (Status::ServiceUnavailable, body(Status::ServiceUnavailable)),
            ApiError::Internal => (
                Status::InternalServerError,
                body(Status::InternalServerError),
            ),
        };
        (status, Json(body)).respond_to(request)
    }
}

/// The body of an error status, e.g. `{"error":"not_found","message":"Not Found"}`.
fn body(status: Status) -> Value {
    let reason = status.reason().unwrap_or("Error");
    let error = match status.code {
        400 => "bad_request",
        404 => "not_found",
        413 => "too_large",
        422 => "invalid_body",
        503 => "temporarily_unavailable",
        code if code >= 500 => "server_error",
        _ => "error",
    };
    json!({ "error": error, "message": reason })
}

/// JSON for the statuses Rocket answers itself: bodies that are malformed (400), of the wrong
/// shape (422) or too large (413), unknown routes (404), and anything else.
#[catch(default)]
fn any(status: Status, _: &Request<'_>) -> (Status, Json<Value>) {
    (status, Json(body(status)))
}

/// Register along with `rocket_paseto::catchers()`, which renders 401, 403 and 503.
pub fn json_catchers() -> Vec<Catcher> {
    catchers![any]
}
