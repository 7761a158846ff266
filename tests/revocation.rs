//! Revocation with the in-memory store and custom stores: logout, rotation with reuse
//! detection, several instances sharing a store, which kinds are checked, and a failing store.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rocket::http::{Cookie, Header, Status};
use rocket::local::asynchronous::LocalResponse;
use rocket_paseto::revocation::{MemoryStore, RevocationStore, StoreError};
use rocket_paseto::token::IssueError;
use rocket_paseto::{PasetoFairing, Refresh};
use serde_json::{Value, json};
use time::OffsetDateTime;

use common::revocation::{get_with, instance, login_pair, post_with, rotate, user_claims};
use common::{LOCAL, figment, keys};

fn memory() -> Value {
    let mut config = keys();
    config["revocation"] = json!({ "store": "memory" });
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
    assert!(family.as_str().is_some_and(|f| f.len() == 22), "{family}");

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

fn cookies_of(response: &LocalResponse<'_>) -> std::collections::HashMap<String, String> {
    response
        .headers()
        .get("Set-Cookie")
        .map(|h| Cookie::parse(h.to_owned()).unwrap())
        .map(|c| (c.name().to_owned(), c.value().to_owned()))
        .collect()
}

/// A store that is down.
struct Down;

#[rocket::async_trait]
impl RevocationStore for Down {
    async fn insert(&self, _: &str, _: OffsetDateTime) -> Result<(), StoreError> {
        Err(StoreError::new("down"))
    }
    async fn contains_any(&self, _: &[&str]) -> Result<bool, StoreError> {
        Err(StoreError::new("down"))
    }
    async fn insert_new(&self, _: &str, _: OffsetDateTime) -> Result<bool, StoreError> {
        Err(StoreError::new("down"))
    }
}

#[rocket::async_test]
async fn a_failing_store_fails_closed_by_default() {
    let healthy = instance(keys(), None::<MemoryStore>).await;
    let pair = login_pair(&healthy).await;
    let client = instance(keys(), Some(Down)).await;

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
    // A logout that could not be recorded says so.
    let mut config = keys();
    config["revocation"] = json!({ "kinds": ["refresh"] });
    let client = instance(config, Some(Down)).await;
    let response = post_with(&client, "/logout", &pair.access_token).await;
    assert_eq!(response.status(), Status::InternalServerError);
    assert!(!response.into_string().await.unwrap().contains("down"));
}

#[rocket::async_test]
async fn a_failing_store_can_be_configured_to_fail_open() {
    let mut config = keys();
    config["revocation"] = json!({ "on_error": "allow" });
    let client = instance(config, Some(Down)).await;
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

/// Records every key it is given.
#[derive(Clone, Default)]
struct Recording {
    keys: Arc<Mutex<Vec<String>>>,
    inner: MemoryStore,
}

#[rocket::async_trait]
impl RevocationStore for Recording {
    async fn insert(&self, key: &str, until: OffsetDateTime) -> Result<(), StoreError> {
        self.keys.lock().unwrap().push(key.to_owned());
        self.inner.insert(key, until).await
    }
    async fn contains_any(&self, keys: &[&str]) -> Result<bool, StoreError> {
        self.keys
            .lock()
            .unwrap()
            .extend(keys.iter().map(|k| k.to_string()));
        self.inner.contains_any(keys).await
    }
    async fn insert_new(&self, key: &str, until: OffsetDateTime) -> Result<bool, StoreError> {
        self.keys.lock().unwrap().push(key.to_owned());
        self.inner.insert_new(key, until).await
    }
}

#[rocket::async_test]
async fn stores_see_ids_never_tokens() {
    let store = Recording::default();
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
    assert!(keys.iter().any(|k| k.starts_with("used:")), "{keys:?}");
    for key in &keys {
        assert!(
            ["jti:", "fam:", "used:"].iter().any(|p| key.starts_with(p)) && key.len() <= 27,
            "{key}"
        );
        assert!(!key.contains("v4."), "{key}");
    }
}

#[rocket::async_test]
async fn revoking_and_rotating_need_a_store() {
    let client = instance(keys(), None::<MemoryStore>).await;
    let pair = login_pair(&client).await;
    let response = post_with(&client, "/logout", &pair.access_token).await;
    assert_eq!(response.status(), Status::InternalServerError);
    let response = post_with(&client, "/refresh", &pair.refresh_token).await;
    assert_eq!(response.status(), Status::InternalServerError);
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
    let (field, _) = load_error(json!({ "kinds": ["refresh"] }), None);
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
    let (field, _) = load_error(json!({ "store": "redis" }), None);
    assert_eq!(field, "paseto.revocation.url");
    let (field, _) = load_error(json!({ "store": "memory", "on_error": "ignore" }), None);
    assert_eq!(field, "paseto.revocation.on_error");
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
}

#[test]
fn family_members_cannot_outlive_the_longest_kind() {
    let issuer = PasetoFairing::default()
        .load(&figment(json!({ "local_key": LOCAL })))
        .unwrap();
    let pair = issuer.pair("alice").unwrap();
    let refresh = issuer.verify::<Refresh>(&pair.refresh_token).unwrap();
    let year = Duration::from_secs(365 * 24 * 60 * 60);
    let error = issuer.access("alice").family_of(&refresh).ttl(year).issue();
    assert!(matches!(error, Err(IssueError::Ttl)), "{error:?}");
    // Outside a family the same lifetime is fine.
    assert!(issuer.access("alice").ttl(year).issue().is_ok());
    let joined = issuer.access("alice").family_of(&refresh).issue().unwrap();
    let joined = issuer.verify::<rocket_paseto::Access>(&joined).unwrap();
    assert_eq!(joined.claims().fam, refresh.claims().fam);
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
