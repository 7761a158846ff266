//! Unpadded URL-safe base64, decoded as `ct-codecs` decodes it (the same inputs refused), but
//! in one pass into a reusable buffer; and encoded as it encodes, with a table.
//!
//! It runs in variable time: it only ever sees tokens, which are public (nonce, ciphertext,
//! tag, signature, footer). Keys are decoded and encoded by `ct-codecs`.

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

/// The URL-safe alphabet, by value.
const CHARACTERS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Appends `input` to `out` in unpadded URL-safe base64 (ASCII, so `out` stays valid UTF-8
/// wherever it was). Written into place, rather than appended four characters at a time with
/// a capacity check each.
pub(crate) fn encode_base64(input: &[u8], out: &mut Vec<u8>) {
    let character = |bits: u32| CHARACTERS[(bits & 0x3f) as usize];
    let (chunks, tail) = input.as_chunks::<3>();
    let whole_len = chunks.len() * 4;
    let tail_len = match tail.len() {
        0 => 0,
        n => n + 1,
    };
    let start = out.len();
    out.resize(start + whole_len + tail_len, 0);
    let (whole, rest) = out[start..].split_at_mut(whole_len);
    for (&[x, y, z], slot) in chunks.iter().zip(whole.as_chunks_mut::<4>().0) {
        let bits = u32::from(x) << 16 | u32::from(y) << 8 | u32::from(z);
        *slot = [
            character(bits >> 18),
            character(bits >> 12),
            character(bits >> 6),
            character(bits),
        ];
    }
    let bits = match *tail {
        [x] => u32::from(x) << 16,
        [x, y] => u32::from(x) << 16 | u32::from(y) << 8,
        _ => 0,
    };
    let last = [
        character(bits >> 18),
        character(bits >> 12),
        character(bits >> 6),
    ];
    rest.copy_from_slice(&last[..tail_len]);
}

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
    // Eight characters (48 bits) at a time, then a last group of four if there is one: half
    // the loop's bookkeeping per byte of a token.
    let (octets, quartet) = chunks.as_flattened().as_chunks::<8>();
    let (sextets, triplet) = whole.as_chunks_mut::<6>();
    let mut invalid = 0;
    let mut decode = |characters: &[u8]| {
        characters.iter().fold(0u64, |bits, &c| {
            let value = ALPHABET[usize::from(c)];
            invalid |= value;
            bits << 6 | u64::from(value)
        })
    };
    for (characters, bytes) in octets.iter().zip(sextets) {
        let [_, _, decoded @ ..] = decode(characters).to_be_bytes();
        *bytes = decoded;
    }
    let [.., x, y, z] = decode(quartet).to_be_bytes();
    triplet.copy_from_slice(&[x, y, z][..triplet.len()]);
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
    use super::{decode_base64, encode_base64};
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
        fn base64_encodes_like_ct_codecs(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let expected = <Base64UrlSafeNoPadding as ct_codecs::Encoder>::encode_to_string(&bytes).unwrap();
            let mut encoded = b"v4.local.".to_vec();
            encode_base64(&bytes, &mut encoded);
            prop_assert_eq!(String::from_utf8(encoded).unwrap(), format!("v4.local.{expected}"));
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
