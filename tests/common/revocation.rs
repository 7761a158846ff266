//! An app with login, rotation and logout routes, run as several instances over async clients
//! so they share one runtime (and, in the Redis tests, one Redis server).

use rocket::http::{Header, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::serde::json::Json;
use rocket::{Route, get, post, routes};
use rocket_paseto::revocation::RevocationStore;
use rocket_paseto::{
    Access, AuthError, Issuer, Paseto, PasetoCookies, PasetoFairing, Refresh, RememberMe,
    TokenPair, catchers,
};
use serde_json::{Value, json};

use super::figment;

#[post("/login")]
fn login(issuer: &Issuer) -> Result<Json<TokenPair>, AuthError> {
    Ok(Json(issuer.pair("alice")?))
}

/// A refresh token minted on its own, outside any pair (no `fam` claim).
#[post("/login/lone")]
fn login_lone(issuer: &Issuer) -> Result<String, AuthError> {
    Ok(issuer.refresh("alice").issue()?)
}

/// OAuth-style rotation: the refresh token in the body.
#[post("/token", data = "<refresh_token>")]
async fn token_endpoint(
    refresh_token: &str,
    issuer: &Issuer,
) -> Result<Json<TokenPair>, AuthError> {
    let verified = issuer
        .verify::<Refresh>(refresh_token)
        .map_err(AuthError::Invalid)?;
    Ok(Json(issuer.rotate_verified(&verified).await?))
}

#[get("/user")]
fn user(token: Paseto<Access>) -> Json<Value> {
    let claims = token.registered();
    Json(json!({ "sub": token.subject(), "jti": token.jti(), "fam": claims.fam }))
}

/// Checks a refresh token without exchanging it.
#[get("/refresh/check")]
fn refresh_check(token: Paseto<Refresh>) -> &'static str {
    let _ = token;
    "ok"
}

#[post("/refresh")]
async fn refresh(token: Paseto<Refresh>, issuer: &Issuer) -> Result<Json<TokenPair>, AuthError> {
    Ok(Json(issuer.rotate(&token).await?))
}

#[post("/logout")]
async fn logout(token: Paseto<Access>, issuer: &Issuer) -> Result<&'static str, AuthError> {
    issuer.revoke(&token).await?;
    Ok("bye")
}

#[post("/web/login")]
fn web_login(cookies: PasetoCookies<'_>) -> Result<&'static str, AuthError> {
    cookies.set_tokens("alice")?;
    cookies.remember("alice")?;
    Ok("welcome")
}

#[post("/web/refresh")]
async fn web_refresh(
    token: Paseto<Refresh>,
    cookies: PasetoCookies<'_>,
) -> Result<&'static str, AuthError> {
    cookies.rotate_tokens(&token).await?;
    Ok("refreshed")
}

#[post("/web/logout")]
async fn web_logout(
    token: Paseto<Access>,
    remembered: Option<RememberMe>,
    cookies: PasetoCookies<'_>,
    issuer: &Issuer,
) -> Result<&'static str, AuthError> {
    issuer.revoke(&token).await?;
    if let Some(remembered) = remembered {
        issuer.revoke(&remembered).await?;
    }
    cookies.remove_tokens();
    Ok("bye")
}

#[get("/remembered")]
fn remembered(user: RememberMe) -> String {
    user.subject().to_owned()
}

pub fn app_routes() -> Vec<Route> {
    routes![
        login,
        login_lone,
        token_endpoint,
        user,
        refresh_check,
        refresh,
        logout,
        web_login,
        web_refresh,
        web_logout,
        remembered
    ]
}

/// One instance of the app, with `paseto` as its table and, optionally, a store in code.
pub async fn instance(paseto: Value, store: Option<impl RevocationStore>) -> Client {
    let mut fairing = PasetoFairing::default();
    if let Some(store) = store {
        fairing = fairing.revocation(store);
    }
    let rocket = rocket::custom(figment(paseto))
        .attach(fairing)
        .register("/", catchers())
        .mount("/", app_routes());
    Client::untracked(rocket)
        .await
        .expect("the test app ignites")
}

pub fn bearer(token: &str) -> Header<'static> {
    Header::new("Authorization", format!("Bearer {token}"))
}

pub async fn login_pair(client: &Client) -> TokenPair {
    let response = client.post("/login").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    response.into_json().await.expect("a token pair")
}

pub async fn get_with(client: &Client, path: &str, token: &str) -> Status {
    client
        .get(path)
        .header(bearer(token))
        .dispatch()
        .await
        .status()
}

pub async fn post_with<'c>(client: &'c Client, path: &'c str, token: &str) -> LocalResponse<'c> {
    client.post(path).header(bearer(token)).dispatch().await
}

/// Exchanges `refresh_token` at `/refresh`, which must succeed, for the new pair.
pub async fn rotate(client: &Client, refresh_token: &str) -> TokenPair {
    let response = post_with(client, "/refresh", refresh_token).await;
    assert_eq!(response.status(), Status::Ok);
    response.into_json().await.expect("a token pair")
}

/// `/user`'s answer for `token`: its status and, on success, its claims.
pub async fn user_claims(client: &Client, token: &str) -> (Status, Option<Value>) {
    let response = client.get("/user").header(bearer(token)).dispatch().await;
    let status = response.status();
    (status, response.into_json::<Value>().await)
}
