//! `SameOrigin` through HTTP: logins from the server's own pages (or from no page) pass; logins
//! posted by any other origin get a 403 and no cookie.

mod common;

use common::*;
use rocket::http::uri::Host;
use rocket::http::{Header, Status};
use rocket::local::blocking::{Client, LocalResponse};
use rocket::{post, routes};
use rocket_paseto::{AuthError, PasetoCookies, PasetoFairing, SameOrigin};
use serde_json::{Value, json};

#[post("/login")]
async fn login(_origin: SameOrigin, cookies: PasetoCookies<'_>) -> Result<(), AuthError> {
    cookies.login("alice").fresh().issue().await?;
    Ok(())
}

/// `POST /login` addressed to `host` (as the `Host` header names it) with these headers.
fn post<'c>(client: &'c Client, host: Option<&str>, headers: &[(&str, &str)]) -> LocalResponse<'c> {
    let mut request = client.post("/login");
    if let Some(host) = host {
        request
            .inner_mut()
            .set_host(Host::parse_owned(host.to_owned()).unwrap());
    }
    for (name, value) in headers {
        request.add_header(Header::new(name.to_string(), value.to_string()));
    }
    request.dispatch()
}

fn logged_in(response: LocalResponse<'_>) -> bool {
    let status = response.status();
    let cookies = response.headers().get("Set-Cookie").count();
    match status {
        Status::Ok => {
            assert!(cookies >= 3, "a login sets the token and CSRF cookies");
            true
        }
        Status::Forbidden => {
            assert_eq!(cookies, 0, "a refused login sets no cookie");
            let body: Value = response.into_json().unwrap();
            assert_eq!(body["error"], "csrf_failed");
            false
        }
        other => panic!("unexpected {other}"),
    }
}

const HOST: Option<&str> = Some("localhost:8000");

#[test]
fn logins_from_the_servers_own_pages_pass() {
    let client = client(keys(), routes![login]);
    for origin in [
        "http://localhost:8000",
        "HTTP://LocalHost:8000",
        "http://localhost:8000/",
    ] {
        let own = [("Origin", origin)];
        // The trailing `/` is no origin: refused, like any malformed value.
        assert_eq!(logged_in(post(&client, HOST, &own)), !origin.ends_with('/'));
    }
    let referer = [("Referer", "http://localhost:8000/login?next=%2F#top")];
    assert!(logged_in(post(&client, HOST, &referer)));
    // Default ports are implied on either side.
    let default_port = [("Origin", "http://localhost:80")];
    assert!(logged_in(post(&client, Some("localhost"), &default_port)));
    let default_port = [("Origin", "http://localhost")];
    assert!(logged_in(post(
        &client,
        Some("localhost:80"),
        &default_port
    )));
}

#[test]
fn requests_without_origin_or_referer_pass() {
    let client = client(keys(), routes![login]);
    assert!(logged_in(post(&client, HOST, &[])));
    assert!(logged_in(post(&client, None, &[])));
}

#[test]
fn foreign_origins_are_refused_without_cookies() {
    let client = client(keys(), routes![login]);
    for origin in [
        "https://evil.example",
        "null",
        "",
        // Another scheme, port or host than the one the request was sent to.
        "https://localhost:8000",
        "http://localhost:8001",
        "http://localhost",
        "http://sub.localhost:8000",
        "http://localhost.evil.example:8000",
        // Not an origin.
        "http://user@localhost:8000",
        "localhost:8000",
        "chrome-extension://localhost:8000",
    ] {
        let refused = !logged_in(post(&client, HOST, &[("Origin", origin)]));
        assert!(refused, "Origin: {origin:?} passed");
    }
    for referer in [
        "https://evil.example/page",
        "https://evil.example/?http://localhost:8000/",
        "http://localhost:8000@evil.example/",
        "about:blank",
    ] {
        let refused = !logged_in(post(&client, HOST, &[("Referer", referer)]));
        assert!(refused, "Referer: {referer:?} passed");
    }
    // `Origin` decides when both are present.
    let mixed = [
        ("Origin", "https://evil.example"),
        ("Referer", "http://localhost:8000/"),
    ];
    assert!(!logged_in(post(&client, HOST, &mixed)));
    // Without a `Host`, no origin is the server's own.
    assert!(!logged_in(post(
        &client,
        None,
        &[("Origin", "http://localhost:8000")]
    )));
}

#[test]
fn allowed_origins_are_trusted_too() {
    let mut paseto = keys();
    paseto["allowed_origins"] = json!(["https://app.example.com", "http://127.0.0.1:3000"]);
    let client = client(paseto, routes![login]);
    for (origin, ok) in [
        ("https://app.example.com", true),
        ("https://APP.example.com:443", true),
        ("http://127.0.0.1:3000", true),
        ("https://app.example.com:8443", false),
        ("http://app.example.com", false),
        ("https://evil.example", false),
    ] {
        // Behind a TLS proxy that rewrites `Host` to the backend's address.
        let response = post(&client, Some("127.0.0.1:8000"), &[("Origin", origin)]);
        assert_eq!(logged_in(response), ok, "{origin}");
    }
    let referer = [("Referer", "https://app.example.com/sign-in")];
    assert!(logged_in(post(&client, Some("127.0.0.1:8000"), &referer)));
    // The server's own origin still passes.
    let own = [("Origin", "http://127.0.0.1:8000")];
    assert!(logged_in(post(&client, Some("127.0.0.1:8000"), &own)));
}

#[test]
fn allowed_origins_must_be_origins() {
    for (i, bad) in [
        "https://app.example.com/",
        "https://app.example.com/login",
        "app.example.com",
        "ftp://app.example.com",
        "https://user@app.example.com",
        "https://",
        "null",
    ]
    .into_iter()
    .enumerate()
    {
        let mut paseto = keys();
        paseto["allowed_origins"] = json!(["https://ok.example", bad]);
        let err = PasetoFairing::default()
            .load(&figment(paseto))
            .expect_err(bad);
        assert_eq!(err.field(), "paseto.allowed_origins[1]", "{i}: {err}");
    }
}

#[test]
fn the_guard_needs_the_fairing() {
    let rocket = rocket::custom(figment(keys())).mount("/", routes![login]);
    let error = rocket::execute(rocket.ignite()).unwrap_err();
    assert!(matches!(
        error.kind(),
        rocket::error::ErrorKind::SentinelAborts(_)
    ));
}
