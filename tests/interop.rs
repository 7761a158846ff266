//! Interoperability with pyseto, an independent PASETO v4 implementation, both ways and for
//! both purposes, with keys exchanged as PASERK and as PEM.
//!
//! The interpreter is `$PYSETO_PYTHON` or `python3`. Without pyseto these tests fail under
//! `CI=true` and are skipped with a message elsewhere (`.ci/run` installs it in a venv).

mod common;

use std::io::Write;
use std::process::Command;

use common::*;
use rocket::http::Status;
use rocket::{get, routes};
use rocket_paseto::{Access, Paseto, PasetoFairing};
use serde_json::{Value, json};

const TOOL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/pyseto_tool.py");

fn python() -> Option<String> {
    let python = std::env::var("PYSETO_PYTHON").unwrap_or_else(|_| "python3".into());
    let found = Command::new(&python)
        .args(["-c", "import pyseto"])
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(python);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("pyseto is not importable by `{python}`; .ci/run installs it (set PYSETO_PYTHON)");
    }
    // Written to stderr directly: libtest would capture `eprintln!` of a passing test.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: pyseto is not importable by `{python}`; set PYSETO_PYTHON to a venv with pyseto"
    );
    None
}

fn pyseto(python: &str, args: &[&str]) -> Result<String, String> {
    let output = Command::new(python).arg(TOOL).args(args).output().unwrap();
    if output.status.success() {
        Ok(String::from_utf8(output.stdout).unwrap().trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[get("/user")]
fn user(token: Paseto<Access>) -> String {
    token.subject().into()
}

fn public_pem(secret: &str) -> (String, String) {
    // The same key pair as PEM: PKCS#8 for the secret half, SPKI for the public half.
    let paserk = secret.strip_prefix("k4.secret.").unwrap();
    let mut buf = [0u8; 64];
    let bytes =
        <ct_codecs::Base64UrlSafeNoPadding as ct_codecs::Decoder>::decode(&mut buf, paserk, None)
            .unwrap();
    let pair = ed25519_compact::KeyPair::from_slice(bytes).unwrap();
    (pair.sk.to_pem(), pair.pk.to_pem())
}

#[test]
fn our_tokens_open_in_pyseto() {
    let Some(py) = python() else { return };
    for purpose in ["local", "public"] {
        let mut paseto = keys();
        paseto["access"] = json!({ "purpose": purpose });
        paseto["issuer"] = json!("https://auth.example");
        let issuer = PasetoFairing::default().load(&figment(paseto)).unwrap();
        let token = issuer
            .access("alice")
            .claim("role", "admin")
            .issue()
            .unwrap();
        let (key, kid) = match purpose {
            "local" => (LOCAL.to_owned(), lid(LOCAL)),
            _ => (PUBLIC.to_owned(), pid(SECRET)),
        };
        let mut keys = vec![key];
        if purpose == "public" {
            keys.push(public_pem(SECRET).1);
        }
        for key in keys {
            let opened: Value =
                serde_json::from_str(&pyseto(&py, &["decode", purpose, &key, &token]).unwrap())
                    .unwrap();
            let payload = &opened["payload"];
            assert_eq!(payload["sub"], "alice");
            assert_eq!(payload["type"], "access");
            assert_eq!(payload["role"], "admin");
            assert_eq!(payload["iss"], "https://auth.example");
            for claim in ["exp", "iat", "nbf", "jti"] {
                assert!(payload[claim].is_string(), "{claim}");
            }
            let footer: Value = serde_json::from_str(opened["footer"].as_str().unwrap()).unwrap();
            assert_eq!(footer, json!({ "kid": kid }));
        }
        // pyseto rejects with the wrong key too.
        let wrong = if purpose == "local" {
            OTHER_LOCAL.to_owned()
        } else {
            public_pem(OTHER_SECRET).1
        };
        assert!(pyseto(&py, &["decode", purpose, &wrong, &token]).is_err());
    }
}

#[test]
fn pyseto_tokens_pass_our_guards() {
    let Some(py) = python() else { return };
    for purpose in ["local", "public"] {
        let mut paseto = keys();
        paseto["access"] = json!({ "purpose": purpose });
        let client = client(paseto, routes![user]);
        let payload = Value::Object(claims("access")).to_string();
        let (signing, kid, other) = match purpose {
            "local" => (vec![LOCAL.to_owned()], lid(LOCAL), OTHER_LOCAL.to_owned()),
            _ => (
                vec![SECRET.to_owned(), public_pem(SECRET).0],
                pid(SECRET),
                OTHER_SECRET.to_owned(),
            ),
        };
        for key in signing {
            for footer in [kid_footer(&kid), String::new()] {
                let token = pyseto(&py, &["encode", purpose, &key, &payload, &footer]).unwrap();
                let response = client.get("/user").header(bearer(&token)).dispatch();
                assert_eq!(response.status(), Status::Ok, "{purpose} footer {footer:?}");
                assert_eq!(response.into_string().unwrap(), "alice");
            }
        }
        // Signed or encrypted with a key we do not have, with or without our kid: rejected.
        for footer in [kid_footer(&kid), String::new()] {
            let token = pyseto(&py, &["encode", purpose, &other, &payload, &footer]).unwrap();
            let response = client.get("/user").header(bearer(&token)).dispatch();
            assert_eq!(
                response.status(),
                Status::Unauthorized,
                "{purpose} foreign key"
            );
        }
        // Our claim rules apply to foreign tokens as to ours: right key, wrong kind.
        let mut refresh = claims("access");
        refresh.insert("type".into(), "refresh".into());
        let right = if purpose == "local" { LOCAL } else { SECRET };
        let token = pyseto(
            &py,
            &[
                "encode",
                purpose,
                right,
                &Value::Object(refresh).to_string(),
                "",
            ],
        )
        .unwrap();
        assert_eq!(
            client
                .get("/user")
                .header(bearer(&token))
                .dispatch()
                .status(),
            Status::Unauthorized
        );
    }
}

/// The issue's end-to-end check: the `basic` example configured through `ROCKET_PASETO` accepts
/// a pyseto token minted with those keys, and its own tokens open in pyseto.
#[test]
fn basic_example_with_environment_keys_interoperates() {
    let Some(py) = python() else { return };
    let paseto = format!(r#"{{local_key="{LOCAL}",secret_key="{SECRET}"}}"#);
    let server = serve_example(
        "basic",
        &[("ROCKET_PROFILE", "release"), ("ROCKET_PASETO", &paseto)],
    );

    let mut c = claims("access");
    c.insert("sub".into(), "from-python".into());
    let token = pyseto(
        &py,
        &[
            "encode",
            "local",
            LOCAL,
            &Value::Object(c).to_string(),
            &kid_footer(&lid(LOCAL)),
        ],
    )
    .unwrap();
    let auth = format!("Bearer {token}");
    let (status, body) = http(server.port, "GET", "/user", &[("Authorization", &auth)], "");
    assert_eq!((status, body.as_str()), (200, r#"{"user":"from-python"}"#));

    let tokens = demo_login(server.port);
    let opened = pyseto(
        &py,
        &[
            "decode",
            "local",
            LOCAL,
            tokens["access_token"].as_str().unwrap(),
        ],
    )
    .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&opened).unwrap()["payload"]["sub"],
        "test"
    );
}

/// Footers and implicit assertions are authenticated: changing either is refused on both sides.
#[test]
fn wrong_footers_and_implicit_assertions_are_refused_by_both() {
    let Some(py) = python() else { return };
    let issuer = PasetoFairing::default().load(&figment(keys())).unwrap();
    let ours = issuer.access("alice").issue().unwrap();
    let client = client(keys(), routes![user]);
    assert_eq!(
        client
            .get("/user")
            .header(bearer(&ours))
            .dispatch()
            .status(),
        Status::Ok
    );

    // Our token with another footer (the other key's kid): pyseto and we both refuse it.
    let swapped_footer = {
        let body = ours.rsplit_once('.').unwrap().0;
        let footer = kid_footer(&lid(OTHER_LOCAL));
        let encoded =
            <ct_codecs::Base64UrlSafeNoPadding as ct_codecs::Encoder>::encode_to_string(footer)
                .unwrap();
        format!("{body}.{encoded}")
    };
    assert!(pyseto(&py, &["decode", "local", LOCAL, &swapped_footer]).is_err());
    assert_eq!(
        client
            .get("/user")
            .header(bearer(&swapped_footer))
            .dispatch()
            .status(),
        Status::Unauthorized
    );
    let same_kid_other_json = {
        let body = ours.rsplit_once('.').unwrap().0;
        let footer = format!(r#"{{"kid": "{}"}}"#, lid(LOCAL));
        let encoded =
            <ct_codecs::Base64UrlSafeNoPadding as ct_codecs::Encoder>::encode_to_string(footer)
                .unwrap();
        format!("{body}.{encoded}")
    };
    assert!(pyseto(&py, &["decode", "local", LOCAL, &same_kid_other_json]).is_err());
    assert_eq!(
        client
            .get("/user")
            .header(bearer(&same_kid_other_json))
            .dispatch()
            .status(),
        Status::Unauthorized
    );

    // Our token opened with an implicit assertion we never used: pyseto refuses it.
    assert!(pyseto(&py, &["decode", "local", LOCAL, &ours]).is_ok());
    assert!(
        pyseto(
            &py,
            &["decode", "local", LOCAL, &ours, "bound-to-something"]
        )
        .is_err()
    );

    // A pyseto token bound to an implicit assertion: we use none, so we refuse it.
    let payload = Value::Object(claims("access")).to_string();
    let bound = pyseto(
        &py,
        &[
            "encode",
            "local",
            LOCAL,
            &payload,
            &kid_footer(&lid(LOCAL)),
            "bound",
        ],
    )
    .unwrap();
    assert_eq!(
        client
            .get("/user")
            .header(bearer(&bound))
            .dispatch()
            .status(),
        Status::Unauthorized
    );
    let unbound = pyseto(
        &py,
        &["encode", "local", LOCAL, &payload, &kid_footer(&lid(LOCAL))],
    )
    .unwrap();
    assert_eq!(
        client
            .get("/user")
            .header(bearer(&unbound))
            .dispatch()
            .status(),
        Status::Ok
    );
}
