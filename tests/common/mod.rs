//! Helpers shared by the integration tests: fixed test keys, apps built from an explicit
//! figment (never the repository's `Rocket.toml`), and a forge for tokens with any claims.

#![allow(dead_code)]

#[cfg(feature = "redis")]
pub mod redis_cluster;
#[cfg(feature = "redis")]
pub mod redis_server;
pub mod revocation;

use pasetors::keys::{AsymmetricSecretKey, SymmetricKey};
use pasetors::version4::{LocalToken, PublicToken, V4};
use rocket::figment::Figment;
use rocket::local::blocking::Client;
use rocket::{Build, Rocket, Route};
use rocket_paseto::__private::{LocalKey, SecretKey};
use rocket_paseto::{PasetoFairing, catchers};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Test-only keys. Published here, so worthless for anything else.
pub const LOCAL: &str = "k4.local.5KEyzOJPPj-C2-27f61GaL45GEspp1Z-XbWG1UiWu0Q";
pub const SECRET: &str = "k4.secret.JSSpmat4EsUgVrkSsKco-igvd6XtbUrfECxOvD-vc_JczlRlxgzdX8rPGMPGgFcyz1WakbZ42VJApcUz9idXRw";
pub const PUBLIC: &str = "k4.public.XM5UZcYM3V_KzxjDxoBXMs9VmpG2eNlSQKXFM_YnV0c";
pub const OTHER_LOCAL: &str = "k4.local.4KD1yiQJup6Ayglge4P09hy5jsFXuhNHyvfum8xGZzc";
pub const OTHER_SECRET: &str = "k4.secret.YDM1RHHUm6ZH7zx01DR50x2jkzGUQf076VyT0M7FzD_CKJOsS-Gj__tl2OpDBmb_vH_LxqVMkKxqLX4x-5okYA";

/// A debug-profile figment with `paseto` set to `paseto` and quiet logs.
pub fn figment(paseto: Value) -> Figment {
    Figment::from(rocket::Config::debug_default())
        .merge(("log_level", "off"))
        .merge(("paseto", paseto))
}

/// The test keys, as a `paseto` table to extend.
pub fn keys() -> Value {
    json!({ "local_key": LOCAL, "secret_key": SECRET })
}

pub fn rocket(paseto: Value, routes: Vec<Route>) -> Rocket<Build> {
    rocket::custom(figment(paseto))
        .attach(PasetoFairing::default())
        .register("/", catchers())
        .mount("/", routes)
}

pub fn client(paseto: Value, routes: Vec<Route>) -> Client {
    Client::tracked(rocket(paseto, routes)).expect("the test app ignites")
}

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

pub fn time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

/// A valid claim set for `kind`, expiring in ten minutes.
pub fn claims(kind: &str) -> Map<String, Value> {
    let now = now();
    let mut map = Map::new();
    map.insert("sub".into(), "alice".into());
    map.insert("exp".into(), time(now + time::Duration::minutes(10)).into());
    map.insert("iat".into(), time(now).into());
    map.insert("nbf".into(), time(now).into());
    map.insert("jti".into(), "test-jti".into());
    map.insert("type".into(), kind.into());
    map
}

pub fn lid(local: &str) -> String {
    LocalKey::from_paserk(local).unwrap().id().to_string()
}

pub fn pid(secret: &str) -> String {
    SecretKey::parse(secret).unwrap().id().to_string()
}

pub fn kid_footer(kid: &str) -> String {
    json!({ "kid": kid }).to_string()
}

/// Encrypts `payload` with `local`, bypassing every rule of the crate.
pub fn forge_local(local: &str, payload: &str, footer: Option<&str>) -> String {
    let key = SymmetricKey::<V4>::try_from(local).unwrap();
    LocalToken::encrypt(&key, payload.as_bytes(), footer.map(str::as_bytes), None).unwrap()
}

/// Signs `payload` with `secret`, bypassing every rule of the crate.
pub fn forge_public(secret: &str, payload: &str, footer: Option<&str>) -> String {
    let key = AsymmetricSecretKey::<V4>::try_from(secret).unwrap();
    PublicToken::sign(&key, payload.as_bytes(), footer.map(str::as_bytes), None).unwrap()
}

/// A correctly keyed local token with these claims and our usual footer.
pub fn local_token(claims: &Map<String, Value>) -> String {
    forge_local(
        LOCAL,
        &Value::Object(claims.clone()).to_string(),
        Some(&kid_footer(&lid(LOCAL))),
    )
}

pub fn bearer(token: &str) -> rocket::http::Header<'static> {
    rocket::http::Header::new("Authorization", format!("Bearer {token}"))
}

// --- Running the examples as real processes ----------------------------------------------------

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

/// The compiled example `name` (`cargo test` builds every example before running tests).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run the whole `cargo test`, which builds the examples",
        path.display()
    );
    path
}

/// Runs an example to completion with these environment variables.
pub fn run_example(name: &str, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(example(name));
    command
        .env_remove("ROCKET_PROFILE")
        .env("ROCKET_CLI_COLORS", "false");
    for (k, v) in env {
        command.env(k, v);
    }
    command.stdin(Stdio::null()).output().unwrap()
}

/// A running example server, killed on drop.
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Server {
    /// The server's process id, e.g. to read `/proc/<pid>/status`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// 128 random bits as 22 characters of unpadded base64url: a CSRF value, or a key prefix of a
/// test's own.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).unwrap();
    <ct_codecs::Base64UrlSafeNoPadding as ct_codecs::Encoder>::encode_to_string(bytes).unwrap()
}

/// Starts an example server on a free loopback port and waits until it accepts connections.
pub fn serve_example(name: &str, env: &[(&str, &str)]) -> Server {
    serve_example_on(name, free_port(), env)
}

/// Starts an example server on `port` (e.g. again where it ran before) and waits until it
/// accepts connections.
pub fn serve_example_on(name: &str, port: u16, env: &[(&str, &str)]) -> Server {
    serve_example_logging(name, port, env, None)
}

/// Starts an example server as [`serve_example_on`] does, with Rocket's log at `normal` (the
/// debug default) written to `log`, or with no log.
pub fn serve_example_logging(
    name: &str,
    port: u16,
    env: &[(&str, &str)],
    log: Option<&std::path::Path>,
) -> Server {
    let output = || match log {
        Some(path) => Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .unwrap(),
        ),
        None => Stdio::null(),
    };
    let mut command = Command::new(example(name));
    command
        .env_remove("ROCKET_PROFILE")
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env("ROCKET_PORT", port.to_string())
        .env(
            "ROCKET_LOG_LEVEL",
            if log.is_some() { "normal" } else { "off" },
        )
        .env("ROCKET_CLI_COLORS", "false")
        .stdin(Stdio::null())
        .stdout(output())
        .stderr(output());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut server = Server {
        child: command.spawn().unwrap(),
        port,
    };
    for _ in 0..200 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("example {name} exited early: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("example {name} did not start listening on {port}");
}

/// One HTTP/1.1 request over loopback: returns the status and the body.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Logs in to a running `basic` example as the demo user; returns its token pair as JSON.
pub fn demo_login(port: u16) -> Value {
    let (status, body) = http(
        port,
        "POST",
        "/login",
        &[],
        r#"{"username":"test","password":"test"}"#,
    );
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}
