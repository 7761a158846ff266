//! What a valid configuration resolves to, section by section.

use std::time::Duration;

use rocket::figment::{Figment, Profile};

use super::ThrottleSetup;
use super::error::describe;
use super::{Config, ConfigError, HttpSettings, KindSettings, RevocationSetup, SameSite, Secure};
use super::{DiscoverySetup, PublishSetup};
use super::{cookies, discovery, keys, kinds, throttle};
use crate::kind::KindSpec;
use crate::token::{Authority, KindRules, MAX_LEEWAY, Rules};

/// Everything a valid configuration resolves to; the fairing turns it into the runtime state.
pub(crate) struct Settings {
    pub authority: Authority,
    /// Each kind at run time; its token rules are in `authority`, under the same name.
    pub kinds: Vec<KindSettings>,
    pub http: HttpSettings,
    pub revocation: RevocationSetup,
    pub throttle: ThrottleSetup,
    pub session_ttl: Duration,
    /// `paseto.reload_claims`.
    pub reload_claims: bool,
    /// Whether the local key is an ephemeral stand-in (debug profile only).
    pub ephemeral_local_key: bool,
    /// The key document to publish, if `publish_keys` is set.
    pub publish: Option<PublishSetup>,
    /// Where to fetch trusted keys, if `[paseto.discovery]` is set.
    #[cfg_attr(not(feature = "discovery"), allow(dead_code))]
    pub discovery: Option<DiscoverySetup>,
    /// Settings that are allowed but probably mistaken, for the fairing to log.
    pub warnings: Vec<String>,
}

impl Config {
    /// Extracts the `paseto` table of `figment` (an absent table is all defaults).
    ///
    /// Errors name the field and never repeat the value that was found, since a misplaced
    /// secret would otherwise be printed.
    pub fn from_figment(figment: &Figment) -> Result<Config, ConfigError> {
        if figment.find_value("paseto").is_err() {
            return Ok(Config::default());
        }
        figment.extract_inner::<Config>("paseto").map_err(|e| {
            // Figment records the path inside the table first and the `paseto` prefix last.
            let mut path: Vec<&str> = e.path.iter().map(String::as_str).collect();
            if path.last() == Some(&"paseto") {
                path.pop();
            }
            let name = path.last().copied().unwrap_or("paseto");
            let field = std::iter::once("paseto")
                .chain(path.iter().copied())
                .collect::<Vec<_>>()
                .join(".");
            ConfigError::new(field, describe(name, &e.kind))
        })
    }

    /// Validates every section and key, and resolves them for the kinds in `specs`;
    /// `store_attached`: whether a revocation store is attached in code.
    pub(crate) fn resolve(
        &self,
        specs: &[KindSpec],
        profile: &Profile,
        store_attached: bool,
    ) -> Result<Settings, ConfigError> {
        self.revocation.check_feature()?;
        // `"auto"` leaves `Secure` out without TLS, so only these promise it on every cookie.
        let always_secure =
            self.cookies.secure == Secure::Always || self.cookies.same_site == SameSite::None;
        let (rules, mut kinds) = kinds::resolve(self, specs, always_secure)?;
        let (http, warnings) = cookies::resolve(self, &kinds, always_secure)?;
        let rules = self.rules(rules)?;
        let keyring = keys::resolve(self, rules, profile)?;
        let authority = &keyring.authority;
        let can_mint = authority.local_key().is_some() || authority.secret_key().is_some();
        let revocation = self
            .revocation
            .resolve(&mut kinds, store_attached, can_mint)?;
        let publish = discovery::resolve_publish(self, &keyring.authority)?;
        let discovery = discovery::resolve_discovery(self)?;
        let throttle = throttle::resolve(self)?;
        Ok(Settings {
            throttle,
            publish,
            discovery,
            authority: keyring.authority,
            kinds,
            http,
            revocation,
            session_ttl: Duration::from_secs(self.session_ttl),
            reload_claims: self.reload_claims,
            ephemeral_local_key: keyring.ephemeral_local_key,
            warnings,
        })
    }

    /// The verification rules: kinds, leeway, size limit, issuer and audience.
    fn rules(&self, kinds: Vec<KindRules>) -> Result<Rules, ConfigError> {
        if self.leeway > MAX_LEEWAY.as_secs() {
            return Err(ConfigError::new(
                "paseto.leeway",
                format_args!("must be at most {} seconds", MAX_LEEWAY.as_secs()),
            ));
        }
        if !(256..=65536).contains(&self.max_token_length) {
            return Err(ConfigError::new(
                "paseto.max_token_length",
                "must be between 256 and 65536",
            ));
        }
        for (field, size) in [
            ("paseto.cache_size", self.cache_size),
            ("paseto.cookies.cache_size", self.cookies.cache_size),
        ] {
            if size > 1_000_000 {
                return Err(ConfigError::new(field, "must be at most 1000000"));
            }
        }
        let mut rules = Rules::new(kinds)
            .leeway(Duration::from_secs(self.leeway))
            .max_token_length(self.max_token_length);
        for (field, value) in [
            ("paseto.issuer", &self.issuer),
            ("paseto.audience", &self.audience),
        ] {
            if value.as_ref().is_some_and(|v| v.is_empty()) {
                return Err(ConfigError::new(
                    field,
                    "must not be empty; leave it out instead",
                ));
            }
        }
        if let Some(issuer) = &self.issuer {
            rules = rules.issuer(issuer.clone());
        }
        if let Some(audience) = &self.audience {
            rules = rules.audience(audience.clone());
        }
        Ok(rules)
    }
}
