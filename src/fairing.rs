//! The fairing that loads and validates the configuration at ignite.

use rocket::fairing::{self, Fairing, Info};
use rocket::figment::Figment;
use rocket::{Build, Rocket};

use crate::config::{Config, ConfigError};
use crate::issuer::Issuer;
use crate::kind::{Access, KindSpec, Refresh, TokenKind};

/// Loads `[<profile>.paseto]` at ignite, validates it and every key, and manages an [`Issuer`].
///
/// Launch is refused, with a message naming the field, when anything is wrong. Attach it once:
///
/// ```
/// # use rocket_paseto::PasetoFairing;
/// let rocket = rocket::build().attach(PasetoFairing::default());
/// ```
#[derive(Debug, Clone)]
pub struct PasetoFairing {
    kinds: Vec<KindSpec>,
    /// A registration mistake, reported at ignite rather than by a panic.
    invalid: Option<ConfigError>,
}

impl Default for PasetoFairing {
    fn default() -> Self {
        PasetoFairing {
            kinds: vec![
                KindSpec::of::<Access>(false),
                KindSpec::of::<Refresh>(false),
            ],
            invalid: None,
        }
    }
}

impl PasetoFairing {
    /// The fairing with the built-in [`Access`] and [`Refresh`] kinds. Same as `default()`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers your own [`TokenKind`], configured under `[paseto.kinds.<NAME>]`.
    ///
    /// A name that is not lowercase letters, digits and `_`, or that is already taken, makes
    /// ignite fail with a message naming it.
    pub fn kind<K: TokenKind>(mut self) -> Self {
        let valid = !K::NAME.is_empty()
            && K::NAME
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        let field = format!("paseto.kinds.{}", K::NAME);
        if !valid {
            self.invalid.get_or_insert(ConfigError::new(
                field,
                "a token kind name must be lowercase letters, digits and `_`",
            ));
        } else if self.kinds.iter().any(|k| k.name == K::NAME) || K::NAME == crate::remember::KIND {
            self.invalid.get_or_insert(ConfigError::new(
                field,
                "this token kind name is already registered",
            ));
        } else {
            self.kinds.push(KindSpec::of::<K>(true));
        }
        self
    }

    /// Loads the configuration from `figment` outside of Rocket, e.g. for a command-line tool
    /// that mints tokens with the application's settings.
    pub fn load(&self, figment: &Figment) -> Result<Issuer, ConfigError> {
        if let Some(e) = &self.invalid {
            return Err(e.clone());
        }
        let config = Config::from_figment(figment)?;
        let loaded = config.load(&self.kinds, &figment.profile().clone())?;
        for warning in &loaded.warnings {
            rocket::warn!("{warning}");
        }
        if loaded.ephemeral_local_key {
            rocket::warn!(
                "paseto.local_key is not set: using an ephemeral key for this run only. Tokens \
                 will not survive a restart. Set it (see `cargo run --example keygen`) before \
                 leaving the debug profile."
            );
        }
        Ok(Issuer::new(loaded.authority, loaded.web))
    }
}

#[rocket::async_trait]
impl Fairing for PasetoFairing {
    fn info(&self) -> Info {
        Info {
            name: "PASETO",
            kind: fairing::Kind::Ignite,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        match self.load(rocket.figment()) {
            Ok(issuer) => Ok(rocket.manage(issuer)),
            Err(e) => {
                rocket::error!("Invalid PASETO configuration: {e}");
                Err(rocket)
            }
        }
    }
}
