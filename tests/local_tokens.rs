//! This crate's own v4.local decryption (`__private::decrypt`, the path `Authority::verify`
//! takes) against pasetors' `LocalToken::decrypt`, the reference: for arbitrary keys, payloads,
//! footers, implicit assertions and mutations of the token, both accept and refuse exactly the
//! same inputs, for the same reason, and return the same payload.
//!
//! The reference is pasetors behind this crate's shape rules (the ones `Authority::verify`
//! applies before anything is decoded), so the two differ only where the decryption does.

#[path = "fuzz/bodies.rs"]
mod bodies;

use bodies::reference_local_decrypt as reference;
use pasetors::keys::SymmetricKey;
use pasetors::version4::{LocalToken, V4};
use proptest::prelude::*;
use rocket_paseto::__private::LocalKey;
use rocket_paseto::__private::decrypt;
use rocket_paseto::Rejection;

/// A key both sides can use, from 32 arbitrary bytes (all-zero keys are refused by this crate).
fn keys(bytes: [u8; 32]) -> Option<(LocalKey, SymmetricKey<V4>)> {
    let paserk = format!(
        "k4.local.{}",
        <ct_codecs::Base64UrlSafeNoPadding as ct_codecs::Encoder>::encode_to_string(bytes).unwrap()
    );
    let ours = LocalKey::from_paserk(&paserk).ok()?;
    Some((ours, SymmetricKey::<V4>::from(&bytes).unwrap()))
}

fn assert_same(ours: &LocalKey, theirs: &SymmetricKey<V4>, token: &str, implicit: &[u8]) {
    let expected = reference(theirs, token, implicit);
    let got = decrypt(ours, token, Some(implicit));
    assert_eq!(got, expected, "token {token:?}");
}

/// How a valid token is damaged before both sides see it.
#[derive(Debug, Clone)]
enum Mutation {
    None,
    /// Replaces the character at this position (modulo the length) with this byte.
    Replace(usize, u8),
    /// Cuts the token to this length (modulo the length).
    Truncate(usize),
    /// Appends these characters.
    Append(String),
    /// Removes the character at this position.
    Remove(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let base64ish = prop_oneof![
        8 => proptest::sample::select(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".to_vec()),
        1 => proptest::sample::select(b".=+/ \0\xff".to_vec()),
    ];
    prop_oneof![
        2 => Just(Mutation::None),
        4 => (any::<usize>(), base64ish).prop_map(|(i, c)| Mutation::Replace(i, c)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => "[A-Za-z0-9_.=-]{1,4}".prop_map(Mutation::Append),
        1 => any::<usize>().prop_map(Mutation::Remove),
    ]
}

fn apply(token: &str, mutation: &Mutation) -> String {
    let mut bytes = token.as_bytes().to_vec();
    match mutation {
        Mutation::None => {}
        Mutation::Replace(i, c) => {
            let i = i % bytes.len();
            bytes[i] = *c;
        }
        Mutation::Truncate(n) => bytes.truncate(n % bytes.len()),
        Mutation::Append(tail) => bytes.extend_from_slice(tail.as_bytes()),
        Mutation::Remove(i) => {
            bytes.remove(i % bytes.len());
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Valid tokens (any payload bytes, UTF-8 or not; any footer and implicit assertion), intact
    /// or damaged, opened with the right key, a wrong implicit assertion, or another key.
    #[test]
    fn fast_path_agrees_with_pasetors(
        key in any::<[u8; 32]>(),
        other in any::<[u8; 32]>(),
        payload in proptest::collection::vec(any::<u8>(), 1..300),
        footer in proptest::collection::vec(any::<u8>(), 0..80),
        implicit in proptest::collection::vec(any::<u8>(), 0..40),
        mutation in mutation(),
        with_other_key in proptest::bool::weighted(0.1),
        wrong_implicit in proptest::bool::weighted(0.1),
    ) {
        let Some((ours, theirs)) = keys(key) else { return Ok(()) };
        let token = LocalToken::encrypt(
            &theirs,
            &payload,
            Some(&footer[..]).filter(|f| !f.is_empty()),
            Some(&implicit[..]),
        ).unwrap();
        let token = apply(&token, &mutation);
        let implicit: &[u8] = if wrong_implicit { b"another assertion" } else { &implicit };
        if with_other_key {
            let Some((ours, theirs)) = keys(other) else { return Ok(()) };
            assert_same(&ours, &theirs, &token, implicit);
        } else {
            assert_same(&ours, &theirs, &token, implicit);
        }
    }

    /// Token-shaped strings that were never tokens.
    #[test]
    fn garbage_is_refused_alike(
        key in any::<[u8; 32]>(),
        body in "[A-Za-z0-9_=.+/-]{0,200}",
    ) {
        let Some((ours, theirs)) = keys(key) else { return Ok(()) };
        assert_same(&ours, &theirs, &format!("v4.local.{body}"), b"");
    }
}

/// The edges a generator may miss: the shortest messages around the nonce-plus-tag length,
/// an empty footer segment, and a payload that is not UTF-8.
#[test]
fn edges_agree_with_pasetors() {
    let (ours, theirs) = keys([7; 32]).unwrap();
    let a = "A".repeat(86); // 64 bytes: nonce and tag, no ciphertext
    for token in [
        "v4.local.".to_owned(),
        format!("v4.local.{a}"),
        format!("v4.local.{a}AA"),
        format!("v4.local.{a}AA."),
        format!("v4.local.{a}AA..e30"),
        format!("v4.local.{a}AAA"),
        format!("v4.local.{a}A"),
    ] {
        assert_same(&ours, &theirs, &token, b"");
    }
    let not_utf8 = LocalToken::encrypt(&theirs, &[0xff, 0xfe], None, None).unwrap();
    assert_eq!(decrypt(&ours, &not_utf8, None), Err(Rejection::Payload));
    assert_same(&ours, &theirs, &not_utf8, b"");
}
