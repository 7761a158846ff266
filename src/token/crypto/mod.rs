//! The crate's own PASETO v4 cryptography: `v4.local` on orion's keyed BLAKE2b and
//! RustCrypto's XChaCha20, and `v4.public` signature verification on curve25519-dalek.
//!
//! # Contract
//!
//! Given a token's message and footer segments (what comes after `v4.local.` or `v4.public.`,
//! split at the one dot the shape checks allow), a key and an implicit assertion, these paths
//! accept exactly the tokens that pasetors' `LocalToken::decrypt` and `PublicToken::verify`
//! accept, with the same payload, and refuse the others for the same reason ([`Failure`]).
//! They exist because they are faster: the `local` and `public` files say how.
//!
//! The contract is checked, not assumed: `tests/local_tokens.rs` and `tests/public_tokens.rs`
//! compare both paths with pasetors on hand-built edge cases and random tokens, the `local` and
//! `public` fuzz targets (`fuzz/`, their bodies in `tests/fuzz/`) do the same on fuzzer input,
//! and `tests/vectors.rs` runs the PASETO test vectors through them. A change here is only
//! correct if those still pass.
//!
//! Nothing here knows the rest of the token core, and nothing here imports it: keys come in as
//! bytes and are kept as the small types of this module (`LocalOpener`, `VerifyingKey`), tokens
//! come in as the segments the shape checks (in `verify`) have already bounded, and failures go
//! out as [`Failure`]. Which key opens a token, and what its claims mean, is decided elsewhere.

use std::hint::black_box;

use subtle::ConstantTimeEq;

mod base64;
mod local;
mod public;

pub(crate) use base64::{decode_base64, encode_base64};
pub(crate) use local::LocalOpener;
pub(crate) use public::{SignedToken, VerifyingKey};

/// The header every `v4.local` token starts with.
pub(crate) const LOCAL_HEADER: &str = "v4.local.";

/// The header every `v4.public` token starts with.
pub(crate) const PUBLIC_HEADER: &str = "v4.public.";

/// Why a token's cryptography refused it: the reasons pasetors distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Bad base64, or a message too short to hold its nonce and tag (local) or its signature
    /// (public).
    Malformed,
    /// The tag or the signature does not match.
    Crypto,
    /// Authentic, but the payload is not UTF-8.
    Payload,
}

/// PASETO's `LE64`: the length as 8 little-endian bytes with the top bit clear, as the
/// pre-authentication encoding (PAE) writes it.
fn le64(n: usize) -> [u8; 8] {
    ((n as u64) & (u64::MAX >> 1)).to_le_bytes()
}

/// Whether `a` and `b` are equal, in a time that depends only on their lengths. Differences are
/// gathered 32 bytes at a time in registers, each block's passed through a barrier (so the
/// compiler cannot stop early once one is found), and judged once by `subtle`. Its byte-by-byte
/// slice comparison costs about a nanosecond a byte, more than the rest of a cache hit for a
/// typical token, and a barrier on every word keeps the sum in memory. Used for cached tokens
/// and for `v4.local` tags.
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let ((a_blocks, a_rest), (b_blocks, b_rest)) = (a.as_chunks::<32>(), b.as_chunks::<32>());
    let mut diff = 0u64;
    for (x, y) in a_blocks.iter().zip(b_blocks) {
        let (x_words, y_words) = (x.as_chunks::<8>().0, y.as_chunks::<8>().0);
        let block = x_words.iter().zip(y_words).fold(0u64, |d, (x, y)| {
            d | (u64::from_ne_bytes(*x) ^ u64::from_ne_bytes(*y))
        });
        diff = black_box(diff | block);
    }
    let rest = a_rest
        .iter()
        .zip(b_rest)
        .fold(0u64, |d, (x, y)| d | u64::from(x ^ y));
    diff = black_box(diff | rest);
    diff.ct_eq(&0).into()
}

#[cfg(test)]
mod tests {
    use super::same_bytes;

    /// Every length up to a few blocks, whole or not, and a difference at every position, in
    /// any bit.
    #[test]
    fn same_bytes_compares_every_byte() {
        let text: Vec<u8> = (0..=100u8).map(|i| b'0' + i % 75).collect();
        for len in 0..text.len() {
            let token = &text[..len];
            assert!(same_bytes(token, token), "length {len}");
            for at in 0..len {
                for bit in [0x01, 0x80] {
                    let mut other = token.to_vec();
                    other[at] ^= bit;
                    assert!(
                        !same_bytes(token, &other),
                        "length {len}, difference at {at}"
                    );
                }
            }
            assert!(!same_bytes(&text[..len + 1], token), "length {len}");
        }
    }
}
