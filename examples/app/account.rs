//! Account recovery and passwordless login: password resets and magic links, each a single-use
//! token sent to the user through the outbox.

use rocket::http::Status;
use rocket::serde::Deserialize;
use rocket::serde::json::{Json, Value, json};
use rocket::{Route, State, post, routes};
use rocket_paseto::{AuthError, Issuer, Sessions, SingleUse, TokenPair};

use super::db::{self, Db};
use super::error::ApiError;
use super::outbox::{Message, Outbox};
use super::{checks, password};

pub fn routes() -> Vec<Route> {
    routes![
        request_password_reset,
        confirm_password_reset,
        request_magic_link,
        confirm_magic_link
    ]
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(crate = "rocket::serde")]
pub struct Username {
    username: String,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(crate = "rocket::serde")]
pub struct Reset {
    token: String,
    new_password: String,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(crate = "rocket::serde")]
pub struct Link {
    token: String,
}

/// The answer to every request for a message, sent or not.
fn accepted() -> (Status, Json<Value>) {
    let body = json!({ "status": "accepted", "message": "If the account exists, a message is on its way." });
    (Status::Accepted, Json(body))
}

/// Sends `username` a single-use token for `purpose`, if the account exists; the answer is
/// the same either way, and the message is written in the background.
async fn send(
    username: &str,
    purpose: SingleUse,
    message: Message,
    db: &Db,
    issuer: &Issuer,
    outbox: &Outbox,
) -> Result<(Status, Json<Value>), ApiError> {
    if let Some(user) = db::credentials(db, username).await? {
        match issuer.single_use(purpose, user.id.to_string()).issue() {
            Ok(token) => outbox.send(username, message, token),
            // Logged, and answered as any other request: a 500 here would tell that the
            // account exists.
            Err(e) => rocket::error!("a single-use token could not be minted: {e}"),
        }
    }
    Ok(accepted())
}

/// `POST /password-reset {"username"}` → 202, whether or not the user exists; a user that does
/// gets a `password_reset` message with a token valid once, for 15 minutes.
#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/password-reset", request_body = Username,
    responses((status = 202, body = Value)),
))]
#[post("/password-reset", data = "<body>")]
async fn request_password_reset(
    body: Json<Username>,
    db: &State<Db>,
    issuer: &Issuer,
    outbox: &State<Outbox>,
) -> Result<(Status, Json<Value>), ApiError> {
    let purpose = SingleUse::PasswordReset;
    send(
        &body.username,
        purpose,
        Message::PasswordReset,
        db,
        issuer,
        outbox,
    )
    .await
}

/// `POST /password-reset/confirm {"token", "new_password"}` → 200: the password is replaced and
/// every session of the user has ended (and every reset token sent before). A token used
/// before, expired or forged is a 401; an unacceptable password a 422, and the token stays
/// usable.
#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/password-reset/confirm", request_body = Reset,
    responses((status = 200, body = Value), (status = 422), AuthError),
))]
#[post("/password-reset/confirm", data = "<body>")]
async fn confirm_password_reset(
    body: Json<Reset>,
    db: &State<Db>,
    issuer: &Issuer,
) -> Result<Json<Value>, ApiError> {
    let Reset {
        token,
        new_password,
    } = body.into_inner();
    checks::password(&new_password)?;
    // Spent first (a forged token costs no hashing); this ends every session of the user.
    let reset = issuer.consume(SingleUse::PasswordReset, &token).await?;
    let subject = &reset.claims().sub;
    let id: i64 = subject.parse().map_err(|_| ApiError::Internal)?;
    let hash = password::hash(new_password)
        .await
        .ok_or(ApiError::Internal)?;
    if !db::set_password(db, id, &hash).await? {
        return Err(ApiError::NotFound);
    }
    // Once more after the write: a login with the old password while the new one was being
    // hashed must not outlive the reset.
    issuer.end_sessions_of(subject).await?;
    Ok(Json(json!({ "password": "changed", "sessions": "ended" })))
}

/// `POST /magic-link {"username"}` → 202, whether or not the user exists; a user that does
/// gets a `magic_link` message with a token valid once, for 15 minutes.
#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/magic-link", request_body = Username,
    responses((status = 202, body = Value)),
))]
#[post("/magic-link", data = "<body>")]
async fn request_magic_link(
    body: Json<Username>,
    db: &State<Db>,
    issuer: &Issuer,
    outbox: &State<Outbox>,
) -> Result<(Status, Json<Value>), ApiError> {
    let purpose = SingleUse::MagicLink;
    send(
        &body.username,
        purpose,
        Message::MagicLink,
        db,
        issuer,
        outbox,
    )
    .await
}

/// `POST /magic-link/confirm {"token"}` → a token pair of a new session, its access token
/// fresh (the link proves the user reads the account's messages now). Works once.
#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/magic-link/confirm", request_body = Link,
    responses((status = 200, body = TokenPair), AuthError),
))]
#[post("/magic-link/confirm", data = "<body>")]
async fn confirm_magic_link(
    body: Json<Link>,
    issuer: &Issuer,
    sessions: Sessions<'_>,
) -> Result<TokenPair, AuthError> {
    let link = issuer.consume(SingleUse::MagicLink, &body.token).await?;
    sessions.login(&link.claims().sub).fresh().issue().await
}
