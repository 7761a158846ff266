//! The bodies of the fuzz targets in `fuzz/fuzz_targets/`, shared with `tests/fuzz_seeds.rs`,
//! which replays the committed seeds (`tests/fuzz/seeds/<target>/`) on stable Rust so CI
//! exercises every target. Both live under `tests/` so the published crate carries what its
//! tests need; the fuzz crate includes this file by path.
//!
//! Each body must never panic; where it can, it also checks what the result means.

#![allow(dead_code)]

#[path = "signatures.rs"]
mod signatures;

use std::sync::OnceLock;
use std::time::Duration;

use rocket::figment::Figment;
use rocket::figment::providers::{Format, Toml};
use rocket_paseto::__private::{
    Authority, KindRules, LocalKey, PublicKey, Rules, SecretKey, VerifyOptions,
};
use rocket_paseto::__private::{decrypt, from_authorization};
use rocket_paseto::{PasetoFairing, Purpose};

/// Fixed keys: the fuzzer never learns them, so no input it makes may verify.
pub const LOCAL: &str = "k4.local.5KEyzOJPPj-C2-27f61GaL45GEspp1Z-XbWG1UiWu0Q";
pub const SECRET: &str = "k4.secret.JSSpmat4EsUgVrkSsKco-igvd6XtbUrfECxOvD-vc_JczlRlxgzdX8rPGMPGgFcyz1WakbZ42VJApcUz9idXRw";

fn authority() -> &'static Authority {
    static AUTHORITY: OnceLock<Authority> = OnceLock::new();
    AUTHORITY.get_or_init(|| {
        let rules = Rules::new(vec![
            KindRules::new("access", Purpose::Local, Duration::from_secs(600)),
            KindRules::new("signed", Purpose::Public, Duration::from_secs(600)),
        ])
        .leeway(Duration::from_secs(30));
        Authority::new(
            Some(LocalKey::from_paserk(LOCAL).unwrap()),
            Some(SecretKey::parse(SECRET).unwrap()),
            vec![],
            rules,
        )
    })
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// `Authorization` header parsing.
pub fn header(data: &[u8]) {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    for scheme in ["Bearer", "Token"] {
        if let Some(token) = from_authorization(value, scheme) {
            assert!(!token.is_empty());
            assert!(!token.starts_with(' ') && !token.ends_with(' '));
            assert!(
                value
                    .get(..scheme.len())
                    .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
            );
        }
    }
}

/// Untrusted token strings against fixed keys: must never verify.
pub fn token(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    for kind in ["access", "signed"] {
        assert!(
            authority()
                .verify(kind, token, now(), VerifyOptions::new())
                .is_err(),
            "a fuzzed token verified"
        );
    }
}

/// Arbitrary footers on otherwise valid tokens: the `kid` lookup must never panic, and only
/// footers that are JSON objects (or absent) can pass.
pub fn footer(data: &[u8]) {
    let payload = br#"{"sub":"a","type":"access","exp":"2999-01-01T00:00:00Z"}"#;
    let key = pasetors::keys::SymmetricKey::<pasetors::version4::V4>::try_from(LOCAL).unwrap();
    let footer = (!data.is_empty()).then_some(data);
    let Ok(token) = pasetors::version4::LocalToken::encrypt(&key, payload, footer, None) else {
        return;
    };
    if authority()
        .verify("access", &token, now(), VerifyOptions::new())
        .is_ok()
    {
        // Valid JSON may be padded with whitespace: ask a JSON parser, not the first byte.
        let object = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(data);
        assert!(
            data.is_empty() || object.is_ok(),
            "a non-object footer passed"
        );
    }
}

/// Arbitrary payloads, validly encrypted: claims validation must never panic, and only a JSON
/// object with the required claims can pass.
pub fn claims(data: &[u8]) {
    let key = pasetors::keys::SymmetricKey::<pasetors::version4::V4>::try_from(LOCAL).unwrap();
    let Ok(token) = pasetors::version4::LocalToken::encrypt(&key, data, None, None) else {
        return;
    };
    if let Ok(verified) = authority().verify("access", &token, now(), VerifyOptions::new()) {
        let claims = verified.claims();
        assert_eq!(claims.kind, "access");
        assert!(
            claims.exp >= now() - Duration::from_secs(30),
            "an expired payload passed"
        );
        let object = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(data);
        assert!(object.is_ok(), "a non-object payload passed");
    }
}

/// Configuration and keys from arbitrary strings: errors, never panics.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = LocalKey::from_paserk(text);
    let _ = SecretKey::parse(text);
    let _ = PublicKey::parse(text);
    let figment = Figment::from(rocket::Config::debug_default()).merge(Toml::string(text).nested());
    let _ = PasetoFairing::default().load(&figment);
    let keyed = Figment::from(rocket::Config::debug_default())
        .merge(("paseto.local_key", text))
        .merge(("paseto.secret_key", text));
    if let Err(e) = PasetoFairing::default().load(&keyed) {
        // Whatever was given, a long key-like value is never echoed.
        if text.len() >= 24 && !text.contains(char::is_whitespace) {
            assert!(
                !e.to_string().contains(text),
                "config error echoed its input"
            );
        }
    }
}

/// This crate's v4.local decryption against pasetors' (the reference, behind the same shape
/// rules): both must accept and refuse the same tokens, for the same reason, with the same
/// payload. Even first bytes take the rest as a token; odd ones encrypt a payload, footer and
/// implicit assertion taken from the input, then damage one byte of the token.
pub fn local(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let ours = LocalKey::from_paserk(LOCAL).unwrap();
    let theirs = pasetors::keys::SymmetricKey::<pasetors::version4::V4>::try_from(LOCAL).unwrap();
    if mode % 2 == 0 {
        let token = format!("v4.local.{}", String::from_utf8_lossy(rest));
        assert_eq!(
            decrypt(&ours, &token, None),
            reference_local_decrypt(&theirs, &token, b"")
        );
        return;
    }
    let [
        footer_len,
        implicit_len,
        at_high,
        at_low,
        replacement,
        rest @ ..,
    ] = rest
    else {
        return;
    };
    let (footer, rest) = rest.split_at(usize::from(*footer_len).min(rest.len()));
    let (implicit, payload) = rest.split_at(usize::from(*implicit_len).min(rest.len()));
    if payload.is_empty() {
        return;
    }
    let footer = Some(footer).filter(|f| !f.is_empty());
    let Ok(token) =
        pasetors::version4::LocalToken::encrypt(&theirs, payload, footer, Some(implicit))
    else {
        return;
    };
    let mut token = token.into_bytes();
    if *replacement != 0 {
        let at = usize::from(u16::from_be_bytes([*at_high, *at_low])) % token.len();
        token[at] = *replacement;
    }
    let token = String::from_utf8_lossy(&token);
    let opened = decrypt(&ours, &token, Some(implicit));
    assert_eq!(opened, reference_local_decrypt(&theirs, &token, implicit));
    if *replacement == 0 {
        assert_eq!(
            opened.as_ref().map(String::as_bytes).ok(),
            std::str::from_utf8(payload).ok().map(str::as_bytes)
        );
    }
}

/// pasetors' `LocalToken::decrypt` behind the shape rules `Authority::verify` applies first, with
/// its errors mapped to this crate's rejections: the reference for `__private::decrypt`.
pub fn reference_local_decrypt(
    key: &pasetors::keys::SymmetricKey<pasetors::version4::V4>,
    token: &str,
    implicit: &[u8],
) -> Result<String, rocket_paseto::Rejection> {
    use pasetors::errors::Error;
    use rocket_paseto::__private::DEFAULT_MAX_TOKEN_LENGTH;
    use rocket_paseto::Rejection;
    if token.len() > DEFAULT_MAX_TOKEN_LENGTH {
        return Err(Rejection::TooLong);
    }
    let body = token
        .strip_prefix("v4.local.")
        .ok_or(Rejection::WrongPurpose)?;
    let segments: Vec<&str> = body.split('.').collect();
    if segments.len() > 2 || segments.iter().any(|s| s.is_empty()) {
        return Err(Rejection::Malformed);
    }
    if segments.get(1).is_some_and(|f| f.len() > 512 * 4 / 3 + 1) {
        return Err(Rejection::Footer);
    }
    let untrusted =
        pasetors::token::UntrustedToken::<pasetors::token::Local, pasetors::version4::V4>::try_from(
            token,
        )
        .map_err(|_| Rejection::Malformed)?;
    pasetors::version4::LocalToken::decrypt(key, &untrusted, None, Some(implicit))
        .map(|t| t.payload().to_owned())
        .map_err(|e| match e {
            Error::PayloadInvalidUtf8 => Rejection::Payload,
            _ => Rejection::Crypto,
        })
}

/// `v4.public` tokens from fuzzer input, under a key of prime order and one of mixed order:
/// `__private::verify_token` must accept exactly the well-shaped tokens pasetors accepts, with
/// the same payload (`signatures::compare` panics otherwise).
///
/// The first byte chooses the key (bit 0), the torsion part of the signing nonce (bits 1-3)
/// and what the rest is (bits 4-5): the token itself; payload, footer and implicit assertion
/// (split at `0xff`) of a token signed for them; `(position, byte)` edits to the text of a
/// signed token; or the same edits to its decoded payload and signature, which reach `R` and
/// `s` directly.
pub fn public(data: &[u8]) {
    const PAYLOAD: &[u8] = br#"{"sub":"a","type":"signed","exp":"2999-01-01T00:00:00Z"}"#;
    const FOOTER: &[u8] = br#"{"kid":"k4.pid.fuzz"}"#;
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let signer = signatures::Signer::new(&[0x42; 32], usize::from(control & 1) * 4);
    let torsion = usize::from(control >> 1 & 7);
    let nonce = [0x24; 32];
    match control >> 4 & 3 {
        0 => {
            if let Ok(token) = std::str::from_utf8(rest) {
                signatures::compare(&signer.key, token, None);
            }
        }
        1 => {
            let mut parts = rest.splitn(3, |b| *b == 0xff);
            let (payload, footer) = (parts.next().unwrap_or(&[]), parts.next().unwrap_or(&[]));
            let implicit = parts.next().unwrap_or(&[]);
            if payload.is_empty() {
                return;
            }
            let token = signer.token(&nonce, torsion, payload, footer, implicit);
            let verdict = signatures::compare(&signer.key, &token, Some(implicit));
            if signatures::well_shaped(&token) {
                assert_eq!(verdict.as_deref(), std::str::from_utf8(payload).ok());
            }
        }
        2 => {
            let mut token = signer
                .token(&nonce, torsion, PAYLOAD, FOOTER, b"")
                .into_bytes();
            edit(&mut token, rest);
            if let Ok(token) = String::from_utf8(token) {
                signatures::compare(&signer.key, &token, None);
            }
        }
        _ => {
            let message = signatures::pae_v4_public(PAYLOAD, FOOTER, b"");
            let mut signed = PAYLOAD.to_vec();
            signed.extend_from_slice(&signer.sign(&nonce, torsion, &message));
            edit(&mut signed, rest);
            let split = signed.len() - 64;
            let signature: [u8; 64] = signed[split..].try_into().unwrap();
            let token = signatures::assemble(&signed[..split], &signature, FOOTER);
            signatures::compare(&signer.key, &token, None);
        }
    }
}

/// Applies `(position, byte)` pairs: `bytes[position % len] = byte`.
fn edit(bytes: &mut [u8], edits: &[u8]) {
    for pair in edits.chunks_exact(2) {
        let at = usize::from(pair[0]) % bytes.len();
        bytes[at] = pair[1];
    }
}
