//! The events hook through HTTP: what each step of a session's life reports, that no event
//! carries a token, and that a slow or panicking hook neither delays nor fails requests while
//! its losses are counted.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::serde::json::Json;
use rocket::tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use rocket::tokio::time::timeout;
use rocket::{Route, delete, get, post, routes};
use rocket_paseto::{
    Access, AuthError, Event, EventKind, Issuer, LoggedOut, LoginThrottle, Paseto, PasetoCookies,
    PasetoFairing, Refresh, Session, Sessions, SingleUse, TokenPair, catchers,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

use common::{bearer, figment, keys};

/// The client address every request comes from.
const CLIENT: &str = "203.0.113.7:40000";

#[derive(serde::Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

#[post("/login", data = "<form>")]
async fn login(
    form: Json<Credentials>,
    throttle: LoginThrottle<'_>,
    sessions: Sessions<'_>,
) -> Result<TokenPair, AuthError> {
    let attempt = throttle.check(&form.username).await?;
    if form.password != "right" {
        attempt.failed().await?;
        return Err(AuthError::BadCredentials);
    }
    attempt.succeeded().await?;
    sessions.login(form.username.as_str()).issue().await
}

#[post("/browser/login")]
async fn browser_login(cookies: PasetoCookies<'_>) -> Result<(), AuthError> {
    cookies.login("alice").issue().await.map(drop)
}

#[post("/browser/logout")]
async fn browser_logout(cookies: PasetoCookies<'_>) -> Result<Json<LoggedOut>, AuthError> {
    Ok(Json(cookies.logout().await?))
}

#[post("/refresh")]
async fn refresh(token: Paseto<Refresh>, sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
    sessions.refresh(&token).await
}

#[post("/logout")]
async fn logout(sessions: Sessions<'_>) -> Result<Json<LoggedOut>, AuthError> {
    Ok(Json(sessions.logout().await?))
}

#[get("/sessions")]
async fn list(
    token: Paseto<Access>,
    sessions: Sessions<'_>,
) -> Result<Json<Vec<Session>>, AuthError> {
    Ok(Json(sessions.list(&token).await?))
}

#[delete("/sessions/<id>")]
async fn end(token: Paseto<Access>, sessions: Sessions<'_>, id: &str) -> Result<(), AuthError> {
    match sessions.end(&token, id).await? {
        true => Ok(()),
        false => Err(AuthError::BadCredentials),
    }
}

#[post("/logout-all")]
async fn logout_all(token: Paseto<Access>, sessions: Sessions<'_>) -> Result<(), AuthError> {
    sessions.end_all(&token).await
}

#[post("/password-reset/confirm", data = "<token>")]
async fn reset(token: &str, issuer: &Issuer) -> Result<(), AuthError> {
    issuer
        .consume(SingleUse::PasswordReset, token)
        .await
        .map(drop)
}

/// The admin's calls (a real route checks that the caller is an admin first).
#[delete("/admin/<subject>/sessions/<id>")]
async fn admin_end(subject: &str, id: &str, issuer: &Issuer) -> Result<(), AuthError> {
    match issuer.end_session_of(subject, id).await? {
        true => Ok(()),
        false => Err(AuthError::BadCredentials),
    }
}

#[delete("/admin/<subject>/sessions")]
async fn admin_end_all(subject: &str, issuer: &Issuer) -> Result<(), AuthError> {
    issuer.end_sessions_of(subject).await
}

/// A state-changing route: a cookie token needs the CSRF header here.
#[post("/note")]
fn note(token: Paseto<Access>) -> String {
    token.subject().to_owned()
}

fn routes() -> Vec<Route> {
    routes![
        login,
        browser_login,
        browser_logout,
        refresh,
        logout,
        list,
        end,
        logout_all,
        note,
        reset,
        admin_end,
        admin_end_all
    ]
}

/// A memory store, rotation without a grace window, and a throttle of two failures per
/// account.
fn paseto() -> Value {
    let mut paseto = keys();
    paseto["revocation"] = json!({ "store": "memory", "rotation_grace": 0 });
    paseto["throttle"] = json!({ "account_failures": 2, "address_failures": 0 });
    paseto
}

async fn client_with(paseto: Value, fairing: PasetoFairing) -> Client {
    let rocket = rocket::custom(figment(paseto))
        .attach(fairing)
        .register("/", catchers())
        .mount("/", routes());
    Client::tracked(rocket).await.expect("the test app ignites")
}

/// An app whose hook sends every event into the returned channel.
async fn recording() -> (Client, UnboundedReceiver<Event>) {
    let (sender, events) = unbounded_channel();
    let fairing = PasetoFairing::default().events(move |event| {
        let sender = sender.clone();
        async move {
            let _ = sender.send(event);
        }
    });
    (client_with(paseto(), fairing).await, events)
}

/// The next event the hook received.
async fn next(events: &mut UnboundedReceiver<Event>) -> Event {
    let event = timeout(Duration::from_secs(10), events.recv()).await;
    event
        .expect("the hook is called")
        .expect("the channel is open")
}

fn address() -> Option<IpAddr> {
    Some(CLIENT.parse::<SocketAddr>().unwrap().ip())
}

async fn login_as<'c>(client: &'c Client, username: &str, password: &str) -> LocalResponse<'c> {
    let body = json!({ "username": username, "password": password }).to_string();
    client
        .post("/login")
        .remote(CLIENT.parse().unwrap())
        .header(ContentType::JSON)
        .body(body)
        .dispatch()
        .await
}

async fn pair(client: &Client) -> TokenPair {
    let response = login_as(client, "alice", "right").await;
    assert_eq!(response.status(), Status::Ok);
    response.into_json().await.expect("a token pair")
}

async fn post<'c>(client: &'c Client, path: &'static str, token: &str) -> LocalResponse<'c> {
    client
        .post(path)
        .remote(CLIENT.parse().unwrap())
        .header(bearer(token))
        .dispatch()
        .await
}

async fn session_ids(client: &Client, access: &str) -> Vec<String> {
    let response = client
        .get("/sessions")
        .header(bearer(access))
        .dispatch()
        .await;
    let sessions: Vec<Session> = response.into_json().await.expect("a list of sessions");
    sessions.into_iter().map(|s| s.id).collect()
}

/// The event's JSON holds none of `secrets`.
fn assert_carries_none_of(event: &Event, secrets: &[&str]) {
    let json = serde_json::to_string(event).unwrap();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        assert!(!json.contains(secret), "{json} holds a secret");
    }
}

#[rocket::async_test]
async fn a_login_reports_its_subject_session_address_and_time() {
    let (client, mut events) = recording().await;
    let before = OffsetDateTime::now_utc();
    let tokens = pair(&client).await;
    let event = next(&mut events).await;
    assert_eq!(event.kind, EventKind::Login);
    assert_eq!(event.subject.as_deref(), Some("alice"));
    assert_eq!(event.ip, address());
    assert!(event.at >= before && event.at <= OffsetDateTime::now_utc());
    let ids = session_ids(&client, &tokens.access_token).await;
    assert_eq!(ids.len(), 1);
    assert_eq!(event.session.as_ref(), Some(&ids[0]));
    assert_carries_none_of(
        &event,
        &[&tokens.access_token, &tokens.refresh_token, "right"],
    );

    let json: Value = serde_json::to_value(&event).unwrap();
    assert_eq!(json["kind"], "login");
    assert_eq!(json["ip"], "203.0.113.7");
    assert_eq!(EventKind::LoginFailed.as_str(), "login_failed");
}

#[rocket::async_test]
async fn failed_and_throttled_logins_are_reported_without_the_password() {
    let (client, mut events) = recording().await;
    for _ in 0..2 {
        let response = login_as(&client, "mallory", "guess").await;
        assert_eq!(response.status(), Status::Unauthorized);
        let event = next(&mut events).await;
        assert_eq!(event.kind, EventKind::LoginFailed);
        assert_eq!(event.subject.as_deref(), Some("mallory"));
        assert_eq!((&event.session, event.ip), (&None, address()));
        assert_carries_none_of(&event, &["guess"]);
    }
    let response = login_as(&client, "mallory", "right").await;
    assert_eq!(response.status(), Status::TooManyRequests);
    let event = next(&mut events).await;
    assert_eq!(event.kind, EventKind::Throttled);
    assert_eq!(event.subject.as_deref(), Some("mallory"));
    assert_carries_none_of(&event, &["right"]);
}

#[rocket::async_test]
async fn refresh_and_reuse_are_reported_in_their_session() {
    let (client, mut events) = recording().await;
    let first = pair(&client).await;
    let session = next(&mut events).await.session;
    assert!(session.is_some());

    let response = post(&client, "/refresh", &first.refresh_token).await;
    assert_eq!(response.status(), Status::Ok);
    let second: TokenPair = response.into_json().await.unwrap();
    let event = next(&mut events).await;
    assert_eq!(event.kind, EventKind::Refresh);
    assert_eq!(
        (event.subject.as_deref(), &event.session),
        (Some("alice"), &session)
    );
    assert_eq!(event.ip, address());
    assert_carries_none_of(&event, &[&first.refresh_token, &second.refresh_token]);

    // The replaced refresh token again, with no grace window: reuse, and the session ends.
    let replayed = post(&client, "/refresh", &first.refresh_token).await;
    assert_eq!(replayed.status(), Status::Unauthorized);
    let event = next(&mut events).await;
    assert_eq!(event.kind, EventKind::ReuseDetected);
    assert_eq!(
        (event.subject.as_deref(), &event.session),
        (Some("alice"), &session)
    );
    assert_eq!(event.ip, address());
    assert_carries_none_of(&event, &[&first.refresh_token, &second.access_token]);
    let ended = post(&client, "/refresh", &second.refresh_token).await;
    assert_eq!(ended.status(), Status::Unauthorized);
}

#[rocket::async_test]
async fn logouts_report_the_session_they_end() {
    let (client, mut events) = recording().await;
    let bearer_login = pair(&client).await;
    let bearer_session = next(&mut events).await.session;
    let listed = pair(&client).await;
    let listed_session = next(&mut events).await.session;

    let response = post(&client, "/logout", &bearer_login.access_token).await;
    assert_eq!(response.status(), Status::Ok);
    let event = next(&mut events).await;
    assert_eq!(event.kind, EventKind::Logout);
    assert_eq!(
        (event.subject.as_deref(), &event.session),
        (Some("alice"), &bearer_session)
    );
    assert_carries_none_of(&event, &[&bearer_login.access_token]);

    // `Sessions::end` by the id the list shows.
    let id = listed_session.clone().unwrap();
    let ended = client
        .delete(format!("/sessions/{id}"))
        .header(bearer(&listed.access_token))
        .dispatch()
        .await;
    assert_eq!(ended.status(), Status::Ok);
    let event = next(&mut events).await;
    assert_eq!(
        (event.kind, &event.session),
        (EventKind::Logout, &listed_session)
    );

    // A browser's logout, once for its session however many cookies it sends.
    let browser = client.post("/browser/login").dispatch().await;
    assert_eq!(browser.status(), Status::Ok);
    let cookie_session = next(&mut events).await.session;
    let csrf = browser
        .cookies()
        .get("csrf_token")
        .unwrap()
        .value()
        .to_owned();
    let response = client
        .post("/browser/logout")
        .header(Header::new("X-CSRF-Token", csrf))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    let event = next(&mut events).await;
    assert_eq!(
        (event.kind, &event.session),
        (EventKind::Logout, &cookie_session)
    );

    // Everywhere: one event for the subject, outside any one session.
    let last = pair(&client).await;
    next(&mut events).await;
    let response = post(&client, "/logout-all", &last.access_token).await;
    assert_eq!(response.status(), Status::Ok);
    let event = next(&mut events).await;
    assert_eq!(event.kind, EventKind::LogoutAll);
    assert_eq!(
        (event.subject.as_deref(), event.session),
        (Some("alice"), None)
    );
    assert!(events.try_recv().is_err(), "one event per step");
}

#[rocket::async_test]
async fn a_cookie_token_without_its_csrf_header_is_reported() {
    let (client, mut events) = recording().await;
    let browser = client.post("/browser/login").dispatch().await;
    assert_eq!(browser.status(), Status::Ok);
    let session = next(&mut events).await.session;
    let access = browser
        .cookies()
        .get("access_token")
        .unwrap()
        .value()
        .to_owned();

    let refused = client
        .post("/note")
        .remote(CLIENT.parse().unwrap())
        .dispatch()
        .await;
    assert_eq!(refused.status(), Status::Forbidden);
    let event = next(&mut events).await;
    assert_eq!(event.kind, EventKind::CsrfFailed);
    assert_eq!(
        (event.subject.as_deref(), &event.session),
        (Some("alice"), &session)
    );
    assert_eq!(event.ip, address());
    assert_carries_none_of(&event, &[&access]);
}

#[rocket::async_test]
async fn a_password_reset_and_the_admins_calls_are_reported() {
    let (client, mut events) = recording().await;
    let issuer = client.rocket().state::<Issuer>().unwrap();
    let token = issuer
        .single_use(SingleUse::PasswordReset, "alice")
        .issue()
        .unwrap();
    let response = client
        .post("/password-reset/confirm")
        .body(&token)
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    let event = next(&mut events).await;
    assert_eq!(event.kind, EventKind::PasswordReset);
    assert_eq!(
        (event.subject.as_deref(), &event.session),
        (Some("alice"), &None)
    );
    assert_carries_none_of(&event, &[&token]);
    // Used once: the second use is refused, and reports nothing.
    let again = client
        .post("/password-reset/confirm")
        .body(&token)
        .dispatch()
        .await;
    assert_eq!(again.status(), Status::Unauthorized);

    let tokens = pair(&client).await;
    let session = next(&mut events).await.session.unwrap();
    let ended = client
        .delete(format!("/admin/alice/sessions/{session}"))
        .dispatch()
        .await;
    assert_eq!(ended.status(), Status::Ok);
    let event = next(&mut events).await;
    assert_eq!(event.kind, EventKind::Logout);
    assert_eq!(
        (event.subject.as_deref(), event.session),
        (Some("alice"), Some(session))
    );
    let all = client.delete("/admin/alice/sessions").dispatch().await;
    assert_eq!(all.status(), Status::Ok);
    let event = next(&mut events).await;
    assert_eq!(
        (event.kind, event.subject.as_deref()),
        (EventKind::LogoutAll, Some("alice"))
    );
    assert_carries_none_of(&event, &[&tokens.access_token, &tokens.refresh_token]);
    assert!(events.try_recv().is_err(), "one event per step");
}

/// The crate's counters, from managed state.
fn dropped(client: &Client) -> u64 {
    let issuer = client.rocket().state::<Issuer>().unwrap();
    issuer.stats().events_dropped
}

/// A slow hook holds one event at a time; 1,024 more wait, and the rest are dropped, counted.
#[rocket::async_test]
async fn a_slow_hook_delays_no_request_and_its_losses_are_counted() {
    let fairing = PasetoFairing::default().events(|_| async {
        rocket::tokio::time::sleep(Duration::from_secs(10)).await;
    });
    let mut paseto = keys();
    paseto["throttle"] = json!({ "account_failures": 0, "address_failures": 0 });
    let client = client_with(paseto, fairing).await;
    const LOGINS: u64 = 1_100;
    for _ in 0..LOGINS {
        assert_eq!(
            login_as(&client, "alice", "right").await.status(),
            Status::Ok
        );
    }
    // The hook may or may not have taken the first event out of the queue yet.
    let lost = dropped(&client);
    assert!(
        (LOGINS - 1_025..=LOGINS - 1_024).contains(&lost),
        "{lost} events dropped"
    );
}

#[rocket::async_test]
async fn a_panicking_hook_fails_no_request_and_its_losses_are_counted() {
    let fairing = PasetoFairing::default().events(|event| async move {
        panic!("the hook fails on {}", event.kind);
    });
    let client = client_with(paseto(), fairing).await;
    for _ in 0..5 {
        assert_eq!(
            login_as(&client, "alice", "right").await.status(),
            Status::Ok
        );
    }
    // Each call panics in a task of its own, one after the other: wait for the five.
    for _ in 0..1_000 {
        if dropped(&client) >= 5 {
            break;
        }
        rocket::tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(dropped(&client), 5);
    assert_eq!(
        login_as(&client, "alice", "right").await.status(),
        Status::Ok
    );
}

/// A hook that panics before it even returns its future loses its own events only: delivery
/// goes on, and the losses are counted.
#[rocket::async_test]
async fn a_hook_that_panics_when_called_loses_only_its_own_events() {
    let (sender, mut events) = rocket::tokio::sync::mpsc::unbounded_channel();
    let fairing = PasetoFairing::default().events(move |event: Event| {
        if event.kind == EventKind::LoginFailed {
            panic!("the hook fails at once");
        }
        let sender = sender.clone();
        async move {
            let _ = sender.send(event.kind);
        }
    });
    let client = client_with(paseto(), fairing).await;
    let failed = login_as(&client, "alice", "wrong").await.status();
    assert_eq!(failed, Status::Unauthorized);
    assert_eq!(
        login_as(&client, "alice", "right").await.status(),
        Status::Ok
    );
    let next = rocket::tokio::time::timeout(Duration::from_secs(5), events.recv()).await;
    assert_eq!(next.expect("delivery goes on"), Some(EventKind::Login));
    assert_eq!(dropped(&client), 1);
}

/// An account typed at a login reaches the hook cut to 256 bytes, whatever its length.
#[rocket::async_test]
async fn a_long_account_name_is_cut_in_events() {
    let (sender, mut events) = rocket::tokio::sync::mpsc::unbounded_channel();
    let fairing = PasetoFairing::default().events(move |event: Event| {
        let sender = sender.clone();
        async move {
            let _ = sender.send(event);
        }
    });
    let client = client_with(paseto(), fairing).await;
    let long = "é".repeat(4000);
    let status = login_as(&client, &long, "wrong").await.status();
    assert_eq!(status, Status::Unauthorized);
    let event = rocket::tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.kind, EventKind::LoginFailed);
    let subject = event.subject.unwrap();
    assert!(
        subject.len() <= 256 && subject.len() >= 255,
        "{}",
        subject.len()
    );
    assert!(long.starts_with(&subject));
}

/// The blocking client runs the app on a runtime of its own: the hook runs there too.
#[test]
fn the_hook_runs_under_a_blocking_client() {
    let (sender, events) = std::sync::mpsc::channel();
    let fairing = PasetoFairing::default().events(move |event: Event| {
        let sender = sender.clone();
        async move {
            let _ = sender.send(event.kind);
        }
    });
    let rocket = rocket::custom(figment(paseto()))
        .attach(fairing)
        .mount("/", routes());
    let client = rocket::local::blocking::Client::untracked(rocket).unwrap();
    let body = json!({ "username": "alice", "password": "right" }).to_string();
    let response = client
        .post("/login")
        .header(ContentType::JSON)
        .body(body)
        .dispatch();
    assert_eq!(response.status(), Status::Ok);
    let kind = events.recv_timeout(Duration::from_secs(10));
    assert_eq!(kind, Ok(EventKind::Login));
}

/// An issuer used on one runtime, then on another once the first has ended (as a test that
/// ignites on one and serves on another does): the hook is still called.
#[test]
fn the_hook_outlives_the_runtime_it_started_on() {
    let (sender, mut events) = unbounded_channel();
    let fairing = PasetoFairing::default().events(move |event: Event| {
        let sender = sender.clone();
        async move {
            let _ = sender.send(event.kind);
        }
    });
    let issuer = fairing.load(&figment(paseto())).unwrap();
    for _ in 0..2 {
        let kind = rocket::execute(async {
            issuer.end_sessions_of("alice").await.unwrap();
            timeout(Duration::from_secs(10), events.recv()).await
        });
        assert_eq!(kind, Ok(Some(EventKind::LogoutAll)));
    }
    assert_eq!(issuer.stats().events_dropped, 0);
}
