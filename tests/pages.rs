//! Server-rendered pages: the `pages` example's plain HTML forms with the CSRF form field,
//! implicit refresh from the refresh cookie, and the cookie options (`domain`, `session`).

mod common;

#[allow(dead_code)]
#[path = "../examples/pages/main.rs"]
mod pages;

use std::collections::BTreeMap;

use common::*;
use rocket::figment::Figment;
use rocket::http::{ContentType, Cookie, Header, Status};
use rocket::local::blocking::{Client, LocalRequest, LocalResponse};
use serde_json::json;

/// The example, configured like `cargo run --example pages` plus `paseto` settings from `extra`.
fn pages_client(extra: serde_json::Value) -> Client {
    let figment: Figment = rocket::Config::figment()
        .merge(("log_level", "off"))
        .merge(("paseto", extra));
    Client::untracked(pages::app(figment)).expect("the pages example ignites")
}

/// The cookies a browser holds, updated from each response's `Set-Cookie` headers.
#[derive(Default, Clone)]
struct Browser(BTreeMap<String, String>);

impl Browser {
    fn send<'c>(&self, mut request: LocalRequest<'c>) -> LocalResponse<'c> {
        for (name, value) in &self.0 {
            request = request.cookie(Cookie::new(name.clone(), value.clone()));
        }
        request.dispatch()
    }

    fn keep(&mut self, response: &LocalResponse<'_>) {
        for cookie in set_cookies(response) {
            if cookie.value().is_empty() {
                self.0.remove(cookie.name());
            } else {
                self.0.insert(cookie.name().into(), cookie.value().into());
            }
        }
    }

    fn get(&self, name: &str) -> String {
        self.0.get(name).cloned().unwrap_or_default()
    }
}

fn set_cookies(response: &LocalResponse<'_>) -> Vec<Cookie<'static>> {
    response
        .headers()
        .get("Set-Cookie")
        .map(|value| Cookie::parse(value.to_owned()).unwrap())
        .collect()
}

fn form<'c>(client: &'c Client, path: &'static str, body: &str) -> LocalRequest<'c> {
    client.post(path).header(ContentType::Form).body(body)
}

fn sign_in(client: &Client) -> Browser {
    let mut browser = Browser::default();
    let response = browser.send(form(client, "/login", "username=test&password=test"));
    assert_eq!(response.status(), Status::SeeOther);
    browser.keep(&response);
    assert!(!browser.get("access_token").is_empty());
    browser
}

#[test]
fn plain_forms_carry_csrf_in_a_field() {
    let client = pages_client(json!({}));
    let wrong = form(&client, "/login", "username=test&password=nope").dispatch();
    assert_eq!(wrong.status(), Status::Unauthorized);
    assert!(wrong.into_string().unwrap().contains("Wrong username"));
    let mut browser = sign_in(&client);
    let csrf = browser.get("csrf_token");

    let home = browser.send(client.get("/"));
    assert_eq!(home.status(), Status::Ok);
    let html = home.into_string().unwrap();
    assert!(html.contains("Signed in as test"), "{html}");
    let field = format!(r#"<input type="hidden" name="_csrf" value="{csrf}">"#);
    assert!(html.contains(&field), "{html}");

    let post = |body: String| browser.send(form(&client, "/note", &body));
    assert_eq!(
        post(format!("_csrf={csrf}&text=hello")).status(),
        Status::SeeOther
    );
    // Anywhere within the first 512 bytes will do, as long as the pair ends there.
    assert_eq!(
        post(format!("text=hi&_csrf={csrf}")).status(),
        Status::SeeOther
    );
    assert_eq!(post("text=hello".into()).status(), Status::Forbidden);
    assert_eq!(
        post("_csrf=wrong&text=hello".into()).status(),
        Status::Forbidden
    );
    assert_eq!(
        post(format!("_csrf={csrf}&_csrf={csrf}&text=x")).status(),
        Status::Forbidden
    );
    let padding = "a".repeat(520);
    let late = format!("pad={padding}&_csrf={csrf}&text=hello");
    assert_eq!(post(late).status(), Status::Forbidden, "past 512 bytes");
    // The header still works, and wins over the field.
    let with_header = |value: &str, body: &str| {
        let request =
            form(&client, "/note", body).header(Header::new("X-CSRF-Token", value.to_owned()));
        browser.send(request).status()
    };
    assert_eq!(with_header(&csrf, "text=by+header"), Status::SeeOther);
    assert_eq!(
        with_header("wrong", &format!("_csrf={csrf}&text=x")),
        Status::Forbidden
    );
    // Only URL-encoded forms are read.
    let json = client
        .post("/note")
        .header(ContentType::JSON)
        .body(format!(r#"{{"_csrf":"{csrf}","text":"x"}}"#));
    assert_eq!(browser.send(json).status(), Status::Forbidden);
    let request =
        form(&client, "/note", "text=kept").header(Header::new("X-CSRF-Token", csrf.clone()));
    let saved = browser.send(request);
    browser.keep(&saved);
    let html = browser.send(client.get("/")).into_string().unwrap();
    assert!(html.contains("Note: kept"), "{html}");

    // Logout is a plain form too: without the field nothing happens.
    assert_eq!(
        browser.send(form(&client, "/logout", "")).status(),
        Status::Forbidden
    );
    let old = browser.clone();
    let logout = browser.send(form(&client, "/logout", &format!("_csrf={csrf}")));
    assert_eq!(logout.status(), Status::SeeOther);
    browser.keep(&logout);
    assert!(browser.0.is_empty(), "{:?}", browser.0.keys());
    let replayed = old.send(client.get("/"));
    assert_eq!(
        replayed.status(),
        Status::SeeOther,
        "revoked cookies sign nobody in"
    );
    assert!(set_cookies(&replayed).is_empty());
}

#[test]
fn implicit_refresh_rotates_the_refresh_cookie() {
    let client = pages_client(json!({
        "access": { "ttl": 1 },
        "revocation": { "rotation_grace": 0 },
    }));
    let mut browser = sign_in(&client);
    let first = browser.clone();
    std::thread::sleep(std::time::Duration::from_millis(2100));

    // A bearer token in the header is never refreshed from cookies.
    let expired = browser.get("access_token");
    let header = browser.send(client.get("/").header(bearer(&expired)));
    assert_eq!(header.status(), Status::SeeOther);
    assert!(set_cookies(&header).is_empty());
    // A form post with an expired access cookie needs the CSRF value before anything rotates.
    let refused = browser.send(form(&client, "/note", "text=x"));
    assert_eq!(refused.status(), Status::Forbidden);
    assert!(set_cookies(&refused).is_empty());

    let page = browser.send(client.get("/"));
    assert_eq!(page.status(), Status::Ok);
    assert_eq!(page.headers().get_one("Cache-Control"), Some("no-store"));
    let mut names: Vec<String> = set_cookies(&page)
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["access_token", "refresh_token"]);
    browser.keep(&page);
    assert!(page.into_string().unwrap().contains("Signed in as test"));
    assert_ne!(browser.get("refresh_token"), first.get("refresh_token"));
    assert_eq!(
        browser.get("csrf_token"),
        first.get("csrf_token"),
        "same CSRF value"
    );

    // An absent access cookie is refreshed too; a form post with the field works.
    browser.0.remove("access_token");
    let body = format!("_csrf={}&text=later", browser.get("csrf_token"));
    let saved = browser.send(form(&client, "/note", &body));
    assert_eq!(saved.status(), Status::SeeOther);
    browser.keep(&saved);

    // The first refresh cookie, replayed: reuse. It is refused, the login is revoked, and the
    // dead cookies are removed rather than tried again on every page.
    let mut replay = first.clone();
    replay.0.remove("access_token");
    let reused = replay.send(client.get("/"));
    assert_eq!(reused.status(), Status::SeeOther);
    let removed = |response: &LocalResponse<'_>| {
        let mut names: Vec<String> = set_cookies(response)
            .iter()
            .filter(|c| c.value().is_empty())
            .map(|c| c.name().to_owned())
            .collect();
        names.sort();
        names
    };
    assert!(
        removed(&reused).contains(&"refresh_token".to_owned()),
        "{:?}",
        removed(&reused)
    );
    browser.0.remove("access_token");
    let ended = browser.send(client.get("/"));
    assert_eq!(ended.status(), Status::SeeOther);
    assert!(removed(&ended).contains(&"refresh_token".to_owned()));
    browser.keep(&ended);
    assert!(browser.get("refresh_token").is_empty());
}

/// A copy of the cookies of a login that has ended (logged out elsewhere) is answered as no
/// token at all, and its dead cookies are removed rather than tried again on every page.
#[test]
fn an_ended_login_reads_as_no_token_and_drops_its_cookies() {
    let client = pages_client(json!({}));
    let browser = sign_in(&client);
    let mut stale = browser.clone();
    let csrf = browser.get("csrf_token");
    let logout = browser.send(form(&client, "/logout", &format!("_csrf={csrf}")));
    assert_eq!(logout.status(), Status::SeeOther);

    stale.0.remove("access_token");
    let page = stale.send(client.get("/"));
    assert_eq!(page.status(), Status::SeeOther);
    let removed: Vec<String> = set_cookies(&page)
        .iter()
        .filter(|c| c.value().is_empty())
        .map(|c| c.name().to_owned())
        .collect();
    assert!(removed.contains(&"refresh_token".to_owned()), "{removed:?}");
    stale.keep(&page);
    assert!(stale.get("refresh_token").is_empty());
}

#[rocket::get("/login")]
async fn cookie_login(
    cookies: rocket_paseto::PasetoCookies<'_>,
) -> Result<(), rocket_paseto::AuthError> {
    cookies.login("alice").issue().await?;
    cookies.remember("alice")?;
    cookies.add("cart", &["apple"])?;
    Ok(())
}

#[rocket::get("/logout")]
async fn cookie_logout(
    cookies: rocket_paseto::PasetoCookies<'_>,
) -> Result<(), rocket_paseto::AuthError> {
    cookies.logout().await.map(drop)
}

#[test]
fn domain_and_cookies_that_end_with_the_browser() {
    let mut paseto = keys();
    paseto["cookies"] = json!({ "domain": "example.com", "persistent": false });
    let client =
        Client::untracked(rocket(paseto, rocket::routes![cookie_login, cookie_logout])).unwrap();
    let set = set_cookies(&client.get("/login").dispatch());
    assert_eq!(set.len(), 5);
    for cookie in &set {
        assert_eq!(cookie.domain(), Some("example.com"), "{}", cookie.name());
        let remember = cookie.name() == "remember_token";
        assert_eq!(cookie.max_age().is_some(), remember, "{}", cookie.name());
    }
    let mut logout = client.get("/logout");
    for cookie in set {
        logout = logout.cookie(Cookie::new(
            cookie.name().to_owned(),
            cookie.value().to_owned(),
        ));
    }
    let removed = set_cookies(&logout.dispatch());
    assert_eq!(removed.len(), 4);
    assert!(removed.iter().all(|c| c.domain() == Some("example.com")));

    // Without `domain`, host-only cookies; without `session`, every cookie has a Max-Age.
    let client = Client::untracked(rocket(keys(), rocket::routes![cookie_login])).unwrap();
    for cookie in set_cookies(&client.get("/login").dispatch()) {
        assert_eq!(cookie.domain(), None);
        assert!(cookie.max_age().is_some(), "{}", cookie.name());
    }
}

#[test]
fn new_settings_are_checked_at_ignite() {
    let load = |extra: serde_json::Value| {
        let mut paseto = keys();
        for (key, value) in extra.as_object().unwrap() {
            paseto[key] = value.clone();
        }
        rocket_paseto::PasetoFairing::default().load(&figment(paseto))
    };
    let field = |extra| load(extra).unwrap_err().field().to_owned();
    let host = json!({
        "cookies": { "secure": true, "domain": "example.com", "csrf_cookie": "__Host-csrf" },
    });
    assert_eq!(field(host), "paseto.cookies.domain");
    let host_access = json!({
        "cookies": { "secure": true, "domain": "example.com" },
        "access": { "cookie": "__Host-access" },
    });
    assert_eq!(field(host_access), "paseto.cookies.domain");
    assert!(load(json!({ "cookies": { "secure": true, "domain": "example.com", "csrf_cookie": "__Secure-csrf" } })).is_ok());
    for bad in ["", "exa mple.com", "example..com", "a;b", "."] {
        assert_eq!(
            field(json!({ "cookies": { "domain": bad } })),
            "paseto.cookies.domain",
            "{bad}"
        );
    }
    assert!(load(json!({ "cookies": { "domain": ".example.com" } })).is_ok());

    assert_eq!(field(json!({ "csrf_field": "a b" })), "paseto.csrf_field");
    assert_eq!(
        field(json!({ "csrf_field": "x".repeat(65) })),
        "paseto.csrf_field"
    );
    assert!(load(json!({ "csrf_field": "" })).is_ok());

    let implicit = json!({ "implicit_refresh": true });
    let none = json!({ "store": "none" });
    assert_eq!(
        field(json!({ "cookies": implicit, "revocation": none })),
        "paseto.cookies.implicit_refresh"
    );
    // The default store serves.
    assert!(load(json!({ "cookies": implicit })).is_ok());
    let store = json!({ "store": "memory" });
    assert!(load(json!({ "cookies": implicit, "revocation": store })).is_ok());
    let narrow =
        json!({ "cookies": implicit, "revocation": store, "refresh": { "path": "/refresh" } });
    assert_eq!(field(narrow), "paseto.refresh.path");
    let no_cookie =
        json!({ "cookies": implicit, "revocation": store, "refresh": { "cookie": "" } });
    assert_eq!(field(no_cookie), "paseto.refresh.cookie");
}

#[test]
fn a_custom_field_name_and_a_form_without_a_body() {
    let client = pages_client(json!({ "csrf_field": "authenticity_token" }));
    let browser = sign_in(&client);
    let csrf = browser.get("csrf_token");
    let html = browser.send(client.get("/")).into_string().unwrap();
    assert!(html.contains(r#"name="authenticity_token""#), "{html}");
    let post = |body: String| browser.send(form(&client, "/note", &body)).status();
    assert_eq!(
        post(format!("authenticity_token={csrf}&text=x")),
        Status::SeeOther
    );
    assert_eq!(post(format!("_csrf={csrf}&text=x")), Status::Forbidden);
    assert_eq!(post(String::new()), Status::Forbidden);
    // Bad encodings never reach a 500.
    for body in [
        "authenticity_token=%ZZ&text=x",
        "authenticity_token=%FF%FE",
        "&&&=",
        "=&=",
    ] {
        assert_eq!(post(body.into()), Status::Forbidden, "{body}");
    }
}

/// After 5 wrong passwords for one username, the form answers 429 with `Retry-After` even for
/// the right one, and sets no cookie.
#[test]
fn the_login_form_is_throttled_after_five_failures() {
    let client = pages_client(json!({}));
    for _ in 0..5 {
        let wrong = form(&client, "/login", "username=test&password=nope").dispatch();
        assert_eq!(wrong.status(), Status::Unauthorized);
    }
    let right = form(&client, "/login", "username=test&password=test").dispatch();
    assert_eq!(right.status(), Status::TooManyRequests);
    assert!(right.headers().get_one("Retry-After").is_some());
    assert!(set_cookies(&right).is_empty());
    assert!(
        right
            .into_string()
            .unwrap()
            .contains("Too many failed attempts")
    );
}

/// Implicit refresh answers a WebSocket upgrade as the access guard does: another site's page
/// cannot have the refresh cookie rotated for its socket.
#[test]
fn implicit_refresh_refuses_another_sites_websocket_upgrade() {
    let client = pages_client(json!({}));
    let mut browser = sign_in(&client);
    browser.0.remove("access_token");
    let upgrade = |origin: &str| {
        let mut request = client
            .get("/")
            .header(Header::new("Connection", "Upgrade"))
            .header(Header::new("Upgrade", "websocket"))
            .header(Header::new("Origin", origin.to_owned()));
        request.set_host(rocket::http::uri::Host::parse("app.example").unwrap());
        request
    };
    // Not signed in (the page sends it to the login form), and nothing rotated.
    let refused = browser.send(upgrade("https://evil.example"));
    assert_eq!(refused.status(), Status::SeeOther);
    assert!(set_cookies(&refused).is_empty(), "nothing rotated");
    let own = browser.send(upgrade("http://app.example"));
    assert_eq!(own.status(), Status::Ok);
    assert!(!set_cookies(&own).is_empty(), "the refresh cookie rotated");
}
