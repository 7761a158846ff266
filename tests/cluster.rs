//! The revocation store on a real Redis Cluster (cargo feature `redis`): two instances sharing
//! a three-master cluster, the keys of one token in different hash slots, and a master stopped
//! and restarted under the instances' feet.
//!
//! `.ci/run` starts the cluster on free loopback ports and passes its node URLs, comma-separated,
//! in `REDIS_CLUSTER_URLS`. The outage test starts a small cluster of its own, so that it can
//! stop and restart a node. Run locally with, e.g.:
//!
//! ```sh
//! for port in 7001 7002 7003; do
//!   mkdir -p /tmp/cluster/$port && (cd /tmp/cluster/$port && redis-server --port $port \
//!     --cluster-enabled yes --save '' --appendonly no --daemonize yes)
//! done
//! redis-cli --cluster create 127.0.0.1:7001 127.0.0.1:7002 127.0.0.1:7003 \
//!   --cluster-replicas 0 --cluster-yes
//! REDIS_CLUSTER_URLS=redis://127.0.0.1:7001,redis://127.0.0.1:7002,redis://127.0.0.1:7003 \
//!   cargo test --features redis --test cluster
//! ```

#![cfg(feature = "redis")]

mod common;

use std::time::{Duration, Instant};

use rocket::http::Status;
use rocket::local::asynchronous::Client;
use rocket_paseto::revocation::{MemoryStore, RedisClusterStore, RevocationStore};
use serde_json::json;
use time::OffsetDateTime;

use common::keys;
use common::redis_cluster::{OwnCluster, cluster_config, cluster_urls, keyslot, owner};
use common::redis_server::{connect, prefix};
use common::revocation::{get_with, instance, login_pair, post_with, refresh_ids, user_claims};

/// The replica's documented staleness bound (`revocation.replica_max_lag_ms`'s default): a
/// logout must be refused everywhere within it, whether or not a replica answers.
const BOUND: Duration = Duration::from_millis(100);

/// Two instances sharing the cluster at `urls` under one prefix, with `paseto.revocation`
/// otherwise at `overrides`.
async fn two_instances(urls: &[String], overrides: serde_json::Value) -> (Client, Client, String) {
    let prefix = prefix();
    let mut config = cluster_config(urls, &prefix);
    for (key, value) in overrides.as_object().unwrap() {
        config["revocation"][key] = value.clone();
    }
    let a = instance(config.clone(), None::<MemoryStore>).await;
    let b = instance(config, None::<MemoryStore>).await;
    (a, b, prefix)
}

/// Whether `client` refuses `token` once the logout has had the staleness bound to arrive
/// (the way `tests/replica.rs` allows it); every answer before is a 200.
async fn refused_within_the_bound(client: &Client, token: &str) -> bool {
    let deadline = Instant::now() + BOUND;
    loop {
        match user_claims(client, token).await.0 {
            Status::Unauthorized => return true,
            status => assert_eq!(status, Status::Ok),
        }
        if Instant::now() > deadline {
            return false;
        }
        rocket::tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[rocket::async_test]
async fn a_logout_on_one_instance_is_refused_by_another() {
    let Some(urls) = cluster_urls() else { return };
    let (a, b, _) = two_instances(&urls, json!({})).await;
    for _ in 0..5 {
        let pair = login_pair(&a).await;
        let other = login_pair(&b).await;
        assert_eq!(user_claims(&b, &pair.access_token).await.0, Status::Ok);
        assert_eq!(
            get_with(&b, "/refresh/check", &pair.refresh_token).await,
            Status::Ok
        );
        let logout = post_with(&a, "/logout", &pair.access_token).await;
        assert_eq!(logout.status(), Status::Ok);
        assert!(refused_within_the_bound(&b, &pair.access_token).await);
        assert_eq!(
            get_with(&b, "/refresh/check", &pair.refresh_token).await,
            Status::Unauthorized
        );
        assert_eq!(user_claims(&b, &other.access_token).await.0, Status::Ok);
    }
}

#[rocket::async_test]
async fn a_refresh_token_raced_on_two_instances_has_exactly_one_winner() {
    let Some(urls) = cluster_urls() else { return };
    // No grace window: the loser of each race is a second use of the token.
    let (a, b, _) = two_instances(&urls, json!({ "rotation_grace": 0 })).await;
    for _ in 0..10 {
        let pair = login_pair(&a).await;
        let (on_a, on_b) = rocket::tokio::join!(
            post_with(&a, "/refresh", &pair.refresh_token),
            post_with(&b, "/refresh", &pair.refresh_token),
        );
        let statuses = [on_a.status(), on_b.status()];
        let winners = statuses.iter().filter(|s| **s == Status::Ok).count();
        assert_eq!(winners, 1, "{statuses:?}");
        assert!(statuses.contains(&Status::Unauthorized), "{statuses:?}");
    }
}

#[rocket::async_test]
async fn concurrent_rotations_within_the_grace_window_share_one_generation() {
    let Some(urls) = cluster_urls() else { return };
    let (a, b, _) = two_instances(&urls, json!({})).await;
    for _ in 0..10 {
        let pair = login_pair(&a).await;
        let (on_a, on_b) = rocket::tokio::join!(
            post_with(&a, "/refresh", &pair.refresh_token),
            post_with(&b, "/refresh", &pair.refresh_token),
        );
        assert_eq!((on_a.status(), on_b.status()), (Status::Ok, Status::Ok));
        let on_a: rocket_paseto::TokenPair = on_a.into_json().await.unwrap();
        let on_b: rocket_paseto::TokenPair = on_b.into_json().await.unwrap();
        assert_eq!(
            refresh_ids(&a, &on_a.refresh_token).await,
            refresh_ids(&b, &on_b.refresh_token).await,
            "one generation"
        );
    }
}

#[rocket::async_test]
async fn the_keys_of_one_check_span_several_slots() {
    let Some(urls) = cluster_urls() else { return };
    let (a, b, prefix) = two_instances(&urls, json!({})).await;
    // A token whose `jti:` and `fam:` entries hash to different slots (almost every one does).
    let (pair, token_key, family_key) = loop {
        let pair = login_pair(&a).await;
        let (_, claims) = user_claims(&a, &pair.access_token).await;
        let claims = claims.unwrap();
        let token_key = format!("{prefix}jti:{}", claims["jti"].as_str().unwrap());
        let family_key = format!("{prefix}fam:{}", claims["fam"].as_str().unwrap());
        if keyslot(&urls[0], &token_key).await != keyslot(&urls[0], &family_key).await {
            break (pair, token_key, family_key);
        }
    };
    // Sent as it is to a node, the guard's read is refused: its keys are in several slots.
    let mut node = connect(&urls[0]).await;
    let error = redis::cmd("MGET")
        .arg(&token_key)
        .arg(&family_key)
        .query_async::<Vec<Option<String>>>(&mut node)
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("CROSSSLOT"), "{error:?}");

    // The store reads them all the same, for the guards of both kinds.
    assert_eq!(user_claims(&b, &pair.access_token).await.0, Status::Ok);
    assert_eq!(
        get_with(&b, "/refresh/check", &pair.refresh_token).await,
        Status::Ok
    );
    let logout = post_with(&a, "/logout", &pair.access_token).await;
    assert_eq!(logout.status(), Status::Ok);
    assert_eq!(
        user_claims(&b, &pair.access_token).await.0,
        Status::Unauthorized
    );
    assert_eq!(
        get_with(&b, "/refresh/check", &pair.refresh_token).await,
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn the_store_works_on_its_own() {
    let Some(urls) = cluster_urls() else { return };
    let prefix = prefix();
    let store = RedisClusterStore::new(urls.iter().map(String::as_str))
        .unwrap()
        .prefix(prefix.clone())
        .timeout(Duration::from_secs(1));
    let later = OffsetDateTime::now_utc() + time::Duration::minutes(1);
    let keys = ["jti:a", "fam:b", "rot:c", "cut:d", "ses:e"];
    let mut slots = std::collections::HashSet::new();
    for key in keys {
        slots.insert(keyslot(&urls[0], &format!("{prefix}{key}")).await);
    }
    assert!(slots.len() > 1, "{slots:?}");
    assert_eq!(
        store.get(&keys).await.unwrap(),
        [None, None, None, None, None]
    );
    store.insert("fam:b", later).await.unwrap();
    store.insert("cut:d", later).await.unwrap();
    assert_eq!(
        store.get(&keys).await.unwrap(),
        [None, Some("1".into()), None, Some("1".into()), None]
    );
    // Compare and set: exactly one of two swaps from the same value wins.
    assert!(store.swap("rot:c", None, "x", later).await.unwrap());
    assert!(!store.swap("rot:c", None, "y", later).await.unwrap());
    assert!(!store.swap("rot:c", Some("y"), "z", later).await.unwrap());
    assert!(store.swap("rot:c", Some("x"), "z", later).await.unwrap());
    assert_eq!(store.get(&["rot:c"]).await.unwrap(), [Some("z".to_owned())]);
    // A shorter insert never shortens an entry.
    let soon = OffsetDateTime::now_utc() + time::Duration::seconds(2);
    store.insert("fam:b", soon).await.unwrap();
    let mut node = redis::cluster::ClusterClient::new(urls.clone())
        .unwrap()
        .get_async_connection()
        .await
        .unwrap();
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!("{prefix}fam:b"))
        .query_async(&mut node)
        .await
        .unwrap();
    assert!(ttl > 50, "{ttl}");
    let debug = format!("{store:?}");
    assert!(
        debug.contains("RedisClusterStore") && !debug.contains("127.0.0.1"),
        "{debug}"
    );
}

/// While the cluster cannot be reached (here a node that accepts connections and never
/// answers, as a host behind a dropped route does), requests waiting for the store's first
/// connection share one attempt and its failure, instead of each waiting out one more attempt
/// after the one before it. Needs no cluster.
#[rocket::async_test]
async fn requests_during_an_unreachable_start_share_one_connection_attempt() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://127.0.0.1:{}/", silent.local_addr().unwrap().port());
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for connection in silent.incoming().flatten() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(connection);
        }
    });
    let store = std::sync::Arc::new(
        RedisClusterStore::new([url.as_str()])
            .unwrap()
            .timeout(Duration::from_millis(300)),
    );
    let mut requests = rocket::tokio::task::JoinSet::new();
    for _ in 0..10 {
        let store = store.clone();
        requests.spawn(async move { store.get(&["jti:a"]).await });
    }
    let answers = requests.join_all().await;
    assert!(answers.iter().all(Result::is_err));
    let attempts = accepted.load(std::sync::atomic::Ordering::SeqCst);
    assert!(attempts <= 2, "{attempts} connections for one start");
    // A later request tries again.
    assert!(store.get(&["jti:a"]).await.is_err());
    assert!(accepted.load(std::sync::atomic::Ordering::SeqCst) > attempts);
}

#[test]
fn bad_urls_are_refused_at_ignite_without_repeating_them() {
    let with = |revocation: serde_json::Value| {
        let mut config = keys();
        config["revocation"] = revocation;
        rocket_paseto::PasetoFairing::default()
            .load(&common::figment(config))
            .unwrap_err()
    };
    let bad = "redis://:hunter2@[::1";
    let error = with(json!({ "store": "redis-cluster", "urls": ["redis://127.0.0.1:7000", bad] }));
    assert_eq!(error.field(), "paseto.revocation.urls");
    assert!(error.to_string().contains("URL 2"), "{error}");
    assert!(!error.to_string().contains("hunter2"), "{error}");
    let error = with(json!({ "store": "redis-cluster", "urls": ["redis://:hunter2@h:7000/2"] }));
    assert_eq!(error.field(), "paseto.revocation.urls");
    assert!(error.to_string().contains("database"), "{error}");
    assert!(!error.to_string().contains("hunter2"), "{error}");
    let error = with(json!({ "store": "redis-cluster" }));
    assert_eq!(error.field(), "paseto.revocation.urls");
    let error = with(json!({ "store": "redis-cluster", "url": "redis://:hunter2@h" }));
    assert_eq!(error.field(), "paseto.revocation.url");
    assert!(!error.to_string().contains("hunter2"), "{error}");
    let error = with(json!({ "store": "redis", "url": "redis://h", "urls": ["redis://h"] }));
    assert_eq!(error.field(), "paseto.revocation.urls");
    let error = with(json!({
        "store": "redis-cluster",
        "urls": ["redis://:hunter2@a:7000", "redis://:other@b:7000"],
    }));
    assert_eq!(error.field(), "paseto.revocation.urls");
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

/// Polls `client` with `token` until it is accepted again (after an outage).
async fn accepted_again(client: &Client, token: &str) {
    let start = Instant::now();
    loop {
        match user_claims(client, token).await.0 {
            Status::Ok => return,
            status => assert_eq!(status, Status::ServiceUnavailable),
        }
        assert!(start.elapsed() < Duration::from_secs(20), "never recovered");
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[rocket::async_test]
async fn a_stopped_master_fails_its_checks_by_on_error_and_recovers_when_back() {
    if cluster_urls().is_none() {
        return;
    }
    let mut cluster = OwnCluster::start().await;
    let urls = cluster.urls();
    let (closed, _, prefix) = two_instances(&urls, json!({ "on_error": "reject" })).await;
    let mut config = cluster_config(&urls, &prefix);
    config["revocation"]["on_error"] = json!("allow");
    let open = instance(config, None::<MemoryStore>).await;
    let pair = login_pair(&closed).await;
    assert_eq!(user_claims(&closed, &pair.access_token).await.0, Status::Ok);
    assert_eq!(user_claims(&open, &pair.access_token).await.0, Status::Ok);
    // The master holding the token's own entry.
    let jti = user_claims(&closed, &pair.access_token).await.1.unwrap()["jti"].clone();
    let slot = keyslot(&urls[0], &format!("{prefix}jti:{}", jti.as_str().unwrap())).await;
    let port = owner(&urls[0], slot).await;

    cluster.stop(port);
    // A store started now, with the stopped node first in its list, still finds the cluster,
    // and answers for the keys of the other masters.
    let down = format!("redis://127.0.0.1:{port}/");
    let mut listed = vec![down.clone()];
    listed.extend(urls.iter().filter(|url| **url != down).cloned());
    let late = RedisClusterStore::new(listed.iter().map(String::as_str)).unwrap();
    let late = late.prefix(prefix.clone());
    let mut elsewhere = None;
    for i in 0.. {
        let key = format!("jti:elsewhere-{i}");
        if owner(
            &listed[1],
            keyslot(&listed[1], &format!("{prefix}{key}")).await,
        )
        .await
            != port
        {
            elsewhere = Some(key);
            break;
        }
    }
    let elsewhere = elsewhere.unwrap();
    assert_eq!(late.get(&[&elsewhere]).await.unwrap(), [None]);
    assert!(
        late.get(&[&format!("jti:{}", jti.as_str().unwrap())])
            .await
            .is_err()
    );
    let response = closed
        .get("/user")
        .header(common::revocation::bearer(&pair.access_token))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::ServiceUnavailable);
    let body = response.into_string().await.unwrap();
    assert!(
        !body.contains("127.0.0.1") && !body.contains(&port.to_string()),
        "{body}"
    );
    assert_eq!(user_claims(&open, &pair.access_token).await.0, Status::Ok);
    // The refresh token's check needs the stopped master only when one of its keys lies
    // there: its family's entries are known (the pair shares the family), its own `jti:` and
    // the subject's cutoff may lie on another master.
    let family = user_claims(&open, &pair.access_token).await.1.unwrap()["fam"].clone();
    let mut refresh_needs_it = false;
    for key in ["fam", "rot"] {
        let key = format!("{prefix}{key}:{}", family.as_str().unwrap());
        refresh_needs_it |= owner(&listed[1], keyslot(&listed[1], &key).await).await == port;
    }
    let refreshed = post_with(&closed, "/refresh", &pair.refresh_token)
        .await
        .status();
    if refresh_needs_it {
        assert_eq!(refreshed, Status::ServiceUnavailable);
    } else {
        assert!(
            [Status::Ok, Status::ServiceUnavailable].contains(&refreshed),
            "{refreshed}"
        );
    }
    assert_eq!(
        post_with(&closed, "/logout", &pair.access_token)
            .await
            .status(),
        Status::ServiceUnavailable
    );

    // Back, with its nodes.conf: the same instances recover without a restart.
    cluster.restart(port).await;
    accepted_again(&closed, &pair.access_token).await;
    assert_eq!(
        post_with(&closed, "/logout", &pair.access_token)
            .await
            .status(),
        Status::Ok
    );
    assert_eq!(
        user_claims(&closed, &pair.access_token).await.0,
        Status::Unauthorized
    );
    assert_eq!(
        user_claims(&open, &pair.access_token).await.0,
        Status::Unauthorized
    );
}

// --- The masters' persistence, checked at launch and read from the log ----------------------

/// Set in the child process that [`logged`] starts.
const LOG_CHILD: &str = "ROCKET_PASETO_LOG_CHILD";

/// Runs the test `name` of this binary again in a child process, where Rocket's log is on (it
/// is one logger per process), and returns what the child printed once it passed.
fn logged(name: &str) -> String {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(LOG_CHILD, "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    text
}

/// An instance on the cluster at `urls` that logs warnings, and a request that reaches the
/// store: it waits for the store's connection, and so for the check made when it opens.
async fn launch_logged(urls: &[String]) {
    let figment = common::figment(cluster_config(urls, &prefix()))
        .merge(("log_level", "critical"))
        .merge(("cli_colors", false));
    let rocket = rocket::custom(figment)
        .attach(rocket_paseto::PasetoFairing::default())
        .register("/", rocket_paseto::catchers())
        .mount("/", common::revocation::app_routes());
    let client = Client::tracked(rocket).await.expect("the app ignites");
    let pair = login_pair(&client).await;
    assert_eq!(user_claims(&client, &pair.access_token).await.0, Status::Ok);
}

/// The port of a node URL, `redis://[user:password@]host:port/`.
fn port_of(url: &str) -> u16 {
    let address = url.trim_end_matches('/').rsplit('@').next().unwrap();
    address.rsplit(':').next().unwrap().parse().unwrap()
}

const RISK: &str = "A master restarted empty forgets the revocations it held, so revoked \
    tokens are accepted again until they expire: run every master with `appendonly yes`";

/// `.ci/run` starts the shared cluster's masters with `--save '' --appendonly no`: each is
/// named at launch, with the risk and the fix.
#[test]
fn masters_that_persist_nothing_are_named_at_launch() {
    let Some(urls) = cluster_urls() else { return };
    if std::env::var_os(LOG_CHILD).is_some() {
        return rocket::execute(launch_logged(&urls));
    }
    let log = logged("masters_that_persist_nothing_are_named_at_launch");
    for url in &urls {
        let named = format!(
            ":{} persists nothing (appendonly no, save \"\")",
            port_of(url)
        );
        assert!(log.contains(&named), "{log}");
    }
    assert!(log.contains(RISK), "{log}");
}

/// On a cluster of its own: a master with `appendonly yes` is not named, and one where the
/// store's user may not run `CONFIG` is named as unchecked. The password never shows.
#[test]
fn a_master_that_cannot_be_asked_is_named_and_a_persistent_one_is_not() {
    if cluster_urls().is_none() {
        return;
    }
    if std::env::var_os(LOG_CHILD).is_none() {
        let log = logged("a_master_that_cannot_be_asked_is_named_and_a_persistent_one_is_not");
        let (_, printed) = log
            .split_once("ports: ")
            .expect("the child prints its ports");
        let ports: Vec<u16> = printed
            .lines()
            .next()
            .unwrap()
            .split(' ')
            .map(|port| port.parse().unwrap())
            .collect();
        let [persistent, unasked, bare] = ports[..] else {
            panic!("{ports:?}")
        };
        assert!(!log.contains(&format!(":{persistent} ")), "{log}");
        let unchecked = format!(":{unasked} could not be checked (CONFIG GET is renamed");
        assert!(log.contains(&unchecked), "{log}");
        assert!(log.contains(&format!(":{bare} persists nothing")), "{log}");
        assert!(!log.contains("hunter2"), "{log}");
        return;
    }
    rocket::execute(async {
        let cluster = OwnCluster::start().await;
        let ports = cluster.ports.clone();
        println!("ports: {} {} {}", ports[0], ports[1], ports[2]);
        for (i, url) in cluster.urls().iter().enumerate() {
            let mut node = connect(url).await;
            let mut user = redis::cmd("ACL");
            user.arg("SETUSER").arg("app").arg("on").arg(">hunter2");
            user.arg("~*").arg("&*").arg("+@all");
            if i == 1 {
                user.arg("-config");
            }
            let () = user.query_async(&mut node).await.unwrap();
            if i == 0 {
                let mut append = redis::cmd("CONFIG");
                append.arg("SET").arg("appendonly").arg("yes");
                let () = append.query_async(&mut node).await.unwrap();
            }
        }
        let urls: Vec<String> = ports
            .iter()
            .map(|port| format!("redis://app:hunter2@127.0.0.1:{port}/"))
            .collect();
        launch_logged(&urls).await;
    });
}
