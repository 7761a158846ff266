//! Not part of the API: internals that the crate's own tests, fuzz targets, differential tests
//! against pasetors and benchmarks reach through this one path (the token core, the
//! configuration table as it is read, and a few shortcuts). Hidden from the documentation,
//! outside semantic versioning, and free to change in any release: applications must not use it.

use crate::Issuer;
use crate::token::Rejection;

pub use crate::config::{Config, MissingToken};
pub use crate::token::{
    Authority, DEFAULT_MAX_TOKEN_LENGTH, KindRules, LocalKey, MintOptions, PublicKey,
    REGISTERED_CLAIMS, Rules, SecretKey, VerifyOptions,
};

/// The token core behind an issuer: its keys, its rules, minting and verification.
pub fn authority(issuer: &Issuer) -> &Authority {
    issuer.authority()
}

/// The token in an `Authorization`-style header value, as the guards read it.
pub fn from_authorization<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    crate::guard::from_authorization(value, scheme)
}

/// `v4.local` decryption with one key and no claim checks: the crate's own path, compared with
/// pasetors' `LocalToken::decrypt`.
pub fn decrypt(key: &LocalKey, token: &str, implicit: Option<&[u8]>) -> Result<String, Rejection> {
    key.decrypt(token, implicit)
}

/// `v4.public` signature verification with one key and no claim checks: the crate's own path,
/// compared with pasetors' `PublicToken::verify`.
pub fn verify_token(
    key: &PublicKey,
    token: &str,
    implicit: Option<&[u8]>,
) -> Result<String, Rejection> {
    key.verify_token(token, implicit)
}

/// The authority with a cache of up to about `capacity` verified tokens, used by [`cached`]
/// verifications: what the fairing sets up from `cache_size`.
pub fn with_cache(authority: Authority, capacity: usize) -> Authority {
    authority.with_cache(capacity)
}

/// The authority with a cache of up to about `capacity` opened sealed values, used by
/// `unseal`: what the fairing sets up from `cookies.cache_size`.
pub fn with_sealed_cache(authority: Authority, capacity: usize) -> Authority {
    authority.with_sealed_cache(capacity)
}

/// Verification options that go through the token cache (see [`with_cache`]).
pub fn cached<'a>() -> VerifyOptions<'a> {
    VerifyOptions::new().cached()
}
