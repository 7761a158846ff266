//! The `app` example's contract over HTTP, each test against a fresh SQLite file: accounts,
//! password hashes, logins and their roles, roles set by admins only, rotation, logouts,
//! sessions, password change, account deletion, bad bodies and database failures; and `/ws`
//! with a real WebSocket client against the app served on a loopback port.

#[allow(dead_code)]
#[path = "../examples/app/main.rs"]
mod app;

/// Password resets, magic links, device-aware sessions, the admin's view and the audit log.
#[path = "app/lifecycle.rs"]
mod lifecycle;

use std::path::PathBuf;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use rocket::futures::{SinkExt, StreamExt};
use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::Client;
use rocket::tokio::io::{AsyncReadExt, AsyncWriteExt};
use rocket::tokio::net::TcpStream;
use rocket_db_pools::{Database, sqlx};
use rocket_paseto::{Access, Issuer};
use serde_json::{Value, json};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// A fresh database file under the target directory, named after the test; removed on drop.
struct DbFile(PathBuf);

impl DbFile {
    fn new(test: &str) -> DbFile {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(&dir).unwrap();
        let file = DbFile(dir.join(format!("app-{test}-{}.db", std::process::id())));
        file.remove();
        file
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

impl Drop for DbFile {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The app with the repository's configuration (demo keys) and its own database file, which
/// lives as long as the returned `DbFile`.
async fn client(test: &str) -> (Client, DbFile) {
    let file = DbFile::new(test);
    let url = format!("sqlite://{}?mode=rwc", file.0.display());
    let outbox = outbox_dir(test);
    let _ = std::fs::remove_dir_all(&outbox);
    let figment = rocket::Config::figment()
        .merge(("databases.app.url", url))
        .merge(("app.outbox", outbox))
        .merge(("log_level", "off"));
    let client = Client::tracked(app::app(figment)).await;
    (client.expect("the app ignites"), file)
}

/// The outbox directory of the test `test`'s app.
fn outbox_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    dir.join(format!("outbox-{test}-{}", std::process::id()))
}

/// A pair of tokens from `/login`, `/refresh` or `/password`.
struct Pair {
    access: String,
    refresh: String,
}

impl Pair {
    fn from(body: &Value) -> Pair {
        let token = |name: &str| body[name].as_str().expect("a token").to_owned();
        Pair {
            access: token("access_token"),
            refresh: token("refresh_token"),
        }
    }
}

/// One request: `(status, JSON body or Null)`.
async fn call(
    client: &Client,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> (Status, Value) {
    let mut request = match method {
        "GET" => client.get(path.to_owned()),
        "POST" => client.post(path.to_owned()),
        "PUT" => client.put(path.to_owned()),
        "DELETE" => client.delete(path.to_owned()),
        _ => unreachable!("{method}"),
    };
    if let Some(token) = token {
        request = request.header(Header::new("Authorization", format!("Bearer {token}")));
    }
    if let Some(body) = body {
        request = request.header(ContentType::JSON).body(body);
    }
    let response = request.dispatch().await;
    let status = response.status();
    if status.code >= 400 {
        assert_eq!(response.content_type(), Some(ContentType::JSON), "{path}");
    }
    (status, response.into_json().await.unwrap_or(Value::Null))
}

async fn get(client: &Client, path: &str, token: &str) -> (Status, Value) {
    call(client, "GET", path, Some(token), None).await
}

async fn post(client: &Client, path: &str, token: Option<&str>, body: Value) -> (Status, Value) {
    call(client, "POST", path, token, Some(body.to_string())).await
}

async fn register(client: &Client, username: &str, password: &str) -> (Status, Value) {
    let account = json!({ "username": username, "password": password });
    post(client, "/register", None, account).await
}

async fn login(client: &Client, username: &str, password: &str) -> (Status, Value) {
    let account = json!({ "username": username, "password": password });
    post(client, "/login", None, account).await
}

/// Registers `username` (password `password123`) and logs in.
async fn user(client: &Client, username: &str) -> Pair {
    let (status, body) = register(client, username, "password123").await;
    assert_eq!(status, Status::Created, "{body}");
    signed_in(client, username, "password123").await
}

async fn signed_in(client: &Client, username: &str, password: &str) -> Pair {
    let (status, body) = login(client, username, password).await;
    assert_eq!(status, Status::Ok, "{body}");
    Pair::from(&body)
}

async fn refresh(client: &Client, token: &str) -> (Status, Value) {
    call(client, "POST", "/refresh", Some(token), None).await
}

/// Sends a request with `token` and no body, and checks its status.
async fn expect(client: &Client, method: &str, path: &str, token: &str, expected: Status) {
    let (status, body) = call(client, method, path, Some(token), None).await;
    assert_eq!(status, expected, "{method} {path}: {body}");
}

/// Whether both tokens of `pair` are refused: the access token at `/me`, the refresh token at
/// `/refresh` (where it would be spent if it still worked).
async fn both_refused(client: &Client, pair: &Pair) -> bool {
    let me = get(client, "/me", &pair.access).await.0;
    let renewed = refresh(client, &pair.refresh).await.0;
    me == Status::Unauthorized && renewed == Status::Unauthorized
}

async fn row(client: &Client, username: &str) -> (i64, String, String) {
    let db = app::Db::fetch(client.rocket()).unwrap();
    let query = "SELECT id, password_hash, roles FROM users WHERE username = ?";
    let row = sqlx::query_as(query).bind(username).fetch_one(&**db).await;
    row.unwrap()
}

/// Makes `username` an admin in the database, as `app add-admin` does from the shell (tested
/// as a process in tests/examples.rs).
async fn make_admin(client: &Client, username: &str) {
    let db = app::Db::fetch(client.rocket()).unwrap();
    let query = "UPDATE users SET roles = 'admin' WHERE username = ?";
    let done = sqlx::query(query).bind(username).execute(&**db).await;
    assert_eq!(done.unwrap().rows_affected(), 1, "{username} exists");
}

/// The roles in an access token's claims.
fn token_roles(client: &Client, token: &str) -> Value {
    let issuer = client.rocket().state::<Issuer>().unwrap();
    let verified = issuer.verify::<Access>(token).unwrap();
    serde_json::from_str::<Value>(verified.payload()).unwrap()["roles"].clone()
}

#[rocket::async_test]
async fn register_validates_and_stores_only_an_argon2id_hash() {
    let (client, _file) = client("register").await;
    let (status, body) = register(&client, "alice_1", "correct horse").await;
    assert_eq!(status, Status::Created);
    assert_eq!(body["username"], "alice_1");
    let id = body["id"].as_i64().unwrap();

    let (status, body) = register(&client, "alice_1", "another password").await;
    assert_eq!(status, Status::Conflict);
    assert_eq!(body["error"], "username_taken");

    let long = "a".repeat(33);
    let names = ["ab", "Alice", "al ice", "al-ice", "élise", ""];
    for name in names.into_iter().chain([long.as_str()]) {
        let (status, body) = register(&client, name, "correct horse").await;
        assert_eq!(status, Status::UnprocessableEntity, "{name:?}");
        assert_eq!(body["error"], "invalid_username");
    }
    let (status, body) = register(&client, "bob", "1234567").await;
    assert_eq!(status, Status::UnprocessableEntity);
    assert_eq!(body["error"], "invalid_password");
    assert_eq!(
        register(&client, "bob", "12345678").await.0,
        Status::Created
    );
    assert_eq!(
        register(&client, &"b".repeat(32), "12345678").await.0,
        Status::Created
    );

    let (row_id, hash, roles) = row(&client, "alice_1").await;
    assert_eq!(row_id, id);
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("correct horse"));
    assert_eq!(roles, "");
    // The PHC string argon2's own verifier reads, with its default parameters.
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    let verifier = argon2::Argon2::default();
    assert!(
        verifier
            .verify_password(b"correct horse", hash.as_str())
            .is_ok()
    );
    assert!(
        verifier
            .verify_password(b"correct horsf", hash.as_str())
            .is_err()
    );
    // Random salts: the same password never hashes the same way twice.
    register(&client, "carol", "correct horse").await;
    assert_ne!(row(&client, "carol").await.1, hash);
}

#[rocket::async_test]
async fn login_answers_a_fresh_pair_with_the_users_roles() {
    let (client, _file) = client("login").await;
    register(&client, "admin", "password123").await;
    register(&client, "bob", "password123").await;
    make_admin(&client, "admin").await;

    let response = client
        .post("/login")
        .body(r#"{"username":"admin","password":"password123"}"#)
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(
        response.headers().get_one("Cache-Control"),
        Some("no-store")
    );
    let body: Value = response.into_json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_u64().unwrap() > 0);
    let admin = Pair::from(&body);
    let bob = signed_in(&client, "bob", "password123").await;

    let issuer = client.rocket().state::<Issuer>().unwrap();
    let claims = |token: &str| {
        let verified = issuer.verify::<Access>(token).unwrap();
        serde_json::from_str::<Value>(verified.payload()).unwrap()
    };
    assert_eq!(claims(&admin.access)["roles"], json!(["admin"]));
    assert_eq!(claims(&bob.access)["roles"], json!([]));
    let admin_id = row(&client, "admin").await.0.to_string();
    assert_eq!(claims(&admin.access)["sub"], admin_id);

    let (status, me) = get(&client, "/me", &admin.access).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(me["username"], "admin");
    assert_eq!(me["roles"], json!(["admin"]));
    assert_eq!(me["id"].to_string(), admin_id);
    assert_eq!(get(&client, "/me", &bob.access).await.1["username"], "bob");

    assert_eq!(get(&client, "/admin", &admin.access).await.0, Status::Ok);
    let (status, body) = get(&client, "/admin", &bob.access).await;
    assert_eq!(status, Status::Forbidden);
    assert_eq!(body["error"], "insufficient_scope");

    // A wrong password and an unknown user look the same.
    let wrong = login(&client, "bob", "password124").await;
    let unknown = login(&client, "nobody", "password123").await;
    assert_eq!(wrong.0, Status::Unauthorized);
    assert_eq!(wrong, unknown);
    assert_eq!(wrong.1["error"], "invalid_credentials");

    let anonymous = call(&client, "GET", "/me", None, None).await.0;
    let by_refresh = get(&client, "/me", &admin.refresh).await.0;
    assert_eq!(
        (anonymous, by_refresh),
        (Status::Unauthorized, Status::Unauthorized)
    );
}

#[rocket::async_test]
async fn hashes_from_argon2s_own_hasher_and_other_parameters_log_in() {
    let (client, _file) = client("hashers").await;
    register(&client, "alice", "password123").await;
    let db = app::Db::fetch(client.rocket()).unwrap();
    let lighter = argon2::Params::new(8192, 3, 1, None).unwrap();
    let heavier = argon2::Params::new(32768, 1, 1, Some(48)).unwrap();
    for params in [argon2::Params::default(), lighter, heavier] {
        let hasher = argon2::Argon2::new(Default::default(), Default::default(), params);
        let hash = hasher.hash_password(b"other password").unwrap().to_string();
        let query = "UPDATE users SET password_hash = ? WHERE username = 'alice'";
        sqlx::query(query).bind(&hash).execute(&**db).await.unwrap();
        signed_in(&client, "alice", "other password").await;
        let (status, _) = login(&client, "alice", "password123").await;
        assert_eq!(status, Status::Unauthorized, "{hash}");
    }
}

#[rocket::async_test]
async fn registering_grants_no_role_whatever_the_name() {
    // `admin` was the name the configuration once made admin at registration, to whoever
    // registered it first.
    let (client, _file) = client("no_roles").await;
    for name in ["admin", "root", "administrator"] {
        let pair = user(&client, name).await;
        assert_eq!(token_roles(&client, &pair.access), json!([]), "{name}");
        let (status, me) = get(&client, "/me", &pair.access).await;
        assert_eq!((status, &me["roles"]), (Status::Ok, &json!([])), "{name}");
        expect(&client, "GET", "/admin", &pair.access, Status::Forbidden).await;
        assert_eq!(row(&client, name).await.2, "", "{name}");
    }
    // Extra fields are no way in either.
    let body = json!({ "username": "carol", "password": "password123", "roles": ["admin"] });
    assert_eq!(
        post(&client, "/register", None, body).await.0,
        Status::Created
    );
    assert_eq!(row(&client, "carol").await.2, "");
}

async fn put_roles(client: &Client, token: &str, username: &str, body: &str) -> (Status, Value) {
    let path = format!("/admin/users/{username}/roles");
    call(client, "PUT", &path, Some(token), Some(body.to_owned())).await
}

#[rocket::async_test]
async fn admins_set_roles_and_nobody_else_does() {
    let (client, _file) = client("set_roles").await;
    register(&client, "alice", "password123").await;
    make_admin(&client, "alice").await;
    let alice = signed_in(&client, "alice", "password123").await;
    let bob = user(&client, "bob").await;
    user(&client, "carol").await;

    // Not an admin: 403, and carol's roles are as they were.
    let (status, body) = put_roles(&client, &bob.access, "carol", r#"{"roles":["admin"]}"#).await;
    assert_eq!(
        (status, &body["error"]),
        (Status::Forbidden, &json!("insufficient_scope"))
    );
    let (status, _) = put_roles(&client, &bob.access, "bob", r#"{"roles":["admin"]}"#).await;
    assert_eq!(status, Status::Forbidden);
    assert_eq!(row(&client, "carol").await.2, "");
    assert_eq!(row(&client, "bob").await.2, "");
    let anonymous = call(&client, "PUT", "/admin/users/bob/roles", None, None).await;
    assert_eq!(anonymous.0, Status::Unauthorized);

    let roles = r#"{"roles":["support","billing:read","support"]}"#;
    let (status, body) = put_roles(&client, &alice.access, "carol", roles).await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(
        body,
        json!({ "username": "carol", "roles": ["support", "billing:read"] })
    );
    assert_eq!(row(&client, "carol").await.2, "support billing:read");
    // The new roles are in carol's next tokens.
    let carol = signed_in(&client, "carol", "password123").await;
    let carol_roles = json!(["support", "billing:read"]);
    assert_eq!(token_roles(&client, &carol.access), carol_roles);

    let (status, body) = put_roles(&client, &alice.access, "nobody", r#"{"roles":[]}"#).await;
    assert_eq!(
        (status, &body["error"]),
        (Status::NotFound, &json!("not_found"))
    );

    // An admin demoted a moment ago is refused at once, though the token still says admin.
    let (status, _) = put_roles(&client, &alice.access, "bob", r#"{"roles":["admin"]}"#).await;
    assert_eq!(status, Status::Ok);
    let bob = signed_in(&client, "bob", "password123").await;
    let (status, body) = put_roles(&client, &bob.access, "alice", r#"{"roles":[]}"#).await;
    assert_eq!(
        (status, body),
        (Status::Ok, json!({ "username": "alice", "roles": [] }))
    );
    assert_eq!(token_roles(&client, &alice.access), json!(["admin"]));
    let (status, _) = put_roles(&client, &alice.access, "bob", r#"{"roles":[]}"#).await;
    assert_eq!(status, Status::Forbidden);
    assert_eq!(row(&client, "bob").await.2, "admin");
}

#[rocket::async_test]
async fn setting_roles_refuses_bad_bodies_and_bad_roles() {
    let (client, _file) = client("bad_roles").await;
    register(&client, "alice", "password123").await;
    make_admin(&client, "alice").await;
    let alice = signed_in(&client, "alice", "password123").await;
    user(&client, "bob").await;

    let too_many = json!({ "roles": (0..17).map(|n| format!("r{n}")).collect::<Vec<_>>() });
    let too_long = json!({ "roles": ["r".repeat(33)] });
    let invalid = [
        r#"{"roles":["Admin"]}"#.to_owned(),
        r#"{"roles":[""]}"#.to_owned(),
        r#"{"roles":["two words"]}"#.to_owned(),
        r#"{"roles":["admin\u0000"]}"#.to_owned(),
        r#"{"roles":["rôle"]}"#.to_owned(),
        too_many.to_string(),
        too_long.to_string(),
    ];
    for body in &invalid {
        let (status, json) = put_roles(&client, &alice.access, "bob", body).await;
        assert_eq!(status, Status::UnprocessableEntity, "{body}");
        assert_eq!(json["error"], "invalid_roles", "{body}");
    }
    for (body, expected) in [
        (r#"{"roles":"admin"}"#, Status::UnprocessableEntity),
        (r#"{"roles":[1]}"#, Status::UnprocessableEntity),
        ("{}", Status::UnprocessableEntity),
        ("not json", Status::BadRequest),
    ] {
        let (status, json) = put_roles(&client, &alice.access, "bob", body).await;
        assert_eq!(status, expected, "{body}");
        assert!(json["error"].is_string(), "{body}: {json}");
    }
    assert_eq!(row(&client, "bob").await.2, "");
    // The limits themselves are fine.
    let most = json!({ "roles": (0..16).map(|n| format!("r{n}")).collect::<Vec<_>>() });
    let longest = json!({ "roles": ["a:b-c_".repeat(5) + "d9"] });
    for body in [most, longest] {
        let (status, json) = put_roles(&client, &alice.access, "bob", &body.to_string()).await;
        assert_eq!((status, &json["roles"]), (Status::Ok, &body["roles"]));
    }
}

#[rocket::async_test]
async fn refresh_rotates_and_a_reused_token_ends_its_login() {
    let (client, _file) = client("refresh").await;
    let first = user(&client, "alice").await;
    let other = signed_in(&client, "alice", "password123").await;

    let (status, body) = refresh(&client, &first.refresh).await;
    assert_eq!(status, Status::Ok, "{body}");
    let second = Pair::from(&body);
    assert_ne!(second.refresh, first.refresh);
    assert_eq!(get(&client, "/me", &second.access).await.0, Status::Ok);
    let (status, body) = refresh(&client, &second.refresh).await;
    assert_eq!(status, Status::Ok, "{body}");
    let third = Pair::from(&body);

    // Two generations back: reuse. Refused, and the whole login with it.
    assert_eq!(
        refresh(&client, &first.refresh).await.0,
        Status::Unauthorized
    );
    assert_eq!(
        get(&client, "/me", &third.access).await.0,
        Status::Unauthorized
    );
    assert_eq!(
        refresh(&client, &third.refresh).await.0,
        Status::Unauthorized
    );
    // The user's other login is untouched.
    assert_eq!(get(&client, "/me", &other.access).await.0, Status::Ok);
    assert_eq!(refresh(&client, &other.refresh).await.0, Status::Ok);
}

#[rocket::async_test]
async fn an_admin_demoted_in_the_database_loses_admin_at_the_next_refresh() {
    let (client, _file) = client("demoted").await;
    register(&client, "admin", "password123").await;
    make_admin(&client, "admin").await;
    let admin = signed_in(&client, "admin", "password123").await;
    expect(&client, "GET", "/admin", &admin.access, Status::Ok).await;

    let db = app::Db::fetch(client.rocket()).unwrap();
    let demote = sqlx::query("UPDATE users SET roles = '' WHERE username = 'admin'");
    demote.execute(&**db).await.unwrap();
    let (status, body) = refresh(&client, &admin.refresh).await;
    assert_eq!(status, Status::Ok, "{body}");
    let renewed = Pair::from(&body);
    expect(&client, "GET", "/admin", &renewed.access, Status::Forbidden).await;
    assert_eq!(
        get(&client, "/me", &renewed.access).await.1["roles"],
        json!([])
    );
}

#[rocket::async_test]
async fn logout_ends_one_login_with_either_token() {
    let (client, _file) = client("logout").await;
    let by_access = user(&client, "alice").await;
    let by_refresh = signed_in(&client, "alice", "password123").await;
    let kept = signed_in(&client, "alice", "password123").await;

    expect(&client, "POST", "/logout", &by_access.access, Status::Ok).await;
    assert!(both_refused(&client, &by_access).await);
    expect(&client, "POST", "/logout", &by_refresh.refresh, Status::Ok).await;
    assert!(both_refused(&client, &by_refresh).await);
    assert_eq!(get(&client, "/me", &kept.access).await.0, Status::Ok);
    assert_eq!(
        call(&client, "POST", "/logout", None, None).await.0,
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn logout_all_ends_every_login_of_that_user_only() {
    let (client, _file) = client("logout_all").await;
    let alice = [
        user(&client, "alice").await,
        signed_in(&client, "alice", "password123").await,
    ];
    let bob = user(&client, "bob").await;

    expect(&client, "POST", "/logout-all", &alice[0].access, Status::Ok).await;
    for pair in &alice {
        assert!(both_refused(&client, pair).await);
    }
    assert_eq!(get(&client, "/me", &bob.access).await.0, Status::Ok);
    assert_eq!(refresh(&client, &bob.refresh).await.0, Status::Ok);
    // Logins after it work.
    let again = signed_in(&client, "alice", "password123").await;
    assert_eq!(get(&client, "/me", &again.access).await.0, Status::Ok);
}

#[rocket::async_test]
async fn sessions_are_listed_and_ended_by_their_owner_only() {
    let (client, _file) = client("sessions").await;
    let first = user(&client, "alice").await;
    let second = signed_in(&client, "alice", "password123").await;
    let bob = user(&client, "bob").await;

    let (status, list) = get(&client, "/sessions", &first.access).await;
    assert_eq!(status, Status::Ok);
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    for session in &list {
        for field in ["id", "created_at", "last_used_at"] {
            assert!(session[field].is_string(), "{field} in {session}");
        }
    }
    let current: Vec<_> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    let other = list.iter().find(|s| s["current"] == false).unwrap();
    let other_id = other["id"].as_str().unwrap();

    // Not bob's: 404, and alice's login goes on.
    let path = format!("/sessions/{other_id}");
    expect(&client, "DELETE", &path, &bob.access, Status::NotFound).await;
    assert_eq!(get(&client, "/me", &second.access).await.0, Status::Ok);
    expect(
        &client,
        "DELETE",
        "/sessions/nope",
        &first.access,
        Status::NotFound,
    )
    .await;

    expect(&client, "DELETE", &path, &first.access, Status::Ok).await;
    assert!(both_refused(&client, &second).await);
    let (_, list) = get(&client, "/sessions", &first.access).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["current"], true);
    assert_eq!(
        get(&client, "/sessions", &bob.access)
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[rocket::async_test]
async fn password_change_needs_a_fresh_token_and_ends_other_logins() {
    let (client, _file) = client("password").await;
    let this = user(&client, "alice").await;
    let other = signed_in(&client, "alice", "password123").await;
    let bob = user(&client, "bob").await;
    let change = |token: String, password: &str| {
        let body = json!({ "new_password": password });
        let client = &client;
        async move { post(client, "/password", Some(&token), body).await }
    };

    // A token from /refresh is not fresh.
    let (_, rotated) = refresh(&client, &other.refresh).await;
    let (status, body) = change(Pair::from(&rotated).access, "new password").await;
    assert_eq!(status, Status::Unauthorized);
    assert_eq!(body["error"], "fresh_token_required");
    let (status, body) = change(this.access.clone(), "short").await;
    assert_eq!(
        (status, &body["error"]),
        (Status::UnprocessableEntity, &json!("invalid_password"))
    );

    let (status, body) = change(this.access.clone(), "new password").await;
    assert_eq!(status, Status::Ok, "{body}");
    let renewed = Pair::from(&body);
    assert!(both_refused(&client, &Pair::from(&rotated)).await);
    assert_eq!(get(&client, "/me", &renewed.access).await.0, Status::Ok);
    assert_eq!(refresh(&client, &renewed.refresh).await.0, Status::Ok);
    assert_eq!(get(&client, "/me", &bob.access).await.0, Status::Ok);

    assert_eq!(
        login(&client, "alice", "password123").await.0,
        Status::Unauthorized
    );
    signed_in(&client, "alice", "new password").await;
    assert!(row(&client, "alice").await.1.starts_with("$argon2id$"));
}

#[rocket::async_test]
async fn deleting_the_account_needs_a_fresh_token_and_ends_every_token() {
    let (client, _file) = client("delete").await;
    let bob = user(&client, "bob").await;
    // Alice has the highest id, the one a table without AUTOINCREMENT would hand out again.
    let this = user(&client, "alice").await;
    let other = signed_in(&client, "alice", "password123").await;
    let old_id = row(&client, "alice").await.0;

    let (_, rotated) = refresh(&client, &other.refresh).await;
    let rotated = Pair::from(&rotated);
    let (status, body) = call(&client, "DELETE", "/me", Some(&rotated.access), None).await;
    assert_eq!(status, Status::Unauthorized);
    assert_eq!(body["error"], "fresh_token_required");

    let (status, body) = call(&client, "DELETE", "/me", Some(&this.access), None).await;
    assert_eq!(status, Status::Ok, "{body}");
    assert!(both_refused(&client, &this).await);
    assert!(both_refused(&client, &rotated).await);
    assert_eq!(
        login(&client, "alice", "password123").await.0,
        Status::Unauthorized
    );
    assert_eq!(get(&client, "/me", &bob.access).await.0, Status::Ok);

    // The name is free again; the id is never reused.
    let (status, body) = register(&client, "alice", "password123").await;
    assert_eq!(status, Status::Created);
    assert_ne!(body["id"].as_i64().unwrap(), old_id);
    assert!(both_refused(&client, &this).await);
}

#[rocket::async_test]
async fn bad_bodies_get_a_4xx_json_error() {
    let (client, _file) = client("bodies").await;
    let pair = user(&client, "alice").await;
    let big = format!(
        r#"{{"username":"alice","password":"{}"}}"#,
        "x".repeat(1 << 20)
    );
    let cases = [
        (big.as_str(), Status::PayloadTooLarge),
        (r#"{"username":"alice","password":"#, Status::BadRequest),
        ("not json", Status::BadRequest),
        ("", Status::BadRequest),
        (
            r#"{"username":1,"password":"password123"}"#,
            Status::UnprocessableEntity,
        ),
        (r#"{"username":"alice"}"#, Status::UnprocessableEntity),
        (
            r#"{"username":"alice","password":["x"]}"#,
            Status::UnprocessableEntity,
        ),
        ("null", Status::UnprocessableEntity),
    ];
    for path in ["/register", "/login", "/password"] {
        for (body, expected) in &cases {
            let token = Some(pair.access.as_str()).filter(|_| path == "/password");
            let (status, json) = call(&client, "POST", path, token, Some(body.to_string())).await;
            assert_eq!(status, *expected, "{path} {}", &body[..body.len().min(40)]);
            assert!(json["error"].is_string(), "{path}: {json}");
        }
    }
    let (status, body) = get(&client, "/nowhere", &pair.access).await;
    assert_eq!(
        (status, &body["error"]),
        (Status::NotFound, &json!("not_found"))
    );
    // The account is as it was.
    assert_eq!(get(&client, "/me", &pair.access).await.0, Status::Ok);
}

#[rocket::async_test]
async fn database_errors_are_json_without_details() {
    let (client, _file) = client("db_errors").await;
    let pair = user(&client, "alice").await;
    let db = app::Db::fetch(client.rocket()).unwrap();
    sqlx::query("DROP TABLE users")
        .execute(&**db)
        .await
        .unwrap();

    let (status, body) = register(&client, "bob", "password123").await;
    assert_eq!(status, Status::InternalServerError);
    assert_eq!(
        body,
        json!({ "error": "server_error", "message": "Internal Server Error" })
    );
    let (status, body) = login(&client, "alice", "password123").await;
    assert_eq!(status, Status::InternalServerError);
    assert!(!body.to_string().contains("users"), "{body}");
    let (status, body) = get(&client, "/me", &pair.access).await;
    assert_eq!(status, Status::ServiceUnavailable);
    assert_eq!(body["error"], "temporarily_unavailable");
}

#[rocket::async_test]
async fn a_new_account_can_log_in_at_once() {
    // The login reads the account on one pooled connection and its roles on another: both
    // must see the registration as soon as it is answered. The race this guards against is
    // short, so try often.
    let (client, _file) = client("at_once").await;
    for n in 0..60 {
        let name = format!("user_{n}");
        let (status, body) = register(&client, &name, "password123").await;
        assert_eq!(status, Status::Created, "{body}");
        signed_in(&client, &name, "password123").await;
    }
}

/// With the `openapi` feature: `GET /openapi.json` describes the PASETO bearer scheme, which
/// the token routes require and `/register` and `/login` do not.
#[cfg(feature = "openapi")]
#[rocket::async_test]
async fn openapi_document_requires_the_paseto_scheme() {
    let (client, _db) = client("openapi").await;
    let response = client.get("/openapi.json").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    let doc: Value = response.into_json().await.expect("a JSON document");

    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        schemes["paseto"],
        json!({
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "PASETO",
            "description": "A PASETO v4 token in `Authorization: Bearer <token>`.",
        })
    );
    let cookie = &schemes["paseto_access_cookie"];
    assert_eq!(
        (&cookie["type"], &cookie["in"]),
        (&json!("apiKey"), &json!("cookie"))
    );
    assert_eq!(cookie["name"], "access_token");

    let operation = |path: &str, method: &str| doc["paths"][path][method].clone();
    for (path, method) in [
        ("/me", "get"),
        ("/admin", "get"),
        ("/admin/users/{username}/roles", "put"),
        ("/logout-all", "post"),
        ("/me", "delete"),
        ("/admin/users/{username}/sessions", "get"),
        ("/admin/users/{username}/sessions", "delete"),
        ("/admin/audit", "get"),
    ] {
        let security = &operation(path, method)["security"];
        assert_eq!(security, &json!([{ "paseto": [] }]), "{method} {path}");
    }
    for (path, method) in [
        ("/register", "post"),
        ("/login", "post"),
        ("/password-reset", "post"),
        ("/password-reset/confirm", "post"),
        ("/magic-link", "post"),
        ("/magic-link/confirm", "post"),
    ] {
        let op = operation(path, method);
        assert!(op.is_object(), "{method} {path} is documented");
        assert!(
            op.get("security").is_none(),
            "{method} {path} needs no token"
        );
    }
    let set_roles = operation("/admin/users/{username}/roles", "put");
    assert!(set_roles["requestBody"].is_object(), "{set_roles}");
    for status in ["200", "404", "422", "403"] {
        assert!(
            set_roles["responses"][status].is_object(),
            "{status}: {set_roles}"
        );
    }
    // Guard failures are documented with the crate's JSON error body.
    let unauthorized = &operation("/me", "get")["responses"]["401"];
    let schema = &unauthorized["content"]["application/json"]["schema"];
    assert!(schema["properties"]["error"].is_object(), "{unauthorized}");
    // The sessions list shows each session's device.
    let session = &doc["components"]["schemas"]["Session"]["properties"];
    for field in ["user_agent", "ip", "label", "last_used_at", "current"] {
        assert!(session[field].is_object(), "{field}: {session}");
    }
    // The throttled login is documented too.
    let throttled = &operation("/login", "post")["responses"]["429"];
    assert!(throttled["description"].is_string(), "{throttled}");
}

/// The app served on a free loopback port (a WebSocket needs a real connection), with its own
/// database file; it stops when the returned `Shutdown` is notified.
async fn served(test: &str) -> (u16, rocket::Shutdown, DbFile) {
    let file = DbFile::new(test);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let figment = rocket::Config::figment()
        .merge((
            "databases.app.url",
            format!("sqlite://{}?mode=rwc", file.0.display()),
        ))
        .merge(("log_level", "off"))
        .merge(("address", "127.0.0.1"))
        .merge(("port", port));
    let rocket = app::app(figment).ignite().await.expect("the app ignites");
    let shutdown = rocket.shutdown();
    rocket::tokio::spawn(rocket.launch());
    for _ in 0..250 {
        if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return (port, shutdown, file);
        }
        rocket::tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the app did not start listening on {port}");
}

/// One HTTP/1.1 request over loopback with alice's credentials as its body (what `/register`
/// and `/login` read; other routes ignore it): the status and the JSON answer (or `Null`).
async fn over_http(port: u16, method: &str, path: &str, token: Option<&str>) -> (u16, Value) {
    let body = r#"{"username":"alice","password":"password123"}"#;
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    let json = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    (status, serde_json::from_str(json).unwrap_or(Value::Null))
}

/// An upgrade of `/ws` with `query` that must be refused: its HTTP status and JSON body.
async fn refused_upgrade(port: u16, query: &str) -> (u16, Value) {
    match connect_async(format!("ws://127.0.0.1:{port}/ws{query}")).await {
        Err(WsError::Http(response)) => {
            let body = response.body().as_deref().unwrap_or_default();
            let json = serde_json::from_slice(body).unwrap_or(Value::Null);
            (response.status().as_u16(), json)
        }
        Err(e) => panic!("{query}: {e}"),
        Ok(_) => panic!("{query}: upgraded"),
    }
}

#[rocket::async_test]
async fn the_websocket_greets_the_user_echoes_and_refuses_bad_tokens() {
    let (port, shutdown, _file) = served("ws").await;
    assert_eq!(over_http(port, "POST", "/register", None).await.0, 201);
    let (status, tokens) = over_http(port, "POST", "/login", None).await;
    assert_eq!(status, 200, "{tokens}");
    let pair = Pair::from(&tokens);

    let url = format!("ws://127.0.0.1:{port}/ws?access_token={}", pair.access);
    let (mut socket, response) = connect_async(url).await.expect("the upgrade");
    assert_eq!(response.status().as_u16(), 101);
    let hello = socket.next().await.unwrap().unwrap();
    let hello: Value = serde_json::from_str(hello.to_text().unwrap()).unwrap();
    assert_eq!(hello, json!({ "hello": "alice" }));
    for text in ["ping", "{\"any\":\"text\"}", ""] {
        socket.send(Message::Text(text.into())).await.unwrap();
        let echo = socket.next().await.unwrap().unwrap();
        assert_eq!(echo, Message::Text(text.into()));
    }
    socket.close(None).await.unwrap();

    // Refused before the upgrade, with the crate's 401 and JSON body.
    let (status, body) = refused_upgrade(port, "").await;
    assert_eq!((status, &body["error"]), (401, &json!("unauthorized")));
    let refresh = format!("?access_token={}", pair.refresh);
    for query in ["?access_token=v4.local.garbage", "?access_token=", &refresh] {
        let (status, body) = refused_upgrade(port, query).await;
        assert_eq!(
            (status, &body["error"]),
            (401, &json!("invalid_token")),
            "{query}"
        );
    }
    // After a logout, the access token opens no WebSocket.
    let (status, _) = over_http(port, "POST", "/logout", Some(&pair.access)).await;
    assert_eq!(status, 200);
    let (status, body) = refused_upgrade(port, &format!("?access_token={}", pair.access)).await;
    assert_eq!((status, &body["error"]), (401, &json!("invalid_token")));
    shutdown.notify();
}

/// Password guessing: after 5 failures of one username, even the right password is answered
/// 429 with `Retry-After`, before any password work; other users sign in as before.
#[rocket::async_test]
async fn login_is_throttled_after_five_failures_of_one_username() {
    let (client, _file) = client("throttle").await;
    let (status, _) = register(&client, "alice", "password123").await;
    assert_eq!(status, Status::Created);
    for _ in 0..5 {
        let (status, body) = login(&client, "alice", "password124").await;
        assert_eq!(status, Status::Unauthorized, "{body}");
    }
    let account = json!({ "username": "alice", "password": "password123" });
    let response = client
        .post("/login")
        .header(ContentType::JSON)
        .body(account.to_string())
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::TooManyRequests);
    assert!(response.headers().get_one("Retry-After").is_some());
    let body: Value = response.into_json().await.unwrap();
    assert_eq!(body["error"], "too_many_attempts");
    user(&client, "bob").await;
}
