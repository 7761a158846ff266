//! [`Purpose`]: what a token's header says about how it is protected.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::crypto::{LOCAL_HEADER, PUBLIC_HEADER};

/// A token purpose: `v4.local` (encrypted with a shared key) or `v4.public` (signed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    /// `v4.local`: authenticated encryption with the shared `local_key`. Claims are private.
    Local,
    /// `v4.public`: Ed25519 signatures. Anyone with the public key can verify; claims are readable.
    Public,
}

impl Purpose {
    /// The header tokens of this purpose start with, e.g. `v4.local.`.
    pub(crate) fn header(self) -> &'static str {
        match self {
            Purpose::Local => LOCAL_HEADER,
            Purpose::Public => PUBLIC_HEADER,
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Purpose::Local => "local",
            Purpose::Public => "public",
        })
    }
}
