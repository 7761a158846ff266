//! [`Authority`]: a keyring and rules, with optional caches of verified tokens and opened
//! sealed values.

use std::fmt;

use super::cache::{Cache, CacheStats};
#[cfg(any(feature = "discovery", test))]
use super::keyring::KeyChange;
use super::keyring::Keyring;
use super::keys::{KeyId, LocalKey, PublicKey, SecretKey};
use super::opened::{Opened, Verified};
use super::rules::Rules;

/// Verified tokens by the index of their kind in the rules.
pub(super) type VerifiedCache = Cache<usize, Verified>;

/// Opened sealed values by the implicit assertion they are bound to.
pub(super) type SealedCache = Cache<Box<[u8]>, Opened>;

/// The keyring and rules: mints tokens and verifies them strictly.
///
/// Minting is [`mint`](Self::mint), verifying is [`verify`](Self::verify); both take options
/// ([`MintOptions`](super::MintOptions), [`VerifyOptions`](super::VerifyOptions)).
pub struct Authority {
    pub(super) keyring: Keyring,
    pub(super) rules: Rules,
    cache: Option<VerifiedCache>,
    cache_capacity: usize,
    sealed_cache: Option<SealedCache>,
    sealed_cache_capacity: usize,
}

impl fmt::Debug for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authority")
            .field("keyring", &self.keyring)
            .field("rules", &self.rules)
            .field("cached_tokens", &self.cached_tokens())
            .field("cached_sealed_values", &self.cached_sealed_values())
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
            sealed_cache: None,
            sealed_cache_capacity: 0,
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

    /// Binds `issuer` before any key is bound to it: its tokens are accepted only from keys
    /// bound to it, as they are once its key document has been read. For discovery's issuer,
    /// from launch.
    #[must_use]
    pub(crate) fn with_bound_issuer(mut self, issuer: &str) -> Self {
        self.keyring.bind_issuer_alone(issuer.to_owned());
        self.reset_cache();
        self
    }

    /// The id of this service's own signing key when `keys`, read from `issuer`'s document,
    /// list it though it is not bound to `issuer`: the document does not bind it (see
    /// [`replace_discovered_keys`](Self::replace_discovered_keys)), and is worth a warning.
    #[cfg(feature = "discovery")]
    pub(crate) fn own_key_claimed_by(&self, issuer: &str, keys: &[PublicKey]) -> Option<KeyId> {
        let own = self.keyring.own_public_id()?;
        let listed = keys.iter().any(|key| key.id() == own);
        let bound = self.keyring.trusted().bound(own) == Some(issuer);
        (listed && !bound).then(|| own.clone())
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
    pub(crate) fn with_cache(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self.reset_cache();
        self
    }

    /// Caches up to about `capacity` opened sealed values (0 turns caching off, the default
    /// here).
    ///
    /// [`unseal`](Self::unseal) then opens a value it opened recently, with the same binding,
    /// without repeating the decryption; its expiry is checked on every call and the value is
    /// read into the caller's type each time, so a hit gives exactly the answer a miss would.
    #[must_use]
    pub(crate) fn with_sealed_cache(mut self, capacity: usize) -> Self {
        self.sealed_cache_capacity = capacity;
        self.reset_cache();
        self
    }

    /// Forgets cached verifications and sealed values: the keyring or its bindings changed.
    fn reset_cache(&mut self) {
        self.cache = VerifiedCache::new(self.cache_capacity);
        self.sealed_cache = SealedCache::new(self.sealed_cache_capacity);
    }

    /// The cache of verified tokens, if caching is on.
    pub(super) fn cache(&self) -> Option<&VerifiedCache> {
        self.cache.as_ref()
    }

    /// The cache of opened sealed values, if caching is on.
    pub(super) fn sealed_cache(&self) -> Option<&SealedCache> {
        self.sealed_cache.as_ref()
    }

    /// How many verified tokens are cached now.
    pub(crate) fn cached_tokens(&self) -> usize {
        self.cache.as_ref().map_or(0, VerifiedCache::len)
    }

    /// How many opened sealed values are cached now.
    pub(crate) fn cached_sealed_values(&self) -> usize {
        self.sealed_cache.as_ref().map_or(0, SealedCache::len)
    }

    /// Hits, misses and evictions of the verified-token cache since it was made (all zero when
    /// it is off), and its entries now.
    pub(crate) fn cache_stats(&self) -> CacheStats {
        self.cache
            .as_ref()
            .map_or_else(CacheStats::default, VerifiedCache::stats)
    }

    /// The same figures for the sealed-value cache.
    pub(crate) fn sealed_cache_stats(&self) -> CacheStats {
        self.sealed_cache
            .as_ref()
            .map_or_else(CacheStats::default, SealedCache::stats)
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

    /// The configured public keys: the signing key's own first, then `public_keys`. Keys
    /// discovered at runtime (feature `discovery`) are trusted on top of these.
    pub fn public_keys(&self) -> &[PublicKey] {
        self.keyring.configured_public()
    }

    /// The ids of every public key trusted now: the configured ones and those discovered.
    #[cfg(test)]
    pub(crate) fn trusted_key_ids(&self) -> Vec<KeyId> {
        let trusted = self.keyring.trusted();
        trusted.keys().iter().map(|k| k.id().clone()).collect()
    }

    /// Trusts `keys`, bound to `issuer`, on top of the configured public keys, in place of the
    /// keys given here before: for keys fetched from an issuer's published
    /// [`KeyDocument`](super::KeyDocument). Safe while tokens are being verified: each
    /// verification uses the keys trusted when it began.
    ///
    /// The signing key's public half is never bound by this: it is this service's own, and
    /// keeps the binding it has (to `issuer`, when the configuration sets one), so a document
    /// that lists it cannot make this service's own tokens fail.
    ///
    /// When anything changes, the cache of verified tokens is emptied too: a key no longer
    /// trusted, and equally an issuer bound for the first time (whose tokens other keys no
    /// longer verify), must refuse from the cache what they refuse otherwise. Returns what
    /// changed.
    #[cfg(any(feature = "discovery", test))]
    pub(crate) fn replace_discovered_keys(&self, issuer: &str, keys: Vec<PublicKey>) -> KeyChange {
        let change = self.keyring.set_discovered(issuer, keys);
        if change != KeyChange::default()
            && let Some(cache) = self.cache()
        {
            cache.clear();
        }
        change
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
    fn discovered_keys_verify_for_their_issuer_until_they_are_replaced() {
        let signer = SecretKey::generate().unwrap();
        let public = signer.public_key().clone();
        let mint = |iss: &str| {
            let signer = SecretKey::parse(&signer.to_paserk()).unwrap();
            Authority::new(None, Some(signer), vec![], rules().issuer(iss))
                .mint("signed", "alice", None::<&()>, MintOptions::new())
                .unwrap()
        };
        let (ours, theirs) = (mint("https://a.example"), mint("https://b.example"));
        let verifier = Authority::new(None, None, vec![], rules()).with_cache(64);
        let cached = VerifyOptions::new().cached();
        assert_eq!(
            verifier.verify("signed", &ours, now(), cached).unwrap_err(),
            Rejection::UnknownKey
        );
        let change = verifier.replace_discovered_keys("https://a.example", vec![public.clone()]);
        assert_eq!((change.added, change.removed), (1, 0));
        assert!(verifier.verify("signed", &ours, now(), cached).is_ok());
        assert_eq!(
            verifier
                .verify("signed", &theirs, now(), cached)
                .unwrap_err(),
            Rejection::Issuer
        );
        assert_eq!(verifier.cached_tokens(), 1);
        // The same keys again change nothing, and keep the cache.
        let same = verifier.replace_discovered_keys("https://a.example", vec![public]);
        assert_eq!(same, KeyChange::default());
        assert_eq!(verifier.cached_tokens(), 1);
        // The key dropped: its tokens fail, from the cache too.
        let change = verifier.replace_discovered_keys("https://a.example", vec![]);
        assert_eq!((change.added, change.removed), (0, 1));
        assert_eq!(verifier.cached_tokens(), 0);
        assert!(verifier.verify("signed", &ours, now(), cached).is_err());
        assert!(verifier.trusted_key_ids().is_empty());
    }

    #[test]
    fn an_issuer_bound_for_the_first_time_refuses_other_keys_tokens_from_the_cache_too() {
        let issuer = "https://a.example";
        let old_signer = SecretKey::generate().unwrap();
        let old_public = old_signer.public_key().clone();
        let token = Authority::new(None, Some(old_signer), vec![], rules().issuer(issuer))
            .mint("signed", "alice", None::<&()>, MintOptions::new())
            .unwrap();
        // A verifier that started on a configured, unbound key (its first fetch failed).
        let verifier = Authority::new(None, None, vec![old_public], rules()).with_cache(64);
        let cached = VerifyOptions::new().cached();
        assert!(verifier.verify("signed", &token, now(), cached).is_ok());
        assert_eq!(verifier.cached_tokens(), 1);
        // The issuer's document arrives without that key: the issuer is bound to its keys now.
        let new_public = SecretKey::generate().unwrap().public_key().clone();
        let change = verifier.replace_discovered_keys(issuer, vec![new_public]);
        assert_eq!((change.added, change.removed), (1, 0));
        assert_eq!(verifier.cached_tokens(), 0);
        assert_eq!(
            verifier
                .verify("signed", &token, now(), cached)
                .unwrap_err(),
            Rejection::Issuer
        );
    }

    #[test]
    fn a_configured_key_that_is_also_discovered_still_verifies_its_issuers_tokens() {
        let signer = SecretKey::generate().unwrap();
        let public = signer.public_key().clone();
        let token = Authority::new(
            None,
            Some(signer),
            vec![],
            rules().issuer("https://a.example"),
        )
        .mint("signed", "alice", None::<&()>, MintOptions::new())
        .unwrap();
        let verifier = Authority::new(None, None, vec![public.clone()], rules());
        let other = SecretKey::generate().unwrap().public_key().clone();
        verifier.replace_discovered_keys("https://a.example", vec![public, other]);
        assert!(
            verifier
                .verify("signed", &token, now(), VerifyOptions::new())
                .is_ok()
        );
    }

    #[test]
    #[cfg(feature = "discovery")]
    fn a_document_listing_the_signing_key_does_not_bind_it() {
        let signer = SecretKey::generate().unwrap();
        let public = signer.public_key().clone();
        let service = Authority::new(None, Some(signer), vec![], rules());
        let ours = service
            .mint("signed", "alice", None::<&()>, MintOptions::new())
            .unwrap();
        let other = SecretKey::generate().unwrap().public_key().clone();
        let listed = [public.clone(), other];
        assert_eq!(
            service.own_key_claimed_by("https://a.example", &listed),
            Some(public.id().clone())
        );
        service.replace_discovered_keys("https://a.example", listed.to_vec());
        assert!(
            service
                .verify("signed", &ours, now(), VerifyOptions::new())
                .is_ok()
        );
        // Bound to that issuer by the configuration, the key is its own: nothing to warn of.
        let bound = service.with_key_issuer(public.id(), "https://a.example");
        assert_eq!(bound.own_key_claimed_by("https://a.example", &listed), None);
    }

    #[test]
    fn the_token_cache_counts_hits_misses_and_evictions() {
        let a = authority().with_cache(16);
        let cached = VerifyOptions::new().cached();
        let tokens: Vec<String> = (0..100)
            .map(|_| {
                a.mint("access", "alice", None::<&()>, MintOptions::new())
                    .unwrap()
            })
            .collect();
        for t in &tokens {
            a.verify("access", t, now(), cached).unwrap();
        }
        let full = a.cache_stats();
        assert_eq!((full.hits, full.misses), (0, 100));
        assert_eq!(full.entries as usize, a.cached_tokens());
        assert_eq!(full.evictions, 100 - full.entries);
        let last = tokens.last().unwrap();
        a.verify("access", last, now(), cached).unwrap();
        assert_eq!(a.cache_stats().hits, 1);
        // Uncached verifications are not lookups.
        a.verify("access", last, now(), VerifyOptions::new())
            .unwrap();
        assert_eq!(a.cache_stats().hits + a.cache_stats().misses, 101);
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
