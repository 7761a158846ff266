//! The HTTP side of the configuration: where tokens are read from, CSRF, cookie attributes and
//! names, and trusted origins.

use std::time::Duration;

use rocket::http::Method;
use serde::{Deserialize, Serialize};

use super::{Config, ConfigError, KindSettings, SameSite, Secure, WebOrigin};
use crate::kind::REMEMBER_ME_COOKIE;
use crate::token::MAX_TTL;

/// What the guards do with a request that carries no token: `paseto.missing_token`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MissingToken {
    /// `"reject"`: fail with [`AuthError::Missing`](crate::AuthError::Missing), a 401.
    #[default]
    Reject,
    /// `"forward"`: forward the request with status 401, so that the next matching route
    /// answers, or the 401 catcher when none is left.
    Forward,
}

/// How requests carry tokens and how cookies are set, as resolved at ignite.
#[derive(Debug, Clone)]
pub(crate) struct HttpSettings {
    pub header: String,
    pub scheme: String,
    pub missing_token: MissingToken,
    /// The CSRF header, unless the check is off.
    pub csrf_header: Option<String>,
    pub csrf_exempt: Vec<Method>,
    /// The form field that may carry the CSRF value, unless the check or the field is off.
    pub csrf_field: Option<String>,
    pub secure: Secure,
    pub same_site: rocket::http::SameSite,
    pub csrf_cookie: String,
    pub jar_ttl: Duration,
    pub remember_cookie: String,
    pub renew_after: Option<f64>,
    pub allowed_origins: Vec<WebOrigin>,
    pub domain: Option<String>,
    /// Whether cookies get a `Max-Age` (`cookies.persistent`).
    pub persistent: bool,
    pub implicit_refresh: bool,
}

/// Resolves the HTTP settings; `kinds` are the resolved kinds, whose cookie names must not
/// clash with the other cookies. Returns warnings about settings that are allowed but risky.
pub(super) fn resolve(
    config: &Config,
    kinds: &[KindSettings],
    always_secure: bool,
) -> Result<(HttpSettings, Vec<String>), ConfigError> {
    let jar = &config.cookies;
    let remember_cookie = config
        .remember_me
        .cookie
        .clone()
        .unwrap_or_else(|| REMEMBER_ME_COOKIE.into());
    check_cookies(config, kinds, &remember_cookie, always_secure)?;
    let Csrf {
        header: csrf_header,
        exempt: csrf_exempt,
        field: csrf_field,
        warnings,
    } = csrf(config)?;
    let settings = HttpSettings {
        header: http_token(
            &config.header,
            "paseto.header",
            "is not a valid header name",
        )?,
        scheme: http_token(
            &config.scheme,
            "paseto.scheme",
            "is not a valid authentication scheme",
        )?,
        missing_token: config.missing_token,
        csrf_header,
        csrf_exempt,
        csrf_field,
        secure: jar.secure,
        same_site: jar.same_site.into(),
        csrf_cookie: jar.csrf_cookie.clone(),
        jar_ttl: lifetime(jar.ttl, "paseto.cookies.ttl")?,
        remember_cookie,
        renew_after: config.remember_me.renew_after,
        allowed_origins: allowed_origins(config)?,
        domain: jar.domain.clone(),
        persistent: jar.persistent,
        implicit_refresh: jar.implicit_refresh,
    };
    Ok((settings, warnings))
}

/// The cookie attributes and names: `SameSite=None` needs `Secure`, names are valid, keep
/// their prefixes' promises and do not clash, `domain` and `implicit_refresh` fit them.
fn check_cookies(
    config: &Config,
    kinds: &[KindSettings],
    remember_cookie: &str,
    always_secure: bool,
) -> Result<(), ConfigError> {
    let jar = &config.cookies;
    if jar.same_site == SameSite::None && jar.secure == Secure::Never {
        return Err(ConfigError::new(
            "paseto.cookies.same_site",
            "\"none\" requires `secure` (browsers drop such cookies otherwise)",
        ));
    }
    if !is_http_token(&jar.csrf_cookie) {
        return Err(ConfigError::new(
            "paseto.cookies.csrf_cookie",
            "is not a valid cookie name",
        ));
    }
    check_prefix(
        "paseto.cookies.csrf_cookie",
        &jar.csrf_cookie,
        None,
        always_secure,
    )?;
    unique_cookie_names(kinds, remember_cookie, &jar.csrf_cookie)?;
    check_domain(
        jar.domain.as_deref(),
        kinds,
        remember_cookie,
        &jar.csrf_cookie,
    )?;
    if jar.implicit_refresh {
        check_implicit_refresh(kinds)?;
    }
    Ok(())
}

fn http_token(value: &str, field: &str, problem: &str) -> Result<String, ConfigError> {
    if is_http_token(value) {
        Ok(value.to_owned())
    } else {
        Err(ConfigError::new(field, problem))
    }
}

/// The CSRF settings: the header (when the check is on), the exempt methods, and warnings
/// about exempt methods that may change state.
struct Csrf {
    header: Option<String>,
    exempt: Vec<Method>,
    field: Option<String>,
    warnings: Vec<String>,
}

fn csrf(config: &Config) -> Result<Csrf, ConfigError> {
    let mut warnings = Vec::new();
    let mut exempt = Vec::with_capacity(config.csrf_exempt_methods.len());
    for (i, name) in config.csrf_exempt_methods.iter().enumerate() {
        let method = name.parse::<Method>().map_err(|_| {
            ConfigError::new(
                format!("paseto.csrf_exempt_methods[{i}]"),
                "is not an HTTP method",
            )
        })?;
        if !matches!(
            method,
            Method::Get | Method::Head | Method::Options | Method::Trace
        ) {
            warnings.push(format!(
                "paseto.csrf_exempt_methods lists {method}, which may change state: cookie-borne \
                 tokens on {method} requests are not protected against CSRF"
            ));
        }
        exempt.push(method);
    }
    let header = match config.csrf {
        true => Some(http_token(
            &config.csrf_header,
            "paseto.csrf_header",
            "is not a valid header name",
        )?),
        false => None,
    };
    let field = match config.csrf_field.as_str() {
        "" => None,
        field if is_form_field(field) => Some(field.to_owned()),
        _ => {
            return Err(ConfigError::new(
                "paseto.csrf_field",
                "must be letters, digits, `_`, `-` and `.` (at most 64), or \"\" for none",
            ));
        }
    };
    Ok(Csrf {
        field: field.filter(|_| header.is_some()),
        header,
        exempt,
        warnings,
    })
}

/// A form field name that needs no URL encoding, so it is matched as written.
fn is_form_field(name: &str) -> bool {
    name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
}

/// `cookies.domain`: a host name (a leading `.` is allowed and ignored by browsers), and no
/// `__Host-` cookie, which browsers refuse with any `Domain`.
fn check_domain(
    domain: Option<&str>,
    kinds: &[KindSettings],
    remember_cookie: &str,
    csrf_cookie: &str,
) -> Result<(), ConfigError> {
    let Some(domain) = domain else {
        return Ok(());
    };
    let host = domain.strip_prefix('.').unwrap_or(domain);
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !valid {
        return Err(ConfigError::new(
            "paseto.cookies.domain",
            "is not a host name",
        ));
    }
    let names = kinds.iter().filter_map(|k| k.cookie.as_deref());
    let host_only = names
        .chain([remember_cookie, csrf_cookie])
        .find(|name| CookiePrefix::of(name) == Some(CookiePrefix::Host));
    match host_only {
        Some(name) => Err(ConfigError::new(
            "paseto.cookies.domain",
            format_args!(
                "cannot be set with the `__Host-` cookie `{name}`, which browsers accept only \
                 without `Domain` (use `__Secure-` names to share cookies with subdomains)"
            ),
        )),
        None => Ok(()),
    }
}

/// Implicit refresh reads the refresh cookie on every page: it needs both token cookies, and
/// the refresh cookie on `Path=/`.
fn check_implicit_refresh(kinds: &[KindSettings]) -> Result<(), ConfigError> {
    let kind = |name: &str| kinds.iter().find(|k| k.name == name);
    for name in ["access", "refresh"] {
        if kind(name).is_some_and(|k| k.cookie.is_none()) {
            return Err(ConfigError::new(
                format!("paseto.{name}.cookie"),
                "must not be \"\" with `cookies.implicit_refresh`, which reads it",
            ));
        }
    }
    if kind("refresh").is_some_and(|k| k.cookie_path != "/") {
        return Err(ConfigError::new(
            "paseto.refresh.path",
            "must be \"/\" with `cookies.implicit_refresh`: pages must receive the refresh cookie",
        ));
    }
    Ok(())
}

/// Two settings naming one cookie would overwrite each other (e.g. a readable CSRF cookie
/// replacing the access token).
fn unique_cookie_names(
    kinds: &[KindSettings],
    remember_cookie: &str,
    csrf_cookie: &str,
) -> Result<(), ConfigError> {
    let mut names: Vec<(&str, String)> = kinds
        .iter()
        .filter_map(|k| {
            let owner = format!("the {} cookie", k.name);
            k.cookie.as_deref().map(|c| (c, owner))
        })
        .collect();
    names.push((remember_cookie, "remember_me.cookie".into()));
    names.push((csrf_cookie, "cookies.csrf_cookie".into()));
    for (i, (name, owner)) in names.iter().enumerate() {
        if let Some((_, other)) = names[..i].iter().find(|(n, _)| n == name) {
            let field = if owner.starts_with("the ") {
                "cookies"
            } else {
                owner
            };
            return Err(ConfigError::new(
                format!("paseto.{field}"),
                format_args!("cookie name `{name}` is already used by {other}"),
            ));
        }
    }
    Ok(())
}

fn allowed_origins(config: &Config) -> Result<Vec<WebOrigin>, ConfigError> {
    config
        .allowed_origins
        .iter()
        .enumerate()
        .map(|(i, origin)| {
            WebOrigin::parse(origin).ok_or_else(|| {
                ConfigError::new(
                    format!("paseto.allowed_origins[{i}]"),
                    "must be an origin, `http://host[:port]` or `https://host[:port]` with no path",
                )
            })
        })
        .collect()
}

/// The cookie name prefixes browsers enforce (RFC 6265bis, section 4.1.3) by dropping cookies
/// whose attributes break their promise. Matched in any case, as browsers do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CookiePrefix {
    /// `__Secure-`: the cookie must be `Secure`.
    Secure,
    /// `__Host-`: `Secure`, `Path=/` and no `Domain`, so no other host or path can set it.
    Host,
}

impl CookiePrefix {
    pub(crate) fn of(name: &str) -> Option<Self> {
        let has = |prefix: &str| {
            name.get(..prefix.len())
                .is_some_and(|n| n.eq_ignore_ascii_case(prefix))
        };
        if has("__Host-") {
            Some(CookiePrefix::Host)
        } else if has("__Secure-") {
            Some(CookiePrefix::Secure)
        } else {
            None
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            CookiePrefix::Secure => "__Secure-",
            CookiePrefix::Host => "__Host-",
        }
    }
}

/// Refuses a cookie name (`name_field`) whose prefix its attributes would break: browsers
/// would drop the cookie, and logins would silently fail. `Domain` (`cookies.domain`) is
/// checked against `__Host-` names on its own; `path` is the cookie's configurable `Path`, as (field, value), if it has one.
pub(super) fn check_prefix(
    name_field: &str,
    name: &str,
    path: Option<(&str, &str)>,
    always_secure: bool,
) -> Result<(), ConfigError> {
    let Some(prefix) = CookiePrefix::of(name) else {
        return Ok(());
    };
    if !always_secure {
        return Err(ConfigError::new(
            name_field,
            format_args!(
                "has the `{}` prefix, which browsers accept only on `Secure` cookies: set \
                 `paseto.cookies.secure = true` (\"auto\" leaves `Secure` out without TLS)",
                prefix.as_str()
            ),
        ));
    }
    match path {
        Some((path_field, path)) if prefix == CookiePrefix::Host && path != "/" => {
            Err(ConfigError::new(
                path_field,
                format_args!(
                    "must be \"/\": `{name_field}` has the `__Host-` prefix, which browsers \
                     accept only with `Path=/` (use `__Secure-` for a narrower path)"
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// Whether `s` is an RFC 9110 token (header names, auth schemes, cookie names).
pub(crate) fn is_http_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A lifetime in seconds, from 1 to [`MAX_TTL`]: the cookie jar's, and each kind's (`kinds`).
pub(super) fn lifetime(seconds: u64, field: &str) -> Result<Duration, ConfigError> {
    if seconds == 0 || seconds > MAX_TTL.as_secs() {
        return Err(ConfigError::new(
            field,
            format_args!("must be between 1 and {} seconds", MAX_TTL.as_secs()),
        ));
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(config: &Config) -> Result<HttpSettings, ConfigError> {
        resolve(config, &[], config.cookies.secure == Secure::Always).map(|(s, _)| s)
    }

    #[test]
    fn defaults_resolve() {
        let http = resolved(&Config::default()).unwrap();
        assert_eq!(http.header, "Authorization");
        assert_eq!(http.csrf_header.as_deref(), Some("X-CSRF-Token"));
        assert_eq!(http.same_site, rocket::http::SameSite::Lax);
        assert_eq!(http.remember_cookie, "remember_token");
    }

    #[test]
    fn each_mistake_names_its_field() {
        let mut config = Config::default();
        config.cookies.same_site = SameSite::None;
        config.cookies.secure = Secure::Never;
        assert_eq!(
            resolved(&config).unwrap_err().field(),
            "paseto.cookies.same_site"
        );
        let mut config = Config::default();
        config.cookies.csrf_cookie = "remember_token".into();
        assert_eq!(
            resolved(&config).unwrap_err().field(),
            "paseto.cookies.csrf_cookie"
        );
        let config = Config {
            header: "bad header".into(),
            ..Config::default()
        };
        assert_eq!(resolved(&config).unwrap_err().field(), "paseto.header");
        let config = Config {
            csrf_exempt_methods: vec!["FETCH IT".into()],
            ..Config::default()
        };
        assert_eq!(
            resolved(&config).unwrap_err().field(),
            "paseto.csrf_exempt_methods[0]"
        );
        let config = Config {
            allowed_origins: vec!["https://example.com/path".into()],
            ..Config::default()
        };
        assert_eq!(
            resolved(&config).unwrap_err().field(),
            "paseto.allowed_origins[0]"
        );
    }

    #[test]
    fn prefixed_names_need_secure_cookies() {
        let mut config = Config::default();
        config.cookies.csrf_cookie = "__Host-csrf".into();
        assert_eq!(
            resolved(&config).unwrap_err().field(),
            "paseto.cookies.csrf_cookie"
        );
        config.cookies.secure = Secure::Always;
        assert!(resolved(&config).is_ok());
    }
}
