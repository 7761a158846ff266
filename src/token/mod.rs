//! The token core: keys, claims, minting and strict verification, free of Rocket types.
//!
//! [`Authority`] holds the keyring and the rules; [`Authority::mint`] and
//! [`Authority::verify`] are the one way in and out, each taking options. The Rocket glue in this
//! crate only finds a token in a request and hands it here. It is public so tokens can be minted
//! and checked outside a request too (tests, background jobs, other transports), and benchmarked
//! on its own.
//!
//! ```
//! use rocket_paseto::token::{Authority, KindRules, LocalKey, MintOptions, Purpose, Rules, VerifyOptions};
//! use std::time::Duration;
//!
//! let rules = Rules::new(vec![KindRules::new("access", Purpose::Local, Duration::from_secs(900))]);
//! let authority = Authority::new(Some(LocalKey::generate()?), None, vec![], rules);
//!
//! let token = authority.mint("access", "alice", None::<&()>, MintOptions::new())?;
//! let now = time::OffsetDateTime::now_utc();
//! let verified = authority.verify("access", &token, now, VerifyOptions::new())?;
//! assert_eq!(verified.claims().sub, "alice");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The module is cut along its jobs: `keys` (typed keys, PASERK and PEM), `keyring` (the keys in
//! use and the lookup by `kid`), `document` (the public keys an issuer publishes), `rules`
//! (kinds and claim rules), `claims` (strict parsing), `mint`, `verify` (with `cache`, and
//! `public` for the signatures of `v4.public` tokens), `seal` (the private-cookie format) and
//! `error`.

mod authority;
mod cache;
mod claims;
mod document;
mod error;
mod keyring;
mod keys;
mod local;
mod mint;
mod public;
mod rules;
mod seal;
mod timestamp;
mod verify;

use ct_codecs::{Base64UrlSafeNoPadding, Encoder};

pub use authority::Authority;
pub use cache::CacheStats;
pub use claims::{Claims, REGISTERED_CLAIMS};
pub use document::{DocumentError, KeyDocument, KeyStatus, MAX_DOCUMENT_KEYS, PublishedKey};
pub use error::{IssueError, Rejection};
pub use keyring::KeyChange;
pub use keys::{KeyError, KeyId, LocalKey, PublicKey, SecretKey};
pub use mint::MintOptions;
pub use rules::{DEFAULT_MAX_TOKEN_LENGTH, KindRules, MAX_LEEWAY, MAX_TTL, Purpose, Rules};
pub use verify::{Verified, VerifyOptions};

/// 128 random bits from the operating system's CSPRNG, as 22 characters of unpadded base64url:
/// what issued tokens use as `jti`, and a good `csrf` claim value.
pub fn random_id() -> Result<String, IssueError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| IssueError::Build)?;
    let mut out = [0u8; 22];
    Base64UrlSafeNoPadding::encode_to_str(&mut out, bytes)
        .map(str::to_owned)
        .map_err(|_| IssueError::Build)
}

/// Rules and authorities shared by the unit tests of the token modules.
#[cfg(test)]
mod test_support {
    use std::time::Duration;

    use time::OffsetDateTime;

    use super::{Authority, KindRules, LocalKey, Purpose, Rules, SecretKey};

    /// Two local kinds and a public one.
    pub(super) fn rules() -> Rules {
        Rules::new(vec![
            KindRules::new("access", Purpose::Local, Duration::from_secs(900)),
            KindRules::new("refresh", Purpose::Local, Duration::from_secs(3600)),
            KindRules::new("signed", Purpose::Public, Duration::from_secs(900)),
        ])
    }

    /// An authority with fresh local and signing keys and [`rules`].
    pub(super) fn authority() -> Authority {
        Authority::new(
            Some(LocalKey::generate().unwrap()),
            Some(SecretKey::generate().unwrap()),
            vec![],
            rules(),
        )
    }

    /// An authority with only this local key and these rules.
    pub(super) fn authority_with(local: Option<LocalKey>, rules: Rules) -> Authority {
        Authority::new(local, None, vec![], rules)
    }

    pub(super) fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}
