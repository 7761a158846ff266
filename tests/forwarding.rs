//! `paseto.missing_token = "forward"`: a request without a token reaches the next route (a
//! `rank = 2` fallback) or, with none left, the 401 catcher; a bad token is still a 401.

mod common;

use common::*;
use rocket::http::{Cookie, Status};
use rocket::local::blocking::Client;
use rocket::{get, routes};
use rocket_paseto::__private::Config;
use rocket_paseto::{Access, AuthError, Paseto, Refresh, RememberMe};
use serde_json::{Value, json};

#[get("/page")]
fn page(token: Paseto<Access>) -> String {
    format!("user {}", token.subject())
}

#[get("/page", rank = 2)]
fn page_fallback() -> &'static str {
    "anonymous"
}

#[get("/refresh")]
fn refresh(token: Paseto<Refresh>) -> String {
    format!("user {}", token.subject())
}

#[get("/refresh", rank = 2)]
fn refresh_fallback() -> &'static str {
    "anonymous"
}

#[get("/only")]
fn only(token: Paseto<Access>) -> String {
    token.subject().to_owned()
}

#[get("/resume")]
fn resume(user: RememberMe) -> String {
    format!("user {}", user.subject())
}

#[get("/resume", rank = 2)]
fn resume_fallback() -> &'static str {
    "anonymous"
}

#[get("/result")]
fn result(auth: Result<Paseto<Access>, AuthError>) -> &'static str {
    match auth {
        Ok(_) => "ok",
        Err(AuthError::Missing) => "missing",
        Err(_) => "error",
    }
}

#[get("/result", rank = 2)]
fn result_fallback() -> &'static str {
    "fallback"
}

#[get("/option")]
fn option(auth: Option<Paseto<Access>>) -> &'static str {
    match auth {
        Some(_) => "some",
        None => "none",
    }
}

#[get("/option", rank = 2)]
fn option_fallback() -> &'static str {
    "fallback"
}

fn app(missing_token: Option<&str>) -> Client {
    let mut config = keys();
    if let Some(mode) = missing_token {
        config["missing_token"] = mode.into();
    }
    let routes = routes![
        page,
        page_fallback,
        refresh,
        refresh_fallback,
        only,
        resume,
        resume_fallback,
        result,
        result_fallback,
        option,
        option_fallback
    ];
    client(config, routes)
}

fn get(client: &Client, path: &str, token: Option<&str>) -> (Status, Option<String>, String) {
    let mut request = client.get(path.to_owned());
    if let Some(token) = token {
        request = request.header(bearer(token));
    }
    let response = request.dispatch();
    let challenge = response
        .headers()
        .get_one("WWW-Authenticate")
        .map(str::to_owned);
    (
        response.status(),
        challenge,
        response.into_string().unwrap_or_default(),
    )
}

#[test]
fn without_a_token_the_fallback_route_answers() {
    let client = app(Some("forward"));
    assert_eq!(
        get(&client, "/page", None),
        (Status::Ok, None, "anonymous".into())
    );
    assert_eq!(get(&client, "/refresh", None).2, "anonymous");
    let good = local_token(&claims("access"));
    assert_eq!(get(&client, "/page", Some(&good)).2, "user alice");
}

#[test]
fn a_bad_token_is_still_a_401_and_never_reaches_the_fallback() {
    let client = app(Some("forward"));
    let mut expired = claims("access");
    expired.insert("exp".into(), time(now() - time::Duration::hours(1)).into());
    for token in [
        "garbage".to_owned(),
        local_token(&claims("refresh")),
        local_token(&expired),
    ] {
        let (status, challenge, body) = get(&client, "/page", Some(&token));
        assert_eq!(status, Status::Unauthorized);
        assert!(
            challenge
                .unwrap()
                .starts_with(r#"Bearer error="invalid_token""#)
        );
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["error"],
            "invalid_token"
        );
    }
    // A header without a token of the configured scheme is a bad token, not a missing one.
    let response = client
        .get("/page")
        .header(rocket::http::Header::new("Authorization", "Basic dXNlcg=="))
        .dispatch();
    assert_eq!(response.status(), Status::Unauthorized);
}

#[test]
fn with_no_route_left_the_catcher_answers_with_the_usual_401() {
    let forwarding = app(Some("forward"));
    let rejecting = app(None);
    let expected = get(&rejecting, "/only", None);
    assert_eq!(expected.0, Status::Unauthorized);
    assert_eq!(expected.1.as_deref(), Some("Bearer"));
    assert_eq!(
        serde_json::from_str::<Value>(&expected.2).unwrap(),
        json!({ "error": "unauthorized", "message": "Authentication is required." })
    );
    assert_eq!(get(&forwarding, "/only", None), expected);
}

#[test]
fn by_default_a_missing_token_is_a_401_and_the_fallback_never_runs() {
    for client in [app(None), app(Some("reject"))] {
        let (status, challenge, body) = get(&client, "/page", None);
        assert_eq!(status, Status::Unauthorized);
        assert_eq!(challenge.as_deref(), Some("Bearer"));
        assert_ne!(body, "anonymous");
        assert_eq!(get(&client, "/refresh", None).0, Status::Unauthorized);
        assert_eq!(get(&client, "/resume", None).0, Status::Unauthorized);
        assert_eq!(get(&client, "/result", None).2, "missing");
    }
}

#[test]
fn remember_me_forwards_without_its_cookie() {
    let client = app(Some("forward"));
    assert_eq!(get(&client, "/resume", None).2, "anonymous");
    let response = client
        .get("/resume")
        .cookie(Cookie::new("remember_token", "v4.local.garbage"))
        .dispatch();
    assert_eq!(response.status(), Status::Unauthorized);
}

/// Rocket passes a forward through `Result` and turns it into `None` for `Option`.
#[test]
fn result_guards_forward_and_option_guards_get_none() {
    let client = app(Some("forward"));
    assert_eq!(get(&client, "/result", None).2, "fallback");
    assert_eq!(get(&client, "/result", Some("garbage")).2, "error");
    assert_eq!(get(&client, "/option", None).2, "none");
    assert_eq!(get(&client, "/option", Some("garbage")).2, "none");
}

#[test]
fn an_unknown_mode_is_a_launch_error_naming_the_field() {
    let mut config = keys();
    config["missing_token"] = "sometimes".into();
    let err = Config::from_figment(&figment(config)).unwrap_err();
    assert_eq!(err.field(), "paseto.missing_token", "{err}");
    let config = Config::from_figment(&figment(json!({ "missing_token": "forward" }))).unwrap();
    assert_eq!(
        config.missing_token,
        rocket_paseto::__private::MissingToken::Forward
    );
}

#[rocket::catch(401)]
fn app_unauthorized(request: &rocket::Request<'_>) -> String {
    format!("{:?}", AuthError::of(request))
}

#[test]
fn app_catchers_see_a_forwarded_missing_token() {
    let mut config = keys();
    config["missing_token"] = "forward".into();
    let rocket = rocket::custom(figment(config))
        .attach(rocket_paseto::PasetoFairing::default())
        .register("/", rocket::catchers![app_unauthorized])
        .mount("/", routes![only]);
    let client = Client::tracked(rocket).unwrap();
    let response = client.get("/only").dispatch();
    assert_eq!(response.status(), Status::Unauthorized);
    assert_eq!(response.into_string().unwrap(), "Some(Missing)");
}
