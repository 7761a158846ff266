//! Verifying: [`Authority::verify`] and its [`VerifyOptions`], the shape checks made before
//! anything is decoded, and the key lookup around the cryptography of `crypto`.

use std::sync::Arc;

use time::OffsetDateTime;

use super::authority::Authority;
use super::claims;
use super::crypto::{SignedToken, decode_base64};
use super::error::Rejection;
use super::keyring::{MAX_FOOTER, TrustedKeys};
use super::keys::{LocalKey, PublicKey};
use super::limits::DEFAULT_MAX_TOKEN_LENGTH;
use super::opened::Verified;
use super::purpose::Purpose;
use super::rules::KindRules;

/// How a token is verified, beyond its kind and the time.
#[derive(Debug, Default, Clone, Copy)]
#[must_use]
pub struct VerifyOptions<'a> {
    implicit: Option<&'a [u8]>,
    cached: bool,
}

impl<'a> VerifyOptions<'a> {
    /// The defaults: a bearer token, verified in full.
    pub fn new() -> Self {
        Self::default()
    }

    /// Verifies a token minted with [`MintOptions::implicit`](super::MintOptions::implicit):
    /// it only verifies with the same assertion. Such tokens never go through the cache.
    pub fn implicit(mut self, assertion: &'a [u8]) -> Self {
        self.implicit = Some(assertion);
        self
    }

    /// Goes through the cache set up by [`Authority::with_cache`], if any: a token verified
    /// recently skips the cryptography and parsing, never the claim checks.
    pub(crate) fn cached(mut self) -> Self {
        self.cached = true;
        self
    }
}

impl Authority {
    /// Verifies `token` as a token of kind `kind` at time `now`.
    ///
    /// The purpose comes from the kind's rules and the key from this keyring (by the footer's
    /// `kid`, or the current key when there is no `kid`), never from the token itself.
    pub fn verify(
        &self,
        kind: &str,
        token: &str,
        now: OffsetDateTime,
        options: VerifyOptions<'_>,
    ) -> Result<Arc<Verified>, Rejection> {
        let index = self.rules.index_of(kind).ok_or(Rejection::UnknownKind)?;
        // The cache is keyed by kind and token only, so bound tokens never use it.
        if options.cached && options.implicit.is_none() {
            return self.verify_indexed(index, token, now);
        }
        let rules = &self.rules.kinds()[index];
        self.verify_uncached(rules, token, now, options.implicit)
            .map(Arc::new)
    }

    /// [`verify`](Self::verify) through the cache, with the kind given by its index in the rules.
    fn verify_indexed(
        &self,
        index: usize,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Arc<Verified>, Rejection> {
        let rules = self
            .rules
            .kinds()
            .get(index)
            .ok_or(Rejection::UnknownKind)?;
        let Some(cache) = self.cache() else {
            return self.verify_uncached(rules, token, now, None).map(Arc::new);
        };
        // The cheap refusals come before hashing, so garbage costs as little as without a cache.
        if token.len() > self.rules.max_token_length_limit() {
            return Err(Rejection::TooLong);
        }
        if !token.starts_with(rules.purpose().header()) {
            return Err(Rejection::WrongPurpose);
        }
        let key = cache.key(token);
        if let Some(hit) = cache.get(key, &index, token) {
            self.rules.check(rules, hit.claims(), now)?;
            return Ok(hit);
        }
        let verified = Arc::new(self.verify_uncached(rules, token, now, None)?);
        // Past `exp` by more than the leeway, a token can never verify again: such entries are
        // the first to go.
        cache.insert(
            key,
            index,
            verified.clone(),
            now - self.rules.leeway_limit(),
        );
        Ok(verified)
    }

    /// Verifies `token` in full against the kind's rules.
    fn verify_uncached(
        &self,
        rules: &KindRules,
        token: &str,
        now: OffsetDateTime,
        implicit: Option<&[u8]>,
    ) -> Result<Verified, Rejection> {
        // One snapshot of the trusted public keys for the whole verification, even when
        // discovered keys are replaced meanwhile.
        let trusted = self.keyring.trusted();
        let (payload, bound_issuer) = match rules.purpose() {
            Purpose::Local => (self.open_local(token, implicit)?, None),
            Purpose::Public => self.open_public(&trusted, token, implicit)?,
        };
        let claims = claims::parse(&payload)?;
        // A key bound to an issuer only vouches for that issuer's tokens, and a bound issuer's
        // name is only accepted from its own public keys. Local tokens are this service's own
        // (only it holds the key), whatever issuer they name.
        match (bound_issuer, claims.iss.as_deref()) {
            (Some(bound), iss) if iss != Some(bound) => return Err(Rejection::Issuer),
            (None, Some(iss))
                if rules.purpose() == Purpose::Public && trusted.is_bound_issuer(iss) =>
            {
                return Err(Rejection::Issuer);
            }
            _ => {}
        }
        self.rules.check(rules, &claims, now)?;
        Ok(Verified::new(token, payload, claims))
    }

    /// Checks a local token's shape, finds its key, and returns the decrypted payload.
    pub(super) fn open_local(
        &self,
        token: &str,
        implicit: Option<&[u8]>,
    ) -> Result<String, Rejection> {
        let limit = self.rules.max_token_length_limit();
        let (message, footer) = check_shape(token, Purpose::Local, limit)?;
        let implicit = implicit.unwrap_or_default();
        // Our own tokens name the current key with the footer it was given at launch.
        if let Some((key, footer)) = self.keyring.current_local_for(footer) {
            return Ok(key.opener().open(message, footer, implicit)?);
        }
        let mut footer_bytes = Vec::new();
        decode_base64(footer.as_bytes(), &mut footer_bytes).ok_or(Rejection::Malformed)?;
        let key = self.keyring.local_for(&footer_bytes)?;
        Ok(key.opener().open(message, &footer_bytes, implicit)?)
    }

    /// Checks a public token's shape, finds its key among `trusted`, and returns the verified
    /// payload with the issuer its key is bound to, if any.
    fn open_public<'k>(
        &self,
        trusted: &'k TrustedKeys,
        token: &str,
        implicit: Option<&[u8]>,
    ) -> Result<(String, Option<&'k str>), Rejection> {
        let limit = self.rules.max_token_length_limit();
        let (message, footer) = check_shape(token, Purpose::Public, limit)?;
        let signed = SignedToken::decode(message, footer)?;
        let (key, bound) = trusted.public_for(signed.untrusted_footer())?;
        let payload = signed.verify(key.verifying_key(), implicit.unwrap_or_default())?;
        Ok((payload, bound))
    }
}

/// The checks made before anything is decoded: length, header, and at most `payload.footer`,
/// both non-empty (no trailing dot, no extra segments), the footer not too long: the message
/// and footer segments (the footer empty when absent).
///
/// The base64 itself is judged when it is decoded (`crypto::decode_base64`), which refuses
/// padding, characters outside the alphabet and non-canonical encodings (stray low bits in the
/// last character): see `non_canonical_base64_is_malformed` below.
pub(super) fn check_shape(
    token: &str,
    purpose: Purpose,
    max_length: usize,
) -> Result<(&str, &str), Rejection> {
    if token.len() > max_length {
        return Err(Rejection::TooLong);
    }
    let body = token
        .strip_prefix(purpose.header())
        .ok_or(Rejection::WrongPurpose)?;
    let mut segments = body.split('.');
    let (Some(message), footer, None) = (segments.next(), segments.next(), segments.next()) else {
        return Err(Rejection::Malformed);
    };
    if message.is_empty() || footer.is_some_and(str::is_empty) {
        return Err(Rejection::Malformed);
    }
    let footer = footer.unwrap_or_default();
    if footer.len() > MAX_FOOTER * 4 / 3 + 1 {
        return Err(Rejection::Footer);
    }
    Ok((message, footer))
}

impl LocalKey {
    /// Decrypts a `v4.local` token with this key alone, under the implicit assertion `implicit`
    /// (none is the same as empty): the payload, unparsed. The same shape checks as
    /// [`Authority::verify`] (with the default maximum length), but no key lookup by `kid` and
    /// no claim checks: the cryptography as the differential tests and fuzz targets see it.
    pub(crate) fn decrypt(
        &self,
        token: &str,
        implicit: Option<&[u8]>,
    ) -> Result<String, Rejection> {
        let (message, footer) = check_shape(token, Purpose::Local, DEFAULT_MAX_TOKEN_LENGTH)?;
        let mut footer_bytes = Vec::new();
        decode_base64(footer.as_bytes(), &mut footer_bytes).ok_or(Rejection::Malformed)?;
        let implicit = implicit.unwrap_or_default();
        Ok(self.opener().open(message, &footer_bytes, implicit)?)
    }
}

impl PublicKey {
    /// Verifies the signature of a `v4.public` token with this key alone and returns its
    /// payload, unparsed: the same shape checks as [`Authority::verify`] (with the default
    /// maximum length), then the signature over the token, its footer and the implicit
    /// assertion (none is the same as empty). The footer's `kid` is not compared with this
    /// key's id and no claim is checked: the cryptography as the differential tests and fuzz
    /// targets see it.
    pub(crate) fn verify_token(
        &self,
        token: &str,
        implicit: Option<&[u8]>,
    ) -> Result<String, Rejection> {
        let (message, footer) = check_shape(token, Purpose::Public, DEFAULT_MAX_TOKEN_LENGTH)?;
        let signed = SignedToken::decode(message, footer)?;
        Ok(signed.verify(self.verifying_key(), implicit.unwrap_or_default())?)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::test_support::{authority, authority_with, now, rules};
    use super::super::{DEFAULT_MAX_TOKEN_LENGTH, LocalKey, MintOptions};
    use super::*;
    use pasetors::keys::SymmetricKey;
    use pasetors::version4::{LocalToken, V4};

    const PLAIN: VerifyOptions<'static> = VerifyOptions {
        implicit: None,
        cached: false,
    };

    fn mint(a: &Authority, kind: &str, ttl: Option<Duration>) -> String {
        let options = MintOptions {
            ttl,
            ..MintOptions::new()
        };
        a.mint(kind, "alice", None::<&()>, options).unwrap()
    }

    #[test]
    fn kinds_do_not_cross() {
        let a = authority();
        let refresh = mint(&a, "refresh", None);
        assert_eq!(
            a.verify("access", &refresh, now(), PLAIN).unwrap_err(),
            Rejection::WrongKind
        );
        let signed = mint(&a, "signed", None);
        assert_eq!(
            a.verify("access", &signed, now(), PLAIN).unwrap_err(),
            Rejection::WrongPurpose
        );
        assert_eq!(
            a.verify("nope", &signed, now(), PLAIN).unwrap_err(),
            Rejection::UnknownKind
        );
    }

    #[test]
    fn shape_checks_come_first() {
        let a = authority();
        let t = mint(&a, "access", None);
        for bad in [format!("{t}."), format!("{t}.x.y"), format!("{t}=")] {
            assert_eq!(
                a.verify("access", &bad, now(), PLAIN).unwrap_err(),
                Rejection::Malformed
            );
        }
        assert_eq!(
            a.verify("access", &t.replacen("v4.", "v3.", 1), now(), PLAIN)
                .unwrap_err(),
            Rejection::WrongPurpose
        );
        let long = "v4.local.".to_string() + &"A".repeat(DEFAULT_MAX_TOKEN_LENGTH);
        assert_eq!(
            a.verify("access", &long, now(), PLAIN).unwrap_err(),
            Rejection::TooLong
        );
    }

    /// ct-codecs refuses what the old hand-written check refused: padding, characters outside
    /// the alphabet, and stray low bits in the last character.
    #[test]
    fn non_canonical_base64_is_malformed() {
        let a = authority();
        let t = mint(&a, "access", None);
        let (body, footer) = t.rsplit_once('.').unwrap();
        // Our footer is 61 bytes: 82 characters, the last carrying 4 padding bits.
        assert_eq!(footer.len() % 4, 2);
        let last = footer.as_bytes()[footer.len() - 1];
        let stray = char::from(if last == b'A' { b'B' } else { last + 1 });
        let mut bad = format!("{body}.{}", &footer[..footer.len() - 1]);
        bad.push(stray);
        for bad in [
            bad,
            format!("{body}.{footer}=="),
            format!("{body}.{footer}+"),
        ] {
            assert_eq!(
                a.verify("access", &bad, now(), PLAIN).unwrap_err(),
                Rejection::Malformed
            );
        }
    }

    #[test]
    fn time_edges_respect_leeway() {
        let leeway = Duration::from_secs(30);
        let a = authority_with(Some(LocalKey::generate().unwrap()), rules().leeway(leeway));
        let t = mint(&a, "access", Some(Duration::from_secs(60)));
        let exp = a.verify("access", &t, now(), PLAIN).unwrap().claims().exp;
        assert!(a.verify("access", &t, exp + leeway, PLAIN).is_ok());
        let late = exp + leeway + Duration::from_secs(1);
        assert_eq!(
            a.verify("access", &t, late, PLAIN).unwrap_err(),
            Rejection::Expired
        );
        let iat = exp - Duration::from_secs(60);
        assert!(a.verify("access", &t, iat - leeway, PLAIN).is_ok());
        let early = iat - leeway - Duration::from_secs(1);
        assert_eq!(
            a.verify("access", &t, early, PLAIN).unwrap_err(),
            Rejection::NotYetValid
        );
    }

    #[test]
    fn cache_hits_answer_exactly_like_misses() {
        let a = authority_with(Some(LocalKey::generate().unwrap()), rules()).with_cache(64);
        let t = mint(&a, "access", Some(Duration::from_secs(60)));
        let cached = VerifyOptions::new().cached();
        let first = a.verify("access", &t, now(), cached).unwrap();
        assert_eq!(a.cached_tokens(), 1);
        let again = a.verify("access", &t, now(), cached).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "the second call is a hit");
        // Still checked on a hit: expiry and kind.
        let later = now() + Duration::from_secs(120);
        assert_eq!(
            a.verify("access", &t, later, cached).unwrap_err(),
            Rejection::Expired
        );
        assert_eq!(
            a.verify("refresh", &t, now(), cached).unwrap_err(),
            Rejection::WrongKind
        );
        // Garbage is refused before the cache is consulted, and never cached.
        assert_eq!(
            a.verify("access", "v3.local.x", now(), cached).unwrap_err(),
            Rejection::WrongPurpose
        );
        assert_eq!(a.cached_tokens(), 1);
        // Uncached and bound verifications leave the cache alone.
        let fresh = mint(&a, "access", None);
        assert!(a.verify("access", &fresh, now(), PLAIN).is_ok());
        let bound = cached.implicit(b"cookie");
        assert!(a.verify("access", &fresh, now(), bound).is_err());
        assert_eq!(a.cached_tokens(), 1);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let a = authority_with(Some(LocalKey::generate().unwrap()), rules()).with_cache(32);
        for _ in 0..500 {
            let t = mint(&a, "access", None);
            a.verify("access", &t, now(), VerifyOptions::new().cached())
                .unwrap();
        }
        assert!(a.cached_tokens() <= 32, "{}", a.cached_tokens());
    }

    #[test]
    fn extreme_times_are_judged_without_overflow() {
        let key = LocalKey::generate().unwrap();
        let paserk = key.to_paserk();
        let a = authority_with(Some(key), rules().leeway(Duration::from_secs(600)));
        let forge = |exp: &str, nbf: &str| {
            let payload = format!(
                r#"{{"sub":"a","type":"access","exp":"{exp}","nbf":"{nbf}","iat":"{nbf}"}}"#
            );
            let k = SymmetricKey::<V4>::try_from(paserk.as_str()).unwrap();
            LocalToken::encrypt(&k, payload.as_bytes(), None, None).unwrap()
        };
        let far = forge("9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z");
        assert!(a.verify("access", &far, now(), PLAIN).is_ok());
        let expired = forge("0000-01-01T00:00:00Z", "0000-01-01T00:00:00Z");
        assert_eq!(
            a.verify("access", &expired, now(), PLAIN).unwrap_err(),
            Rejection::Expired
        );
        let future = forge("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z");
        assert_eq!(
            a.verify("access", &future, now(), PLAIN).unwrap_err(),
            Rejection::NotYetValid
        );
        // Times whose UTC form is out of range are malformed, not a panic later on.
        let offset = forge("9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00Z");
        assert_eq!(
            a.verify("access", &offset, now(), PLAIN).unwrap_err(),
            Rejection::BadTime("exp")
        );
    }

    #[test]
    fn issuer_and_audience_are_required_when_configured() {
        let key = LocalKey::generate().unwrap();
        let paserk = key.to_paserk();
        let plain = authority_with(Some(key), rules());
        let strict = authority_with(
            Some(LocalKey::from_paserk(&paserk).unwrap()),
            rules()
                .issuer("https://a.example")
                .audience("https://b.example"),
        );
        let t = mint(&plain, "access", None);
        assert_eq!(
            strict.verify("access", &t, now(), PLAIN).unwrap_err(),
            Rejection::Issuer
        );
        let t = mint(&strict, "access", None);
        let v = strict.verify("access", &t, now(), PLAIN).unwrap();
        assert_eq!(v.claims().iss.as_deref(), Some("https://a.example"));
        assert_eq!(v.claims().aud, ["https://b.example"]);
    }

    /// Many users with churn: 800 live tokens in a cache of 1024, each login replaced by a new
    /// one every 10 requests. A token that comes back should still be cached.
    #[test]
    fn a_sliding_window_of_live_tokens_keeps_hitting() {
        const LIVE: usize = 800;
        const REQUESTS_PER_LOGIN: usize = 10;
        const REQUESTS: usize = 25_000;
        let a = Authority::new(Some(LocalKey::generate().unwrap()), None, vec![], rules())
            .with_cache(1024);
        let mint = || {
            a.mint("access", "user", None::<&()>, MintOptions::new())
                .unwrap()
        };
        let cached = VerifyOptions::new().cached();
        let mut window: std::collections::VecDeque<(String, Option<Arc<Verified>>)> =
            (0..LIVE).map(|_| (mint(), None)).collect();
        // A fixed xorshift sequence picks the tokens, so runs differ only in the cache's keys.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let (mut returning, mut hits) = (0, 0);
        for request in 0..REQUESTS {
            if request % REQUESTS_PER_LOGIN == 0 {
                window.pop_front();
                window.push_back((mint(), None));
            }
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let (token, last) = &mut window[(seed % LIVE as u64) as usize];
            let verified = a.verify("access", token, now(), cached).unwrap();
            if let Some(last) = last {
                returning += 1;
                hits += usize::from(Arc::ptr_eq(last, &verified));
            }
            *last = Some(verified);
        }
        assert!(a.cached_tokens() <= 1024, "{}", a.cached_tokens());
        let rate = hits as f64 / returning as f64;
        assert!(
            rate >= 0.95,
            "{hits} of {returning} returning tokens hit ({rate:.2})"
        );
    }

    #[test]
    fn expired_tokens_are_evicted_before_live_ones() {
        let a = Authority::new(Some(LocalKey::generate().unwrap()), None, vec![], rules())
            .with_cache(1024);
        let cached = VerifyOptions::new().cached();
        let mint = |subject: &str, ttl: u64| {
            let options = MintOptions::new().ttl(Duration::from_secs(ttl));
            a.mint("access", subject, None::<&()>, options).unwrap()
        };
        let expired: Vec<String> = (0..1024).map(|_| mint("gone", 60)).collect();
        for t in &expired {
            a.verify("access", t, now(), cached).unwrap();
        }
        // Two minutes later those have expired; live tokens arrive in two batches, and the
        // expired ones are presented again in between, so they were used more recently than
        // the first batch.
        let later = now() + Duration::from_secs(120);
        let live: Vec<String> = (0..400).map(|_| mint("here", 3600)).collect();
        let first: Vec<Arc<Verified>> = live[..200]
            .iter()
            .map(|t| a.verify("access", t, later, cached).unwrap())
            .collect();
        for t in &expired {
            assert_eq!(
                a.verify("access", t, later, cached).unwrap_err(),
                Rejection::Expired
            );
        }
        for t in &live[200..] {
            a.verify("access", t, later, cached).unwrap();
        }
        for (t, cached_one) in live[..200].iter().zip(&first) {
            let again = a.verify("access", t, later, cached).unwrap();
            assert!(Arc::ptr_eq(cached_one, &again), "a live token was evicted");
        }
        assert!(a.cached_tokens() <= 1024, "{}", a.cached_tokens());
    }
}
