//! `v4.public` verification (`__private::verify_token`, and `Authority::verify` above it) against
//! the reference, pasetors' `PublicToken::verify` (ed25519-compact): the Ed25519 edge cases
//! where implementations differ, built by hand after "Taming the many EdDSAs" (small-order and
//! mixed-order keys and nonces, non-canonical encodings, unreduced `s`, the identity), then
//! random tokens and mutations of them. Every case asserts that both verdicts are equal, and
//! what the verdict is.

#[path = "fuzz/signatures.rs"]
mod signatures;

use std::time::Duration;

use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use proptest::prelude::*;
use rocket_paseto::__private::{Authority, KindRules, PublicKey, Rules, VerifyOptions};
use rocket_paseto::Purpose;
use rocket_paseto::{KeyError, Rejection};
use signatures::{
    L, NON_CANONICAL_SMALL_ORDER, SMALL_ORDER, Signer, assemble, b64, compare, hex32,
    pae_v4_public, plus_l, point,
};

const SEED: [u8; 32] = [0x5a; 32];
const NONCE: [u8; 32] = [0x17; 32];
const PAYLOAD: &[u8] = br#"{"data":"this is a signed message"}"#;
const FOOTER: &[u8] = br#"{"kid":"k4.pid.test"}"#;

fn message() -> Vec<u8> {
    pae_v4_public(PAYLOAD, FOOTER, b"")
}

/// Both verifiers on a token signed with `signature` under `key`.
fn verdict(key: &[u8; 32], signature: &[u8; 64]) -> Option<String> {
    compare(key, &assemble(PAYLOAD, signature, FOOTER), None)
}

fn accepted(key: &[u8; 32], signature: &[u8; 64]) {
    assert_eq!(
        verdict(key, signature).as_deref(),
        Some(std::str::from_utf8(PAYLOAD).unwrap())
    );
}

fn rejected(key: &[u8; 32], signature: &[u8; 64]) {
    assert_eq!(verdict(key, signature), None);
}

/// Whether the cofactorless equation `[s]B - [h]A == R` holds, as `ed25519-dalek`'s
/// `verify_strict` requires.
fn cofactorless(key: &[u8; 32], signature: &[u8; 64], message: &[u8]) -> bool {
    let r: [u8; 32] = signature[..32].try_into().unwrap();
    let s = Scalar::from_canonical_bytes(signature[32..].try_into().unwrap()).unwrap();
    let h = signatures::challenge(&r, key, message);
    let a = point(key);
    (curve25519_dalek::constants::ED25519_BASEPOINT_POINT * s - a * h)
        .compress()
        .0
        == r
}

#[test]
fn the_edge_case_encodings_are_what_they_claim() {
    let points: Vec<_> = SMALL_ORDER.iter().map(|e| point(&hex32(e))).collect();
    for (i, p) in points.iter().enumerate() {
        assert!(p.is_small_order(), "{i}");
        assert_eq!(p.compress().0, hex32(SMALL_ORDER[i]), "canonical {i}");
        assert!(points[..i].iter().all(|q| q != p), "distinct {i}");
    }
    assert!(points[0].is_identity());
    for encoded in NON_CANONICAL_SMALL_ORDER {
        let p = point(&hex32(encoded));
        assert!(p.is_small_order());
        assert_ne!(p.compress().0, hex32(encoded), "non-canonical");
    }
    assert_eq!(Scalar::from_canonical_bytes(hex32(L)).into_option(), None);
    assert_eq!(plus_l([0; 32]), hex32(L));
}

#[test]
fn honest_signatures_verify_and_any_flipped_bit_fails() {
    let signer = Signer::new(&SEED, 0);
    let signature = signer.sign(&NONCE, 0, &message());
    accepted(&signer.key, &signature);
    for bit in 0..512 {
        let mut bad = signature;
        bad[bit / 8] ^= 1 << (bit % 8);
        rejected(&signer.key, &bad);
    }
}

/// Non-canonical `s`: `s + L` and `s + 2L` (still below 2^255, so only a range check refuses
/// them), and `s` with its top bits set.
#[test]
fn unreduced_s_is_refused() {
    let signer = Signer::new(&SEED, 0);
    let signature = signer.sign(&NONCE, 0, &message());
    let s: [u8; 32] = signature[32..].try_into().unwrap();
    for unreduced in [plus_l(s), plus_l(plus_l(s)), {
        let mut high = s;
        high[31] |= 0xe0;
        high
    }] {
        let mut bad = signature;
        bad[32..].copy_from_slice(&unreduced);
        rejected(&signer.key, &bad);
    }
}

/// Small-order `R` (each of the eight), with `s = h a`: the equation holds (cofactored, and
/// for the identity even cofactorless), and both refuse.
#[test]
fn small_order_r_is_refused() {
    let signer = Signer::new(&SEED, 0);
    for encoded in SMALL_ORDER.iter().chain(&NON_CANONICAL_SMALL_ORDER) {
        let signature = signer.sign_with(Scalar::ZERO, hex32(encoded), &message());
        rejected(&signer.key, &signature);
    }
}

/// Small-order keys, canonical or not, including the identity, with signatures whose equation
/// holds: pasetors rejects every token, and `PublicKey` refuses the key at load.
#[test]
fn small_order_keys_are_refused_at_load_and_verify_nothing_in_pasetors() {
    for encoded in SMALL_ORDER.iter().chain(&NON_CANONICAL_SMALL_ORDER) {
        let key = hex32(encoded);
        let paserk = format!("k4.public.{}", b64(&key));
        assert_eq!(
            PublicKey::parse(&paserk).unwrap_err(),
            KeyError::WeakPublicKey
        );
        let signer = Signer::with_key(Scalar::ZERO, key);
        rejected(&key, &signer.sign(&NONCE, 0, &message()));
        // The speccheck classic: small-order key and nonce, s = 0.
        rejected(&key, &signer.sign_with(Scalar::ZERO, key, &message()));
    }
}

/// A mixed-order key (`aB + T`, `T` of order 8) whose torsion survives `[h]`: the cofactored
/// equation holds, the cofactorless one does not. pasetors accepts; so must we.
#[test]
fn mixed_order_keys_verify_by_the_cofactored_equation() {
    let (mut cofactored_only, mut both) = (0, 0);
    for torsion in [4, 5, 6, 7, 2, 1] {
        let signer = Signer::new(&SEED, torsion);
        assert!(!point(&signer.key).is_small_order());
        assert!(!point(&signer.key).is_torsion_free());
        for n in 1..=8u8 {
            let signature = signer.sign(&[n; 32], 0, &message());
            accepted(&signer.key, &signature);
            if cofactorless(&signer.key, &signature, &message()) {
                both += 1;
            } else {
                cofactored_only += 1;
            }
        }
    }
    // Both kinds occurred: the first would fail `verify_strict`, the second pass it.
    assert!(cofactored_only > 0 && both > 0, "{cofactored_only} {both}");
}

/// A mixed-order nonce `R = rB + T`: only the cofactored equation holds. pasetors accepts.
#[test]
fn mixed_order_nonces_verify_by_the_cofactored_equation() {
    let signer = Signer::new(&SEED, 0);
    for torsion in 1..8 {
        let signature = signer.sign(&NONCE, torsion, &message());
        assert!(!cofactorless(&signer.key, &signature, &message()));
        accepted(&signer.key, &signature);
    }
}

/// Non-canonical encodings (`y >= p`) that curve25519-dalek would decode: as `R` they are
/// refused, and as keys they are refused at load while pasetors verifies nothing with them.
#[test]
fn non_canonical_encodings_are_refused() {
    let signer = Signer::new(&SEED, 0);
    let mut decodable = 0;
    for k in 0..19u8 {
        for sign in [0, 0x80] {
            let mut encoded = [0xff; 32];
            encoded[0] = 0xed + k;
            encoded[31] = 0x7f | sign;
            if curve25519_dalek::edwards::CompressedEdwardsY(encoded)
                .decompress()
                .is_none()
            {
                continue;
            }
            decodable += 1;
            // As R: s = h a makes [s]B - [h]A - R = -R, which holds for the small-order ones.
            rejected(
                &signer.key,
                &signer.sign_with(Scalar::ZERO, encoded, &message()),
            );
            // As the key, with the signature of the point it reduces to.
            let as_key = Signer::with_key(Scalar::ZERO, encoded);
            rejected(&encoded, &as_key.sign(&NONCE, 0, &message()));
        }
    }
    assert!(decodable > 4, "{decodable}");
}

/// The verifier behind `Authority::verify` is the same: a token signed under a mixed-order key
/// that only the cofactored equation accepts opens there too, with its claims checked.
#[test]
fn authority_verifies_with_the_same_equation() {
    let signer = Signer::new(&SEED, 5);
    let key = PublicKey::from_paserk(&format!("k4.public.{}", b64(&signer.key))).unwrap();
    let footer = format!(r#"{{"kid":"{}"}}"#, key.id());
    let rules = Rules::new(vec![KindRules::new(
        "signed",
        Purpose::Public,
        Duration::from_secs(600),
    )]);
    let authority = Authority::new(None, None, vec![key], rules);
    let now = time::OffsetDateTime::now_utc();
    let exp = (now + Duration::from_secs(60))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let payload = format!(r#"{{"sub":"alice","type":"signed","exp":"{exp}"}}"#);
    let mut found = false;
    for n in 1..=32u8 {
        let message = pae_v4_public(payload.as_bytes(), footer.as_bytes(), b"");
        let signature = signer.sign(&[n; 32], 3, &message);
        if cofactorless(&signer.key, &signature, &message) {
            continue;
        }
        let token = assemble(payload.as_bytes(), &signature, footer.as_bytes());
        let verified = authority.verify("signed", &token, now, VerifyOptions::new());
        assert_eq!(verified.unwrap().claims().sub, "alice");
        let mut tampered = signature;
        tampered[40] ^= 1;
        let token = assemble(payload.as_bytes(), &tampered, footer.as_bytes());
        assert_eq!(
            authority
                .verify("signed", &token, now, VerifyOptions::new())
                .unwrap_err(),
            Rejection::Crypto
        );
        found = true;
        break;
    }
    assert!(found);
}

/// How a proptest token is changed after signing.
#[derive(Debug, Clone)]
enum Change {
    None,
    /// Flip one bit of the decoded payload-and-signature.
    FlipBit(usize),
    /// Replace `R` by a small-order or non-canonical encoding.
    SmallOrderR(usize),
    /// Add `L` to `s`.
    UnreduceS,
    /// Verify with another implicit assertion.
    Implicit(Vec<u8>),
    /// Set one character of the token string.
    Char(usize, char),
    /// Drop characters from the end.
    Truncate(usize),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        2 => Just(Change::None),
        2 => any::<usize>().prop_map(Change::FlipBit),
        1 => (0..14usize).prop_map(Change::SmallOrderR),
        1 => Just(Change::UnreduceS),
        1 => proptest::collection::vec(any::<u8>(), 0..8).prop_map(Change::Implicit),
        2 => (any::<usize>(), prop_oneof![Just('.'), Just('='), Just('A'), any::<char>()])
            .prop_map(|(i, c)| Change::Char(i, c)),
        1 => (0..6usize).prop_map(Change::Truncate),
    ]
}

/// Signs, applies the change, and returns the token and the implicit assertion to verify with.
fn build(
    signer: &Signer,
    nonce: &[u8; 32],
    nonce_torsion: usize,
    parts: &(Vec<u8>, Vec<u8>, Vec<u8>),
    change: &Change,
) -> (String, Vec<u8>) {
    let (payload, footer, implicit) = parts;
    let mut signature = signer.sign(
        nonce,
        nonce_torsion,
        &pae_v4_public(payload, footer, implicit),
    );
    let mut payload = payload.clone();
    match change {
        Change::FlipBit(bit) => {
            let bit = bit % ((payload.len() + 64) * 8);
            let byte = bit / 8;
            if byte < payload.len() {
                payload[byte] ^= 1 << (bit % 8);
            } else {
                signature[byte - payload.len()] ^= 1 << (bit % 8);
            }
        }
        Change::SmallOrderR(i) => {
            let all: Vec<&str> = SMALL_ORDER
                .iter()
                .chain(&NON_CANONICAL_SMALL_ORDER)
                .copied()
                .collect();
            signature[..32].copy_from_slice(&hex32(all[i % all.len()]));
        }
        Change::UnreduceS => {
            let s: [u8; 32] = signature[32..].try_into().unwrap();
            signature[32..].copy_from_slice(&plus_l(s));
        }
        _ => {}
    }
    let mut token = assemble(&payload, &signature, footer);
    let mut implicit = implicit.clone();
    match change {
        Change::Implicit(other) => implicit = other.clone(),
        Change::Char(i, c) => {
            let mut chars: Vec<char> = token.chars().collect();
            let i = i % chars.len();
            chars[i] = *c;
            token = chars.into_iter().collect();
        }
        Change::Truncate(n) => token.truncate(token.len() - n),
        _ => {}
    }
    (token, implicit)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random keys (prime-order or mixed-order), nonces (the same), payloads, footers and
    /// implicit assertions, then one change: both verifiers agree, and unchanged honest tokens
    /// with UTF-8 payloads verify.
    #[test]
    fn random_tokens_get_the_same_verdicts(
        seed in any::<[u8; 32]>(),
        key_torsion in prop_oneof![3 => Just(0usize), 1 => 1..8usize],
        nonce in any::<[u8; 32]>(),
        nonce_torsion in prop_oneof![3 => Just(0usize), 1 => 1..8usize],
        payload in prop_oneof![
            proptest::collection::vec(any::<u8>(), 1..96),
            "[ -~]{1,96}".prop_map(String::into_bytes),
        ],
        footer in prop_oneof![Just(Vec::new()), proptest::collection::vec(any::<u8>(), 1..48)],
        implicit in prop_oneof![Just(Vec::new()), proptest::collection::vec(any::<u8>(), 1..16)],
        change in change(),
    ) {
        let signer = Signer::new(&seed, key_torsion);
        let parts = (payload.clone(), footer, implicit);
        let (token, implicit) = build(&signer, &nonce, nonce_torsion, &parts, &change);
        let implicit = Some(implicit.as_slice()).filter(|i| !i.is_empty());
        let verdict = compare(&signer.key, &token, implicit);
        // A nonce of zero makes `R` a small-order point, refused by both.
        let honest = Scalar::from_bytes_mod_order(nonce) != Scalar::ZERO;
        if matches!(change, Change::None) && honest && !point(&signer.key).is_small_order() {
            prop_assert_eq!(verdict.is_some(), std::str::from_utf8(&payload).is_ok());
        }
    }
}
