//! The token core: keys, claims, minting and strict verification, free of Rocket types.
//!
//! [`Authority`] holds the keyring and the rules; [`Authority::mint`] and
//! [`Authority::verify`] are the one way in and out, each taking options. The Rocket glue in this
//! crate only finds a token in a request and hands it here.
//!
//! Only what a route or an application handles leaves the crate, re-exported at its root:
//! [`Verified`], [`Rejection`], [`IssueError`], `Claims` and `Purpose`. The rest is internal;
//! the crate's own tests, fuzz targets and benchmarks reach it through the hidden `__private`
//! module.
//!
//! The module is cut along its jobs: `keys` (typed keys, PASERK and PEM), `keyring` (the keys in
//! use and the lookup by `kid`), `document` (the public keys an issuer publishes), `purpose`,
//! `limits` and `rules` (kinds and claim rules), `claims` (strict parsing), `mint`, `verify`
//! (the shape checks and the key lookup, with `cache`), `opened` (what verifying and unsealing
//! give), `seal` (the private-cookie format) and `error`. `crypto` holds this crate's own
//! `v4.local` decryption and `v4.public` verification, with the contract that they accept
//! exactly what pasetors accepts; it depends on nothing else here, so it can be reviewed alone.

mod authority;
mod cache;
pub(crate) mod claims;
mod crypto;
mod document;
mod error;
mod keyring;
mod keys;
mod limits;
mod mint;
mod opened;
pub(crate) mod purpose;
mod rules;
mod seal;
mod timestamp;
mod verify;

pub use authority::Authority;
pub(crate) use claims::Claims;
pub use claims::REGISTERED_CLAIMS;
pub(crate) use claims::unregistered as unregistered_claims;
pub(crate) use crypto::encode_base64;
#[cfg(feature = "discovery")]
pub(crate) use document::DocumentError;
pub(crate) use document::KeyDocument;
pub use error::{IssueError, Rejection};
#[cfg(feature = "discovery")]
pub(crate) use keyring::KeyChange;
pub(crate) use keys::KeyId;
pub use keys::{KeyError, LocalKey, PublicKey, SecretKey};
pub use limits::DEFAULT_MAX_TOKEN_LENGTH;
pub(crate) use limits::{MAX_LEEWAY, MAX_TTL};
pub use mint::MintOptions;
pub(crate) use mint::{needs_escaping, random_id};
pub use opened::Verified;
pub(crate) use purpose::Purpose;
pub use rules::{KindRules, Rules};
pub use verify::VerifyOptions;

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
