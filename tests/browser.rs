//! A real browser against the `cookies` example: headless Chromium (Debian's `chromium`) driven
//! by `tests/browser/login.cjs` through playwright-core. It logs in with remember-me, sees the
//! user, reloads, saves a note (CSRF header from the readable cookie), checks the cookies'
//! attributes as the browser stores them, and logs out. And against the `pages` example, by
//! `tests/browser/pages.cjs`: plain HTML forms with the CSRF field, implicit refresh after the
//! access cookie runs out, and logout.
//!
//! Needs `node`, `/usr/bin/chromium` (or `$CHROMIUM`) and playwright-core on `$NODE_PATH`
//! (default `target/browser-deps/node_modules`); `.ci/run` installs them. Without them the test
//! fails under `CI=true` and is skipped with a message elsewhere.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use common::*;
use serde_json::Value;

fn node_path() -> PathBuf {
    std::env::var_os("NODE_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-deps/node_modules")
        })
}

fn browser_available() -> bool {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let found =
        node && PathBuf::from(&chromium).exists() && node_path().join("playwright-core").exists();
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "node, {chromium} or playwright-core (NODE_PATH) is missing; .ci/run installs them"
            );
        }
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: the browser test needs node, {chromium} and playwright-core in {}",
            node_path().display()
        );
    }
    found
}

/// Runs `tests/browser/<script>` against the example `name` served with `env`, and returns
/// what the script saw.
fn drive(name: &str, env: &[(&str, &str)], script: &str) -> Value {
    let server = serve_example(name, env);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser")
        .join(script);
    let output = Command::new("node")
        .arg(script)
        .arg(format!("http://127.0.0.1:{}/", server.port))
        .env("NODE_PATH", node_path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser script failed:\n{stderr}"
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn login_page_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let seen = drive("cookies", &[], "login.cjs");

    assert_eq!(seen["before"], "Signed out");
    assert_eq!(seen["wrongPassword"], "Wrong username or password");
    assert_eq!(seen["signedIn"], "Signed in as test");
    assert_eq!(seen["afterReload"], "Signed in as test");

    let cookie = |name: &str| {
        seen["cookies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("the browser has no {name} cookie: {}", seen["cookies"]))
            .clone()
    };
    for name in ["access_token", "refresh_token", "remember_token"] {
        let c = cookie(name);
        assert_eq!(c["httpOnly"], true, "{name}");
        assert_eq!(c["sameSite"], "Lax", "{name}");
        assert_eq!(c["path"], "/", "{name}");
        assert_eq!(c["secure"], false, "{name}: plain HTTP, secure = auto");
        assert_eq!(c["session"], false, "{name} has a Max-Age");
    }
    assert_eq!(cookie("csrf_token")["httpOnly"], false);
    let script_cookies = seen["scriptCookies"].as_str().unwrap();
    assert!(
        script_cookies.starts_with("csrf_token="),
        "{script_cookies}"
    );
    assert!(
        !script_cookies.contains("access_token"),
        "scripts must not see the tokens"
    );

    assert_eq!(seen["note"], "Saved: hello");
    assert_eq!(seen["noteWithoutCsrf"], 403);

    assert_eq!(seen["afterLogout"], "Signed out");
    assert_eq!(seen["cookiesAfterLogout"], Value::Array(vec![]));
    assert_eq!(seen["afterLogoutReload"], "Signed out");
}

#[test]
fn plain_html_pages_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let seen = drive(
        "pages",
        &[("ROCKET_PASETO", "{access={ttl=3}}")],
        "pages.cjs",
    );

    assert_eq!(seen["before"], "Signed out");
    assert_eq!(seen["signedIn"], "Signed in as test");
    assert_eq!(
        seen["firstCookies"],
        serde_json::json!(["access_token", "csrf_token", "refresh_token"])
    );
    // The browser dropped the access cookie at its Max-Age; the refresh cookie signed it in.
    assert_eq!(seen["accessCookieAfterTtl"], false);
    assert_eq!(seen["afterTtlReload"], "Signed in as test");
    assert_eq!(seen["refreshRotated"], true);

    assert_eq!(seen["noteStatus"], 303);
    assert_eq!(seen["note"], "Note: hello");
    assert_eq!(seen["noteWithoutField"], 403);

    assert_eq!(seen["logoutStatus"], 303);
    assert_eq!(seen["afterLogout"], "Signed out");
    assert_eq!(seen["cookiesAfterLogout"], Value::Array(vec![]));
    assert_eq!(seen["replayed"], "Signed out", "revoked cookies, replayed");
}
