//! Fresh tokens: only a password login mints them; refreshes and remember-me never do; routes
//! for sensitive actions require them.

mod common;

use common::*;
use rocket::http::{Cookie, Header, Status};
use rocket::local::blocking::Client;
use rocket::{get, post, routes};
use rocket_paseto::IssueError;
use rocket_paseto::{
    Access, AuthError, Issuer, Paseto, PasetoCookies, PasetoFairing, Refresh, Sessions, TokenPair,
};
use serde_json::{Value, json};

#[post("/password")]
fn change_password(token: Paseto<Access>) -> Result<&'static str, AuthError> {
    token.require_fresh()?;
    Ok("changed")
}

#[post("/login")]
async fn login(cookies: PasetoCookies<'_>) -> Result<(), AuthError> {
    cookies.login("alice").fresh().issue().await?;
    Ok(())
}

#[post("/resume")]
async fn resume(cookies: PasetoCookies<'_>) -> Result<(), AuthError> {
    cookies.login("alice").issue().await?;
    Ok(())
}

#[post("/refresh")]
async fn refresh(token: Paseto<Refresh>, cookies: PasetoCookies<'_>) -> Result<(), AuthError> {
    cookies.refresh(&token).await
}

/// A bearer login, fresh (a password login) or not.
#[post("/bearer/login?<fresh>")]
async fn bearer_login(fresh: bool, sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
    let login = sessions.login("alice");
    if fresh { login.fresh() } else { login }.issue().await
}

#[get("/fresh")]
fn fresh(token: Paseto<Access>) -> String {
    token.is_fresh().to_string()
}

fn app(paseto: Value) -> Client {
    client(
        paseto,
        routes![change_password, login, resume, refresh, bearer_login, fresh],
    )
}

fn issuer(paseto: Value) -> Issuer {
    PasetoFairing::default().load(&figment(paseto)).unwrap()
}

fn post_with(client: &Client, token: &str) -> (Status, Option<String>, String) {
    let r = client.post("/password").header(bearer(token)).dispatch();
    let challenge = r.headers().get_one("WWW-Authenticate").map(str::to_owned);
    (r.status(), challenge, r.into_string().unwrap_or_default())
}

#[test]
fn only_password_logins_are_fresh() {
    let client = app(keys());
    let issuer = issuer(keys());
    let pair = |fresh: bool| -> TokenPair {
        let path = format!("/bearer/login?fresh={fresh}");
        client.post(path).dispatch().into_json().unwrap()
    };
    let login = pair(true);
    assert_eq!(post_with(&client, &login.access_token).0, Status::Ok);
    // The refresh token of a fresh pair is not fresh, nor is what it mints, nor a plain pair.
    let refreshed = issuer.access("alice").issue().unwrap();
    let plain = pair(false).access_token;
    for token in [refreshed, plain] {
        let (status, challenge, body) = post_with(&client, &token);
        assert_eq!(status, Status::Unauthorized);
        assert_eq!(
            challenge.as_deref(),
            Some(
                r#"Bearer error="insufficient_user_authentication", error_description="A fresh token is required""#
            )
        );
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["error"],
            "fresh_token_required"
        );
    }
    let refresh_claims = issuer.verify::<Refresh>(&login.refresh_token).unwrap();
    assert!(refresh_claims.claims().fresh.is_none());
}

#[test]
fn freshness_can_end_before_the_token_does() {
    let mut paseto = keys();
    paseto["access"] = json!({ "fresh_for": 60 });
    let token = issuer(paseto.clone())
        .access("alice")
        .fresh()
        .issue()
        .unwrap();
    let claims = issuer(paseto.clone())
        .verify::<Access>(&token)
        .unwrap()
        .claims()
        .clone();
    assert_eq!(
        claims.fresh.unwrap() - claims.iat.unwrap(),
        time::Duration::seconds(60)
    );
    assert_eq!(
        claims.exp - claims.iat.unwrap(),
        time::Duration::seconds(900)
    );
    // A token whose fresh period is over is valid but no longer fresh.
    let client = app(paseto);
    let mut stale = self::claims("access");
    stale.insert(
        "fresh".into(),
        time(now() - time::Duration::seconds(5)).into(),
    );
    let stale = local_token(&stale);
    assert_eq!(
        client
            .get("/fresh")
            .header(bearer(&stale))
            .dispatch()
            .into_string()
            .unwrap(),
        "false"
    );
    assert_eq!(post_with(&client, &stale).0, Status::Unauthorized);
    assert_eq!(
        client
            .get("/fresh")
            .header(bearer(&token))
            .dispatch()
            .into_string()
            .unwrap(),
        "true"
    );
    // A malformed fresh claim makes the token invalid, not fresh.
    let mut odd = self::claims("access");
    odd.insert("fresh".into(), "2999-01-01t00:00:00z".into());
    assert_eq!(
        client
            .get("/fresh")
            .header(bearer(&local_token(&odd)))
            .dispatch()
            .status(),
        Status::Unauthorized
    );
}

#[test]
fn cookie_logins_are_fresh_but_resumed_and_refreshed_sessions_are_not() {
    let client = app(keys());
    let fresh_of = |cookies: &[Cookie<'static>]| {
        let access = cookies
            .iter()
            .find(|c| c.name() == "access_token")
            .unwrap()
            .value()
            .to_owned();
        client
            .get("/fresh")
            .header(bearer(&access))
            .dispatch()
            .into_string()
            .unwrap()
    };
    let set = |response: rocket::local::blocking::LocalResponse<'_>| -> Vec<Cookie<'static>> {
        response
            .headers()
            .get("Set-Cookie")
            .map(|h| Cookie::parse(h.to_owned()).unwrap())
            .collect()
    };
    let login = set(client.post("/login").dispatch());
    assert_eq!(fresh_of(&login), "true");
    let resumed = set(client.post("/resume").dispatch());
    assert_eq!(fresh_of(&resumed), "false");
    // /resume started a new session, with its own CSRF value.
    let csrf = resumed
        .iter()
        .find(|c| c.name() == "csrf_token")
        .unwrap()
        .value()
        .to_owned();
    let refreshed = set(client
        .post("/refresh")
        .header(Header::new("X-CSRF-Token", csrf))
        .dispatch());
    assert_eq!(fresh_of(&refreshed), "false");
}

#[test]
fn freshness_cannot_be_set_by_hand() {
    let issuer = issuer(keys());
    let err = issuer
        .access("alice")
        .claim("fresh", "2999-01-01T00:00:00Z")
        .issue()
        .unwrap_err();
    assert!(matches!(err, IssueError::ReservedClaim(name) if name == "fresh"));
    let mut paseto = keys();
    paseto["access"] = json!({ "fresh_for": 10_000 });
    let err = PasetoFairing::default().load(&figment(paseto)).unwrap_err();
    assert_eq!(err.field(), "paseto.access.fresh_for");
}
