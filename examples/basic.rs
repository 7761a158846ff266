//! Bearer tokens for a JSON API: log in, call a protected route, refresh, log out.
//!
//! ```sh
//! cargo run --example basic
//! curl -s localhost:8000/login -d '{"username":"test","password":"test"}'
//! curl -s localhost:8000/user -H "Authorization: Bearer $ACCESS_TOKEN"
//! curl -s -X POST localhost:8000/refresh -H "Authorization: Bearer $REFRESH_TOKEN"
//! curl -s -X POST localhost:8000/logout -H "Authorization: Bearer $REFRESH_TOKEN"  # or the access token
//! ```
//!
//! Keys come from `Rocket.toml` (demo keys in the debug profile), `ROCKET_CONFIG` or
//! `ROCKET_PASETO`, as for any Rocket setting. The debug profile also publishes the public
//! signing key for verifiers (`curl -s localhost:8000/.well-known/paseto-keys`).

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

/// `POST /login {"username", "password"}` → an access and a refresh token.
#[post("/login", data = "<login>")]
async fn login(login: Option<Json<Login>>, sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
    match login {
        Some(login) if check_password(&login.username, &login.password) => {
            // A password login: its access token is fresh.
            sessions.login(&login.username).fresh().issue().await
        }
        _ => Err(AuthError::BadCredentials),
    }
}

/// `GET /user` with an access token → whom it is for.
#[get("/user")]
fn user(token: Paseto<Access>) -> Json<Value> {
    Json(json!({ "user": token.subject() }))
}

/// `POST /refresh` with a refresh token → a new access token in the same session (this
/// example does not rotate refresh tokens: see `examples/sessions.rs` for rotation).
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
    // Revocations in memory (the default), refresh tokens that serve until they expire, and
    // sessions not listed (logins write nothing): `join` fills gaps only.
    let figment = rocket::Config::figment()
        .join(("paseto.revocation.rotate", false))
        .join(("paseto.revocation.max_sessions", 0));
    rocket::custom(figment)
        .attach(PasetoFairing::default())
        .register("/", rocket_paseto::catchers())
        .mount("/", routes![login, user, refresh, logout])
}
