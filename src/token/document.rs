//! [`KeyDocument`]: the public keys an issuer publishes for verifiers to fetch, the PASETO
//! counterpart of a JWKS document.

use std::fmt;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::keys::PublicKey;

/// The most keys a fetched document may list: an issuer publishes its current key and a few
/// previous ones.
// Only key discovery reads documents; the issuer side only writes them.
#[cfg_attr(not(feature = "discovery"), allow(dead_code))]
pub const MAX_DOCUMENT_KEYS: usize = 32;

/// The public keys of one issuer, as published at its `publish_keys` path:
///
/// ```json
/// {
///   "issuer": "https://auth.example.com",
///   "keys": [
///     { "kid": "k4.pid.…", "key": "k4.public.…", "status": "current" },
///     { "kid": "k4.pid.…", "key": "k4.public.…", "status": "previous" }
///   ]
/// }
/// ```
///
/// Only `k4.public` keys ever appear in it. A verifier trusts every listed key for tokens whose
/// `iss` is `issuer`, and checks each key against its `kid` before trusting it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDocument {
    /// The issuer the keys sign for: every token they verify must carry it as `iss`.
    pub issuer: String,
    /// The keys, the current signing key first.
    pub keys: Vec<PublishedKey>,
}

/// One key of a [`KeyDocument`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedKey {
    /// The key's PASERK id, `k4.pid.…`: what tokens signed with it name in their footer.
    pub kid: String,
    /// The key itself, `k4.public.…`.
    pub key: String,
    /// Whether the issuer signs new tokens with it.
    pub status: KeyStatus,
}

/// Whether a published key signs new tokens or only old ones still in circulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// The issuer's signing key now.
    Current,
    /// A replaced signing key whose tokens may not have expired yet.
    Previous,
}

/// Why a fetched [`KeyDocument`] was refused. The messages never show key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[cfg_attr(not(feature = "discovery"), allow(dead_code))]
pub enum DocumentError {
    /// The body is not a key document.
    #[error("the key document is not valid JSON of the expected shape")]
    Malformed,
    /// The document names another issuer than the one its URL is configured for.
    #[error("the key document names another issuer than the configured one")]
    Issuer,
    /// No keys, or more than [`MAX_DOCUMENT_KEYS`].
    #[error("the key document lists no keys, or more than {MAX_DOCUMENT_KEYS}")]
    KeyCount,
    /// A key is not a valid `k4.public` PASERK.
    #[error("key {index} of the key document is not a valid k4.public key")]
    Key {
        /// The key's position in the document.
        index: usize,
    },
    /// A key's `kid` is not the id of the key.
    #[error("key {index} of the key document does not match its kid")]
    KeyId {
        /// The key's position in the document.
        index: usize,
    },
}

impl KeyDocument {
    /// The document of `issuer`, signing with `current` and still trusting `previous`.
    pub fn new<'a>(
        issuer: impl Into<String>,
        current: &PublicKey,
        previous: impl IntoIterator<Item = &'a PublicKey>,
    ) -> Self {
        let entry = |key: &PublicKey, status| PublishedKey {
            kid: key.id().as_str().to_owned(),
            key: key.to_paserk(),
            status,
        };
        let previous = previous
            .into_iter()
            .filter(|key| key.id() != current.id())
            .map(|key| entry(key, KeyStatus::Previous));
        KeyDocument {
            issuer: issuer.into(),
            keys: std::iter::once(entry(current, KeyStatus::Current))
                .chain(previous)
                .collect(),
        }
    }

    /// Reads a fetched document and returns its keys, once it is known to name `issuer` and
    /// every key has been checked against its `kid`. Any bad entry refuses the whole document,
    /// so a verifier never trusts part of a document it cannot read.
    #[cfg_attr(not(feature = "discovery"), allow(dead_code))]
    pub fn keys_for(body: &[u8], issuer: &str) -> Result<Vec<PublicKey>, DocumentError> {
        let document: KeyDocument =
            serde_json::from_slice(body).map_err(|_| DocumentError::Malformed)?;
        if document.issuer != issuer {
            return Err(DocumentError::Issuer);
        }
        if document.keys.is_empty() || document.keys.len() > MAX_DOCUMENT_KEYS {
            return Err(DocumentError::KeyCount);
        }
        document
            .keys
            .iter()
            .enumerate()
            .map(|(index, published)| {
                // PASERK only: a PEM block names no key id to check against.
                let key = PublicKey::from_paserk(&published.key)
                    .map_err(|_| DocumentError::Key { index })?;
                let id = key.id().as_str().as_bytes();
                if bool::from(id.ct_eq(published.kid.as_bytes())) {
                    Ok(key)
                } else {
                    Err(DocumentError::KeyId { index })
                }
            })
            .collect()
    }
}

impl fmt::Debug for KeyDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyDocument")
            .field("issuer", &self.issuer)
            .field("keys", &self.keys)
            .finish()
    }
}

impl fmt::Debug for PublishedKey {
    /// Public keys are no secret, but the key ids say all a log needs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishedKey")
            .field("kid", &self.kid)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::super::SecretKey;
    use super::*;

    fn key() -> PublicKey {
        SecretKey::generate().unwrap().public_key().clone()
    }

    #[test]
    fn a_published_document_reads_back_for_its_issuer_only() {
        let (current, previous) = (key(), key());
        let document = KeyDocument::new("https://a.example", &current, [&previous, &current]);
        assert_eq!(document.keys.len(), 2);
        assert_eq!(document.keys[0].status, KeyStatus::Current);
        let body = serde_json::to_vec(&document).unwrap();
        let keys = KeyDocument::keys_for(&body, "https://a.example").unwrap();
        let ids: Vec<_> = keys.iter().map(|k| k.id().clone()).collect();
        assert_eq!(ids, [current.id().clone(), previous.id().clone()]);
        assert_eq!(
            KeyDocument::keys_for(&body, "https://b.example").unwrap_err(),
            DocumentError::Issuer
        );
    }

    #[test]
    fn a_key_that_is_not_its_kid_refuses_the_document() {
        let (a, b) = (key(), key());
        let mut document = KeyDocument::new("https://a.example", &a, [&b]);
        document.keys[1].kid = a.id().as_str().to_owned();
        let body = serde_json::to_vec(&document).unwrap();
        assert_eq!(
            KeyDocument::keys_for(&body, "https://a.example").unwrap_err(),
            DocumentError::KeyId { index: 1 }
        );
        document.keys[1].key = "k4.secret.AAAA".into();
        let body = serde_json::to_vec(&document).unwrap();
        assert_eq!(
            KeyDocument::keys_for(&body, "https://a.example").unwrap_err(),
            DocumentError::Key { index: 1 }
        );
    }

    #[test]
    fn empty_crowded_and_garbled_documents_are_refused() {
        let a = key();
        let mut document = KeyDocument::new("https://a.example", &a, []);
        let crowd = document.keys[0].clone();
        document.keys = vec![crowd; MAX_DOCUMENT_KEYS + 1];
        for body in [
            serde_json::to_vec(&document).unwrap(),
            br#"{"issuer":"https://a.example","keys":[]}"#.to_vec(),
        ] {
            assert_eq!(
                KeyDocument::keys_for(&body, "https://a.example").unwrap_err(),
                DocumentError::KeyCount
            );
        }
        let garbled: [&[u8]; 4] = [b"[]", b"{", b"\xff", br#"{"issuer":1,"keys":[]}"#];
        for body in garbled {
            assert_eq!(
                KeyDocument::keys_for(body, "https://a.example").unwrap_err(),
                DocumentError::Malformed
            );
        }
    }
}
