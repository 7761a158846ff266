//! Revocable sessions: logout that takes tokens back, and refresh-token rotation with reuse
//! detection.
//!
//! ```sh
//! cargo run --example sessions
//! curl -s localhost:8000/login -d '{"username":"test","password":"test"}'
//! curl -s localhost:8000/user -H "Authorization: Bearer $ACCESS_TOKEN"
//! curl -s -X POST localhost:8000/refresh -H "Authorization: Bearer $REFRESH_TOKEN"  # a new pair
//! curl -s -X POST localhost:8000/refresh -H "Authorization: Bearer $REFRESH_TOKEN"  # reuse: 401,
//! #   and every token of that session is refused
//! curl -s localhost:8000/session -H "Authorization: Bearer $REFRESH_TOKEN"  # {"sub", "fam"}
//! curl -s -X POST localhost:8000/logout -H "Authorization: Bearer $ACCESS_TOKEN"  # or refresh
//! ```
//!
//! Revocations are kept in memory unless the configuration says otherwise. With several
//! instances, share them through Redis (build with `--features redis`):
//!
//! ```sh
//! ROCKET_PASETO='{revocation={store="redis",url="redis://127.0.0.1:6379/"}}' \
//!     cargo run --features redis --example sessions
//! ```

use rocket::serde::Deserialize;
use rocket::serde::json::{Json, Value, json};
use rocket::{Build, Rocket, get, launch, post, routes};
use rocket_paseto::{
    Access, AuthError, LoggedOut, Paseto, PasetoFairing, Refresh, Sessions, TokenPair,
};
use subtle::ConstantTimeEq;

#[derive(Deserialize)]
#[serde(crate = "rocket::serde")]
struct Login {
    username: String,
    password: String,
}

/// The demo's only user: `test` / `test`. A real app checks a password hash instead.
fn check_password(username: &str, password: &str) -> bool {
    let user_ok = username.as_bytes().ct_eq(b"test");
    let password_ok = password.as_bytes().ct_eq(b"test");
    bool::from(user_ok & password_ok)
}

/// `POST /login {"username", "password"}` → an access and a refresh token of a new session.
#[post("/login", data = "<login>")]
async fn login(login: Option<Json<Login>>, sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
    match login {
        Some(login) if check_password(&login.username, &login.password) => {
            sessions.login(&login.username).fresh().issue().await
        }
        _ => Err(AuthError::BadCredentials),
    }
}

/// `GET /user` with an access token → whom it is for. Revoked tokens get a 401.
#[get("/user")]
fn user(token: Paseto<Access>) -> Json<Value> {
    Json(json!({ "user": token.subject() }))
}

/// `GET /session` with a refresh token → the session it belongs to. A refresh token that was
/// rotated is refused here too (and ends its session, as reuse).
#[get("/session")]
fn session(token: Paseto<Refresh>) -> Json<Value> {
    Json(json!({ "sub": token.subject(), "fam": token.claims().fam }))
}

/// `POST /refresh` with a refresh token → a new pair; the old refresh token is used up (a
/// second use within a few seconds, e.g. from another tab, gets the same generation).
#[post("/refresh")]
async fn refresh(token: Paseto<Refresh>, sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
    sessions.refresh(&token).await
}

/// `POST /logout` with the access or the refresh token → ends the whole session, and says
/// which kinds of its tokens are refused from now on.
#[post("/logout")]
async fn logout(sessions: Sessions<'_>) -> Result<Json<LoggedOut>, AuthError> {
    Ok(Json(sessions.logout().await?))
}

#[launch]
pub fn rocket() -> Rocket<Build> {
    // Revocations in memory (the default) unless the configuration names a store, e.g. Redis.
    // Sessions are not listed, so logins write nothing and go on while Redis is down: `join`
    // fills gaps only.
    let figment = rocket::Config::figment().join(("paseto.revocation.max_sessions", 0));
    rocket::custom(figment)
        .attach(PasetoFairing::default())
        .register("/", rocket_paseto::catchers())
        .mount("/", routes![login, user, session, refresh, logout])
}
