//! Why a token was rejected or could not be minted.

use super::claims::ClaimsError;
use super::crypto::Failure;
use super::limits::MAX_TTL;
use super::purpose::Purpose;

/// Why a token was rejected. For logs and tests only: clients are never told which check failed.
///
/// Neither `Debug` nor `Display` include any part of the token or its claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// Longer than the configured maximum.
    #[error("token is longer than the configured maximum")]
    TooLong,
    /// Not `v4.local.` / `v4.public.` as configured for the kind (including other versions).
    #[error("token does not have the version and purpose configured for its kind")]
    WrongPurpose,
    /// Not a well-formed token: bad segments, trailing dot, bad or non-canonical base64.
    #[error("token is malformed")]
    Malformed,
    /// The footer is not a small JSON object with unique keys, or its `kid` is not a key id of
    /// the right type.
    #[error("token footer is invalid")]
    Footer,
    /// The footer's `kid` names no key in the keyring.
    #[error("token names a key that is not in the keyring")]
    UnknownKey,
    /// The keyring has no key for the kind's purpose.
    #[error("no key is configured for this purpose")]
    NoKey,
    /// Decryption or signature verification failed.
    #[error("token failed authentication")]
    Crypto,
    /// The payload is not a JSON object of well-typed claims without duplicate keys.
    #[error("token payload is not a valid claims object")]
    Payload,
    /// A required claim is missing.
    #[error("token lacks the `{0}` claim")]
    MissingClaim(&'static str),
    /// A time claim is not RFC 3339 with uppercase `T` and `Z`.
    #[error("token's `{0}` claim is not a valid RFC 3339 time")]
    BadTime(&'static str),
    /// `exp` is in the past beyond the leeway.
    #[error("token has expired")]
    Expired,
    /// `nbf` is in the future beyond the leeway.
    #[error("token is not valid yet")]
    NotYetValid,
    /// `iat` is in the future beyond the leeway.
    #[error("token was issued in the future")]
    IssuedInFuture,
    /// `iss` is absent or does not match the configured issuer.
    #[error("token's issuer does not match")]
    Issuer,
    /// `aud` is absent or does not contain the configured audience.
    #[error("token's audience does not match")]
    Audience,
    /// The `type` claim is not this kind's name.
    #[error("token is of another kind")]
    WrongKind,
    /// The kind is not configured.
    #[error("no such token kind is configured")]
    UnknownKind,
    /// The token, or its session, has been revoked; or a refresh token was used twice.
    #[error("token has been revoked")]
    Revoked,
    /// The application no longer accepts the token's subject (e.g. a deleted or disabled user).
    #[error("token's subject is no longer accepted")]
    SubjectRefused,
}

impl From<ClaimsError> for Rejection {
    fn from(error: ClaimsError) -> Self {
        match error {
            ClaimsError::Malformed => Rejection::Payload,
            ClaimsError::Missing(name) => Rejection::MissingClaim(name),
            ClaimsError::Time(name) => Rejection::BadTime(name),
        }
    }
}

impl From<Failure> for Rejection {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Malformed => Rejection::Malformed,
            Failure::Crypto => Rejection::Crypto,
            Failure::Payload => Rejection::Payload,
        }
    }
}

/// Why a token could not be minted.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The kind is not configured.
    #[error("no token kind named `{0}` is configured")]
    UnknownKind(String),
    /// The kind's purpose needs a key this service does not have (e.g. a verifier-only service).
    #[error("no {0} key is configured, so `{1}` tokens cannot be minted here")]
    NoKey(Purpose, String),
    /// Extra claims tried to set a claim the crate sets itself.
    #[error("extra claims may not set the registered claim `{0}`")]
    ReservedClaim(String),
    /// Extra claims did not serialise to a JSON object.
    #[error("extra claims must serialise to a JSON object")]
    NotAnObject,
    /// The `csrf` claim is not a string.
    #[error("the `csrf` claim must be a string")]
    CsrfNotAString,
    /// The requested lifetime is zero or longer than a year and a day.
    #[error("a token lifetime must be between 1 second and {} days", MAX_TTL.as_secs() / 86400)]
    Ttl,
    /// The token would join a session that has already ended (its `fam_exp` passed).
    #[error("the token's session has ended")]
    SessionEnded,
    /// Serialisation or the cryptography failed.
    #[error("the token could not be built")]
    Build,
}
