//! The token response of a session's start and refresh: [`TokenPair`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// An access and a refresh token, as returned by [`Login::issue`](crate::Login::issue) and
/// [`Sessions::refresh`](crate::Sessions::refresh): the usual login and refresh response. As a
/// [`Responder`](rocket::response::Responder) it is JSON with `Cache-Control: no-store`; return
/// it as it is rather than in `Json`, which would not add that header.
///
/// ```json
/// {"access_token": "v4.local.…", "refresh_token": "v4.local.…", "token_type": "Bearer", "expires_in": 900}
/// ```
///
/// A refresh that does not rotate (no store, or `revocation.rotate = false`) gives no new
/// refresh token: `refresh_token` is empty and left out of the JSON, as RFC 6749 (section 5.1)
/// allows, and the client keeps the one it has.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenPair {
    /// The access token.
    pub access_token: String,
    /// The refresh token; empty after a refresh that does not rotate.
    #[serde(default, skip_serializing_if = "String::is_empty")]
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
