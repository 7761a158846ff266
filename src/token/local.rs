//! The `v4.local` decryption path, built directly on the primitives pasetors uses (orion's
//! keyed BLAKE2b and XChaCha20), without pasetors' intermediate token types.
//!
//! It accepts and refuses exactly what pasetors' `LocalToken::decrypt` does after our shape checks
//! (see `tests/differential.rs` and the `local` fuzz target), and it is faster because:
//! - the keyed BLAKE2b states that derive the encryption and authentication keys are set up once
//!   per key, with the key block and the domain-separation prefix already absorbed;
//! - the pre-authentication encoding is fed to the MAC piece by piece instead of being assembled;
//! - the message is decoded once into the buffer that is decrypted in place and becomes the
//!   payload `String`, with no other copy.
//!
//! The base64 decoder here runs in variable time: it only ever sees the token, which is public
//! (nonce, ciphertext and tag). Keys are still decoded by `ct-codecs`.

use std::fmt;

use orion::hazardous::mac::blake2b::{Blake2b, SecretKey as MacKey, Tag};
use orion::hazardous::stream::xchacha20::{Nonce, SecretKey as StreamKey, XChaCha20};

use super::error::Rejection;
use super::keys::LocalKey;
use super::rules::{DEFAULT_MAX_TOKEN_LENGTH, Purpose};
use super::verify::check_shape;

/// The header every v4.local token starts with.
pub(crate) const HEADER: &str = "v4.local.";
const NONCE: usize = 32;
const TAG: usize = 32;
const ENCRYPTION_KEY_DOMAIN: &[u8] = b"paseto-encryption-key";
const AUTHENTICATION_KEY_DOMAIN: &[u8] = b"paseto-auth-key-for-aead";

impl LocalKey {
    /// Decrypts a `v4.local` token with this key, under the implicit assertion `implicit` (none
    /// is the same as empty): the payload, unparsed.
    ///
    /// This is the cryptographic layer only. It makes the same shape checks as
    /// [`Authority::verify`](super::Authority::verify) (with the default maximum length), but it
    /// neither picks the key by the footer's `kid` nor checks any claim, so use `verify` to
    /// accept tokens; this is for tools and for tokens that are not ours.
    ///
    /// ```
    /// use rocket_paseto::token::{Authority, KindRules, LocalKey, MintOptions, Purpose, Rules};
    /// # use std::time::Duration;
    ///
    /// let key = LocalKey::generate().unwrap();
    /// let paserk = key.to_paserk();
    /// let rules = Rules::new(vec![KindRules::new("access", Purpose::Local, Duration::from_secs(60))]);
    /// let authority = Authority::new(Some(key), None, vec![], rules);
    /// let token = authority.mint("access", "alice", None::<&()>, MintOptions::new()).unwrap();
    ///
    /// let payload = LocalKey::from_paserk(&paserk).unwrap().decrypt(&token, None).unwrap();
    /// assert!(payload.contains(r#""sub":"alice""#));
    /// ```
    pub fn decrypt(&self, token: &str, implicit: Option<&[u8]>) -> Result<String, Rejection> {
        let (message, footer) = check_shape(token, Purpose::Local, DEFAULT_MAX_TOKEN_LENGTH)?;
        let mut footer_bytes = Vec::new();
        decode_base64(footer.as_bytes(), &mut footer_bytes).ok_or(Rejection::Malformed)?;
        self.opener()
            .open(message, &footer_bytes, implicit.unwrap_or_default())
    }
}

/// One key's precomputed key-derivation states.
#[derive(Clone)]
pub(crate) struct LocalOpener {
    /// Keyed BLAKE2b-448 that has absorbed the key block and `paseto-encryption-key`.
    encryption: Blake2b,
    /// Keyed BLAKE2b-256 that has absorbed the key block and `paseto-auth-key-for-aead`.
    authentication: Blake2b,
}

impl fmt::Debug for LocalOpener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalOpener")
    }
}

impl LocalOpener {
    /// Sets up the key-derivation states for `key` (32 bytes).
    pub(crate) fn new(key: &[u8]) -> Option<Self> {
        let key = MacKey::try_from(key).ok()?;
        let state = |size: usize, domain: &[u8]| {
            let mut state = Blake2b::new(&key, size).ok()?;
            state.update(domain).ok()?;
            Some(state)
        };
        Some(LocalOpener {
            encryption: state(56, ENCRYPTION_KEY_DOMAIN)?,
            authentication: state(32, AUTHENTICATION_KEY_DOMAIN)?,
        })
    }

    /// Authenticates and decrypts the base64 `message` segment of a token whose footer (decoded)
    /// is `footer`, under the implicit assertion `implicit`: the payload.
    ///
    /// Errors: [`Rejection::Malformed`] for bad base64 or a message with no ciphertext,
    /// [`Rejection::Crypto`] when the tag does not match, [`Rejection::Payload`] when the
    /// plaintext is not UTF-8.
    pub(crate) fn open(
        &self,
        message: &str,
        footer: &[u8],
        implicit: &[u8],
    ) -> Result<String, Rejection> {
        let mut buffer = Vec::new();
        decode_base64(message.as_bytes(), &mut buffer).ok_or(Rejection::Malformed)?;
        if buffer.len() <= NONCE + TAG {
            return Err(Rejection::Malformed);
        }
        let (nonce, rest) = buffer.split_at(NONCE);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG);
        let nonce: &[u8; NONCE] = nonce.try_into().map_err(|_| Rejection::Malformed)?;
        let (stream_key, stream_nonce) = self.derive_stream(nonce)?;
        let expected = Tag::try_from(tag).map_err(|_| Rejection::Malformed)?;
        let mut mac = self.derive_mac(nonce)?;
        for piece in pre_auth_lengths_and_pieces(nonce, ciphertext, footer, implicit) {
            mac.update(piece.as_ref()).map_err(|_| Rejection::Crypto)?;
        }
        // `Tag`'s equality is constant-time.
        if mac.finalize().map_err(|_| Rejection::Crypto)? != expected {
            return Err(Rejection::Crypto);
        }
        let length = ciphertext.len();
        buffer.copy_within(NONCE..NONCE + length, 0);
        buffer.truncate(length);
        XChaCha20::new(&stream_key, &stream_nonce)
            .xor_keystream_into(&mut buffer)
            .map_err(|_| Rejection::Crypto)?;
        String::from_utf8(buffer).map_err(|_| Rejection::Payload)
    }

    /// `Ek` and `n2`: BLAKE2b-448 of the domain and the nonce, split 32 / 24.
    fn derive_stream(&self, nonce: &[u8; NONCE]) -> Result<(StreamKey, Nonce), Rejection> {
        let mut state = self.encryption.clone();
        state.update(nonce).map_err(|_| Rejection::Crypto)?;
        let derived = state.finalize().map_err(|_| Rejection::Crypto)?;
        let derived = derived.unprotected_as_ref();
        let key = StreamKey::try_from(&derived[..32]).map_err(|_| Rejection::Crypto)?;
        let nonce = Nonce::try_from(&derived[32..]).map_err(|_| Rejection::Crypto)?;
        Ok((key, nonce))
    }

    /// A MAC keyed with `Ak`, the BLAKE2b-256 of the domain and the nonce.
    fn derive_mac(&self, nonce: &[u8; NONCE]) -> Result<Blake2b, Rejection> {
        let mut state = self.authentication.clone();
        state.update(nonce).map_err(|_| Rejection::Crypto)?;
        let derived = state.finalize().map_err(|_| Rejection::Crypto)?;
        let key = MacKey::try_from(derived.unprotected_as_ref()).map_err(|_| Rejection::Crypto)?;
        Blake2b::new(&key, 32).map_err(|_| Rejection::Crypto)
    }
}

/// A PAE piece: a little-endian length or the bytes it measures.
enum Piece<'a> {
    Length([u8; 8]),
    Bytes(&'a [u8]),
}

impl AsRef<[u8]> for Piece<'_> {
    fn as_ref(&self) -> &[u8] {
        match self {
            Piece::Length(bytes) => bytes,
            Piece::Bytes(bytes) => bytes,
        }
    }
}

/// PASETO's pre-authentication encoding of `[header, nonce, ciphertext, footer, implicit]`, as
/// the sequence of pieces that, concatenated, make it: `LE64(5)`, then `LE64(len) || bytes` for
/// each part.
fn pre_auth_lengths_and_pieces<'a>(
    nonce: &'a [u8],
    ciphertext: &'a [u8],
    footer: &'a [u8],
    implicit: &'a [u8],
) -> impl Iterator<Item = Piece<'a>> {
    let parts: [&'a [u8]; 5] = [HEADER.as_bytes(), nonce, ciphertext, footer, implicit];
    std::iter::once(Piece::Length(le64(parts.len()))).chain(
        parts
            .into_iter()
            .flat_map(|part| [Piece::Length(le64(part.len())), Piece::Bytes(part)]),
    )
}

/// PASETO's `LE64`: the length as 8 little-endian bytes with the top bit clear.
fn le64(n: usize) -> [u8; 8] {
    ((n as u64) & (u64::MAX >> 1)).to_le_bytes()
}

/// The value of each byte of the URL-safe alphabet, 0xff for the others.
const ALPHABET: [u8; 256] = {
    let mut table = [0xff; 256];
    let mut i = 0;
    while i < 26 {
        table[b'A' as usize + i] = i as u8;
        table[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        table[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    table[b'-' as usize] = 62;
    table[b'_' as usize] = 63;
    table
};

/// Decodes unpadded URL-safe base64 into `out` (replacing its contents), refusing exactly what
/// `ct-codecs` refuses: characters outside the alphabet (padding included), a lone trailing
/// character, and set bits below the last byte.
pub(crate) fn decode_base64(input: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let (chunks, tail) = input.as_chunks::<4>();
    let tail_bytes = match tail.len() {
        0 => 0,
        1 => return None,
        n => n - 1,
    };
    out.clear();
    out.resize(chunks.len() * 3 + tail_bytes, 0);
    let (whole, rest) = out.split_at_mut(chunks.len() * 3);
    let mut invalid = 0;
    for (chunk, bytes) in chunks.iter().zip(whole.as_chunks_mut::<3>().0) {
        let [a, b, c, d] = chunk.map(|c| ALPHABET[usize::from(c)]);
        invalid |= a | b | c | d;
        let bits = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
        let [_, x, y, z] = bits.to_be_bytes();
        *bytes = [x, y, z];
    }
    let mut last = [0u8; 3];
    for (value, &c) in last.iter_mut().zip(tail) {
        *value = ALPHABET[usize::from(c)];
        invalid |= *value;
    }
    if invalid & 0xc0 != 0 {
        return None;
    }
    // Two characters carry one byte and four spare bits, three carry two bytes and two spare.
    let [a, b, c] = last;
    let (bytes, spare) = match tail.len() {
        0 => ([0, 0], 0),
        2 => ([a << 2 | b >> 4, 0], b & 0x0f),
        _ => ([a << 2 | b >> 4, b << 4 | c >> 2], c & 0x03),
    };
    if spare != 0 {
        return None;
    }
    rest.copy_from_slice(&bytes[..rest.len()]);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ct_codecs::{Base64UrlSafeNoPadding, Decoder};
    use proptest::prelude::*;

    fn reference(input: &[u8]) -> Option<Vec<u8>> {
        let mut buffer = vec![0; input.len()];
        Base64UrlSafeNoPadding::decode(&mut buffer, input, None)
            .ok()
            .map(<[u8]>::to_vec)
    }

    fn ours(input: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        decode_base64(input, &mut out).map(|()| out)
    }

    proptest! {
        #[test]
        fn base64_decodes_like_ct_codecs(input in proptest::collection::vec(
            prop_oneof![
                8 => proptest::sample::select(
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".to_vec()),
                1 => any::<u8>(),
            ],
            0..40,
        )) {
            prop_assert_eq!(ours(&input), reference(&input));
        }

        #[test]
        fn base64_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let encoded = <Base64UrlSafeNoPadding as ct_codecs::Encoder>::encode_to_string(&bytes).unwrap();
            prop_assert_eq!(ours(encoded.as_bytes()), Some(bytes));
        }
    }

    #[test]
    fn base64_edges() {
        for input in [
            &b""[..],
            b"A",
            b"AA",
            b"AB",
            b"AAA",
            b"AAB",
            b"AA==",
            b"A=",
            b"+/AA",
        ] {
            assert_eq!(ours(input), reference(input), "{:?}", input);
        }
    }
}
