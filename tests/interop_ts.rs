//! Interoperability with paseto-ts, a second independent PASETO v4 implementation (TypeScript,
//! run by `node`), both ways and for both purposes, with keys exchanged as PASERK and our
//! `{"kid": …}` footer. The helper is `tests/interop/paseto_ts.mjs`.
//!
//! paseto-ts takes PASERK `k4.local`, `k4.secret` and `k4.public` strings as they are, so the
//! test keys are passed unchanged; only the `k4.public` of `OTHER_SECRET` is derived here.
//!
//! The package is looked for in `$PASETO_TS_NODE_PATH` (a `node_modules` directory; default
//! `target/interop-deps/node_modules`, where `.ci/run` installs it). Without `node` or paseto-ts
//! these tests fail under `CI=true` and are skipped with a message elsewhere.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::*;
use ct_codecs::{Base64UrlSafeNoPadding, Decoder, Encoder};
use rocket::http::Status;
use rocket::local::blocking::Client;
use rocket::{get, routes};
use rocket_paseto::{Access, Paseto, PasetoFairing};
use serde_json::{Map, Value, json};

const TOOL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/paseto_ts.mjs");
const ISSUER: &str = "https://auth.example";

fn node_modules() -> PathBuf {
    std::env::var_os("PASETO_TS_NODE_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/interop-deps/node_modules")
        })
}

/// The paseto-ts runner, or `None` (after saying so) when it is missing outside CI.
fn paseto_ts() -> Option<PasetoTs> {
    let tool = PasetoTs {
        node_modules: node_modules(),
    };
    // Imports the package, so a broken install counts as missing.
    if tool.run(&["version"], None).is_ok() {
        return Some(tool);
    }
    let dir = tool.node_modules.display();
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("node or paseto-ts in {dir} is missing; .ci/run installs it (PASETO_TS_NODE_PATH)");
    }
    // Written to stderr directly: libtest would capture `eprintln!` of a passing test.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: paseto-ts interop needs node and paseto-ts in {dir}; set PASETO_TS_NODE_PATH"
    );
    None
}

struct PasetoTs {
    node_modules: PathBuf,
}

impl PasetoTs {
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
        let mut child = Command::new("node")
            .arg(TOOL)
            .args(args)
            .env("PASETO_TS_NODE_PATH", &self.node_modules)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        // A helper that exits early closes its stdin; its exit status tells why.
        let mut input = child.stdin.take().unwrap();
        let _ = input.write_all(stdin.unwrap_or_default().as_bytes());
        drop(input);
        let output = child.wait_with_output().unwrap();
        if output.status.success() {
            Ok(String::from_utf8(output.stdout).unwrap().trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }

    /// A token for `payload` from paseto-ts; `footer` '' for none.
    fn encode(&self, purpose: &str, key: &str, payload: &Value, footer: &str) -> String {
        self.run(
            &["encode", purpose, key, footer],
            Some(&payload.to_string()),
        )
        .unwrap()
    }

    /// `{"payload": …, "footer": "…"}` as paseto-ts opened `token`, or its rejection.
    fn decode(&self, purpose: &str, key: &str, token: &str) -> Result<Value, String> {
        self.run(&["decode", purpose, key, token], None)
            .map(|out| serde_json::from_str(&out).unwrap())
    }
}

/// The `k4.public` half of a `k4.secret` (an Ed25519 secret key is seed ‖ public key).
fn public_of(secret: &str) -> String {
    let mut buf = [0u8; 64];
    let bytes =
        Base64UrlSafeNoPadding::decode(&mut buf, secret.strip_prefix("k4.secret.").unwrap(), None)
            .unwrap();
    let public = Base64UrlSafeNoPadding::encode_to_string(&bytes[32..]).unwrap();
    format!("k4.public.{public}")
}

/// `token` with one character of its body (the encrypted or signed part) changed.
fn tampered(token: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let body = &mut parts[2];
    let at = body.len() / 2;
    let old = body.as_bytes()[at];
    let new = if old == b'A' { "B" } else { "A" };
    body.replace_range(at..at + 1, new);
    parts.join(".")
}

/// `token` with its footer replaced by `footer`.
fn with_footer(token: &str, footer: &str) -> String {
    let body = match token.split('.').count() {
        4 => token.rsplit_once('.').unwrap().0,
        _ => token,
    };
    format!(
        "{body}.{}",
        Base64UrlSafeNoPadding::encode_to_string(footer).unwrap()
    )
}

#[get("/claims")]
fn registered(token: Paseto<Access>) -> String {
    serde_json::to_string(token.claims()).unwrap()
}

/// Our configuration for `purpose`, with an issuer (so `iss` is stamped and required).
fn paseto(purpose: &str) -> Value {
    let mut paseto = keys();
    paseto["access"] = json!({ "purpose": purpose });
    paseto["issuer"] = json!(ISSUER);
    paseto
}

/// The key paseto-ts opens `purpose` tokens with, the key it makes them with, and our kid.
fn keys_for(purpose: &str, local: &str, secret: &str) -> (String, String, String) {
    match purpose {
        "local" => (local.to_owned(), local.to_owned(), lid(local)),
        _ => (public_of(secret), secret.to_owned(), pid(secret)),
    }
}

fn status(client: &Client, token: &str) -> Status {
    client
        .get("/claims")
        .header(bearer(token))
        .dispatch()
        .status()
}

#[test]
fn our_tokens_open_in_paseto_ts() {
    let Some(ts) = paseto_ts() else { return };
    assert_eq!(public_of(SECRET), PUBLIC);
    for purpose in ["local", "public"] {
        let issuer = PasetoFairing::default()
            .load(&figment(paseto(purpose)))
            .unwrap();
        let token = issuer
            .access("alice")
            .claim("role", "admin")
            .issue()
            .unwrap();
        assert!(token.starts_with(&format!("v4.{purpose}.")));
        let (open, _, kid) = keys_for(purpose, LOCAL, SECRET);

        let opened = ts.decode(purpose, &open, &token).unwrap();
        let payload = &opened["payload"];
        assert_eq!(payload["sub"], "alice", "{purpose}");
        assert_eq!(payload["type"], "access");
        assert_eq!(payload["role"], "admin");
        assert_eq!(payload["iss"], ISSUER);
        for claim in ["exp", "iat", "nbf", "jti"] {
            assert!(payload[claim].is_string(), "{purpose} {claim}");
        }
        let footer: Value = serde_json::from_str(opened["footer"].as_str().unwrap()).unwrap();
        assert_eq!(footer, json!({ "kid": kid }));

        // paseto-ts refuses it with another key, tampered, or under another footer.
        let (wrong, _, other_kid) = keys_for(purpose, OTHER_LOCAL, OTHER_SECRET);
        let refused = ts.decode(purpose, &wrong, &token).unwrap_err();
        assert!(refused.contains("rejected"), "{purpose}: {refused}");
        let refused = ts.decode(purpose, &open, &tampered(&token)).unwrap_err();
        assert!(refused.contains("rejected"), "{purpose}: {refused}");
        let swapped = with_footer(&token, &kid_footer(&other_kid));
        assert!(ts.decode(purpose, &open, &swapped).is_err(), "{purpose}");
        // The untouched token still opens: the refusals above are about the changes.
        assert!(ts.decode(purpose, &open, &token).is_ok());
    }
}

#[test]
fn paseto_ts_tokens_pass_our_guards() {
    let Some(ts) = paseto_ts() else { return };
    for purpose in ["local", "public"] {
        let client = client(paseto(purpose), routes![registered]);
        let (_, make, kid) = keys_for(purpose, LOCAL, SECRET);
        let mut claims = claims("access");
        claims.insert("iss".into(), ISSUER.into());
        let payload = Value::Object(claims.clone());

        for footer in [kid_footer(&kid), String::new()] {
            let token = ts.encode(purpose, &make, &payload, &footer);
            assert!(token.starts_with(&format!("v4.{purpose}.")));
            let response = client.get("/claims").header(bearer(&token)).dispatch();
            assert_eq!(response.status(), Status::Ok, "{purpose} footer {footer:?}");
            // The guard saw the claims paseto-ts sealed, unchanged.
            let seen: Map<String, Value> =
                serde_json::from_str(&response.into_string().unwrap()).unwrap();
            for claim in ["sub", "exp", "iat", "nbf", "jti", "type", "iss"] {
                assert_eq!(seen[claim], claims[claim], "{purpose} {claim}");
            }

            // Tampered: refused.
            assert_eq!(
                status(&client, &tampered(&token)),
                Status::Unauthorized,
                "{purpose} tampered, footer {footer:?}"
            );
        }

        // Made with a key we do not have, with or without our kid: refused.
        let (_, foreign, _) = keys_for(purpose, OTHER_LOCAL, OTHER_SECRET);
        for footer in [kid_footer(&kid), String::new()] {
            let token = ts.encode(purpose, &foreign, &payload, &footer);
            assert_eq!(
                status(&client, &token),
                Status::Unauthorized,
                "{purpose} foreign key, footer {footer:?}"
            );
        }

        // Our claim rules apply to its tokens as to ours: right key, wrong kind or issuer, or
        // no issuer at all.
        let mut refresh = claims.clone();
        refresh.insert("type".into(), "refresh".into());
        let mut elsewhere = claims.clone();
        elsewhere.insert("iss".into(), "https://elsewhere.example".into());
        let mut anonymous = claims.clone();
        anonymous.remove("iss");
        for (what, c) in [
            ("refresh", refresh),
            ("other issuer", elsewhere),
            ("no issuer", anonymous),
        ] {
            let token = ts.encode(purpose, &make, &Value::Object(c), &kid_footer(&kid));
            assert_eq!(
                status(&client, &token),
                Status::Unauthorized,
                "{purpose} {what}"
            );
        }
    }
}
