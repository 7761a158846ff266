//! Sealed values: serde values encrypted as `v4.local` tokens bound to a name, the format of the
//! private-cookie jar.

use std::time::Duration;

use pasetors::version4::LocalToken;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use super::authority::Authority;
use super::claims;
use super::error::{IssueError, Rejection};
use super::rules::{Purpose, check_ttl};

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
        LocalToken::encrypt(
            keyed.key.inner(),
            &payload,
            Some(&keyed.footer),
            Some(binding),
        )
        .map_err(|_| IssueError::Build)
    }

    /// Decrypts a value made by [`seal`](Self::seal) with the same `binding`, if it has not
    /// expired at `now` (no leeway: the server wrote it with its own clock).
    pub fn unseal<T: DeserializeOwned>(
        &self,
        binding: &[u8],
        token: &str,
        now: OffsetDateTime,
    ) -> Result<T, Rejection> {
        let (payload, _) = self.open(Purpose::Local, token, Some(binding))?;
        let sealed = claims::parse_sealed::<T>(&payload)?;
        if now > sealed.exp {
            return Err(Rejection::Expired);
        }
        Ok(sealed.value)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{authority, now};
    use super::*;

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
