//! An app with login, rotation and logout routes, run as several instances over async clients
//! so they share one runtime (and, in the Redis tests, one Redis server).

use rocket::http::{Header, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::serde::json::Json;
use rocket::{Route, delete, get, post, routes};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rocket_paseto::revocation::{MemoryStore, RevocationStore, StoreError};
use rocket_paseto::{
    Access, AuthError, Issuer, LoggedOut, Paseto, PasetoCookies, PasetoFairing, QueryToken,
    Refresh, RememberMe, Session, Sessions, TokenPair, catchers,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::figment;

#[post("/login")]
async fn login(sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
    sessions.login("alice").issue().await
}

/// A refresh token minted on its own, outside any pair (no `fam` claim).
#[post("/login/lone")]
fn login_lone(issuer: &Issuer) -> Result<String, AuthError> {
    Ok(issuer.refresh("alice").issue()?)
}

/// A refresh token of its own, living 200 days (a per-token lifetime beyond every kind's).
#[post("/login/long")]
fn login_long(issuer: &Issuer) -> Result<String, AuthError> {
    Ok(issuer
        .refresh("alice")
        .ttl(std::time::Duration::from_secs(200 * 86400))
        .issue()?)
}

/// An access token minted on its own, outside any pair.
#[post("/login/lone-access")]
fn login_lone_access(issuer: &Issuer) -> Result<String, AuthError> {
    Ok(issuer.access("alice").issue()?)
}

/// OAuth-style refresh: the refresh token in the body.
#[post("/token", data = "<refresh_token>")]
async fn token_endpoint(
    refresh_token: &str,
    issuer: &Issuer,
    sessions: Sessions<'_>,
) -> Result<Json<TokenPair>, AuthError> {
    let verified = issuer
        .verify::<Refresh>(refresh_token)
        .map_err(AuthError::Invalid)?;
    Ok(Json(sessions.refresh(&verified).await?))
}

#[get("/user")]
fn user(token: Paseto<Access>) -> Json<Value> {
    let claims = token.claims();
    Json(json!({ "sub": token.subject(), "jti": token.jti(), "fam": claims.fam }))
}

/// `/user` for a WebSocket-like client, which sends its token in the query string.
#[get("/user/query")]
fn user_from_query(token: QueryToken<Paseto<Access>>) -> Json<Value> {
    Json(json!({ "sub": token.subject() }))
}

/// Checks a refresh token without exchanging it: its `jti` and family.
#[get("/refresh/check")]
fn refresh_check(token: Paseto<Refresh>) -> Json<Value> {
    Json(json!({ "jti": token.jti(), "fam": token.claims().fam }))
}

/// A refresh: rotation, or with `revocation.rotate = false` a new access token only.
#[post("/refresh")]
async fn refresh(token: Paseto<Refresh>, sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
    sessions.refresh(&token).await
}

/// A logout with the access or the refresh token.
#[post("/logout")]
async fn logout(sessions: Sessions<'_>) -> Result<Json<LoggedOut>, AuthError> {
    Ok(Json(sessions.logout().await?))
}

/// A logout that tells a store outage apart, as an application matching on the error would.
#[post("/logout/or-retry")]
async fn logout_or_retry(sessions: Sessions<'_>) -> &'static str {
    match sessions.logout().await {
        Ok(_) => "logged out",
        Err(AuthError::Unavailable) => "retry later",
        Err(_) => "refused",
    }
}

#[post("/web/login")]
async fn web_login(cookies: PasetoCookies<'_>) -> Result<&'static str, AuthError> {
    cookies.login("alice").issue().await?;
    cookies.remember("alice")?;
    Ok("welcome")
}

/// A browser session that ends a minute from now.
#[post("/web/login/short")]
async fn web_login_short(cookies: PasetoCookies<'_>) -> Result<&'static str, AuthError> {
    let minute = std::time::Duration::from_secs(60);
    cookies.login("alice").ttl(minute).issue().await?;
    Ok("welcome")
}

#[post("/web/refresh")]
async fn web_refresh(
    token: Paseto<Refresh>,
    cookies: PasetoCookies<'_>,
) -> Result<&'static str, AuthError> {
    cookies.refresh(&token).await?;
    Ok("refreshed")
}

#[post("/web/logout")]
async fn web_logout(cookies: PasetoCookies<'_>) -> Result<Json<LoggedOut>, AuthError> {
    Ok(Json(cookies.logout().await?))
}

/// A login through `Sessions`: listed among the subject's logins.
#[post("/sessions/login/<subject>")]
async fn session_login(subject: &str, sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
    sessions.login(subject).issue().await
}

/// A short login through `Sessions`: it ends a minute from now.
#[post("/sessions/login/<subject>/short")]
async fn session_login_short(
    subject: &str,
    sessions: Sessions<'_>,
) -> Result<TokenPair, AuthError> {
    let minute = std::time::Duration::from_secs(60);
    sessions.login(subject).ttl(minute).issue().await
}

/// A login whose ttl is too long to add to the clock: no limit beyond `session_ttl`.
#[post("/sessions/login/<subject>/unbounded")]
async fn session_login_unbounded(
    subject: &str,
    sessions: Sessions<'_>,
) -> Result<TokenPair, AuthError> {
    sessions
        .login(subject)
        .ttl(std::time::Duration::MAX)
        .issue()
        .await
}

/// A login whose tokens cannot be minted (a registered claim given as an extra one).
#[post("/sessions/login/<subject>/broken")]
async fn session_login_broken(
    subject: &str,
    sessions: Sessions<'_>,
) -> Result<TokenPair, AuthError> {
    sessions.login(subject).claim("exp", "never").issue().await
}

#[get("/sessions")]
async fn session_list(
    token: Paseto<Access>,
    sessions: Sessions<'_>,
) -> Result<Json<Vec<Session>>, AuthError> {
    Ok(Json(sessions.list(&token).await?))
}

#[delete("/sessions/<id>")]
async fn session_end(
    id: &str,
    token: Paseto<Access>,
    sessions: Sessions<'_>,
) -> Result<Option<&'static str>, AuthError> {
    Ok(sessions.end(&token, id).await?.then_some("ended"))
}

#[post("/logout-all")]
async fn logout_all(token: Paseto<Access>, sessions: Sessions<'_>) -> Result<(), AuthError> {
    sessions.end_all(&token).await
}

#[get("/remembered")]
fn remembered(user: RememberMe) -> String {
    user.subject().to_owned()
}

pub fn app_routes() -> Vec<Route> {
    routes![
        login,
        login_lone,
        login_long,
        login_lone_access,
        token_endpoint,
        user,
        user_from_query,
        refresh_check,
        refresh,
        logout,
        logout_or_retry,
        web_login,
        web_login_short,
        web_refresh,
        web_logout,
        remembered,
        session_login,
        session_login_short,
        session_login_unbounded,
        session_login_broken,
        session_list,
        session_end,
        logout_all
    ]
}

/// One instance of the app, with `paseto` as its table and, optionally, a store in code.
pub async fn instance(paseto: Value, store: Option<impl RevocationStore>) -> Client {
    let mut fairing = PasetoFairing::default();
    if let Some(store) = store {
        fairing = fairing.revocation(store);
    }
    let rocket = rocket::custom(figment(paseto))
        .attach(fairing)
        .register("/", catchers())
        .mount("/", app_routes());
    Client::untracked(rocket)
        .await
        .expect("the test app ignites")
}

pub fn bearer(token: &str) -> Header<'static> {
    Header::new("Authorization", format!("Bearer {token}"))
}

pub async fn login_pair(client: &Client) -> TokenPair {
    let response = client.post("/login").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    response.into_json().await.expect("a token pair")
}

pub async fn get_with(client: &Client, path: &str, token: &str) -> Status {
    client
        .get(path)
        .header(bearer(token))
        .dispatch()
        .await
        .status()
}

pub async fn post_with<'c>(client: &'c Client, path: &'c str, token: &str) -> LocalResponse<'c> {
    client.post(path).header(bearer(token)).dispatch().await
}

/// Exchanges `refresh_token` at `/refresh`, which must succeed, for the new pair.
pub async fn rotate(client: &Client, refresh_token: &str) -> TokenPair {
    let response = post_with(client, "/refresh", refresh_token).await;
    assert_eq!(response.status(), Status::Ok);
    response.into_json().await.expect("a token pair")
}

/// `/user`'s answer for `token`: its status and, on success, its claims.
pub async fn user_claims(client: &Client, token: &str) -> (Status, Option<Value>) {
    let response = client.get("/user").header(bearer(token)).dispatch().await;
    let status = response.status();
    (status, response.into_json::<Value>().await)
}

/// The `jti` and `fam` of a refresh token, read through `/refresh/check` (which must accept it).
pub async fn refresh_ids(client: &Client, refresh_token: &str) -> (String, String) {
    let response = client
        .get("/refresh/check")
        .header(bearer(refresh_token))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    let ids: Value = response.into_json().await.expect("ids");
    (
        ids["jti"].as_str().unwrap().to_owned(),
        ids["fam"].as_str().unwrap().to_owned(),
    )
}

/// A memory store whose faults the test controls: reads or writes that fail, a clock that runs
/// ahead (entries end that much earlier, as a Redis TTL computed by that instance would), and a
/// record of every key it was given. Clones share everything.
#[derive(Clone, Default)]
pub struct TestStore {
    pub inner: MemoryStore,
    pub reads_fail: Arc<AtomicBool>,
    pub writes_fail: Arc<AtomicBool>,
    /// Seconds this instance's clock runs ahead.
    pub ahead: Arc<AtomicI64>,
    pub keys: Arc<Mutex<Vec<String>>>,
    /// Every `insert`, with the end it asked for.
    pub inserts: Arc<Mutex<Vec<(String, OffsetDateTime)>>>,
    /// Writes land, then report a failure (a reply lost to a timeout).
    pub replies_lost: Arc<AtomicBool>,
    /// Writes (`insert`s and `swap`s) under way, and the most ever under way at once.
    pub writing: Arc<AtomicUsize>,
    pub most_writing: Arc<AtomicUsize>,
}

impl TestStore {
    /// A store over `inner`, shared with other instances, whose clock runs `ahead` seconds.
    pub fn skewed(inner: MemoryStore, ahead: i64) -> Self {
        let store = TestStore {
            inner,
            ..TestStore::default()
        };
        store.ahead.store(ahead, Ordering::SeqCst);
        store
    }

    fn until(&self, until: OffsetDateTime) -> OffsetDateTime {
        until - time::Duration::seconds(self.ahead.load(Ordering::SeqCst))
    }

    fn read(&self, keys: &[&str]) -> Result<(), StoreError> {
        self.keys
            .lock()
            .unwrap()
            .extend(keys.iter().map(|k| k.to_string()));
        if self.reads_fail.load(Ordering::SeqCst) {
            return Err(StoreError::new("down"));
        }
        Ok(())
    }

    fn write(&self, key: &str) -> Result<(), StoreError> {
        self.keys.lock().unwrap().push(key.to_owned());
        if self.writes_fail.load(Ordering::SeqCst) {
            return Err(StoreError::new("down"));
        }
        Ok(())
    }

    /// A write's round trip: other calls of the same request may start before it ends.
    async fn round_trip(&self) {
        let now = self.writing.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_writing.fetch_max(now, Ordering::SeqCst);
        rocket::tokio::task::yield_now().await;
        self.writing.fetch_sub(1, Ordering::SeqCst);
    }

    fn reply(&self) -> Result<(), StoreError> {
        if self.replies_lost.load(Ordering::SeqCst) {
            return Err(StoreError::new("timed out"));
        }
        Ok(())
    }

    /// The end asked for `key`'s latest insert.
    pub fn inserted_until(&self, key: &str) -> Option<OffsetDateTime> {
        let inserts = self.inserts.lock().unwrap();
        inserts
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, until)| *until)
    }

    /// Fails every call.
    pub fn down() -> Self {
        let store = TestStore::default();
        store.reads_fail.store(true, Ordering::SeqCst);
        store.writes_fail.store(true, Ordering::SeqCst);
        store
    }
}

#[rocket::async_trait]
impl RevocationStore for TestStore {
    async fn insert(&self, key: &str, until: OffsetDateTime) -> Result<(), StoreError> {
        self.write(key)?;
        self.inserts.lock().unwrap().push((key.to_owned(), until));
        self.round_trip().await;
        self.inner.insert(key, self.until(until)).await?;
        self.reply()
    }

    async fn get(&self, keys: &[&str]) -> Result<Vec<Option<String>>, StoreError> {
        self.read(keys)?;
        self.inner.get(keys).await
    }

    async fn swap(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.write(key)?;
        self.round_trip().await;
        let swapped = self
            .inner
            .swap(key, expected, value, self.until(until))
            .await?;
        self.reply().map(|()| swapped)
    }
}

/// A login of `subject` through `Sessions::login` (the `/sessions/login/<subject>` route).
pub async fn login_listed(client: &Client, subject: &str) -> TokenPair {
    let response = client
        .post(format!("/sessions/login/{subject}"))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    response.into_json().await.expect("a token pair")
}
