//! Failure responses through HTTP: the one "expired" answer, byte-identical answers for every
//! other bad token, app catchers reading the guard's failure, and app bodies that keep the
//! status and challenge.

mod common;

use common::*;
use rocket::http::{ContentType, Header, Status};
use rocket::local::blocking::{Client, LocalResponse};
use rocket::response::content::RawHtml;
use rocket::serde::json::Json;
use rocket::{Request, catch, catchers, get, post, routes};
use rocket_paseto::{Access, AuthError, AuthFailure, Paseto, PasetoFairing, Refresh, Sessions};
use serde_json::{Map, Value, json};

const EXPIRED_CHALLENGE: &str =
    r#"Bearer error="invalid_token", error_description="The access token expired""#;

#[get("/access")]
fn access(token: Paseto<Access>) -> String {
    token.subject().to_owned()
}

#[get("/refresh")]
fn refresh(token: Paseto<Refresh>) -> String {
    token.subject().to_owned()
}

/// The error answered by the route itself, not by a catcher.
#[get("/result")]
fn result(auth: Result<Paseto<Access>, AuthError>) -> Result<String, AuthError> {
    Ok(auth?.subject().to_owned())
}

#[post("/login")]
async fn login(sessions: Sessions<'_>) -> Result<String, AuthError> {
    Ok(sessions.login("alice").issue().await?.access_token)
}

#[post("/logout")]
async fn logout(sessions: Sessions<'_>) -> Result<(), AuthError> {
    sessions.logout().await.map(|_| ())
}

/// Keys, an issuer and an audience, and the memory store so tokens can be revoked.
fn config() -> Value {
    let mut config = keys();
    config["issuer"] = "https://auth.example".into();
    config["audience"] = "https://api.example".into();
    config["revocation"] = json!({ "store": "memory" });
    config
}

fn app() -> Client {
    client(config(), routes![access, refresh, result, login, logout])
}

/// Claims our configuration accepts for `kind`.
fn good(kind: &str) -> Map<String, Value> {
    let mut c = claims(kind);
    c.insert("iss".into(), "https://auth.example".into());
    c.insert("aud".into(), "https://api.example".into());
    c
}

fn with(mut c: Map<String, Value>, key: &str, value: Value) -> Map<String, Value> {
    c.insert(key.into(), value);
    c
}

fn past() -> Value {
    time(now() - time::Duration::hours(1)).into()
}

/// Status, every header as `name: value`, and the body bytes.
type Answer = (Status, Vec<String>, Vec<u8>);

fn answer(response: LocalResponse<'_>) -> Answer {
    let headers = response
        .headers()
        .iter()
        .map(|h| format!("{}: {}", h.name(), h.value()))
        .collect();
    (response.status(), headers, response.into_bytes().unwrap())
}

fn get(client: &Client, path: &str, token: &str) -> Answer {
    answer(client.get(path.to_owned()).header(bearer(token)).dispatch())
}

fn json_of(answer: &Answer) -> Value {
    serde_json::from_slice(&answer.2).unwrap()
}

fn challenge_of(answer: &Answer) -> Option<&str> {
    answer
        .1
        .iter()
        .find_map(|h| h.strip_prefix("WWW-Authenticate: "))
}

#[test]
fn a_genuine_expired_token_is_answered_as_expired() {
    let app = app();
    let expired = local_token(&with(good("access"), "exp", past()));
    // From the crate's catcher (a failed guard) and from a route returning the error.
    for path in ["/access", "/result"] {
        let answer = get(&app, path, &expired);
        assert_eq!(answer.0, Status::Unauthorized, "{path}");
        assert_eq!(challenge_of(&answer), Some(EXPIRED_CHALLENGE), "{path}");
        let body = json_of(&answer);
        assert_eq!(body["error"], "invalid_token", "{path}");
        assert_eq!(
            body["error_description"], "The access token expired",
            "{path}"
        );
    }
    // A signed (public-purpose) token is judged the same way.
    let mut config = config();
    config["access"] = json!({ "purpose": "public" });
    let public_app = client(config, routes![access]);
    let payload = Value::Object(with(good("access"), "exp", past())).to_string();
    let signed = forge_public(SECRET, &payload, Some(&kid_footer(&pid(SECRET))));
    let answer = get(&public_app, "/access", &signed);
    assert_eq!(challenge_of(&answer), Some(EXPIRED_CHALLENGE));
}

/// Every bad token but a genuine expired one, answered identically.
fn bad_tokens(client: &Client) -> Vec<(&'static str, String)> {
    let token = local_token(&good("access"));
    let mut tampered = token.clone().into_bytes();
    let i = "v4.local.".len() + 40;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let payload = |c: Map<String, Value>| Value::Object(c).to_string();
    let expired = payload(with(good("access"), "exp", past()));
    let future = time(now() + time::Duration::minutes(5));
    let revoked = client.post("/login").dispatch().into_string().unwrap();
    let logout = client.post("/logout").header(bearer(&revoked)).dispatch();
    assert_eq!(logout.status(), Status::Ok);
    vec![
        ("tampered", String::from_utf8(tampered).unwrap()),
        (
            "wrong key",
            forge_local(OTHER_LOCAL, &payload(good("access")), None),
        ),
        (
            "wrong key, expired",
            forge_local(OTHER_LOCAL, &expired, None),
        ),
        ("wrong kind", local_token(&good("refresh"))),
        (
            "wrong kind, expired",
            local_token(&with(good("refresh"), "exp", past())),
        ),
        (
            "bad iss",
            local_token(&with(good("access"), "iss", "https://evil".into())),
        ),
        (
            "bad iss, expired",
            local_token(&with(
                with(good("access"), "exp", past()),
                "iss",
                "x".into(),
            )),
        ),
        (
            "bad aud",
            local_token(&with(good("access"), "aud", "https://other".into())),
        ),
        (
            "nbf in the future",
            local_token(&with(good("access"), "nbf", future.into())),
        ),
        ("malformed", "v4.local.not-a-token".into()),
        ("garbage", "garbage".into()),
        (
            "wrong purpose",
            forge_public(SECRET, &payload(good("access")), None),
        ),
        ("revoked", revoked),
    ]
}

#[test]
fn every_other_bad_token_gets_byte_identical_answers() {
    let client = app();
    let reference = get(&client, "/access", "garbage");
    assert_eq!(reference.0, Status::Unauthorized);
    assert_eq!(
        challenge_of(&reference),
        Some(r#"Bearer error="invalid_token""#)
    );
    assert!(json_of(&reference).get("error_description").is_none());
    for (case, token) in bad_tokens(&client) {
        assert_eq!(get(&client, "/access", &token), reference, "{case}");
        assert_eq!(
            get(&client, "/result", &token),
            reference,
            "{case}, from the route"
        );
    }

    // The expired answer differs only by its description, in the challenge and the body.
    let expired = get(
        &client,
        "/access",
        &local_token(&with(good("access"), "exp", past())),
    );
    assert_eq!(expired.0, reference.0);
    let without_challenge = |a: &Answer| -> Vec<String> {
        a.1.iter()
            .filter(|h| !h.starts_with("WWW-Authenticate:") && !h.starts_with("Content-Length:"))
            .cloned()
            .collect()
    };
    assert_eq!(without_challenge(&expired), without_challenge(&reference));
    assert_eq!(challenge_of(&expired), Some(EXPIRED_CHALLENGE));
    let mut body = json_of(&expired);
    assert_eq!(
        body.as_object_mut().unwrap().remove("error_description"),
        Some("The access token expired".into())
    );
    assert_eq!(body, json_of(&reference));
}

#[test]
fn an_expired_refresh_token_is_expired_too() {
    let client = app();
    let expired = local_token(&with(good("refresh"), "exp", past()));
    assert_eq!(
        challenge_of(&get(&client, "/refresh", &expired)),
        Some(EXPIRED_CHALLENGE)
    );
}

/// An app catcher rendering its own JSON from what the guard failed with.
#[catch(401)]
fn app_unauthorized(request: &Request<'_>) -> Json<Value> {
    let why = match AuthError::of(request) {
        None => "none",
        Some(e) if e.is_expired() => "expired",
        Some(AuthError::Missing) => "missing",
        Some(AuthError::Invalid(_)) => "invalid",
        Some(_) => "other",
    };
    Json(json!({ "why": why }))
}

#[get("/plain-401")]
fn plain_401() -> Status {
    Status::Unauthorized
}

fn app_with_own_catcher() -> Client {
    let rocket = rocket::custom(figment(config()))
        .attach(PasetoFairing::default())
        .register("/", catchers![app_unauthorized])
        .mount("/", routes![access, plain_401]);
    Client::tracked(rocket).unwrap()
}

#[test]
fn app_catchers_read_why_the_guard_failed() {
    let client = app_with_own_catcher();
    let why = |r: LocalResponse<'_>| r.into_json::<Value>().unwrap()["why"].clone();
    let expired = local_token(&with(good("access"), "exp", past()));
    assert_eq!(why(client.get("/access").dispatch()), "missing");
    assert_eq!(
        why(client.get("/access").header(bearer("garbage")).dispatch()),
        "invalid"
    );
    assert_eq!(
        why(client.get("/access").header(bearer(&expired)).dispatch()),
        "expired"
    );
    assert_eq!(why(client.get("/plain-401").dispatch()), "none");
}

const PAGE: &str = "<h1>Please sign in</h1>";

/// An app catcher rendering HTML, keeping the status and challenge.
#[catch(401)]
fn html_unauthorized(request: &Request<'_>) -> AuthFailure<RawHtml<&'static str>> {
    AuthError::of(request)
        .unwrap_or(AuthError::Missing)
        .with_body(RawHtml(PAGE))
}

#[get("/page")]
fn page(
    auth: Result<Paseto<Access>, AuthError>,
) -> Result<String, AuthFailure<RawHtml<&'static str>>> {
    Ok(auth
        .map_err(|e| e.with_body(RawHtml(PAGE)))?
        .subject()
        .to_owned())
}

#[get("/busy")]
fn busy() -> AuthFailure<&'static str> {
    AuthError::Unavailable.with_body("busy")
}

fn html_app() -> Client {
    let mut config = config();
    config["scheme"] = "PASETO".into();
    let rocket = rocket::custom(figment(config))
        .attach(PasetoFairing::default())
        .register("/", catchers![html_unauthorized])
        .mount("/", routes![access, page, busy]);
    Client::tracked(rocket).unwrap()
}

#[test]
fn app_bodies_keep_the_status_and_challenge() {
    let client = html_app();
    let expired = local_token(&with(good("access"), "exp", past()));
    let expired_challenge = EXPIRED_CHALLENGE.replacen("Bearer", "PASETO", 1);
    let cases = [
        ("/access", None, Some("PASETO")),
        ("/page", None, Some("PASETO")),
        (
            "/access",
            Some("garbage"),
            Some(r#"PASETO error="invalid_token""#),
        ),
        (
            "/page",
            Some("garbage"),
            Some(r#"PASETO error="invalid_token""#),
        ),
        (
            "/access",
            Some(expired.as_str()),
            Some(expired_challenge.as_str()),
        ),
        (
            "/page",
            Some(expired.as_str()),
            Some(expired_challenge.as_str()),
        ),
    ];
    for (path, token, challenge) in cases {
        let mut request = client.get(path);
        if let Some(token) = token {
            request = request.header(Header::new("Authorization", format!("PASETO {token}")));
        }
        let response = request.dispatch();
        assert_eq!(response.status(), Status::Unauthorized, "{path} {token:?}");
        assert_eq!(response.content_type(), Some(ContentType::HTML), "{path}");
        assert_eq!(
            response.headers().get_one("WWW-Authenticate"),
            challenge,
            "{path}"
        );
        assert_eq!(response.into_string().unwrap(), PAGE, "{path}");
    }
    let response = client.get("/busy").dispatch();
    assert_eq!(response.status(), Status::ServiceUnavailable);
    assert_eq!(response.headers().get_one("Retry-After"), Some("1"));
    assert_eq!(response.content_type(), Some(ContentType::Plain));
    assert_eq!(response.into_string().unwrap(), "busy");
}
