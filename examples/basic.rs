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
    Access, AccessToken, AuthError, Issuer, Paseto, PasetoFairing, Refresh, Revoked, TokenPair,
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
fn login(login: Option<Json<Login>>, issuer: &Issuer) -> Result<TokenPair, AuthError> {
    match login {
        Some(login) if check_password(&login.username, &login.password) => {
            // A password login: its access token is fresh.
            Ok(issuer.fresh_pair(&login.username)?)
        }
        _ => Err(AuthError::BadCredentials),
    }
}

/// `GET /user` with an access token → whom it is for.
#[get("/user")]
fn user(token: Paseto<Access>) -> Json<Value> {
    Json(json!({ "user": token.subject() }))
}

/// `POST /refresh` with a refresh token → a new access token, in the refresh token's family.
#[post("/refresh")]
async fn refresh(token: Paseto<Refresh>, issuer: &Issuer) -> Result<AccessToken, AuthError> {
    issuer.access_from(&token).await
}

/// `POST /logout` with the access or the refresh token → revokes the whole login, and says
/// which kinds of its tokens are refused from now on.
#[post("/logout")]
async fn logout(
    access: Result<Paseto<Access>, AuthError>,
    refresh: Result<Paseto<Refresh>, AuthError>,
    issuer: &Issuer,
) -> Result<Json<Revoked>, AuthError> {
    let revoked = match (access, refresh) {
        (Ok(token), _) => issuer.revoke(&token).await?,
        (_, Ok(token)) => issuer.revoke(&token).await?,
        (Err(error), _) => return Err(error),
    };
    Ok(Json(revoked))
}

#[launch]
pub fn rocket() -> Rocket<Build> {
    // Logouts and refreshes are kept in this process's memory: the default with no store set.
    rocket::build()
        .attach(PasetoFairing::default())
        .register("/", rocket_paseto::catchers())
        .mount("/", routes![login, user, refresh, logout])
}
