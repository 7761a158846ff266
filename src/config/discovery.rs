//! Key discovery: `publish_keys` on the issuing side, `[paseto.discovery]` on the verifying side.

use std::net::IpAddr;
use std::time::Duration;

use rocket::http::uri::Absolute;
use serde::{Deserialize, Serialize};

use super::{Config, ConfigError};
use crate::token::{Authority, KeyDocument};

/// Where a verifier fetches an issuer's public keys: `[default.paseto.discovery]`, instead of
/// (or besides) listing them in `public_keys`. Needs the cargo feature `discovery`.
///
/// ```toml
/// [default.paseto.discovery]
/// url = "https://auth.example.com/.well-known/paseto-keys"
/// issuer = "https://auth.example.com"
/// ```
///
/// The keys are fetched at launch (launch fails when they cannot be, unless `public_keys` or
/// `public_key_files` are configured too), every `refresh_secs`, and when a token names a key id not known yet (at most
/// once every `min_refetch_secs`). `docs/keys.md` walks through a key rotation with it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DiscoveryConfig {
    /// The issuer's key document: its `publish_keys` path as a full URL. `https://`, or
    /// `http://` to a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`) only.
    ///
    /// _Default:_ none (required).
    pub url: String,
    /// The issuer the fetched keys are bound to: the document must name it, and tokens those
    /// keys verify must carry it as `iss`. Bound from launch: before the first good fetch, only
    /// `public_keys` entries bound to it vouch for it. Must equal `paseto.issuer` when that is
    /// set.
    ///
    /// _Default:_ none (required).
    pub issuer: String,
    /// Seconds between two fetches of the document in the background (10 to 86400).
    ///
    /// _Default:_ `300`.
    #[serde(default = "defaults::refresh_secs")]
    pub refresh_secs: u64,
    /// A token naming an unknown key id starts a fetch at most once in this many seconds, so
    /// made-up key ids cannot make this service hammer the issuer (1 to `refresh_secs`).
    ///
    /// _Default:_ `30`.
    #[serde(default = "defaults::min_refetch_secs")]
    pub min_refetch_secs: u64,
    /// The longest a fetch may take, connecting and reading included, in milliseconds (100 to
    /// 60000).
    ///
    /// _Default:_ `5000`.
    #[serde(default = "defaults::timeout_ms")]
    pub timeout_ms: u64,
    /// A PEM file of the root certificates that sign the issuer's server certificate, trusted
    /// for this URL instead of the public web's roots: for an issuer behind an internal
    /// certificate authority. `CERTIFICATE` blocks only; a file holding a private key is refused.
    ///
    /// _Default:_ none (Mozilla's roots, as `webpki-roots` carries them).
    #[serde(default)]
    pub ca_file: Option<String>,
}

mod defaults {
    pub fn refresh_secs() -> u64 {
        300
    }
    pub fn min_refetch_secs() -> u64 {
        30
    }
    pub fn timeout_ms() -> u64 {
        5000
    }
}

/// The published key document, resolved: where it is served and its body, built once.
#[derive(Debug, Clone)]
pub(crate) struct PublishSetup {
    pub path: String,
    pub max_age: u64,
    pub body: String,
}

/// The discovery settings, resolved (read only with the `discovery` feature).
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "discovery"), allow(dead_code))]
pub(crate) struct DiscoverySetup {
    pub url: String,
    /// Whether the URL's host is a loopback one, reached directly rather than through a proxy.
    pub loopback: bool,
    pub issuer: String,
    pub refresh: Duration,
    pub min_refetch: Duration,
    pub timeout: Duration,
    /// The contents of `ca_file`, checked when the client is built.
    pub ca_pem: Option<Vec<u8>>,
    /// Whether `public_keys` are configured, so launch can go on without the document.
    pub has_configured_keys: bool,
}

/// The longest `publish_keys_max_age`: a day.
const MAX_AGE_LIMIT: u64 = 86400;

/// Checks `publish_keys` and builds the document it serves from the keyring.
pub(super) fn resolve_publish(
    config: &Config,
    authority: &Authority,
) -> Result<Option<PublishSetup>, ConfigError> {
    let Some(path) = &config.publish_keys else {
        return Ok(None);
    };
    let field = "paseto.publish_keys";
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"-._~/".contains(&b);
    let dots = |segment: &str| segment == "." || segment == "..";
    if !path.starts_with('/')
        || !path.bytes().all(plain)
        || path.contains("//")
        || path.split('/').any(dots)
    {
        return Err(ConfigError::new(
            field,
            "must be a path such as \"/.well-known/paseto-keys\": `/` first, then letters, \
             digits and `-._~/`",
        ));
    }
    let (Some(secret), Some(issuer)) = (authority.secret_key(), &config.issuer) else {
        return Err(ConfigError::new(
            field,
            "needs `secret_key` and `issuer`: the document lists the signing key's public half \
             and the issuer verifiers bind it to",
        ));
    };
    if config.publish_keys_max_age > MAX_AGE_LIMIT {
        return Err(ConfigError::new(
            "paseto.publish_keys_max_age",
            format_args!("must be at most {MAX_AGE_LIMIT} seconds"),
        ));
    }
    let document = KeyDocument::new(issuer, secret.public_key(), authority.public_keys());
    let body = serde_json::to_string(&document)
        .map_err(|_| ConfigError::new(field, "the key document cannot be written"))?;
    Ok(Some(PublishSetup {
        path: path.clone(),
        max_age: config.publish_keys_max_age,
        body,
    }))
}

/// Checks `[paseto.discovery]`: its URL, issuer and times.
pub(super) fn resolve_discovery(config: &Config) -> Result<Option<DiscoverySetup>, ConfigError> {
    let Some(discovery) = &config.discovery else {
        return Ok(None);
    };
    if !cfg!(feature = "discovery") {
        return Err(ConfigError::new(
            "paseto.discovery",
            "needs the cargo feature `discovery` of rocket_paseto",
        ));
    }
    let loopback = check_url(&discovery.url)?;
    let issuer = &discovery.issuer;
    if issuer.is_empty() {
        return Err(ConfigError::new(
            "paseto.discovery.issuer",
            "must not be empty",
        ));
    }
    if config
        .issuer
        .as_ref()
        .is_some_and(|global| global != issuer)
    {
        return Err(ConfigError::new(
            "paseto.discovery.issuer",
            "differs from `paseto.issuer`, which every token must also carry",
        ));
    }
    let bounded = |field: &str, value: u64, range: std::ops::RangeInclusive<u64>| {
        if range.contains(&value) {
            Ok(value)
        } else {
            let (low, high) = range.into_inner();
            Err(ConfigError::new(
                format!("paseto.discovery.{field}"),
                format_args!("must be between {low} and {high}"),
            ))
        }
    };
    let refresh = bounded("refresh_secs", discovery.refresh_secs, 10..=86400)?;
    let min_refetch = bounded("min_refetch_secs", discovery.min_refetch_secs, 1..=refresh)?;
    let timeout = bounded("timeout_ms", discovery.timeout_ms, 100..=60000)?;
    let ca_pem = discovery.ca_file.as_deref().map(read_ca_file).transpose()?;
    Ok(Some(DiscoverySetup {
        url: discovery.url.clone(),
        loopback,
        issuer: issuer.clone(),
        refresh: Duration::from_secs(refresh),
        min_refetch: Duration::from_secs(min_refetch),
        timeout: Duration::from_millis(timeout),
        ca_pem,
        has_configured_keys: !config.public_keys.is_empty() || !config.public_key_files.is_empty(),
    }))
}

/// The bytes of `ca_file`; what they hold is checked where the HTTP client is built.
fn read_ca_file(path: &str) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| {
        ConfigError::new(
            "paseto.discovery.ca_file",
            format_args!("cannot read the file it names: {}", e.kind()),
        )
    })
}

/// `https://`, or `http://` to a loopback host: keys fetched in the clear from elsewhere could
/// be anyone's. Returns whether the host is a loopback one.
fn check_url(url: &str) -> Result<bool, ConfigError> {
    let field = "paseto.discovery.url";
    let parsed = Absolute::parse(url).map_err(|_| {
        ConfigError::new(
            field,
            "must be an absolute URL such as \"https://host/path\"",
        )
    })?;
    let Some(host) = parsed.authority().map(|a| a.host()) else {
        return Err(ConfigError::new(field, "must name a host"));
    };
    if parsed.authority().is_some_and(|a| a.user_info().is_some()) {
        return Err(ConfigError::new(field, "must not carry credentials"));
    }
    let loopback = is_loopback(host);
    match parsed.scheme() {
        "https" => Ok(loopback),
        "http" if loopback => Ok(true),
        "http" => Err(ConfigError::new(
            field,
            "must use https:// (plain http:// only to a loopback host): keys fetched in the \
             clear could be anyone's",
        )),
        _ => Err(ConfigError::new(field, "must be an https:// URL")),
    }
}

/// `localhost`, `127.0.0.0/8` or `::1`.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_need_https_unless_loopback() {
        for good in [
            "https://auth.example.com/.well-known/paseto-keys",
            "http://127.0.0.1:8000/keys",
            "http://localhost/keys",
            "http://[::1]:9000/keys",
        ] {
            assert!(check_url(good).is_ok(), "{good}");
        }
        for bad in [
            "http://auth.example.com/keys",
            "http://127.0.0.1.example.com/keys",
            "ftp://127.0.0.1/keys",
            "https://user:pw@auth.example.com/keys",
            "/keys",
            "not a url",
        ] {
            assert_eq!(check_url(bad).unwrap_err().field(), "paseto.discovery.url");
        }
    }
}
