//! The keys an [`Authority`](super::Authority) mints and verifies with, the footers that name
//! them, and the lookup of a token's key by the `kid` in its footer.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};

use ct_codecs::{Base64UrlSafeNoPadding, Encoder};
use serde::Serialize;

use super::claims;
use super::error::Rejection;
use super::keys::{KeyId, LocalKey, PublicKey, SecretKey};

/// The longest footer accepted, in bytes once decoded. Ours is about 60.
pub(crate) const MAX_FOOTER: usize = 512;

/// A local or public key together with the footer that names it, both computed once.
pub(crate) struct KeyAndFooter<K> {
    pub(crate) key: K,
    pub(crate) footer: Vec<u8>,
    /// The footer as it appears in tokens, so our own tokens' footers are recognised undecoded.
    pub(crate) encoded_footer: String,
}

impl<K> KeyAndFooter<K> {
    fn new(key: K, id: &KeyId) -> Self {
        let footer = serde_json::to_vec(&Footer { kid: id.as_str() }).unwrap_or_default();
        KeyAndFooter {
            key,
            encoded_footer: Base64UrlSafeNoPadding::encode_to_string(&footer).unwrap_or_default(),
            footer,
        }
    }
}

#[derive(Serialize)]
struct Footer<'a> {
    kid: &'a str,
}

/// The public keys trusted at one moment, with the issuers some of them are bound to.
///
/// Replaced as a whole when keys are discovered, so a verification sees one consistent set.
#[derive(Clone, Default)]
pub(crate) struct TrustedKeys {
    keys: Vec<PublicKey>,
    /// Public keys bound to an issuer, by key id: their tokens must carry that `iss`, and no
    /// other key may vouch for that issuer.
    key_issuers: Vec<(KeyId, String)>,
    /// Issuers bound whether or not a key is bound to them yet: only keys bound to them vouch
    /// for them. Discovery's issuer, from launch, so that no configured key vouches for it
    /// while its document cannot be fetched.
    issuers: Vec<String>,
}

/// What [`Authority::replace_discovered_keys`](super::Authority::replace_discovered_keys)
/// changed.
#[cfg(any(feature = "discovery", test))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct KeyChange {
    /// Keys trusted now that were not before (or bound to another issuer before).
    pub(crate) added: usize,
    /// Keys no longer trusted (or no longer bound to the same issuer).
    pub(crate) removed: usize,
}

/// The current local key and its predecessors, the signing key, and the trusted public keys:
/// those configured, plus any discovered at runtime.
pub(crate) struct Keyring {
    local: Option<KeyAndFooter<LocalKey>>,
    previous_local: Vec<LocalKey>,
    secret: Option<KeyAndFooter<SecretKey>>,
    /// The public keys and bindings of the configuration; discovered keys come on top.
    configured: TrustedKeys,
    /// What verifications use: `configured` plus the discovered keys. Read without a lock (a
    /// verification takes one snapshot) and swapped whole by [`Keyring::set_discovered`].
    trusted: ArcSwap<TrustedKeys>,
}

impl Keyring {
    /// A keyring trusting the signing key's public half first, then `public` without repeats.
    pub(crate) fn new(
        local: Option<LocalKey>,
        secret: Option<SecretKey>,
        public: Vec<PublicKey>,
    ) -> Self {
        let mut trusted: Vec<PublicKey> = Vec::with_capacity(public.len() + 1);
        if let Some(secret) = &secret {
            trusted.push(secret.public_key().clone());
        }
        for key in public {
            if !trusted.iter().any(|k| k.id() == key.id()) {
                trusted.push(key);
            }
        }
        let configured = TrustedKeys {
            keys: trusted,
            key_issuers: Vec::new(),
            issuers: Vec::new(),
        };
        Keyring {
            local: local.map(|k| {
                let id = k.id().clone();
                KeyAndFooter::new(k, &id)
            }),
            previous_local: Vec::new(),
            secret: secret.map(|k| {
                let id = k.id().clone();
                KeyAndFooter::new(k, &id)
            }),
            trusted: ArcSwap::from_pointee(configured.clone()),
            configured,
        }
    }

    /// Binds the public key `id` to `issuer`, replacing any earlier binding of that key.
    pub(crate) fn bind_issuer(&mut self, id: &KeyId, issuer: String) {
        self.configured.key_issuers.retain(|(k, _)| k != id);
        self.configured.key_issuers.push((id.clone(), issuer));
        self.trusted.store(Arc::new(self.configured.clone()));
    }

    /// Binds `issuer` before any key is bound to it: from now on only keys bound to it vouch
    /// for it.
    pub(crate) fn bind_issuer_alone(&mut self, issuer: String) {
        if !self.configured.issuers.contains(&issuer) {
            self.configured.issuers.push(issuer);
        }
        self.trusted.store(Arc::new(self.configured.clone()));
    }

    /// The id of the signing key's public half: this service's own key.
    #[cfg(any(feature = "discovery", test))]
    pub(crate) fn own_public_id(&self) -> Option<&KeyId> {
        self.secret.as_ref().map(|k| k.key.public_key().id())
    }

    /// Trusts the configured keys plus `discovered`, each of these bound to `issuer`, in place
    /// of the keys discovered before. A key that is also configured keeps its configured
    /// binding, or is bound to `issuer` if it had none: once `issuer` is bound, its tokens are
    /// only accepted from keys bound to it. The signing key's public half is left as it is:
    /// it is this service's own, and a document listing it must not turn this service's tokens
    /// into another issuer's.
    #[cfg(any(feature = "discovery", test))]
    pub(crate) fn set_discovered(&self, issuer: &str, discovered: Vec<PublicKey>) -> KeyChange {
        let mut next = self.configured.clone();
        let own = self.own_public_id();
        for key in discovered {
            if Some(key.id()) == own {
                continue;
            }
            let known = next.keys.iter().any(|k| k.id() == key.id());
            if !known || next.bound(key.id()).is_none() {
                next.key_issuers.push((key.id().clone(), issuer.to_owned()));
            }
            if !known {
                next.keys.push(key);
            }
        }
        let before = self.trusted.load();
        let bound_alike = |a: &TrustedKeys, b: &TrustedKeys, key: &PublicKey| {
            b.keys.iter().any(|k| k.id() == key.id()) && a.bound(key.id()) == b.bound(key.id())
        };
        let change = KeyChange {
            added: next
                .keys
                .iter()
                .filter(|k| !bound_alike(&next, &before, k))
                .count(),
            removed: before
                .keys
                .iter()
                .filter(|k| !bound_alike(&before, &next, k))
                .count(),
        };
        if change != KeyChange::default() {
            self.trusted.store(Arc::new(next));
        }
        change
    }

    /// A snapshot of the public keys trusted now.
    pub(crate) fn trusted(&self) -> Guard<Arc<TrustedKeys>> {
        self.trusted.load()
    }

    /// Sets the keys that still decrypt local tokens but never encrypt new ones.
    pub(crate) fn previous_local(&self) -> &[LocalKey] {
        &self.previous_local
    }

    pub(crate) fn set_previous_local(&mut self, keys: Vec<LocalKey>) {
        self.previous_local = keys;
    }

    /// The current local key with its footer.
    pub(crate) fn local(&self) -> Option<&KeyAndFooter<LocalKey>> {
        self.local.as_ref()
    }

    /// The signing key with its footer.
    pub(crate) fn secret(&self) -> Option<&KeyAndFooter<SecretKey>> {
        self.secret.as_ref()
    }

    /// The configured public keys, the signing key's own first.
    pub(crate) fn configured_public(&self) -> &[PublicKey] {
        &self.configured.keys
    }

    /// The current local key and its footer, when `encoded_footer` is that footer as it appears
    /// in our own tokens: the common case, answered without decoding or parsing the footer.
    pub(crate) fn current_local_for(&self, encoded_footer: &str) -> Option<(&LocalKey, &[u8])> {
        self.local
            .as_ref()
            .filter(|current| current.encoded_footer == encoded_footer)
            .map(|current| (&current.key, current.footer.as_slice()))
    }

    /// The local key a token with this untrusted footer names: the current key when it names
    /// none, and never a key outside the keyring.
    pub(crate) fn local_for(&self, footer: &[u8]) -> Result<&LocalKey, Rejection> {
        match kid(footer, "k4.lid.")? {
            None => self.local().map(|k| &k.key).ok_or(Rejection::NoKey),
            Some(kid) => self
                .local()
                .map(|k| &k.key)
                .into_iter()
                .chain(self.previous_local.iter())
                .find(|k| k.id().as_str() == kid)
                .ok_or(Rejection::UnknownKey),
        }
    }
}

impl TrustedKeys {
    /// The public key a token with this untrusted footer names (the signing key's own, else the
    /// first trusted one, when it names none), with the issuer that key is bound to, if any.
    pub(crate) fn public_for(
        &self,
        footer: &[u8],
    ) -> Result<(&PublicKey, Option<&str>), Rejection> {
        let key = match kid(footer, "k4.pid.")? {
            // The signing key's own public half, when there is one, comes first.
            None => self.keys.first().ok_or(Rejection::NoKey)?,
            Some(kid) => self
                .keys
                .iter()
                .find(|k| k.id().as_str() == kid)
                .ok_or(Rejection::UnknownKey)?,
        };
        Ok((key, self.bound(key.id())))
    }

    /// Whether `issuer` is bound (to one of the public keys, or alone), and so vouched for by
    /// the keys bound to it only.
    pub(crate) fn is_bound_issuer(&self, issuer: &str) -> bool {
        self.issuers.iter().any(|bound| bound == issuer)
            || self.key_issuers.iter().any(|(_, bound)| bound == issuer)
    }

    /// The issuer the key `id` is bound to, if any.
    pub(crate) fn bound(&self, id: &KeyId) -> Option<&str> {
        self.key_issuers
            .iter()
            .find(|(bound, _)| bound == id)
            .map(|(_, issuer)| issuer.as_str())
    }

    /// Every key in the set.
    #[cfg(test)]
    pub(crate) fn keys(&self) -> &[PublicKey] {
        &self.keys
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("local", &self.local.as_ref().map(|k| k.key.id()))
            .field("secret", &self.secret.as_ref().map(|k| k.key.id()))
            .field("trusted", &*self.trusted.load())
            .finish()
    }
}

impl fmt::Debug for TrustedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedKeys")
            .field(
                "public",
                &self.keys.iter().map(PublicKey::id).collect::<Vec<_>>(),
            )
            .field("key_issuers", &self.key_issuers)
            .field("issuers", &self.issuers)
            .finish()
    }
}

/// Reads the untrusted footer's `kid`, which must be a key id with `prefix` when present.
fn kid<'a>(footer: &'a [u8], prefix: &str) -> Result<Option<Cow<'a, str>>, Rejection> {
    if footer.is_empty() {
        return Ok(None);
    }
    if footer.len() > MAX_FOOTER {
        return Err(Rejection::Footer);
    }
    match claims::footer_kid(footer).map_err(|_| Rejection::Footer)? {
        None => Ok(None),
        Some(kid) if kid.starts_with(prefix) && kid.len() == prefix.len() + 44 => Ok(Some(kid)),
        Some(_) => Err(Rejection::Footer),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{authority, now, rules};
    use super::super::{Authority, MintOptions, VerifyOptions};
    use super::*;

    #[test]
    fn footer_kid_selects_the_key_and_unknown_kids_fail_closed() {
        let a = authority();
        let other = authority();
        let t = other
            .mint("access", "mallory", None::<&()>, MintOptions::new())
            .unwrap();
        assert_eq!(
            a.verify("access", &t, now(), VerifyOptions::new())
                .unwrap_err(),
            Rejection::UnknownKey
        );
    }

    #[test]
    fn previous_local_keys_still_verify() {
        let old = LocalKey::generate().unwrap();
        let old_copy = LocalKey::from_paserk(&old.to_paserk()).unwrap();
        let before = Authority::new(Some(old), None, vec![], rules());
        let t = before
            .mint("access", "alice", None::<&()>, MintOptions::new())
            .unwrap();
        let after = Authority::new(Some(LocalKey::generate().unwrap()), None, vec![], rules())
            .with_previous_local_keys(vec![old_copy]);
        assert!(
            after
                .verify("access", &t, now(), VerifyOptions::new())
                .is_ok()
        );
    }

    #[test]
    fn footers_name_their_key_and_stay_small() {
        let a = authority();
        let local = a.local_key().unwrap().id().as_str().to_owned();
        let footer = &a.keyring.local().unwrap().footer;
        assert_eq!(footer, format!(r#"{{"kid":"{local}"}}"#).as_bytes());
        assert!(footer.len() < MAX_FOOTER);
        assert_eq!(
            kid(&[b' '; MAX_FOOTER + 1], "k4.lid.").unwrap_err(),
            Rejection::Footer
        );
    }
}
