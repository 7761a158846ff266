//! A subject's logins through HTTP: listed, refreshed, ended one by one, ended everywhere, and
//! bounded; the store sees hashes of subjects only.

mod common;

use rocket::http::Status;
use rocket::local::asynchronous::Client;
use rocket_paseto::revocation::MemoryStore;
use rocket_paseto::{Access, Issuer, Refresh, Session, Sessions, TokenPair};
use serde_json::{Value, json};

use common::keys;
use common::revocation::{
    TestStore, bearer, get_with, instance, login_listed, post_with, rotate, user_claims,
};

async fn list(client: &Client, access: &str) -> Vec<Session> {
    let response = client
        .get("/sessions")
        .header(bearer(access))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    response.into_json().await.expect("a list of sessions")
}

async fn end(client: &Client, access: &str, id: &str) -> Status {
    client
        .delete(format!("/sessions/{id}"))
        .header(bearer(access))
        .dispatch()
        .await
        .status()
}

async fn store_client(paseto: serde_json::Value) -> Client {
    instance(paseto, Some(MemoryStore::new())).await
}

#[rocket::async_test]
async fn logins_are_listed_per_subject_with_the_current_one_marked() {
    let client = store_client(keys()).await;
    let first = login_listed(&client, "alice").await;
    let second = login_listed(&client, "alice").await;
    let bob = login_listed(&client, "bob").await;

    let sessions = list(&client, &first.access_token).await;
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert_eq!(
        sessions.iter().map(|s| s.current).collect::<Vec<_>>(),
        [true, false]
    );
    let from_second = list(&client, &second.access_token).await;
    assert_eq!(
        from_second.iter().map(|s| s.current).collect::<Vec<_>>(),
        [false, true]
    );
    for session in &sessions {
        assert_eq!(session.id.len(), 22);
        assert!(session.created_at <= session.last_used_at);
        assert!(session.expires_at > session.created_at);
    }
    assert_eq!(list(&client, &bob.access_token).await.len(), 1);
}

#[rocket::async_test]
async fn ids_are_opaque_rather_than_family_ids() {
    let client = store_client(keys()).await;
    let pair = login_listed(&client, "alice").await;
    let response = client
        .get("/user")
        .header(bearer(&pair.access_token))
        .dispatch()
        .await;
    let user: serde_json::Value = response.into_json().await.unwrap();
    let sessions = list(&client, &pair.access_token).await;
    assert_ne!(json!(sessions[0].id), user["fam"]);
}

#[rocket::async_test]
async fn a_refresh_keeps_the_login_and_records_its_use() {
    let client = store_client(keys()).await;
    let pair = login_listed(&client, "alice").await;
    let before = list(&client, &pair.access_token).await;
    // Times are kept in whole seconds.
    rocket::tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let rotated = rotate(&client, &pair.refresh_token).await;

    let after = list(&client, &rotated.access_token).await;
    assert_eq!(after.len(), 1, "a rotation is the same login");
    assert_eq!(after[0].id, before[0].id);
    assert!(after[0].current);
    assert_eq!(after[0].created_at, before[0].created_at);
    assert!(after[0].last_used_at > before[0].last_used_at);
}

#[rocket::async_test]
async fn ending_one_login_refuses_its_tokens_and_no_others() {
    let client = store_client(keys()).await;
    let keep = login_listed(&client, "alice").await;
    let gone = login_listed(&client, "alice").await;
    let bob = login_listed(&client, "bob").await;
    let sessions = list(&client, &keep.access_token).await;
    let gone_id = &sessions.iter().find(|s| !s.current).unwrap().id;

    // Another user's login is not theirs to end: it reads as absent.
    assert_eq!(
        end(&client, &bob.access_token, gone_id).await,
        Status::NotFound
    );
    assert_eq!(
        end(&client, &keep.access_token, "nope").await,
        Status::NotFound
    );
    assert_eq!(
        get_with(&client, "/user", &gone.access_token).await,
        Status::Ok
    );

    assert_eq!(end(&client, &keep.access_token, gone_id).await, Status::Ok);
    assert_eq!(
        get_with(&client, "/user", &gone.access_token).await,
        Status::Unauthorized
    );
    let refresh = post_with(&client, "/refresh", &gone.refresh_token).await;
    assert_eq!(refresh.status(), Status::Unauthorized);
    assert_eq!(
        get_with(&client, "/user", &keep.access_token).await,
        Status::Ok
    );
    assert_eq!(
        get_with(&client, "/user", &bob.access_token).await,
        Status::Ok
    );
    assert_eq!(list(&client, &keep.access_token).await.len(), 1);
    assert_eq!(
        end(&client, &keep.access_token, gone_id).await,
        Status::NotFound
    );
}

#[rocket::async_test]
async fn logout_everywhere_refuses_every_earlier_token_of_the_subject_only() {
    let client = store_client(keys()).await;
    let one = login_listed(&client, "alice").await;
    let two = login_listed(&client, "alice").await;
    // Tokens outside any listed login: a lone access token (and another login of alice's).
    let unlisted = common::revocation::login_pair(&client).await;
    let lone = client.post("/login/lone-access").dispatch().await;
    let lone = lone.into_string().await.unwrap();
    let bob = login_listed(&client, "bob").await;

    let response = post_with(&client, "/logout-all", &one.access_token).await;
    assert_eq!(response.status(), Status::Ok);

    for token in [
        &one.access_token,
        &two.access_token,
        &unlisted.access_token,
        &lone,
    ] {
        assert_eq!(
            get_with(&client, "/user", token).await,
            Status::Unauthorized
        );
    }
    for token in [
        &one.refresh_token,
        &two.refresh_token,
        &unlisted.refresh_token,
    ] {
        let refresh = post_with(&client, "/refresh", token).await;
        assert_eq!(refresh.status(), Status::Unauthorized);
    }
    assert_eq!(
        get_with(&client, "/user", &bob.access_token).await,
        Status::Ok
    );

    // A login once logout-all has answered works at once.
    let again = login_listed(&client, "alice").await;
    assert_eq!(
        get_with(&client, "/user", &again.access_token).await,
        Status::Ok
    );
    let sessions = list(&client, &again.access_token).await;
    assert_eq!(sessions.len(), 1);
    assert!(sessions[0].current);
    rotate(&client, &again.refresh_token).await;
}

#[rocket::async_test]
async fn logins_are_bounded_per_subject_ending_the_oldest() {
    let mut config = keys();
    config["revocation"] = json!({ "max_sessions": 2 });
    let client = store_client(config).await;
    let oldest = login_listed(&client, "alice").await;
    let middle = login_listed(&client, "alice").await;
    let newest = login_listed(&client, "alice").await;

    assert_eq!(
        get_with(&client, "/user", &oldest.access_token).await,
        Status::Unauthorized
    );
    assert_eq!(
        get_with(&client, "/user", &middle.access_token).await,
        Status::Ok
    );
    let sessions = list(&client, &newest.access_token).await;
    assert_eq!(sessions.len(), 2);
    assert_eq!(list(&client, &middle.access_token).await.len(), 2);
}

#[rocket::async_test]
async fn a_thousand_logins_leave_entries_bounded_by_max_sessions() {
    let store = MemoryStore::new();
    let mut config = keys();
    config["revocation"] = json!({ "max_sessions": 4 });
    let client = instance(config, Some(store.clone())).await;
    let mut logins = Vec::new();
    for _ in 0..1000 {
        logins.push(login_listed(&client, "alice").await);
    }
    // The list and one entry ending the oldest logins, however many there were.
    println!("1000 logins of one user: {} entries", store.len());
    assert!(store.len() <= 4, "{} entries", store.len());

    // Every login but the newest four is ended, whichever token it shows.
    for ended in [&logins[0], &logins[500], &logins[995]] {
        let refreshed = post_with(&client, "/refresh", &ended.refresh_token).await;
        assert_eq!(refreshed.status(), Status::Unauthorized);
        let access = get_with(&client, "/user", &ended.access_token).await;
        assert_eq!(access, Status::Unauthorized);
    }
    let newest = &logins[999];
    assert_eq!(list(&client, &newest.access_token).await.len(), 4);
    for kept in &logins[996..] {
        assert_eq!(
            get_with(&client, "/user", &kept.access_token).await,
            Status::Ok
        );
    }
    rotate(&client, &logins[996].refresh_token).await;
    // The oldest of the four, refreshed, is still the oldest: the next login ends it.
    login_listed(&client, "alice").await;
    let ended = get_with(&client, "/user", &logins[996].access_token).await;
    assert_eq!(ended, Status::Unauthorized);
    assert_eq!(
        get_with(&client, "/user", &logins[997].access_token).await,
        Status::Ok
    );
}

#[rocket::async_test]
async fn an_out_of_range_bound_refuses_launch() {
    for bad in [1001, 100_000] {
        let mut config = keys();
        config["revocation"] = json!({ "store": "memory", "max_sessions": bad });
        let error = rocket_paseto::PasetoFairing::default()
            .load(&common::figment(config))
            .unwrap_err();
        assert_eq!(error.field(), "paseto.revocation.max_sessions");
    }
}

#[rocket::async_test]
async fn the_store_sees_keyed_hashes_of_subjects() {
    let store = TestStore::default();
    let client = instance(keys(), Some(store.clone())).await;
    let pair = login_listed(&client, "alice@example.com").await;
    list(&client, &pair.access_token).await;
    let response = post_with(&client, "/logout-all", &pair.access_token).await;
    assert_eq!(response.status(), Status::Ok);

    let keys = store.keys.lock().unwrap().clone();
    assert!(keys.iter().any(|k| k.starts_with("ses:")), "{keys:?}");
    assert!(keys.iter().any(|k| k.starts_with("cut:")), "{keys:?}");
    for key in &keys {
        assert!(!key.contains("alice"), "{key}");
        // A subject's entries are named by a 128-bit hash; a login's by its family id.
        let hashed = ["ses:", "cut:", "old:"].iter().any(|n| key.starts_with(n));
        assert!(key.len() <= if hashed { 26 } else { 47 }, "{key}");
    }
    // An instance with other keys, on the same store, hashes the same subject differently.
    let other_keys = json!({
        "local_key": common::OTHER_LOCAL, "secret_key": common::OTHER_SECRET
    });
    let other = instance(other_keys, Some(store.clone())).await;
    login_listed(&other, "alice@example.com").await;
    let keys = store.keys.lock().unwrap().clone();
    let mut lists: Vec<&String> = keys.iter().filter(|k| k.starts_with("ses:")).collect();
    lists.sort();
    lists.dedup();
    assert_eq!(lists.len(), 2, "{lists:?}");
}

#[rocket::async_test]
async fn sessions_need_a_store() {
    let mut config = keys();
    config["revocation"] = json!({ "store": "none" });
    let client = instance(config, None::<MemoryStore>).await;
    let pair = login_listed(&client, "alice").await;
    let response = client
        .get("/sessions")
        .header(bearer(&pair.access_token))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::InternalServerError);
    assert_eq!(
        get_with(&client, "/user", &pair.access_token).await,
        Status::Ok
    );
}

#[rocket::async_test]
async fn a_store_outage_refuses_logins_unless_configured_to_allow() {
    let store = TestStore::default();
    let client = instance(keys(), Some(store.clone())).await;
    store
        .writes_fail
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let response = client.post("/sessions/login/alice").dispatch().await;
    assert_eq!(response.status(), Status::ServiceUnavailable);

    let mut config = keys();
    config["revocation"] = json!({ "on_error": "allow" });
    let store = TestStore::default();
    let client = instance(config, Some(store.clone())).await;
    store
        .writes_fail
        .store(true, std::sync::atomic::Ordering::SeqCst);
    login_listed(&client, "alice").await;
}

#[rocket::async_test]
async fn unlisted_sessions_start_while_the_store_is_down_and_still_log_out() {
    let mut config = keys();
    config["revocation"] = json!({ "max_sessions": 0 });
    let store = TestStore::down();
    let client = instance(config, Some(store.clone())).await;
    // A login writes nothing: the store's outage does not reach it.
    let pair = login_listed(&client, "alice").await;
    assert!(store.keys.lock().unwrap().is_empty());
    for fails in [&store.reads_fail, &store.writes_fail] {
        fails.store(false, std::sync::atomic::Ordering::SeqCst);
    }
    assert!(list(&client, &pair.access_token).await.is_empty());
    let response = post_with(&client, "/logout", &pair.refresh_token).await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(
        user_claims(&client, &pair.access_token).await.0,
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn logout_everywhere_revokes_each_listed_login_by_family() {
    let store = TestStore::default();
    let client = instance(keys(), Some(store.clone())).await;
    let one = login_listed(&client, "alice").await;
    let two = login_listed(&client, "alice").await;
    let mut families = Vec::new();
    for pair in [&one, &two] {
        let response = client
            .get("/user")
            .header(bearer(&pair.access_token))
            .dispatch()
            .await;
        let user: serde_json::Value = response.into_json().await.unwrap();
        families.push(format!("fam:{}", user["fam"].as_str().unwrap()));
    }
    store.inserts.lock().unwrap().clear();
    let response = post_with(&client, "/logout-all", &one.access_token).await;
    assert_eq!(response.status(), Status::Ok);
    let inserted: Vec<String> = store
        .inserts
        .lock()
        .unwrap()
        .iter()
        .map(|(k, _)| k.clone())
        .collect();
    for family in &families {
        assert!(inserted.contains(family), "{family} not in {inserted:?}");
    }
}

#[rocket::async_test]
async fn logout_everywhere_survives_a_local_key_change() {
    let store = MemoryStore::new();
    let before = instance(keys(), Some(store.clone())).await;
    // A pair outside any listed login: only the subject's cutoff reaches it.
    let unlisted = common::revocation::login_pair(&before).await;
    let listed = login_listed(&before, "alice").await;
    let response = post_with(&before, "/logout-all", &listed.access_token).await;
    assert_eq!(response.status(), Status::Ok);

    // The documented key change: a new local key, the old one kept to read old tokens.
    let rotated = json!({
        "local_key": common::OTHER_LOCAL,
        "previous_local_keys": [common::LOCAL],
        "secret_key": common::SECRET,
    });
    let after = instance(rotated, Some(store)).await;
    for token in [&unlisted.access_token, &listed.access_token] {
        assert_eq!(get_with(&after, "/user", token).await, Status::Unauthorized);
    }
    let refresh = post_with(&after, "/refresh", &unlisted.refresh_token).await;
    assert_eq!(refresh.status(), Status::Unauthorized);
    // Logins after the change work, and are listed.
    let again = login_listed(&after, "alice").await;
    assert_eq!(
        get_with(&after, "/user", &again.access_token).await,
        Status::Ok
    );
    assert_eq!(list(&after, &again.access_token).await.len(), 1);
}

#[rocket::async_test]
async fn a_login_that_fails_to_mint_takes_no_place_in_the_list() {
    let mut config = keys();
    config["revocation"] = json!({ "max_sessions": 1 });
    let client = store_client(config).await;
    let first = login_listed(&client, "alice").await;
    let broken = client.post("/sessions/login/alice/broken").dispatch().await;
    assert_eq!(broken.status(), Status::InternalServerError);
    // The failed attempt did not push the working login out.
    assert_eq!(
        get_with(&client, "/user", &first.access_token).await,
        Status::Ok
    );
    assert_eq!(list(&client, &first.access_token).await.len(), 1);
}

#[rocket::async_test]
async fn logout_ends_the_session_of_the_access_or_the_refresh_token_sent() {
    let client = store_client(keys()).await;
    let [first, second, third] = [
        login_listed(&client, "alice").await,
        login_listed(&client, "alice").await,
        login_listed(&client, "alice").await,
    ];
    // The refresh token alone (the access token lost or expired) ends its session…
    let response = post_with(&client, "/logout", &first.refresh_token).await;
    assert_eq!(response.status(), Status::Ok);
    let logged_out: Value = response.into_json().await.unwrap();
    assert_eq!(logged_out["refused"], json!(["access", "refresh"]));
    assert_eq!(
        user_claims(&client, &first.access_token).await.0,
        Status::Unauthorized
    );
    // …and so does the access token, its refresh token included.
    let response = post_with(&client, "/logout", &second.access_token).await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(
        get_with(&client, "/refresh/check", &second.refresh_token).await,
        Status::Unauthorized
    );
    // Other sessions go on; the ended one's tokens, no token or a bad one get the guard's 401.
    assert_eq!(
        user_claims(&client, &third.access_token).await.0,
        Status::Ok
    );
    for token in [first.refresh_token.as_str(), "v4.local.nope"] {
        let response = post_with(&client, "/logout", token).await;
        assert_eq!(response.status(), Status::Unauthorized, "{token}");
    }
    let response = client.post("/logout").dispatch().await;
    assert_eq!(response.status(), Status::Unauthorized);
    assert_eq!(list(&client, &third.access_token).await.len(), 1);
}

#[rocket::async_test]
async fn a_logout_the_store_cannot_record_is_unavailable_and_can_be_retried() {
    let store = TestStore::default();
    let client = instance(keys(), Some(store.clone())).await;
    let pair = login_listed(&client, "alice").await;
    store
        .writes_fail
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let response = post_with(&client, "/logout/or-retry", &pair.refresh_token).await;
    assert_eq!(response.into_string().await.unwrap(), "retry later");
    let response = post_with(&client, "/logout", &pair.access_token).await;
    assert_eq!(response.status(), Status::ServiceUnavailable);
    assert_eq!(response.headers().get_one("Retry-After"), Some("1"));
    store
        .writes_fail
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let response = post_with(&client, "/logout/or-retry", &pair.access_token).await;
    assert_eq!(response.into_string().await.unwrap(), "logged out");
}

/// `Login::ttl` ends a session sooner than `session_ttl`: its tokens, and those refreshed from
/// it, expire by then.
#[rocket::async_test]
async fn a_login_can_end_its_session_sooner() {
    let client = instance(keys(), None::<MemoryStore>).await;
    let issuer = client.rocket().state::<Issuer>().unwrap();
    let response = client.post("/sessions/login/alice/short").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    let pair: TokenPair = response.into_json().await.unwrap();
    let minute = time::OffsetDateTime::now_utc() + time::Duration::seconds(61);
    let refresh = issuer.verify::<Refresh>(&pair.refresh_token).unwrap();
    let end = refresh.claims().fam_exp.expect("a session end");
    assert!(end <= minute, "{end}");
    assert!(refresh.claims().exp <= end);
    let access = issuer.verify::<Access>(&pair.access_token).unwrap();
    assert!(access.claims().exp <= end);
    // A refresh keeps the session's end.
    let refreshed = post_with(&client, "/refresh", &pair.refresh_token).await;
    assert_eq!(refreshed.status(), Status::Ok);
    let refreshed: TokenPair = refreshed.into_json().await.unwrap();
    let renewed = issuer.verify::<Refresh>(&refreshed.refresh_token).unwrap();
    assert_eq!(renewed.claims().fam_exp, Some(end));
    assert!(renewed.claims().exp <= end);

    // A ttl too long to add to the clock limits nothing: the configured session_ttl holds.
    let response = client
        .post("/sessions/login/bob/unbounded")
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    let pair: TokenPair = response.into_json().await.unwrap();
    let refresh = issuer.verify::<Refresh>(&pair.refresh_token).unwrap();
    let end = refresh.claims().fam_exp.expect("a session end");
    assert!(
        end > time::OffsetDateTime::now_utc() + time::Duration::days(89),
        "{end}"
    );
}

/// A browser keeps the cookies of a short session no longer than the session: their
/// `Max-Age` stops at its end, not at the kinds' lifetimes.
#[rocket::async_test]
async fn a_short_browser_session_keeps_its_cookies_no_longer() {
    let client = instance(keys(), None::<MemoryStore>).await;
    let max_ages = |response: &rocket::local::asynchronous::LocalResponse<'_>| {
        let mut ages: Vec<(String, i64)> = response
            .cookies()
            .iter()
            .filter(|c| ["access_token", "refresh_token", "csrf_token"].contains(&c.name()))
            .map(|c| (c.name().to_owned(), c.max_age().unwrap().whole_seconds()))
            .collect();
        ages.sort();
        ages
    };
    let short = client.post("/web/login/short").dispatch().await;
    assert_eq!(short.status(), Status::Ok);
    let ages = max_ages(&short);
    assert_eq!(ages.len(), 3, "{ages:?}");
    assert!(
        ages.iter().all(|(_, age)| (55..=60).contains(age)),
        "{ages:?}"
    );
    // A session of the configured length keeps the kinds' lifetimes.
    let usual = client.post("/web/login").dispatch().await;
    let ages = max_ages(&usual);
    assert!(
        ages.contains(&("refresh_token".to_owned(), 1_209_600)),
        "{ages:?}"
    );
}

/// Rocket boxes each route's future on every request. A refresh keeps its state in boxes of
/// its own, each within the blocks glibc's per-thread cache serves (1,032 bytes): in the
/// route's future it would take the allocator's slow path on every refresh.
#[rocket::async_test]
async fn a_refreshs_future_is_small() {
    let client = store_client(keys()).await;
    let issuer = client.rocket().state::<Issuer>().unwrap();
    let token = issuer.refresh("alice").issue().unwrap();
    let verified = issuer.verify::<Refresh>(&token).unwrap();
    let request = client.post("/refresh");
    let sessions = request.inner().guard::<Sessions<'_>>().await.succeeded();
    let size = std::mem::size_of_val(&sessions.unwrap().refresh(&verified));
    assert!(size <= 256, "a refresh's future is {size} bytes");
}
