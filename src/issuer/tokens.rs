//! The token responses: a login's [`TokenPair`] and a refresh's [`AccessToken`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// An access and a refresh token, as returned by [`Issuer::pair`](crate::Issuer::pair): the usual login response.
/// As a [`Responder`](rocket::response::Responder) it is JSON with `Cache-Control: no-store`; return it as it is rather than
/// in `Json`, which would not add that header.
///
/// ```json
/// {"access_token": "v4.local.…", "refresh_token": "v4.local.…", "token_type": "Bearer", "expires_in": 900}
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenPair {
    /// The access token.
    pub access_token: String,
    /// The refresh token.
    pub refresh_token: String,
    /// The scheme to send the access token with, `Bearer` unless configured otherwise.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// A new access token, as returned by [`Issuer::access_from`](crate::Issuer::access_from): the usual refresh response.
///
/// ```json
/// {"access_token": "v4.local.…", "token_type": "Bearer", "expires_in": 900}
/// ```
///
/// As a [`Responder`](rocket::response::Responder) it is JSON with `Cache-Control: no-store`, like [`TokenPair`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessToken {
    /// The access token.
    pub access_token: String,
    /// The scheme to send it with, `Bearer` unless configured otherwise.
    pub token_type: String,
    /// Seconds until it expires, at most (a login's end may come sooner).
    pub expires_in: u64,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}
