//! `PasetoStats` through HTTP: every guard outcome lands in its own counter, the token and jar
//! caches count hits and misses, the revocation store counts calls, failures and time, and a
//! cached jar value answers exactly like an uncached one.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use pasetors::keys::SymmetricKey;
use pasetors::version4::{LocalToken, V4};
use rocket::http::{Cookie, Status};
use rocket::local::asynchronous::Client;
use rocket::serde::json::Json;
use rocket::{Build, Rocket, get, post, routes};
use rocket_paseto::revocation::{MemoryStore, RevocationStore, StoreError};
use rocket_paseto::{AuthError, Issuer, PasetoCookies, PasetoFairing, PasetoStats, catchers};
use serde_json::{Value, json};
use time::OffsetDateTime;

use common::revocation::{TestStore, app_routes, bearer, login_pair};
use common::{LOCAL, claims, figment, keys, local_token, now, time};

#[get("/stats")]
fn stats(stats: PasetoStats) -> Json<PasetoStats> {
    Json(stats)
}

/// The same figures, from managed state rather than the guard.
#[get("/stats/issuer")]
fn issuer_stats(issuer: &Issuer) -> Json<PasetoStats> {
    Json(issuer.stats())
}

#[post("/jar/<value>")]
fn jar_put(value: &str, cookies: PasetoCookies<'_>) -> Result<(), AuthError> {
    cookies.add("note", value)?;
    Ok(())
}

#[get("/jar/<name>")]
fn jar_get(name: &str, cookies: PasetoCookies<'_>) -> Option<String> {
    cookies.get::<String>(name)
}

fn app(store: impl RevocationStore, cookies: Value) -> Rocket<Build> {
    let mut routes = app_routes();
    routes.extend(routes![stats, issuer_stats, jar_put, jar_get]);
    let paseto = json!({ "local_key": LOCAL, "cookies": cookies });
    rocket::custom(figment(paseto))
        .attach(PasetoFairing::default().revocation(store))
        .register("/", catchers())
        .mount("/", routes)
}

async fn client(store: impl RevocationStore) -> Client {
    Client::untracked(app(store, json!({}))).await.unwrap()
}

async fn snapshot(client: &Client) -> Value {
    let response = client.get("/stats").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    response.into_json().await.unwrap()
}

const TOKEN_FIELDS: [&str; 9] = [
    "tokens_accepted",
    "tokens_missing",
    "tokens_invalid",
    "tokens_expired",
    "tokens_revoked",
    "tokens_wrong_kind",
    "tokens_csrf_failed",
    "tokens_store_unavailable",
    "tokens_server_error",
];

/// `after - before` for every token counter that changed.
fn token_changes(before: &Value, after: &Value) -> Vec<(&'static str, u64)> {
    TOKEN_FIELDS
        .iter()
        .map(|&f| (f, after[f].as_u64().unwrap() - before[f].as_u64().unwrap()))
        .filter(|(_, d)| *d > 0)
        .collect()
}

/// Runs one request and checks that exactly `field` went up by one.
async fn counts_as(
    client: &Client,
    field: &str,
    status: Status,
    request: rocket::local::asynchronous::LocalRequest<'_>,
) {
    let before = snapshot(client).await;
    let response = request.dispatch().await;
    assert_eq!(response.status(), status, "{field}");
    let after = snapshot(client).await;
    assert_eq!(token_changes(&before, &after), [(field, 1)], "{field}");
}

#[rocket::async_test]
async fn every_guard_outcome_is_counted_by_its_cause() {
    let store = TestStore::default();
    let client = client(store.clone()).await;
    let pair = login_pair(&client).await;
    let user = |token: &str| client.get("/user").header(bearer(token));

    counts_as(
        &client,
        "tokens_accepted",
        Status::Ok,
        user(&pair.access_token),
    )
    .await;
    counts_as(
        &client,
        "tokens_missing",
        Status::Unauthorized,
        client.get("/user"),
    )
    .await;
    let garbage = format!("v4.local.{}", "A".repeat(150));
    counts_as(
        &client,
        "tokens_invalid",
        Status::Unauthorized,
        user(&garbage),
    )
    .await;
    let mut old = claims("access");
    old.insert("exp".into(), time(now() - time::Duration::hours(1)).into());
    let expired = local_token(&old);
    counts_as(
        &client,
        "tokens_expired",
        Status::Unauthorized,
        user(&expired),
    )
    .await;
    let refresh = pair.refresh_token.clone();
    counts_as(
        &client,
        "tokens_wrong_kind",
        Status::Unauthorized,
        user(&refresh),
    )
    .await;

    // A cookie-borne token on a POST without the CSRF header.
    let web = client.post("/web/login").dispatch().await;
    let access = web
        .cookies()
        .get("access_token")
        .unwrap()
        .value()
        .to_owned();
    let logout = client
        .post("/logout")
        .cookie(Cookie::new("access_token", access));
    counts_as(&client, "tokens_csrf_failed", Status::Forbidden, logout).await;

    let revoke = client.post("/logout").header(bearer(&pair.access_token));
    assert_eq!(revoke.dispatch().await.status(), Status::Ok);
    counts_as(
        &client,
        "tokens_revoked",
        Status::Unauthorized,
        user(&pair.access_token),
    )
    .await;

    let fresh = login_pair(&client).await;
    store.reads_fail.store(true, Ordering::SeqCst);
    let down = user(&fresh.access_token);
    counts_as(
        &client,
        "tokens_store_unavailable",
        Status::ServiceUnavailable,
        down,
    )
    .await;
}

#[rocket::async_test]
async fn the_guard_and_the_issuer_give_the_same_figures() {
    let client = client(MemoryStore::new()).await;
    let pair = login_pair(&client).await;
    let ok = client.get("/user").header(bearer(&pair.access_token));
    assert_eq!(ok.dispatch().await.status(), Status::Ok);
    let from_guard = snapshot(&client).await;
    let response = client.get("/stats/issuer").dispatch().await;
    let from_issuer: Value = response.into_json().await.unwrap();
    assert_eq!(from_guard, from_issuer);
    assert_eq!(from_guard["tokens_accepted"], 1);
    // A flat object: the names the documentation and the load script use.
    for field in [
        "cache_hits",
        "cache_misses",
        "jar_hits",
        "jar_misses",
        "store_calls",
    ] {
        assert!(from_guard[field].is_u64(), "{field}");
    }
}

#[rocket::async_test]
async fn token_cache_hits_and_misses_are_counted() {
    let client = client(MemoryStore::new()).await;
    let pair = login_pair(&client).await;
    let before = snapshot(&client).await;
    for _ in 0..3 {
        let ok = client.get("/user").header(bearer(&pair.access_token));
        assert_eq!(ok.dispatch().await.status(), Status::Ok);
    }
    let after = snapshot(&client).await;
    let grew = |field: &str| after[field].as_u64().unwrap() - before[field].as_u64().unwrap();
    assert_eq!((grew("cache_misses"), grew("cache_hits")), (1, 2));
    assert_eq!(after["cache_entries"], 1);
    assert_eq!((grew("jar_misses"), grew("jar_hits")), (0, 0));
}

#[rocket::async_test]
async fn cookie_borne_tokens_go_through_the_token_cache_too() {
    let client = client(MemoryStore::new()).await;
    let web = client.post("/web/login").dispatch().await;
    let access = web
        .cookies()
        .get("access_token")
        .unwrap()
        .value()
        .to_owned();
    let before = snapshot(&client).await;
    for _ in 0..2 {
        let read = client
            .get("/user")
            .cookie(Cookie::new("access_token", access.clone()));
        assert_eq!(read.dispatch().await.status(), Status::Ok);
    }
    let after = snapshot(&client).await;
    let grew = |field: &str| after[field].as_u64().unwrap() - before[field].as_u64().unwrap();
    assert_eq!((grew("cache_misses"), grew("cache_hits")), (1, 1));
}

#[rocket::async_test]
async fn the_store_counts_its_calls_failures_and_time() {
    let store = TestStore::default();
    let client = client(SlowStore(store.clone())).await;
    let pair = login_pair(&client).await;
    let before = snapshot(&client).await;
    let ok = client.get("/user").header(bearer(&pair.access_token));
    assert_eq!(ok.dispatch().await.status(), Status::Ok);
    store.reads_fail.store(true, Ordering::SeqCst);
    let down = client.get("/user").header(bearer(&pair.access_token));
    assert_eq!(down.dispatch().await.status(), Status::ServiceUnavailable);
    let after = snapshot(&client).await;
    let grew = |field: &str| after[field].as_u64().unwrap() - before[field].as_u64().unwrap();
    assert_eq!((grew("store_calls"), grew("store_errors")), (2, 1));
    // Each call waited at least `SlowStore::DELAY`.
    assert!(grew("store_micros") >= 2 * SlowStore::DELAY.as_micros() as u64);
}

/// A store whose lookups take a while.
struct SlowStore(TestStore);

impl SlowStore {
    const DELAY: Duration = Duration::from_millis(5);
}

#[rocket::async_trait]
impl RevocationStore for SlowStore {
    async fn insert(&self, key: &str, until: OffsetDateTime) -> Result<(), StoreError> {
        self.0.insert(key, until).await
    }

    async fn get(&self, keys: &[&str]) -> Result<Vec<Option<String>>, StoreError> {
        rocket::tokio::time::sleep(Self::DELAY).await;
        self.0.get(keys).await
    }

    async fn swap(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.0.swap(key, expected, value, until).await
    }
}

async fn read_jar(client: &Client, name: &str, cookie: Cookie<'static>) -> Option<String> {
    let response = client
        .get(format!("/jar/{name}"))
        .cookie(cookie)
        .dispatch()
        .await;
    match response.status() {
        Status::Ok => Some(response.into_string().await.unwrap()),
        _ => None,
    }
}

#[rocket::async_test]
async fn a_cached_jar_value_reads_like_an_uncached_one() {
    let client = client(MemoryStore::new()).await;
    let put = client.post("/jar/hello").dispatch().await;
    let sealed = put.cookies().get("note").unwrap().value().to_owned();
    let note = || Cookie::new("note", sealed.clone());

    let before = snapshot(&client).await;
    let first = read_jar(&client, "note", note()).await;
    let second = read_jar(&client, "note", note()).await;
    assert_eq!(first.as_deref(), Some("hello"));
    assert_eq!(second, first);
    let after = snapshot(&client).await;
    let grew = |field: &str| after[field].as_u64().unwrap() - before[field].as_u64().unwrap();
    assert_eq!((grew("jar_misses"), grew("jar_hits")), (1, 1));
    assert_eq!(after["jar_entries"], 1);

    // The cached value is bound to its cookie's name: under another name it still does not
    // open, and is not found in the cache either.
    let renamed = read_jar(&client, "other", Cookie::new("other", sealed.clone())).await;
    assert_eq!(renamed, None);
    let tampered = format!("{}A", &sealed[..sealed.len() - 1]);
    assert_eq!(
        read_jar(&client, "note", Cookie::new("note", tampered)).await,
        None
    );
    let last = snapshot(&client).await;
    assert_eq!(last["jar_hits"], after["jar_hits"]);
    assert_eq!(last["jar_entries"], 1);
}

#[rocket::async_test]
async fn a_jar_cache_size_of_zero_turns_the_cache_off() {
    let off = app(MemoryStore::new(), json!({ "cache_size": 0 }));
    let client = Client::untracked(off).await.unwrap();
    let put = client.post("/jar/hello").dispatch().await;
    let sealed = put.cookies().get("note").unwrap().value().to_owned();
    for _ in 0..2 {
        let read = read_jar(&client, "note", Cookie::new("note", sealed.clone())).await;
        assert_eq!(read.as_deref(), Some("hello"));
    }
    let stats = snapshot(&client).await;
    let jar = ["jar_hits", "jar_misses", "jar_entries"].map(|f| stats[f].as_u64().unwrap());
    assert_eq!(jar, [0, 0, 0]);
}

/// A value sealed for the cookie `note` that expires at `exp`.
fn sealed_until(exp: OffsetDateTime) -> String {
    let payload = json!({ "exp": time(exp), "iat": time(now()), "v": "soon gone" });
    let key = SymmetricKey::<V4>::try_from(LOCAL).unwrap();
    let binding = b"rocket_paseto cookie note";
    LocalToken::encrypt(&key, payload.to_string().as_bytes(), None, Some(binding)).unwrap()
}

#[rocket::async_test]
async fn a_cached_jar_value_is_refused_once_it_expires() {
    let client = client(MemoryStore::new()).await;
    let exp = now() + time::Duration::seconds(3);
    let sealed = sealed_until(exp);
    let note = || Cookie::new("note", sealed.clone());
    assert_eq!(
        read_jar(&client, "note", note()).await.as_deref(),
        Some("soon gone")
    );
    assert_eq!(
        read_jar(&client, "note", note()).await.as_deref(),
        Some("soon gone")
    );
    let before = snapshot(&client).await;
    assert_eq!(before["jar_hits"], 1);
    while OffsetDateTime::now_utc() <= exp + time::Duration::milliseconds(100) {
        rocket::tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Found in the cache, and refused all the same: the expiry is checked on every read.
    assert_eq!(read_jar(&client, "note", note()).await, None);
    let after = snapshot(&client).await;
    assert_eq!(after["jar_hits"], 2);
}

#[test]
fn the_stats_guard_needs_the_fairing() {
    let bare = rocket::custom(figment(keys())).mount("/", routes![stats]);
    let error = rocket::execute(bare.ignite()).unwrap_err();
    assert!(matches!(
        error.kind(),
        rocket::error::ErrorKind::SentinelAborts(_)
    ));
}
