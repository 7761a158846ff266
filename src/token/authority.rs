//! [`Authority`]: a keyring and rules, with an optional cache of verified tokens.

use std::fmt;

use super::cache::VerifiedCache;
use super::keyring::Keyring;
use super::keys::{KeyId, LocalKey, PublicKey, SecretKey};
use super::rules::Rules;

/// The keyring and rules: mints tokens and verifies them strictly.
///
/// Minting is [`mint`](Self::mint), verifying is [`verify`](Self::verify); both take options
/// ([`MintOptions`](super::MintOptions), [`VerifyOptions`](super::VerifyOptions)).
pub struct Authority {
    pub(super) keyring: Keyring,
    pub(super) rules: Rules,
    cache: Option<VerifiedCache>,
    cache_capacity: usize,
}

impl fmt::Debug for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authority")
            .field("keyring", &self.keyring)
            .field("rules", &self.rules)
            .field("cached_tokens", &self.cached_tokens())
            .finish()
    }
}

impl Authority {
    /// An authority with the current local key, the signing key, extra verification-only public
    /// keys and the rules. The signing key's public half is trusted automatically.
    pub fn new(
        local: Option<LocalKey>,
        secret: Option<SecretKey>,
        public: Vec<PublicKey>,
        rules: Rules,
    ) -> Self {
        Authority {
            keyring: Keyring::new(local, secret, public),
            rules,
            cache: None,
            cache_capacity: 0,
        }
    }

    /// Binds the public key `id` to `issuer`: tokens it verifies must carry `iss` equal to
    /// `issuer` (on top of the configured `issuer`, if any). For verifier-only services that
    /// trust several issuers, each with its own key.
    #[must_use]
    pub fn with_key_issuer(mut self, id: &KeyId, issuer: impl Into<String>) -> Self {
        self.keyring.bind_issuer(id, issuer.into());
        self.reset_cache();
        self
    }

    /// Keys that still decrypt local tokens (found by their `kid`) but never encrypt new ones.
    #[must_use]
    pub fn with_previous_local_keys(mut self, keys: Vec<LocalKey>) -> Self {
        self.keyring.set_previous_local(keys);
        self.reset_cache();
        self
    }

    /// Caches up to about `capacity` verified tokens (0 turns caching off, the default here).
    ///
    /// [`verify`](Self::verify) with [`VerifyOptions::cached`](super::VerifyOptions::cached)
    /// then accepts a token it verified recently without repeating the cryptography or the
    /// parsing; the time claims, kind, issuer and audience are still checked on every call, so
    /// a hit gives exactly the answer a miss would.
    #[must_use]
    pub fn with_cache(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self.reset_cache();
        self
    }

    /// Forgets cached verifications: the keyring or its bindings changed.
    fn reset_cache(&mut self) {
        self.cache = VerifiedCache::new(self.cache_capacity);
    }

    /// The cache of verified tokens, if caching is on.
    pub(super) fn cache(&self) -> Option<&VerifiedCache> {
        self.cache.as_ref()
    }

    /// How many verified tokens are cached now.
    pub fn cached_tokens(&self) -> usize {
        self.cache.as_ref().map_or(0, VerifiedCache::len)
    }

    /// The rules in force.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The replaced local keys that still decrypt tokens (`previous_local_keys`).
    pub(crate) fn previous_local_keys(&self) -> &[LocalKey] {
        self.keyring.previous_local()
    }

    /// The current local key, if any.
    pub fn local_key(&self) -> Option<&LocalKey> {
        self.keyring.local().map(|k| &k.key)
    }

    /// The signing key, if any.
    pub fn secret_key(&self) -> Option<&SecretKey> {
        self.keyring.secret().map(|k| &k.key)
    }

    /// Every trusted public key, the signing key's own first.
    pub fn public_keys(&self) -> &[PublicKey] {
        self.keyring.public()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{authority, now, rules};
    use super::super::{MintOptions, Rejection, VerifyOptions};
    use super::*;

    #[test]
    fn changing_the_keyring_forgets_cached_verifications() {
        let signer = SecretKey::generate().unwrap();
        let public = PublicKey::from_paserk(&signer.public_key().to_paserk()).unwrap();
        let id = public.id().clone();
        let verifier = Authority::new(None, None, vec![public], rules()).with_cache(64);
        let minter = Authority::new(None, Some(signer), vec![], rules());
        let t = minter
            .mint("signed", "alice", None::<&()>, MintOptions::new())
            .unwrap();
        let cached = VerifyOptions::new().cached();
        assert!(verifier.verify("signed", &t, now(), cached).is_ok());
        assert_eq!(verifier.cached_tokens(), 1);
        // Binding the key to an issuer the token does not name: the cached success is gone.
        let verifier = verifier.with_key_issuer(&id, "https://elsewhere.example");
        assert_eq!(verifier.cached_tokens(), 0);
        assert_eq!(
            verifier.verify("signed", &t, now(), cached).unwrap_err(),
            Rejection::Issuer
        );
    }

    #[test]
    fn debug_shows_key_ids_only() {
        let a = authority();
        let shown = format!("{a:?}");
        assert!(shown.contains(a.local_key().unwrap().id().as_str()));
        assert!(!shown.contains(&a.local_key().unwrap().to_paserk()[9..]));
        assert!(!shown.contains(&a.secret_key().unwrap().to_paserk()[10..]));
    }
}
