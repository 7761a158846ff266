//! The `testing` helpers: the configured header and scheme, the CSRF header from a tracked
//! client's cookies, and a login that fails loudly without showing the response.

mod common;

use common::*;
use rocket::form::{Form, FromForm};
use rocket::http::{ContentType, Status};
use rocket::local::asynchronous;
use rocket::local::blocking::Client;
use rocket::serde::json::{Json, Value};
use rocket::{Build, Rocket, get, post, routes};
use rocket_paseto::{
    Access, AuthError, Paseto, PasetoCookies, PasetoFairing, Sessions, TokenPair, testing,
};
use serde_json::json;

#[post("/login", data = "<body>")]
async fn login(body: Json<Value>, sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
    match body["username"].as_str() {
        Some(name) if body["password"] == "right" => sessions.login(name).issue().await,
        _ => Err(AuthError::BadCredentials),
    }
}

#[derive(FromForm)]
struct Credentials {
    username: String,
}

#[post("/web/login", data = "<form>")]
async fn web_login(form: Form<Credentials>, cookies: PasetoCookies<'_>) -> Result<(), AuthError> {
    cookies
        .login(form.username.as_str())
        .issue()
        .await
        .map(drop)
}

#[get("/user")]
fn user(token: Paseto<Access>) -> String {
    token.subject().to_owned()
}

#[post("/user")]
fn change(token: Paseto<Access>) -> String {
    format!("changed for {}", token.subject())
}

fn app(paseto: Value) -> Rocket<Build> {
    rocket::custom(figment(paseto))
        .attach(PasetoFairing::default())
        .mount("/", routes![login, web_login, user, change])
}

#[test]
fn bearer_headers_follow_the_configured_header_and_scheme() {
    let mut paseto = keys();
    paseto["header"] = json!("X-Auth");
    paseto["scheme"] = json!("Token");
    let client = Client::tracked(app(paseto)).unwrap();
    let body = json!({ "username": "alice", "password": "right" });
    let pair = testing::login(&client, "/login", &body);
    let header = testing::bearer(client.rocket(), &pair.access_token);
    assert_eq!(header.name(), "X-Auth");
    let read = client.get("/user").header(header).dispatch();
    assert_eq!(read.into_string().unwrap(), "alice");
}

#[test]
fn the_csrf_header_comes_from_the_cookie_login() {
    let mut paseto = keys();
    paseto["csrf_header"] = json!("X-Page-Token");
    let client = Client::tracked(app(paseto)).unwrap();
    assert!(testing::csrf_header(client.rocket(), &client.cookies()).is_none());
    let form = client
        .post("/web/login")
        .header(ContentType::Form)
        .body("username=bob")
        .dispatch();
    assert_eq!(form.status(), Status::Ok);
    assert_eq!(client.post("/user").dispatch().status(), Status::Forbidden);
    let csrf = testing::csrf_header(client.rocket(), &client.cookies()).unwrap();
    assert_eq!(csrf.name(), "X-Page-Token");
    let changed = client.post("/user").header(csrf).dispatch();
    assert_eq!(changed.into_string().unwrap(), "changed for bob");

    // With the check off there is no header to send.
    let mut paseto = keys();
    paseto["csrf"] = json!(false);
    let client = Client::tracked(app(paseto)).unwrap();
    client
        .post("/web/login")
        .header(ContentType::Form)
        .body("username=bob")
        .dispatch();
    assert!(testing::csrf_header(client.rocket(), &client.cookies()).is_none());
}

#[rocket::async_test]
async fn an_async_login_gives_the_pair_the_route_answers_with() {
    let client = asynchronous::Client::tracked(app(keys())).await.unwrap();
    let body = json!({ "username": "carol", "password": "right" });
    let pair = testing::login_async(&client, "/login", &body).await;
    let header = testing::bearer(client.rocket(), &pair.access_token);
    let read = client.get("/user").header(header).dispatch().await;
    assert_eq!(read.into_string().await.unwrap(), "carol");
}

#[test]
#[should_panic(expected = "the login route answered 401 Unauthorized, not 200 with a token pair")]
fn a_refused_login_panics_with_its_status() {
    let client = Client::tracked(app(keys())).unwrap();
    testing::login(
        &client,
        "/login",
        &json!({ "username": "dave", "password": "wrong" }),
    );
}
