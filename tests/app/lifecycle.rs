//! The `app` example's account lifecycle over HTTP: password resets and magic links through
//! the outbox, sessions that show their device, the admin's view of a user's sessions, and the
//! audit log written by the events hook.

use std::net::SocketAddr;
use std::time::Duration;

use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::Client;
use serde_json::{Value, json};

use super::{
    Pair, both_refused, client, get, login, make_admin, outbox_dir, post, refresh, signed_in, user,
};

/// The messages in the outbox of test `test`'s app for `username`, oldest first, waiting up to
/// five seconds for `count` of them (they are written in the background).
async fn messages(test: &str, username: &str, count: usize) -> Vec<Value> {
    let dir = outbox_dir(test);
    for _ in 0..100 {
        let mut found: Vec<(String, Value)> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let text = std::fs::read_to_string(e.path()).unwrap();
                (
                    name,
                    serde_json::from_str::<Value>(&text).expect("a whole JSON message"),
                )
            })
            .filter(|(_, message)| message["to"] == username)
            .collect();
        if found.len() >= count {
            found.sort_by(|a, b| a.0.cmp(&b.0));
            return found.into_iter().map(|(_, m)| m).collect();
        }
        rocket::tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "fewer than {count} messages for {username} in {}",
        dir.display()
    );
}

async fn ask(client: &Client, path: &str, username: &str) -> (Status, Value) {
    post(client, path, None, json!({ "username": username })).await
}

#[rocket::async_test]
async fn a_password_reset_works_once_and_ends_every_session() {
    let test = "password-reset";
    let (client, _file) = client(test).await;
    let laptop = user(&client, "alice").await;
    let phone = signed_in(&client, "alice", "password123").await;
    let bob = user(&client, "bob").await;

    let known = ask(&client, "/password-reset", "alice").await;
    let unknown = ask(&client, "/password-reset", "nobody").await;
    assert_eq!(known.0, Status::Accepted);
    assert_eq!(
        known, unknown,
        "the same answer whether or not the account exists"
    );
    let message = messages(test, "alice", 1).await.remove(0);
    assert_eq!(message["kind"], "password_reset");
    let token = message["token"].as_str().unwrap().to_owned();
    assert!(!known.1.to_string().contains(&token));

    // A password the app refuses leaves the token usable.
    let reset = |password: &str| json!({ "token": token, "new_password": password });
    let (status, _) = post(&client, "/password-reset/confirm", None, reset("short")).await;
    assert_eq!(status, Status::UnprocessableEntity);
    assert!(!both_refused(&client, &laptop).await);

    let (status, body) = post(
        &client,
        "/password-reset/confirm",
        None,
        reset("new password"),
    )
    .await;
    assert_eq!(status, Status::Ok, "{body}");
    let (status, _) = post(
        &client,
        "/password-reset/confirm",
        None,
        reset("other password"),
    )
    .await;
    assert_eq!(status, Status::Unauthorized, "a second use");
    assert!(both_refused(&client, &phone).await);
    assert_eq!(
        get(&client, "/me", &laptop.access).await.0,
        Status::Unauthorized
    );
    assert_eq!(
        login(&client, "alice", "password123").await.0,
        Status::Unauthorized
    );
    signed_in(&client, "alice", "new password").await;
    assert_eq!(get(&client, "/me", &bob.access).await.0, Status::Ok);
    // The unknown account got no message, and no file holds anything but whole messages.
    assert_eq!(messages(test, "alice", 1).await.len(), 1);
    let names: Vec<String> = std::fs::read_dir(outbox_dir(test))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    // Readable by the server's user alone: the messages hold live tokens.
    use std::os::unix::fs::PermissionsExt;
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&outbox_dir(test)), 0o700);
    assert_eq!(mode(&outbox_dir(test).join(&names[0])), 0o600);
}

#[rocket::async_test]
async fn a_magic_link_logs_in_once() {
    let test = "magic-link";
    let (client, _file) = client(test).await;
    user(&client, "alice").await;
    let (status, _) = ask(&client, "/magic-link", "alice").await;
    assert_eq!(status, Status::Accepted);
    assert_eq!(
        ask(&client, "/magic-link", "nobody").await.0,
        Status::Accepted
    );
    let message = messages(test, "alice", 1).await.remove(0);
    assert_eq!(message["kind"], "magic_link");
    let link = json!({ "token": message["token"] });

    let (status, body) = post(&client, "/magic-link/confirm", None, link.clone()).await;
    assert_eq!(status, Status::Ok, "{body}");
    let pair = Pair::from(&body);
    let (status, me) = get(&client, "/me", &pair.access).await;
    assert_eq!((status, &me["username"]), (Status::Ok, &json!("alice")));
    let (status, _) = post(&client, "/magic-link/confirm", None, link).await;
    assert_eq!(status, Status::Unauthorized, "a second use");

    // Neither kind of token passes for the other, nor for an access token.
    ask(&client, "/password-reset", "alice").await;
    let reset = messages(test, "alice", 2).await;
    let reset = reset
        .iter()
        .find(|m| m["kind"] == "password_reset")
        .unwrap();
    let as_link = json!({ "token": reset["token"] });
    assert_eq!(
        post(&client, "/magic-link/confirm", None, as_link).await.0,
        Status::Unauthorized
    );
    let as_reset = json!({ "token": pair.access, "new_password": "new password" });
    let status = post(&client, "/password-reset/confirm", None, as_reset)
        .await
        .0;
    assert_eq!(status, Status::Unauthorized);
    let reset_token = reset["token"].as_str().unwrap();
    assert_eq!(
        get(&client, "/me", reset_token).await.0,
        Status::Unauthorized
    );
}

const AGENT: &str =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15";

/// A login from `ip` with a browser's user agent.
async fn login_from(client: &Client, username: &str, ip: &str) -> Pair {
    let response = client
        .post("/login")
        .header(ContentType::JSON)
        .header(Header::new("User-Agent", AGENT))
        .remote(SocketAddr::new(ip.parse().unwrap(), 41000))
        .body(json!({ "username": username, "password": "password123" }).to_string())
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    Pair::from(&response.into_json::<Value>().await.unwrap())
}

#[rocket::async_test]
async fn sessions_show_their_device_and_last_use() {
    let (client, _file) = client("session-devices").await;
    user(&client, "alice").await;
    let laptop = login_from(&client, "alice", "203.0.113.9").await;
    let (status, list) = get(&client, "/sessions", &laptop.access).await;
    assert_eq!(status, Status::Ok);
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()
        .clone();
    assert_eq!(mine["user_agent"], AGENT);
    assert_eq!(mine["ip"], "203.0.113.9");
    for field in ["created_at", "last_used_at", "expires_at", "id"] {
        assert!(mine[field].is_string(), "{field} in {mine}");
    }

    rocket::tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = refresh(&client, &laptop.refresh).await;
    assert_eq!(status, Status::Ok);
    let renewed = Pair::from(&body);
    let (_, list) = get(&client, "/sessions", &renewed.access).await;
    let now = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == mine["id"])
        .unwrap()
        .clone();
    assert_ne!(
        now["last_used_at"], mine["last_used_at"],
        "moved on at the refresh"
    );
    assert_eq!(now["created_at"], mine["created_at"]);
    assert_eq!(now["current"], true);
}

#[rocket::async_test]
async fn admins_list_and_end_any_users_sessions() {
    let (client, _file) = client("admin-sessions").await;
    user(&client, "admin").await;
    make_admin(&client, "admin").await;
    let admin = Pair::from(&login(&client, "admin", "password123").await.1);
    let bob = user(&client, "bob").await;
    let bob_again = login_from(&client, "bob", "198.51.100.4").await;
    let carol = user(&client, "carol").await;

    let path = "/admin/users/bob/sessions";
    assert_eq!(get(&client, path, &carol.access).await.0, Status::Forbidden);
    assert_eq!(
        super::call(&client, "DELETE", path, Some(&carol.access), None)
            .await
            .0,
        Status::Forbidden
    );
    assert_eq!(get(&client, path, &bob.access).await.0, Status::Forbidden);
    assert!(!both_refused(&client, &bob).await);

    let (status, list) = get(&client, path, &admin.access).await;
    assert_eq!(status, Status::Ok);
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    assert!(list.iter().any(|s| s["ip"] == "198.51.100.4"));
    assert!(list.iter().all(|s| s["current"] == false));
    let missing = "/admin/users/nobody/sessions";
    assert_eq!(
        get(&client, missing, &admin.access).await.0,
        Status::NotFound
    );

    let (status, _) = super::call(&client, "DELETE", path, Some(&admin.access), None).await;
    assert_eq!(status, Status::Ok);
    assert!(both_refused(&client, &bob_again).await);
    assert_eq!(get(&client, "/me", &carol.access).await.0, Status::Ok);
    let (_, list) = get(&client, path, &admin.access).await;
    assert_eq!(list, json!([]));
}

/// The audit log's events, newest first, once it holds at least `count`.
async fn audit(client: &Client, token: &str, count: usize) -> Vec<Value> {
    for _ in 0..100 {
        let (status, events) = get(client, &format!("/admin/audit?limit={count}"), token).await;
        assert_eq!(status, Status::Ok, "{events}");
        let events = events.as_array().unwrap().clone();
        if events.len() >= count {
            return events;
        }
        rocket::tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the audit log never held {count} events");
}

#[rocket::async_test]
async fn the_audit_log_records_what_happened_newest_first_and_no_token() {
    let test = "audit";
    let (client, _file) = client(test).await;
    user(&client, "admin").await;
    make_admin(&client, "admin").await;
    let admin = signed_in(&client, "admin", "password123").await;
    let bob = user(&client, "bob").await;
    assert_eq!(
        get(&client, "/admin/audit", &bob.access).await.0,
        Status::Forbidden
    );

    assert_eq!(
        login(&client, "bob", "wrong password").await.0,
        Status::Unauthorized
    );
    let (_, renewed) = refresh(&client, &bob.refresh).await;
    ask(&client, "/password-reset", "bob").await;
    let token = messages(test, "bob", 1).await.remove(0)["token"].clone();
    let reset = json!({ "token": token, "new_password": "new password" });
    assert_eq!(
        post(&client, "/password-reset/confirm", None, reset)
            .await
            .0,
        Status::Ok
    );

    // login ×3 (admin twice, bob once), login_failed, refresh, password_reset, and the
    // logout_all that ends what the old password may have started during the reset.
    let events = audit(&client, &admin.access, 7).await;
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let expected = [
        "logout_all",
        "password_reset",
        "refresh",
        "login_failed",
        "login",
        "login",
        "login",
    ];
    assert_eq!(kinds, expected);
    assert_eq!(events[1]["username"], "bob");
    assert_eq!(events[3]["username"], "bob");
    assert!(events[2]["session"].is_string());
    for event in &events {
        assert!(event["at"].is_string(), "{event}");
    }
    let text = serde_json::to_string(&events).unwrap();
    let renewed = Pair::from(&renewed);
    for secret in [&bob.access, &bob.refresh, &renewed.access, &admin.access] {
        assert!(!text.contains(secret.as_str()));
    }
    assert!(!text.contains(token.as_str().unwrap()));
    assert_eq!(audit(&client, &admin.access, 1).await.len(), 1);
}
