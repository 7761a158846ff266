//! The official PASETO v4 and PASERK k4 test vectors (tests/vectors, ISC licence).
//!
//! v4.json runs at the crypto layer: every token decrypts or verifies to its payload with keys
//! parsed by this crate (hex as PASERK, and PEM), and every `expect-fail` vector is rejected;
//! the public ones both by pasetors and by `__private::verify_token`.
//! The PASERK files run in both directions: parse and format, and key ids (lid, pid, sid).
//!
//! One deliberate deviation: vectors whose key protects nothing are rejected as keys, with an
//! error and no panic: all-zero local keys and Ed25519 seeds (`k4.local-1`, `k4.lid-1`,
//! `k4.secret-1`, `k4.sid-1`), and public-key bytes that are no usable Ed25519 point (`k4.public-1..3`,
//! `k4.pid-1..3`: they exercise the PASERK encoding with arbitrary bytes, which could never verify
//! a signature). The test confirms independently that those bytes are not a usable point.

use std::time::Duration;

use ct_codecs::{Base64UrlSafeNoPadding, Encoder};
use pasetors::keys::{AsymmetricPublicKey, AsymmetricSecretKey, SymmetricKey};
use pasetors::token::{Local, Public, UntrustedToken};
use pasetors::version4::{LocalToken, PublicToken, V4};
use rocket_paseto::__private::{
    Authority, KindRules, LocalKey, PublicKey, Rules, SecretKey, VerifyOptions,
};
use rocket_paseto::__private::{decrypt, verify_token};
use rocket_paseto::Purpose;
use rocket_paseto::{KeyError, Rejection};
use serde_json::Value;

fn load(name: &str) -> Vec<Value> {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    file["tests"].as_array().unwrap().clone()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn b64(bytes: &[u8]) -> String {
    Base64UrlSafeNoPadding::encode_to_string(bytes).unwrap()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// Whether `bytes` are a usable Ed25519 public key, judged independently of this crate.
fn is_point(bytes: &[u8]) -> bool {
    ed25519_compact::PublicKey::from_slice(bytes).is_ok_and(|pk| pk.validate().is_ok())
}

fn report(file: &str, passed: usize, total: usize) {
    println!("vectors {file}: {passed}/{total} passed");
    assert_eq!(passed, total, "{file}");
}

#[test]
fn v4_tokens() {
    let vectors = load("v4.json");
    let mut passed = 0;
    for v in &vectors {
        let name = str_of(v, "name");
        let token = str_of(v, "token");
        let footer = str_of(v, "footer").as_bytes();
        let implicit = str_of(v, "implicit-assertion").as_bytes();
        let expect_fail = v["expect-fail"].as_bool().unwrap();
        let opened: Result<String, String> = if !str_of(v, "key").is_empty() {
            let bytes = hex(str_of(v, "key"));
            let ours = LocalKey::from_paserk(&format!("k4.local.{}", b64(&bytes))).expect(name);
            assert!(ours.id().as_str().starts_with("k4.lid."));
            let key = SymmetricKey::<V4>::from(&bytes).unwrap();
            UntrustedToken::<Local, V4>::try_from(token)
                .and_then(|t| {
                    LocalToken::decrypt(
                        &key,
                        &t,
                        Some(footer).filter(|f| !f.is_empty()),
                        Some(implicit),
                    )
                })
                .map(|t| t.payload().to_owned())
                .map_err(|e| format!("{e:?}"))
        } else {
            let secret =
                SecretKey::parse(&format!("k4.secret.{}", b64(&hex(str_of(v, "secret-key")))))
                    .expect(name);
            let public =
                PublicKey::parse(&format!("k4.public.{}", b64(&hex(str_of(v, "public-key")))))
                    .expect(name);
            // The PEM forms are the same keys.
            assert_eq!(
                SecretKey::parse(str_of(v, "secret-key-pem")).unwrap().id(),
                public.id(),
                "{name}"
            );
            assert_eq!(
                PublicKey::parse(str_of(v, "public-key-pem")).unwrap().id(),
                public.id(),
                "{name}"
            );
            assert_eq!(secret.id(), public.id(), "{name}");
            let key = AsymmetricPublicKey::<V4>::from(&hex(str_of(v, "public-key"))).unwrap();
            if !expect_fail {
                // Ed25519 is deterministic: signing the payload gives the vector's token.
                let sk = AsymmetricSecretKey::<V4>::from(&hex(str_of(v, "secret-key"))).unwrap();
                let payload = str_of(v, "payload").as_bytes();
                let signed = PublicToken::sign(
                    &sk,
                    payload,
                    Some(footer).filter(|f| !f.is_empty()),
                    Some(implicit),
                );
                assert_eq!(signed.unwrap(), token, "{name}");
            }
            let reference = UntrustedToken::<Public, V4>::try_from(token)
                .and_then(|t| {
                    PublicToken::verify(
                        &key,
                        &t,
                        Some(footer).filter(|f| !f.is_empty()),
                        Some(implicit),
                    )
                })
                .map(|t| t.payload().to_owned())
                .map_err(|e| format!("{e:?}"));
            // This crate's own signature check reaches the same verdict and payload (it leaves
            // the footer to the caller, so the footer is compared here).
            let ours = verify_token(&public, token, Some(implicit))
                .map_err(|e| format!("{e:?}"))
                .and_then(|payload| {
                    let sent = token.splitn(4, '.').nth(3).unwrap_or("");
                    (sent == b64(footer))
                        .then_some(payload)
                        .ok_or("footer".into())
                });
            assert_eq!(ours.is_ok(), reference.is_ok(), "{name}: {ours:?}");
            assert_eq!(ours.as_ref().ok(), reference.as_ref().ok(), "{name}");
            reference
        };
        match (expect_fail, opened) {
            (false, Ok(payload)) => {
                assert_eq!(payload, str_of(v, "payload"), "{name}");
                passed += 1;
            }
            (true, Err(_)) => passed += 1,
            (false, Err(e)) => panic!("{name} should open: {e}"),
            (true, Ok(_)) => panic!("{name} should fail"),
        }
    }
    report("v4.json", passed, vectors.len());
}

/// Every v4.local vector through this crate's own decryption path (`LocalKey::decrypt`, the one
/// `Authority::verify` uses): the expected payload and footer, or a refusal. A vector that fails
/// only because its footer differs from the expected one opens, and shows that difference.
#[test]
fn v4_local_tokens_through_our_decryption() {
    let mut checked = 0;
    for v in load("v4.json")
        .iter()
        .filter(|v| !str_of(v, "key").is_empty())
    {
        let name = str_of(v, "name");
        let token = str_of(v, "token");
        let key = LocalKey::from_paserk(&format!("k4.local.{}", b64(&hex(str_of(v, "key")))));
        let key = key.expect(name);
        let implicit = str_of(v, "implicit-assertion").as_bytes();
        let opened = decrypt(&key, token, Some(implicit));
        let footer_matches = token
            .strip_prefix("v4.local.")
            .and_then(|body| body.split('.').nth(1))
            .unwrap_or("")
            == b64(str_of(v, "footer").as_bytes());
        if v["expect-fail"].as_bool().unwrap() {
            assert!(opened.is_err() || !footer_matches, "{name} should fail");
        } else {
            assert_eq!(opened.as_deref(), Ok(str_of(v, "payload")), "{name}");
            assert!(footer_matches, "{name}");
        }
        checked += 1;
    }
    println!("vectors v4.json, v4.local through our decryption: {checked} checked");
    assert!(checked >= 10, "{checked}");
}

/// Our own verifier reaches the same verdicts on the vectors it can take as they are: those
/// without footer or implicit assertion open (and then fail our claim rules, as the vector
/// payloads have no `sub` or `type`), while the failing ones never get past authentication.
#[test]
fn v4_tokens_through_the_verifier() {
    let kinds = vec![
        KindRules::new("local", Purpose::Local, Duration::from_secs(60)),
        KindRules::new("public", Purpose::Public, Duration::from_secs(60)),
    ];
    let before_expiry = time::OffsetDateTime::from_unix_timestamp(1_622_505_600).unwrap(); // 2021-06-01
    let mut checked = 0;
    for v in load("v4.json") {
        let name = str_of(&v, "name");
        if !str_of(&v, "footer").is_empty() || !str_of(&v, "implicit-assertion").is_empty() {
            continue;
        }
        let (authority, kind) = if !str_of(&v, "key").is_empty() {
            let key = LocalKey::from_paserk(&format!("k4.local.{}", b64(&hex(str_of(&v, "key")))))
                .unwrap();
            (
                Authority::new(Some(key), None, vec![], Rules::new(kinds.clone())),
                "local",
            )
        } else {
            let key = PublicKey::parse(&format!(
                "k4.public.{}",
                b64(&hex(str_of(&v, "public-key")))
            ))
            .unwrap();
            (
                Authority::new(None, None, vec![key], Rules::new(kinds.clone())),
                "public",
            )
        };
        let verdict = authority
            .verify(
                kind,
                str_of(&v, "token"),
                before_expiry,
                VerifyOptions::new(),
            )
            .unwrap_err();
        if v["expect-fail"].as_bool().unwrap() {
            assert!(
                matches!(
                    verdict,
                    Rejection::Crypto | Rejection::WrongPurpose | Rejection::Malformed
                ),
                "{name}: {verdict:?}"
            );
        } else {
            assert_eq!(verdict, Rejection::MissingClaim("sub"), "{name}");
        }
        checked += 1;
    }
    println!("vectors v4.json through the verifier: {checked} checked");
    assert!(checked >= 5);
}

/// Runs one PASERK key file: `parse(paserk)` then `format` round-trips, failures are errors.
fn paserk_keys<K>(
    file: &str,
    prefix: &str,
    parse: impl Fn(&str) -> Result<K, KeyError>,
    format: impl Fn(&K) -> String,
) {
    let vectors = load(file);
    let mut passed = 0;
    for v in &vectors {
        let name = str_of(v, "name");
        let expect_fail = v["expect-fail"].as_bool().unwrap();
        let paserk = v["paserk"].as_str().map(str::to_owned).unwrap_or_else(|| {
            // Failing vectors without a PASERK give raw key bytes: format them as if they were one.
            format!("{prefix}.{}", b64(&hex(str_of(v, "key"))))
        });
        let all_zero =
            !str_of(v, "key").is_empty() && hex(str_of(v, "key")).iter().take(32).all(|b| *b == 0);
        match (expect_fail, parse(&paserk)) {
            (false, Ok(key)) => {
                assert_eq!(format(&key), paserk, "{name}");
                assert_eq!(
                    &format(&key)[prefix.len() + 1..],
                    b64(&hex(str_of(v, "key"))),
                    "{name}"
                );
                passed += 1;
            }
            (false, Err(KeyError::ZeroKey | KeyError::ZeroSeed)) if all_zero => passed += 1,
            (false, Err(KeyError::WeakPublicKey)) if !is_point(&hex(str_of(v, "key"))) => {
                passed += 1
            }
            (true, Err(_)) => passed += 1,
            (false, Err(e)) => panic!("{name} should parse: {e}"),
            (true, Ok(_)) => panic!("{name} should fail"),
        }
    }
    report(file, passed, vectors.len());
}

#[test]
fn paserk_local() {
    paserk_keys(
        "k4.local.json",
        "k4.local",
        LocalKey::from_paserk,
        LocalKey::to_paserk,
    );
}

#[test]
fn paserk_secret() {
    paserk_keys(
        "k4.secret.json",
        "k4.secret",
        SecretKey::from_paserk,
        SecretKey::to_paserk,
    );
}

#[test]
fn paserk_public() {
    paserk_keys(
        "k4.public.json",
        "k4.public",
        PublicKey::from_paserk,
        PublicKey::to_paserk,
    );
}

#[test]
fn paserk_ids() {
    for (file, prefix) in [("k4.lid.json", "k4.local"), ("k4.pid.json", "k4.public")] {
        let vectors = load(file);
        let mut passed = 0;
        for v in &vectors {
            let name = str_of(v, "name");
            let bytes = hex(str_of(v, "key"));
            let key = format!("{prefix}.{}", b64(&bytes));
            let id = if prefix == "k4.local" {
                LocalKey::from_paserk(&key).map(|k| k.id().to_string())
            } else {
                PublicKey::from_paserk(&key).map(|k| k.id().to_string())
            };
            match (v["expect-fail"].as_bool().unwrap(), id) {
                (false, Ok(id)) => {
                    assert_eq!(id, str_of(v, "paserk"), "{name}");
                    passed += 1;
                }
                (false, Err(KeyError::ZeroKey)) if bytes.iter().all(|b| *b == 0) => passed += 1,
                (false, Err(KeyError::WeakPublicKey)) if !is_point(&bytes) => passed += 1,
                (true, Err(_)) => passed += 1,
                (false, Err(e)) => panic!("{name}: {e}"),
                (true, Ok(_)) => panic!("{name} should fail"),
            }
        }
        report(file, passed, vectors.len());
    }
}

#[test]
fn paserk_secret_ids() {
    let vectors = load("k4.sid.json");
    let mut passed = 0;
    for v in &vectors {
        let name = str_of(v, "name");
        let bytes = hex(str_of(v, "key"));
        let id = SecretKey::from_paserk(&format!("k4.secret.{}", b64(&bytes)))
            .map(|k| k.secret_id().to_string());
        match (v["expect-fail"].as_bool().unwrap(), id) {
            (false, Ok(id)) => {
                assert_eq!(id, str_of(v, "paserk"), "{name}");
                passed += 1;
            }
            (false, Err(KeyError::ZeroSeed)) if bytes[..32].iter().all(|b| *b == 0) => passed += 1,
            (true, Err(_)) => passed += 1,
            (false, Err(e)) => panic!("{name}: {e}"),
            (true, Ok(_)) => panic!("{name} should fail"),
        }
    }
    report("k4.sid.json", passed, vectors.len());
}
