//! The account lifecycle through HTTP: single-use tokens (password resets, magic links) on
//! every store, sessions that record their device, and the admin's view of any user's
//! sessions.
//!
//! The single-use scenarios run on a `MemoryStore` and, with the cargo feature `redis`, on the
//! Redis server in `REDIS_URL` and the cluster in `REDIS_CLUSTER_URLS`.

mod common;

use std::net::SocketAddr;
use std::sync::Mutex;

use rocket::futures::future::join_all;
use rocket::http::{Header, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::serde::json::Json;
use rocket::{State, delete, get, post, routes};
use rocket_paseto::{
    Access, AuthError, Issuer, Paseto, PasetoFairing, Refresh, Session, Sessions, SingleUse,
    TokenKind, TokenPair, catchers,
};
use serde_json::{Value, json};

use common::revocation::bearer;
use common::{figment, keys};

/// Messages "sent" to users: (username, token).
#[derive(Default)]
struct Outbox(Mutex<Vec<(String, String)>>);

const ACCOUNTS: [&str; 3] = ["alice", "bob", "root"];

/// Asks for a reset: the same answer whether or not the account exists.
#[post("/password-reset/<username>")]
fn request_reset(
    username: &str,
    issuer: &Issuer,
    outbox: &State<Outbox>,
) -> (Status, &'static str) {
    if ACCOUNTS.contains(&username) {
        match issuer
            .single_use(SingleUse::PasswordReset, username)
            .issue()
        {
            Ok(token) => outbox.0.lock().unwrap().push((username.into(), token)),
            Err(_) => return (Status::InternalServerError, "failed"),
        }
    }
    (
        Status::Accepted,
        "if the account exists, a message is on its way",
    )
}

#[post("/password-reset/confirm", data = "<token>")]
async fn confirm_reset(token: &str, issuer: &Issuer) -> Result<Json<Value>, AuthError> {
    let reset = issuer.consume(SingleUse::PasswordReset, token).await?;
    Ok(Json(json!({ "reset": reset.claims().sub })))
}

#[post("/magic-link/confirm", data = "<token>")]
async fn confirm_magic_link(
    token: &str,
    issuer: &Issuer,
    sessions: Sessions<'_>,
) -> Result<TokenPair, AuthError> {
    let link = issuer.consume(SingleUse::MagicLink, token).await?;
    sessions.login(&link.claims().sub).issue().await
}

/// A single-use token of any purpose, for the tests that cross purposes and kinds.
#[post("/mint/<purpose>/<subject>")]
fn mint(purpose: &str, subject: &str, issuer: &Issuer) -> Result<String, AuthError> {
    let purpose = match purpose {
        "password_reset" => SingleUse::PasswordReset,
        "magic_link" => SingleUse::MagicLink,
        "email_verification" => SingleUse::EmailVerification,
        _ => SingleUse::Invitation,
    };
    Ok(issuer.single_use(purpose, subject).issue()?)
}

#[post("/login/<subject>?<label>")]
async fn login(
    subject: &str,
    label: Option<&str>,
    sessions: Sessions<'_>,
) -> Result<TokenPair, AuthError> {
    let login = sessions.login(subject);
    match label {
        Some(label) => login.label(label).issue().await,
        None => login.issue().await,
    }
}

#[get("/user")]
fn user(token: Paseto<Access>) -> String {
    token.subject().to_owned()
}

#[post("/refresh")]
async fn refresh(token: Paseto<Refresh>, sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
    sessions.refresh(&token).await
}

#[get("/sessions")]
async fn own_sessions(
    token: Paseto<Access>,
    sessions: Sessions<'_>,
) -> Result<Json<Vec<Session>>, AuthError> {
    Ok(Json(sessions.list(&token).await?))
}

#[delete("/sessions/<id>")]
async fn end_own(
    token: Paseto<Access>,
    id: &str,
    sessions: Sessions<'_>,
) -> Result<Status, AuthError> {
    Ok(match sessions.end(&token, id).await? {
        true => Status::NoContent,
        false => Status::NotFound,
    })
}

/// The admin's view, for `root` only.
fn admin(token: &Paseto<Access>) -> Result<(), Status> {
    (token.subject() == "root")
        .then_some(())
        .ok_or(Status::Forbidden)
}

#[get("/admin/<subject>/sessions")]
async fn admin_sessions(
    token: Paseto<Access>,
    subject: &str,
    issuer: &Issuer,
) -> Result<Json<Vec<Session>>, Status> {
    admin(&token)?;
    issuer
        .sessions_of(subject)
        .await
        .map(Json)
        .map_err(|e| e.status())
}

#[delete("/admin/<subject>/sessions/<id>")]
async fn admin_end(token: Paseto<Access>, subject: &str, id: &str, issuer: &Issuer) -> Status {
    if let Err(status) = admin(&token) {
        return status;
    }
    match issuer.end_session_of(subject, id).await {
        Ok(true) => Status::NoContent,
        Ok(false) => Status::NotFound,
        Err(e) => e.status(),
    }
}

#[delete("/admin/<subject>/sessions")]
async fn admin_end_all(token: Paseto<Access>, subject: &str, issuer: &Issuer) -> Status {
    if let Err(status) = admin(&token) {
        return status;
    }
    match issuer.end_sessions_of(subject).await {
        Ok(()) => Status::NoContent,
        Err(e) => e.status(),
    }
}

async fn app(paseto: Value) -> Client {
    let rocket = rocket::custom(figment(paseto))
        .attach(PasetoFairing::default())
        .manage(Outbox::default())
        .register("/", catchers())
        .mount(
            "/",
            routes![
                request_reset,
                confirm_reset,
                confirm_magic_link,
                mint,
                login,
                user,
                refresh,
                own_sessions,
                end_own,
                admin_sessions,
                admin_end,
                admin_end_all
            ],
        );
    Client::untracked(rocket).await.expect("the app ignites")
}

fn with_revocation(revocation: Value) -> Value {
    let mut paseto = keys();
    paseto["revocation"] = revocation;
    paseto
}

fn memory() -> Value {
    with_revocation(json!({ "store": "memory" }))
}

/// The tokens in the outbox for `username`, oldest first.
fn sent_to(client: &Client, username: &str) -> Vec<String> {
    let outbox = client.rocket().state::<Outbox>().expect("the outbox");
    let sent = outbox.0.lock().unwrap();
    sent.iter()
        .filter(|(to, _)| to == username)
        .map(|(_, token)| token.clone())
        .collect()
}

async fn request_reset_for(client: &Client, username: &str) -> String {
    let response = client
        .post(format!("/password-reset/{username}"))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Accepted);
    sent_to(client, username)
        .pop()
        .expect("a reset token was sent")
}

async fn post_body<'c>(client: &'c Client, path: &'c str, body: &str) -> LocalResponse<'c> {
    client.post(path).body(body).dispatch().await
}

async fn login_as(client: &Client, subject: &str) -> TokenPair {
    let response = client.post(format!("/login/{subject}")).dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    response.into_json().await.expect("a token pair")
}

async fn get_user(client: &Client, access: &str) -> Status {
    client
        .get("/user")
        .header(bearer(access))
        .dispatch()
        .await
        .status()
}

async fn refresh_with(client: &Client, refresh: &str) -> Status {
    client
        .post("/refresh")
        .header(bearer(refresh))
        .dispatch()
        .await
        .status()
}

/// A reset token works once; the second use gets the same 401 as a forged token.
async fn a_token_works_once(client: &Client) {
    let token = request_reset_for(client, "alice").await;
    let first = post_body(client, "/password-reset/confirm", &token).await;
    assert_eq!(first.status(), Status::Ok);
    assert_eq!(first.into_json::<Value>().await.unwrap()["reset"], "alice");

    let again = post_body(client, "/password-reset/confirm", &token).await;
    assert_eq!(again.status(), Status::Unauthorized);
    let again = again.into_string().await.unwrap();
    let forged = post_body(client, "/password-reset/confirm", "v4.local.forged").await;
    assert_eq!(forged.status(), Status::Unauthorized);
    assert_eq!(forged.into_string().await.unwrap(), again);
    assert!(!again.contains(&token));
}

/// Of 20 uses at once, exactly one wins.
async fn of_twenty_concurrent_uses_one_wins(client: &Client) {
    let response = client.post("/mint/magic_link/bob").dispatch().await;
    let token = response.into_string().await.unwrap();
    let uses = (0..20).map(|_| post_body(client, "/magic-link/confirm", &token));
    let statuses: Vec<Status> = join_all(uses).await.iter().map(|r| r.status()).collect();
    let won = statuses.iter().filter(|s| **s == Status::Ok).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == Status::Unauthorized)
        .count();
    assert_eq!((won, refused), (1, 19), "{statuses:?}");
}

/// A single-use token is accepted for its own purpose only, never as an access or refresh
/// token; and access and refresh tokens are never accepted as single-use tokens.
async fn purposes_and_kinds_never_mix(client: &Client) {
    let magic = client.post("/mint/magic_link/alice").dispatch().await;
    let magic = magic.into_string().await.unwrap();
    let reset = request_reset_for(client, "alice").await;
    assert_eq!(get_user(client, &reset).await, Status::Unauthorized);
    assert_eq!(refresh_with(client, &reset).await, Status::Unauthorized);
    let wrong = post_body(client, "/password-reset/confirm", &magic).await;
    assert_eq!(wrong.status(), Status::Unauthorized);
    let wrong = post_body(client, "/magic-link/confirm", &reset).await;
    assert_eq!(wrong.status(), Status::Unauthorized);
    let pair = login_as(client, "alice").await;
    for token in [&pair.access_token, &pair.refresh_token] {
        let as_reset = post_body(client, "/password-reset/confirm", token).await;
        assert_eq!(as_reset.status(), Status::Unauthorized);
    }
    // Refused for the wrong purpose, neither token was spent.
    let right = post_body(client, "/magic-link/confirm", &magic).await;
    assert_eq!(right.status(), Status::Ok);
    let right = post_body(client, "/password-reset/confirm", &reset).await;
    assert_eq!(right.status(), Status::Ok);
}

/// A reset ends every session of its user, and every reset token sent before it; other
/// users' sessions go on.
async fn a_reset_ends_every_session(client: &Client) {
    let laptop = login_as(client, "alice").await;
    let phone = login_as(client, "alice").await;
    let other = login_as(client, "bob").await;
    let first = request_reset_for(client, "alice").await;
    let second = request_reset_for(client, "alice").await;
    assert_eq!(get_user(client, &laptop.access_token).await, Status::Ok);

    let reset = post_body(client, "/password-reset/confirm", &second).await;
    assert_eq!(reset.status(), Status::Ok);
    for pair in [&laptop, &phone] {
        assert_eq!(
            get_user(client, &pair.access_token).await,
            Status::Unauthorized
        );
        assert_eq!(
            refresh_with(client, &pair.refresh_token).await,
            Status::Unauthorized
        );
    }
    let earlier = post_body(client, "/password-reset/confirm", &first).await;
    assert_eq!(earlier.status(), Status::Unauthorized);
    assert_eq!(get_user(client, &other.access_token).await, Status::Ok);
    let after = login_as(client, "alice").await;
    assert_eq!(get_user(client, &after.access_token).await, Status::Ok);
}

/// Asking for a reset answers the same whether or not the account exists.
async fn requests_answer_the_same_for_unknown_accounts(client: &Client) {
    let known = client.post("/password-reset/alice").dispatch().await;
    let (known_status, known) = (known.status(), known.into_string().await);
    let unknown = client.post("/password-reset/nobody").dispatch().await;
    assert_eq!(unknown.status(), known_status);
    assert_eq!(unknown.into_string().await, known);
    assert!(sent_to(client, "nobody").is_empty());
}

async fn every_scenario(paseto: Value) {
    let client = app(paseto).await;
    a_token_works_once(&client).await;
    of_twenty_concurrent_uses_one_wins(&client).await;
    purposes_and_kinds_never_mix(&client).await;
    a_reset_ends_every_session(&client).await;
    requests_answer_the_same_for_unknown_accounts(&client).await;
}

#[rocket::async_test]
async fn single_use_tokens_in_memory() {
    every_scenario(memory()).await;
}

#[cfg(feature = "redis")]
#[rocket::async_test]
async fn single_use_tokens_on_redis() {
    let Some(url) = common::redis_server::redis_url() else {
        return;
    };
    let prefix = common::redis_server::prefix();
    every_scenario(common::redis_server::replica_config(&url, &prefix)).await;
}

#[cfg(feature = "redis")]
#[rocket::async_test]
async fn single_use_tokens_on_a_redis_cluster() {
    let Some(urls) = common::redis_cluster::cluster_urls() else {
        return;
    };
    let prefix = common::redis_server::prefix();
    every_scenario(common::redis_cluster::cluster_config(&urls, &prefix)).await;
}

#[rocket::async_test]
async fn single_use_tokens_expire_after_single_use_ttl() {
    let mut paseto = memory();
    paseto["single_use_ttl"] = json!(1);
    let client = app(paseto).await;
    let token = request_reset_for(&client, "alice").await;
    rocket::tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let late = post_body(&client, "/password-reset/confirm", &token).await;
    assert_eq!(late.status(), Status::Unauthorized);
}

#[rocket::async_test]
async fn single_use_tokens_need_a_store() {
    let client = app(with_revocation(json!({ "store": "none" }))).await;
    let token = request_reset_for(&client, "alice").await;
    let response = post_body(&client, "/password-reset/confirm", &token).await;
    assert_eq!(response.status(), Status::InternalServerError);
    assert!(!response.into_string().await.unwrap().contains(&token));
}

#[test]
fn a_kind_cannot_take_a_single_use_name() {
    struct Impostor;
    impl TokenKind for Impostor {
        const NAME: &'static str = "password_reset";
        const TTL: std::time::Duration = std::time::Duration::from_secs(86400);
    }
    let error = PasetoFairing::default()
        .kind::<Impostor>()
        .load(&figment(keys()))
        .expect_err("a reserved name");
    assert!(
        error.to_string().contains("paseto.kinds.password_reset"),
        "{error}"
    );
}

/// A kind of the application's, never registered, that takes a single-use purpose's name.
struct Impostor;

impl TokenKind for Impostor {
    const NAME: &'static str = "password_reset";
    const TTL: std::time::Duration = std::time::Duration::from_secs(900);
}

#[get("/impostor")]
fn impostor(token: Paseto<Impostor>) -> String {
    token.subject().to_owned()
}

#[post("/impostor", data = "<token>")]
async fn impostor_in_body(token: &str, issuer: &Issuer) -> Status {
    match issuer.authenticate::<Impostor>(token).await {
        Ok(_) => Status::Ok,
        Err(e) => e.status(),
    }
}

/// Single-use tokens are bound to an assertion only `consume` supplies: a guard or a call for
/// a kind of the same name (never registered, so the fairing could not refuse it) cannot open
/// them, and the token stays usable.
#[rocket::async_test]
async fn no_guard_opens_a_single_use_token_even_under_its_name() {
    let rocket = rocket::custom(figment(memory()))
        .attach(PasetoFairing::default())
        .manage(Outbox::default())
        .register("/", catchers())
        .mount(
            "/",
            routes![request_reset, confirm_reset, impostor, impostor_in_body],
        );
    let client = Client::untracked(rocket).await.expect("the app ignites");
    let token = request_reset_for(&client, "alice").await;
    let guard = client
        .get("/impostor")
        .header(bearer(&token))
        .dispatch()
        .await;
    assert_eq!(guard.status(), Status::Unauthorized);
    let call = post_body(&client, "/impostor", &token).await;
    assert_eq!(call.status(), Status::Unauthorized);
    let issuer = client.rocket().state::<Issuer>().unwrap();
    assert!(issuer.verify::<Impostor>(&token).is_err());
    let reset = post_body(&client, "/password-reset/confirm", &token).await;
    assert_eq!(reset.status(), Status::Ok);
}

const AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

async fn login_from(client: &Client, subject: &str, from: &str, label: Option<&str>) -> TokenPair {
    let path = match label {
        Some(label) => format!("/login/{subject}?label={label}"),
        None => format!("/login/{subject}"),
    };
    let response = client
        .post(path)
        .remote(SocketAddr::new(from.parse().unwrap(), 50000))
        .header(Header::new("User-Agent", AGENT))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    response.into_json().await.expect("a token pair")
}

async fn listed(client: &Client, path: &str, access: &str) -> (Status, Vec<Value>) {
    let response = client.get(path).header(bearer(access)).dispatch().await;
    let status = response.status();
    (status, response.into_json().await.unwrap_or_default())
}

#[rocket::async_test]
async fn sessions_show_the_device_they_were_started_from() {
    let client = app(memory()).await;
    let laptop = login_from(&client, "alice", "192.0.2.7", Some("laptop")).await;
    rocket::tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let phone = login_from(&client, "alice", "2001:db8::5", None).await;

    let (status, sessions) = listed(&client, "/sessions", &phone.access_token).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0]["user_agent"], AGENT);
    assert_eq!(sessions[0]["ip"], "192.0.2.7");
    assert_eq!(sessions[0]["label"], "laptop");
    assert_eq!(sessions[0]["current"], false);
    assert_eq!(sessions[1]["ip"], "2001:db8::5");
    assert_eq!(sessions[1]["label"], Value::Null);
    assert_eq!(sessions[1]["current"], true);
    let text = serde_json::to_string(&sessions).unwrap();
    for token in [
        &laptop.access_token,
        &laptop.refresh_token,
        &phone.access_token,
    ] {
        assert!(!text.contains(token.as_str()));
    }

    // A refresh moves the session's last use on, and nothing else.
    let before = sessions[0].clone();
    rocket::tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        refresh_with(&client, &laptop.refresh_token).await,
        Status::Ok
    );
    let (_, sessions) = listed(&client, "/sessions", &phone.access_token).await;
    assert_ne!(sessions[0]["last_used_at"], before["last_used_at"]);
    assert_eq!(sessions[0]["created_at"], before["created_at"]);
    assert_eq!(sessions[0]["user_agent"], before["user_agent"]);
}

#[rocket::async_test]
async fn keep_ip_false_keeps_no_address() {
    let client = app(with_revocation(
        json!({ "store": "memory", "keep_ip": false }),
    ))
    .await;
    let pair = login_from(&client, "alice", "192.0.2.7", None).await;
    let (_, sessions) = listed(&client, "/sessions", &pair.access_token).await;
    assert_eq!(sessions[0]["ip"], Value::Null);
    assert_eq!(sessions[0]["user_agent"], AGENT);
}

#[rocket::async_test]
async fn an_admin_lists_and_ends_any_users_sessions() {
    let client = app(memory()).await;
    let root = login_as(&client, "root").await;
    let one = login_from(&client, "alice", "192.0.2.7", Some("one")).await;
    let two = login_as(&client, "alice").await;
    let bob = login_as(&client, "bob").await;

    // Users reach their own sessions only, never the admin's view.
    let (status, _) = listed(&client, "/admin/alice/sessions", &bob.access_token).await;
    assert_eq!(status, Status::Forbidden);
    let (status, sessions) = listed(&client, "/admin/alice/sessions", &root.access_token).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0]["label"], "one");
    assert!(sessions.iter().all(|s| s["current"] == false));
    let id = sessions[0]["id"].as_str().unwrap();
    let as_bob = client
        .delete(format!("/sessions/{id}"))
        .header(bearer(&bob.access_token))
        .dispatch()
        .await;
    assert_eq!(as_bob.status(), Status::NotFound);
    let as_bob = client
        .delete(format!("/admin/alice/sessions/{id}"))
        .header(bearer(&bob.access_token))
        .dispatch()
        .await;
    assert_eq!(as_bob.status(), Status::Forbidden);
    assert_eq!(get_user(&client, &one.access_token).await, Status::Ok);

    let ended = client
        .delete(format!("/admin/alice/sessions/{id}"))
        .header(bearer(&root.access_token))
        .dispatch()
        .await;
    assert_eq!(ended.status(), Status::NoContent);
    assert_eq!(
        get_user(&client, &one.access_token).await,
        Status::Unauthorized
    );
    assert_eq!(get_user(&client, &two.access_token).await, Status::Ok);

    let all = client
        .delete("/admin/alice/sessions")
        .header(bearer(&root.access_token))
        .dispatch()
        .await;
    assert_eq!(all.status(), Status::NoContent);
    assert_eq!(
        get_user(&client, &two.access_token).await,
        Status::Unauthorized
    );
    assert_eq!(
        refresh_with(&client, &two.refresh_token).await,
        Status::Unauthorized
    );
    assert_eq!(get_user(&client, &bob.access_token).await, Status::Ok);
    let (_, sessions) = listed(&client, "/admin/alice/sessions", &root.access_token).await;
    assert!(sessions.is_empty());
}
