//! The examples as users run them: `basic`'s HTTP contract, `keygen`'s output as real config
//! through `ROCKET_PASETO` and `ROCKET_CONFIG`, launch errors, and the sentinel's message.

mod common;

#[allow(dead_code)]
#[path = "../examples/basic.rs"]
mod basic;

#[allow(dead_code)]
#[path = "../examples/cookies.rs"]
mod cookies_app;

#[allow(dead_code)]
#[path = "../examples/bench_server.rs"]
mod bench_server;

use common::*;
use rocket::http::{ContentType, Status};
use rocket::local::blocking::Client;
use serde_json::{Value, json};

fn login(client: &Client, username: &str, password: &str) -> (Status, Value) {
    let response = client
        .post("/login")
        .header(ContentType::JSON)
        .body(json!({ "username": username, "password": password }).to_string())
        .dispatch();
    let status = response.status();
    (status, response.into_json().unwrap_or(Value::Null))
}

#[test]
fn basic_serves_its_contract() {
    // The repository's Rocket.toml gives the debug profile its demo keys.
    let client = Client::tracked(basic::rocket()).unwrap();

    let (status, tokens) = login(&client, "test", "test");
    assert_eq!(status, Status::Ok);
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();

    let user = client.get("/user").header(bearer(access)).dispatch();
    assert_eq!(user.status(), Status::Ok);
    assert_eq!(
        user.into_json::<Value>().unwrap(),
        json!({ "user": "test" })
    );

    let renewed = client.post("/refresh").header(bearer(refresh)).dispatch();
    assert_eq!(renewed.status(), Status::Ok);
    let renewed: Value = renewed.into_json().unwrap();
    let new_access = renewed["access_token"].as_str().unwrap();
    assert_eq!(
        client
            .get("/user")
            .header(bearer(new_access))
            .dispatch()
            .status(),
        Status::Ok
    );

    // Refresh tokens do not open /user, access tokens do not refresh.
    assert_eq!(
        client
            .get("/user")
            .header(bearer(refresh))
            .dispatch()
            .status(),
        Status::Unauthorized
    );
    assert_eq!(
        client
            .post("/refresh")
            .header(bearer(access))
            .dispatch()
            .status(),
        Status::Unauthorized
    );

    // Logging out with the refresh token alone ends the login: the access tokens of the pair
    // and the one minted from it at /refresh.
    let logout = client.post("/logout").header(bearer(refresh)).dispatch();
    assert_eq!(logout.status(), Status::Ok);
    let revoked: Value = logout.into_json().unwrap();
    assert_eq!(revoked["refused"], json!(["access", "refresh"]));
    for token in [access, new_access] {
        let status = client
            .get("/user")
            .header(bearer(token))
            .dispatch()
            .status();
        assert_eq!(status, Status::Unauthorized);
    }
    // Token responses are never cached.
    let response = client
        .post("/login")
        .header(ContentType::JSON)
        .body(json!({ "username": "test", "password": "test" }).to_string())
        .dispatch();
    assert_eq!(
        response.headers().get_one("Cache-Control"),
        Some("no-store")
    );

    for (username, password) in [("test", "wrong"), ("nobody", "test"), ("", "")] {
        let (status, body) = login(&client, username, password);
        assert_eq!(status, Status::Unauthorized);
        assert_eq!(body["error"], "invalid_credentials");
    }
    let garbage = client
        .post("/login")
        .header(ContentType::JSON)
        .body("{not json")
        .dispatch();
    assert_eq!(garbage.status(), Status::Unauthorized);

    let missing = client.get("/user").dispatch();
    assert_eq!(missing.status(), Status::Unauthorized);
    assert_eq!(missing.content_type(), Some(ContentType::JSON));
    let bad = client
        .get("/user")
        .header(bearer("v4.local.nope"))
        .dispatch();
    assert_eq!(bad.status(), Status::Unauthorized);
    assert_eq!(bad.into_json::<Value>().unwrap()["error"], "invalid_token");
}

/// `keygen`'s keys, as (local_key, secret_key, public key).
fn keygen() -> (String, String, String) {
    let output = run_example("keygen", &[]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.starts_with("[default.paseto]\n"), "{text}");
    let value = |prefix: &str| {
        let line = text.lines().find(|l| l.starts_with(prefix)).unwrap();
        line.split('"').nth(1).unwrap().to_owned()
    };
    (
        value("local_key = "),
        value("secret_key = "),
        value("# public_keys = "),
    )
}

#[test]
fn keygen_keys_configure_basic_through_rocket_paseto() {
    let (local, secret, public) = keygen();
    assert!(
        local.starts_with("k4.local.")
            && secret.starts_with("k4.secret.")
            && public.starts_with("k4.public.")
    );
    let paseto = format!(r#"{{local_key="{local}",secret_key="{secret}"}}"#);
    let server = serve_example(
        "basic",
        &[("ROCKET_PROFILE", "release"), ("ROCKET_PASETO", &paseto)],
    );

    let tokens = demo_login(server.port);
    let access = tokens["access_token"].as_str().unwrap();
    // The token is encrypted with the key from the environment, not the demo key.
    let issuer = rocket_paseto::PasetoFairing::default()
        .load(&figment(json!({ "local_key": local })).select("release"))
        .unwrap();
    assert!(issuer.verify::<rocket_paseto::Access>(access).is_ok());

    let auth = format!("Bearer {access}");
    let (status, body) = http(server.port, "GET", "/user", &[("Authorization", &auth)], "");
    assert_eq!((status, body.as_str()), (200, r#"{"user":"test"}"#));
    let (status, _) = http(
        server.port,
        "GET",
        "/user",
        &[("Authorization", "Bearer x")],
        "",
    );
    assert_eq!(status, 401);
}

#[test]
fn rocket_config_files_work_too() {
    let (local, _, _) = keygen();
    let dir = std::env::temp_dir().join(format!("rocket-paseto-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("Rocket.toml");
    std::fs::write(
        &file,
        format!("[release.paseto]\nlocal_key = \"{local}\"\n[release.paseto.access]\nttl = 60\n"),
    )
    .unwrap();
    let server = serve_example(
        "basic",
        &[
            ("ROCKET_PROFILE", "release"),
            ("ROCKET_CONFIG", file.to_str().unwrap()),
        ],
    );
    let tokens = demo_login(server.port);
    assert_eq!(tokens["expires_in"], 60);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_config_exits_non_zero_naming_the_field_without_key_material() {
    let (local, secret, public) = keygen();
    let cases = [
        (
            format!(r#"{{secret_key="{secret}"}}"#),
            "paseto.local_key",
            secret.clone(),
        ),
        (
            format!(r#"{{local_key="{public}"}}"#),
            "paseto.local_key",
            public.clone(),
        ),
        (
            format!(r#"{{local_key="{secret}"}}"#),
            "paseto.local_key",
            secret.clone(),
        ),
        (
            format!(r#"{{local_key="{local}",secret_key="{local}"}}"#),
            "paseto.secret_key",
            local.clone(),
        ),
        (
            format!(r#"{{local_key="{local}",access={{ttl=-1}}}}"#),
            "paseto.access.ttl",
            local.clone(),
        ),
        (
            format!(r#"{{local_key="{local}",refresh={{purpose="sealed"}}}}"#),
            "paseto.refresh.purpose",
            local.clone(),
        ),
        (
            format!(r#"{{local_key="{local}",leeway="{secret}"}}"#),
            "paseto.leeway",
            secret.clone(),
        ),
    ];
    for (paseto, field, key) in cases {
        let output = run_example(
            "basic",
            &[("ROCKET_PROFILE", "release"), ("ROCKET_PASETO", &paseto)],
        );
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!output.status.success(), "{paseto} launched");
        assert!(text.contains(field), "{field} not named in:\n{text}");
        let data = key.rsplit('.').next().unwrap();
        assert!(!text.contains(data), "key material printed:\n{text}");
    }
    // No key at all outside debug.
    let output = run_example("basic", &[("ROCKET_PROFILE", "release")]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("paseto.local_key"));
}

/// Runs the body in a child process (this test binary again) so Rocket's log can be read.
#[test]
fn the_sentinel_message_names_the_fairing() {
    if std::env::var_os("ROCKET_PASETO_SENTINEL_CHILD").is_some() {
        #[rocket::get("/")]
        fn guarded(token: rocket_paseto::Paseto<rocket_paseto::Access>) -> String {
            token.subject().into()
        }
        let config = rocket::figment::Figment::from(rocket::Config::debug_default())
            .merge(("log_level", "normal"))
            .merge(("cli_colors", false));
        let rocket = rocket::custom(config).mount("/", rocket::routes![guarded]);
        let error = rocket::execute(rocket.ignite()).unwrap_err();
        assert!(matches!(
            error.kind(),
            rocket::error::ErrorKind::SentinelAborts(_)
        ));
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_sentinel_message_names_the_fairing",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ROCKET_PASETO_SENTINEL_CHILD", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    assert!(text.contains("`PasetoFairing` is not attached"), "{text}");
}

#[test]
fn cookies_serves_its_contract() {
    use rocket::http::Header;

    let client = Client::tracked(cookies_app::rocket()).unwrap();
    let page = client.get("/").dispatch();
    assert_eq!(page.content_type(), Some(ContentType::HTML));
    assert!(page.into_string().unwrap().contains(r#"<form id="login""#));

    let wrong = client
        .post("/login")
        .header(ContentType::Form)
        .body("username=test&password=nope")
        .dispatch();
    assert_eq!(wrong.status(), Status::Unauthorized);
    assert!(client.cookies().get("access_token").is_none());
    let garbage = client
        .post("/login")
        .header(ContentType::JSON)
        .body("{")
        .dispatch();
    assert_eq!(garbage.status(), Status::Unauthorized);

    let form = client
        .post("/login")
        .header(ContentType::Form)
        .body("username=test&password=test&remember=on")
        .dispatch();
    assert_eq!(form.status(), Status::Ok);
    for name in [
        "access_token",
        "refresh_token",
        "csrf_token",
        "remember_token",
    ] {
        assert!(client.cookies().get(name).is_some(), "{name} not set");
    }
    let csrf = client
        .cookies()
        .get("csrf_token")
        .unwrap()
        .value()
        .to_owned();

    assert_eq!(
        client.get("/user").dispatch().into_json::<Value>().unwrap(),
        json!({ "user": "test" })
    );
    assert_eq!(
        client
            .get("/remembered")
            .dispatch()
            .into_json::<Value>()
            .unwrap(),
        json!({ "user": "test" })
    );

    let note = || {
        client
            .post("/note")
            .header(ContentType::JSON)
            .body(r#"{"text":"hi"}"#)
    };
    assert_eq!(note().dispatch().status(), Status::Forbidden);
    let saved = note()
        .header(Header::new("X-CSRF-Token", csrf.clone()))
        .dispatch();
    assert_eq!(
        saved.into_json::<Value>().unwrap(),
        json!({ "user": "test", "saved": "hi" })
    );

    let cookie_value = |name: &str| client.cookies().get(name).unwrap().value().to_owned();
    let old_access = cookie_value("access_token");
    let old_refresh = cookie_value("refresh_token");
    let refreshed = client
        .post("/refresh")
        .header(Header::new("X-CSRF-Token", csrf.clone()))
        .dispatch();
    assert_eq!(refreshed.status(), Status::Ok);
    assert_ne!(cookie_value("access_token"), old_access);
    // Rotation: a new refresh cookie; the CSRF value (and cookie) stay.
    assert_ne!(cookie_value("refresh_token"), old_refresh);
    assert_eq!(cookie_value("csrf_token"), csrf);
    let session = ["access_token", "refresh_token"].map(|name| (name, cookie_value(name)));

    assert_eq!(
        client.get("/cart").dispatch().into_json::<Value>().unwrap(),
        json!({ "items": [] })
    );
    let cart = || {
        client
            .post("/cart")
            .header(ContentType::JSON)
            .body(r#"{"items":["apple"]}"#)
    };
    assert_eq!(
        cart().dispatch().status(),
        Status::Forbidden,
        "CSRF applies to the cart too"
    );
    assert_eq!(
        cart()
            .header(Header::new("X-CSRF-Token", csrf.clone()))
            .dispatch()
            .status(),
        Status::Ok
    );
    assert_eq!(
        client.get("/cart").dispatch().into_json::<Value>().unwrap(),
        json!({ "items": ["apple"] })
    );

    let json_login = Client::tracked(cookies_app::rocket()).unwrap();
    let response = json_login
        .post("/login")
        .header(ContentType::JSON)
        .body(r#"{"username":"test","password":"test"}"#)
        .dispatch();
    assert_eq!(response.status(), Status::Ok);
    assert!(
        json_login.cookies().get("remember_token").is_none(),
        "remember defaults to off"
    );

    assert_eq!(
        client.post("/logout").dispatch().status(),
        Status::Forbidden,
        "a forged logout"
    );
    let out = client
        .post("/logout")
        .header(Header::new("X-CSRF-Token", csrf.clone()))
        .dispatch();
    assert_eq!(out.status(), Status::Ok);
    for name in [
        "access_token",
        "refresh_token",
        "csrf_token",
        "remember_token",
        "cart",
    ] {
        assert!(
            client.cookies().get(name).is_none(),
            "{name} survived logout"
        );
    }
    assert_eq!(
        client.get("/user").dispatch().status(),
        Status::Unauthorized
    );
    assert_eq!(
        client.get("/remembered").dispatch().status(),
        Status::Unauthorized
    );
    // Logout revoked the session: copies of its cookies no longer work.
    for (name, value) in session {
        let path = if name == "access_token" {
            "/user"
        } else {
            "/refresh"
        };
        let replay = if name == "access_token" {
            client.get(path)
        } else {
            client.post(path)
        };
        let status = replay
            .cookie(rocket::http::Cookie::new(name, value))
            .header(Header::new("X-CSRF-Token", csrf.clone()))
            .dispatch()
            .status();
        assert_eq!(status, Status::Unauthorized, "{name} survived logout");
    }
}

/// Login CSRF: another site's page posting the demo credentials gets a 403 and no cookie.
#[test]
fn cookies_refuses_cross_site_logins() {
    use rocket::http::Header;
    use rocket::http::uri::Host;

    let client = Client::tracked(cookies_app::rocket()).unwrap();
    let login = |origin: &str| {
        let mut request = client
            .post("/login")
            .header(ContentType::Form)
            .header(Header::new("Origin", origin.to_owned()))
            .body("username=test&password=test");
        request
            .inner_mut()
            .set_host(Host::parse("127.0.0.1:8000").unwrap());
        request.dispatch()
    };
    for origin in ["https://evil.example", "null", "http://127.0.0.1:8001"] {
        let forged = login(origin);
        assert_eq!(forged.status(), Status::Forbidden, "{origin}");
        assert_eq!(forged.headers().get("Set-Cookie").count(), 0, "{origin}");
        let body: Value = forged.into_json().unwrap();
        assert_eq!(body["error"], "csrf_failed");
        assert!(client.cookies().get("access_token").is_none());
    }
    // From its own page.
    assert_eq!(login("http://127.0.0.1:8000").status(), Status::Ok);
    assert!(client.cookies().get("access_token").is_some());
}

#[test]
fn bench_server_routes_accept_their_tokens_only() {
    use rocket::http::{Cookie, Header};

    let client = Client::untracked(bench_server::rocket()).unwrap();
    let tokens: Value = client.get("/tokens?n=3").dispatch().into_json().unwrap();
    assert_eq!(tokens["local"].as_array().unwrap().len(), 3);
    let auth = |t: &Value| Header::new("Authorization", format!("Bearer {}", t.as_str().unwrap()));
    assert_eq!(client.get("/open").dispatch().status(), Status::Ok);
    for t in tokens["local"].as_array().unwrap() {
        assert_eq!(
            client.get("/local").header(auth(t)).dispatch().status(),
            Status::Ok
        );
    }
    assert_eq!(
        client
            .get("/public")
            .header(auth(&tokens["public"]))
            .dispatch()
            .status(),
        Status::Ok
    );
    assert_eq!(
        client
            .get("/jwt")
            .header(auth(&tokens["jwt"]))
            .dispatch()
            .status(),
        Status::Ok
    );
    let session = Cookie::new("session", tokens["cookie"].as_str().unwrap().to_owned());
    assert_eq!(
        client.get("/cookie").cookie(session).dispatch().status(),
        Status::Ok
    );
    // The JWT with an access token's claims, and its kind checked.
    assert_eq!(
        client
            .get("/jwt-claims")
            .header(auth(&tokens["jwt_claims"]))
            .dispatch()
            .status(),
        Status::Ok
    );
    assert_eq!(
        client
            .get("/jwt-claims")
            .header(auth(&tokens["jwt"]))
            .dispatch()
            .status(),
        Status::Unauthorized,
        "a JWT without the access token's claims"
    );
    for route in ["/local", "/public", "/jwt", "/jwt-claims", "/cookie"] {
        assert_eq!(
            client.get(route).dispatch().status(),
            Status::Unauthorized,
            "{route}"
        );
    }
    // Tokens do not cross routes: a local token is no JWT, a JWT is no PASETO.
    assert_eq!(
        client
            .get("/jwt")
            .header(auth(&tokens["local"][0]))
            .dispatch()
            .status(),
        Status::Unauthorized
    );
    assert_eq!(
        client
            .get("/local")
            .header(auth(&tokens["jwt"]))
            .dispatch()
            .status(),
        Status::Unauthorized
    );
    // The counters the load script reads: each token and cookie above was seen once (a JWT is
    // refused before the cache), so every lookup missed; seen again, they hit.
    let stats = |client: &Client| -> Value { client.get("/stats").dispatch().into_json().unwrap() };
    let seen_once = stats(&client);
    assert_eq!(
        (&seen_once["cache_hits"], &seen_once["cache_misses"]),
        (&json!(0), &json!(4))
    );
    assert_eq!(
        (&seen_once["jar_hits"], &seen_once["jar_misses"]),
        (&json!(0), &json!(1))
    );
    let again = client.get("/local").header(auth(&tokens["local"][0]));
    assert_eq!(again.dispatch().status(), Status::Ok);
    let session = Cookie::new("session", tokens["cookie"].as_str().unwrap().to_owned());
    assert_eq!(
        client.get("/cookie").cookie(session).dispatch().status(),
        Status::Ok
    );
    let seen_twice = stats(&client);
    assert_eq!(
        (&seen_twice["cache_hits"], &seen_twice["jar_hits"]),
        (&json!(1), &json!(1))
    );
}

/// `basic` signs access tokens; `verifier`, holding only the public key bound to basic's
/// issuer, accepts them, and refuses everything else.
#[test]
fn verifier_checks_what_basic_signs() {
    let basic = serve_example("basic", &[]);
    let verifier = serve_example("verifier", &[]);
    let tokens = demo_login(basic.port);
    let access = tokens["access_token"].as_str().unwrap();
    assert!(access.starts_with("v4.public."));

    let auth = format!("Bearer {access}");
    let (status, body) = http(
        verifier.port,
        "GET",
        "/user",
        &[("Authorization", &auth)],
        "",
    );
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body,
        json!({ "user": "test", "issuer": "http://127.0.0.1:8000" })
    );

    // The refresh token is local, and the verifier only takes public access tokens.
    let refresh = format!("Bearer {}", tokens["refresh_token"].as_str().unwrap());
    assert_eq!(
        http(
            verifier.port,
            "GET",
            "/user",
            &[("Authorization", &refresh)],
            ""
        )
        .0,
        401
    );
    // Signed with the demo key but naming another issuer: the key is bound to basic's issuer.
    let demo_secret = "k4.secret.HkkgiBrsX8vRZeSIU2xosaFyfbH2_cUJFTAw4tQ0eaVuQPViv1rJmJVxwjgHOdXjgzlVnAFQBPbMTR_zsrTYqw";
    let forge = |iss: &str| {
        let mut c = claims("access");
        c.insert("iss".into(), iss.into());
        let token = forge_public(
            demo_secret,
            &Value::Object(c).to_string(),
            Some(&kid_footer(&pid(demo_secret))),
        );
        http(
            verifier.port,
            "GET",
            "/user",
            &[("Authorization", &format!("Bearer {token}"))],
            "",
        )
        .0
    };
    assert_eq!(forge("http://127.0.0.1:8000"), 200);
    assert_eq!(forge("https://elsewhere.example"), 401);
    // Another key, even with the right issuer and kid: refused.
    let mut c = claims("access");
    c.insert("iss".into(), "http://127.0.0.1:8000".into());
    let foreign = forge_public(
        SECRET,
        &Value::Object(c).to_string(),
        Some(&kid_footer(&pid(demo_secret))),
    );
    let auth = format!("Bearer {foreign}");
    assert_eq!(
        http(
            verifier.port,
            "GET",
            "/user",
            &[("Authorization", &auth)],
            ""
        )
        .0,
        401
    );
}

/// One request to the example on `port` with `token` as its bearer token.
fn with_bearer(port: u16, method: &str, path: &str, token: &str) -> (u16, String) {
    http(
        port,
        method,
        path,
        &[("Authorization", &format!("Bearer {token}"))],
        "",
    )
}

#[test]
fn sessions_serves_its_contract() {
    let server = serve_example("sessions", &[]);
    let port = server.port;
    let call = |method: &str, path: &str, token: &str| with_bearer(port, method, path, token);
    let tokens = demo_login(port);
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(call("GET", "/user", access).0, 200);

    // Rotation: a new pair, and the old refresh token is used up.
    let (status, body) = call("POST", "/refresh", refresh);
    assert_eq!(status, 200, "{body}");
    let rotated: Value = serde_json::from_str(&body).unwrap();
    let new_access = rotated["access_token"].as_str().unwrap();
    let new_refresh = rotated["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, refresh);
    assert_eq!(call("GET", "/user", new_access).0, 200);

    // Presented again at once (another tab), the old refresh token gets the same generation.
    let session = |token: &str| {
        let (status, body) = call("GET", "/session", token);
        (
            status,
            serde_json::from_str::<Value>(&body).unwrap_or(Value::Null),
        )
    };
    let (status, first_session) = session(new_refresh);
    assert_eq!(status, 200);
    assert_eq!(first_session["sub"], "test");
    let (status, body) = call("POST", "/refresh", refresh);
    assert_eq!(status, 200, "{body}");
    // Two generations back is reuse: it revokes the whole login.
    let (status, body) = call("POST", "/refresh", new_refresh);
    assert_eq!(status, 200, "{body}");
    assert_eq!(call("POST", "/refresh", refresh).0, 401);
    assert_eq!(call("GET", "/user", new_access).0, 401);
    assert_eq!(session(new_refresh).0, 401);

    // Logout with the access token revokes it and its refresh token, and says so.
    let tokens = demo_login(port);
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, body) = call("POST", "/logout", access);
    assert_eq!(status, 200, "{body}");
    let revoked: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(revoked["refused"], json!(["access", "refresh"]));
    assert_eq!(call("GET", "/user", access).0, 401);
    assert_eq!(call("POST", "/refresh", refresh).0, 401);

    // Logout with the refresh token alone (the access token is lost or expired) does the same.
    let tokens = demo_login(port);
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(call("POST", "/logout", refresh).0, 200);
    assert_eq!(call("GET", "/user", access).0, 401);
    assert_eq!(session(refresh).0, 401);
}

#[test]
fn sessions_refuses_a_rotated_refresh_token_everywhere() {
    // Without a grace window, `/session` refuses a rotated refresh token and revokes its login.
    let server = serve_example(
        "sessions",
        &[("ROCKET_PASETO", "{revocation={rotation_grace=0}}")],
    );
    let port = server.port;
    let call = |method: &str, path: &str, token: &str| with_bearer(port, method, path, token);
    let tokens = demo_login(port);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, body) = call("POST", "/refresh", refresh);
    assert_eq!(status, 200, "{body}");
    let rotated: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(call("GET", "/session", refresh).0, 401);
    let new_access = rotated["access_token"].as_str().unwrap();
    assert_eq!(call("GET", "/user", new_access).0, 401);
}

#[test]
fn generated_keys_configure_a_release_profile() {
    use rocket::figment::providers::{Format, Toml};
    let block = rocket_paseto::generate_keys("release").unwrap();
    let figment = rocket::Config::figment()
        .merge(Toml::string(&block).nested())
        .select("release");
    let issuer = rocket_paseto::PasetoFairing::default()
        .load(&figment)
        .expect("the block is a complete release configuration");
    let token = issuer.access("alice").issue().unwrap();
    let verified = issuer.verify::<rocket_paseto::Access>(&token).unwrap();
    assert_eq!(verified.claims().sub, "alice");
    // Outside the debug profile nothing falls back: without the block, launch is refused.
    let bare = rocket::Config::figment().select("release");
    assert!(rocket_paseto::PasetoFairing::default().load(&bare).is_err());
}

/// `app` as users run it: a real process on a free port, with its own SQLite file.
#[test]
fn app_registers_logs_in_and_out_over_http() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join(format!("app-process-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&db);
    let databases = format!(r#"{{app={{url="sqlite://{}?mode=rwc"}}}}"#, db.display());
    let server = serve_example("app", &[("ROCKET_DATABASES", &databases)]);
    let port = server.port;
    let account = r#"{"username":"alice","password":"correct horse"}"#;

    let (status, body) = http(port, "POST", "/register", &[], account);
    assert_eq!(status, 201, "{body}");
    let user: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(user["username"], "alice");
    assert_eq!(http(port, "POST", "/register", &[], account).0, 409);

    let (status, body) = http(port, "POST", "/login", &[], account);
    assert_eq!(status, 200, "{body}");
    let tokens: Value = serde_json::from_str(&body).unwrap();
    let access = tokens["access_token"].as_str().unwrap();

    let (status, body) = with_bearer(port, "GET", "/me", access);
    assert_eq!(status, 200, "{body}");
    let me: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        me,
        json!({ "id": user["id"], "username": "alice", "roles": [] })
    );

    assert_eq!(with_bearer(port, "POST", "/logout", access).0, 200);
    assert_eq!(with_bearer(port, "GET", "/me", access).0, 401);
    let wrong = r#"{"username":"alice","password":"wrong horse"}"#;
    assert_eq!(http(port, "POST", "/login", &[], wrong).0, 401);
    drop(server);
    let _ = std::fs::remove_file(&db);
}

#[test]
fn cookies_throttles_logins_after_five_failures() {
    let client = Client::tracked(cookies_app::rocket()).unwrap();
    let attempt = |password: &str| {
        client
            .post("/login")
            .header(ContentType::Form)
            .body(format!("username=test&password={password}"))
            .dispatch()
    };
    for _ in 0..5 {
        assert_eq!(attempt("nope").status(), Status::Unauthorized);
    }
    let right = attempt("test");
    assert_eq!(right.status(), Status::TooManyRequests);
    assert!(right.headers().get_one("Retry-After").is_some());
    let body: Value = right.into_json().unwrap();
    assert_eq!(body["error"], "too_many_attempts");
    assert!(client.cookies().get("access_token").is_none());
}

/// `app`'s WebSocket takes its access token in the query string, where Rocket's request log
/// (at `normal`, the debug default) would print it: the fairing takes it out of the URI before
/// that. Only `/ws` reads it: on `/me` the same query is ignored.
#[test]
fn app_keeps_query_tokens_out_of_its_log_and_off_other_routes() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join(format!("app-log-{}.db", std::process::id()));
    let log = dir.join(format!("app-log-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&db);
    let _ = std::fs::remove_file(&log);
    let databases = format!(r#"{{app={{url="sqlite://{}?mode=rwc"}}}}"#, db.display());
    let env = [("ROCKET_DATABASES", databases.as_str())];
    let server = serve_example_logging("app", free_port(), &env, Some(&log));
    let port = server.port;
    let account = r#"{"username":"alice","password":"correct horse"}"#;
    assert_eq!(http(port, "POST", "/register", &[], account).0, 201);
    let (status, body) = http(port, "POST", "/login", &[], account);
    assert_eq!(status, 200, "{body}");
    let tokens: Value = serde_json::from_str(&body).unwrap();
    let access = tokens["access_token"].as_str().unwrap();

    // An upgrade request with the token in its URL: accepted (101).
    let upgrade = [
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    let ws = format!("/ws?access_token={access}");
    assert_eq!(upgrade_status(port, &ws, &upgrade), 101);
    // Every other route ignores the parameter: the valid token opens nothing else.
    let me = format!("/me?access_token={access}");
    assert_eq!(http(port, "GET", &me, &[], "").0, 401);
    assert_eq!(with_bearer(port, "GET", "/me", access).0, 200);
    drop(server);

    let output = std::fs::read_to_string(&log).unwrap();
    assert!(
        output.contains("GET /ws?access_token=redacted"),
        "the request line is logged, without the token:\n{output}"
    );
    assert!(output.contains("GET /me?access_token=redacted"), "{output}");
    let signature = &access[access.len() - 40..];
    assert!(
        !output.contains(signature),
        "a token reached the log:\n{output}"
    );
    let _ = std::fs::remove_file(&db);
    let _ = std::fs::remove_file(&log);
}

/// The token of the `kind` message to alice in `outbox`, waiting up to five seconds for it.
fn outbox_token(outbox: &std::path::Path, kind: &str) -> String {
    for _ in 0..100 {
        let messages = std::fs::read_dir(outbox).into_iter().flatten().flatten();
        let found = messages.filter_map(|entry| {
            let text = std::fs::read_to_string(entry.path()).ok()?;
            serde_json::from_str::<Value>(&text).ok()
        });
        if let Some(message) = found.into_iter().find(|m| m["kind"] == kind) {
            assert_eq!(message["to"], "alice");
            return message["token"].as_str().unwrap().to_owned();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("no {kind} message in {}", outbox.display());
}

/// The single-use tokens of `app`'s password reset and magic link, as a served process at log
/// level `normal`: they reach the outbox set by `ROCKET_APP` (one whole JSON file each), work
/// once, and never reach the log.
#[test]
fn app_sends_single_use_tokens_to_its_outbox_and_never_to_its_log() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let id = std::process::id();
    let db = dir.join(format!("app-outbox-{id}.db"));
    let log = dir.join(format!("app-outbox-{id}.log"));
    let outbox = dir.join(format!("app-outbox-{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    let _ = std::fs::remove_file(&db);
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_dir_all(&outbox);
    let databases = format!(r#"{{app={{url="sqlite://{}?mode=rwc"}}}}"#, db.display());
    let app = format!(r#"{{outbox="{}"}}"#, outbox.display());
    let env = [
        ("ROCKET_DATABASES", databases.as_str()),
        ("ROCKET_APP", app.as_str()),
    ];
    let server = serve_example_logging("app", free_port(), &env, Some(&log));
    let port = server.port;
    let account = r#"{"username":"alice","password":"correct horse"}"#;
    assert_eq!(http(port, "POST", "/register", &[], account).0, 201);

    // Each message asked for, then used twice: a reset refuses the single-use tokens sent before
    // it, so the magic link is asked for after the reset.
    let mut tokens = Vec::new();
    let flows = [
        (
            "/password-reset",
            "password_reset",
            r#""new_password":"battery staple","#,
        ),
        ("/magic-link", "magic_link", ""),
    ];
    for (path, kind, extra) in flows {
        let (status, _) = http(port, "POST", path, &[], r#"{"username":"alice"}"#);
        assert_eq!(status, 202);
        let token = outbox_token(&outbox, kind);
        let confirm = format!("{path}/confirm");
        let body = format!(r#"{{{extra}"token":"{token}"}}"#);
        assert_eq!(http(port, "POST", &confirm, &[], &body).0, 200, "{path}");
        assert_eq!(http(port, "POST", &confirm, &[], &body).0, 401, "{path}");
        tokens.push(token);
    }
    drop(server);

    let output = std::fs::read_to_string(&log).unwrap();
    assert!(output.contains("POST /password-reset/confirm"), "{output}");
    for token in &tokens {
        let tail = &token[token.len() - 40..];
        assert!(
            !output.contains(tail),
            "a single-use token reached the log:\n{output}"
        );
    }
    let _ = std::fs::remove_file(&db);
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_dir_all(&outbox);
}

/// What `basic` prints at launch when its settings are off: a table whose name is close to
/// `paseto`, a `ROCKET_PASETO_<KEY>` variable (never its value), and, with no `local_key` in the
/// debug profile, a block of fresh keys to paste, never the repository's demo keys.
#[test]
fn basic_names_the_fix_for_unread_settings_at_launch() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join(format!("launch-{}.toml", std::process::id()));
    let log = dir.join(format!("launch-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    std::fs::write(&config, "[default.pasteo]\nleeway = 5\n").unwrap();
    let secret_env = "k4.local.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let env = [
        ("ROCKET_CONFIG", config.to_str().unwrap()),
        ("ROCKET_PASETO_LOCAL_KEY", secret_env),
    ];
    let server = serve_example_logging("basic", free_port(), &env, Some(&log));
    drop(server);
    let output = std::fs::read_to_string(&log).unwrap();
    assert!(
        output.contains("the table `pasteo` is not read: did you mean `paseto`?"),
        "{output}"
    );
    assert!(
        output.contains("`paseto_local_key` is not read: to set `paseto.local_key` from the environment, write ROCKET_PASETO='{local_key=…}'"),
        "{output}"
    );
    assert!(output.contains("using an ephemeral key"), "{output}");
    assert!(output.contains("[debug.paseto]"), "{output}");
    let suggested = output
        .lines()
        .find_map(|l| l.trim().strip_prefix("local_key = \"k4.local."))
        .expect("a fresh local key in the warning");
    let demo = include_str!("../Rocket.toml");
    assert!(
        !demo.contains(&suggested[..20]),
        "the demo key was suggested"
    );
    assert!(
        !output.contains(&secret_env[9..]),
        "a variable's value reached the log"
    );
    // No store configured: the default, named at launch.
    assert!(
        output.contains("revocation store: memory, the default (this process only)"),
        "{output}"
    );
    let _ = std::fs::remove_file(&config);
    let _ = std::fs::remove_file(&log);

    // The repository's Rocket.toml publishes keys for other services, which cannot see
    // logouts kept in basic's memory.
    let server = serve_example_logging("basic", free_port(), &[], Some(&log));
    drop(server);
    let output = std::fs::read_to_string(&log).unwrap();
    assert!(
        output.contains(
            "revocations are kept in this process's memory, but `paseto.publish_keys` suggests"
        ),
        "{output}"
    );
    let _ = std::fs::remove_file(&log);

    // Outside the debug profile, a memory store nobody chose is named as one instance's.
    let keys = format!(r#"{{local_key="{LOCAL}"}}"#);
    let env = [
        ("ROCKET_PROFILE", "release"),
        ("ROCKET_PASETO", keys.as_str()),
    ];
    let server = serve_example_logging("basic", free_port(), &env, Some(&log));
    drop(server);
    let output = std::fs::read_to_string(&log).unwrap();
    assert!(
        output.contains("no `revocation.store` is set, so revocations are kept in this"),
        "{output}"
    );
    assert!(!output.contains(&LOCAL[9..]), "the key reached the log");
    let _ = std::fs::remove_file(&log);
}

/// The status of a `GET` that may switch protocols, read without waiting for the connection to
/// close (an accepted WebSocket stays open).
fn upgrade_status(port: u16, path: &str, headers: &[(&str, &str)]) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).unwrap();
    let head = String::from_utf8_lossy(&head);
    head[9..12].parse().unwrap()
}
