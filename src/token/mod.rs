//! The token core: keys, claims, minting and strict verification, free of Rocket types.
//!
//! [`Authority`] holds the keyring and the rules; [`Authority::mint`] and
//! [`Authority::verify`] are the one way in and out, each taking options. The Rocket glue in this
//! crate only finds a token in a request and hands it here. It is public so tokens can be minted
//! and checked outside a request too (tests, background jobs, other transports), and benchmarked
//! on its own.
//!
//! ```
//! use rocket_paseto::Purpose;
//! use rocket_paseto::token::{Authority, KindRules, LocalKey, MintOptions, Rules, VerifyOptions};
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
//! Why each item is public: [`Authority`], [`Rules`], [`KindRules`], [`MintOptions`],
//! [`VerifyOptions`], [`Verified`], [`Rejection`] and [`IssueError`] mint and verify tokens
//! outside a request; the key types ([`LocalKey`], [`SecretKey`], [`PublicKey`], [`KeyId`],
//! [`KeyError`]) load, generate and name keys, for key tools and for `Authority`; the key
//! document types ([`KeyDocument`], [`PublishedKey`], [`KeyStatus`], [`DocumentError`],
//! [`MAX_DOCUMENT_KEYS`]) let a verifier or a tool read what an issuer publishes; and the
//! limits ([`REGISTERED_CLAIMS`], [`DEFAULT_MAX_TOKEN_LENGTH`], [`MAX_TTL`], [`MAX_LEEWAY`])
//! are the bounds the configuration is checked against.
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
pub use document::{DocumentError, KeyDocument, KeyStatus, MAX_DOCUMENT_KEYS, PublishedKey};
pub use error::{IssueError, Rejection};
#[cfg(feature = "discovery")]
pub(crate) use keyring::KeyChange;
pub use keys::{KeyError, KeyId, LocalKey, PublicKey, SecretKey};
pub use limits::{DEFAULT_MAX_TOKEN_LENGTH, MAX_LEEWAY, MAX_TTL};
pub use mint::MintOptions;
pub(crate) use mint::random_id;
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
