//! The `metrics` feature: the counters reach a real Prometheus recorder, rendered as a scrape
//! would be, both on their own (once a second) and on demand before a scrape.

mod common;

use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use rocket::http::{Cookie, Status};
use rocket::local::asynchronous::Client;
use rocket::{State, get, post, routes};
use rocket_paseto::{Access, AuthError, Issuer, LoginThrottle, Paseto, PasetoCookies, PasetoStats};

use common::{bearer, keys};

#[get("/user")]
fn user(token: Paseto<Access>) -> String {
    token.subject().to_owned()
}

#[post("/token")]
fn token(issuer: &Issuer) -> Result<String, AuthError> {
    Ok(issuer.access("alice").issue()?)
}

#[post("/note")]
fn note_put(cookies: PasetoCookies<'_>) -> Result<(), AuthError> {
    cookies.add("note", "hello")?;
    Ok(())
}

#[get("/note")]
fn note_get(cookies: PasetoCookies<'_>) -> Option<String> {
    cookies.get("note")
}

/// A login that always fails, through the throttle.
#[post("/login")]
async fn login(throttle: LoginThrottle<'_>) -> Result<(), AuthError> {
    throttle.check("alice").await?.failed().await?;
    Err(AuthError::BadCredentials)
}

/// The usual Prometheus route: publish the figures of this moment, then render.
#[get("/metrics")]
fn scrape(stats: PasetoStats, handle: &State<PrometheusHandle>) -> String {
    stats.publish();
    handle.render()
}

/// The line of `metric` (with its labels, if any) in a rendered scrape, e.g.
/// `rocket_paseto_cache_hits_total{cache="jar"} 1`.
fn value(scrape: &str, metric: &str) -> Option<u64> {
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(metric)?.strip_prefix(' ')?.parse().ok())
}

#[rocket::async_test]
async fn the_counters_reach_a_prometheus_recorder() {
    // The only test in this binary: the recorder is global to the process.
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).expect("no other recorder in this test binary");
    let mut paseto = keys();
    paseto["throttle"] = serde_json::json!({ "account_failures": 1 });
    let routes = routes![user, token, note_put, note_get, login, scrape];
    let rocket = common::rocket(paseto, routes).manage(handle.clone());
    let client = Client::untracked(rocket).await.unwrap();

    let token = client
        .post("/token")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    for _ in 0..2 {
        let ok = client.get("/user").header(bearer(&token)).dispatch().await;
        assert_eq!(ok.status(), Status::Ok);
    }
    let bad = client
        .get("/user")
        .header(bearer("v4.local.AAAA"))
        .dispatch()
        .await;
    assert_eq!(bad.status(), Status::Unauthorized);
    let missing = client.get("/user").dispatch().await;
    assert_eq!(missing.status(), Status::Unauthorized);
    let put = client.post("/note").dispatch().await;
    let sealed = put.cookies().get("note").unwrap().value().to_owned();
    for _ in 0..2 {
        let read = client
            .get("/note")
            .cookie(Cookie::new("note", sealed.clone()));
        assert_eq!(read.dispatch().await.into_string().await.unwrap(), "hello");
    }

    let statuses = [
        client.post("/login").dispatch().await.status(),
        client.post("/login").dispatch().await.status(),
    ];
    assert_eq!(statuses, [Status::Unauthorized, Status::TooManyRequests]);

    // Published on their own, without a scrape route: wait for the next tick.
    let accepted = r#"rocket_paseto_tokens_total{outcome="accepted"}"#;
    let mut published = handle.render();
    for _ in 0..100 {
        if value(&published, accepted) == Some(2) {
            break;
        }
        rocket::tokio::time::sleep(Duration::from_millis(50)).await;
        published = handle.render();
    }
    assert_eq!(value(&published, accepted), Some(2), "{published}");

    // On demand, through HTTP, with every outcome and cache labelled.
    let scrape = client
        .get("/metrics")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    let expected = [
        (accepted, 2),
        (r#"rocket_paseto_tokens_total{outcome="invalid"}"#, 1),
        (r#"rocket_paseto_tokens_total{outcome="missing"}"#, 1),
        (r#"rocket_paseto_tokens_total{outcome="expired"}"#, 0),
        (r#"rocket_paseto_cache_hits_total{cache="token"}"#, 1),
        (r#"rocket_paseto_cache_misses_total{cache="token"}"#, 2),
        (r#"rocket_paseto_cache_hits_total{cache="jar"}"#, 1),
        (r#"rocket_paseto_cache_misses_total{cache="jar"}"#, 1),
        (r#"rocket_paseto_cache_entries{cache="jar"}"#, 1),
        // The default memory store: one lookup per accepted access token (2), and the
        // throttle's reads and count for the two login attempts (3).
        ("rocket_paseto_revocation_store_calls_total", 5),
        ("rocket_paseto_logins_throttled_total", 1),
    ];
    for (metric, count) in expected {
        assert_eq!(value(&scrape, metric), Some(count), "{metric}\n{scrape}");
    }
    // Without key discovery, no key-fetch metric to alert on.
    assert!(!scrape.contains("rocket_paseto_key_fetch"), "{scrape}");
    assert!(
        scrape.contains("# HELP rocket_paseto_tokens_total"),
        "{scrape}"
    );
    // Fixed labels only: no token or cookie value is ever a label.
    assert!(!scrape.contains(&token[9..]) && !scrape.contains(&sealed[9..]));
}
