//! Revocation with the in-memory store and custom stores: logout, rotation with reuse
//! detection, several instances sharing a store, which kinds are checked, and a failing store.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use rocket::http::{Cookie, Header, Status};
use rocket::local::asynchronous::LocalResponse;
use rocket_paseto::Rejection;
use rocket_paseto::revocation::{MemoryStore, RevocationStore, StoreError};
use rocket_paseto::{Access, AuthError, Issuer, PasetoFairing, Refresh};
use serde_json::{Value, json};

use common::revocation::{
    TestStore, get_with, instance, login_pair, post_with, refresh_ids, rotate, user_claims,
};
use common::{figment, keys};

/// The memory store, with no grace window: a second use of a refresh token is always reuse.
fn memory() -> Value {
    let mut config = keys();
    config["revocation"] = json!({ "store": "memory", "rotation_grace": 0 });
    config
}

#[rocket::async_test]
async fn logout_revokes_the_access_and_refresh_token_together() {
    let client = instance(memory(), None::<MemoryStore>).await;
    let pair = login_pair(&client).await;
    let other = login_pair(&client).await;

    // Both work, and the access token is now in the verification cache.
    assert_eq!(user_claims(&client, &pair.access_token).await.0, Status::Ok);
    assert_eq!(
        get_with(&client, "/refresh/check", &pair.refresh_token).await,
        Status::Ok
    );

    let response = post_with(&client, "/logout", &pair.access_token).await;
    assert_eq!(response.status(), Status::Ok);

    // The cached access token and its refresh token are refused with the usual 401.
    let response = client
        .get("/user")
        .header(common::revocation::bearer(&pair.access_token))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Unauthorized);
    assert_eq!(
        response.headers().get_one("WWW-Authenticate"),
        Some(r#"Bearer error="invalid_token""#)
    );
    let body = response.into_string().await.unwrap();
    assert!(body.contains(r#""error":"invalid_token""#), "{body}");
    assert_eq!(
        get_with(&client, "/refresh/check", &pair.refresh_token).await,
        Status::Unauthorized
    );
    assert_eq!(
        post_with(&client, "/refresh", &pair.refresh_token)
            .await
            .status(),
        Status::Unauthorized
    );

    // Another login of the same user is not affected.
    assert_eq!(
        user_claims(&client, &other.access_token).await.0,
        Status::Ok
    );
    assert_eq!(
        get_with(&client, "/refresh/check", &other.refresh_token).await,
        Status::Ok
    );
}

#[rocket::async_test]
async fn a_pair_shares_one_family_and_rotation_keeps_it() {
    let client = instance(memory(), None::<MemoryStore>).await;
    let first = login_pair(&client).await;
    let (_, claims) = user_claims(&client, &first.access_token).await;
    let family = claims.unwrap()["fam"].clone();
    assert!(family.as_str().is_some_and(|f| !f.is_empty()), "{family}");

    let response = post_with(&client, "/refresh", &first.refresh_token).await;
    assert_eq!(response.status(), Status::Ok);
    let second: rocket_paseto::TokenPair = response.into_json().await.unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);
    let (status, claims) = user_claims(&client, &second.access_token).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(claims.unwrap()["fam"], family);

    let other = login_pair(&client).await;
    let (_, claims) = user_claims(&client, &other.access_token).await;
    assert_ne!(claims.unwrap()["fam"], family);
}

#[rocket::async_test]
async fn reusing_a_refresh_token_revokes_its_whole_family() {
    let client = instance(memory(), None::<MemoryStore>).await;
    let first = login_pair(&client).await;
    let bystander = login_pair(&client).await;

    let second = rotate(&client, &first.refresh_token).await;
    let third = rotate(&client, &second.refresh_token).await;
    assert_eq!(
        user_claims(&client, &third.access_token).await.0,
        Status::Ok
    );

    // An attacker replays the first refresh token: refused, and the family is revoked.
    let replay = post_with(&client, "/refresh", &first.refresh_token).await;
    assert_eq!(replay.status(), Status::Unauthorized);
    for access in [
        &first.access_token,
        &second.access_token,
        &third.access_token,
    ] {
        assert_eq!(user_claims(&client, access).await.0, Status::Unauthorized);
    }
    assert_eq!(
        post_with(&client, "/refresh", &third.refresh_token)
            .await
            .status(),
        Status::Unauthorized
    );

    // Other logins carry on.
    assert_eq!(
        user_claims(&client, &bystander.access_token).await.0,
        Status::Ok
    );
    assert_eq!(
        post_with(&client, "/refresh", &bystander.refresh_token)
            .await
            .status(),
        Status::Ok
    );
}

#[rocket::async_test]
async fn a_logout_on_one_instance_is_refused_by_another_sharing_the_store() {
    let store = MemoryStore::new();
    let a = instance(keys(), Some(store.clone())).await;
    let b = instance(keys(), Some(store.clone())).await;
    let pair = login_pair(&a).await;
    assert_eq!(user_claims(&b, &pair.access_token).await.0, Status::Ok);

    assert_eq!(
        post_with(&a, "/logout", &pair.access_token).await.status(),
        Status::Ok
    );
    // The very next request on the other instance is refused.
    assert_eq!(
        user_claims(&b, &pair.access_token).await.0,
        Status::Unauthorized
    );
    assert_eq!(
        get_with(&b, "/refresh/check", &pair.refresh_token).await,
        Status::Unauthorized
    );
    assert!(!store.is_empty());
}

#[rocket::async_test]
async fn only_the_listed_kinds_are_checked() {
    let mut config = memory();
    config["revocation"]["kinds"] = json!(["refresh"]);
    let client = instance(config, None::<MemoryStore>).await;
    let pair = login_pair(&client).await;
    assert_eq!(
        post_with(&client, "/logout", &pair.access_token)
            .await
            .status(),
        Status::Ok
    );
    // Access tokens are not looked up (stateless until they expire); refresh tokens are.
    assert_eq!(user_claims(&client, &pair.access_token).await.0, Status::Ok);
    assert_eq!(
        get_with(&client, "/refresh/check", &pair.refresh_token).await,
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn a_checked_kind_requires_a_jti() {
    let mut claims = common::claims("access");
    claims.remove("jti");
    let token = common::local_token(&claims);

    let client = instance(memory(), None::<MemoryStore>).await;
    assert_eq!(user_claims(&client, &token).await.0, Status::Unauthorized);

    let mut config = memory();
    config["revocation"]["kinds"] = json!(["refresh"]);
    let client = instance(config, None::<MemoryStore>).await;
    assert_eq!(user_claims(&client, &token).await.0, Status::Ok);
}

#[rocket::async_test]
async fn browser_sessions_rotate_and_log_out_through_cookies() {
    let mut config = memory();
    config["revocation"]["kinds"] = json!(["access", "refresh", "remember_me"]);
    let client = instance(config, None::<MemoryStore>).await;
    let login = client.post("/web/login").dispatch().await;
    assert_eq!(login.status(), Status::Ok);
    let jar = cookies_of(&login);
    let csrf = jar["csrf_token"].clone();

    let refresh = |jar: Vec<(String, String)>| {
        let csrf = csrf.clone();
        let client = &client;
        async move {
            let mut request = client
                .post("/web/refresh")
                .header(Header::new("X-CSRF-Token", csrf));
            for (name, value) in jar {
                request = request.cookie(Cookie::new(name, value));
            }
            request.dispatch().await
        }
    };
    let old_refresh = vec![("refresh_token".to_owned(), jar["refresh_token"].clone())];
    let rotated = refresh(old_refresh.clone()).await;
    assert_eq!(rotated.status(), Status::Ok);
    let new = cookies_of(&rotated);
    assert_ne!(new["refresh_token"], jar["refresh_token"]);
    assert!(new.contains_key("access_token"));
    // The CSRF value is kept, so the page's CSRF cookie stays valid.
    assert!(!new.contains_key("csrf_token"));

    // The rotated cookies work with the same CSRF header; the old refresh cookie is used up,
    // and replaying it revokes the new ones too.
    let new_refresh = vec![("refresh_token".to_owned(), new["refresh_token"].clone())];
    assert_eq!(refresh(old_refresh).await.status(), Status::Unauthorized);
    assert_eq!(refresh(new_refresh).await.status(), Status::Unauthorized);
    let access = client
        .get("/user")
        .cookie(Cookie::new("access_token", new["access_token"].clone()))
        .dispatch()
        .await;
    assert_eq!(access.status(), Status::Unauthorized);

    // Remember-me still works (another token), until logout revokes it as well.
    let remember = Cookie::new("remember_token", jar["remember_token"].clone());
    let resumed = client
        .get("/remembered")
        .cookie(remember.clone())
        .dispatch()
        .await;
    assert_eq!(resumed.status(), Status::Ok);
    let login = client.post("/web/login").dispatch().await;
    let jar = cookies_of(&login);
    let mut logout = client
        .post("/web/logout")
        .header(Header::new("X-CSRF-Token", jar["csrf_token"].clone()));
    for name in ["access_token", "remember_token"] {
        logout = logout.cookie(Cookie::new(name, jar[name].clone()));
    }
    let logout = logout.dispatch().await;
    assert_eq!(logout.status(), Status::Ok);
    let replayed = Cookie::new("remember_token", jar["remember_token"].clone());
    let resumed = client.get("/remembered").cookie(replayed).dispatch().await;
    assert_eq!(resumed.status(), Status::Unauthorized);
}

#[rocket::async_test]
async fn browser_refreshes_without_rotation_keep_the_refresh_cookie() {
    let mut config = memory();
    config["revocation"]["rotate"] = json!(false);
    let client = instance(config, None::<MemoryStore>).await;
    let login = client.post("/web/login").dispatch().await;
    let jar = cookies_of(&login);
    for _ in 0..2 {
        let refreshed = client
            .post("/web/refresh")
            .header(Header::new("X-CSRF-Token", jar["csrf_token"].clone()))
            .cookie(Cookie::new("refresh_token", jar["refresh_token"].clone()))
            .dispatch()
            .await;
        assert_eq!(refreshed.status(), Status::Ok);
        let new = cookies_of(&refreshed);
        // A new access cookie only: the refresh and CSRF cookies stay as they are.
        assert_eq!(new.keys().collect::<Vec<_>>(), ["access_token"]);
        let user = client
            .get("/user")
            .cookie(Cookie::new("access_token", new["access_token"].clone()))
            .dispatch()
            .await;
        assert_eq!(user.status(), Status::Ok);
    }
}

fn cookies_of(response: &LocalResponse<'_>) -> std::collections::HashMap<String, String> {
    response
        .headers()
        .get("Set-Cookie")
        .map(|h| Cookie::parse(h.to_owned()).unwrap())
        .map(|c| (c.name().to_owned(), c.value().to_owned()))
        .collect()
}

#[rocket::async_test]
async fn a_failing_store_fails_closed_by_default() {
    let healthy = instance(keys(), None::<MemoryStore>).await;
    let pair = login_pair(&healthy).await;
    let client = instance(keys(), Some(TestStore::down())).await;

    let response = client
        .get("/user")
        .header(common::revocation::bearer(&pair.access_token))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::ServiceUnavailable);
    assert_eq!(response.headers().get_one("Retry-After"), Some("1"));
    let body = response.into_string().await.unwrap();
    assert_eq!(
        body,
        r#"{"error":"temporarily_unavailable","message":"Try again shortly."}"#
    );
    assert_eq!(
        post_with(&client, "/refresh", &pair.refresh_token)
            .await
            .status(),
        Status::ServiceUnavailable
    );
    // Garbage never reaches the store: it is refused as usual.
    assert_eq!(
        user_claims(&client, "v4.local.garbage").await.0,
        Status::Unauthorized
    );
    // A logout that could not be recorded says so, as the outage it is: 503, retry later.
    let mut config = keys();
    config["revocation"] = json!({ "kinds": ["refresh"] });
    let client = instance(config, Some(TestStore::down())).await;
    let response = post_with(&client, "/logout", &pair.access_token).await;
    assert_eq!(response.status(), Status::ServiceUnavailable);
    assert_eq!(response.headers().get_one("Retry-After"), Some("1"));
    assert_eq!(
        response.into_string().await.unwrap(),
        r#"{"error":"temporarily_unavailable","message":"Try again shortly."}"#
    );
}

#[rocket::async_test]
async fn a_failing_store_can_be_configured_to_fail_open() {
    let mut config = keys();
    config["revocation"] = json!({ "on_error": "allow" });
    let client = instance(config, Some(TestStore::down())).await;
    let pair = login_pair(&client).await;
    assert_eq!(user_claims(&client, &pair.access_token).await.0, Status::Ok);
    // Rotation always fails closed: an exchange that is not recorded could be repeated.
    assert_eq!(
        post_with(&client, "/refresh", &pair.refresh_token)
            .await
            .status(),
        Status::ServiceUnavailable
    );
}

#[rocket::async_test]
async fn authenticate_checks_the_store_as_guards_do() {
    let mut config = memory();
    config["access"] = json!({ "query": "access_token" });
    let client = instance(config, None::<MemoryStore>).await;
    let issuer = client.rocket().state::<Issuer>().unwrap();
    let pair = login_pair(&client).await;
    let verified = issuer.authenticate::<Access>(&pair.access_token).await;
    assert_eq!(verified.unwrap().claims().sub, "alice");
    for (token, why) in [
        (&pair.refresh_token, "wrong kind"),
        (&"v4.local.x".into(), "bad"),
    ] {
        let refused = issuer.authenticate::<Access>(token).await;
        assert!(matches!(refused, Err(AuthError::Invalid(_))), "{why}");
    }

    // After a logout: refused by `authenticate` and by a guard reading the query string,
    // still accepted by `verify`, which skips the store.
    let user = format!("/user/query?access_token={}", pair.access_token);
    assert_eq!(
        client.get(user.clone()).dispatch().await.status(),
        Status::Ok
    );
    let logout = post_with(&client, "/logout", &pair.access_token).await;
    assert_eq!(logout.status(), Status::Ok);
    let refused = issuer.authenticate::<Access>(&pair.access_token).await;
    assert!(matches!(
        refused,
        Err(AuthError::Invalid(Rejection::Revoked))
    ));
    assert!(
        issuer
            .authenticate::<Refresh>(&pair.refresh_token)
            .await
            .is_err()
    );
    assert!(issuer.verify::<Access>(&pair.access_token).is_ok());
    let status = client.get(user).dispatch().await.status();
    assert_eq!(status, Status::Unauthorized);

    // A replaced refresh token is reuse here too: its whole login is revoked.
    let pair = login_pair(&client).await;
    let rotated = rotate(&client, &pair.refresh_token).await;
    let reused = issuer.authenticate::<Refresh>(&pair.refresh_token).await;
    assert!(matches!(
        reused,
        Err(AuthError::Invalid(Rejection::Revoked))
    ));
    let access = issuer.authenticate::<Access>(&rotated.access_token).await;
    assert!(access.is_err());
}

#[rocket::async_test]
async fn authenticate_follows_on_error_when_the_store_is_down() {
    let pair = login_pair(&instance(keys(), None::<MemoryStore>).await).await;
    let closed = instance(keys(), Some(TestStore::down())).await;
    let issuer = closed.rocket().state::<Issuer>().unwrap();
    let refused = issuer.authenticate::<Access>(&pair.access_token).await;
    assert!(matches!(refused, Err(AuthError::Unavailable)));

    let mut config = keys();
    config["revocation"] = json!({ "on_error": "allow" });
    let open = instance(config, Some(TestStore::down())).await;
    let issuer = open.rocket().state::<Issuer>().unwrap();
    let verified = issuer.authenticate::<Access>(&pair.access_token).await;
    assert_eq!(verified.unwrap().claims().sub, "alice");
    // Kinds not in `revocation.kinds` never wait for the store.
    let mut config = keys();
    config["revocation"] = json!({ "kinds": ["refresh"] });
    let unchecked = instance(config, Some(TestStore::down())).await;
    let issuer = unchecked.rocket().state::<Issuer>().unwrap();
    assert!(
        issuer
            .authenticate::<Access>(&pair.access_token)
            .await
            .is_ok()
    );
}

#[rocket::async_test]
async fn stores_see_ids_never_tokens() {
    let store = TestStore::default();
    let client = instance(keys(), Some(store.clone())).await;
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

    let keys = store.keys.lock().unwrap().clone();
    let jti = claims["jti"].as_str().unwrap();
    let fam = claims["fam"].as_str().unwrap();
    assert!(keys.contains(&format!("jti:{jti}")), "{keys:?}");
    assert!(keys.contains(&format!("fam:{fam}")), "{keys:?}");
    assert!(keys.contains(&format!("rot:{fam}")), "{keys:?}");
    let subject = claims["sub"].as_str().unwrap();
    for key in &keys {
        assert!(
            ["jti:", "fam:", "rot:", "cut:", "old:", "ses:"]
                .iter()
                .any(|p| key.starts_with(p))
                // A prefix and an id: a session's is its start and a random id.
                && key.len() <= 47,
            "{key}"
        );
        assert!(!key.contains("v4."), "{key}");
        // Subjects appear only as keyed hashes.
        assert!(!key.contains(subject), "{key}");
    }
}

#[rocket::async_test]
async fn with_no_store_set_a_single_instance_revokes_in_memory() {
    let client = instance(keys(), None::<MemoryStore>).await;
    let pair = login_pair(&client).await;
    let rotated = rotate(&client, &pair.refresh_token).await;
    let response = post_with(&client, "/logout", &rotated.access_token).await;
    assert_eq!(response.status(), Status::Ok);
    // The whole login ends: the tokens before the rotation and after it.
    for token in [&pair.access_token, &rotated.access_token] {
        assert_eq!(user_claims(&client, token).await.0, Status::Unauthorized);
    }
    let refreshed = post_with(&client, "/refresh", &rotated.refresh_token).await;
    assert_eq!(refreshed.status(), Status::Unauthorized);
}

#[rocket::async_test]
async fn with_store_none_tokens_cannot_be_revoked() {
    let mut config = keys();
    config["revocation"] = json!({ "store": "none" });
    let client = instance(config, None::<MemoryStore>).await;
    let pair = login_pair(&client).await;
    let response = post_with(&client, "/logout", &pair.access_token).await;
    assert_eq!(response.status(), Status::InternalServerError);
    // No store to record a rotation in: a new access token, and the refresh token stays.
    for _ in 0..2 {
        let response = post_with(&client, "/refresh", &pair.refresh_token).await;
        assert_eq!(response.status(), Status::Ok);
        let body: Value = response.into_json().await.unwrap();
        assert_eq!(body["refresh_token"], Value::Null);
        let access = body["access_token"].as_str().unwrap();
        assert_eq!(user_claims(&client, access).await.0, Status::Ok);
    }
    // Without a store nothing is looked up: tokens stay valid until they expire.
    assert_eq!(user_claims(&client, &pair.access_token).await.0, Status::Ok);
}

fn load_error(revocation: Value, store: Option<MemoryStore>) -> (String, String) {
    let mut config = keys();
    config["revocation"] = revocation;
    let mut fairing = PasetoFairing::default();
    if let Some(store) = store {
        fairing = fairing.revocation(store);
    }
    let error = fairing
        .load(&figment(config))
        .expect_err("the configuration is refused");
    (error.field().to_owned(), error.message().to_owned())
}

#[test]
fn bad_revocation_settings_are_refused_at_ignite() {
    let (field, _) = load_error(json!({ "store": "memory", "kinds": ["acess"] }), None);
    assert_eq!(field, "paseto.revocation.kinds[0]");
    let (field, _) = load_error(json!({ "store": "none", "kinds": ["refresh"] }), None);
    assert_eq!(field, "paseto.revocation.kinds");
    let (field, _) = load_error(json!({ "store": "disk" }), None);
    assert_eq!(field, "paseto.revocation.store");
    let (field, _) = load_error(json!({ "store": "memory" }), Some(MemoryStore::new()));
    assert_eq!(field, "paseto.revocation.store");
    let (field, _) = load_error(json!({ "store": "memory", "timeout_ms": 0 }), None);
    assert_eq!(field, "paseto.revocation.timeout_ms");
    let secret_url = "redis://:hunter2@127.0.0.1:1/";
    let (field, message) = load_error(json!({ "store": "memory", "url": secret_url }), None);
    assert_eq!(field, "paseto.revocation.url");
    assert!(!message.contains("hunter2"));
    // Without the `redis` feature, that is said first (`tests/config.rs`).
    #[cfg(feature = "redis")]
    {
        let (field, _) = load_error(json!({ "store": "redis" }), None);
        assert_eq!(field, "paseto.revocation.url");
        let (field, _) = load_error(json!({ "store": "redis-cluster" }), None);
        assert_eq!(field, "paseto.revocation.urls");
    }
    let (field, message) = load_error(json!({ "store": "memory", "urls": [secret_url] }), None);
    assert_eq!(field, "paseto.revocation.urls");
    assert!(!message.contains("hunter2"));
    let (field, _) = load_error(json!({ "store": "memory", "on_error": "ignore" }), None);
    assert_eq!(field, "paseto.revocation.on_error");
    for (setting, value) in [
        ("replica_max_lag_ms", 9),
        ("replica_max_lag_ms", 60_001),
        ("replica_max_entries", 0),
        ("replica_max_entries", 100_000_001),
    ] {
        let (field, message) = load_error(json!({ "store": "memory", setting: value }), None);
        assert_eq!(field, format!("paseto.revocation.{setting}"));
        assert!(message.starts_with("must be between"), "{message}");
    }
    let (field, _) = load_error(json!({ "store": "memory", "replica": "yes" }), None);
    assert_eq!(field, "paseto.revocation.replica");
}

#[cfg(not(feature = "redis"))]
#[test]
fn the_redis_store_needs_its_feature() {
    let (field, message) = load_error(
        json!({ "store": "redis", "url": "redis://127.0.0.1/" }),
        None,
    );
    assert_eq!(field, "paseto.revocation.store");
    assert!(message.contains("feature `redis`"), "{message}");
    let cluster = json!({ "store": "redis-cluster", "urls": ["redis://127.0.0.1/"] });
    let (field, message) = load_error(cluster, None);
    assert_eq!(field, "paseto.revocation.store");
    assert!(message.contains("feature `redis`"), "{message}");
}

#[rocket::async_test]
async fn family_members_never_outlive_their_family() {
    let client = instance(memory(), None::<MemoryStore>).await;
    let issuer = client.rocket().state::<Issuer>().unwrap();
    let pair = login_pair(&client).await;
    let refresh = issuer.verify::<Refresh>(&pair.refresh_token).unwrap();
    let end = refresh
        .claims()
        .fam_exp
        .expect("pairs state their family's end");
    // The login lasts `session_ttl`: 90 days by default.
    let session = end - refresh.claims().iat.unwrap();
    assert_eq!(session.whole_days(), 90);
    let year = Duration::from_secs(365 * 24 * 60 * 60);
    let joined = issuer
        .access("alice")
        .session_of(&refresh)
        .ttl(year)
        .issue()
        .unwrap();
    let joined = issuer.verify::<rocket_paseto::Access>(&joined).unwrap();
    assert_eq!(joined.claims().fam, refresh.claims().fam);
    assert_eq!(joined.claims().fam_exp, Some(end));
    assert!(joined.claims().exp <= end);
    // Outside a family the same lifetime is the token's own.
    let lone = issuer.access("alice").ttl(year).issue().unwrap();
    let lone = issuer.verify::<rocket_paseto::Access>(&lone).unwrap();
    assert!(lone.claims().exp > end);
    // A member of a token outside any family ends with that token.
    let child = issuer
        .access("alice")
        .session_of(&lone)
        .ttl(year)
        .issue()
        .unwrap();
    let child = issuer.verify::<rocket_paseto::Access>(&child).unwrap();
    assert_eq!(child.claims().fam_exp, Some(lone.claims().exp));
}

#[rocket::async_test]
async fn rotation_refuses_revoked_tokens_even_when_refresh_guards_do_not_check() {
    let mut config = memory();
    config["revocation"]["kinds"] = json!(["access"]);
    let client = instance(config, None::<MemoryStore>).await;
    let pair = login_pair(&client).await;
    assert_eq!(
        post_with(&client, "/logout", &pair.access_token)
            .await
            .status(),
        Status::Ok
    );
    // The refresh guard is stateless here, but a revoked family must not grow.
    assert_eq!(
        get_with(&client, "/refresh/check", &pair.refresh_token).await,
        Status::Ok
    );
    assert_eq!(
        post_with(&client, "/refresh", &pair.refresh_token)
            .await
            .status(),
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn tokens_expiring_in_the_year_9999_can_be_revoked() {
    let mut claims = common::claims("access");
    claims.insert("exp".into(), "9999-12-31T23:59:59Z".into());
    claims.insert("fam".into(), "far-future-family".into());
    let token = common::local_token(&claims);
    let mut config = memory();
    config["leeway"] = json!(600);
    let client = instance(config, None::<MemoryStore>).await;
    assert_eq!(user_claims(&client, &token).await.0, Status::Ok);
    assert_eq!(
        post_with(&client, "/logout", &token).await.status(),
        Status::Ok
    );
    assert_eq!(user_claims(&client, &token).await.0, Status::Unauthorized);
}

#[rocket::async_test]
async fn a_token_outside_any_pair_is_its_own_family() {
    let client = instance(memory(), None::<MemoryStore>).await;
    let lone = client.post("/login/lone").dispatch().await;
    let lone = lone.into_string().await.unwrap();
    let rotated = rotate(&client, &lone).await;
    assert_eq!(
        user_claims(&client, &rotated.access_token).await.0,
        Status::Ok
    );
    // Reusing the lone token revokes what was minted from it.
    assert_eq!(
        post_with(&client, "/refresh", &lone).await.status(),
        Status::Unauthorized
    );
    assert_eq!(
        user_claims(&client, &rotated.access_token).await.0,
        Status::Unauthorized
    );
    assert_eq!(
        get_with(&client, "/refresh/check", &rotated.refresh_token).await,
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn refresh_tokens_from_a_body_rotate_with_reuse_detection() {
    let client = instance(memory(), None::<MemoryStore>).await;
    let pair = login_pair(&client).await;
    let exchange = |token: String| {
        let client = &client;
        async move { client.post("/token").body(token).dispatch().await }
    };
    let response = exchange(pair.refresh_token.clone()).await;
    assert_eq!(response.status(), Status::Ok);
    let rotated: rocket_paseto::TokenPair = response.into_json().await.unwrap();
    assert_eq!(
        user_claims(&client, &rotated.access_token).await.0,
        Status::Ok
    );
    assert_eq!(
        exchange(pair.access_token.clone()).await.status(),
        Status::Unauthorized
    );
    assert_eq!(
        exchange(pair.refresh_token.clone()).await.status(),
        Status::Unauthorized
    );
    assert_eq!(
        user_claims(&client, &rotated.access_token).await.0,
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn renewed_remember_me_tokens_are_revoked_with_the_one_they_replace() {
    let mut config = memory();
    config["revocation"]["kinds"] = json!(["access", "refresh", "remember_me"]);
    config["remember_me"] = json!({ "ttl": 1000, "renew_after": 0.0001 });
    let client = instance(config, None::<MemoryStore>).await;
    let login = client.post("/web/login").dispatch().await;
    let jar = cookies_of(&login);
    let first = Cookie::new("remember_token", jar["remember_token"].clone());

    // Past a tenth of a second (0.0001 of its life) the guard renews the cookie.
    rocket::tokio::time::sleep(Duration::from_millis(300)).await;
    let resumed = client
        .get("/remembered")
        .cookie(first.clone())
        .dispatch()
        .await;
    assert_eq!(resumed.status(), Status::Ok);
    let renewed = cookies_of(&resumed)["remember_token"].clone();
    assert_ne!(renewed, first.value());

    // Logging out with the renewed cookie also revokes the copy taken before the renewal.
    let logout = client
        .post("/web/logout")
        .header(Header::new("X-CSRF-Token", jar["csrf_token"].clone()))
        .cookie(Cookie::new("access_token", jar["access_token"].clone()))
        .cookie(Cookie::new("remember_token", renewed.clone()))
        .dispatch()
        .await;
    assert_eq!(logout.status(), Status::Ok);
    for value in [first.value().to_owned(), renewed] {
        let cookie = Cookie::new("remember_token", value);
        let status = client
            .get("/remembered")
            .cookie(cookie)
            .dispatch()
            .await
            .status();
        assert_eq!(status, Status::Unauthorized);
    }
}

// ----- Families that really end, rotation that tolerates parallel use, faults that neither
// ----- log people out nor bring sessions back.

fn config_with(revocation: Value) -> Value {
    let mut config = keys();
    config["revocation"] = revocation;
    config
}

async fn text(response: LocalResponse<'_>) -> String {
    response.into_string().await.unwrap_or_default()
}

fn claims_of(token: &str, client_config: &Value) -> rocket_paseto::Claims {
    let issuer = PasetoFairing::default()
        .load(&figment(client_config.clone()))
        .unwrap();
    issuer.verify::<Refresh>(token).unwrap().claims().clone()
}

#[rocket::async_test]
async fn a_revoked_family_is_remembered_as_long_as_its_longest_lived_member() {
    let store = TestStore::default();
    let client = instance(keys(), Some(store.clone())).await;
    // A refresh token minted on its own for 200 days heads its own family.
    let head = text(client.post("/login/long").dispatch().await).await;
    let head_exp = claims_of(&head, &keys()).exp;
    let rotated = rotate(&client, &head).await;
    assert_eq!(
        post_with(&client, "/logout", &rotated.access_token)
            .await
            .status(),
        Status::Ok
    );
    let family = claims_of(&rotated.refresh_token, &keys()).fam.unwrap();
    let until = store.inserted_until(&format!("fam:{family}")).unwrap();
    assert!(until >= head_exp, "{until} < {head_exp}");
    assert_eq!(
        get_with(&client, "/refresh/check", &head).await,
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn a_restart_with_shorter_lifetimes_does_not_forget_older_families() {
    let shared = MemoryStore::new();
    let mut before = keys();
    before["refresh"] = json!({ "ttl": 60 * 86400 });
    let mut after = keys();
    after["refresh"] = json!({ "ttl": 86400 });
    let old = instance(before.clone(), Some(TestStore::skewed(shared.clone(), 0))).await;
    let store = TestStore::skewed(shared, 0);
    let new = instance(after, Some(store.clone())).await;

    let pair = login_pair(&old).await;
    let refresh_exp = claims_of(&pair.refresh_token, &before).exp;
    assert_eq!(
        post_with(&new, "/logout", &pair.access_token)
            .await
            .status(),
        Status::Ok
    );
    let family = claims_of(&pair.refresh_token, &before).fam.unwrap();
    let until = store.inserted_until(&format!("fam:{family}")).unwrap();
    assert!(until >= refresh_exp, "{until} < {refresh_exp}");
}

#[rocket::async_test]
async fn a_rotated_refresh_token_is_refused_by_every_guard_and_revokes_its_family() {
    let client = instance(
        config_with(json!({ "store": "memory", "rotation_grace": 0 })),
        None::<MemoryStore>,
    )
    .await;
    let pair = login_pair(&client).await;
    let next = rotate(&client, &pair.refresh_token).await;
    // Any route taking `Paseto<Refresh>`, not only the rotation, refuses the used token…
    assert_eq!(
        get_with(&client, "/refresh/check", &pair.refresh_token).await,
        Status::Unauthorized
    );
    // …and cannot mint from it; its presentation was reuse, so the new generation is revoked.
    assert_eq!(
        post_with(&client, "/refresh", &pair.refresh_token)
            .await
            .status(),
        Status::Unauthorized
    );
    assert_eq!(
        user_claims(&client, &next.access_token).await.0,
        Status::Unauthorized
    );
    assert_eq!(
        get_with(&client, "/refresh/check", &next.refresh_token).await,
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn parallel_rotations_within_the_grace_window_share_one_generation() {
    let mut config = config_with(json!({ "store": "memory", "rotation_grace": 1 }));
    config["leeway"] = json!(0);
    let client = instance(config, None::<MemoryStore>).await;
    let pair = login_pair(&client).await;
    let (one, two) = rocket::tokio::join!(
        post_with(&client, "/refresh", &pair.refresh_token),
        post_with(&client, "/refresh", &pair.refresh_token),
    );
    assert_eq!((one.status(), two.status()), (Status::Ok, Status::Ok));
    let one: rocket_paseto::TokenPair = one.into_json().await.unwrap();
    let two: rocket_paseto::TokenPair = two.into_json().await.unwrap();
    assert_eq!(
        refresh_ids(&client, &one.refresh_token).await,
        refresh_ids(&client, &two.refresh_token).await
    );
    // Either copy of the generation rotates on; the window writes nothing more.
    let three = rotate(&client, &two.refresh_token).await;
    assert_eq!(
        user_claims(&client, &three.access_token).await.0,
        Status::Ok
    );
    // Past the window, the first token is reuse: the family is revoked.
    rocket::tokio::time::sleep(Duration::from_millis(2100)).await;
    let replay = post_with(&client, "/refresh", &pair.refresh_token).await;
    assert_eq!(replay.status(), Status::Unauthorized);
    assert_eq!(
        user_claims(&client, &three.access_token).await.0,
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn a_family_holds_one_rotation_record_however_often_it_rotates() {
    let store = MemoryStore::new();
    let client = instance(keys(), Some(store.clone())).await;
    let mut pair = login_pair(&client).await;
    assert_eq!(
        store.len(),
        1,
        "a login writes its subject's list of sessions"
    );
    for _ in 0..5 {
        pair = rotate(&client, &pair.refresh_token).await;
    }
    assert_eq!(store.len(), 2, "one record per family");
    let other = login_pair(&client).await;
    rotate(&client, &other.refresh_token).await;
    assert_eq!(store.len(), 3);
    assert_eq!(
        post_with(&client, "/logout", &pair.access_token)
            .await
            .status(),
        Status::Ok
    );
    assert_eq!(store.len(), 5, "a logout adds the token and its family");
}

#[rocket::async_test]
async fn a_rotation_whose_reply_was_lost_can_be_retried() {
    let store = TestStore::default();
    let client = instance(keys(), Some(store.clone())).await;
    let pair = login_pair(&client).await;
    // The store records the rotation but the reply is lost: the client is told 503.
    store.replies_lost.store(true, Ordering::SeqCst);
    let response = post_with(&client, "/refresh", &pair.refresh_token).await;
    assert_eq!(response.status(), Status::ServiceUnavailable);
    store.replies_lost.store(false, Ordering::SeqCst);
    // The retry the 503 asks for is not reuse: the login goes on.
    let retried = rotate(&client, &pair.refresh_token).await;
    assert_eq!(
        user_claims(&client, &retried.access_token).await.0,
        Status::Ok
    );
    assert_eq!(user_claims(&client, &pair.access_token).await.0, Status::Ok);
}

#[rocket::async_test]
async fn minting_into_a_family_needs_a_definite_answer_even_when_failing_open() {
    // With rotation and without (a new access token only): neither mints blind.
    for rotate in [true, false] {
        let store = TestStore::default();
        let client = instance(
            config_with(json!({ "on_error": "allow", "rotate": rotate })),
            Some(store.clone()),
        )
        .await;
        let pair = login_pair(&client).await;
        assert_eq!(
            post_with(&client, "/logout", &pair.access_token)
                .await
                .status(),
            Status::Ok
        );
        // Reads fail, writes work: guards fail open, as configured…
        store.reads_fail.store(true, Ordering::SeqCst);
        assert_eq!(
            get_with(&client, "/refresh/check", &pair.refresh_token).await,
            Status::Ok
        );
        // …but nothing is minted into the revoked family.
        let status = post_with(&client, "/refresh", &pair.refresh_token)
            .await
            .status();
        assert_eq!(status, Status::ServiceUnavailable, "rotate = {rotate}");
    }
}

#[rocket::async_test]
async fn entries_outlast_a_writer_whose_clock_runs_ahead() {
    // Instance A's clock runs 4 s ahead of B's: a TTL it computes ends 4 s early. Both allow
    // 4 s of leeway.
    let mut config = keys();
    config["leeway"] = json!(4);
    config["access"] = json!({ "ttl": 2 });
    let shared = MemoryStore::new();
    let a = instance(config.clone(), Some(TestStore::skewed(shared.clone(), 4))).await;
    let b = instance(config, Some(TestStore::skewed(shared, 0))).await;
    let token = text(b.post("/login/lone-access").dispatch().await).await;
    assert_eq!(post_with(&a, "/logout", &token).await.status(), Status::Ok);
    // Two seconds past `exp`, within B's leeway: still refused.
    rocket::tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(user_claims(&b, &token).await.0, Status::Unauthorized);
}

#[rocket::async_test]
async fn a_logout_says_which_kinds_it_revoked() {
    let client = instance(
        config_with(json!({ "store": "memory", "kinds": ["refresh"] })),
        None::<MemoryStore>,
    )
    .await;
    let pair = login_pair(&client).await;
    let response = post_with(&client, "/logout", &pair.access_token).await;
    assert_eq!(response.status(), Status::Ok);
    let revoked: Value = response.into_json().await.unwrap();
    assert_eq!(revoked["refused"], json!(["refresh"]));
    assert_eq!(revoked["still_valid"], json!(["access"]));
    // As it says: the access token still works, the refresh token does not.
    assert_eq!(user_claims(&client, &pair.access_token).await.0, Status::Ok);
    assert_eq!(
        get_with(&client, "/refresh/check", &pair.refresh_token).await,
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn an_access_token_from_a_refresh_token_is_revoked_with_it() {
    let client = instance(
        config_with(json!({ "store": "memory", "rotate": false })),
        None::<MemoryStore>,
    )
    .await;
    let pair = login_pair(&client).await;
    let response = post_with(&client, "/refresh", &pair.refresh_token).await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(
        response.headers().get_one("Cache-Control"),
        Some("no-store")
    );
    // Without rotation, a new access token only: the client keeps its refresh token.
    let access: Value = response.into_json().await.unwrap();
    assert_eq!(access["refresh_token"], Value::Null);
    assert_eq!(access["token_type"], "Bearer");
    let access = access["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        get_with(&client, "/refresh/check", &pair.refresh_token).await,
        Status::Ok
    );
    assert_eq!(user_claims(&client, &access).await.0, Status::Ok);
    // Logging out with the new access token ends the whole login: the refresh token it came
    // from and the first access token too.
    assert_eq!(
        post_with(&client, "/logout", &access).await.status(),
        Status::Ok
    );
    assert_eq!(
        get_with(&client, "/refresh/check", &pair.refresh_token).await,
        Status::Unauthorized
    );
    assert_eq!(
        user_claims(&client, &pair.access_token).await.0,
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn token_responses_and_token_cookies_are_never_cached() {
    let client = instance(memory(), None::<MemoryStore>).await;
    let response = client.post("/login").dispatch().await;
    assert_eq!(
        response.headers().get_one("Cache-Control"),
        Some("no-store")
    );
    let response = client.post("/web/login").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(
        response.headers().get_one("Cache-Control"),
        Some("no-store")
    );
    // A response that sets no token cookie is left alone.
    let response = client.get("/remembered").dispatch().await;
    assert_eq!(response.headers().get_one("Cache-Control"), None);
}

#[rocket::async_test]
async fn a_browser_logout_revokes_the_session_from_whichever_cookie_is_left() {
    let client = instance(
        config_with(json!({ "store": "memory", "kinds": ["access", "refresh", "remember_me"] })),
        None::<MemoryStore>,
    )
    .await;
    let login = client.post("/web/login").dispatch().await;
    let cookies = cookies_of(&login);
    let refresh = cookies["refresh_token"].clone();
    let remember = cookies["remember_token"].clone();
    let csrf = cookies["csrf_token"].clone();
    // The browser dropped the expired access cookie; a copy of the refresh cookie was taken.
    let logout = |csrf: Option<String>| {
        let mut request = client
            .post("/web/logout")
            .cookie(Cookie::new("refresh_token", refresh.clone()))
            .cookie(Cookie::new("remember_token", remember.clone()));
        if let Some(csrf) = csrf {
            request = request.header(Header::new("X-CSRF-Token", csrf));
        }
        request.dispatch()
    };
    // Another site cannot log the user out: no CSRF header, nothing changes.
    assert_eq!(logout(None).await.status(), Status::Forbidden);
    let response = logout(Some(csrf.clone())).await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(cookies_of(&response)["refresh_token"], "");
    let revoked: Value = response.into_json().await.unwrap();
    assert_eq!(revoked["tokens"], json!(2));
    // The copied cookies no longer work.
    let rotate = client
        .post("/web/refresh")
        .cookie(Cookie::new("refresh_token", refresh.clone()))
        .header(Header::new("X-CSRF-Token", csrf))
        .dispatch()
        .await;
    assert_eq!(rotate.status(), Status::Unauthorized);
    let remembered = client
        .get("/remembered")
        .cookie(Cookie::new("remember_token", remember.clone()))
        .dispatch()
        .await;
    assert_eq!(remembered.status(), Status::Unauthorized);
}

#[rocket::async_test]
async fn a_replaced_refresh_token_is_refused_even_when_its_revocation_cannot_be_written() {
    let store = TestStore::default();
    let client = instance(
        config_with(json!({ "on_error": "allow", "rotation_grace": 0 })),
        Some(store.clone()),
    )
    .await;
    let pair = login_pair(&client).await;
    rotate(&client, &pair.refresh_token).await;
    // Redis at `maxmemory`, or a replica after a failover: reads work, writes fail.
    store.writes_fail.store(true, Ordering::SeqCst);
    assert_eq!(
        get_with(&client, "/refresh/check", &pair.refresh_token).await,
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn a_rotation_by_an_instance_whose_clock_runs_ahead_still_shares_its_generation() {
    let store = MemoryStore::new();
    let mut config = config_with(json!({ "rotation_grace": 15 }));
    config["leeway"] = json!(5);
    let client = instance(config, Some(store.clone())).await;
    let pair = login_pair(&client).await;
    let (jti, family) = refresh_ids(&client, &pair.refresh_token).await;
    // Another instance, 2 s ahead, rotated this refresh token a moment ago.
    let at = time::OffsetDateTime::now_utc().unix_timestamp() + 2;
    let until = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let record = format!("AAAAAAAAAAAAAAAAAAAAAA {jti} {at}");
    assert!(
        store
            .swap(&format!("rot:{family}"), None, &record, until)
            .await
            .unwrap()
    );
    // A parallel refresh here is not reuse: it gets that generation.
    let parallel = rotate(&client, &pair.refresh_token).await;
    let (successor, _) = refresh_ids(&client, &parallel.refresh_token).await;
    assert_eq!(successor, "AAAAAAAAAAAAAAAAAAAAAA");
}

#[rocket::async_test]
async fn a_refresh_after_its_login_has_ended_is_refused_not_a_server_error() {
    let mut config = memory();
    config["leeway"] = json!(5);
    config["session_ttl"] = json!(2);
    config["access"] = json!({ "ttl": 1 });
    config["refresh"] = json!({ "ttl": 2 });
    config["remember_me"] = json!({ "ttl": 2 });
    let rotating = instance(config.clone(), None::<MemoryStore>).await;
    config["revocation"]["rotate"] = json!(false);
    let not_rotating = instance(config, None::<MemoryStore>).await;
    let pairs = [login_pair(&rotating).await, login_pair(&not_rotating).await];
    // Past the login's end but within the leeway: the guard still accepts the token, but
    // nothing new may be minted from it.
    rocket::tokio::time::sleep(Duration::from_secs(3)).await;
    for (client, pair) in [&rotating, &not_rotating].into_iter().zip(&pairs) {
        let response = post_with(client, "/refresh", &pair.refresh_token).await;
        assert_eq!(response.status(), Status::Unauthorized);
    }
}

/// A store that answers for no key at all.
struct Forgetful;

#[rocket::async_trait]
impl RevocationStore for Forgetful {
    async fn insert(&self, _: &str, _: time::OffsetDateTime) -> Result<(), StoreError> {
        Ok(())
    }
    async fn get(&self, _: &[&str]) -> Result<Vec<Option<String>>, StoreError> {
        Ok(Vec::new())
    }
    async fn swap(
        &self,
        _: &str,
        _: Option<&str>,
        _: &str,
        _: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        Ok(true)
    }
}

#[rocket::async_test]
async fn a_store_that_answers_for_the_wrong_keys_has_not_answered() {
    let healthy = instance(keys(), None::<MemoryStore>).await;
    let pair = login_pair(&healthy).await;
    let client = instance(keys(), Some(Forgetful)).await;
    assert_eq!(
        user_claims(&client, &pair.access_token).await.0,
        Status::ServiceUnavailable
    );
}

/// The store calls a refresh token's guard makes to check `refresh`, alone.
async fn guard_read(client: &rocket::local::asynchronous::Client, refresh: &str) -> u64 {
    let issuer = client.rocket().state::<Issuer>().unwrap();
    let before = issuer.stats().store_calls;
    let check = client
        .get("/refresh/check")
        .header(common::revocation::bearer(refresh))
        .dispatch()
        .await;
    assert_eq!(check.status(), Status::Ok);
    issuer.stats().store_calls - before
}

/// A rotating refresh reads the token's standing from the store once: its guard's read is what
/// the rotation starts from, and the compare-and-set decides. A refresh that does not rotate
/// has no compare-and-set, so it reads again right before minting.
#[rocket::async_test]
async fn a_refresh_reads_the_store_once() {
    for rotate in [true, false] {
        let mut config = keys();
        config["revocation"] = json!({ "rotate": rotate, "max_sessions": 0 });
        let client = instance(config, None::<MemoryStore>).await;
        let issuer = client.rocket().state::<Issuer>().unwrap();
        let pair = login_pair(&client).await;
        // What a guard's read of a refresh token costs, alone.
        let read = guard_read(&client, &pair.refresh_token).await;
        let before = issuer.stats().store_calls;
        let response = post_with(&client, "/refresh", &pair.refresh_token).await;
        assert_eq!(response.status(), Status::Ok);
        let calls = issuer.stats().store_calls - before;
        // The guard's read, then the compare-and-set of a rotation, or the read before minting
        // of a refresh that does not rotate.
        assert_eq!(calls, read + 1, "rotate = {rotate}");
    }
}

/// A listed session's refresh also moves its last use on, however many sessions the list
/// holds: the guard reads the list along with the token's standing, and the list's write goes
/// out together with the rotation's compare-and-set, so a refresh waits for two round trips.
#[rocket::async_test]
async fn a_listed_sessions_refresh_reads_its_list_with_the_guard_and_writes_it_with_the_rotation() {
    let mut config = keys();
    config["revocation"] = json!({ "max_sessions": 8 });
    let store = TestStore::default();
    let client = instance(config, Some(store.clone())).await;
    let issuer = client.rocket().state::<Issuer>().unwrap();
    for _ in 0..5 {
        common::revocation::login_listed(&client, "alice").await;
    }
    let pair = common::revocation::login_listed(&client, "alice").await;
    let read = guard_read(&client, &pair.refresh_token).await;
    // The last use moves on in whole seconds: wait for the next one.
    rocket::tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let before = issuer.stats().store_calls;
    store.most_writing.store(0, Ordering::SeqCst);
    let response = post_with(&client, "/refresh", &pair.refresh_token).await;
    assert_eq!(response.status(), Status::Ok);
    let calls = issuer.stats().store_calls - before;
    // The guard's read, then the rotation's compare-and-set and the list's write, together.
    assert_eq!(calls, read + 2);
    assert_eq!(store.most_writing.load(Ordering::SeqCst), 2);
    // The refreshed session, and it alone, was used after it started.
    let refreshed: rocket_paseto::TokenPair = response.into_json().await.unwrap();
    let list = client
        .get("/sessions")
        .header(common::revocation::bearer(&refreshed.access_token))
        .dispatch()
        .await;
    let sessions: Vec<Value> = list.into_json().await.unwrap();
    let used: Vec<bool> = (sessions.iter())
        .map(|s| s["last_used_at"] != s["created_at"])
        .collect();
    let current: Vec<bool> = (sessions.iter())
        .map(|s| s["current"].as_bool().unwrap())
        .collect();
    assert_eq!((used.len(), used), (6, current));
}

/// A refresh token that rotates is presented once, so the guard keeps it out of the verified-
/// token cache (where it would push out access tokens); one that does not rotate comes back,
/// and is cached.
#[rocket::async_test]
async fn rotating_refresh_tokens_stay_out_of_the_cache() {
    for rotate in [true, false] {
        let mut config = keys();
        config["revocation"] = json!({ "rotate": rotate, "max_sessions": 0 });
        let client = instance(config, None::<MemoryStore>).await;
        let issuer = client.rocket().state::<Issuer>().unwrap();
        let pair = login_pair(&client).await;
        let before = issuer.stats();
        for _ in 0..2 {
            let check = client
                .get("/refresh/check")
                .header(common::revocation::bearer(&pair.refresh_token))
                .dispatch()
                .await;
            assert_eq!(check.status(), Status::Ok);
        }
        let after = issuer.stats();
        let hits = after.cache_hits - before.cache_hits;
        let entries = after.cache_entries - before.cache_entries;
        assert_eq!(
            (hits, entries),
            if rotate { (0, 0) } else { (1, 1) },
            "rotate = {rotate}"
        );
    }
}

/// A logout records the token and its session at once: one round trip's wait, not two.
#[rocket::async_test]
async fn a_logout_writes_its_entries_together() {
    let store = TestStore::default();
    let client = instance(keys(), Some(store.clone())).await;
    let pair = login_pair(&client).await;
    let response = post_with(&client, "/logout", &pair.access_token).await;
    assert_eq!(response.status(), Status::Ok);
    let inserts = store.inserts.lock().unwrap().len();
    assert_eq!(inserts, 2, "a `jti:` and a `fam:` entry");
    assert_eq!(store.most_writing.load(Ordering::SeqCst), 2);
}
