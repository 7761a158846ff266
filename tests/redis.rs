//! Revocation through a real Redis server (cargo feature `redis`), each check a round trip
//! (`replica = false`), so what one instance revokes another refuses from its next request on.
//! `tests/replica.rs` covers the replica, which answers checks from memory.
//!
//! `.ci/run` starts `redis-server` on a free loopback port and passes its URL in `REDIS_URL`.
//! Run locally with, e.g.:
//!
//! ```sh
//! redis-server --port 6390 --save '' --enable-debug-command local --daemonize yes
//! REDIS_URL=redis://127.0.0.1:6390/ cargo test --features redis --test redis
//! ```

#![cfg(feature = "redis")]

mod common;

use std::time::Duration;

use redis::AsyncCommands;
use rocket::http::Status;
use rocket_paseto::revocation::{MemoryStore, RedisStore, RevocationStore};
use serde_json::{Value, json};

use common::redis_server::{OwnServer, calls, direct_config, prefix, redis_url, replica_config};
use common::revocation::{
    get_with, instance, login_pair, post_with, refresh_ids, rotate, user_claims,
};
use common::{free_port, keys};
use rocket_paseto::{Issuer, TokenPair};

#[rocket::async_test]
async fn a_logout_on_one_instance_is_refused_by_another() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix();
    let a = instance(direct_config(&url, &prefix), None::<MemoryStore>).await;
    let b = instance(direct_config(&url, &prefix), None::<MemoryStore>).await;
    let pair = login_pair(&a).await;
    let other = login_pair(&b).await;
    assert_eq!(user_claims(&b, &pair.access_token).await.0, Status::Ok);
    assert_eq!(
        get_with(&b, "/refresh/check", &pair.refresh_token).await,
        Status::Ok
    );

    assert_eq!(
        post_with(&a, "/logout", &pair.access_token).await.status(),
        Status::Ok
    );

    // The next request on B, with the token B verified (and cached) a moment ago, is refused.
    assert_eq!(
        user_claims(&b, &pair.access_token).await.0,
        Status::Unauthorized
    );
    assert_eq!(
        get_with(&b, "/refresh/check", &pair.refresh_token).await,
        Status::Unauthorized
    );
    assert_eq!(
        user_claims(&a, &pair.access_token).await.0,
        Status::Unauthorized
    );
    assert_eq!(user_claims(&b, &other.access_token).await.0, Status::Ok);
}

#[rocket::async_test]
async fn reusing_a_refresh_token_on_another_instance_revokes_the_family() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix();
    let a = instance(direct_config(&url, &prefix), None::<MemoryStore>).await;
    let b = instance(direct_config(&url, &prefix), None::<MemoryStore>).await;
    let first = login_pair(&a).await;
    let middle = rotate(&a, &first.refresh_token).await;
    let second = rotate(&a, &middle.refresh_token).await;
    assert_eq!(user_claims(&b, &second.access_token).await.0, Status::Ok);

    // Two generations back: reuse, whatever the grace window.
    assert_eq!(
        post_with(&b, "/refresh", &first.refresh_token)
            .await
            .status(),
        Status::Unauthorized
    );
    assert_eq!(
        user_claims(&a, &second.access_token).await.0,
        Status::Unauthorized
    );
    assert_eq!(
        post_with(&a, "/refresh", &second.refresh_token)
            .await
            .status(),
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn concurrent_rotations_on_two_instances_share_one_generation() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix();
    let mut config = direct_config(&url, &prefix);
    config["revocation"]["rotation_grace"] = json!(1);
    // The window also allows the leeway of clock skew between instances: none here, so that
    // it closes after a second.
    config["leeway"] = json!(0);
    let a = instance(config.clone(), None::<MemoryStore>).await;
    let b = instance(config, None::<MemoryStore>).await;
    let mut pairs = Vec::new();
    for _ in 0..10 {
        let pair = login_pair(&a).await;
        let (on_a, on_b) = rocket::tokio::join!(
            post_with(&a, "/refresh", &pair.refresh_token),
            post_with(&b, "/refresh", &pair.refresh_token),
        );
        assert_eq!((on_a.status(), on_b.status()), (Status::Ok, Status::Ok));
        let on_a: TokenPair = on_a.into_json().await.unwrap();
        let on_b: TokenPair = on_b.into_json().await.unwrap();
        let (jti_a, fam_a) = refresh_ids(&a, &on_a.refresh_token).await;
        let (jti_b, fam_b) = refresh_ids(&b, &on_b.refresh_token).await;
        assert_eq!((&jti_a, &fam_a), (&jti_b, &fam_b), "one generation");
        pairs.push((pair, on_a));
    }
    // After the window, the old refresh token is reuse: the family is revoked everywhere.
    rocket::tokio::time::sleep(Duration::from_millis(2100)).await;
    for (old, new) in &pairs {
        let status = post_with(&b, "/refresh", &old.refresh_token).await.status();
        assert_eq!(status, Status::Unauthorized);
        assert_eq!(
            user_claims(&a, &new.access_token).await.0,
            Status::Unauthorized
        );
    }
}

#[rocket::async_test]
async fn entries_expire_when_their_tokens_do() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix();
    let client = instance(direct_config(&url, &prefix), None::<MemoryStore>).await;
    let pair = login_pair(&client).await;
    let (_, claims) = user_claims(&client, &pair.access_token).await;
    let claims = claims.unwrap();
    let rotated = rotate(&client, &pair.refresh_token).await;
    assert_eq!(
        post_with(&client, "/logout", &rotated.access_token)
            .await
            .status(),
        Status::Ok
    );

    let redis = redis::Client::open(url.as_str()).unwrap();
    let mut connection = redis.get_multiplexed_async_connection().await.unwrap();
    let mut keys: Vec<String> = connection.keys(format!("{prefix}*")).await.unwrap();
    keys.sort();
    // The subject's list of sessions, one rotation record for the family, and the logout's
    // two entries.
    assert_eq!(keys.len(), 4, "{keys:?}");
    let ttl = |key: String| {
        let mut connection = connection.clone();
        async move { connection.ttl::<_, i64>(key).await.unwrap() }
    };
    // The family lasts `session_ttl` (90 days) and access tokens 900 s; entries outlive them
    // by twice the leeway of 5 s.
    let family = claims["fam"].as_str().unwrap();
    let session = 90 * 86400 + 10;
    for key in [
        format!("{prefix}fam:{family}"),
        format!("{prefix}rot:{family}"),
    ] {
        let left = ttl(key).await;
        assert!((session - 5..=session).contains(&left), "{left}");
    }
    let jti = keys.iter().find(|k| k.contains(":jti:")).unwrap().clone();
    let jti = ttl(jti).await;
    assert!((900..=910).contains(&jti), "{jti}");
}

#[rocket::async_test]
async fn an_unreachable_redis_fails_closed_without_panicking_and_recovers() {
    if redis_url().is_none() {
        return;
    }
    let server = OwnServer::start();
    let (port, url) = (server.port, server.url());
    let client = instance(direct_config(&url, &prefix()), None::<MemoryStore>).await;
    let pair = login_pair(&client).await;
    assert_eq!(user_claims(&client, &pair.access_token).await.0, Status::Ok);
    drop(server);

    let response = client
        .get("/user")
        .header(common::revocation::bearer(&pair.access_token))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::ServiceUnavailable);
    let body = response.into_string().await.unwrap();
    assert!(
        !body.contains("127.0.0.1") && !body.contains("redis"),
        "{body}"
    );
    assert_eq!(
        post_with(&client, "/refresh", &pair.refresh_token)
            .await
            .status(),
        Status::ServiceUnavailable
    );
    // The logout route's own guard cannot check the token either.
    assert_eq!(
        post_with(&client, "/logout", &pair.access_token)
            .await
            .status(),
        Status::ServiceUnavailable
    );

    // Once Redis is back, so is service: the connection is re-opened on demand.
    let _server = OwnServer::start_on(port);
    let mut status = Status::ServiceUnavailable;
    for _ in 0..50 {
        status = user_claims(&client, &pair.access_token).await.0;
        if status == Status::Ok {
            break;
        }
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, Status::Ok);
    assert_eq!(
        post_with(&client, "/logout", &pair.access_token)
            .await
            .status(),
        Status::Ok
    );
    assert_eq!(
        user_claims(&client, &pair.access_token).await.0,
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn an_unreachable_redis_can_be_configured_to_fail_open() {
    if redis_url().is_none() {
        return;
    }
    // Nothing listens on this port.
    let url = format!("redis://127.0.0.1:{}/", free_port());
    let mut config = direct_config(&url, &prefix());
    config["revocation"]["on_error"] = json!("allow");
    let client = instance(config, None::<MemoryStore>).await;
    let pair = login_pair(&client).await;
    assert_eq!(user_claims(&client, &pair.access_token).await.0, Status::Ok);
    let mut config = direct_config(&url, &prefix());
    config["revocation"]["on_error"] = json!("reject");
    let client = instance(config, None::<MemoryStore>).await;
    assert_eq!(
        user_claims(&client, &pair.access_token).await.0,
        Status::ServiceUnavailable
    );
}

#[rocket::async_test]
async fn the_store_works_on_its_own() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix();
    let store = RedisStore::new(&url)
        .unwrap()
        .prefix(prefix.clone())
        .timeout(Duration::from_secs(1));
    let later = time::OffsetDateTime::now_utc() + time::Duration::minutes(1);
    assert_eq!(store.get(&["jti:a", "fam:b"]).await.unwrap(), [None, None]);
    store.insert("fam:b", later).await.unwrap();
    assert_eq!(
        store.get(&["jti:a", "fam:b"]).await.unwrap(),
        [None, Some("1".to_owned())]
    );
    // Compare and set: exactly one of two swaps from the same value wins.
    assert!(store.swap("rot:c", None, "x", later).await.unwrap());
    assert!(!store.swap("rot:c", None, "y", later).await.unwrap());
    assert!(!store.swap("rot:c", Some("y"), "z", later).await.unwrap());
    assert!(store.swap("rot:c", Some("x"), "z", later).await.unwrap());
    assert_eq!(store.get(&["rot:c"]).await.unwrap(), [Some("z".to_owned())]);
    // A shorter insert never shortens an entry.
    let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    store.insert("fam:b", soon).await.unwrap();
    let redis = redis::Client::open(url.as_str()).unwrap();
    let mut connection = redis.get_multiplexed_async_connection().await.unwrap();
    let ttl: i64 = connection.ttl(format!("{prefix}fam:b")).await.unwrap();
    assert!(ttl > 50, "{ttl}");
    assert!(format!("{store:?}").contains("RedisStore"));
}

#[test]
fn a_bad_url_is_refused_without_repeating_it() {
    let error = RedisStore::new("redis://:hunter2@[::1").unwrap_err();
    assert!(!error.to_string().contains("hunter2"), "{error}");
    let mut config = keys();
    config["revocation"] = json!({ "store": "redis", "url": "redis://:hunter2@[::1" });
    let error = rocket_paseto::PasetoFairing::default()
        .load(&common::figment(config))
        .unwrap_err();
    assert_eq!(error.field(), "paseto.revocation.url");
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

#[rocket::async_test]
async fn refreshes_caught_by_a_slow_redis_can_be_retried_without_logging_anyone_out() {
    if redis_url().is_none() {
        return;
    }
    // A server of its own: `DEBUG SLEEP` stalls every client of the server, and the other
    // tests here share one.
    let server = OwnServer::start();
    let url = server.url();
    let prefix = prefix();
    let client = instance(direct_config(&url, &prefix), None::<MemoryStore>).await;
    let mut logins = Vec::new();
    for _ in 0..20 {
        logins.push(login_pair(&client).await);
    }
    // Redis stalls for 0.6 s (twice `timeout_ms`) while every login refreshes: some rotations
    // are refused with 503 before or after they reached Redis.
    let redis = redis::Client::open(url.as_str()).unwrap();
    let mut connection = redis.get_multiplexed_async_connection().await.unwrap();
    let stall = async move {
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
        // The client may give up waiting for the reply; the server sleeps all the same.
        let _ = redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg("0.6")
            .query_async::<()>(&mut connection)
            .await;
    };
    // Refreshes spread over 300 ms: before, across and during the stall.
    let refreshes =
        rocket::futures::future::join_all(logins.iter().enumerate().map(|(i, pair)| {
            let client = &client;
            async move {
                rocket::tokio::time::sleep(Duration::from_millis(15 * i as u64)).await;
                post_with(client, "/refresh", &pair.refresh_token).await
            }
        }));
    let (_, first) = rocket::tokio::join!(stall, refreshes);
    let statuses: Vec<Status> = first.iter().map(|r| r.status()).collect();
    assert!(
        statuses
            .iter()
            .all(|s| [Status::Ok, Status::ServiceUnavailable].contains(s)),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&Status::ServiceUnavailable),
        "{statuses:?}"
    );
    drop(first);
    // Every client retries, as the 503's Retry-After asks: nobody is taken for a thief.
    for pair in &logins {
        let retried = rotate(&client, &pair.refresh_token).await;
        assert_eq!(
            user_claims(&client, &retried.access_token).await.0,
            Status::Ok
        );
        assert_eq!(user_claims(&client, &pair.access_token).await.0, Status::Ok);
    }
}

async fn sessions_of(client: &rocket::local::asynchronous::Client, access: &str) -> Vec<Value> {
    let response = client
        .get("/sessions")
        .header(common::revocation::bearer(access))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    response.into_json().await.expect("a list")
}

/// A listed session's refresh asks Redis for the token's standing and its subject's list in
/// one `MGET`, then sends the rotation and the list's update (two scripts) together.
#[rocket::async_test]
async fn a_listed_refresh_asks_redis_one_mget_and_two_scripts() {
    if redis_url().is_none() {
        return;
    }
    // A server of this test's own: its command counts are this test's alone.
    let server = OwnServer::start();
    let url = server.url();
    let client = instance(direct_config(&url, &prefix()), None::<MemoryStore>).await;
    let pair = common::revocation::login_listed(&client, "alice").await;
    // The last use moves on in whole seconds: wait for the next one.
    rocket::tokio::time::sleep(Duration::from_millis(1100)).await;
    let before = (calls(&url, "mget").await, calls(&url, "eval").await);
    let response = post_with(&client, "/refresh", &pair.refresh_token).await;
    assert_eq!(response.status(), Status::Ok);
    let after = (calls(&url, "mget").await, calls(&url, "eval").await);
    assert_eq!((after.0 - before.0, after.1 - before.1), (1, 2));
}

/// The replica starts when the server does: the first guarded request of a process is answered
/// from it, with no round trip to Redis.
#[rocket::async_test]
async fn the_first_guarded_request_is_answered_by_the_replica() {
    if redis_url().is_none() {
        return;
    }
    let server = OwnServer::start();
    let url = server.url();
    let client = instance(replica_config(&url, &prefix()), None::<MemoryStore>).await;
    // Minted without a request, so that nothing but the launch can have started the replica.
    let issuer = client.rocket().state::<Issuer>().unwrap();
    let token = issuer.access("alice").issue().unwrap();
    // The replica follows once it has subscribed and then read what Redis holds.
    for _ in 0..100 {
        if calls(&url, "subscribe").await > 0 {
            break;
        }
        rocket::tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rocket::tokio::time::sleep(Duration::from_millis(300)).await;
    let before = calls(&url, "mget").await;
    assert_eq!(user_claims(&client, &token).await.0, Status::Ok);
    assert_eq!(calls(&url, "mget").await - before, 0);
}

#[rocket::async_test]
async fn logins_are_listed_and_ended_across_instances() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix();
    let a = instance(direct_config(&url, &prefix), None::<MemoryStore>).await;
    let b = instance(direct_config(&url, &prefix), None::<MemoryStore>).await;
    let on_a = common::revocation::login_listed(&a, "alice").await;
    let on_b = common::revocation::login_listed(&b, "alice").await;
    let bob = common::revocation::login_listed(&a, "bob").await;

    let listed = sessions_of(&b, &on_a.access_token).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let other = listed.iter().find(|s| s["current"] == false).unwrap();
    let id = other["id"].as_str().unwrap();
    let ended = a
        .delete(format!("/sessions/{id}"))
        .header(common::revocation::bearer(&on_a.access_token))
        .dispatch()
        .await;
    assert_eq!(ended.status(), Status::Ok);
    assert_eq!(
        user_claims(&b, &on_b.access_token).await.0,
        Status::Unauthorized
    );
    assert_eq!(sessions_of(&a, &on_a.access_token).await.len(), 1);

    // Logout everywhere on B is seen on A, and leaves other users alone.
    let unlisted = login_pair(&a).await;
    let all = post_with(&b, "/logout-all", &on_a.access_token).await;
    assert_eq!(all.status(), Status::Ok);
    for token in [&on_a.access_token, &unlisted.access_token] {
        assert_eq!(user_claims(&a, token).await.0, Status::Unauthorized);
    }
    assert_eq!(user_claims(&a, &bob.access_token).await.0, Status::Ok);
    let again = common::revocation::login_listed(&a, "alice").await;
    assert_eq!(user_claims(&b, &again.access_token).await.0, Status::Ok);
    assert_eq!(sessions_of(&b, &again.access_token).await.len(), 1);
}

#[rocket::async_test]
async fn a_thousand_logins_leave_entries_bounded_by_max_sessions() {
    if redis_url().is_none() {
        return;
    }
    // A server of its own: a thousand logins would slow the shared one for the other tests.
    let server = OwnServer::start();
    let url = server.url();
    let prefix = prefix();
    let mut config = direct_config(&url, &prefix);
    config["revocation"]["max_sessions"] = json!(4);
    let a = instance(config, None::<MemoryStore>).await;
    let mut logins = Vec::new();
    for _ in 0..1000 {
        logins.push(common::revocation::login_listed(&a, "alice").await);
    }
    let redis = redis::Client::open(url.as_str()).unwrap();
    let mut connection = redis.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = connection.keys(format!("{prefix}*")).await.unwrap();
    // The list and one entry ending the oldest logins, however many there were.
    println!(
        "1000 logins of one user in Redis: {} keys: {keys:?}",
        keys.len()
    );
    assert!(keys.len() <= 4, "{keys:?}");

    // Ended logins are refused, also by an instance that checks from its replica.
    let mut replicated = common::redis_server::replica_config(&url, &prefix);
    replicated["revocation"]["max_sessions"] = json!(4);
    let b = instance(replicated, None::<MemoryStore>).await;
    for client in [&a, &b] {
        for ended in [&logins[0], &logins[995]] {
            let access = get_with(client, "/user", &ended.access_token).await;
            assert_eq!(access, Status::Unauthorized);
        }
        let newest = get_with(client, "/user", &logins[999].access_token).await;
        assert_eq!(newest, Status::Ok);
    }
    let refreshed = post_with(&b, "/refresh", &logins[0].refresh_token).await;
    assert_eq!(refreshed.status(), Status::Unauthorized);
    rotate(&b, &logins[999].refresh_token).await;
}
