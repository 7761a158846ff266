//! The `app` example as operators run it, as a process: `app add-admin` from the shell against
//! the server's database (before the server starts and while it runs), and the server's peak
//! memory under a burst of wrong-password logins.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Barrier};

use common::*;
use serde_json::{Value, json};

/// A database file of its own under the target directory, removed on drop, and the
/// `ROCKET_DATABASES` value that points the app at it.
struct DbFile(PathBuf);

impl DbFile {
    fn new(test: &str) -> DbFile {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(&dir).unwrap();
        let file = DbFile(dir.join(format!("app-{test}-{}.db", std::process::id())));
        file.remove();
        file
    }

    fn databases(&self) -> String {
        format!(
            r#"{{app={{url="sqlite://{}?mode=rwc"}}}}"#,
            self.0.display()
        )
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

/// `app <args>` run to completion on `db`, with `APP_PASSWORD` set to `password` (or unset).
fn app(db: &DbFile, args: &[&str], password: Option<&str>) -> Output {
    let mut command = Command::new(example("app"));
    command
        .args(args)
        .env_remove("ROCKET_PROFILE")
        .env_remove("APP_PASSWORD")
        .env("ROCKET_DATABASES", db.databases())
        .stdin(Stdio::null());
    if let Some(password) = password {
        command.env("APP_PASSWORD", password);
    }
    command.output().unwrap()
}

/// `add-admin` succeeded: its one line of JSON.
fn added(output: Output) -> Value {
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    serde_json::from_str(&stdout).unwrap()
}

/// `add-admin` failed: exit code 1 and a message on stderr naming `expected`, not `password`.
fn refused(output: Output, expected: &str, password: &str) {
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(output.stdout.is_empty());
    assert!(stderr.contains(expected), "{stderr}");
    assert!(!stderr.contains(password), "{stderr}");
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or(Value::Null)
}

/// Logs in over HTTP; the access token.
fn access_token(port: u16, username: &str, password: &str) -> String {
    let account = json!({ "username": username, "password": password }).to_string();
    let (status, body) = http(port, "POST", "/login", &[], &account);
    assert_eq!(status, 200, "{body}");
    json_of(&body)["access_token"].as_str().unwrap().to_owned()
}

fn admin_page(port: u16, token: &str) -> u16 {
    let bearer = format!("Bearer {token}");
    http(port, "GET", "/admin", &[("Authorization", &bearer)], "").0
}

#[test]
fn add_admin_makes_admins_before_and_while_the_server_runs() {
    let db = DbFile::new("add_admin");
    // Refused: no name, a bad name, a new user without a password or with a short one.
    let usage = app(&db, &["add-admin"], Some("correct horse"));
    assert_eq!(usage.status.code(), Some(2));
    let horse = Some("correct horse");
    refused(
        app(&db, &["add-admin", "Root"], horse),
        "username",
        "correct horse",
    );
    refused(
        app(&db, &["add-admin", "root"], None),
        "APP_PASSWORD",
        "correct horse",
    );
    refused(
        app(&db, &["add-admin", "root"], Some("short")),
        "8 to 1024",
        "short",
    );

    let root = added(app(&db, &["add-admin", "root"], Some("correct horse")));
    assert_eq!(
        root,
        json!({ "id": 1, "username": "root", "roles": ["admin"] })
    );

    let server = serve_example("app", &[("ROCKET_DATABASES", &db.databases())]);
    let port = server.port;
    let token = access_token(port, "root", "correct horse");
    assert_eq!(admin_page(port, &token), 200);

    // While the server runs: bob registers (no roles), then is made admin from the shell,
    // without a password; his own stays.
    let account = r#"{"username":"bob","password":"bob password"}"#;
    let (status, body) = http(port, "POST", "/register", &[], account);
    assert_eq!(status, 201, "{body}");
    let bob_id = json_of(&body)["id"].clone();
    assert_eq!(
        admin_page(port, &access_token(port, "bob", "bob password")),
        403
    );
    let bob = added(app(&db, &["add-admin", "bob"], None));
    assert_eq!(
        bob,
        json!({ "id": bob_id, "username": "bob", "roles": ["admin"] })
    );
    let bob_token = access_token(port, "bob", "bob password");
    assert_eq!(admin_page(port, &bob_token), 200);

    // Again, with a password: nothing changes, the password included.
    let again = app(&db, &["add-admin", "bob"], Some("another password"));
    assert_eq!(added(again), bob);
    access_token(port, "bob", "bob password");
    let wrong = r#"{"username":"bob","password":"another password"}"#;
    assert_eq!(http(port, "POST", "/login", &[], wrong).0, 401);
    drop(server);
}

/// The app's peak resident memory (`VmHWM`), in kB.
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// 24 concurrent wrong-password logins of 24 accounts. Each argon2id hash takes 19 MiB; run
/// all at once, they took the process past 400 MB. Hashing one per core at a time keeps the
/// peak well under 160 MB. The login throttle's address count is off here: all 24 come from
/// one address, and this measures the hashing, not the throttle.
#[test]
fn a_burst_of_wrong_passwords_keeps_memory_bounded() {
    const LOGINS: usize = 24;
    let db = DbFile::new("burst");
    let env = [
        ("ROCKET_DATABASES", db.databases()),
        (
            "ROCKET_PASETO",
            "{throttle={address_failures=0}}".to_owned(),
        ),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = serve_example("app", &env);
    let port = server.port;
    for n in 0..LOGINS {
        let account = json!({ "username": format!("user_{n}"), "password": "right password" });
        let (status, body) = http(port, "POST", "/register", &[], &account.to_string());
        assert_eq!(status, 201, "{body}");
    }
    let start = Arc::new(Barrier::new(LOGINS));
    let logins: Vec<_> = (0..LOGINS)
        .map(|n| {
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                let account = json!({ "username": format!("user_{n}"), "password": "wrong" });
                start.wait();
                http(port, "POST", "/login", &[], &account.to_string()).0
            })
        })
        .collect();
    for login in logins {
        assert_eq!(login.join().unwrap(), 401);
    }
    let peak_mb = peak_rss_kb(server.pid()) / 1024;
    assert!(peak_mb <= 160, "peak RSS {peak_mb} MB");
    drop(server);
}
