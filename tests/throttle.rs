//! The login throttle through HTTP: a login route that uses `LoginThrottle`, on every store.
//!
//! Each scenario runs without a store (counts in the process), on a `MemoryStore`, on a store
//! with only `get` and `swap` (the trait's default counters) and, with the cargo feature
//! `redis`, on the Redis server in `REDIS_URL` and the cluster in `REDIS_CLUSTER_URLS`.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rocket::futures::future::join_all;
use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::serde::json::Json;
use rocket::{get, post, routes};
use rocket_paseto::{AuthError, LoginThrottle, PasetoFairing, PasetoStats, catchers};
use serde_json::{Value, json};

use common::revocation::TestStore;
use common::{figment, keys};

#[derive(rocket::serde::Deserialize)]
#[serde(crate = "rocket::serde")]
struct Login {
    username: String,
    password: String,
}

/// Every account's password is `right`; counts how often a password was checked.
#[post("/login", data = "<login>")]
async fn login(
    login: Json<Login>,
    throttle: LoginThrottle<'_>,
    checked: &rocket::State<Checked>,
) -> Result<&'static str, AuthError> {
    let attempt = throttle.check(&login.username).await?;
    checked.0.fetch_add(1, Ordering::SeqCst);
    if login.password != "right" {
        attempt.failed().await?;
        return Err(AuthError::BadCredentials);
    }
    attempt.succeeded().await?;
    Ok("welcome")
}

#[get("/stats")]
fn stats(stats: PasetoStats) -> Json<PasetoStats> {
    Json(stats)
}

#[derive(Default)]
struct Checked(std::sync::atomic::AtomicU64);

const THROTTLED: &str =
    r#"{"error":"too_many_attempts","message":"Too many failed attempts. Try again later."}"#;

/// Where the counts live.
#[derive(Clone)]
enum Store {
    /// No revocation store: a table in the process.
    None,
    /// `store = "memory"`.
    Memory,
    /// A store in code with only `insert`, `get` and `swap`.
    Custom(TestStore),
    /// A `paseto.revocation` table (Redis, Redis Cluster).
    #[allow(dead_code)]
    Config(Value),
}

async fn app(store: &Store, throttle: Value, proxies: &[&str]) -> Client {
    let mut paseto = keys();
    paseto["throttle"] = throttle;
    paseto["trusted_proxies"] = json!(proxies);
    let mut fairing = PasetoFairing::default();
    match store {
        Store::None => paseto["revocation"] = json!({ "store": "none" }),
        Store::Memory => paseto["revocation"] = json!({ "store": "memory" }),
        Store::Custom(store) => fairing = fairing.revocation(store.clone()),
        Store::Config(revocation) => paseto["revocation"] = revocation.clone(),
    }
    let rocket = rocket::custom(figment(paseto))
        .attach(fairing)
        .manage(Checked::default())
        .register("/", catchers())
        .mount("/", routes![login, stats]);
    Client::untracked(rocket).await.expect("the app ignites")
}

fn peer(address: &str) -> SocketAddr {
    SocketAddr::new(address.parse().unwrap(), 40000)
}

async fn attempt<'c>(
    client: &'c Client,
    username: &str,
    password: &str,
    from: &str,
    forwarded: Option<&str>,
) -> LocalResponse<'c> {
    let mut request = client
        .post("/login")
        .header(ContentType::JSON)
        .remote(peer(from))
        .body(json!({ "username": username, "password": password }).to_string());
    if let Some(forwarded) = forwarded {
        request = request.header(Header::new("X-Forwarded-For", forwarded.to_owned()));
    }
    request.dispatch().await
}

async fn status(client: &Client, username: &str, password: &str, from: &str) -> Status {
    attempt(client, username, password, from, None)
        .await
        .status()
}

fn checked(client: &Client) -> u64 {
    let checked = client.rocket().state::<Checked>().unwrap();
    checked.0.load(Ordering::SeqCst)
}

/// A prefix of a scenario's own, so runs on a shared Redis do not meet.
fn account(name: &str) -> String {
    format!("{name}-{}", common::random_id())
}

async fn five_failures_throttle_the_account_even_with_the_right_password(store: Store) {
    let client = app(&store, json!({}), &[]).await;
    let alice = account("alice");
    for _ in 0..5 {
        assert_eq!(
            status(&client, &alice, "wrong", "203.0.113.1").await,
            Status::Unauthorized
        );
    }
    let before = checked(&client);
    let response = attempt(&client, &alice, "right", "203.0.113.2", None).await;
    assert_eq!(response.status(), Status::TooManyRequests);
    let retry: u64 = response
        .headers()
        .get_one("Retry-After")
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry), "Retry-After: {retry}");
    assert_eq!(response.content_type(), Some(ContentType::JSON));
    assert_eq!(response.into_string().await.unwrap(), THROTTLED);
    assert_eq!(checked(&client), before, "the password was checked anyway");

    // An account that does not exist gets the very same answer.
    let nobody = account("nobody");
    for _ in 0..5 {
        status(&client, &nobody, "wrong", "203.0.113.3").await;
    }
    let response = attempt(&client, &nobody, "right", "203.0.113.3", None).await;
    assert_eq!(response.status(), Status::TooManyRequests);
    assert_eq!(response.into_string().await.unwrap(), THROTTLED);

    // Other accounts are not affected.
    assert_eq!(
        status(&client, &account("bob"), "right", "203.0.113.4").await,
        Status::Ok
    );
    let stats: Value = client
        .get("/stats")
        .dispatch()
        .await
        .into_json()
        .await
        .unwrap();
    assert_eq!(stats["logins_throttled"], 2);
}

async fn twenty_failures_throttle_the_address_whatever_the_accounts(store: Store) {
    let client = app(&store, json!({}), &[]).await;
    for i in 0..20 {
        let name = account(&format!("user{i}"));
        assert_eq!(
            status(&client, &name, "wrong", "198.51.100.7").await,
            Status::Unauthorized
        );
    }
    assert_eq!(
        status(&client, &account("fresh"), "right", "198.51.100.7").await,
        Status::TooManyRequests
    );
    // The neighbour is not; an IPv6 client counts by its /64.
    assert_eq!(
        status(&client, &account("fresh"), "right", "198.51.100.8").await,
        Status::Ok
    );
    for i in 0..20 {
        let from = format!("2001:db8:1:2::{i:x}");
        status(&client, &account("six"), "wrong", &from).await;
    }
    assert_eq!(
        status(&client, &account("six"), "right", "2001:db8:1:2:ffff::1").await,
        Status::TooManyRequests
    );
    assert_eq!(
        status(&client, &account("six"), "right", "2001:db8:1:3::1").await,
        Status::Ok
    );
}

async fn a_success_resets_the_account_count(store: Store) {
    let client = app(&store, json!({}), &[]).await;
    let alice = account("alice");
    for round in 0..3 {
        for _ in 0..4 {
            assert_eq!(
                status(&client, &alice, "wrong", "192.0.2.1").await,
                Status::Unauthorized,
                "round {round}"
            );
        }
        assert_eq!(
            status(&client, &alice, "right", "192.0.2.1").await,
            Status::Ok
        );
    }
    // The address's count was not reset: 12 failures so far, 8 more reach its limit.
    for _ in 0..8 {
        status(&client, &account("other"), "wrong", "192.0.2.1").await;
    }
    assert_eq!(
        status(&client, &alice, "right", "192.0.2.1").await,
        Status::TooManyRequests
    );
}

async fn forwarding_headers_count_only_from_trusted_proxies(store: Store) {
    let limits = json!({ "address_failures": 3, "account_failures": 0 });
    let client = app(&store, limits, &["10.0.0.0/8", "fd00::1"]).await;
    let wrong = |from: &'static str, forwarded: &'static str| {
        let client = &client;
        async move {
            let name = account("x");
            attempt(client, &name, "wrong", from, Some(forwarded))
                .await
                .status()
        }
    };
    // From an untrusted peer, a forged header changes nothing: the peer is counted.
    for forged in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        assert_eq!(wrong("203.0.113.9", forged).await, Status::Unauthorized);
    }
    assert_eq!(
        wrong("203.0.113.9", "198.51.100.4").await,
        Status::TooManyRequests
    );

    // Through a trusted proxy, the client it forwards for is counted.
    for _ in 0..3 {
        assert_eq!(wrong("10.1.2.3", "192.0.2.10").await, Status::Unauthorized);
    }
    assert_eq!(
        wrong("10.9.9.9", "192.0.2.10").await,
        Status::TooManyRequests
    );
    assert_eq!(wrong("10.1.2.3", "192.0.2.11").await, Status::Unauthorized);
    // The rightmost untrusted hop counts: what the client wrote to its left does not, and
    // trusted hops (other proxies) are skipped.
    assert_eq!(
        wrong("fd00::1", "192.0.2.99, 192.0.2.10, 10.0.0.2").await,
        Status::TooManyRequests
    );
}

async fn a_count_ends_with_its_window(store: Store) {
    let limits = json!({ "account_failures": 1, "account_window": 1, "address_failures": 0 });
    let client = app(&store, limits, &[]).await;
    let alice = account("alice");
    assert_eq!(
        status(&client, &alice, "wrong", "192.0.2.5").await,
        Status::Unauthorized
    );
    let response = attempt(&client, &alice, "right", "192.0.2.5", None).await;
    assert_eq!(response.status(), Status::TooManyRequests);
    assert_eq!(response.headers().get_one("Retry-After"), Some("1"));
    rocket::tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        status(&client, &alice, "right", "192.0.2.5").await,
        Status::Ok
    );
}

async fn concurrent_failures_each_count(store: Store) {
    let limits = json!({ "account_failures": 21, "address_failures": 0 });
    let client = app(&store, limits, &[]).await;
    let alice = account("alice");
    let failures = (0..20).map(|i| {
        let (client, alice) = (&client, &alice);
        async move { status(client, alice, "wrong", &format!("192.0.2.{i}")).await }
    });
    let statuses = join_all(failures).await;
    assert!(
        statuses.iter().all(|s| *s == Status::Unauthorized),
        "{statuses:?}"
    );
    // Exactly 20: a 21st failure is let through, and reaches the limit.
    assert_eq!(
        status(&client, &alice, "wrong", "192.0.2.100").await,
        Status::Unauthorized
    );
    assert_eq!(
        status(&client, &alice, "right", "192.0.2.100").await,
        Status::TooManyRequests
    );
}

async fn every_scenario(store: Store) {
    five_failures_throttle_the_account_even_with_the_right_password(store.clone()).await;
    twenty_failures_throttle_the_address_whatever_the_accounts(store.clone()).await;
    a_success_resets_the_account_count(store.clone()).await;
    forwarding_headers_count_only_from_trusted_proxies(store.clone()).await;
    a_count_ends_with_its_window(store.clone()).await;
    concurrent_failures_each_count(store).await;
}

#[rocket::async_test]
async fn without_a_store_the_process_counts() {
    every_scenario(Store::None).await;
}

#[rocket::async_test]
async fn on_a_memory_store() {
    every_scenario(Store::Memory).await;
}

#[rocket::async_test]
async fn on_a_store_with_only_get_and_swap() {
    let store = TestStore::default();
    every_scenario(Store::Custom(store.clone())).await;
    // The store saw hashes, never an account name or an address.
    let keys = store.keys.lock().unwrap().clone();
    assert!(keys.iter().any(|k| k.starts_with("thr:a:")));
    assert!(keys.iter().any(|k| k.starts_with("thr:i:")));
    assert!(
        keys.iter()
            .all(|k| !k.contains("alice") && !k.contains("192.0.2") && !k.contains("10.1")),
        "{keys:?}"
    );
}

#[cfg(feature = "redis")]
#[rocket::async_test]
async fn on_redis() {
    let Some(url) = common::redis_server::redis_url() else {
        return;
    };
    let prefix = common::redis_server::prefix();
    let config = common::redis_server::direct_config(&url, &prefix);
    every_scenario(Store::Config(config["revocation"].clone())).await;
}

#[cfg(feature = "redis")]
#[rocket::async_test]
async fn on_a_redis_cluster() {
    let Some(urls) = common::redis_cluster::cluster_urls() else {
        return;
    };
    let prefix = common::redis_server::prefix();
    let config = common::redis_cluster::cluster_config(&urls, &prefix);
    every_scenario(Store::Config(config["revocation"].clone())).await;
}

#[rocket::async_test]
async fn a_store_that_fails_follows_on_error() {
    let down = TestStore::down();
    let client = app(&Store::Custom(down.clone()), json!({}), &[]).await;
    let response = attempt(&client, "alice", "right", "192.0.2.1", None).await;
    assert_eq!(response.status(), Status::ServiceUnavailable);
    assert_eq!(response.headers().get_one("Retry-After"), Some("1"));
    assert_eq!(checked(&client), 0);

    let mut paseto = keys();
    paseto["revocation"] = json!({ "on_error": "allow" });
    let rocket = rocket::custom(figment(paseto))
        .attach(PasetoFairing::default().revocation(down))
        .manage(Checked::default())
        .register("/", catchers())
        .mount("/", routes![login]);
    let client = Client::untracked(rocket).await.unwrap();
    for _ in 0..10 {
        assert_eq!(
            status(&client, "alice", "wrong", "192.0.2.1").await,
            Status::Unauthorized
        );
    }
    assert_eq!(
        status(&client, "alice", "right", "192.0.2.1").await,
        Status::Ok
    );
}

#[test]
fn bad_settings_are_refused_at_ignite_naming_the_field() {
    let cases = [
        (
            json!({ "throttle": { "account_failures": 1001 } }),
            "paseto.throttle.account_failures",
        ),
        (
            json!({ "throttle": { "address_failures": 100001 } }),
            "paseto.throttle.address_failures",
        ),
        (
            json!({ "throttle": { "account_window": 0 } }),
            "paseto.throttle.account_window",
        ),
        (
            json!({ "throttle": { "address_window": 86401 } }),
            "paseto.throttle.address_window",
        ),
        (
            json!({ "throttle": { "failures": 3 } }),
            "paseto.throttle.failures",
        ),
        (
            json!({ "trusted_proxies": ["10.0.0.1", "proxy.internal"] }),
            "paseto.trusted_proxies",
        ),
        (
            json!({ "trusted_proxies": ["10.0.0.0/33"] }),
            "paseto.trusted_proxies",
        ),
    ];
    for (settings, field) in cases {
        let mut paseto = keys();
        for (key, value) in settings.as_object().unwrap() {
            paseto[key] = value.clone();
        }
        let error = PasetoFairing::default()
            .load(&figment(paseto))
            .expect_err(field);
        assert_eq!(error.field(), field, "{error}");
    }
    let mut paseto = keys();
    paseto["throttle"] = json!({ "account_failures": 0, "address_failures": 0 });
    paseto["trusted_proxies"] = json!(["10.0.0.0/8", "::1"]);
    assert!(PasetoFairing::default().load(&figment(paseto)).is_ok());
}

#[rocket::async_test]
async fn a_limit_of_zero_turns_its_count_off() {
    let limits = json!({ "account_failures": 0 });
    let client = app(&Store::None, limits, &[]).await;
    for i in 0..10 {
        let from = format!("192.0.2.{i}");
        assert_eq!(
            status(&client, "alice", "wrong", &from).await,
            Status::Unauthorized
        );
    }
    assert_eq!(
        status(&client, "alice", "right", "192.0.2.200").await,
        Status::Ok
    );
}
