//! Sealed values: serde values encrypted as `v4.local` tokens bound to a name, the format of the
//! private-cookie jar.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use super::authority::Authority;
use super::claims;
use super::error::{IssueError, Rejection};
use super::opened::Opened;
use super::purpose::Purpose;
use super::rules::check_ttl;

/// The payload of a sealed value.
#[derive(Serialize)]
struct SealedOut<'a, T: ?Sized> {
    exp: String,
    iat: String,
    v: &'a T,
}

impl Authority {
    /// Encrypts `value` as a `v4.local` token bound to `binding` (an implicit assertion, such as
    /// a cookie's name) that expires after `ttl`: the private-cookie format.
    pub fn seal<T: Serialize + ?Sized>(
        &self,
        binding: &[u8],
        value: &T,
        ttl: Duration,
    ) -> Result<String, IssueError> {
        let ttl = check_ttl(ttl)?;
        let keyed = self
            .keyring
            .local()
            .ok_or_else(|| IssueError::NoKey(Purpose::Local, "sealed value".into()))?;
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .map_err(|_| IssueError::Build)?;
        let payload = serde_json::to_vec(&SealedOut {
            exp: claims::format_time(now + ttl),
            iat: claims::format_time(now),
            v: value,
        })
        .map_err(|_| IssueError::Build)?;
        (keyed.key.opener())
            .seal(&payload, &keyed.footer, binding)
            .map_err(|_| IssueError::Build)
    }

    /// Decrypts a value made by [`seal`](Self::seal) with the same `binding`, if it has not
    /// expired at `now` (no leeway: the server wrote it with its own clock).
    ///
    /// In the authority the fairing builds (with `cookies.cache_size`), a value opened recently
    /// with the same binding skips the decryption; the expiry and the reading into `T` are the
    /// same either way.
    pub fn unseal<T: DeserializeOwned>(
        &self,
        binding: &[u8],
        token: &str,
        now: OffsetDateTime,
    ) -> Result<T, Rejection> {
        let opened = self.open_sealed(binding, token, now)?;
        if now > opened.expires {
            return Err(Rejection::Expired);
        }
        Ok(claims::sealed_value(opened.value())?)
    }

    /// Opens `token` through the sealed-value cache, if it is on.
    fn open_sealed(
        &self,
        binding: &[u8],
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Arc<Opened>, Rejection> {
        let Some(cache) = self.sealed_cache() else {
            return self.open_sealed_uncached(binding, token).map(Arc::new);
        };
        // The cheap refusals come before hashing, so garbage costs as little as without a cache.
        if token.len() > self.rules.max_token_length_limit() {
            return Err(Rejection::TooLong);
        }
        if !token.starts_with(Purpose::Local.header()) {
            return Err(Rejection::WrongPurpose);
        }
        let key = cache.key(token);
        if let Some(hit) = cache.get(key, binding, token) {
            return Ok(hit);
        }
        let opened = Arc::new(self.open_sealed_uncached(binding, token)?);
        // Past its expiry a value never opens again: not worth a place, and the first to go
        // once it is in.
        if opened.expires >= now {
            cache.insert(key, binding.into(), opened.clone(), now);
        }
        Ok(opened)
    }

    /// Decrypts `token` with `binding` and checks the payload's shape and times.
    fn open_sealed_uncached(&self, binding: &[u8], token: &str) -> Result<Opened, Rejection> {
        let payload = self.open_local(token, Some(binding))?;
        let (expires, value) = claims::parse_sealed(&payload)?;
        Ok(Opened {
            token: token.into(),
            payload,
            value,
            expires,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::LocalKey;
    use super::super::cache::CacheStats;
    use super::super::test_support::{authority, authority_with, now, rules};
    use super::*;

    /// The same key twice: without and with the sealed-value cache.
    fn plain_and_cached() -> (Authority, Authority) {
        let paserk = LocalKey::generate().unwrap().to_paserk();
        let key = || Some(LocalKey::from_paserk(&paserk).unwrap());
        let cached = authority_with(key(), rules()).with_sealed_cache(64);
        (authority_with(key(), rules()), cached)
    }

    /// A read parses the value's own JSON, found when the value was opened: values of any
    /// shape read back as they were sealed, whatever their strings hold.
    #[test]
    fn values_of_any_shape_read_back() {
        let (plain, cached) = plain_and_cached();
        let values = [
            serde_json::json!(null),
            serde_json::json!(7),
            serde_json::json!("a \"quoted\" ,\"v\":1} \u{e9}"),
            serde_json::json!([1, {"v": 2}]),
            serde_json::json!({"v": {"exp": "x"}, "iat": [], "s": "}"}),
        ];
        for value in values {
            let sealed = cached.seal(b"cart", &value, Duration::from_secs(60));
            let sealed = sealed.unwrap();
            for a in [&plain, &cached, &cached] {
                let read = a.unseal::<serde_json::Value>(b"cart", &sealed, now());
                assert_eq!(read.unwrap(), value);
            }
        }
    }

    #[test]
    fn cached_values_open_exactly_like_uncached_ones() {
        let (plain, cached) = plain_and_cached();
        let sealed = cached
            .seal(b"cart", &vec![1, 2, 3], Duration::from_secs(60))
            .unwrap();
        let later = now() + Duration::from_secs(120);
        for a in [&plain, &cached, &cached] {
            let value = a.unseal::<Vec<u8>>(b"cart", &sealed, now());
            assert_eq!(value.unwrap(), [1, 2, 3]);
            // Read into another type, or after expiry: the same refusal, hit or miss.
            let text = a.unseal::<String>(b"cart", &sealed, now());
            assert_eq!(text.unwrap_err(), Rejection::Payload);
            let expired = a.unseal::<Vec<u8>>(b"cart", &sealed, later);
            assert_eq!(expired.unwrap_err(), Rejection::Expired);
            let renamed = a.unseal::<Vec<u8>>(b"other", &sealed, now());
            assert_eq!(renamed.unwrap_err(), Rejection::Crypto);
        }
        let stats = cached.sealed_cache_stats();
        // One miss per binding; every later read of `cart` was a hit, expired or not.
        assert_eq!((stats.misses, stats.hits, stats.entries), (3, 5, 1));
        assert_eq!(plain.sealed_cache_stats(), CacheStats::default());
    }

    #[test]
    fn expired_values_are_refused_and_not_cached() {
        let (_, cached) = plain_and_cached();
        let sealed = cached.seal(b"cart", &1, Duration::from_secs(60)).unwrap();
        let later = now() + Duration::from_secs(120);
        for _ in 0..2 {
            let opened = cached.unseal::<u8>(b"cart", &sealed, later);
            assert_eq!(opened.unwrap_err(), Rejection::Expired);
        }
        let stats = cached.sealed_cache_stats();
        assert_eq!((stats.misses, stats.hits, stats.entries), (2, 0, 0));
    }

    #[test]
    fn garbage_is_refused_before_the_cache_and_never_cached() {
        let (_, cached) = plain_and_cached();
        let long = format!("v4.local.{}", "A".repeat(10_000));
        let sealed = cached.seal(b"cart", &1, Duration::from_secs(60)).unwrap();
        let at = "v4.local.".len() + 40;
        let flipped = if &sealed[at..=at] == "A" { "B" } else { "A" };
        let tampered = format!("{}{flipped}{}", &sealed[..at], &sealed[at + 1..]);
        for (bad, refusal) in [
            ("v4.public.AAAA", Rejection::WrongPurpose),
            (long.as_str(), Rejection::TooLong),
            ("v4.local.AAAA", Rejection::Malformed),
            (tampered.as_str(), Rejection::Crypto),
        ] {
            let opened = cached.unseal::<u8>(b"cart", bad, now());
            assert_eq!(opened.unwrap_err(), refusal);
        }
        assert_eq!(cached.cached_sealed_values(), 0);
    }

    #[test]
    fn sealed_values_open_with_their_binding_until_they_expire() {
        let a = authority();
        let ttl = Duration::from_secs(60);
        let sealed = a.seal(b"cart", &vec![1, 2, 3], ttl).unwrap();
        assert_eq!(
            a.unseal::<Vec<u8>>(b"cart", &sealed, now()).unwrap(),
            [1, 2, 3]
        );
        assert_eq!(
            a.unseal::<Vec<u8>>(b"other", &sealed, now()).unwrap_err(),
            Rejection::Crypto
        );
        let later = now() + Duration::from_secs(120);
        assert_eq!(
            a.unseal::<Vec<u8>>(b"cart", &sealed, later).unwrap_err(),
            Rejection::Expired
        );
        assert!(matches!(
            a.seal(b"cart", &1, Duration::ZERO),
            Err(IssueError::Ttl)
        ));
    }
}
