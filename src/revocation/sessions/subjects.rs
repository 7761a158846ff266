//! The keyed hashes the store sees in place of subjects and login ids, and the bound on each
//! subject's list of logins.

use std::sync::Arc;

use ct_codecs::{Base64UrlSafeNoPadding, Encoder};
use orion::hazardous::mac::blake2b::{Blake2b, SecretKey as MacKey};

use super::super::{StoreError, key};
use crate::token::encode_base64;

/// Keys the hashes of subjects and login ids, and bounds each subject's list of logins.
#[derive(Clone)]
pub(crate) struct Subjects {
    /// One hashing key per configured local key, the current one first: entries are written
    /// under the current key's hashes, and cutoffs read under all of them, so a key change
    /// keeps every cutoff in force.
    keys: Arc<Vec<MacKey>>,
    /// Per key, a keyed BLAKE2b state that has absorbed the `subject` domain: a guard hashes
    /// the token's subject on every check, and starts from here.
    subject_states: Arc<Vec<Blake2b>>,
    pub(in crate::revocation) max_logins: usize,
}

impl Subjects {
    /// Derives the hashing keys from secret key material (the local keys, current first, or
    /// the secret key), so every instance with the same keys hashes alike.
    pub(crate) fn derive(materials: &[&[u8]], max_logins: usize) -> Result<Self, StoreError> {
        let invalid = |_| StoreError::new("the subject hashing key could not be derived");
        let derive = |material: &&[u8]| {
            let root = MacKey::try_from(*material).map_err(invalid)?;
            let derived = mac(&root, b"rocket_paseto subjects v1", b"", 32).map_err(invalid)?;
            MacKey::try_from(derived.as_slice()).map_err(invalid)
        };
        let keys = materials
            .iter()
            .map(derive)
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(StoreError::new("no key to hash subjects with"));
        }
        let subject_states = keys
            .iter()
            .map(|key| domain_state(key, SUBJECT))
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        Ok(Subjects {
            keys: Arc::new(keys),
            subject_states: Arc::new(subject_states),
            max_logins,
        })
    }

    /// The hash standing for `subject` in the store keys written now.
    fn subject(&self, subject: &str) -> String {
        hash_from(&self.subject_states[0], subject)
    }

    /// The keys a check of a token of `subject` reads: its cutoff's and its oldest login's,
    /// each under every configured local key, the subject hashed once per key.
    pub(in crate::revocation) fn standing_keys(&self, subject: &str) -> (Vec<String>, Vec<String>) {
        let hashes: Vec<String> = (self.subject_states.iter())
            .map(|state| hash_from(state, subject))
            .collect();
        let keys = |namespace| hashes.iter().map(|h| key(namespace, h)).collect();
        (keys("cut:"), keys("old:"))
    }

    /// Whether each subject's logins are listed (`revocation.max_sessions` above 0).
    pub(in crate::revocation) fn lists(&self) -> bool {
        self.max_logins > 0
    }

    /// The key of `subject`'s list of logins.
    pub(in crate::revocation) fn list_key(&self, subject: &str) -> String {
        key("ses:", &self.subject(subject))
    }

    /// The key of `subject`'s cutoff, as written now.
    pub(in crate::revocation) fn cutoff_key(&self, subject: &str) -> String {
        key("cut:", &self.subject(subject))
    }

    /// The key of the start of `subject`'s newest login ended as the oldest, as written now.
    pub(in crate::revocation) fn oldest_key(&self, subject: &str) -> String {
        key("old:", &self.subject(subject))
    }

    /// The keys that start may be under: one per configured local key.
    pub(in crate::revocation) fn oldest_keys(&self, subject: &str) -> Vec<String> {
        self.keys_of("old:", subject)
    }

    fn keys_of(&self, namespace: &str, subject: &str) -> Vec<String> {
        let hashes = self.subject_states.iter().map(|s| hash_from(s, subject));
        hashes.map(|h| key(namespace, &h)).collect()
    }

    /// Hashing keys of this process alone, for counters that no other instance reads: a
    /// service without key material has nothing to derive shared ones from.
    pub(crate) fn ephemeral() -> Result<Self, StoreError> {
        let mut material = [0u8; 32];
        getrandom::fill(&mut material).map_err(|_| StoreError::new("no random bytes"))?;
        Self::derive(&[&material], 1)
    }

    /// The store key of the counter of `value` (an account or an address) in `namespace`.
    pub(crate) fn counter_key(&self, namespace: &str, value: &str) -> String {
        key(namespace, &hash(&self.keys[0], namespace.as_bytes(), value))
    }

    /// The opaque id shown to users for the login (family) `family`.
    pub(crate) fn login_id(&self, family: &str) -> String {
        hash(&self.keys[0], b"login", family)
    }
}

/// The domain of subject hashes.
const SUBJECT: &[u8] = b"subject";

/// A keyed BLAKE2b-128 state that has absorbed `domain` and the separator.
fn domain_state(key: &MacKey, domain: &[u8]) -> Result<Blake2b, orion::errors::UnknownCryptoError> {
    let mut state = Blake2b::new(key, 16)?;
    state.update(domain)?;
    state.update(&[0])?;
    Ok(state)
}

/// [`hash`] from a state made by [`domain_state`]: the same value, one compression fewer.
fn hash_from(state: &Blake2b, value: &str) -> String {
    let mut state = state.clone();
    // Infallible: the output size is valid by construction.
    let tag = state
        .update(value.as_bytes())
        .and_then(|()| state.finalize())
        .map(|tag| tag.unprotected_as_ref().to_vec())
        .unwrap_or_default();
    // The hash is no secret (it is a store key): encoded with a table.
    let mut text = Vec::with_capacity(22);
    encode_base64(&tag, &mut text);
    String::from_utf8(text).unwrap_or_default()
}

/// The base64url keyed hash of `value` in `domain`, 128 bits.
fn hash(key: &MacKey, domain: &[u8], value: &str) -> String {
    // Infallible: the key and the output size are valid by construction.
    let tag = mac(key, domain, value.as_bytes(), 16).unwrap_or_default();
    Base64UrlSafeNoPadding::encode_to_string(tag).unwrap_or_default()
}

/// Keyed BLAKE2b of `domain`, a separator and `value`, `size` bytes long.
fn mac(
    key: &MacKey,
    domain: &[u8],
    value: &[u8],
    size: usize,
) -> Result<Vec<u8>, orion::errors::UnknownCryptoError> {
    let mut state = Blake2b::new(key, size)?;
    state.update(domain)?;
    state.update(&[0])?;
    state.update(value)?;
    Ok(state.finalize()?.unprotected_as_ref::<[u8]>().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_keyed_and_separate_subjects_from_logins() {
        let one = Subjects::derive(&[&[7; 32]], 4).unwrap();
        let two = Subjects::derive(&[&[8; 32]], 4).unwrap();
        let rotated = Subjects::derive(&[&[8; 32], &[7; 32]], 4).unwrap();
        assert_eq!(rotated.cutoff_key("alice"), two.cutoff_key("alice"));
        assert_eq!(
            rotated.standing_keys("alice").0,
            [two.cutoff_key("alice"), one.cutoff_key("alice")]
        );
        assert_eq!(one.subject("alice"), one.subject("alice"));
        assert_ne!(one.subject("alice"), two.subject("alice"));
        assert_ne!(one.subject("alice"), one.subject("bob"));
        assert_ne!(one.subject("x"), one.login_id("x"));
        assert_eq!(one.subject("alice").len(), 22);
        assert_eq!(one.subject("alice"), hash(&one.keys[0], SUBJECT, "alice"));
        assert_eq!(
            rotated.standing_keys("alice").1,
            rotated.oldest_keys("alice")
        );
        assert!(!one.cutoff_key("alice").contains("alice"));
    }
}
