//! `PasetoCookies`, `RememberMe` and tokens in cookies, through HTTP: every rejection path has a
//! case that fails without its check.

mod common;

use common::*;
use rocket::http::{Cookie, Header, SameSite, Status};
use rocket::local::blocking::{Client, LocalResponse};
use rocket::serde::json::Json;
use rocket::{get, post, routes};
use rocket_paseto::{Access, AuthError, Paseto, PasetoCookies, Refresh, RememberMe};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Serialize, Deserialize, Debug, PartialEq, Default)]
struct Cart {
    items: Vec<String>,
}

#[post("/cart/<item>")]
fn add(item: &str, cookies: PasetoCookies<'_>) -> Result<Json<Cart>, AuthError> {
    let mut cart: Cart = cookies.get("cart").unwrap_or_default();
    cart.items.push(item.to_owned());
    cookies.add("cart", &cart)?;
    Ok(Json(cart))
}

#[get("/cart")]
fn cart(cookies: PasetoCookies<'_>) -> Json<Option<Cart>> {
    Json(cookies.get("cart"))
}

#[get("/jar/<name>")]
fn read(name: &str, cookies: PasetoCookies<'_>) -> Json<Option<Value>> {
    Json(cookies.get(name))
}

#[post("/big")]
fn big(cookies: PasetoCookies<'_>) -> String {
    match cookies.add("big", &"x".repeat(5000)) {
        Err(rocket_paseto::CookieError::TooLarge(n)) => format!("too large: {n}"),
        other => format!("{other:?}"),
    }
}

#[post("/login?<remember>")]
async fn login(remember: bool, cookies: PasetoCookies<'_>) -> Result<Json<Value>, AuthError> {
    let pair = cookies.login("alice").issue().await?;
    if remember {
        cookies.remember("alice")?;
    }
    Ok(Json(json!({ "expires_in": pair.expires_in })))
}

#[post("/refresh")]
async fn refresh(token: Paseto<Refresh>, cookies: PasetoCookies<'_>) -> Result<(), AuthError> {
    cookies.refresh(&token).await
}

#[post("/logout")]
async fn logout(cookies: PasetoCookies<'_>) -> Result<(), AuthError> {
    cookies.logout().await.map(drop)
}

#[get("/user")]
fn user(token: Paseto<Access>) -> String {
    token.subject().to_owned()
}

#[post("/note")]
fn note(token: Paseto<Access>) -> String {
    format!("noted for {}", token.subject())
}

#[get("/remembered")]
fn remembered(user: RememberMe) -> String {
    user.subject().to_owned()
}

fn routes() -> Vec<rocket::Route> {
    routes![
        add,
        cart,
        read,
        big,
        login,
        refresh,
        logout,
        user,
        note,
        remembered,
        jar_under_remember
    ]
}

fn app(paseto: Value) -> Client {
    client(paseto, routes())
}

fn set_cookies(response: &LocalResponse<'_>) -> Vec<Cookie<'static>> {
    response
        .headers()
        .get("Set-Cookie")
        .map(|h| Cookie::parse(h.to_owned()).unwrap())
        .collect()
}

fn cookie_named<'a>(cookies: &'a [Cookie<'static>], name: &str) -> &'a Cookie<'static> {
    cookies
        .iter()
        .find(|c| c.name() == name)
        .unwrap_or_else(|| panic!("no {name} cookie in {cookies:?}"))
}

#[test]
fn jar_values_round_trip_with_safe_defaults() {
    let client = app(keys());
    let response = client.post("/cart/apple").dispatch();
    assert_eq!(response.status(), Status::Ok);
    let cookies = set_cookies(&response);
    let cart = cookie_named(&cookies, "cart");
    assert!(cart.value().starts_with("v4.local."));
    assert_eq!(cart.http_only(), Some(true));
    assert_eq!(cart.same_site(), Some(SameSite::Lax));
    assert_eq!(cart.path(), Some("/"));
    assert_ne!(cart.secure(), Some(true), "no TLS, secure = auto");
    assert_eq!(cart.max_age(), Some(rocket::time::Duration::seconds(86400)));
    // The tracked client sends it back.
    client.post("/cart/pear").dispatch();
    let read: Option<Cart> = client.get("/cart").dispatch().into_json().unwrap();
    assert_eq!(read.unwrap().items, ["apple", "pear"]);
}

#[test]
fn secure_can_be_forced_for_tls_proxies() {
    let mut paseto = keys();
    paseto["cookies"] = json!({ "secure": true, "same_site": "strict" });
    let client = app(paseto);
    let response = client.post("/cart/apple").dispatch();
    let cookies = set_cookies(&response);
    let cart = cookie_named(&cookies, "cart");
    assert_eq!(cart.secure(), Some(true));
    assert_eq!(cart.same_site(), Some(SameSite::Strict));
}

fn read_raw(client: &Client, name: &str, value: String) -> Value {
    let response = client
        .get(format!("/jar/{name}"))
        .cookie(Cookie::new(name.to_owned(), value))
        .dispatch();
    assert_eq!(response.status(), Status::Ok);
    response.into_json().unwrap()
}

fn sealed_value(client: &Client) -> String {
    let response = client.post("/cart/apple").dispatch();
    cookie_named(&set_cookies(&response), "cart")
        .value()
        .to_owned()
}

#[test]
fn tampered_renamed_expired_and_foreign_values_read_as_none() {
    let client = Client::untracked(rocket(keys(), routes())).unwrap();
    let value = sealed_value(&client);
    assert_eq!(
        read_raw(&client, "cart", value.clone())["items"],
        json!(["apple"])
    );

    let mut tampered = value.clone().into_bytes();
    tampered[30] = if tampered[30] == b'A' { b'B' } else { b'A' };
    assert_eq!(
        read_raw(&client, "cart", String::from_utf8(tampered).unwrap()),
        Value::Null
    );
    // Copied under another name: the name is bound into the token.
    assert_eq!(read_raw(&client, "basket", value.clone()), Value::Null);
    // Foreign: sealed the same way under another key.
    let payload = json!({ "exp": time(now() + time::Duration::hours(1)), "iat": time(now()), "v": { "items": ["x"] } });
    let key =
        pasetors::keys::SymmetricKey::<pasetors::version4::V4>::try_from(OTHER_LOCAL).unwrap();
    let foreign = pasetors::version4::LocalToken::encrypt(
        &key,
        payload.to_string().as_bytes(),
        None,
        Some(b"rocket_paseto cookie cart"),
    )
    .unwrap();
    assert_eq!(read_raw(&client, "cart", foreign), Value::Null);
    // Expired: our key and binding, exp in the past (the browser's expiry is not trusted).
    let expired = json!({ "exp": time(now() - time::Duration::seconds(5)), "iat": time(now()), "v": { "items": ["x"] } });
    let key = pasetors::keys::SymmetricKey::<pasetors::version4::V4>::try_from(LOCAL).unwrap();
    let sealed = |p: &Value| {
        pasetors::version4::LocalToken::encrypt(
            &key,
            p.to_string().as_bytes(),
            None,
            Some(b"rocket_paseto cookie cart"),
        )
        .unwrap()
    };
    assert_eq!(read_raw(&client, "cart", sealed(&expired)), Value::Null);
    let fresh = json!({ "exp": time(now() + time::Duration::hours(1)), "iat": time(now()), "v": { "items": ["x"] } });
    assert_eq!(
        read_raw(&client, "cart", sealed(&fresh))["items"],
        json!(["x"])
    );
    // Legacy or junk values.
    for junk in ["", "plain", "v4.local.", "v2.local.AAAA"] {
        assert_eq!(read_raw(&client, "cart", junk.into()), Value::Null);
    }
}

#[test]
fn jar_values_are_not_bearer_tokens_and_tokens_are_not_jar_values() {
    let client = Client::untracked(rocket(keys(), routes())).unwrap();
    let value = sealed_value(&client);
    assert_eq!(
        client
            .get("/user")
            .header(bearer(&value))
            .dispatch()
            .status(),
        Status::Unauthorized
    );
    let access = local_token(&claims("access"));
    assert_eq!(read_raw(&client, "cart", access), Value::Null);
}

#[test]
fn previous_local_keys_still_open_jar_values() {
    let mut old = keys();
    old["local_key"] = json!(OTHER_LOCAL);
    let before = Client::untracked(rocket(old, routes())).unwrap();
    let value = sealed_value(&before);
    let mut rotated = keys();
    rotated["previous_local_keys"] = json!([OTHER_LOCAL]);
    let after = Client::untracked(rocket(rotated, routes())).unwrap();
    assert_eq!(
        read_raw(&after, "cart", value.clone())["items"],
        json!(["apple"])
    );
    let forgotten = Client::untracked(rocket(keys(), routes())).unwrap();
    assert_eq!(read_raw(&forgotten, "cart", value), Value::Null);
}

#[test]
fn values_too_large_for_a_cookie_are_refused() {
    let client = app(keys());
    let text = client.post("/big").dispatch().into_string().unwrap();
    assert!(text.starts_with("too large: "), "{text}");
}

#[test]
fn login_sets_token_and_csrf_cookies_and_logout_removes_them() {
    let mut paseto = keys();
    paseto["refresh"] = json!({ "path": "/refresh" });
    let client = app(paseto);
    let response = client.post("/login?remember=true").dispatch();
    assert_eq!(response.status(), Status::Ok);
    let cookies = set_cookies(&response);
    let access = cookie_named(&cookies, "access_token");
    let refresh = cookie_named(&cookies, "refresh_token");
    let csrf = cookie_named(&cookies, "csrf_token");
    let remember = cookie_named(&cookies, "remember_token");
    assert_eq!((access.http_only(), access.path()), (Some(true), Some("/")));
    assert_eq!(access.max_age(), Some(rocket::time::Duration::seconds(900)));
    assert_eq!(
        (refresh.http_only(), refresh.path()),
        (Some(true), Some("/refresh"))
    );
    assert_eq!(
        refresh.max_age(),
        Some(rocket::time::Duration::seconds(1_209_600))
    );
    assert_ne!(
        csrf.http_only(),
        Some(true),
        "scripts must read the CSRF cookie"
    );
    assert_eq!(csrf.value().len(), 22);
    assert_eq!(
        remember.max_age(),
        Some(rocket::time::Duration::seconds(2_592_000))
    );
    for c in [access, refresh, csrf, remember] {
        assert_eq!(c.same_site(), Some(SameSite::Lax), "{}", c.name());
    }

    let logout = client
        .post("/logout")
        .header(Header::new("X-CSRF-Token", csrf.value().to_owned()))
        .dispatch();
    let removed = set_cookies(&logout);
    for name in [
        "access_token",
        "refresh_token",
        "csrf_token",
        "remember_token",
    ] {
        let c = cookie_named(&removed, name);
        assert_eq!(c.value(), "", "{name}");
        assert_eq!(c.max_age(), Some(rocket::time::Duration::ZERO), "{name}");
    }
    assert_eq!(
        cookie_named(&removed, "refresh_token").path(),
        Some("/refresh")
    );
}

#[test]
fn cookie_tokens_need_the_csrf_header_from_the_csrf_cookie() {
    let client = app(keys());
    let response = client.post("/login?remember=false").dispatch();
    let csrf = cookie_named(&set_cookies(&response), "csrf_token")
        .value()
        .to_owned();
    assert_eq!(
        client.get("/user").dispatch().into_string().unwrap(),
        "alice"
    );
    assert_eq!(client.post("/note").dispatch().status(), Status::Forbidden);
    let wrong = client
        .post("/note")
        .header(Header::new("X-CSRF-Token", "nope"))
        .dispatch();
    assert_eq!(wrong.status(), Status::Forbidden);
    let ok = client
        .post("/note")
        .header(Header::new("X-CSRF-Token", csrf.clone()))
        .dispatch();
    assert_eq!(ok.into_string().unwrap(), "noted for alice");

    // Refreshing by cookie is an unsafe method too, and keeps the same CSRF value.
    assert_eq!(
        client.post("/refresh").dispatch().status(),
        Status::Forbidden
    );
    let refreshed = client
        .post("/refresh")
        .header(Header::new("X-CSRF-Token", csrf.clone()))
        .dispatch();
    assert_eq!(refreshed.status(), Status::Ok);
    let new_access = cookie_named(&set_cookies(&refreshed), "access_token")
        .value()
        .to_owned();
    let ok = client
        .post("/note")
        .cookie(Cookie::new("access_token", new_access))
        .header(Header::new("X-CSRF-Token", csrf))
        .dispatch();
    assert_eq!(ok.status(), Status::Ok);
}

#[test]
fn remember_me_reads_only_its_own_cookie_and_kind() {
    let client = Client::untracked(rocket(keys(), routes())).unwrap();
    let response = client.post("/login?remember=true").dispatch();
    let cookies = set_cookies(&response);
    let remember = cookie_named(&cookies, "remember_token").value().to_owned();
    let access = cookie_named(&cookies, "access_token").value().to_owned();
    let refresh = cookie_named(&cookies, "refresh_token").value().to_owned();

    let with = |name: &str, value: &str, path: &str| {
        client
            .get(path.to_owned())
            .cookie(Cookie::new(name.to_owned(), value.to_owned()))
            .dispatch()
            .status()
    };
    assert_eq!(with("remember_token", &remember, "/remembered"), Status::Ok);
    assert_eq!(
        client.get("/remembered").dispatch().status(),
        Status::Unauthorized
    );
    // Remember-me is not an access token, as a cookie or as a bearer token…
    assert_eq!(
        with("access_token", &remember, "/user"),
        Status::Unauthorized
    );
    assert_eq!(
        client
            .get("/user")
            .header(bearer(&remember))
            .dispatch()
            .status(),
        Status::Unauthorized
    );
    // …and access or refresh tokens are not remember-me tokens.
    assert_eq!(
        with("remember_token", &access, "/remembered"),
        Status::Unauthorized
    );
    assert_eq!(
        with("remember_token", &refresh, "/remembered"),
        Status::Unauthorized
    );
    // A bearer header does not count for RememberMe.
    assert_eq!(
        client
            .get("/remembered")
            .header(bearer(&remember))
            .dispatch()
            .status(),
        Status::Unauthorized
    );
    // Bound to its cookie's name: renamed, it fails.
    let mut paseto = keys();
    paseto["remember_me"] = json!({ "cookie": "keep_me" });
    let renamed = Client::untracked(rocket(paseto, routes())).unwrap();
    let response = renamed
        .get("/remembered")
        .cookie(Cookie::new("keep_me", remember))
        .dispatch();
    assert_eq!(response.status(), Status::Unauthorized);
}

#[test]
fn remember_me_renews_itself_when_configured() {
    let mut paseto = keys();
    paseto["remember_me"] = json!({ "renew_after": 0.5, "ttl": 3600 });
    let client = Client::untracked(rocket(paseto, routes())).unwrap();
    // A token issued 40 minutes ago with a one-hour lifetime is past half-way.
    let mut c = claims("remember_me");
    c.insert(
        "iat".into(),
        time(now() - time::Duration::minutes(40)).into(),
    );
    c.insert(
        "nbf".into(),
        time(now() - time::Duration::minutes(40)).into(),
    );
    c.insert(
        "exp".into(),
        time(now() + time::Duration::minutes(20)).into(),
    );
    let payload = Value::Object(c).to_string();
    let key = pasetors::keys::SymmetricKey::<pasetors::version4::V4>::try_from(LOCAL).unwrap();
    let old = pasetors::version4::LocalToken::encrypt(
        &key,
        payload.as_bytes(),
        None,
        Some(b"rocket_paseto cookie remember_token"),
    )
    .unwrap();
    let response = client
        .get("/remembered")
        .cookie(Cookie::new("remember_token", old.clone()))
        .dispatch();
    assert_eq!(response.status(), Status::Ok);
    let renewed = set_cookies(&response);
    let fresh = cookie_named(&renewed, "remember_token");
    assert_ne!(fresh.value(), old);
    assert_eq!(fresh.max_age(), Some(rocket::time::Duration::seconds(3600)));
    // A young token is left alone.
    let young = client
        .get("/remembered")
        .cookie(Cookie::new("remember_token", fresh.value().to_owned()))
        .dispatch();
    assert_eq!(young.status(), Status::Ok);
    assert!(set_cookies(&young).is_empty());
}

#[test]
fn cookie_guards_need_the_fairing_and_a_local_key() {
    let bare = rocket::custom(figment(keys())).mount("/", routes![cart]);
    let error = rocket::execute(bare.ignite()).unwrap_err();
    assert!(matches!(
        error.kind(),
        rocket::error::ErrorKind::SentinelAborts(_)
    ));
    let public_only = json!({
        "secret_key": SECRET,
        "access": { "purpose": "public" },
        "refresh": { "purpose": "public" },
    });
    let keyless = rocket::custom(figment(public_only).select("release"))
        .attach(rocket_paseto::PasetoFairing::default())
        .mount("/", routes![remembered]);
    let error = rocket::execute(keyless.ignite()).unwrap_err();
    assert!(matches!(
        error.kind(),
        rocket::error::ErrorKind::SentinelAborts(_)
    ));
}

#[get("/jar-named/<name>")]
fn bad_name(name: &str, cookies: PasetoCookies<'_>) -> String {
    format!("{:?}", cookies.add(name, &1).err())
}

/// A jar value in a cookie named `name`, on `path`, for `domain`.
#[get("/jar-cookie/<name>?<path>&<domain>")]
fn jar_cookie(
    name: &str,
    path: Option<&str>,
    domain: Option<&str>,
    cookies: PasetoCookies<'_>,
) -> String {
    let mut template = Cookie::new(name.to_owned(), "");
    if let Some(path) = path {
        template.set_path(path.to_owned());
    }
    if let Some(domain) = domain {
        template.set_domain(domain.to_owned());
    }
    let ttl = std::time::Duration::from_secs(60);
    format!("{:?}", cookies.add_cookie(template, &1, ttl).err())
}

#[get("/refresh-by-header")]
async fn refresh_by_header(
    token: Paseto<Refresh>,
    cookies: PasetoCookies<'_>,
) -> Result<(), AuthError> {
    cookies.refresh(&token).await
}

#[test]
fn remember_me_and_jar_values_never_stand_in_for_each_other() {
    let client = Client::untracked(rocket(keys(), routes())).unwrap();
    let response = client.post("/login?remember=true").dispatch();
    let remember = cookie_named(&set_cookies(&response), "remember_token")
        .value()
        .to_owned();
    // A remember-me token read as a jar value under its own cookie name: not a sealed value.
    assert_eq!(read_raw(&client, "remember_token", remember), Value::Null);
    // A jar value stored under the remember-me cookie's name: not a remember-me token.
    let sealed = client.get("/jar-under-remember").dispatch();
    assert_eq!(sealed.status(), Status::Ok);
    let value = cookie_named(&set_cookies(&sealed), "remember_token")
        .value()
        .to_owned();
    let response = client
        .get("/remembered")
        .cookie(Cookie::new("remember_token", value))
        .dispatch();
    assert_eq!(response.status(), Status::Unauthorized);
}

#[get("/jar-under-remember")]
fn jar_under_remember(cookies: PasetoCookies<'_>) -> Result<(), AuthError> {
    cookies.add(
        "remember_token",
        &json!({ "sub": "mallory", "type": "remember_me" }),
    )?;
    Ok(())
}

#[test]
fn invalid_names_and_values_too_long_to_read_back_are_refused() {
    let client = client(keys(), routes![bad_name]);
    assert_eq!(
        client
            .get("/jar-named/a%3Db")
            .dispatch()
            .into_string()
            .unwrap(),
        "Some(InvalidName)"
    );
    assert_eq!(
        client
            .get("/jar-named/ok")
            .dispatch()
            .into_string()
            .unwrap(),
        "None"
    );
    // With the smallest cap, even an empty cart would not fit: refused, not written unreadable.
    let mut tiny = keys();
    tiny["max_token_length"] = json!(256);
    let client = super_client(tiny);
    // Too much to store is the request's fault: 413 with the crate's JSON body, not a 500.
    let response = client.post("/cart/apple").dispatch();
    assert_eq!(response.status(), Status::PayloadTooLarge);
    assert_eq!(
        response.into_string().unwrap(),
        r#"{"error":"too_large","message":"The value is too large to store."}"#
    );
    let mut small = keys();
    small["max_token_length"] = json!(600);
    let client = super_client(small);
    let text = client.post("/big").dispatch().into_string().unwrap();
    assert!(text.starts_with("too large: "), "{text}");
    let cart = client.post("/cart/apple").dispatch();
    assert_eq!(cart.status(), Status::Ok, "small values still fit");
}

fn super_client(paseto: Value) -> Client {
    client(paseto, routes())
}

#[test]
fn refreshing_with_a_header_token_starts_a_csrf_value() {
    let client = client(keys(), routes![refresh_by_header, note]);
    let issuer = client.rocket().state::<rocket_paseto::Issuer>().unwrap();
    let response = client
        .get("/refresh-by-header")
        .header(issuer.refresh("alice").header().unwrap())
        .dispatch();
    assert_eq!(response.status(), Status::Ok);
    let cookies = set_cookies(&response);
    let csrf = cookie_named(&cookies, "csrf_token").value().to_owned();
    let access = cookie_named(&cookies, "access_token").value().to_owned();
    let note = client
        .post("/note")
        .cookie(Cookie::new("access_token", access))
        .header(Header::new("X-CSRF-Token", csrf))
        .dispatch();
    assert_eq!(note.status(), Status::Ok);
}

#[test]
fn same_site_none_adds_secure_and_removals_carry_the_attributes() {
    let mut paseto = keys();
    paseto["cookies"] = json!({ "same_site": "none" });
    let client = app(paseto);
    let login = client.post("/login?remember=true").dispatch();
    let cookies = set_cookies(&login);
    let csrf = cookie_named(&cookies, "csrf_token").value().to_owned();
    for c in &cookies {
        assert_eq!(
            (c.same_site(), c.secure()),
            (Some(SameSite::None), Some(true)),
            "{}",
            c.name()
        );
    }
    let logout = client
        .post("/logout")
        .header(Header::new("X-CSRF-Token", csrf))
        .dispatch();
    for c in set_cookies(&logout) {
        assert_eq!(
            (c.same_site(), c.secure()),
            (Some(SameSite::None), Some(true)),
            "removal of {}",
            c.name()
        );
    }
}

#[test]
fn cookie_names_must_not_collide() {
    let mut paseto = keys();
    paseto["cookies"] = json!({ "csrf_cookie": "access_token" });
    let err = rocket_paseto::PasetoFairing::default()
        .load(&figment(paseto))
        .unwrap_err();
    assert_eq!(err.field(), "paseto.cookies.csrf_cookie");
    assert!(err.message().contains("access"), "{err}");
    let mut paseto = keys();
    paseto["remember_me"] = json!({ "cookie": "refresh_token" });
    let err = rocket_paseto::PasetoFairing::default()
        .load(&figment(paseto))
        .unwrap_err();
    assert_eq!(err.field(), "paseto.remember_me.cookie");
}

#[test]
fn host_prefixed_cookies_work_end_to_end() {
    let mut paseto = keys();
    paseto["cookies"] = json!({ "secure": true, "csrf_cookie": "__Host-csrf" });
    paseto["access"] = json!({ "cookie": "__Host-access" });
    paseto["refresh"] = json!({ "cookie": "__Host-refresh" });
    paseto["remember_me"] = json!({ "cookie": "__Host-remember" });
    let client = app(paseto);
    let login = client.post("/login?remember=true").dispatch();
    assert_eq!(login.status(), Status::Ok);
    let cookies = set_cookies(&login);
    for name in [
        "__Host-access",
        "__Host-refresh",
        "__Host-csrf",
        "__Host-remember",
    ] {
        let cookie = cookie_named(&cookies, name);
        assert_eq!(
            (cookie.secure(), cookie.path(), cookie.domain()),
            (Some(true), Some("/"), None),
            "{name}"
        );
    }
    let csrf = cookie_named(&cookies, "__Host-csrf").value().to_owned();
    // The client sends them back, and the guards read them.
    assert_eq!(
        client.get("/user").dispatch().into_string().unwrap(),
        "alice"
    );
    assert_eq!(
        client.get("/remembered").dispatch().into_string().unwrap(),
        "alice"
    );
    let note = client
        .post("/note")
        .header(Header::new("X-CSRF-Token", csrf.clone()))
        .dispatch();
    assert_eq!(note.status(), Status::Ok);
    let logout = client
        .post("/logout")
        .header(Header::new("X-CSRF-Token", csrf))
        .dispatch();
    for c in set_cookies(&logout) {
        assert_eq!(
            (c.secure(), c.path()),
            (Some(true), Some("/")),
            "removal of {}",
            c.name()
        );
    }
    assert_eq!(
        client.get("/user").dispatch().status(),
        Status::Unauthorized
    );
}

#[test]
fn jar_cookies_breaking_their_prefix_are_refused() {
    let call = |paseto: Value, uri: &str| {
        let client = client(paseto, routes![jar_cookie]);
        client.get(uri.to_owned()).dispatch().into_string().unwrap()
    };
    let mut secure = keys();
    secure["cookies"] = json!({ "secure": true });
    // Without TLS, `secure = "auto"` leaves `Secure` out: browsers would drop these.
    assert_eq!(call(keys(), "/jar-cookie/__Host-cart"), "Some(Prefix)");
    assert_eq!(call(keys(), "/jar-cookie/__secure-cart"), "Some(Prefix)");
    assert_eq!(call(keys(), "/jar-cookie/cart"), "None");
    assert_eq!(call(secure.clone(), "/jar-cookie/__Host-cart"), "None");
    assert_eq!(
        call(secure.clone(), "/jar-cookie/__Host-cart?path=/cart"),
        "Some(Prefix)"
    );
    assert_eq!(
        call(secure.clone(), "/jar-cookie/__Host-cart?domain=example.com"),
        "Some(Prefix)"
    );
    assert_eq!(
        call(
            secure,
            "/jar-cookie/__Secure-cart?path=/cart&domain=example.com"
        ),
        "None"
    );
}
