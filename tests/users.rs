//! The application's users through HTTP: claims at login from a loader and a builder, the
//! current-user guard, users refused at refresh and at remember-me, and the test helpers.

mod common;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rocket::http::Status;
use rocket::local::blocking::Client;
use rocket::request::Request;
use rocket::serde::json::Json;
use rocket::{delete, get, post, routes};
use rocket_paseto::revocation::MemoryStore;
use rocket_paseto::{
    Access, AuthError, AuthUser, CurrentUser, Issuer, LoginClaims, Paseto, PasetoCookies,
    PasetoFairing, Refresh, RememberMe, Sessions, TokenPair, catchers,
};
use serde_json::{Map, Value, json};

use common::{bearer, figment, keys};

/// The application's users: id → (name, roles), and how often one was loaded.
#[derive(Default)]
struct Users {
    rows: Mutex<HashMap<String, (String, Vec<String>)>>,
    loads: AtomicUsize,
}

impl Users {
    fn of<'r>(request: &'r Request<'_>) -> &'r Users {
        request.rocket().state::<Users>().expect("managed")
    }
}

struct User {
    name: String,
}

#[rocket::async_trait]
impl AuthUser for User {
    async fn from_subject(subject: &str, request: &Request<'_>) -> Result<Option<Self>, AuthError> {
        let users = Users::of(request);
        users.loads.fetch_add(1, Ordering::SeqCst);
        let rows = users.rows.lock().unwrap();
        Ok(rows
            .get(subject)
            .map(|(name, _)| User { name: name.clone() }))
    }
}

/// Roles read from the users table at every login.
struct Roles;

#[rocket::async_trait]
impl LoginClaims for Roles {
    async fn claims(
        &self,
        subject: &str,
        request: &Request<'_>,
    ) -> Result<Map<String, Value>, AuthError> {
        let rows = Users::of(request).rows.lock().unwrap();
        let roles = rows.get(subject).map(|(_, roles)| roles.clone());
        Ok(Map::from_iter([("roles".to_owned(), json!(roles))]))
    }
}

#[post("/login/<subject>")]
async fn login(subject: &str, sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
    sessions.login(subject).claim("plan", "pro").issue().await
}

#[post("/login/<subject>/roles")]
async fn login_with_roles(subject: &str, sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
    sessions
        .login(subject)
        .claims(&json!({ "roles": ["chosen"] }))
        .issue()
        .await
}

/// Two guards for the same user: it is loaded once.
#[get("/me")]
fn me(user: CurrentUser<User>, again: CurrentUser<User>) -> Json<Value> {
    let users_loaded = std::ptr::eq(user.user(), again.user());
    Json(json!({ "name": user.name, "sub": user.token().subject(), "shared": users_loaded }))
}

#[get("/loads")]
fn loads(users: &rocket::State<Users>) -> String {
    users.loads.load(Ordering::SeqCst).to_string()
}

#[get("/claims")]
fn claims(token: Paseto<Access, Value>) -> String {
    token.claims().to_string()
}

#[post("/refresh")]
async fn refresh(token: Paseto<Refresh>, sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
    sessions.refresh(&token).await
}

#[delete("/users/<subject>")]
fn delete_user(subject: &str, users: &rocket::State<Users>) {
    users.rows.lock().unwrap().remove(subject);
}

#[post("/web/login/<subject>")]
async fn web_login(subject: &str, cookies: PasetoCookies<'_>) -> Result<(), AuthError> {
    cookies.login(subject).fresh().issue().await?;
    cookies.remember(subject)?;
    Ok(())
}

#[get("/remembered")]
fn remembered(user: RememberMe) -> String {
    user.subject().to_owned()
}

#[post("/web/me")]
fn web_me(user: CurrentUser<User>) -> String {
    user.name.clone()
}

fn users() -> Users {
    let users = Users::default();
    let mut rows = users.rows.lock().unwrap();
    rows.insert("1".into(), ("alice".into(), vec!["admin".into()]));
    rows.insert("2".into(), ("bob".into(), vec![]));
    drop(rows);
    users
}

fn app() -> rocket::Rocket<rocket::Build> {
    let fairing = PasetoFairing::default()
        .revocation(MemoryStore::new())
        .login_claims(Roles)
        .user::<User>();
    rocket::custom(figment(keys()))
        .attach(fairing)
        .manage(users())
        .register("/", catchers())
        .mount(
            "/",
            routes![
                login,
                login_with_roles,
                me,
                loads,
                claims,
                refresh,
                delete_user,
                web_login,
                remembered,
                web_me
            ],
        )
}

fn client() -> Client {
    Client::tracked(app()).expect("the app ignites")
}

fn pair(client: &Client, path: &str) -> TokenPair {
    let response = client.post(path).dispatch();
    assert_eq!(response.status(), Status::Ok);
    response.into_json().unwrap()
}

fn payload(client: &Client, access: &str) -> Value {
    let response = client.get("/claims").header(bearer(access)).dispatch();
    assert_eq!(response.status(), Status::Ok);
    serde_json::from_str(&response.into_string().unwrap()).unwrap()
}

#[test]
fn login_claims_reach_both_tokens_and_survive_rotation() {
    let client = client();
    let tokens = pair(&client, "/login/1");
    let access = payload(&client, &tokens.access_token);
    assert_eq!(access["roles"], json!(["admin"]));
    assert_eq!(access["plan"], "pro");

    let issuer = client.rocket().state::<Issuer>().unwrap();
    let refresh = issuer.verify::<Refresh>(&tokens.refresh_token).unwrap();
    let refresh: Value = serde_json::from_str(refresh.payload()).unwrap();
    assert_eq!(refresh["roles"], json!(["admin"]));
    assert_eq!(refresh["plan"], "pro");

    let rotated: TokenPair = client
        .post("/refresh")
        .header(bearer(&tokens.refresh_token))
        .dispatch()
        .into_json()
        .unwrap();
    let access = payload(&client, &rotated.access_token);
    assert_eq!(access["roles"], json!(["admin"]));
    assert_eq!(access["plan"], "pro");
}

#[test]
fn builder_claims_override_the_loaders() {
    let client = client();
    let tokens = pair(&client, "/login/1/roles");
    assert_eq!(
        payload(&client, &tokens.access_token)["roles"],
        json!(["chosen"])
    );
}

#[test]
fn the_current_user_is_loaded_once_per_request() {
    let client = client();
    let tokens = pair(&client, "/login/1");
    let before: usize = client
        .get("/loads")
        .dispatch()
        .into_string()
        .unwrap()
        .parse()
        .unwrap();
    let response = client
        .get("/me")
        .header(bearer(&tokens.access_token))
        .dispatch();
    assert_eq!(response.status(), Status::Ok);
    let body: Value = response.into_json().unwrap();
    assert_eq!(body, json!({ "name": "alice", "sub": "1", "shared": true }));
    let after: usize = client
        .get("/loads")
        .dispatch()
        .into_string()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(after - before, 1);
}

#[test]
fn a_deleted_user_is_refused_by_the_user_guard_and_at_refresh() {
    let client = client();
    let tokens = pair(&client, "/login/2");
    let invalid_body = client
        .get("/me")
        .header(bearer("v4.local.garbage"))
        .dispatch()
        .into_string();
    client.delete("/users/2").dispatch();

    let me = client
        .get("/me")
        .header(bearer(&tokens.access_token))
        .dispatch();
    assert_eq!(me.status(), Status::Unauthorized);
    // The same body as any rejected token: nothing says the user is gone.
    assert_eq!(me.into_string(), invalid_body);
    let refreshed = client
        .post("/refresh")
        .header(bearer(&tokens.refresh_token))
        .dispatch();
    assert_eq!(refreshed.status(), Status::Unauthorized);
    // A route that asks for the token alone does not look the user up.
    let plain = client
        .get("/claims")
        .header(bearer(&tokens.access_token))
        .dispatch();
    assert_eq!(plain.status(), Status::Ok);
}

#[test]
fn a_deleted_user_cannot_resume_from_the_remember_me_cookie() {
    let client = client();
    assert_eq!(client.post("/web/login/2").dispatch().status(), Status::Ok);
    assert_eq!(client.get("/remembered").dispatch().status(), Status::Ok);
    client.delete("/users/2").dispatch();
    assert_eq!(
        client.get("/remembered").dispatch().status(),
        Status::Unauthorized
    );
}

#[test]
fn a_cookie_login_runs_the_loader_and_sets_the_cookies() {
    let client = client();
    let response = client.post("/web/login/1").dispatch();
    assert_eq!(response.status(), Status::Ok);
    let names: Vec<String> = response
        .cookies()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    for name in ["access_token", "refresh_token", "csrf_token"] {
        assert!(names.iter().any(|n| n == name), "{names:?}");
    }
    let csrf = response
        .cookies()
        .get("csrf_token")
        .unwrap()
        .value()
        .to_owned();
    let me = client
        .post("/web/me")
        .header(rocket::http::Header::new("X-CSRF-Token", csrf))
        .dispatch();
    assert_eq!(me.into_string().unwrap(), "alice");
    let access = client
        .cookies()
        .get("access_token")
        .unwrap()
        .value()
        .to_owned();
    let issuer = client.rocket().state::<Issuer>().unwrap();
    let verified = issuer.verify::<Access>(&access).unwrap();
    let claims: Value = serde_json::from_str(verified.payload()).unwrap();
    assert_eq!(claims["roles"], json!(["admin"]));
}

#[test]
fn test_helpers_mint_a_header_and_browser_cookies() {
    let client = client();
    let issuer = client.rocket().state::<Issuer>().unwrap();
    let header = issuer.access("1").claim("roles", ["x"]).header().unwrap();
    let response = client.get("/claims").header(header).dispatch();
    let claims: Value = serde_json::from_str(&response.into_string().unwrap()).unwrap();
    assert_eq!(claims["roles"], json!(["x"]));

    let browser = issuer.access("1").cookies().unwrap();
    let without_csrf = client
        .post("/web/me")
        .cookies(browser.cookies.clone())
        .dispatch();
    assert_eq!(without_csrf.status(), Status::Forbidden);
    let with_csrf = client
        .post("/web/me")
        .cookies(browser.cookies.clone())
        .header(browser.csrf_header.clone().unwrap())
        .dispatch();
    assert_eq!(with_csrf.into_string().unwrap(), "alice");
}

#[rocket::async_test]
async fn a_user_guard_without_its_user_type_registered_refuses_launch() {
    let rocket = rocket::custom(figment(keys()))
        .attach(PasetoFairing::default())
        .manage(users())
        .mount("/", routes![me]);
    let error = rocket.ignite().await.unwrap_err();
    assert!(
        matches!(error.kind(), rocket::error::ErrorKind::SentinelAborts(_)),
        "{error:?}"
    );
}

#[get("/home")]
fn home(user: CurrentUser<User>) -> String {
    format!("welcome back, {}", user.name)
}

#[get("/home", rank = 2)]
fn home_anonymous() -> &'static str {
    "welcome, stranger"
}

#[test]
fn the_user_guard_forwards_a_request_without_a_token_when_asked() {
    let mut config = keys();
    config["missing_token"] = json!("forward");
    let rocket = rocket::custom(figment(config))
        .attach(PasetoFairing::default().user::<User>())
        .manage(users())
        .register("/", catchers())
        .mount("/", routes![home, home_anonymous]);
    let client = Client::tracked(rocket).unwrap();
    let issuer = client.rocket().state::<Issuer>().unwrap();
    assert_eq!(
        client.get("/home").dispatch().into_string().unwrap(),
        "welcome, stranger"
    );
    let alice = issuer.access("1").header().unwrap();
    let response = client.get("/home").header(alice).dispatch();
    assert_eq!(response.into_string().unwrap(), "welcome back, alice");
    // A token whose user is gone is refused, not forwarded.
    let ghost = issuer.access("9").header().unwrap();
    assert_eq!(
        client.get("/home").header(ghost).dispatch().status(),
        Status::Unauthorized
    );
}
