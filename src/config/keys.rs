//! The keys section: `local_key`, `secret_key`, `public_keys`, their files, and the keyring
//! they make.

use std::fmt;

use rocket::figment::Profile;
use serde::{Deserialize, Serialize};

use super::{Config, ConfigError, Secret};
use crate::kind::{REMEMBER_ME, SingleUse};
use crate::token::{Authority, KeyError, KeyId, LocalKey, PublicKey, Purpose, Rules, SecretKey};

/// One entry of `public_keys`: a key, optionally bound to the issuer whose tokens it signs.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum PublicKeyEntry {
    /// A `k4.public.…` PASERK or an SPKI PEM block.
    Key(String),
    /// A key whose tokens must carry `iss` equal to its issuer.
    Bound(BoundKey),
}

/// A public key bound to an issuer: `{ key = "k4.public.…", issuer = "https://…" }`.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BoundKey {
    /// The key: a `k4.public.…` PASERK or an SPKI PEM block.
    pub key: String,
    /// The issuer its tokens must name; no other key may vouch for this issuer.
    pub issuer: String,
}

impl PublicKeyEntry {
    pub(super) fn key(&self) -> &str {
        match self {
            PublicKeyEntry::Key(key) | PublicKeyEntry::Bound(BoundKey { key, .. }) => key,
        }
    }

    pub(super) fn issuer(&self) -> Option<&str> {
        match self {
            PublicKeyEntry::Key(_) => None,
            PublicKeyEntry::Bound(BoundKey { issuer, .. }) => Some(issuer),
        }
    }
}

impl fmt::Debug for PublicKeyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKeyEntry")
            .field("issuer", &self.issuer())
            .finish_non_exhaustive()
    }
}

impl From<&str> for PublicKeyEntry {
    fn from(key: &str) -> Self {
        PublicKeyEntry::Key(key.to_owned())
    }
}

/// The keyring of a configuration: its keys, bound issuers and rules.
pub(super) struct Keyring {
    pub authority: Authority,
    /// Whether the local key is an ephemeral stand-in (debug profile only).
    pub ephemeral_local_key: bool,
}

/// Reads and checks every key, and builds the authority that mints and verifies with them.
pub(super) fn resolve(
    config: &Config,
    rules: Rules,
    profile: &Profile,
) -> Result<Keyring, ConfigError> {
    let secret = one_key(&config.secret_key, &config.secret_key_file, "secret_key")?
        .map(|(text, field)| SecretKey::parse(&text).map_err(key_error(field)))
        .transpose()?;
    let (public, key_issuers) = public_keys(config)?;
    let previous = key_list(
        &config.previous_local_keys,
        &config.previous_local_key_files,
        "previous_local_key",
    )?
    .into_iter()
    .map(|(text, field)| LocalKey::from_paserk(&text).map_err(key_error(field)))
    .collect::<Result<Vec<_>, _>>()?;
    let (local, ephemeral_local_key) = local_key(config, &rules, profile)?;
    if let Some(kind) = rules
        .kinds()
        .iter()
        .find(|k| k.purpose() == Purpose::Public)
        && secret.is_none()
        && public.is_empty()
        && config.discovery.is_none()
    {
        return Err(ConfigError::new(
            "paseto.secret_key",
            format_args!(
                "{} tokens use purpose \"public\", so `secret_key` (or, to only verify, \
                 `public_keys` or `discovery`) is required",
                kind.name()
            ),
        ));
    }
    let authority = Authority::new(local, secret, public, rules)
        .with_previous_local_keys(previous)
        .with_cache(config.cache_size)
        .with_sealed_cache(config.cookies.cache_size);
    let authority = bind_issuers(authority, key_issuers, implied_issuer(config));
    Ok(Keyring {
        authority: bind_own_issuers(authority, config),
        ephemeral_local_key,
    })
}

/// Binds the issuers this configuration speaks for itself. Discovery's issuer is bound from
/// launch: until its document is read, only configured keys bound to it vouch for it, not
/// every configured key. The signing key is this service's own, so with `issuer` set it signs
/// for that issuer, with discovery too (whose document then cannot bind it elsewhere).
fn bind_own_issuers(mut authority: Authority, config: &Config) -> Authority {
    if let Some(discovery) = &config.discovery {
        authority = authority.with_bound_issuer(&discovery.issuer);
    }
    let own = authority
        .secret_key()
        .map(|key| key.public_key().id().clone());
    match (own, config.issuer.as_deref()) {
        (Some(id), Some(issuer)) if config.discovery.is_some() => {
            authority.with_key_issuer(&id, issuer)
        }
        _ => authority,
    }
}

/// The issuer every configured public key vouches for, when the configuration says it alone:
/// with `issuer` set every token must name it, so binding each key to it changes nothing but
/// keeps one key bound to it (the next signing key, announced) from making the others' tokens
/// refused. With discovery, the issuer's document says which keys are its own instead, and a
/// configured key it does not list must stop vouching for it.
fn implied_issuer(config: &Config) -> Option<&str> {
    config
        .issuer
        .as_deref()
        .filter(|_| config.discovery.is_none())
}

/// Binds the public keys given an issuer, and every other one to `implied` when it is set.
fn bind_issuers(
    mut authority: Authority,
    key_issuers: BoundIssuers,
    implied: Option<&str>,
) -> Authority {
    let unbound: Vec<KeyId> = authority
        .public_keys()
        .iter()
        .map(|key| key.id().clone())
        .filter(|id| !key_issuers.iter().any(|(bound, _)| bound == id))
        .collect();
    for (id, bound) in key_issuers {
        authority = authority.with_key_issuer(&id, bound);
    }
    if let Some(issuer) = implied {
        for id in unbound {
            authority = authority.with_key_issuer(&id, issuer);
        }
    }
    authority
}

fn key_error(field: String) -> impl FnOnce(KeyError) -> ConfigError {
    move |e| ConfigError::new(field, e)
}

/// The local key, or in the debug profile an ephemeral one when none is set.
fn local_key(
    config: &Config,
    rules: &Rules,
    profile: &Profile,
) -> Result<(Option<LocalKey>, bool), ConfigError> {
    let local = one_key(&config.local_key, &config.local_key_file, "local_key")?
        .map(|(text, field)| LocalKey::from_paserk(&text).map_err(key_error(field)))
        .transpose()?;
    // Only the kinds users configure decide whether a local key is required: not remember-me,
    // nor the single-use purposes, which fail to mint without one.
    let users: Vec<&str> = rules
        .kinds()
        .iter()
        .filter(|k| k.purpose() == Purpose::Local && k.name() != REMEMBER_ME)
        .filter(|k| !SingleUse::is_reserved(k.name()))
        .map(|k| k.name())
        .collect();
    match local {
        Some(key) => Ok((Some(key), false)),
        None if users.is_empty() => Ok((None, false)),
        None if *profile == rocket::Config::DEBUG_PROFILE => {
            let key = LocalKey::generate().map_err(key_error("paseto.local_key".into()))?;
            Ok((Some(key), true))
        }
        None => Err(ConfigError::new(
            "paseto.local_key",
            format_args!(
                "is required outside the debug profile: {} tokens use purpose \"local\"",
                users.join(", ")
            ),
        )),
    }
}

/// Public keys bound to an issuer: (key id, issuer).
type BoundIssuers = Vec<(KeyId, String)>;

/// The verification-only public keys, and the issuers some of them are bound to.
fn public_keys(config: &Config) -> Result<(Vec<PublicKey>, BoundIssuers), ConfigError> {
    let inline: Vec<Secret> = config
        .public_keys
        .iter()
        .map(|e| Secret::from(e.key()))
        .collect();
    let public = key_list(&inline, &config.public_key_files, "public_key")?
        .into_iter()
        .map(|(text, field)| PublicKey::parse(&text).map_err(key_error(field)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut key_issuers = BoundIssuers::new();
    for (i, (entry, key)) in config.public_keys.iter().zip(&public).enumerate() {
        let Some(issuer) = entry.issuer() else {
            continue;
        };
        let field = format!("paseto.public_keys[{i}].issuer");
        let problem = if issuer.is_empty() {
            Some("must not be empty")
        } else if config
            .issuer
            .as_deref()
            .is_some_and(|global| global != issuer)
        {
            Some("differs from `paseto.issuer`, which every token must also carry")
        } else if key_issuers
            .iter()
            .any(|(id, other)| id == key.id() && other != issuer)
        {
            Some("this key is already bound to another issuer")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(ConfigError::new(field, problem));
        }
        key_issuers.push((key.id().clone(), issuer.to_owned()));
    }
    Ok((public, key_issuers))
}

/// A key given inline (`name`) or in a file (`name_file`), with the field to blame for it.
fn one_key(
    inline: &Option<Secret>,
    file: &Option<Secret>,
    name: &str,
) -> Result<Option<(String, String)>, ConfigError> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(ConfigError::new(
            format!("paseto.{name}_file"),
            format_args!("set either `{name}` or `{name}_file`, not both"),
        )),
        (Some(key), None) => Ok(Some((key.expose().to_owned(), format!("paseto.{name}")))),
        (None, Some(path)) => read_key(path.expose(), format!("paseto.{name}_file")).map(Some),
        (None, None) => Ok(None),
    }
}

/// Keys given inline (`names`) and in files (`name_files`), each with the field to blame.
fn key_list(
    inline: &[Secret],
    files: &[Secret],
    name: &str,
) -> Result<Vec<(String, String)>, ConfigError> {
    let inline = inline
        .iter()
        .enumerate()
        .map(|(i, key)| Ok((key.expose().to_owned(), format!("paseto.{name}s[{i}]"))));
    let files = files
        .iter()
        .enumerate()
        .map(|(i, path)| read_key(path.expose(), format!("paseto.{name}_files[{i}]")));
    inline.chain(files).collect()
}

/// Reads a key file. Errors name the field, never the path nor the contents: a secret pasted
/// into a `*_file` setting is no path, and no rule tells a path from every shape a pasted key
/// takes (quoted, after a byte order mark, as `name=value`, as a JWK, as raw base64).
fn read_key(path: &str, field: String) -> Result<(String, String), ConfigError> {
    match std::fs::read_to_string(path) {
        // Some editors start a file with a byte order mark.
        Ok(text) => Ok((text.trim_start_matches('\u{feff}').trim().to_owned(), field)),
        Err(_) if looks_like_key(path) => Err(ConfigError::new(
            field,
            "expects the path of a file holding a key, but this looks like a key itself",
        )),
        Err(e) => Err(ConfigError::new(
            field,
            format_args!("cannot read the file it names: {}", e.kind()),
        )),
    }
}

/// Whether a `*_file` setting looks like key material rather than a path; only to choose the
/// error message, since neither is ever shown.
fn looks_like_key(s: &str) -> bool {
    let s = s.trim_start();
    let b = s.as_bytes();
    b.starts_with(b"-----BEGIN")
        || (b.len() > 3 && b[0] == b'k' && b[1].is_ascii_digit() && b[2] == b'.')
        || s.contains(['"', '\'', '{', '=', '\u{feff}', '\n'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_keys_are_told_from_paths() {
        for key in [
            "k4.local.AAAA",
            "\"k4.local.AAAA\"",
            "{\"kty\":\"OKP\"}",
            "a=b",
        ] {
            assert!(looks_like_key(key), "{key}");
        }
        assert!(!looks_like_key("/run/secrets/paseto_local_key"));
    }

    #[test]
    fn a_key_and_its_file_together_are_refused() {
        let error = one_key(&Some("k".into()), &Some("f".into()), "local_key").unwrap_err();
        assert_eq!(error.field(), "paseto.local_key_file");
    }
}
