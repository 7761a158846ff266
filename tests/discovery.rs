//! Key discovery (feature `discovery`): a verifier fetching an issuer's published keys, against
//! a real publishing server on a loopback port. The publisher counts the fetches it serves.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use rocket::fairing::AdHoc;
use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;
use rocket::tokio::net::TcpStream;
use rocket::tokio::task::JoinSet;
use rocket::{Build, Rocket, Shutdown, get, routes};
use rocket_paseto::__private::SecretKey;
use rocket_paseto::{Access, Event, EventKind, Issuer, Paseto, PasetoFairing, catchers};
use serde_json::{Value, json};

const KEYS_PATH: &str = "/.well-known/paseto-keys";
const ISSUER: &str = "https://auth.example";

#[get("/user")]
fn user(token: Paseto<Access>) -> String {
    token.subject().to_owned()
}

/// A publishing service on a loopback port, and how many times its key document was fetched.
struct Publisher {
    port: u16,
    fetches: Arc<AtomicUsize>,
    shutdown: Shutdown,
}

impl Publisher {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}{KEYS_PATH}", self.port)
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.shutdown.clone().notify();
    }
}

/// Serves `rocket` on a free loopback port until the returned handle is notified.
async fn serve(rocket: Rocket<Build>) -> (u16, Shutdown) {
    let port = free_port();
    let figment = rocket
        .figment()
        .clone()
        .merge(("address", "127.0.0.1"))
        .merge(("port", port))
        .merge(("shutdown.grace", 0))
        .merge(("shutdown.mercy", 0));
    let rocket = rocket
        .configure(figment)
        .ignite()
        .await
        .expect("the server ignites");
    let shutdown = rocket.shutdown();
    rocket::tokio::spawn(rocket.launch());
    for _ in 0..250 {
        if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return (port, shutdown);
        }
        rocket::tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the server did not start listening on {port}");
}

/// The issuer `issuer`, signing with `SECRET` and publishing its key.
async fn publisher(issuer: &str) -> Publisher {
    publisher_listing(issuer, &[]).await
}

/// The issuer `issuer`, signing with `SECRET` and publishing its key, then `previous`.
async fn publisher_listing(issuer: &str, previous: &[&str]) -> Publisher {
    let paseto = json!({
        "local_key": LOCAL,
        "secret_key": SECRET,
        "public_keys": previous,
        "issuer": issuer,
        "publish_keys": KEYS_PATH,
    });
    let fetches = Arc::new(AtomicUsize::new(0));
    let counted = fetches.clone();
    let counter = AdHoc::on_request("count key fetches", move |request, _| {
        let counted = counted.clone();
        Box::pin(async move {
            if request.uri().path() == KEYS_PATH {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        })
    });
    let (port, shutdown) = serve(rocket(paseto, routes![]).attach(counter)).await;
    Publisher {
        port,
        fetches,
        shutdown,
    }
}

/// A verifier-only service: public access tokens, keys from `discovery` (plus `extra`).
fn verifier(discovery: Value, extra: Value) -> Rocket<Build> {
    verifier_with(PasetoFairing::default(), discovery, extra)
}

fn verifier_with(fairing: PasetoFairing, discovery: Value, extra: Value) -> Rocket<Build> {
    let mut paseto = json!({
        "discovery": discovery,
        "access": { "purpose": "public" },
        "refresh": { "purpose": "public" },
    });
    let table = paseto.as_object_mut().unwrap();
    table.extend(extra.as_object().cloned().unwrap_or_default());
    rocket::custom(figment(paseto))
        .attach(fairing)
        .register("/", catchers())
        .mount("/", routes![user])
}

/// An access token signed with `secret`, naming `iss` and the key id `kid`.
fn signed(secret: &str, iss: &str, kid: &str) -> String {
    let mut claims = claims("access");
    claims.insert("iss".into(), iss.into());
    forge_public(
        secret,
        &Value::Object(claims).to_string(),
        Some(&kid_footer(kid)),
    )
}

/// A well-formed key id of no key anyone has.
fn made_up_kid(n: usize) -> String {
    format!("k4.pid.{:A>44}", format!("madeup{n}"))
}

/// Whether the fairing refused to launch `rocket`.
async fn launch_refused(rocket: Rocket<Build>) -> bool {
    match rocket.ignite().await {
        Ok(_) => false,
        Err(error) => matches!(
            error.kind(),
            rocket::error::ErrorKind::FailedFairings(failed) if failed[0].name == "PASETO"
        ),
    }
}

async fn status(client: &Client, token: &str) -> Status {
    let auth = Header::new("Authorization", format!("Bearer {token}"));
    client.get("/user").header(auth).dispatch().await.status()
}

#[rocket::async_test]
async fn fetched_keys_verify_their_issuers_tokens_only() {
    let publisher = publisher(ISSUER).await;
    let discovery = json!({ "url": publisher.url(), "issuer": ISSUER });
    let client = Client::tracked(verifier(discovery, json!({})))
        .await
        .expect("the verifier ignites once it has the keys");
    assert_eq!(publisher.fetches(), 1);
    assert_eq!(
        status(&client, &signed(SECRET, ISSUER, &pid(SECRET))).await,
        Status::Ok
    );
    // The fetched key is bound to the issuer of its document.
    let elsewhere = signed(SECRET, "https://elsewhere.example", &pid(SECRET));
    assert_eq!(status(&client, &elsewhere).await, Status::Unauthorized);
    // Another key under the published key's id: the signature does not verify.
    let forged = signed(OTHER_SECRET, ISSUER, &pid(SECRET));
    assert_eq!(status(&client, &forged).await, Status::Unauthorized);
}

#[rocket::async_test]
async fn made_up_key_ids_fetch_at_most_once_a_window_and_share_that_fetch() {
    let publisher = publisher(ISSUER).await;
    let discovery = json!({ "url": publisher.url(), "issuer": ISSUER, "min_refetch_secs": 2 });
    let client = Arc::new(
        Client::tracked(verifier(discovery, json!({})))
            .await
            .unwrap(),
    );
    assert_eq!(publisher.fetches(), 1);
    let burst = |from: usize| {
        let mut requests = JoinSet::new();
        for n in from..from + 40 {
            let client = client.clone();
            requests.spawn(async move {
                status(&client, &signed(OTHER_SECRET, ISSUER, &made_up_kid(n))).await
            });
        }
        requests.join_all()
    };
    // Right after the launch fetch: refused without fetching.
    let statuses = burst(0).await;
    assert!(statuses.iter().all(|s| *s == Status::Unauthorized));
    assert_eq!(publisher.fetches(), 1);
    // Malformed key ids never fetch at all.
    let short = signed(OTHER_SECRET, ISSUER, "k4.pid.short");
    assert_eq!(status(&client, &short).await, Status::Unauthorized);
    // Once the window has passed, forty concurrent unknown ids make one fetch between them.
    rocket::tokio::time::sleep(Duration::from_millis(2100)).await;
    let statuses = burst(100).await;
    assert!(statuses.iter().all(|s| *s == Status::Unauthorized));
    assert_eq!(publisher.fetches(), 2);
    // The known key still verifies, from the keys fetched last.
    let good = signed(SECRET, ISSUER, &pid(SECRET));
    assert_eq!(status(&client, &good).await, Status::Ok);
}

#[rocket::async_test]
async fn a_failed_fetch_keeps_the_last_keys() {
    let publisher = publisher(ISSUER).await;
    let discovery = json!({ "url": publisher.url(), "issuer": ISSUER, "min_refetch_secs": 1 });
    let client = Client::tracked(verifier(discovery, json!({})))
        .await
        .unwrap();
    let good = signed(SECRET, ISSUER, &pid(SECRET));
    assert_eq!(status(&client, &good).await, Status::Ok);
    let stats = || client.rocket().state::<Issuer>().unwrap().stats();
    let launched = stats();
    assert_eq!((launched.key_fetches, launched.key_fetch_errors), (1, 0));
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64;
    assert!(now.abs_diff(launched.key_fetch_last_success) <= 5);
    drop(publisher);
    rocket::tokio::time::sleep(Duration::from_millis(1100)).await;
    // An unknown key id starts a fetch, which fails: the keys fetched before stay.
    let unknown = signed(OTHER_SECRET, ISSUER, &made_up_kid(0));
    assert_eq!(status(&client, &unknown).await, Status::Unauthorized);
    assert_eq!(status(&client, &good).await, Status::Ok);
    // The failure shows in the figures; the last good fetch is still the launch's.
    let failed = stats();
    assert_eq!((failed.key_fetches, failed.key_fetch_errors), (2, 1));
    assert_eq!(
        failed.key_fetch_last_success,
        launched.key_fetch_last_success
    );
}

#[rocket::async_test]
async fn launch_fails_without_keys_unless_public_keys_are_configured() {
    let nowhere = format!("http://127.0.0.1:{}{KEYS_PATH}", free_port());
    let discovery = json!({ "url": nowhere, "issuer": ISSUER, "timeout_ms": 1000 });
    assert!(launch_refused(verifier(discovery.clone(), json!({}))).await);
    // With configured keys, launch goes on and they verify.
    let configured = json!({ "public_keys": [{ "key": PUBLIC, "issuer": ISSUER }] });
    let client = Client::tracked(verifier(discovery, configured))
        .await
        .unwrap();
    let good = signed(SECRET, ISSUER, &pid(SECRET));
    assert_eq!(status(&client, &good).await, Status::Ok);
}

/// A fetch that fails reaches the events hook as `key_fetch_failed`, about no subject.
#[rocket::async_test]
async fn a_failed_fetch_is_an_event() {
    let nowhere = format!("http://127.0.0.1:{}{KEYS_PATH}", free_port());
    let discovery = json!({ "url": nowhere, "issuer": ISSUER, "timeout_ms": 1000 });
    let configured = json!({ "public_keys": [{ "key": PUBLIC, "issuer": ISSUER }] });
    let (sender, mut events) = rocket::tokio::sync::mpsc::unbounded_channel();
    let fairing = PasetoFairing::default().events(move |event: Event| {
        let sender = sender.clone();
        async move {
            let _ = sender.send(event);
        }
    });
    let client = Client::tracked(verifier_with(fairing, discovery, configured))
        .await
        .unwrap();
    let event = rocket::tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("the hook is called")
        .unwrap();
    assert_eq!(event.kind, EventKind::KeyFetchFailed);
    assert_eq!((event.subject, event.session, event.ip), (None, None, None));
    assert_eq!(
        client
            .rocket()
            .state::<Issuer>()
            .unwrap()
            .stats()
            .events_dropped,
        0
    );
}

/// The public half of `secret`, as a PASERK.
fn public_of(secret: &str) -> String {
    SecretKey::parse(secret).unwrap().public_key().to_paserk()
}

/// Discovery's issuer is bound from launch: while its document cannot be fetched, a configured
/// key bound to no issuer does not vouch for it (before, it did until the first good fetch),
/// though it still verifies other issuers' tokens; a configured key bound to it does.
#[rocket::async_test]
async fn before_any_fetch_only_keys_bound_to_the_discovery_issuer_vouch_for_it() {
    let nowhere = format!("http://127.0.0.1:{}{KEYS_PATH}", free_port());
    let discovery = json!({ "url": nowhere, "issuer": ISSUER, "timeout_ms": 1000 });
    let partner = "https://partner.example";
    let unbound = json!({ "public_keys": [public_of(OTHER_SECRET)] });
    let client = Client::tracked(verifier(discovery.clone(), unbound))
        .await
        .expect("the verifier launches on its configured key");
    let stats = client.rocket().state::<Issuer>().unwrap().stats();
    assert_eq!(
        (stats.key_fetch_errors, stats.key_fetch_last_success),
        (1, 0)
    );
    let claimed = signed(OTHER_SECRET, ISSUER, &pid(OTHER_SECRET));
    assert_eq!(status(&client, &claimed).await, Status::Unauthorized);
    let partners = signed(OTHER_SECRET, partner, &pid(OTHER_SECRET));
    assert_eq!(status(&client, &partners).await, Status::Ok);

    let both =
        json!({ "public_keys": [public_of(OTHER_SECRET), { "key": PUBLIC, "issuer": ISSUER }] });
    let client = Client::tracked(verifier(discovery, both)).await.unwrap();
    let issuers = signed(SECRET, ISSUER, &pid(SECRET));
    assert_eq!(status(&client, &issuers).await, Status::Ok);
    assert_eq!(status(&client, &claimed).await, Status::Unauthorized);
    assert_eq!(status(&client, &partners).await, Status::Ok);
}

/// Set in the child process that [`logged`] starts.
const LOG_CHILD: &str = "ROCKET_PASETO_LOG_CHILD";

/// Runs the test `name` of this binary again in a child process, where Rocket's log is on (it
/// is one logger per process), and returns what the child printed once it passed.
fn logged(name: &str) -> String {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(LOG_CHILD, "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    text
}

/// A service with a signing key of its own and no `issuer`, whose discovery document lists
/// that key's public half: the document does not bind it to its issuer, so the service's own
/// tokens (which name no issuer) still verify, and it says so at warn, by key id only.
#[test]
fn a_document_listing_the_services_own_key_does_not_bind_it() {
    if std::env::var_os(LOG_CHILD).is_none() {
        let log = logged("a_document_listing_the_services_own_key_does_not_bind_it");
        let warning = format!(
            "the key document of {ISSUER} lists this service's own signing key ({})",
            pid(OTHER_SECRET)
        );
        assert!(log.contains(&warning), "{log}");
        assert!(!log.contains(&public_of(OTHER_SECRET)), "{log}");
        assert!(!log.contains("k4.secret."), "{log}");
        return;
    }
    rocket::execute(async {
        let publisher = publisher_listing(ISSUER, &[&public_of(OTHER_SECRET)]).await;
        let discovery = json!({ "url": publisher.url(), "issuer": ISSUER });
        let own = json!({ "secret_key": OTHER_SECRET });
        let rocket = verifier(discovery, own);
        let figment = rocket
            .figment()
            .clone()
            .merge(("log_level", "critical"))
            .merge(("cli_colors", false));
        let client = Client::tracked(rocket.configure(figment)).await.unwrap();
        assert_eq!(publisher.fetches(), 1);
        let issuer = client.rocket().state::<Issuer>().unwrap();
        let ours = issuer.access("alice").issue().unwrap();
        assert_eq!(status(&client, &ours).await, Status::Ok);
        // The issuer's own key vouches for it; this service's key still does not.
        let issuers = signed(SECRET, ISSUER, &pid(SECRET));
        assert_eq!(status(&client, &issuers).await, Status::Ok);
        let claimed = signed(OTHER_SECRET, ISSUER, &pid(OTHER_SECRET));
        assert_eq!(status(&client, &claimed).await, Status::Unauthorized);
    });
}

/// A service signing for the issuer whose keys it discovers (`issuer` set to it): its own
/// key signs for that issuer from launch, whether or not the document lists it.
#[rocket::async_test]
async fn a_service_signing_for_the_discovery_issuer_verifies_its_own_tokens() {
    let publisher = publisher(ISSUER).await;
    let discovery = json!({ "url": publisher.url(), "issuer": ISSUER });
    let own = json!({ "secret_key": OTHER_SECRET, "issuer": ISSUER });
    let client = Client::tracked(verifier(discovery, own)).await.unwrap();
    let issuer = client.rocket().state::<Issuer>().unwrap();
    let ours = issuer.access("alice").issue().unwrap();
    assert_eq!(status(&client, &ours).await, Status::Ok);
    let listed = signed(SECRET, ISSUER, &pid(SECRET));
    assert_eq!(status(&client, &listed).await, Status::Ok);
}

/// A verifier of its own issuer's tokens (`issuer` set) whose `public_keys` fall back to a key
/// the issuer has since withdrawn: once the document is fetched, that key no longer vouches
/// for the issuer, though `issuer` binds configured keys to it on services without discovery.
#[rocket::async_test]
async fn a_configured_key_the_document_does_not_list_stops_vouching_for_the_issuer() {
    let publisher = publisher(ISSUER).await;
    let withdrawn = rocket_paseto::__private::SecretKey::parse(OTHER_SECRET)
        .unwrap()
        .public_key()
        .to_paserk();
    let discovery = json!({ "url": publisher.url(), "issuer": ISSUER });
    let extra = json!({ "issuer": ISSUER, "public_keys": [withdrawn] });
    let client = Client::tracked(verifier(discovery, extra)).await.unwrap();
    let listed = signed(SECRET, ISSUER, &pid(SECRET));
    assert_eq!(status(&client, &listed).await, Status::Ok);
    let by_withdrawn = signed(OTHER_SECRET, ISSUER, &pid(OTHER_SECRET));
    assert_eq!(status(&client, &by_withdrawn).await, Status::Unauthorized);
}

#[rocket::async_test]
async fn a_document_naming_another_issuer_is_refused() {
    let publisher = publisher("https://impostor.example").await;
    let discovery = json!({ "url": publisher.url(), "issuer": ISSUER });
    assert!(launch_refused(verifier(discovery, json!({}))).await);
    assert_eq!(publisher.fetches(), 1);
}

#[test]
fn discovery_settings_are_checked_at_launch() {
    let refused = |discovery: Value, extra: Value| {
        let mut paseto = json!({ "discovery": discovery, "access": { "purpose": "public" } });
        let table = paseto.as_object_mut().unwrap();
        table.extend(extra.as_object().cloned().unwrap_or_default());
        let err = PasetoFairing::default()
            .load(&figment(paseto))
            .expect_err("refused");
        (err.field().to_owned(), err.to_string())
    };
    let with = |url: &str| json!({ "url": url, "issuer": ISSUER });
    for url in [
        "http://auth.example/keys",
        "http://127.0.0.1.example/keys",
        "ftp://127.0.0.1/keys",
        "https://user:password@auth.example/keys",
        "/keys",
    ] {
        assert_eq!(
            refused(with(url), json!({})).0,
            "paseto.discovery.url",
            "{url}"
        );
    }
    let url = "https://auth.example/keys";
    let other_issuer = json!({ "issuer": "https://other.example" });
    assert_eq!(
        refused(with(url), other_issuer).0,
        "paseto.discovery.issuer"
    );
    for (setting, value) in [
        ("refresh_secs", 5),
        ("refresh_secs", 86401),
        ("min_refetch_secs", 0),
        ("min_refetch_secs", 301),
        ("timeout_ms", 50),
    ] {
        let mut discovery = with(url);
        discovery[setting] = json!(value);
        assert_eq!(
            refused(discovery, json!({})).0,
            format!("paseto.discovery.{setting}")
        );
    }
    let (field, message) = refused(json!({ "url": url }), json!({}));
    assert_eq!(field, "paseto.discovery");
    assert!(message.contains("issuer"), "{message}");
}

// --- Over HTTPS: the publisher behind a TLS terminator, its certificate from a private root --

/// `tests/tls/terminate.py` in front of a publisher: HTTPS on a loopback port with the
/// certificate of `localhost` that `tests/tls/ca.pem` signs, each GET passed to the publisher.
struct Terminator {
    child: std::process::Child,
    port: u16,
}

impl Terminator {
    fn start(upstream: u16) -> Self {
        use std::io::BufRead;
        let tls = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls");
        let child = std::process::Command::new("python3")
            .arg(format!("{tls}/terminate.py"))
            .arg(format!("{tls}/localhost.pem"))
            .arg(format!("{tls}/localhost.key"))
            .arg(upstream.to_string())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs tests/tls/terminate.py");
        // Held from here, so that the process is stopped should reading its port fail.
        let mut terminator = Terminator { child, port: 0 };
        let mut line = String::new();
        let stdout = terminator.child.stdout.take().unwrap();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        terminator.port = line.trim().parse().expect("the terminator prints its port");
        terminator
    }

    fn url(&self) -> String {
        format!("https://localhost:{}{KEYS_PATH}", self.port)
    }
}

impl Drop for Terminator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tls_file(name: &str) -> String {
    format!("{}/tests/tls/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[rocket::async_test]
async fn keys_come_over_https_from_a_server_the_ca_file_trusts() {
    let publisher = publisher(ISSUER).await;
    let terminator = Terminator::start(publisher.port);
    let discovery = json!({
        "url": terminator.url(),
        "issuer": ISSUER,
        "ca_file": tls_file("ca.pem"),
        "min_refetch_secs": 1,
    });
    let client = Client::tracked(verifier(discovery, json!({})))
        .await
        .expect("the verifier ignites with the keys fetched over HTTPS");
    assert_eq!(publisher.fetches(), 1);
    let good = signed(SECRET, ISSUER, &pid(SECRET));
    assert_eq!(status(&client, &good).await, Status::Ok);
    // A refetch for an unknown key id goes over the same TLS client.
    rocket::tokio::time::sleep(Duration::from_millis(1100)).await;
    let unknown = signed(OTHER_SECRET, ISSUER, &made_up_kid(0));
    assert_eq!(status(&client, &unknown).await, Status::Unauthorized);
    assert_eq!(publisher.fetches(), 2);
    assert_eq!(status(&client, &good).await, Status::Ok);
}

#[rocket::async_test]
async fn a_server_certificate_from_an_untrusted_root_gives_no_keys() {
    let publisher = publisher(ISSUER).await;
    let terminator = Terminator::start(publisher.port);
    // The public web's roots (the default) do not include the test root, nor does another
    // private root: the handshake fails, so launch fails before any request reaches the issuer.
    let defaults = json!({ "url": terminator.url(), "issuer": ISSUER });
    assert!(launch_refused(verifier(defaults, json!({}))).await);
    let other_root = json!({
        "url": terminator.url(),
        "issuer": ISSUER,
        "ca_file": tls_file("other-ca.pem"),
    });
    assert!(launch_refused(verifier(other_root, json!({}))).await);
    assert_eq!(publisher.fetches(), 0);
}

#[rocket::async_test]
async fn a_ca_file_that_is_missing_or_holds_a_private_key_stops_launch() {
    let missing = json!({
        "url": "https://localhost/keys",
        "issuer": ISSUER,
        "ca_file": tls_file("no-such.pem"),
    });
    let paseto = json!({ "discovery": missing, "access": { "purpose": "public" } });
    let error = PasetoFairing::default()
        .load(&figment(paseto))
        .expect_err("refused");
    assert_eq!(error.field(), "paseto.discovery.ca_file");
    assert!(!error.to_string().contains("no-such"), "{error}");

    // The right root, but with the server's private key pasted in after it: refused at
    // ignite, before any request.
    let publisher = publisher(ISSUER).await;
    let terminator = Terminator::start(publisher.port);
    let bundle = std::env::temp_dir().join(format!("rocket_paseto-ca-{}.pem", free_port()));
    let root = std::fs::read(tls_file("ca.pem")).unwrap();
    let key = std::fs::read(tls_file("localhost.key")).unwrap();
    std::fs::write(&bundle, [root, key].concat()).unwrap();
    let discovery = json!({
        "url": terminator.url(),
        "issuer": ISSUER,
        "ca_file": bundle.to_str().unwrap(),
    });
    let refused = launch_refused(verifier(discovery, json!({}))).await;
    let _ = std::fs::remove_file(&bundle);
    assert!(refused);
    assert_eq!(publisher.fetches(), 0);
}

// --- Two real processes: `basic` publishes, `verifier` follows it through a rotation ---------

/// `basic`'s demo signing key (`Rocket.toml`, debug profile) and its public half.
const DEMO_SECRET: &str = "k4.secret.HkkgiBrsX8vRZeSIU2xosaFyfbH2_cUJFTAw4tQ0eaVuQPViv1rJmJVxwjgHOdXjgzlVnAFQBPbMTR_zsrTYqw";
const DEMO_PUBLIC: &str = "k4.public.bkD1Yr9ayZiVccI4BznV44M5VZwBUAT2zE0f87K02Ks";
const DEMO_ISSUER: &str = "http://127.0.0.1:8000";

/// The status of `GET /user` on the verifier with `token`.
fn verified(verifier: &Server, token: &str) -> u16 {
    let auth = format!("Bearer {token}");
    http(
        verifier.port,
        "GET",
        "/user",
        &[("Authorization", &auth)],
        "",
    )
    .0
}

/// Asks until `token` gets `expected` (the verifier catches up on its own schedule), making
/// `nudge` requests in between; panics after half a minute.
fn until(verifier: &Server, token: &str, expected: u16, nudge: impl Fn()) {
    for _ in 0..300 {
        if verified(verifier, token) == expected {
            return;
        }
        nudge();
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the verifier never answered {expected}");
}

#[test]
fn the_verifier_follows_basic_through_a_key_rotation_without_a_restart() {
    let port = free_port();
    let basic = serve_example_on("basic", port, &[]);
    let keys = format!(
        "url=\"http://127.0.0.1:{port}{KEYS_PATH}\", issuer=\"{DEMO_ISSUER}\", min_refetch_secs=1"
    );
    let verifier_config = format!("{{public_keys=[], discovery={{{keys}}}}}");
    let verifier = serve_example("verifier", &[("ROCKET_VERIFIER", &verifier_config)]);
    let old = demo_login(basic.port)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(verified(&verifier, &old), 200);

    // `basic` restarts with a new signing key, the old one published as previous.
    drop(basic);
    let new_secret = rocket_paseto::__private::SecretKey::generate()
        .unwrap()
        .to_paserk();
    let rotating = format!("{{secret_key=\"{new_secret}\", public_keys=[\"{DEMO_PUBLIC}\"]}}");
    let basic = serve_example_on("basic", port, &[("ROCKET_PASETO", &rotating)]);
    let new = demo_login(basic.port)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(pid(&new_secret), pid(DEMO_SECRET));
    // The new key's id is unknown to the verifier: it fetches the keys again and accepts it.
    until(&verifier, &new, 200, || {});
    assert_eq!(verified(&verifier, &old), 200);

    // The old key's tokens have expired: `basic` drops it from the document.
    drop(basic);
    let rotated = format!("{{secret_key=\"{new_secret}\"}}");
    let basic = serve_example_on("basic", port, &[("ROCKET_PASETO", &rotated)]);
    // Once the verifier has fetched the document again (here, made to by a token naming a key
    // id it does not know), the old key verifies nothing more.
    let unknown = signed(OTHER_SECRET, DEMO_ISSUER, &made_up_kid(0));
    until(&verifier, &old, 401, || {
        verified(&verifier, &unknown);
    });
    assert_eq!(verified(&verifier, &new), 200);
    let newest = demo_login(basic.port)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(verified(&verifier, &newest), 200);
}
