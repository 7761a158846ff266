//! Ed25519 signatures built by hand, and pasetors' verdict on them, for comparing
//! `__private::verify_token` with the reference (`pasetors::version4::PublicToken::verify`):
//! keys and nonces of mixed order, small-order and non-canonical encodings, unreduced `s`.
//!
//! Shared by `tests/public_tokens.rs` and the `public` fuzz body (`bodies.rs`).

#![allow(dead_code)]

use ct_codecs::{Base64UrlSafeNoPadding, Encoder};
use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use orion::hazardous::hash::sha2::sha512::Sha512;
use pasetors::keys::AsymmetricPublicKey;
use pasetors::token::{Public, UntrustedToken};
use pasetors::version4::{PublicToken, V4};
use rocket_paseto::__private::verify_token;
use rocket_paseto::__private::{DEFAULT_MAX_TOKEN_LENGTH, PublicKey};
use rocket_paseto::KeyError;

/// The eight points of small order (the torsion subgroup), canonically encoded, the identity
/// first.
pub const SMALL_ORDER: [&str; 8] = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
];

/// Non-canonical encodings of small-order points: a sign bit on `x = 0` (the identity and the
/// point of order 2), and `y = p` and `y = p + 1` (which reduce to `0` and `1`).
pub const NON_CANONICAL_SMALL_ORDER: [&str; 6] = [
    "0100000000000000000000000000000000000000000000000000000000000080",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
];

/// The group order `L`, little-endian.
pub const L: &str = "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010";

pub fn hex32(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

/// The point an encoding stands for, as curve25519-dalek decodes it (reducing `y` mod `p`).
pub fn point(encoded: &[u8; 32]) -> EdwardsPoint {
    CompressedEdwardsY(*encoded).decompress().unwrap()
}

/// `bytes + L`, as 256-bit integers (the carry out of the top byte is dropped).
pub fn plus_l(bytes: [u8; 32]) -> [u8; 32] {
    let l = hex32(L);
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(bytes[i]) + u16::from(l[i]) + carry;
        out[i] = sum as u8;
        carry = sum >> 8;
    }
    out
}

/// A signer whose public key is `aB + T` for a small-order `T`, encoded as given: of mixed
/// order when `T` is not the identity, and possibly encoded non-canonically.
#[derive(Clone, Copy)]
pub struct Signer {
    a: Scalar,
    /// The public key's encoding, hashed into every signature.
    pub key: [u8; 32],
}

impl Signer {
    /// `a` from `seed`, the public key `aB + SMALL_ORDER[torsion % 8]`.
    pub fn new(seed: &[u8; 32], torsion: usize) -> Self {
        let a = Scalar::from_bytes_mod_order(*seed);
        let t = point(&hex32(SMALL_ORDER[torsion % 8]));
        Signer {
            a,
            key: (a * ED25519_BASEPOINT_POINT + t).compress().0,
        }
    }

    /// A signer with the secret scalar `a` whose public key is encoded as `key`: for keys of
    /// small order (`a = 0`) and non-canonical encodings.
    pub fn with_key(a: Scalar, key: [u8; 32]) -> Self {
        Signer { a, key }
    }

    /// Signs `message` with the nonce point `rB + SMALL_ORDER[torsion % 8]` (of mixed order
    /// when the torsion part is not the identity), `r` from `nonce`.
    pub fn sign(&self, nonce: &[u8; 32], torsion: usize, message: &[u8]) -> [u8; 64] {
        let r = Scalar::from_bytes_mod_order(*nonce);
        let t = point(&hex32(SMALL_ORDER[torsion % 8]));
        self.sign_with(r, (r * ED25519_BASEPOINT_POINT + t).compress().0, message)
    }

    /// `(R, s)` with `R` encoded as `r_encoded` and `s = r + h a`, `h` hashed over the
    /// encodings as given: whatever `R` and the key stand for, `[s]B - [h]A - R` is then the
    /// torsion part of `-(R + [h]A)`.
    pub fn sign_with(&self, r: Scalar, r_encoded: [u8; 32], message: &[u8]) -> [u8; 64] {
        let h = challenge(&r_encoded, &self.key, message);
        let s = r + h * self.a;
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(&r_encoded);
        signature[32..].copy_from_slice(s.as_bytes());
        signature
    }

    /// A `v4.public` token of `payload` and `footer` (none when empty), bound to `implicit`.
    pub fn token(
        &self,
        nonce: &[u8; 32],
        torsion: usize,
        payload: &[u8],
        footer: &[u8],
        implicit: &[u8],
    ) -> String {
        let signature = self.sign(nonce, torsion, &pae_v4_public(payload, footer, implicit));
        assemble(payload, &signature, footer)
    }
}

/// `SHA-512(R ‖ A ‖ M) mod L`.
pub fn challenge(r: &[u8; 32], a: &[u8; 32], message: &[u8]) -> Scalar {
    let mut hash = Sha512::new();
    for part in [&r[..], &a[..], message] {
        hash.update(part).unwrap();
    }
    let digest = hash.finalize().unwrap();
    Scalar::from_bytes_mod_order_wide(digest.as_ref().try_into().unwrap())
}

/// What a `v4.public` token's signature covers: PAE(header, payload, footer, implicit).
pub fn pae_v4_public(payload: &[u8], footer: &[u8], implicit: &[u8]) -> Vec<u8> {
    let pieces: [&[u8]; 4] = [b"v4.public.", payload, footer, implicit];
    let mut out = (pieces.len() as u64).to_le_bytes().to_vec();
    for piece in pieces {
        out.extend_from_slice(&(piece.len() as u64).to_le_bytes());
        out.extend_from_slice(piece);
    }
    out
}

pub fn b64(bytes: &[u8]) -> String {
    Base64UrlSafeNoPadding::encode_to_string(bytes).unwrap()
}

/// `v4.public.` + base64(payload ‖ signature), then `.` + base64(footer) unless it is empty.
pub fn assemble(payload: &[u8], signature: &[u8; 64], footer: &[u8]) -> String {
    let mut message = payload.to_vec();
    message.extend_from_slice(signature);
    let mut token = format!("v4.public.{}", b64(&message));
    if !footer.is_empty() {
        token.push('.');
        token.push_str(&b64(footer));
    }
    token
}

/// The reference: pasetors' verdict, with the key taken as raw bytes as pasetors takes them.
pub fn pasetors_verdict(key: &[u8; 32], token: &str, implicit: Option<&[u8]>) -> Option<String> {
    let key = AsymmetricPublicKey::<V4>::from(key).ok()?;
    let untrusted = UntrustedToken::<Public, V4>::try_from(token).ok()?;
    PublicToken::verify(&key, &untrusted, None, implicit)
        .ok()
        .map(|trusted| trusted.payload().to_owned())
}

/// The shape `verify_token` requires before decoding, where it is stricter than pasetors: at
/// most `DEFAULT_MAX_TOKEN_LENGTH` bytes, a non-empty message, at most one footer, non-empty
/// and of at most 512 bytes (683 characters), so no trailing dot.
pub fn well_shaped(token: &str) -> bool {
    let Some(body) = token.strip_prefix("v4.public.") else {
        return false;
    };
    let segments: Vec<&str> = body.split('.').collect();
    token.len() <= DEFAULT_MAX_TOKEN_LENGTH
        && segments.len() <= 2
        && segments.iter().all(|s| !s.is_empty())
        && segments.get(1).is_none_or(|footer| footer.len() <= 683)
}

/// Verifies `token` both ways, panics if the verdicts differ, and returns the common one.
///
/// A key `PublicKey` refuses at load must be one pasetors verifies nothing with; otherwise
/// `verify_token` must accept exactly the well-shaped tokens pasetors accepts, with the same
/// payload.
pub fn compare(key: &[u8; 32], token: &str, implicit: Option<&[u8]>) -> Option<String> {
    let reference = pasetors_verdict(key, token, implicit);
    match PublicKey::from_paserk(&format!("k4.public.{}", b64(key))) {
        Err(KeyError::WeakPublicKey) => {
            assert_eq!(
                reference, None,
                "pasetors verified with a key refused at load"
            );
            None
        }
        Err(e) => panic!("32 bytes of public key refused with {e}"),
        Ok(public) => {
            let ours = verify_token(&public, token, implicit).ok();
            let expected = reference.filter(|_| well_shaped(token));
            assert_eq!(
                ours, expected,
                "verdicts differ on {token} (implicit {implicit:?})"
            );
            ours
        }
    }
}
