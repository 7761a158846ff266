//! Bearer tokens for a JSON API: log in, call a protected route, refresh.
//!
//! ```sh
//! cargo run --example basic
//! curl -s localhost:8000/login -d '{"username":"test","password":"test"}'
//! curl -s localhost:8000/user -H "Authorization: Bearer $ACCESS_TOKEN"
//! curl -s -X POST localhost:8000/refresh -H "Authorization: Bearer $REFRESH_TOKEN"
//! ```
//!
//! Keys come from `Rocket.toml` (demo keys in the debug profile), `ROCKET_CONFIG` or
//! `ROCKET_PASETO`, as for any Rocket setting.

use rocket::serde::Deserialize;
use rocket::serde::json::{Json, Value, json};
use rocket::{Build, Rocket, get, launch, post, routes};
use rocket_paseto::{Access, AuthError, Issuer, Paseto, PasetoFairing, Refresh, TokenPair};
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
fn login(login: Option<Json<Login>>, issuer: &Issuer) -> Result<Json<TokenPair>, AuthError> {
    match login {
        Some(login) if check_password(&login.username, &login.password) => {
            // A password login: its access token is fresh.
            Ok(Json(issuer.fresh_pair(&login.username)?))
        }
        _ => Err(AuthError::BadCredentials),
    }
}

/// `GET /user` with an access token → whom it is for.
#[get("/user")]
fn user(token: Paseto<Access>) -> Json<Value> {
    Json(json!({ "user": token.subject() }))
}

/// `POST /refresh` with a refresh token → a new access token.
#[post("/refresh")]
fn refresh(token: Paseto<Refresh>, issuer: &Issuer) -> Result<Json<Value>, AuthError> {
    let pair_expiry = issuer
        .authority()
        .rules()
        .kind("access")
        .map(|k| k.ttl().as_secs());
    // The new token joins the refresh token's family: revoking one revokes both.
    let access_token = issuer.access(token.subject()).family_of(&token).issue()?;
    Ok(Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": pair_expiry,
    })))
}

#[launch]
pub fn rocket() -> Rocket<Build> {
    rocket::build()
        .attach(PasetoFairing::default())
        .register("/", rocket_paseto::catchers())
        .mount("/", routes![login, user, refresh])
}
