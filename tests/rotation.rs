//! Key rotation without downtime, and keys read from files (mounted secrets).

mod common;

use common::*;
use rocket::http::Status;
use rocket::{get, routes};
use rocket_paseto::__private::SecretKey;
use rocket_paseto::{Access, Paseto, PasetoFairing};
use serde_json::{Value, json};

#[get("/user")]
fn user(token: Paseto<Access>) -> String {
    token.subject().to_owned()
}

fn footer_kid(token: &str) -> String {
    let footer = token.rsplit('.').next().unwrap();
    let mut buf = vec![0u8; footer.len()];
    let bytes =
        <ct_codecs::Base64UrlSafeNoPadding as ct_codecs::Decoder>::decode(&mut buf, footer, None)
            .unwrap();
    serde_json::from_slice::<Value>(bytes).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn status(paseto: &Value, token: &str) -> Status {
    let client = client(paseto.clone(), routes![user]);
    client
        .get("/user")
        .header(bearer(token))
        .dispatch()
        .status()
}

fn mint(paseto: &Value) -> String {
    PasetoFairing::default()
        .load(&figment(paseto.clone()))
        .unwrap()
        .access("alice")
        .issue()
        .unwrap()
}

#[test]
fn a_local_key_rotation_walk() {
    // Before: one key.
    let before = json!({ "local_key": LOCAL });
    let old = mint(&before);
    assert_eq!(footer_kid(&old), lid(LOCAL));
    // During: a new key, the old one still listed. Old tokens work; new ones name the new key.
    let during = json!({ "local_key": OTHER_LOCAL, "previous_local_keys": [LOCAL] });
    assert_eq!(status(&during, &old), Status::Ok);
    let new = mint(&during);
    assert_eq!(footer_kid(&new), lid(OTHER_LOCAL));
    assert_eq!(status(&during, &new), Status::Ok);
    // After: the old key removed. Old tokens fail, new ones work.
    let after = json!({ "local_key": OTHER_LOCAL });
    assert_eq!(status(&after, &old), Status::Unauthorized);
    assert_eq!(status(&after, &new), Status::Ok);
}

#[test]
fn a_signing_key_rotation_walk() {
    let public_of = |secret: &str| SecretKey::parse(secret).unwrap().public_key().to_paserk();
    let before =
        json!({ "local_key": LOCAL, "secret_key": SECRET, "access": { "purpose": "public" } });
    let old = mint(&before);
    assert_eq!(footer_kid(&old), pid(SECRET));
    let during = json!({
        "local_key": LOCAL,
        "secret_key": OTHER_SECRET,
        "public_keys": [public_of(SECRET)],
        "access": { "purpose": "public" },
    });
    assert_eq!(status(&during, &old), Status::Ok);
    let new = mint(&during);
    assert_eq!(footer_kid(&new), pid(OTHER_SECRET));
    let after = json!({ "local_key": LOCAL, "secret_key": OTHER_SECRET, "access": { "purpose": "public" } });
    assert_eq!(status(&after, &old), Status::Unauthorized);
    assert_eq!(status(&after, &new), Status::Ok);
}

/// The announce step of a rotation with discovery (`docs/keys.md`): the next signing key's
/// public half listed in `public_keys`, bound to the service's own `issuer`, before it signs.
/// With `issuer` set every token must name it, so every key of the service vouches for it: a
/// key bound to it does not make the other keys' tokens (the current signing key's) refuse.
#[test]
fn announcing_the_next_key_bound_to_the_issuer_keeps_current_tokens_valid() {
    let issuer = "https://us.example";
    let next_public = SecretKey::parse(OTHER_SECRET)
        .unwrap()
        .public_key()
        .to_paserk();
    let announcing = json!({
        "local_key": LOCAL,
        "secret_key": SECRET,
        "issuer": issuer,
        "public_keys": [{ "key": next_public, "issuer": issuer }, PUBLIC],
        "access": { "purpose": "public" },
    });
    let current = mint(&announcing);
    assert_eq!(footer_kid(&current), pid(SECRET));
    assert_eq!(status(&announcing, &current), Status::Ok);
    // Once the next key signs, the previous one's tokens and its own are accepted alike.
    let rotated = json!({
        "local_key": LOCAL,
        "secret_key": OTHER_SECRET,
        "issuer": issuer,
        "public_keys": [PUBLIC],
        "access": { "purpose": "public" },
    });
    let next = mint(&rotated);
    assert_eq!(status(&rotated, &current), Status::Ok);
    assert_eq!(status(&rotated, &next), Status::Ok);
    assert_eq!(status(&announcing, &next), Status::Ok);
}

/// Binding a public key to the service's issuer (a verifier of another service's tokens, or
/// key discovery) says which public keys may sign in that name; the service's own local
/// tokens, which only it can make, keep naming it.
#[test]
fn local_tokens_may_name_an_issuer_bound_to_public_keys() {
    let issuer = "https://us.example";
    let paseto = json!({
        "local_key": LOCAL,
        "issuer": issuer,
        "public_keys": [{ "key": PUBLIC, "issuer": issuer }],
    });
    let local = mint(&paseto);
    assert!(local.starts_with("v4.local."));
    assert_eq!(status(&paseto, &local), Status::Ok);
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rocket-paseto-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn keys_can_come_from_files() {
    let dir = temp_dir("keys");
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, format!("{text}\n")).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let local = write("local", LOCAL);
    let previous = write("previous", OTHER_LOCAL);
    let secret = write("secret", SECRET);
    let other_public = write(
        "other.pub",
        &SecretKey::parse(OTHER_SECRET)
            .unwrap()
            .public_key()
            .to_paserk(),
    );
    let paseto = json!({
        "local_key_file": local,
        "previous_local_key_files": [previous],
        "secret_key_file": secret,
        "public_key_files": [other_public],
    });
    let issuer = PasetoFairing::default()
        .load(&figment(paseto.clone()))
        .unwrap();
    assert_eq!(
        rocket_paseto::__private::authority(&issuer)
            .local_key()
            .unwrap()
            .id()
            .to_string(),
        lid(LOCAL)
    );
    assert_eq!(
        rocket_paseto::__private::authority(&issuer)
            .secret_key()
            .unwrap()
            .id()
            .to_string(),
        pid(SECRET)
    );
    assert_eq!(
        rocket_paseto::__private::authority(&issuer)
            .public_keys()
            .len(),
        2
    );
    // The previous key from its file still opens old tokens.
    let old = mint(&json!({ "local_key": OTHER_LOCAL }));
    assert_eq!(status(&paseto, &old), Status::Ok);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn key_file_mistakes_name_the_field_and_never_the_contents() {
    let dir = temp_dir("bad-keys");
    let public = dir.join("public-as-local");
    std::fs::write(&public, PUBLIC).unwrap();
    let load = |paseto: Value| PasetoFairing::default().load(&figment(paseto)).unwrap_err();

    let err = load(json!({ "local_key_file": public.to_str().unwrap() }));
    assert_eq!(err.field(), "paseto.local_key_file");
    assert!(!err.to_string().contains(&PUBLIC[10..]), "{err}");

    let missing = dir.join("nope");
    let err = load(json!({ "secret_key_file": missing.to_str().unwrap() }));
    assert_eq!(err.field(), "paseto.secret_key_file");
    assert!(
        err.message().contains("NotFound") || err.message().contains("not found"),
        "{err}"
    );

    let err = load(json!({ "local_key": LOCAL, "local_key_file": public.to_str().unwrap() }));
    assert_eq!(err.field(), "paseto.local_key_file");
    assert!(err.message().contains("not both"), "{err}");

    let err = load(
        json!({ "local_key": LOCAL, "public_key_files": [public.to_str().unwrap(), missing.to_str().unwrap()] }),
    );
    assert_eq!(err.field(), "paseto.public_key_files[1]");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_bound_issuer_is_refused_from_any_other_key() {
    let other_public = SecretKey::parse(OTHER_SECRET)
        .unwrap()
        .public_key()
        .to_paserk();
    let paseto = json!({
        "public_keys": [{ "key": other_public, "issuer": "https://partner.example" }, PUBLIC],
        "access": { "purpose": "public" },
        "refresh": { "purpose": "public" },
    });
    let forged_by = |secret: &str, iss: &str| {
        let mut c = claims("access");
        c.insert("iss".into(), iss.into());
        forge_public(
            secret,
            &Value::Object(c).to_string(),
            Some(&kid_footer(&pid(secret))),
        )
    };
    assert_eq!(
        status(&paseto, &forged_by(OTHER_SECRET, "https://partner.example")),
        Status::Ok
    );
    assert_eq!(
        status(&paseto, &forged_by(OTHER_SECRET, "https://us.example")),
        Status::Unauthorized
    );
    // The unbound key may sign for itself, but never in the bound partner's name.
    assert_eq!(
        status(&paseto, &forged_by(SECRET, "https://us.example")),
        Status::Ok
    );
    assert_eq!(
        status(&paseto, &forged_by(SECRET, "https://partner.example")),
        Status::Unauthorized
    );
}

#[test]
fn binding_mistakes_are_launch_errors() {
    let load = |paseto: Value| PasetoFairing::default().load(&figment(paseto)).unwrap_err();
    let err = load(json!({
        "local_key": LOCAL,
        "issuer": "https://us.example",
        "public_keys": [{ "key": PUBLIC, "issuer": "https://partner.example" }],
    }));
    assert_eq!(err.field(), "paseto.public_keys[0].issuer");
    let err = load(json!({
        "local_key": LOCAL,
        "public_keys": [{ "key": PUBLIC, "issuer": "https://a.example" }, { "key": PUBLIC, "issuer": "https://b.example" }],
    }));
    assert_eq!(err.field(), "paseto.public_keys[1].issuer");
    let err = load(json!({
        "local_key": LOCAL,
        "public_keys": [{ "key": PUBLIC, "issuer": "https://a.example", "audience": "x" }],
    }));
    assert!(err.field().starts_with("paseto.public_keys"), "{err}");
}

#[test]
fn a_key_pasted_into_a_file_setting_is_not_echoed() {
    let paseto = json!({ "local_key_file": LOCAL });
    let err = PasetoFairing::default()
        .load(&figment(paseto.clone()))
        .unwrap_err();
    assert_eq!(err.field(), "paseto.local_key_file");
    assert!(!err.to_string().contains(&LOCAL[9..]), "{err}");
    let config: rocket_paseto::__private::Config = figment(paseto).extract_inner("paseto").unwrap();
    assert!(!format!("{config:?}").contains(&LOCAL[9..]));
}

#[test]
fn the_demo_verifier_key_is_the_demo_signing_key() {
    let toml =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Rocket.toml")).unwrap();
    let value = |prefix: &str| {
        let line = toml.lines().find(|l| l.starts_with(prefix)).unwrap();
        line.split('"').nth(1).unwrap().to_owned()
    };
    let secret = SecretKey::parse(&value("secret_key = ")).unwrap();
    assert_eq!(secret.public_key().to_paserk(), value("public_keys = "));
}

// --- Publishing the public keys (`publish_keys`) ---------------------------------------------

const KEYS_PATH: &str = "/.well-known/paseto-keys";
const ISSUER: &str = "https://auth.example";

/// The published key document of a service with `paseto`: status, headers and body.
fn published(paseto: Value) -> (Status, Option<String>, Option<String>, Value) {
    let client = client(paseto, routes![]);
    let response = client.get(KEYS_PATH).dispatch();
    let status = response.status();
    let content_type = response.content_type().map(|t| t.to_string());
    let cache = response
        .headers()
        .get_one("Cache-Control")
        .map(str::to_owned);
    let body = response.into_json().unwrap_or(Value::Null);
    (status, content_type, cache, body)
}

#[test]
fn the_published_document_lists_the_signing_key_then_the_previous_ones() {
    let paseto = json!({
        "secret_key": OTHER_SECRET,
        "public_keys": [PUBLIC],
        "issuer": ISSUER,
        "publish_keys": KEYS_PATH,
        "publish_keys_max_age": 60,
    });
    let (status, content_type, cache, body) = published(paseto);
    assert_eq!(status, Status::Ok);
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert_eq!(cache.as_deref(), Some("public, max-age=60"));
    let other_public = SecretKey::parse(OTHER_SECRET)
        .unwrap()
        .public_key()
        .to_paserk();
    assert_eq!(
        body,
        json!({
            "issuer": ISSUER,
            "keys": [
                { "kid": pid(OTHER_SECRET), "key": other_public, "status": "current" },
                { "kid": pid(SECRET), "key": PUBLIC, "status": "previous" },
            ],
        })
    );
    // Public keys only: never the signing key, never a local key.
    let text = body.to_string();
    assert!(
        !text.contains("k4.secret") && !text.contains("k4.local"),
        "{text}"
    );
}

#[test]
fn the_document_is_cached_for_five_minutes_by_default_and_absent_unless_asked_for() {
    let publishing = json!({
        "local_key": LOCAL,
        "secret_key": SECRET,
        "issuer": ISSUER,
        "publish_keys": KEYS_PATH,
    });
    let (status, _, cache, body) = published(publishing);
    assert_eq!(status, Status::Ok);
    assert_eq!(cache.as_deref(), Some("public, max-age=300"));
    assert_eq!(body["keys"].as_array().unwrap().len(), 1);
    let quiet = json!({ "local_key": LOCAL, "secret_key": SECRET, "issuer": ISSUER });
    assert_eq!(published(quiet).0, Status::NotFound);
}

#[test]
fn publishing_needs_a_signing_key_an_issuer_and_a_plain_path() {
    let refused = |paseto: Value| -> String {
        let err = PasetoFairing::default()
            .load(&figment(paseto))
            .expect_err("publishing refused");
        err.field().to_owned()
    };
    let with = |extra: Value| {
        let mut paseto = json!({ "local_key": LOCAL, "secret_key": SECRET, "issuer": ISSUER });
        paseto
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        paseto
    };
    for path in ["keys", "/a//b", "/a/../b", "/keys?x=1", "/<key>", "/ké"] {
        assert_eq!(
            refused(with(json!({ "publish_keys": path }))),
            "paseto.publish_keys",
            "{path}"
        );
    }
    let no_issuer = json!({ "local_key": LOCAL, "secret_key": SECRET, "publish_keys": KEYS_PATH });
    assert_eq!(refused(no_issuer), "paseto.publish_keys");
    let no_signing_key = json!({
        "local_key": LOCAL, "public_keys": [PUBLIC], "issuer": ISSUER, "publish_keys": KEYS_PATH,
    });
    assert_eq!(refused(no_signing_key), "paseto.publish_keys");
    let long = with(json!({ "publish_keys": KEYS_PATH, "publish_keys_max_age": 86401 }));
    assert_eq!(refused(long), "paseto.publish_keys_max_age");
}

#[cfg(not(feature = "discovery"))]
#[test]
fn discovery_without_its_feature_is_a_launch_error_that_says_so() {
    let paseto = json!({
        "discovery": { "url": "https://auth.example/keys", "issuer": ISSUER },
        "access": { "purpose": "public" },
    });
    let err = PasetoFairing::default().load(&figment(paseto)).unwrap_err();
    assert_eq!(err.field(), "paseto.discovery");
    assert!(err.to_string().contains("feature `discovery`"), "{err}");
}
