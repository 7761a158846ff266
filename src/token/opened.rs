//! What opening a token gives, as the caches keep it: a [`Verified`] token, or an [`Opened`]
//! sealed value.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use time::OffsetDateTime;

use super::cache::Cacheable;
use super::claims::Claims;

/// A token that passed every check.
#[derive(Clone)]
pub struct Verified {
    token: Arc<str>,
    payload: String,
    claims: Claims,
    /// For a refresh token: the claims its login loads now, which replace the same-named ones
    /// of the payload in the tokens it is renewed with.
    reloaded: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Verified {
    /// A token that `verify` accepted, with its payload and claims.
    pub(super) fn new(token: &str, payload: String, claims: Claims) -> Self {
        Verified {
            token: token.into(),
            payload,
            claims,
            reloaded: None,
        }
    }

    /// The token as it was presented.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The decrypted or verified JSON payload.
    pub fn payload(&self) -> &str {
        &self.payload
    }

    /// The registered claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// This token with `claims` loaded afresh for its login, to renew it with.
    pub(crate) fn reloaded(mut self, claims: serde_json::Map<String, serde_json::Value>) -> Self {
        self.reloaded = Some(claims);
        self
    }

    /// The claims loaded afresh for this token's login, if they were.
    pub(crate) fn reloaded_claims(&self) -> Option<&serde_json::Map<String, serde_json::Value>> {
        self.reloaded.as_ref()
    }
}

impl AsRef<Verified> for Verified {
    fn as_ref(&self) -> &Verified {
        self
    }
}

impl AsRef<Claims> for Verified {
    fn as_ref(&self) -> &Claims {
        &self.claims
    }
}

impl fmt::Debug for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

impl Cacheable for Verified {
    fn shared_token(&self) -> &Arc<str> {
        &self.token
    }

    fn expires(&self) -> OffsetDateTime {
        self.claims().exp
    }
}

/// A sealed value that decrypted with its binding and has a well-formed payload: what the
/// sealed-value cache keeps. Its expiry is checked, and its value read, on every use.
pub(crate) struct Opened {
    pub(super) token: Arc<str>,
    pub(super) payload: String,
    /// Where the value's JSON lies in `payload`.
    pub(super) value: Range<usize>,
    pub(super) expires: OffsetDateTime,
}

impl Opened {
    /// The value's JSON.
    pub(super) fn value(&self) -> &str {
        // `parse_sealed` found the range in this payload.
        self.payload.get(self.value.clone()).unwrap_or_default()
    }
}

impl Cacheable for Opened {
    fn shared_token(&self) -> &Arc<str> {
        &self.token
    }

    fn expires(&self) -> OffsetDateTime {
        self.expires
    }
}
