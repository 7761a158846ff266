//! The Redis store's replica (cargo feature `redis`, on by default): guards of tokens that do
//! not rotate answer from memory, every revocation reaches every instance within the staleness
//! bound (measured here, with two instances), a replica that lost its feed reads everything
//! again before it answers, and a Redis outage follows `on_error`.
//!
//! Each test runs a `redis-server` of its own (so that Redis's count of `MGET`s, one per check
//! that did not come from memory, is the test's alone); they run when `REDIS_URL` is set, as
//! the other Redis tests do. Print the measured figures with `-- --nocapture`.

#![cfg(feature = "redis")]

mod common;

use std::time::{Duration, Instant};

use rocket::http::Status;
use rocket::local::asynchronous::Client;
use rocket_paseto::revocation::{MemoryStore, RedisStore, RevocationStore};
use serde_json::json;
use time::OffsetDateTime;

use common::redis_server::{OwnServer, connect, mget_calls, prefix, redis_url, replica_config};
use common::revocation::{
    bearer, instance, login_listed, login_pair, post_with, rotate, user_claims,
};

/// The documented staleness bound: `revocation.replica_max_lag_ms`'s default.
const BOUND: Duration = Duration::from_millis(100);

/// Waits until `client` answers `token`'s checks from its replica: two requests in a row that
/// cost Redis no `MGET`. The replica starts with the first check and is in step a few
/// milliseconds later.
async fn in_step(client: &Client, token: &str, url: &str) {
    let start = Instant::now();
    loop {
        let before = mget_calls(url).await;
        assert_eq!(user_claims(client, token).await.0, Status::Ok);
        assert_eq!(user_claims(client, token).await.0, Status::Ok);
        if mget_calls(url).await == before {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "never in step");
        rocket::tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Polls `client` with `token` until it is refused; how long after `since` that was. Every
/// answer before is a 200, and Redis answers no `MGET` beyond the `before` it had answered
/// when the revocation started: the refusal came through the replica's feed.
async fn refused_after(
    client: &Client,
    token: &str,
    since: Instant,
    before: u64,
    url: &str,
) -> Duration {
    loop {
        match user_claims(client, token).await.0 {
            Status::Unauthorized => break,
            status => assert_eq!(status, Status::Ok),
        }
        assert!(since.elapsed() < Duration::from_secs(5), "never refused");
    }
    let lag = since.elapsed();
    assert_eq!(
        mget_calls(url).await,
        before,
        "answered from Redis, not memory"
    );
    lag
}

/// Two instances with replicas, each with its own Redis connections, on `server`, and the
/// key prefix they share.
async fn two_instances(server: &OwnServer) -> (Client, Client, String) {
    let prefix = prefix();
    let a = instance(replica_config(&server.url(), &prefix), None::<MemoryStore>).await;
    let b = instance(replica_config(&server.url(), &prefix), None::<MemoryStore>).await;
    (a, b, prefix)
}

#[rocket::async_test]
async fn a_logout_reaches_the_other_instance_within_the_bound() {
    if redis_url().is_none() {
        return;
    }
    let server = OwnServer::start();
    let url = server.url();
    let (a, b, _) = two_instances(&server).await;
    let mut lags = Vec::new();
    for _ in 0..20 {
        let pair = login_pair(&a).await;
        in_step(&a, &pair.access_token, &url).await;
        in_step(&b, &pair.access_token, &url).await;
        let before = mget_calls(&url).await;
        let start = Instant::now();
        let logout = post_with(&a, "/logout", &pair.access_token).await;
        assert_eq!(logout.status(), Status::Ok);
        lags.push(refused_after(&b, &pair.access_token, start, before, &url).await);
        // The instance that logged out refuses at once, from its own replica.
        assert_eq!(
            user_claims(&a, &pair.access_token).await.0,
            Status::Unauthorized
        );
    }
    lags.sort();
    let (median, worst) = (lags[lags.len() / 2], lags[lags.len() - 1]);
    println!(
        "replica staleness, logout on A until B refuses (20 logouts, loopback): median \
         {median:?}, worst {worst:?}, bound {BOUND:?}"
    );
    assert!(worst <= BOUND, "{lags:?}");
}

#[rocket::async_test]
async fn every_kind_of_revocation_reaches_the_other_instance() {
    if redis_url().is_none() {
        return;
    }
    let server = OwnServer::start();
    let url = server.url();
    let (a, b, _) = two_instances(&server).await;

    // A replaced refresh token presented again revokes its family on A; B refuses the family's
    // access token.
    let first = login_pair(&a).await;
    let middle = rotate(&a, &first.refresh_token).await;
    let second = rotate(&a, &middle.refresh_token).await;
    in_step(&b, &second.access_token, &url).await;
    let start = Instant::now();
    let reuse = post_with(&a, "/refresh", &first.refresh_token).await;
    assert_eq!(reuse.status(), Status::Unauthorized);
    // The refresh guard read the store itself (rotation entries are never replicated).
    let before = mget_calls(&url).await;
    let lag = refused_after(&b, &second.access_token, start, before, &url).await;
    println!("reuse on A until B refuses the family: {lag:?}");
    assert!(lag <= BOUND);

    // Ending one of a subject's logins on A.
    let ended = login_listed(&a, "carol").await;
    let kept = login_listed(&a, "carol").await;
    in_step(&b, &ended.access_token, &url).await;
    let response = a.get("/sessions").header(bearer(&kept.access_token));
    let sessions: serde_json::Value = response.dispatch().await.into_json().await.unwrap();
    let other = sessions.as_array().unwrap().iter();
    let id = other.clone().find(|s| s["current"] == false).unwrap()["id"].clone();
    let start = Instant::now();
    let end = a.delete(format!("/sessions/{}", id.as_str().unwrap()));
    assert_eq!(
        end.header(bearer(&kept.access_token))
            .dispatch()
            .await
            .status(),
        Status::Ok
    );
    let before = mget_calls(&url).await;
    let lag = refused_after(&b, &ended.access_token, start, before, &url).await;
    println!("session end on A until B refuses it: {lag:?}");
    assert!(lag <= BOUND);
    assert_eq!(user_claims(&b, &kept.access_token).await.0, Status::Ok);

    // Logging out everywhere: alice's login from `/login` is not listed, so only her cutoff
    // refuses it. `end_all` raises it and then waits out the second (tokens state `iat` in
    // whole seconds), so B already refuses when it returns.
    let unlisted = login_pair(&a).await;
    let listed = login_listed(&a, "alice").await;
    in_step(&b, &unlisted.access_token, &url).await;
    let all = post_with(&a, "/logout-all", &listed.access_token).await;
    assert_eq!(all.status(), Status::Ok);
    let before = mget_calls(&url).await;
    let lag = refused_after(&b, &unlisted.access_token, Instant::now(), before, &url).await;
    assert!(lag <= BOUND);
    assert_eq!(user_claims(&b, &kept.access_token).await.0, Status::Ok);
}

#[rocket::async_test]
async fn a_replica_that_lost_its_feed_reads_everything_again_before_answering() {
    if redis_url().is_none() {
        return;
    }
    let server = OwnServer::start();
    let url = server.url();
    let (a, b, prefix) = two_instances(&server).await;
    let (revoked, kept) = (login_pair(&a).await, login_pair(&a).await);
    in_step(&a, &revoked.access_token, &url).await;
    in_step(&b, &revoked.access_token, &url).await;

    // Both replicas lose their subscription and may not subscribe again for now, so the
    // logout below reaches neither through the feed.
    let mut redis = connect(&url).await;
    let acl = |rule: &'static str| redis::cmd("ACL").arg(&["SETUSER", "default", rule]).clone();
    acl("-subscribe")
        .query_async::<()>(&mut redis)
        .await
        .unwrap();
    let kill = redis::cmd("CLIENT")
        .arg(&["KILL", "TYPE", "pubsub"])
        .clone();
    assert_eq!(kill.query_async::<u64>(&mut redis).await.unwrap(), 2);
    let start = Instant::now();
    let logout = post_with(&a, "/logout", &revoked.access_token).await;
    assert_eq!(logout.status(), Status::Ok);
    let channel = format!("{prefix}revoked:0");
    let numsub = redis::cmd("PUBSUB").arg("NUMSUB").arg(&channel).clone();
    let subscribers: Vec<(String, u64)> = numsub.query_async(&mut redis).await.unwrap();
    assert_eq!(subscribers[0].1, 0);

    // B refuses within the bound, from Redis while its replica cannot follow, and never
    // accepts the token again.
    let mut refused_at = None;
    while start.elapsed() < Duration::from_millis(500) {
        match user_claims(&b, &revoked.access_token).await.0 {
            Status::Unauthorized => refused_at = refused_at.or(Some(start.elapsed())),
            status => assert!(refused_at.is_none(), "accepted again: {status}"),
        }
    }
    let refused_at = refused_at.expect("refused");
    assert!(refused_at <= BOUND, "{refused_at:?}");

    // Allowed to subscribe again, B reads every entry again and answers from memory: still
    // refusing the token revoked while it was away, and accepting the others.
    acl("+subscribe")
        .query_async::<()>(&mut redis)
        .await
        .unwrap();
    in_step(&b, &kept.access_token, &url).await;
    let before = mget_calls(&url).await;
    let status = user_claims(&b, &revoked.access_token).await.0;
    assert_eq!(status, Status::Unauthorized);
    assert_eq!(
        mget_calls(&url).await,
        before,
        "the resynced replica answers"
    );
}

#[rocket::async_test]
async fn a_redis_outage_follows_on_error_and_the_replica_recovers() {
    if redis_url().is_none() {
        return;
    }
    let server = OwnServer::start();
    let (port, url) = (server.port, server.url());
    let prefix = prefix();
    let strict = instance(replica_config(&url, &prefix), None::<MemoryStore>).await;
    let mut config = replica_config(&url, &prefix);
    config["revocation"]["on_error"] = json!("allow");
    let lenient = instance(config, None::<MemoryStore>).await;
    let pair = login_pair(&strict).await;
    in_step(&strict, &pair.access_token, &url).await;
    in_step(&lenient, &pair.access_token, &url).await;
    drop(server);

    // Once the replica can no longer vouch for itself, checks go to Redis, and fail closed.
    let start = Instant::now();
    loop {
        let response = strict.get("/user").header(bearer(&pair.access_token));
        let response = response.dispatch().await;
        if response.status() == Status::ServiceUnavailable {
            let body = response.into_string().await.unwrap();
            assert!(!body.contains("127.0.0.1") && !body.contains("redis"));
            break;
        }
        assert_eq!(response.status(), Status::Ok);
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "never unavailable"
        );
    }
    println!("Redis stopped: 503 after {:?}", start.elapsed());
    // ... or open, as configured.
    for _ in 0..3 {
        let status = user_claims(&lenient, &pair.access_token).await.0;
        assert_eq!(status, Status::Ok);
    }

    // Redis is back (empty): service resumes, the replica follows it again, and a logout on
    // one instance reaches the other's replica.
    let _server = OwnServer::start_on(port);
    let start = Instant::now();
    while user_claims(&strict, &pair.access_token).await.0 != Status::Ok {
        assert!(start.elapsed() < Duration::from_secs(10), "never back");
        rocket::tokio::time::sleep(Duration::from_millis(20)).await;
    }
    in_step(&strict, &pair.access_token, &url).await;
    in_step(&lenient, &pair.access_token, &url).await;
    let before = mget_calls(&url).await;
    let start = Instant::now();
    let logout = post_with(&lenient, "/logout", &pair.access_token).await;
    assert_eq!(logout.status(), Status::Ok);
    let lag = refused_after(&strict, &pair.access_token, start, before, &url).await;
    assert!(lag <= BOUND, "{lag:?}");
}

#[rocket::async_test]
async fn a_redis_restarted_empty_brings_no_revoked_login_back() {
    if redis_url().is_none() {
        return;
    }
    let server = OwnServer::start();
    let (port, url) = (server.port, server.url());
    let (a, b, _) = two_instances(&server).await;
    let (revoked, kept) = (login_pair(&a).await, login_pair(&a).await);
    in_step(&a, &kept.access_token, &url).await;
    in_step(&b, &kept.access_token, &url).await;
    let before = mget_calls(&url).await;
    let start = Instant::now();
    let logout = post_with(&a, "/logout", &revoked.access_token).await;
    assert_eq!(logout.status(), Status::Ok);
    refused_after(&b, &revoked.access_token, start, before, &url).await;

    // Redis dies and comes back without the revocation; the instances' replicas still hold
    // it. From the restart on, while the replicas are out of step and after, neither instance
    // accepts the revoked login's tokens: not the refresh token, whose checks always read
    // Redis, nor the access token, whose checks go to Redis until the replica is back.
    drop(server);
    let _server = OwnServer::start_on(port);
    let start = Instant::now();
    let mut back = false;
    while !back || start.elapsed() < Duration::from_millis(500) {
        for client in [&a, &b] {
            let refresh = post_with(client, "/refresh", &revoked.refresh_token).await;
            assert_ne!(
                refresh.status(),
                Status::Ok,
                "a revoked refresh token was accepted"
            );
            let access = user_claims(client, &revoked.access_token).await.0;
            assert_ne!(access, Status::Ok, "a revoked access token was accepted");
        }
        back = user_claims(&b, &kept.access_token).await.0 == Status::Ok;
        assert!(start.elapsed() < Duration::from_secs(10), "never back");
    }
    for client in [&a, &b] {
        let refresh = post_with(client, "/refresh", &revoked.refresh_token).await;
        assert_eq!(refresh.status(), Status::Unauthorized);
        let session = client
            .get("/refresh/check")
            .header(bearer(&revoked.refresh_token));
        assert_eq!(session.dispatch().await.status(), Status::Unauthorized);
    }
    rotate(&b, &kept.refresh_token).await;
}

/// After Redis comes back empty, the replica still shows what Redis lost, and every
/// compare-and-set against such a value (a family's rotation record, a subject's list of
/// logins, its cutoff) must still go through: refreshes, listed logins and "log out
/// everywhere" work as before the outage, and nothing revoked comes back.
#[rocket::async_test]
async fn after_redis_restarted_empty_refreshes_logins_and_logouts_work_as_before() {
    if redis_url().is_none() {
        return;
    }
    let server = OwnServer::start();
    let (port, url) = (server.port, server.url());
    let a = instance(replica_config(&url, &prefix()), None::<MemoryStore>).await;
    let alice = login_listed(&a, "alice").await;
    let alice = rotate(&a, &alice.refresh_token).await;
    let bob = login_listed(&a, "bob").await;
    let ended = post_with(&a, "/logout-all", &bob.access_token).await;
    assert_eq!(ended.status(), Status::Ok);
    in_step(&a, &alice.access_token, &url).await;

    drop(server);
    let _server = OwnServer::start_on(port);
    let start = Instant::now();
    while user_claims(&a, &alice.access_token).await.0 != Status::Ok {
        assert!(start.elapsed() < Duration::from_secs(10), "never back");
        rocket::tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The family's rotation record, Redis's copy lost, moves on.
    let alice = rotate(&a, &alice.refresh_token).await;
    assert_eq!(user_claims(&a, &alice.access_token).await.0, Status::Ok);
    // Alice's list of logins, lost too, takes another login.
    login_listed(&a, "alice").await;
    // Bob's cutoff, lost too, is raised again; what it ended stays ended.
    let bob_again = login_listed(&a, "bob").await;
    let ended = post_with(&a, "/logout-all", &bob_again.access_token).await;
    assert_eq!(ended.status(), Status::Ok);
    for token in [&bob.access_token, &bob_again.access_token] {
        assert_eq!(user_claims(&a, token).await.0, Status::Unauthorized);
    }
    let refresh = post_with(&a, "/refresh", &bob_again.refresh_token).await;
    assert_eq!(refresh.status(), Status::Unauthorized);
}

#[rocket::async_test]
async fn a_replica_beyond_its_bound_leaves_checks_to_redis() {
    if redis_url().is_none() {
        return;
    }
    let server = OwnServer::start();
    let url = server.url();
    let prefix = prefix();
    let a = instance(replica_config(&url, &prefix), None::<MemoryStore>).await;
    let mut config = replica_config(&url, &prefix);
    config["revocation"]["replica_max_entries"] = json!(4);
    let b = instance(config, None::<MemoryStore>).await;
    let live = login_pair(&a).await;
    in_step(&b, &live.access_token, &url).await;

    // Three logouts: six entries, beyond B's four.
    let mut revoked = Vec::new();
    for _ in 0..3 {
        let pair = login_pair(&a).await;
        let logout = post_with(&a, "/logout", &pair.access_token).await;
        assert_eq!(logout.status(), Status::Ok);
        revoked.push(pair);
    }
    // B goes on refusing them and accepting the live token, now with a round trip each.
    let start = Instant::now();
    loop {
        let before = mget_calls(&url).await;
        assert_eq!(user_claims(&b, &live.access_token).await.0, Status::Ok);
        if mget_calls(&url).await > before {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "still from memory"
        );
    }
    for pair in &revoked {
        let status = user_claims(&b, &pair.access_token).await.0;
        assert_eq!(status, Status::Unauthorized);
    }
}

#[rocket::async_test]
async fn without_the_replica_every_check_is_a_round_trip() {
    if redis_url().is_none() {
        return;
    }
    let server = OwnServer::start();
    let url = server.url();
    let mut config = replica_config(&url, &prefix());
    config["revocation"]["replica"] = json!(false);
    let client = instance(config, None::<MemoryStore>).await;
    let pair = login_pair(&client).await;
    assert_eq!(user_claims(&client, &pair.access_token).await.0, Status::Ok);
    rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    let before = mget_calls(&url).await;
    for _ in 0..3 {
        assert_eq!(user_claims(&client, &pair.access_token).await.0, Status::Ok);
    }
    assert_eq!(mget_calls(&url).await, before + 3);
}

/// Waits until `store` answers `get_replicated` from memory; its answer for `keys` then.
async fn replicated(store: &RedisStore, keys: &[&str], url: &str) -> Vec<Option<String>> {
    let start = Instant::now();
    loop {
        let before = mget_calls(url).await;
        let values = store.get_replicated(keys).await.unwrap();
        if mget_calls(url).await == before {
            return values;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "never in step");
        rocket::tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[rocket::async_test]
async fn replicated_entries_keep_their_values_and_expiries() {
    if redis_url().is_none() {
        return;
    }
    let server = OwnServer::start();
    let url = server.url();
    let prefix = prefix();
    let writer = RedisStore::new(&url).unwrap().prefix(prefix.clone());
    let writer = writer.replica(false);
    let reader = RedisStore::new(&url).unwrap().prefix(prefix);
    let soon = OffsetDateTime::now_utc() + Duration::from_secs(1);
    let later = OffsetDateTime::now_utc() + Duration::from_secs(60);
    let keys = ["jti:early", "fam:late", "cut:h", "jti:absent"];

    // Written before the reader's replica starts: its first read of every entry finds it.
    writer.insert("jti:early", soon).await.unwrap();
    let values = replicated(&reader, &keys, &url).await;
    assert_eq!(values, [Some("1".to_owned()), None, None, None]);

    // Written afterwards: published, including compare-and-set writes of a cutoff.
    writer.insert("fam:late", soon).await.unwrap();
    assert!(writer.swap("cut:h", None, "100", later).await.unwrap());
    assert!(
        writer
            .swap("cut:h", Some("100"), "200", later)
            .await
            .unwrap()
    );
    let start = Instant::now();
    while replicated(&reader, &keys, &url).await[2].as_deref() != Some("200") {
        assert!(start.elapsed() < BOUND, "not replicated within the bound");
    }
    let values = replicated(&reader, &keys, &url).await;
    assert_eq!(values[..2], [Some("1".to_owned()), Some("1".to_owned())]);

    // Entries end when Redis's do (whole seconds, rounded up), in memory too.
    rocket::tokio::time::sleep(Duration::from_millis(2100)).await;
    let values = replicated(&reader, &keys, &url).await;
    assert_eq!(values, [None, None, Some("200".to_owned()), None]);
}
