//! Login claims follow the database: the `LoginClaims` loader runs again whenever a login is
//! refreshed (bearer refresh with and without rotation, cookie refresh, implicit refresh), a loader that
//! refuses the user ends the login, and `reload_claims = false` copies the login's claims.

mod common;

use std::collections::HashMap;
use std::sync::Mutex;

use rocket::http::{Cookie, Header, Status};
use rocket::local::blocking::{Client, LocalRequest, LocalResponse};
use rocket::request::Request;
use rocket::{get, post, put, routes};
use rocket_paseto::revocation::MemoryStore;
use rocket_paseto::{
    Access, AuthError, Issuer, LoginClaims, Paseto, PasetoCookies, PasetoFairing, Refresh,
    Sessions, TokenPair, catchers,
};
use serde_json::{Map, Value, json};

use common::{bearer, figment, keys};

/// The users table: subject → roles. A subject that is absent has been deleted.
struct Roles(Mutex<HashMap<String, Vec<String>>>);

impl Roles {
    fn of<'r>(request: &'r Request<'_>) -> &'r Roles {
        request.rocket().state::<Roles>().expect("managed")
    }
}

/// Reads the roles from the table; a deleted user is refused.
struct Loader;

#[rocket::async_trait]
impl LoginClaims for Loader {
    async fn claims(
        &self,
        subject: &str,
        request: &Request<'_>,
    ) -> Result<Map<String, Value>, AuthError> {
        let rows = Roles::of(request).0.lock().unwrap();
        let roles = rows.get(subject).ok_or(AuthError::BadCredentials)?;
        Ok(Map::from_iter([("roles".to_owned(), json!(roles))]))
    }
}

#[post("/login/<subject>")]
async fn login(subject: &str, sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
    sessions.login(subject).claim("plan", "pro").issue().await
}

#[post("/web/login/<subject>")]
async fn web_login(subject: &str, cookies: PasetoCookies<'_>) -> Result<(), AuthError> {
    cookies.login(subject).claim("plan", "pro").issue().await?;
    Ok(())
}

#[post("/refresh")]
async fn refresh(token: Paseto<Refresh>, sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
    sessions.refresh(&token).await
}

#[post("/web/refresh")]
async fn web_refresh(token: Paseto<Refresh>, cookies: PasetoCookies<'_>) -> Result<(), AuthError> {
    cookies.refresh(&token).await
}

#[get("/admin")]
fn admin(token: Paseto<Access, Value>) -> Result<String, AuthError> {
    token.require_role("admin")?;
    Ok(token.claims().to_string())
}

/// The database changes behind the tokens' back: new roles, or `none` to delete the user.
#[put("/roles/<subject>?<roles>")]
fn set_roles(subject: &str, roles: Option<&str>, table: &rocket::State<Roles>) {
    let mut rows = table.0.lock().unwrap();
    match roles {
        Some("none") => rows.remove(subject),
        Some(roles) => rows.insert(subject.into(), roles.split(',').map(Into::into).collect()),
        None => rows.insert(subject.into(), vec![]),
    };
}

fn client(paseto: Value) -> Client {
    let mut config = keys();
    config
        .as_object_mut()
        .unwrap()
        .extend(paseto.as_object().unwrap().clone());
    let table = HashMap::from([("1".to_owned(), vec!["admin".to_owned()])]);
    let rocket = rocket::custom(figment(config))
        .attach(
            PasetoFairing::default()
                .revocation(MemoryStore::new())
                .login_claims(Loader),
        )
        .manage(Roles(Mutex::new(table)))
        .register("/", catchers())
        .mount(
            "/",
            routes![login, web_login, refresh, web_refresh, admin, set_roles],
        );
    Client::untracked(rocket).expect("the app ignites")
}

fn pair(response: LocalResponse<'_>) -> TokenPair {
    assert_eq!(response.status(), Status::Ok);
    response.into_json().unwrap()
}

fn demote(client: &Client) {
    assert_eq!(client.put("/roles/1").dispatch().status(), Status::Ok);
}

fn admin_status(client: &Client, access: &str) -> Status {
    client
        .get("/admin")
        .header(bearer(access))
        .dispatch()
        .status()
}

#[test]
fn a_bearer_rotation_loads_the_roles_again_and_keeps_the_builders_claims() {
    let client = client(json!({}));
    let tokens = pair(client.post("/login/1").dispatch());
    assert_eq!(admin_status(&client, &tokens.access_token), Status::Ok);

    demote(&client);
    let rotated = pair(
        client
            .post("/refresh")
            .header(bearer(&tokens.refresh_token))
            .dispatch(),
    );
    assert_eq!(
        admin_status(&client, &rotated.access_token),
        Status::Forbidden
    );
    // The rotated refresh token carries the new roles too, and the builder's claim stays.
    let issuer = client.rocket().state::<Issuer>().unwrap();
    let refresh = issuer.verify::<Refresh>(&rotated.refresh_token).unwrap();
    let refresh: Value = serde_json::from_str(refresh.payload()).unwrap();
    assert_eq!(refresh["roles"], json!([]));
    assert_eq!(refresh["plan"], "pro");

    // Promoted again: the next refresh grants it.
    client.put("/roles/1?roles=admin").dispatch();
    let again = pair(
        client
            .post("/refresh")
            .header(bearer(&rotated.refresh_token))
            .dispatch(),
    );
    let body = client
        .get("/admin")
        .header(bearer(&again.access_token))
        .dispatch();
    assert_eq!(body.status(), Status::Ok);
    let payload: Value = serde_json::from_str(&body.into_string().unwrap()).unwrap();
    assert_eq!(payload["plan"], "pro");
}

#[test]
fn an_access_token_from_a_refresh_token_has_the_roles_of_now() {
    let client = client(json!({ "revocation": { "rotate": false } }));
    let tokens = pair(client.post("/login/1").dispatch());
    demote(&client);
    let response = client
        .post("/refresh")
        .header(bearer(&tokens.refresh_token))
        .dispatch();
    assert_eq!(response.status(), Status::Ok);
    let access: Value = response.into_json().unwrap();
    let access = access["access_token"].as_str().unwrap();
    assert_eq!(admin_status(&client, access), Status::Forbidden);
}

/// The cookies a browser holds, kept from each response's `Set-Cookie` headers.
#[derive(Default)]
struct Browser(HashMap<String, String>);

impl Browser {
    fn send(&mut self, mut request: LocalRequest<'_>) -> Status {
        for (name, value) in &self.0 {
            request = request.cookie(Cookie::new(name.clone(), value.clone()));
        }
        let response = request.dispatch();
        for value in response.headers().get("Set-Cookie") {
            let cookie = Cookie::parse(value.to_owned()).unwrap();
            if cookie.value().is_empty() {
                self.0.remove(cookie.name());
            } else {
                self.0.insert(cookie.name().into(), cookie.value().into());
            }
        }
        response.status()
    }

    fn signed_in(client: &Client) -> Browser {
        let mut browser = Browser::default();
        assert_eq!(browser.send(client.post("/web/login/1")), Status::Ok);
        assert_eq!(browser.send(client.get("/admin")), Status::Ok);
        browser
    }
}

#[test]
fn a_cookie_rotation_loads_the_roles_again() {
    let client = client(json!({}));
    let mut browser = Browser::signed_in(&client);

    demote(&client);
    let csrf = browser.0["csrf_token"].clone();
    let refresh = client
        .post("/web/refresh")
        .header(Header::new("X-CSRF-Token", csrf.clone()));
    assert_eq!(browser.send(refresh), Status::Ok);
    assert_eq!(browser.send(client.get("/admin")), Status::Forbidden);
    // The CSRF value is the login's, whatever the loader says.
    assert_eq!(browser.0["csrf_token"], csrf);
}

#[test]
fn an_implicit_refresh_loads_the_roles_again() {
    let client = client(json!({ "cookies": { "implicit_refresh": true } }));
    let mut browser = Browser::signed_in(&client);
    let first = browser.0["refresh_token"].clone();

    demote(&client);
    // The access cookie has gone (expired): the guard rotates the refresh cookie.
    browser.0.remove("access_token");
    assert_eq!(browser.send(client.get("/admin")), Status::Forbidden);
    assert_ne!(
        browser.0["refresh_token"], first,
        "the refresh cookie was rotated"
    );
    assert_eq!(browser.send(client.get("/admin")), Status::Forbidden);
}

#[test]
fn a_user_the_loader_refuses_ends_the_login() {
    let client = client(json!({}));
    let tokens = pair(client.post("/login/1").dispatch());
    let garbage = client
        .post("/refresh")
        .header(bearer("v4.local.garbage"))
        .dispatch();
    let invalid = garbage.into_string();

    client.put("/roles/1?roles=none").dispatch();
    let refused = client
        .post("/refresh")
        .header(bearer(&tokens.refresh_token))
        .dispatch();
    assert_eq!(refused.status(), Status::Unauthorized);
    assert_eq!(
        refused.into_string(),
        invalid,
        "the body of any rejected token"
    );

    // The login was revoked: back in the table, the user still cannot renew it.
    client.put("/roles/1?roles=admin").dispatch();
    let retried = client
        .post("/refresh")
        .header(bearer(&tokens.refresh_token))
        .dispatch();
    assert_eq!(retried.status(), Status::Unauthorized);
    assert_eq!(
        admin_status(&client, &tokens.access_token),
        Status::Unauthorized
    );
}

#[test]
fn a_user_the_loader_refuses_loses_an_implicit_refresh() {
    let client = client(json!({ "cookies": { "implicit_refresh": true } }));
    let mut browser = Browser::signed_in(&client);
    client.put("/roles/1?roles=none").dispatch();
    browser.0.remove("access_token");
    assert_eq!(browser.send(client.get("/admin")), Status::Unauthorized);
    // The login was revoked: back in the table, the user still cannot renew it.
    client.put("/roles/1?roles=admin").dispatch();
    assert_eq!(browser.send(client.get("/admin")), Status::Unauthorized);
}

#[test]
fn with_reload_claims_off_a_refresh_copies_the_logins_claims() {
    let client = client(json!({ "reload_claims": false }));
    let tokens = pair(client.post("/login/1").dispatch());
    demote(&client);
    let rotated = pair(
        client
            .post("/refresh")
            .header(bearer(&tokens.refresh_token))
            .dispatch(),
    );
    assert_eq!(admin_status(&client, &rotated.access_token), Status::Ok);
}

#[test]
fn reload_claims_is_on_by_default_and_must_be_a_bool() {
    assert!(rocket_paseto::__private::Config::default().reload_claims);
    let config = json!({ "local_key": common::LOCAL, "reload_claims": "yes" });
    let error = PasetoFairing::default().load(&figment(config)).unwrap_err();
    assert_eq!(error.field(), "paseto.reload_claims");
}
