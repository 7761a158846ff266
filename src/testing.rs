//! Helpers for testing an application through `rocket::local` clients, the way its clients use
//! it: log in through the application's own route and keep the pair, send a token as the guards
//! read it, and send the CSRF header a page sends. docs/testing.md walks a whole flow.
//!
//! ```
//! use rocket::http::Status;
//! use rocket::local::blocking::Client;
//! use rocket::serde::json::{Json, Value, json};
//! use rocket::{get, post, routes};
//! use rocket_paseto::{Access, AuthError, Paseto, PasetoFairing, Sessions, TokenPair, testing};
//!
//! #[post("/login", data = "<body>")]
//! async fn login(body: Json<Value>, sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
//!     let name = body["username"].as_str().ok_or(AuthError::BadCredentials)?;
//!     sessions.login(name).issue().await
//! }
//!
//! #[get("/user")]
//! fn user(token: Paseto<Access>) -> String {
//!     token.subject().to_owned()
//! }
//!
//! let figment = rocket::Config::figment().merge(("log_level", "off"));
//! let rocket = rocket::custom(figment)
//!     .attach(PasetoFairing::default())
//!     .mount("/", routes![login, user]);
//! let client = Client::tracked(rocket).unwrap();
//! let pair = testing::login(&client, "/login", &json!({ "username": "alice" }));
//! let bearer = testing::bearer(client.rocket(), &pair.access_token);
//! let response = client.get("/user").header(bearer).dispatch();
//! assert_eq!(response.into_string().unwrap(), "alice");
//! ```

use rocket::http::{CookieJar, Header, Status};
use rocket::local::{asynchronous, blocking};
use rocket::{Orbit, Rocket};
use serde::Serialize;

use crate::issuer::TokenPair;
use crate::state::AuthState;

/// Logs in through the route at `uri`, sending `body` as JSON as an API client would, and
/// returns the token pair it answers with. A tracked client also keeps the cookies the route
/// sets, as a browser does.
///
/// # Panics
///
/// When the route does not answer 200 with a token pair: this is for tests. The message gives
/// the status, never the body.
pub fn login<T: Serialize>(client: &blocking::Client, uri: &str, body: &T) -> TokenPair {
    let response = client.post(uri.to_owned()).json(body).dispatch();
    pair_of(response.status(), response.into_json())
}

/// [`login`] for an asynchronous client.
///
/// # Panics
///
/// As [`login`].
pub async fn login_async<T: Serialize>(
    client: &asynchronous::Client,
    uri: &str,
    body: &T,
) -> TokenPair {
    let response = client.post(uri.to_owned()).json(body).dispatch().await;
    let status = response.status();
    pair_of(status, response.into_json().await)
}

fn pair_of(status: Status, pair: Option<TokenPair>) -> TokenPair {
    match pair {
        Some(pair) if status == Status::Ok => pair,
        _ => panic!("the login route answered {status}, not 200 with a token pair"),
    }
}

/// The header that carries `token` as the guards read it: `Authorization: Bearer <token>`, or
/// the configured `header` and `scheme`. `rocket` is the client's (`client.rocket()`).
///
/// # Panics
///
/// When `PasetoFairing` is not attached to `rocket`.
pub fn bearer(rocket: &Rocket<Orbit>, token: &str) -> Header<'static> {
    let http = &state(rocket).http;
    Header::new(http.header.clone(), format!("{} {token}", http.scheme))
}

/// The CSRF header that the application's pages send with unsafe requests (`POST`, `PUT`,
/// `PATCH`, `DELETE`), made from the CSRF cookie in `jar`: a tracked client's `cookies()`,
/// after a cookie login. `None` when the jar holds no CSRF cookie, or the check is off
/// (`paseto.csrf = false`).
///
/// # Panics
///
/// When `PasetoFairing` is not attached to `rocket`.
pub fn csrf_header(rocket: &Rocket<Orbit>, jar: &CookieJar<'_>) -> Option<Header<'static>> {
    let http = &state(rocket).http;
    let name = http.csrf_header.clone()?;
    let value = jar.get(&http.csrf_cookie)?.value().to_owned();
    Some(Header::new(name, value))
}

fn state(rocket: &Rocket<Orbit>) -> &AuthState {
    AuthState::fetch(rocket).expect("PasetoFairing is attached")
}
