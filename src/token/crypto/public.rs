//! `v4.public` signature verification: Ed25519 on curve25519-dalek, accepting exactly what
//! pasetors accepts.
//!
//! pasetors verifies with `ed25519-compact`; the same checks on curve25519-dalek's arithmetic
//! (vectorised where the CPU allows, with the key decoded once at load) take about half the
//! time. Ed25519 implementations differ in their edge cases, so the checks below are those of
//! `ed25519-compact` 2.6 (`PublicKey::verify`), one for one, and the tests in
//! `tests/public_tokens.rs` compare the two on hand-built edge cases and random tokens.
//!
//! What `ed25519-compact` 2.6 checks, with `L` the group order, `p = 2^255 - 19`, `B` the base
//! point, `A` the public key and `(R, s)` the signature:
//!
//! 1. `s < L` (`sc_reject_noncanonical`);
//! 2. `A` and `R` decode (`decode_point_negated`): `y < p`, no sign bit on `x = 0`, on the
//!    curve, and not of small order (`has_small_order`: `[4]P` has `x = 0`, i.e. `[8]P` is
//!    the identity);
//! 3. `h = SHA-512(R ‖ A ‖ M) mod L`, over `R` and `A` as encoded;
//! 4. the cofactored equation: `[s]B - [h]A - R` has small order. So points of mixed order
//!    (a prime-order point plus a torsion point) are accepted as `A` and as `R` whenever that
//!    holds, also where `[s]B - [h]A != R`.
//!
//! What `ed25519-dalek` 2.2 `VerifyingKey::verify_strict` checks, and why it is not used:
//!
//! 1. `s < L` (`Scalar::from_canonical_bytes`), unless its `legacy_compatibility` feature is
//!    on anywhere in the build, when only the top three bits are checked;
//! 2. `A` and `R` are decompressed by curve25519-dalek, which reduces `y` modulo `p` and allows
//!    a sign bit on `x = 0`; small-order `A` and `R` are refused;
//! 3. the same `h`;
//! 4. the cofactorless equation, compared as bytes: the encoding of `[s]B - [h]A` equals `R`'s.
//!    A non-canonical `R` can never equal it, but signatures with a mixed-order `R`, or with a
//!    mixed-order `A` whose torsion part `[h]` does not cancel, are refused where pasetors
//!    accepts them.
//!
//! This module does what `ed25519-compact` does, with curve25519-dalek 4 for the arithmetic and
//! orion for SHA-512:
//!
//! 1. `s` through `Scalar::from_canonical_bytes` (no `legacy_compatibility` path involved);
//! 2. `A` when the key is loaded (`VerifyingKey::new`): the bytes must pass
//!    `ed25519-compact`'s own `PublicKey::validate`, which runs the decoding its `verify`
//!    runs, so every loaded key passes that step on every token, and a key that would fail it
//!    is refused (pasetors takes such bytes as a key and then rejects every token). `-A` is
//!    then decompressed once;
//! 3. `R`: `y >= p` is refused on the bytes, since curve25519-dalek would reduce it; then
//!    decompressed (refused off the curve) and refused if of small order. The only points with
//!    `x = 0` are the identity and the point of order 2, so a sign bit on `x = 0`, which
//!    `ed25519-compact` refuses while decoding, is refused here by the small-order check;
//! 4. the same `h`, hashed from the token's parts without building the pre-authentication
//!    encoding in memory;
//! 5. `[h](-A) + [s]B - R` has small order: the expression `ed25519-compact` evaluates.

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use orion::hazardous::hash::sha2::sha512::Sha512;

use super::base64::decode_base64;
use super::{Failure, PUBLIC_HEADER, le64};

/// The length of an Ed25519 signature, at the end of a `v4.public` token's message.
const SIGNATURE: usize = 64;

/// An Ed25519 public key decoded once, when the key is loaded: its encoding, hashed into every
/// signature, and the negated point the verification equation uses.
#[derive(Clone)]
pub(crate) struct VerifyingKey {
    encoded: [u8; 32],
    negated: EdwardsPoint,
}

impl VerifyingKey {
    /// Decodes a public key, refusing what `ed25519-compact` would refuse on every signature:
    /// a non-canonical encoding, bytes that are not a point, and points of small order.
    pub(crate) fn new(bytes: &[u8; 32]) -> Option<Self> {
        ed25519_compact::PublicKey::new(*bytes).validate().ok()?;
        let point = CompressedEdwardsY(*bytes).decompress()?;
        Some(VerifyingKey {
            encoded: *bytes,
            negated: -point,
        })
    }

    /// Whether `signature` is this key's Ed25519 signature of the message that `pieces`
    /// encode (PASETO's pre-authentication encoding of them).
    fn verifies(&self, signature: &Signature, pieces: &[&[u8]]) -> bool {
        let Some(s) = Scalar::from_canonical_bytes(signature.s).into_option() else {
            return false;
        };
        let Some(r) = decode_r(signature.r) else {
            return false;
        };
        let Some(h) = challenge(&signature.r, &self.encoded, pieces) else {
            return false;
        };
        let sb_minus_ha = EdwardsPoint::vartime_double_scalar_mul_basepoint(&h, &self.negated, &s);
        (sb_minus_ha - r).is_small_order()
    }
}

/// An Ed25519 signature as sent: the encoded point `R` and the scalar `s`, both unchecked.
struct Signature {
    r: [u8; 32],
    s: [u8; 32],
}

/// Decodes a signature's `R` as `ed25519-compact` does: canonical, on the curve, not of small
/// order.
fn decode_r(bytes: [u8; 32]) -> Option<EdwardsPoint> {
    if !is_canonical_y(&bytes) {
        return None;
    }
    let point = CompressedEdwardsY(bytes).decompress()?;
    (!point.is_small_order()).then_some(point)
}

/// Whether the encoded `y` (the sign bit left out) is below `p = 2^255 - 19`. The encodings at
/// or above `p` are `y = p + k` with `k < 19`: bytes `0xed + k`, thirty `0xff`, then `0x7f`.
fn is_canonical_y(bytes: &[u8; 32]) -> bool {
    let top_is_max = bytes[31] & 0x7f == 0x7f && bytes[1..31].iter().all(|b| *b == 0xff);
    !(top_is_max && bytes[0] >= 0xed)
}

/// `SHA-512(R ‖ A ‖ PAE(pieces)) mod L`, the PAE fed to the hash as it is produced.
fn challenge(r: &[u8; 32], a: &[u8; 32], pieces: &[&[u8]]) -> Option<Scalar> {
    let mut hash = Sha512::new();
    hash.update(r).ok()?;
    hash.update(a).ok()?;
    hash.update(&le64(pieces.len())).ok()?;
    for piece in pieces {
        hash.update(&le64(piece.len())).ok()?;
        hash.update(piece).ok()?;
    }
    let digest = hash.finalize().ok()?;
    let wide: &[u8; 64] = digest.as_ref().try_into().ok()?;
    Some(Scalar::from_bytes_mod_order_wide(wide))
}

/// A `v4.public` token decoded, not yet verified: the payload, the signature and the footer,
/// which names the key that should verify it.
pub(crate) struct SignedToken {
    payload: Vec<u8>,
    signature: Signature,
    footer: Vec<u8>,
}

impl SignedToken {
    /// Decodes the message and footer segments of a token (the footer empty when absent).
    /// Refuses, as pasetors does, base64 that `ct-codecs` refuses and messages no longer than a
    /// signature.
    pub(crate) fn decode(message: &str, footer: &str) -> Result<Self, Failure> {
        let mut payload = Vec::new();
        decode_base64(message.as_bytes(), &mut payload).ok_or(Failure::Malformed)?;
        if payload.len() <= SIGNATURE {
            return Err(Failure::Malformed);
        }
        let split = payload.len() - SIGNATURE;
        let mut signature = Signature {
            r: [0; 32],
            s: [0; 32],
        };
        signature.r.copy_from_slice(&payload[split..split + 32]);
        signature.s.copy_from_slice(&payload[split + 32..]);
        payload.truncate(split);
        let mut footer_bytes = Vec::new();
        decode_base64(footer.as_bytes(), &mut footer_bytes).ok_or(Failure::Malformed)?;
        Ok(SignedToken {
            payload,
            signature,
            footer: footer_bytes,
        })
    }

    /// The footer as sent: untrusted until the signature is verified.
    pub(crate) fn untrusted_footer(&self) -> &[u8] {
        &self.footer
    }

    /// Verifies the signature with `key` over header, payload, footer and `implicit`, and
    /// returns the payload, which must be UTF-8.
    pub(crate) fn verify(self, key: &VerifyingKey, implicit: &[u8]) -> Result<String, Failure> {
        let pieces: [&[u8]; 4] = [
            PUBLIC_HEADER.as_bytes(),
            &self.payload,
            &self.footer,
            implicit,
        ];
        if !key.verifies(&self.signature, &pieces) {
            return Err(Failure::Crypto);
        }
        String::from_utf8(self.payload).map_err(|_| Failure::Payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `y = p + k` for the nineteen `k` that fit in 255 bits, with and without the sign bit.
    fn non_canonical() -> impl Iterator<Item = [u8; 32]> {
        (0..19u8).flat_map(|k| {
            let mut bytes = [0xff; 32];
            bytes[0] = 0xed + k;
            bytes[31] = 0x7f;
            let mut signed = bytes;
            signed[31] = 0xff;
            [bytes, signed]
        })
    }

    #[test]
    fn encodings_at_or_above_p_are_refused_though_dalek_decodes_some() {
        let mut decodable = 0;
        for bytes in non_canonical() {
            assert!(!is_canonical_y(&bytes));
            assert!(decode_r(bytes).is_none());
            decodable += usize::from(CompressedEdwardsY(bytes).decompress().is_some());
        }
        // Without the byte check, curve25519-dalek would take these as `R`.
        assert!(decodable > 0);
        let mut below = [0xff; 32];
        below[0] = 0xec;
        below[31] = 0x7f;
        assert!(is_canonical_y(&below));
    }

    #[test]
    fn keys_refused_at_load_are_those_ed25519_compact_refuses() {
        for bytes in non_canonical() {
            assert!(VerifyingKey::new(&bytes).is_none());
        }
        let identity = {
            let mut b = [0u8; 32];
            b[0] = 1;
            b
        };
        assert!(VerifyingKey::new(&identity).is_none());
        let base = curve25519_dalek::constants::ED25519_BASEPOINT_COMPRESSED.0;
        assert!(VerifyingKey::new(&base).is_some());
    }

    #[test]
    fn base64_buffers_are_exactly_the_decoded_length() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len as u8).collect();
            let encoded =
                <ct_codecs::Base64UrlSafeNoPadding as ct_codecs::Encoder>::encode_to_string(&bytes)
                    .unwrap();
            let mut decoded = Vec::new();
            assert!(decode_base64(encoded.as_bytes(), &mut decoded).is_some());
            assert_eq!(decoded, bytes);
        }
    }
}
