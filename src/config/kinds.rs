//! The kinds section: `[paseto.access]`, `[paseto.refresh]`, `[paseto.kinds.<name>]` and
//! `[paseto.remember_me]`, resolved into each kind's rules and cookie.

use std::time::Duration;

use super::cookies::{check_prefix, lifetime};
use super::{Config, ConfigError, KindConfig, is_http_token};
use crate::kind::{KindSpec, REMEMBER_ME, REMEMBER_ME_COOKIE, REMEMBER_ME_TTL, SingleUse};
use crate::token::{KindRules, Purpose};

/// A token kind at run time, built here once: what its guard, the cookie jar and the issuer
/// read. Its token rules (lifetime, purpose, freshness) go to the token core's `Rules`, which
/// finds them by the same name.
#[derive(Debug, Clone)]
pub(crate) struct KindSettings {
    pub name: String,
    /// The cookie its guard reads when a request has no token header.
    pub cookie: Option<String>,
    /// The `Path` of that cookie when the jar sets it.
    pub cookie_path: String,
    /// The query parameter a `QueryToken` guard reads when there is neither.
    pub query: Option<String>,
    /// Whether its guard checks the revocation store: listed in `revocation.kinds`, with a
    /// store to check (set by the revocation section).
    pub checked: bool,
}

/// Every registered kind, in registration order, then the remember-me kind and the single-use
/// purposes: the token rules of
/// each, for the token core, and its run-time settings.
pub(super) fn resolve(
    config: &Config,
    specs: &[KindSpec],
    always_secure: bool,
) -> Result<(Vec<KindRules>, Vec<KindSettings>), ConfigError> {
    for name in config.kinds.keys() {
        if !specs.iter().any(|s| s.name == name.as_str() && s.custom) {
            return Err(ConfigError::new(
                format!("paseto.kinds.{name}"),
                "no token kind of this name is registered with `PasetoFairing::kind`",
            ));
        }
    }
    let mut kinds = specs
        .iter()
        .map(|spec| resolve_kind(config, spec, always_secure))
        .collect::<Result<Vec<_>, _>>()?;
    kinds.push(remember_me(config, always_secure)?);
    kinds.extend(single_use(config)?);
    let (rules, settings): (Vec<_>, Vec<_>) = kinds.into_iter().unzip();
    unique_query_parameters(config, specs, &settings)?;
    check_session_ttl(config, &rules)?;
    Ok((rules, settings))
}

fn resolve_kind(
    config: &Config,
    spec: &KindSpec,
    always_secure: bool,
) -> Result<(KindRules, KindSettings), ConfigError> {
    let (table, path) = table_of(config, spec);
    let table = table.cloned().unwrap_or_default();
    let ttl = lifetime(
        table.ttl.unwrap_or(spec.ttl.as_secs()),
        &format!("{path}.ttl"),
    )?;
    let cookie = table
        .cookie
        .clone()
        .or(spec.cookie.map(str::to_owned))
        .filter(|c| !c.is_empty());
    let cookie_path = cookie_path(&table, &path)?;
    let query = query_parameter(&table, &path, spec.name)?;
    if let Some(name) = &cookie {
        let name_field = format!("{path}.cookie");
        if !is_http_token(name) {
            return Err(ConfigError::new(name_field, "is not a valid cookie name"));
        }
        let path_field = format!("{path}.path");
        check_prefix(
            &name_field,
            name,
            Some((&path_field, &cookie_path)),
            always_secure,
        )?;
    }
    let purpose = table.purpose.unwrap_or(spec.purpose);
    let mut rules = KindRules::new(spec.name, purpose, ttl);
    if let Some(fresh_for) = table.fresh_for {
        if fresh_for == 0 || fresh_for > ttl.as_secs() {
            return Err(ConfigError::new(
                format!("{path}.fresh_for"),
                "must be between 1 second and the kind's ttl",
            ));
        }
        rules = rules.fresh_for(Duration::from_secs(fresh_for));
    }
    let settings = KindSettings {
        name: spec.name.to_owned(),
        cookie,
        cookie_path,
        query,
        checked: false,
    };
    Ok((rules, settings))
}

/// The kind's query parameter: off unless named, and a name that needs no percent-encoding,
/// so the one a client writes is the one read.
fn query_parameter(
    table: &KindConfig,
    path: &str,
    kind: &str,
) -> Result<Option<String>, ConfigError> {
    let name = table.query.clone().filter(|q| !q.is_empty());
    if kind == "refresh" && name.is_some() {
        return Err(ConfigError::new(
            format!("{path}.query"),
            "refresh tokens live long and must never travel in URLs (logs, `Referer`, \
             history): set a query parameter on short-lived kinds only",
        ));
    }
    let valid = |name: &str| {
        name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
    };
    match name {
        Some(name) if !valid(&name) => Err(ConfigError::new(
            format!("{path}.query"),
            "is not a valid query parameter name (letters, digits and `-._~`, at most 64)",
        )),
        name => Ok(name),
    }
}

/// Two kinds reading one query parameter would each be handed the other's tokens.
fn unique_query_parameters(
    config: &Config,
    specs: &[KindSpec],
    kinds: &[KindSettings],
) -> Result<(), ConfigError> {
    let path = |kind: &KindSettings| {
        let spec = specs.iter().find(|s| s.name == kind.name);
        spec.map(|spec| table_of(config, spec).1)
            .unwrap_or_default()
    };
    for (i, kind) in kinds.iter().enumerate() {
        let Some(name) = &kind.query else { continue };
        if let Some(other) = kinds[..i].iter().find(|k| k.query.as_ref() == Some(name)) {
            return Err(ConfigError::new(
                format!("{}.query", path(kind)),
                format_args!("is also the query parameter of `{}`", path(other)),
            ));
        }
    }
    Ok(())
}

/// The kind's settings table, if given, and its path for error messages.
fn table_of<'a>(config: &'a Config, spec: &KindSpec) -> (Option<&'a KindConfig>, String) {
    match spec.name {
        "access" if !spec.custom => (Some(&config.access), "paseto.access".to_owned()),
        "refresh" if !spec.custom => (Some(&config.refresh), "paseto.refresh".to_owned()),
        name => (config.kinds.get(name), format!("paseto.kinds.{name}")),
    }
}

fn cookie_path(table: &KindConfig, path: &str) -> Result<String, ConfigError> {
    let cookie_path = table.path.clone().unwrap_or_else(|| "/".into());
    if !cookie_path.starts_with('/') || cookie_path.contains([';', ' ', ',']) {
        return Err(ConfigError::new(
            format!("{path}.path"),
            "must be an absolute path without `;`, `,` or spaces",
        ));
    }
    Ok(cookie_path)
}

/// The remember-me kind: local purpose, read only from its own cookie by `RememberMe`.
fn remember_me(
    config: &Config,
    always_secure: bool,
) -> Result<(KindRules, KindSettings), ConfigError> {
    let remember = &config.remember_me;
    let ttl = lifetime(
        remember.ttl.unwrap_or(REMEMBER_ME_TTL.as_secs()),
        "paseto.remember_me.ttl",
    )?;
    let cookie = remember
        .cookie
        .clone()
        .unwrap_or_else(|| REMEMBER_ME_COOKIE.into());
    if !is_http_token(&cookie) {
        return Err(ConfigError::new(
            "paseto.remember_me.cookie",
            "is not a valid cookie name",
        ));
    }
    check_prefix("paseto.remember_me.cookie", &cookie, None, always_secure)?;
    if remember.renew_after.is_some_and(|f| !(f > 0.0 && f < 1.0)) {
        return Err(ConfigError::new(
            "paseto.remember_me.renew_after",
            "must be a fraction between 0 and 1",
        ));
    }
    let settings = KindSettings {
        name: REMEMBER_ME.to_owned(),
        // Guards of other kinds never read it: `RememberMe` does, by the name in `HttpSettings`.
        cookie: None,
        cookie_path: "/".into(),
        query: None,
        checked: false,
    };
    Ok((KindRules::new(REMEMBER_ME, Purpose::Local, ttl), settings))
}

/// The single-use purposes: local, their lifetime `single_use_ttl`, read by no guard.
fn single_use(config: &Config) -> Result<Vec<(KindRules, KindSettings)>, ConfigError> {
    let ttl = lifetime(config.single_use_ttl, "paseto.single_use_ttl")?;
    let kind = |purpose: SingleUse| {
        let settings = KindSettings {
            name: purpose.name().to_owned(),
            cookie: None,
            cookie_path: "/".into(),
            query: None,
            checked: false,
        };
        (
            KindRules::new(purpose.name(), Purpose::Local, ttl),
            settings,
        )
    };
    Ok(SingleUse::ALL.into_iter().map(kind).collect())
}

/// A login must last at least as long as the tokens it starts with.
fn check_session_ttl(config: &Config, kinds: &[KindRules]) -> Result<(), ConfigError> {
    lifetime(config.session_ttl, "paseto.session_ttl")?;
    let longest = kinds
        .iter()
        .filter(|k| matches!(k.name(), "access" | "refresh" | REMEMBER_ME))
        .max_by_key(|k| k.ttl());
    match longest {
        Some(kind) if config.session_ttl < kind.ttl().as_secs() => Err(ConfigError::new(
            "paseto.session_ttl",
            format_args!(
                "must be at least the {} token lifetime ({} seconds): a session outlives its tokens",
                kind.name(),
                kind.ttl().as_secs()
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::{Access, Refresh};

    fn specs() -> Vec<KindSpec> {
        vec![
            KindSpec::of::<Access>(false),
            KindSpec::of::<Refresh>(false),
        ]
    }

    #[test]
    fn defaults_resolve_to_three_kinds() {
        let (rules, kinds) = resolve(&Config::default(), &specs(), false).unwrap();
        let names: Vec<&str> = rules.iter().map(|k| k.name()).collect();
        assert_eq!(names[..3], ["access", "refresh", "remember_me"]);
        let names: Vec<&str> = kinds.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names[..3], ["access", "refresh", "remember_me"]);
        assert_eq!(kinds[0].cookie.as_deref(), Some("access_token"));
        assert_eq!(kinds[2].cookie, None);
    }

    #[test]
    fn lifetimes_and_paths_are_checked() {
        let mut config = Config::default();
        config.access.ttl = Some(0);
        assert_eq!(
            resolve(&config, &specs(), false).unwrap_err().field(),
            "paseto.access.ttl"
        );
        let mut config = Config::default();
        config.refresh.path = Some("relative".into());
        assert_eq!(
            resolve(&config, &specs(), false).unwrap_err().field(),
            "paseto.refresh.path"
        );
        let mut config = Config::default();
        config.access.query = Some("token=".into());
        assert_eq!(
            resolve(&config, &specs(), false).unwrap_err().field(),
            "paseto.access.query"
        );
        let config = Config {
            session_ttl: 60,
            ..Config::default()
        };
        assert_eq!(
            resolve(&config, &specs(), false).unwrap_err().field(),
            "paseto.session_ttl"
        );
    }

    /// A short-lived kind of an application's own, for the query-parameter rules.
    struct Socket;

    impl crate::TokenKind for Socket {
        const NAME: &'static str = "socket";
        const TTL: Duration = Duration::from_secs(60);
    }

    #[test]
    fn query_parameters_are_off_by_default_unique_and_never_for_refresh_tokens() {
        let specs = || {
            let mut specs = specs();
            specs.push(KindSpec::of::<Socket>(true));
            specs
        };
        let (_, kinds) = resolve(&Config::default(), &specs(), false).unwrap();
        assert!(kinds.iter().all(|k| k.query.is_none()));
        let mut config = Config::default();
        config.access.query = Some("access_token".into());
        config.refresh.query = Some(String::new());
        let (_, kinds) = resolve(&config, &specs(), false).unwrap();
        assert_eq!(kinds[0].query.as_deref(), Some("access_token"));
        assert_eq!(kinds[1].query, None);
        config.refresh.query = Some("refresh_token".into());
        let error = resolve(&config, &specs(), false).unwrap_err();
        assert_eq!(error.field(), "paseto.refresh.query");
        config.refresh.query = None;
        let socket = KindConfig {
            query: Some("access_token".into()),
            ..KindConfig::default()
        };
        config.kinds.insert("socket".into(), socket);
        let error = resolve(&config, &specs(), false).unwrap_err();
        assert_eq!(error.field(), "paseto.kinds.socket.query");
        assert!(error.to_string().contains("paseto.access"), "{error}");
        for bad in ["a b", "a&b", "é", &"a".repeat(65)] {
            config.access.query = Some(bad.to_owned());
            let error = resolve(&config, &specs(), false).unwrap_err();
            assert_eq!(error.field(), "paseto.access.query", "{bad:?}");
        }
    }
}
