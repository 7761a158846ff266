//! `Paseto<K, C>` through HTTP: where tokens are found, every verification rule (each with a
//! passing and a failing case), the outcome table, CSRF for cookie tokens, and uniform bodies.

mod common;

use common::*;
use rocket::http::uri::Host;
use rocket::http::{ContentType, Cookie, Header, Status};
use rocket::local::blocking::{Client, LocalResponse};
use rocket::{get, post, routes};
use rocket_paseto::{Access, AuthError, Issuer, Paseto, QueryToken, Refresh};
use serde::Deserialize;
use serde_json::{Value, json};

#[get("/access")]
fn access(token: Paseto<Access>) -> String {
    token.subject().to_owned()
}

#[post("/access")]
fn access_post(token: Paseto<Access>) -> String {
    token.subject().to_owned()
}

/// A route that opts in to tokens in the query string; it echoes the URI the route sees and
/// whether the token is fresh.
#[get("/socket")]
fn socket(token: QueryToken<Paseto<Access>>, uri: &rocket::http::uri::Origin<'_>) -> String {
    format!("{} {} {uri}", token.subject(), token.is_fresh())
}

#[get("/refresh")]
fn refresh(token: Paseto<Refresh>) -> String {
    token.subject().to_owned()
}

#[get("/option")]
fn option(token: Option<Paseto<Access>>) -> String {
    match token {
        Some(t) => format!("some:{}", t.subject()),
        None => "none".into(),
    }
}

#[get("/result")]
fn result(token: Result<Paseto<Access>, AuthError>) -> &'static str {
    match token {
        Ok(_) => "ok",
        Err(AuthError::Missing) => "missing",
        Err(AuthError::Invalid(_)) => "invalid",
        Err(_) => "other",
    }
}

#[get("/optional")]
fn optional(auth: Result<Paseto<Access>, AuthError>) -> Result<String, AuthError> {
    Ok(match Paseto::optional(auth)? {
        Some(t) => format!("hello {}", t.subject()),
        None => "hello stranger".into(),
    })
}

#[derive(Deserialize)]
struct Role {
    role: String,
}

#[get("/role")]
fn role(token: Paseto<Access, Role>) -> String {
    format!("{}:{}", token.subject(), token.claims().role)
}

#[get("/twice")]
fn twice(a: Paseto<Access>, b: Paseto<Access, Role>) -> String {
    // Both guards share one verification: the very same token allocation.
    (a.token().as_ptr() == b.token().as_ptr()).to_string()
}

#[get("/issue")]
fn issue(issuer: &Issuer) -> String {
    issuer.access("bob").issue().unwrap()
}

fn all_routes() -> Vec<rocket::Route> {
    routes![
        access,
        access_post,
        socket,
        refresh,
        option,
        result,
        optional,
        role,
        twice,
        issue
    ]
}

fn app(paseto: Value) -> Client {
    client(paseto, all_routes())
}

fn with_keys(extra: Value) -> Value {
    let mut base = keys();
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

fn get_with<'c>(client: &'c Client, path: &'c str, token: &str) -> LocalResponse<'c> {
    client.get(path).header(bearer(token)).dispatch()
}

fn body(response: LocalResponse<'_>) -> (Status, Option<String>, String) {
    let status = response.status();
    let challenge = response
        .headers()
        .get_one("WWW-Authenticate")
        .map(str::to_owned);
    (
        status,
        challenge,
        response.into_string().unwrap_or_default(),
    )
}

#[test]
fn a_valid_bearer_token_passes_and_the_scheme_is_case_insensitive() {
    let client = app(keys());
    let token = local_token(&claims("access"));
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let response = client
            .get("/access")
            .header(Header::new("Authorization", format!("{scheme} {token}")))
            .dispatch();
        assert_eq!(response.status(), Status::Ok, "{scheme}");
        assert_eq!(response.into_string().unwrap(), "alice");
    }
}

#[test]
fn tokens_minted_by_the_issuer_pass() {
    let client = app(keys());
    let token = client.get("/issue").dispatch().into_string().unwrap();
    let response = get_with(&client, "/access", &token);
    assert_eq!(response.into_string().unwrap(), "bob");
}

#[test]
fn no_token_is_401_with_a_bare_challenge() {
    let client = app(keys());
    let (status, challenge, text) = body(client.get("/access").dispatch());
    assert_eq!(status, Status::Unauthorized);
    assert_eq!(challenge.as_deref(), Some("Bearer"));
    let json: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["error"], "unauthorized");
}

/// Every way a token can be bad, each one rejected with the very same response (but for a
/// genuine expired token, answered as expired: see tests/errors.rs).
#[test]
fn every_rejection_is_the_same_401() {
    let client = app(with_keys(json!({
        "issuer": "https://auth.example",
        "audience": "https://api.example",
        "max_token_length": 1024,
    })));
    let good_claims = || {
        let mut c = claims("access");
        c.insert("iss".into(), "https://auth.example".into());
        c.insert("aud".into(), "https://api.example".into());
        c
    };
    let good = local_token(&good_claims());
    assert_eq!(get_with(&client, "/access", &good).status(), Status::Ok);

    let with = |key: &str, value: Value| {
        let mut c = good_claims();
        c.insert(key.into(), value);
        local_token(&c)
    };
    let without = |key: &str| {
        let mut c = good_claims();
        c.remove(key);
        local_token(&c)
    };
    let past = time(now() - time::Duration::minutes(5));
    let future = time(now() + time::Duration::minutes(5));
    let mut tampered = good.clone().into_bytes();
    let i = "v4.local.".len() + 40;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let footer = kid_footer(&lid(LOCAL));
    let payload = Value::Object(good_claims()).to_string();

    let bad: Vec<(&str, String)> = vec![
        ("tampered", tampered),
        ("not yet valid", with("nbf", future.clone().into())),
        ("issued in the future", with("iat", future.into())),
        ("no exp", without("exp")),
        ("no sub", without("sub")),
        ("no type", without("type")),
        ("refresh token", with("type", "refresh".into())),
        ("lowercase t", with("exp", past.replace('T', "t").into())),
        ("numeric exp", with("exp", 4_102_444_800u64.into())),
        ("wrong issuer", with("iss", "https://evil.example".into())),
        ("no issuer", without("iss")),
        (
            "wrong audience",
            with("aud", json!(["https://other.example"])),
        ),
        ("no audience", without("aud")),
        (
            "other key, our kid",
            forge_local(OTHER_LOCAL, &payload, Some(&footer)),
        ),
        (
            "other key, its kid",
            forge_local(OTHER_LOCAL, &payload, Some(&kid_footer(&lid(OTHER_LOCAL)))),
        ),
        (
            "other key, no footer",
            forge_local(OTHER_LOCAL, &payload, None),
        ),
        (
            "public token",
            forge_public(SECRET, &payload, Some(&kid_footer(&pid(SECRET)))),
        ),
        (
            "key material as kid",
            forge_local(LOCAL, &payload, Some(&kid_footer(LOCAL))),
        ),
        (
            "sid as kid",
            forge_local(
                LOCAL,
                &payload,
                Some(&kid_footer(&pid(SECRET).replace("pid", "sid"))),
            ),
        ),
        (
            "non-JSON footer",
            forge_local(LOCAL, &payload, Some("just text")),
        ),
        (
            "duplicate footer keys",
            forge_local(
                LOCAL,
                &payload,
                Some(&format!(r#"{{"kid":"{0}","kid":"{0}"}}"#, lid(LOCAL))),
            ),
        ),
        ("array payload", forge_local(LOCAL, "[1,2]", Some(&footer))),
        (
            "string payload",
            forge_local(LOCAL, "\"alice\"", Some(&footer)),
        ),
        (
            "duplicate claims",
            forge_local(
                LOCAL,
                &payload.replacen('{', r#"{"sub":"mallory","#, 1),
                Some(&footer),
            ),
        ),
        ("trailing dot", format!("{good}.")),
        ("extra segment", format!("{good}.e30")),
        ("v3 header", good.replacen("v4.", "v3.", 1)),
        ("padding", format!("{good}==")),
        ("junk", "not-a-token".into()),
        ("oversized", format!("{good}{}", "A".repeat(1024))),
    ];

    let (_, reference_challenge, reference_body) = body(get_with(&client, "/access", &bad[0].1));
    assert_eq!(
        reference_challenge.as_deref(),
        Some(r#"Bearer error="invalid_token""#)
    );
    assert_eq!(
        serde_json::from_str::<Value>(&reference_body).unwrap()["error"],
        "invalid_token"
    );
    for (case, token) in &bad {
        let (status, challenge, text) = body(get_with(&client, "/access", token));
        assert_eq!(status, Status::Unauthorized, "{case}");
        assert_eq!(challenge, reference_challenge, "{case}");
        assert_eq!(text, reference_body, "{case}");
    }
}

#[test]
fn invalid_utf8_payload_is_rejected() {
    let client = app(keys());
    let key = pasetors::keys::SymmetricKey::<pasetors::version4::V4>::try_from(LOCAL).unwrap();
    let token =
        pasetors::version4::LocalToken::encrypt(&key, b"{\"sub\":\"\xff\"}", None, None).unwrap();
    assert_eq!(
        get_with(&client, "/access", &token).status(),
        Status::Unauthorized
    );
}

#[test]
fn a_token_without_footer_is_tried_against_the_current_key() {
    let client = app(keys());
    let payload = Value::Object(claims("access")).to_string();
    let token = forge_local(LOCAL, &payload, None);
    assert_eq!(get_with(&client, "/access", &token).status(), Status::Ok);
}

#[test]
fn previous_local_keys_verify_by_kid() {
    let payload = Value::Object(claims("access")).to_string();
    let old = forge_local(OTHER_LOCAL, &payload, Some(&kid_footer(&lid(OTHER_LOCAL))));
    let rotated = app(with_keys(json!({ "previous_local_keys": [OTHER_LOCAL] })));
    assert_eq!(get_with(&rotated, "/access", &old).status(), Status::Ok);
    let forgotten = app(keys());
    assert_eq!(
        get_with(&forgotten, "/access", &old).status(),
        Status::Unauthorized
    );
}

#[test]
fn kinds_never_pass_for_each_other() {
    let client = app(keys());
    let access_token = local_token(&claims("access"));
    let refresh_token = local_token(&claims("refresh"));
    assert_eq!(
        get_with(&client, "/refresh", &refresh_token).status(),
        Status::Ok
    );
    assert_eq!(
        get_with(&client, "/refresh", &access_token).status(),
        Status::Unauthorized
    );
    assert_eq!(
        get_with(&client, "/access", &refresh_token).status(),
        Status::Unauthorized
    );
}

#[test]
fn the_purpose_comes_from_configuration_not_from_the_token() {
    let client = app(with_keys(json!({ "access": { "purpose": "public" } })));
    let payload = Value::Object(claims("access")).to_string();
    let public = forge_public(SECRET, &payload, Some(&kid_footer(&pid(SECRET))));
    let local = local_token(&claims("access"));
    assert_eq!(get_with(&client, "/access", &public).status(), Status::Ok);
    assert_eq!(
        get_with(&client, "/access", &local).status(),
        Status::Unauthorized
    );
    // A public token from a key we do not trust, claiming one of our kids, fails closed.
    let foreign = forge_public(OTHER_SECRET, &payload, Some(&kid_footer(&pid(SECRET))));
    assert_eq!(
        get_with(&client, "/access", &foreign).status(),
        Status::Unauthorized
    );
    // Verification-only keys are trusted by kid.
    let other = forge_public(
        OTHER_SECRET,
        &payload,
        Some(&kid_footer(&pid(OTHER_SECRET))),
    );
    assert_eq!(
        get_with(&client, "/access", &other).status(),
        Status::Unauthorized
    );
    let trusting = app(with_keys(json!({
        "access": { "purpose": "public" },
        "public_keys": [rocket_paseto::__private::SecretKey::parse(OTHER_SECRET).unwrap().public_key().to_paserk()],
    })));
    assert_eq!(get_with(&trusting, "/access", &other).status(), Status::Ok);
}

#[test]
fn audience_may_be_an_array_and_leeway_is_honoured() {
    let client = app(with_keys(json!({ "audience": "api", "leeway": 60 })));
    let mut c = claims("access");
    c.insert("aud".into(), json!(["web", "api"]));
    c.insert(
        "nbf".into(),
        time(now() + time::Duration::seconds(30)).into(),
    );
    c.insert(
        "exp".into(),
        time(now() - time::Duration::seconds(30)).into(),
    );
    assert_eq!(
        get_with(&client, "/access", &local_token(&c)).status(),
        Status::Ok
    );
    c.insert(
        "exp".into(),
        time(now() - time::Duration::seconds(90)).into(),
    );
    assert_eq!(
        get_with(&client, "/access", &local_token(&c)).status(),
        Status::Unauthorized
    );
}

#[test]
fn the_outcome_table_holds() {
    let client = app(keys());
    let good = local_token(&claims("access"));
    let bad = good.replacen("v4.local.", "v4.local.x", 1);

    let text = |path: &str, token: Option<&str>| {
        let mut request = client.get(path.to_owned());
        if let Some(token) = token {
            request = request.header(bearer(token));
        }
        let response = request.dispatch();
        (
            response.status(),
            response.into_string().unwrap_or_default(),
        )
    };
    assert_eq!(text("/option", None), (Status::Ok, "none".into()));
    assert_eq!(
        text("/option", Some(&good)),
        (Status::Ok, "some:alice".into())
    );
    assert_eq!(text("/option", Some(&bad)), (Status::Ok, "none".into()));

    assert_eq!(text("/result", None), (Status::Ok, "missing".into()));
    assert_eq!(text("/result", Some(&good)), (Status::Ok, "ok".into()));
    assert_eq!(text("/result", Some(&bad)), (Status::Ok, "invalid".into()));

    assert_eq!(
        text("/optional", None),
        (Status::Ok, "hello stranger".into())
    );
    assert_eq!(
        text("/optional", Some(&good)),
        (Status::Ok, "hello alice".into())
    );
    assert_eq!(text("/optional", Some(&bad)).0, Status::Unauthorized);
}

#[test]
fn typed_claims_and_one_verification_per_request() {
    let client = app(keys());
    let mut c = claims("access");
    c.insert("role".into(), "admin".into());
    let token = local_token(&c);
    assert_eq!(
        get_with(&client, "/role", &token).into_string().unwrap(),
        "alice:admin"
    );
    assert_eq!(
        get_with(&client, "/twice", &token).into_string().unwrap(),
        "true"
    );
    // Claims that do not fit the route's type are a rejection, not a 500.
    let plain = local_token(&claims("access"));
    assert_eq!(
        get_with(&client, "/role", &plain).status(),
        Status::Unauthorized
    );
}

#[test]
fn cookies_are_read_only_without_a_header() {
    let client = app(keys());
    let good = local_token(&claims("access"));
    let response = client
        .get("/access")
        .cookie(Cookie::new("access_token", good.clone()))
        .dispatch();
    assert_eq!(response.status(), Status::Ok);
    // A present but invalid header never falls back to a valid cookie.
    let response = client
        .get("/access")
        .header(bearer("garbage"))
        .cookie(Cookie::new("access_token", good.clone()))
        .dispatch();
    assert_eq!(response.status(), Status::Unauthorized);
    // Another kind's cookie is not read.
    let response = client
        .get("/access")
        .cookie(Cookie::new("refresh_token", good.clone()))
        .dispatch();
    assert_eq!(response.status(), Status::Unauthorized);
    // Cookie names are configurable, and "" turns cookies off.
    let renamed = app(with_keys(json!({ "access": { "cookie": "session" } })));
    let response = renamed
        .get("/access")
        .cookie(Cookie::new("session", good.clone()))
        .dispatch();
    assert_eq!(response.status(), Status::Ok);
    let off = app(with_keys(json!({ "access": { "cookie": "" } })));
    let response = off
        .get("/access")
        .cookie(Cookie::new("access_token", good))
        .dispatch();
    assert_eq!(response.status(), Status::Unauthorized);
}

#[test]
fn query_tokens_are_read_only_by_routes_that_opt_in_and_after_header_and_cookie() {
    let good = local_token(&claims("access"));
    let at = |query: &str| format!("/socket?{query}");
    // Off by default, even where the route opts in.
    let client = app(keys());
    let status = client.get(at(&format!("access_token={good}"))).dispatch();
    assert_eq!(status.status(), Status::Unauthorized);

    let client = app(with_keys(json!({ "access": { "query": "access_token" } })));
    let response = client
        .get(at(&format!("a=1&access_token={good}")))
        .dispatch();
    assert_eq!(response.status(), Status::Ok);
    assert!(response.into_string().unwrap().starts_with("alice "));
    // A route that does not wrap its guard in `QueryToken` never reads the query string.
    let (status, _, body_text) = body(
        client
            .get(format!("/access?access_token={good}"))
            .dispatch(),
    );
    assert_eq!(status, Status::Unauthorized);
    assert!(body_text.contains("\"unauthorized\""), "{body_text}");
    // Read on GET only (WebSocket upgrades and links): a POST with a token in its URL is as
    // good as one without a token.
    let (status, _, body_text) = body(
        client
            .post(format!("/access?access_token={good}"))
            .dispatch(),
    );
    assert_eq!(status, Status::Unauthorized);
    assert!(body_text.contains("\"unauthorized\""), "{body_text}");
    // Never from a browser that holds any of the crate's cookies (here a refresh or a CSRF
    // cookie): a link must not act for a signed-in browser as someone else.
    for cookie in ["refresh_token", "csrf_token", "remember_token"] {
        let response = client
            .get(at(&format!("access_token={good}")))
            .cookie(Cookie::new(cookie, "x"))
            .dispatch();
        assert_eq!(response.status(), Status::Unauthorized, "{cookie}");
    }
    // A header or a cookie, present but bad, never falls back to the query string; a cookie
    // wins over it (a link cannot switch a signed-in browser to another user).
    let response = client
        .get(at(&format!("access_token={good}")))
        .header(bearer("garbage"))
        .dispatch();
    assert_eq!(response.status(), Status::Unauthorized);
    let response = client
        .get(at(&format!("access_token={good}")))
        .cookie(Cookie::new("access_token", "garbage"))
        .dispatch();
    assert_eq!(response.status(), Status::Unauthorized);
    let response = client
        .get(at("access_token=garbage"))
        .cookie(Cookie::new("access_token", good.clone()))
        .dispatch();
    assert_eq!(response.status(), Status::Ok);
    // Bad values are the usual 401, never a 500; twice is as bad as two headers.
    let twice = format!("access_token={good}&access_token={good}");
    let encoded_twice = format!("access_token={good}&%61ccess_token={good}");
    let bad = [
        "access_token=",
        "access_token",
        "access_token=garbage",
        "access_token=%FF%FE",
        &twice,
        &encoded_twice,
    ];
    for query in bad {
        let (status, _, body) = body(client.get(at(query)).dispatch());
        assert_eq!(status, Status::Unauthorized, "{query}");
        assert!(body.contains("invalid_token"), "{query}: {body}");
    }
    let (status, _, body) = body(client.get(at("other=1")).dispatch());
    assert_eq!(status, Status::Unauthorized);
    assert!(body.contains("\"unauthorized\""), "{body}");
    // Another kind's parameter is not read, and kinds still never pass for each other.
    let refresh = local_token(&claims("refresh"));
    let response = client
        .get(format!("/refresh?access_token={refresh}"))
        .dispatch();
    assert_eq!(response.status(), Status::Unauthorized);
    let response = client
        .get(at(&format!("access_token={refresh}")))
        .dispatch();
    assert_eq!(response.status(), Status::Unauthorized);
}

#[test]
fn query_tokens_leave_the_uri_before_any_route_or_log_sees_them() {
    let client = app(with_keys(json!({ "access": { "query": "access_token" } })));
    let good = local_token(&claims("access"));
    // The route, like Rocket's request log, sees the parameter with its value replaced; the
    // other parameters are untouched, in order, and a percent-encoded name is caught too.
    for (query, seen) in [
        (
            format!("a=1&access_token={good}&b=%20x"),
            "/socket?a=1&access_token=redacted&b=%20x",
        ),
        (
            format!("%61ccess_token={good}"),
            "/socket?access_token=redacted",
        ),
    ] {
        let response = client.get(format!("/socket?{query}")).dispatch();
        assert_eq!(response.status(), Status::Ok, "{query}");
        let text = response.into_string().unwrap();
        assert_eq!(text, format!("alice false {seen}"), "{query}");
        assert!(!text.contains(&good));
    }
    // On every route, whether it reads query tokens or not, and whatever the outcome.
    let response = client
        .get(format!("/access?access_token={good}"))
        .dispatch();
    assert_eq!(response.status(), Status::Unauthorized);
    let response = client
        .get(format!("/nowhere?access_token={good}"))
        .dispatch();
    assert_eq!(response.status(), Status::NotFound);
}

#[test]
fn a_query_token_is_never_fresh() {
    let client = app(with_keys(json!({ "access": { "query": "access_token" } })));
    let issuer = client.rocket().state::<Issuer>().unwrap();
    let fresh = issuer.access("alice").fresh().issue().unwrap();
    // Fresh in the header of the same route, not in its query string.
    let response = client.get("/socket").header(bearer(&fresh)).dispatch();
    assert_eq!(response.into_string().unwrap(), "alice true /socket");
    let response = client
        .get(format!("/socket?access_token={fresh}"))
        .dispatch();
    assert_eq!(
        response.into_string().unwrap(),
        "alice false /socket?access_token=redacted"
    );
}

#[test]
fn cookie_websocket_upgrades_must_come_from_the_servers_own_pages() {
    let client = app(keys());
    let good = local_token(&claims("access"));
    let upgrade = |origin: Option<&str>| {
        let mut request = client
            .get("/access")
            .cookie(Cookie::new("access_token", good.clone()))
            .header(Header::new("Connection", "Upgrade"))
            .header(Header::new("Upgrade", "websocket"));
        if let Some(origin) = origin {
            request = request.header(Header::new("Origin", origin.to_owned()));
        }
        request.set_host(Host::parse("app.example").unwrap());
        request.dispatch()
    };
    // Cross-site WebSocket hijacking: another site's page opens a socket with the victim's
    // cookie. Refused as a forged request.
    for origin in ["https://evil.example", "null", "http://app.example.evil"] {
        let (status, _, body_text) = body(upgrade(Some(origin)));
        assert_eq!(status, Status::Forbidden, "{origin}");
        assert!(body_text.contains("csrf_failed"), "{body_text}");
    }
    // The server's own page, and a client that sends no origin (not a browser), pass.
    assert_eq!(upgrade(Some("http://app.example")).status(), Status::Ok);
    assert_eq!(upgrade(None).status(), Status::Ok);
    // A plain GET with the cookie from another site is not an upgrade: the usual rules.
    let response = client
        .get("/access")
        .cookie(Cookie::new("access_token", good.clone()))
        .header(Header::new("Origin", "https://evil.example"))
        .dispatch();
    assert_eq!(response.status(), Status::Ok);
    // A bearer token in an upgrade needs no origin check: no browser sends it on its own.
    let response = client
        .get("/access")
        .header(bearer(&good))
        .header(Header::new("Upgrade", "websocket"))
        .header(Header::new("Origin", "https://evil.example"))
        .dispatch();
    assert_eq!(response.status(), Status::Ok);
}

#[test]
fn header_name_and_scheme_are_configurable() {
    let client = app(with_keys(json!({ "header": "X-Auth", "scheme": "Token" })));
    let good = local_token(&claims("access"));
    let ok = client
        .get("/access")
        .header(Header::new("X-Auth", format!("token {good}")))
        .dispatch();
    assert_eq!(ok.status(), Status::Ok);
    let (status, challenge, _) = body(get_with(&client, "/access", &good));
    assert_eq!(status, Status::Unauthorized);
    assert_eq!(challenge.as_deref(), Some("Token"));
}

#[test]
fn malformed_headers_are_401_not_500() {
    let client = app(keys());
    let good = local_token(&claims("access"));
    let cases = [
        format!("Basic {good}"),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        format!("Bearer {good} extra"),
        format!("Bearer\t{good}"),
        "Bearer é€".to_owned(),
    ];
    for value in cases {
        let response = client
            .get("/access")
            .header(Header::new("Authorization", value.clone()))
            .dispatch();
        assert_eq!(response.status(), Status::Unauthorized, "{value:?}");
    }
    let twice = client
        .get("/access")
        .header(bearer(&good))
        .header(Header::new("Authorization", format!("Bearer {good}")))
        .dispatch();
    assert_eq!(twice.status(), Status::Unauthorized);
}

#[test]
fn cookie_tokens_need_the_csrf_header_on_unsafe_methods() {
    let client = app(keys());
    let csrf = random_id();
    assert_eq!(csrf.len(), 22);
    let mut c = claims("access");
    c.insert("csrf".into(), csrf.clone().into());
    let with_csrf = local_token(&c);
    let without_csrf = local_token(&claims("access"));
    let post = |token: &str, header: Option<&str>| {
        let mut request = client
            .post("/access")
            .cookie(Cookie::new("access_token", token.to_owned()));
        if let Some(value) = header {
            request = request.header(Header::new("X-CSRF-Token", value.to_owned()));
        }
        let response = request.dispatch();
        (
            response.status(),
            response.into_string().unwrap_or_default(),
        )
    };
    assert_eq!(post(&with_csrf, Some(&csrf)).0, Status::Ok);
    let (status, text) = post(&with_csrf, None);
    assert_eq!(status, Status::Forbidden);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["error"],
        "csrf_failed"
    );
    let mut wrong = csrf.clone();
    wrong.replace_range(21.., if csrf.ends_with('A') { "B" } else { "A" });
    assert_eq!(post(&with_csrf, Some(&wrong)).0, Status::Forbidden);
    assert_eq!(post(&without_csrf, Some("anything")).0, Status::Forbidden);
    // Safe methods and header-borne tokens need no CSRF header.
    let get = client
        .get("/access")
        .cookie(Cookie::new("access_token", without_csrf.clone()))
        .dispatch();
    assert_eq!(get.status(), Status::Ok);
    let header = client
        .post("/access")
        .header(bearer(&without_csrf))
        .dispatch();
    assert_eq!(header.status(), Status::Ok);
    // Exempt methods are configurable: exempting POST lets the cookie token through.
    let exempt = app(with_keys(json!({ "csrf_exempt_methods": ["GET", "POST"] })));
    let response = exempt
        .post("/access")
        .cookie(Cookie::new("access_token", without_csrf.clone()))
        .dispatch();
    assert_eq!(response.status(), Status::Ok);
    // And it can be turned off.
    let off = app(with_keys(json!({ "csrf": false })));
    let response = off
        .post("/access")
        .cookie(Cookie::new("access_token", without_csrf))
        .dispatch();
    assert_eq!(response.status(), Status::Ok);
}

#[test]
fn a_form_post_turned_into_a_get_by_method_keeps_the_csrf_check() {
    let client = app(keys());
    let csrf = random_id();
    let mut c = claims("access");
    c.insert("csrf".into(), csrf.clone().into());
    let token = local_token(&c);
    // Rocket reads `_method` from a form post's body and routes the request as that method:
    // any site's page can send this form, so it is checked as the POST it was.
    let form = |body: String| {
        client
            .post("/access")
            .cookie(Cookie::new("access_token", token.clone()))
            .header(ContentType::Form)
            .body(body)
            .dispatch()
            .status()
    };
    assert_eq!(form("_method=get".into()), Status::Forbidden);
    assert_eq!(form("_method=get&x=1".into()), Status::Forbidden);
    // The server's own forms pass with their CSRF field, as any form post does.
    assert_eq!(form(format!("_method=get&_csrf={csrf}")), Status::Ok);
    // A plain GET, with no body, is still exempt.
    let get = client
        .get("/access")
        .cookie(Cookie::new("access_token", token.clone()))
        .dispatch();
    assert_eq!(get.status(), Status::Ok);
}

#[test]
fn an_invalid_token_in_the_result_guard_does_not_leak_into_the_body() {
    let client = app(keys());
    let response = client
        .get("/access")
        .header(ContentType::JSON)
        .header(bearer("v4.local.AAAA"))
        .dispatch();
    let text = response.into_string().unwrap();
    assert!(!text.contains("v4.local"));
}

#[test]
fn a_cached_token_still_meets_every_per_request_check() {
    let client = app(keys());
    let mut c = claims("access");
    c.insert("csrf".into(), "csrf-value-123".into());
    let token = local_token(&c);
    // Verified once (and cached) through the header…
    assert_eq!(get_with(&client, "/access", &token).status(), Status::Ok);
    assert_eq!(get_with(&client, "/access", &token).status(), Status::Ok);
    // …a hit is still refused as another kind…
    assert_eq!(
        get_with(&client, "/refresh", &token).status(),
        Status::Unauthorized
    );
    // …and from a cookie on POST still needs the CSRF header.
    let post = |csrf: Option<&str>| {
        let mut r = client
            .post("/access")
            .cookie(Cookie::new("access_token", token.clone()));
        if let Some(v) = csrf {
            r = r.header(Header::new("X-CSRF-Token", v.to_owned()));
        }
        r.dispatch().status()
    };
    assert_eq!(post(None), Status::Forbidden);
    assert_eq!(post(Some("csrf-value-123")), Status::Ok);
    // With the cache off, the same answers.
    let uncached = app(with_keys(json!({ "cache_size": 0 })));
    assert_eq!(get_with(&uncached, "/access", &token).status(), Status::Ok);
    assert_eq!(
        get_with(&uncached, "/refresh", &token).status(),
        Status::Unauthorized
    );
}

/// Rocket moves a guard's value through the route's future, and keeps a copy per argument and
/// per await: the guard is a few words wide, whatever claims type it reads into.
#[test]
fn a_guard_is_a_few_words() {
    for (guard, size) in [
        ("Paseto<Access>", std::mem::size_of::<Paseto<Access>>()),
        ("Paseto<Refresh>", std::mem::size_of::<Paseto<Refresh>>()),
        (
            "Paseto<Access, Role>",
            std::mem::size_of::<Paseto<Access, Role>>(),
        ),
    ] {
        assert!(size <= 32, "{guard} is {size} bytes");
    }
}

/// Rocket boxes each guard's future on every request. glibc's per-thread cache serves blocks
/// of up to 1032 bytes; a bigger future takes the allocator's slow path (and a copy of that
/// size) on every guarded request. The rare paths (a revocation store, implicit refresh,
/// renewing, key discovery, tracing) keep their state in boxes of their own.
#[test]
fn a_guards_future_is_small() {
    use rocket::request::FromRequest;
    let client = app(with_keys(json!({})));
    let request = client.get("/access");
    for (guard, size) in [
        ("Paseto<Access>", {
            let future = <Paseto<Access> as FromRequest>::from_request(request.inner());
            std::mem::size_of_val(&*future)
        }),
        ("Paseto<Refresh>", {
            let future = <Paseto<Refresh> as FromRequest>::from_request(request.inner());
            std::mem::size_of_val(&*future)
        }),
    ] {
        assert!(size <= 512, "{guard}'s future is {size} bytes");
    }
}
