//! The `paseto` configuration table, [`Config`], and its sections.
//!
//! Every field is documented with its default; the README's configuration reference has the
//! same table at a glance. Each section is validated on its own at ignite, and a mistake names
//! its field without echoing the value.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::token::Purpose;

mod attributes;
mod cookies;
mod defaults;
mod discovery;
mod error;
mod hints;
mod keygen;
mod keys;
mod kinds;
mod origin;
mod resolve;
mod revocation;
mod secret;
mod throttle;

pub(crate) use self::attributes::{SameSite, Secure};
pub use self::cookies::MissingToken;
pub(crate) use self::cookies::{CookiePrefix, HttpSettings, is_http_token};
pub(crate) use self::discovery::DiscoveryConfig;
pub(crate) use self::discovery::{DiscoverySetup, PublishSetup};
pub use self::error::ConfigError;
pub(crate) use self::hints::unread_tables;
pub use self::keygen::generate_keys;
pub(crate) use self::keys::PublicKeyEntry;
pub(crate) use self::kinds::KindSettings;
pub(crate) use self::origin::WebOrigin;
pub(crate) use self::resolve::Settings;
pub(crate) use self::revocation::RevocationConfig;
pub(crate) use self::revocation::{RevocationSetup, StoreSetup};
pub(crate) use self::secret::Secret;
pub(crate) use self::throttle::ThrottleConfig;
pub(crate) use self::throttle::ThrottleSetup;

/// The `[<profile>.paseto]` table of `Rocket.toml` (or `ROCKET_PASETO` in the environment).
///
/// Every field is optional. Keys are given as PASERK strings (`k4.local.…`, `k4.secret.…`,
/// `k4.public.…`) or, for the asymmetric ones, as PEM blocks. `Debug` never shows them.
///
/// ```toml
/// [default.paseto]
/// local_key = "k4.local.…"
/// issuer = "https://auth.example.com"
///
/// [default.paseto.access]
/// purpose = "public"
/// ttl = 900
/// ```
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// The `v4.local` key (`k4.local.…`) that encrypts local-purpose tokens.
    ///
    /// Required when any kind uses `purpose = "local"`; in the `debug` profile a missing key is
    /// replaced by an ephemeral one, with a warning.
    ///
    /// _Default:_ none.
    #[serde(default)]
    pub local_key: Option<Secret>,
    /// Earlier local keys that still decrypt tokens (found by their footer `kid`) but never
    /// encrypt new ones. List a key here when you replace `local_key`; remove it once the longest
    /// token lifetime has passed.
    ///
    /// _Default:_ `[]`.
    #[serde(default)]
    pub previous_local_keys: Vec<Secret>,
    /// A file holding the local key, e.g. a mounted secret; instead of `local_key`. Like keys,
    /// the path and the file's contents are never shown in errors or `Debug`.
    ///
    /// _Default:_ none.
    #[serde(default)]
    pub local_key_file: Option<Secret>,
    /// Files holding previous local keys, one key each; added to `previous_local_keys`. Never
    /// shown, like `local_key_file`.
    ///
    /// _Default:_ `[]`.
    #[serde(default)]
    pub previous_local_key_files: Vec<Secret>,
    /// The `v4.public` signing key (`k4.secret.…` or a PKCS#8 PEM block). Its public key is
    /// derived and trusted automatically.
    ///
    /// _Default:_ none.
    #[serde(default)]
    pub secret_key: Option<Secret>,
    /// A file holding the signing key (PASERK or PEM); instead of `secret_key`. Never shown,
    /// like `local_key_file`.
    ///
    /// _Default:_ none.
    #[serde(default)]
    pub secret_key_file: Option<Secret>,
    /// Each entry is a key string, or a table `{ key = "k4.public.…", issuer = "https://…" }`
    /// binding the key to an issuer: tokens it verifies must then carry that `iss`.
    ///
    /// Extra verification-only public keys (`k4.public.…` or SPKI PEM): a previous signing key,
    /// or another issuer's.
    ///
    /// _Default:_ `[]`.
    #[serde(default)]
    pub public_keys: Vec<PublicKeyEntry>,
    /// Files holding verification-only public keys, one key each; added to `public_keys`.
    /// Never shown, like `local_key_file`.
    ///
    /// _Default:_ `[]`.
    #[serde(default)]
    pub public_key_files: Vec<Secret>,
    /// Serves the public keys (the signing key's and those in `public_keys`) at this path as a
    /// key document, e.g. `"/.well-known/paseto-keys"`, for
    /// verifiers configured with [`discovery`](Self::discovery). Needs `secret_key` and
    /// `issuer`.
    ///
    /// _Default:_ none (not published).
    #[serde(default)]
    pub publish_keys: Option<String>,
    /// The `Cache-Control: public, max-age` of that document, in seconds (at most 86400).
    ///
    /// _Default:_ `300`.
    #[serde(default = "defaults::publish_keys_max_age")]
    pub publish_keys_max_age: u64,
    /// Fetches trusted public keys from an issuer's published document, and keeps them up to
    /// date (cargo feature `discovery`): see `DiscoveryConfig`.
    ///
    /// _Default:_ none.
    #[serde(default)]
    pub discovery: Option<DiscoveryConfig>,
    /// Stamped as `iss` on issued tokens and, when set, required to match on verification.
    ///
    /// _Default:_ none.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Stamped as `aud` on issued tokens and, when set, required on verification (as the string
    /// or one element of an array).
    ///
    /// _Default:_ none.
    #[serde(default)]
    pub audience: Option<String>,
    /// Seconds of clock skew tolerated on `exp`, `nbf` and `iat`, at most 600.
    ///
    /// _Default:_ `0`.
    #[serde(default)]
    pub leeway: u64,
    /// The longest a session lasts, in seconds: every token of one session (its pair, the
    /// tokens its refreshes give, a remember-me token and its renewals) expires by then, and an
    /// ended session is remembered no longer. At least the
    /// access, refresh and remember-me lifetimes; at most 31622400 (366 days).
    ///
    /// _Default:_ `7776000` (90 days).
    #[serde(default = "defaults::session_ttl")]
    pub session_ttl: u64,
    /// How long a single-use token ([`Issuer::single_use`](crate::Issuer::single_use): a
    /// password reset, a magic link, …) lasts, in seconds, unless its builder says otherwise.
    ///
    /// _Default:_ `900` (15 minutes).
    #[serde(default = "defaults::single_use_ttl")]
    pub single_use_ttl: u64,
    /// Whether the [`LoginClaims`](crate::LoginClaims) loader runs again whenever a session is
    /// refreshed (with or without rotation, from a header or a cookie, and implicit refresh),
    /// so a change of roles reaches the user's next access token. `false` copies the
    /// session's claims instead, until the user logs in again (up to `session_ttl`); it saves one
    /// loader call, usually a database query, per refresh.
    ///
    /// _Default:_ `true`.
    #[serde(default = "defaults::enabled")]
    pub reload_claims: bool,
    /// Tokens longer than this many bytes are rejected before any decoding (256 to 65536).
    ///
    /// _Default:_ `4096`.
    #[serde(default = "defaults::max_token_length")]
    pub max_token_length: usize,
    /// How many verified tokens to remember (about), so a token presented again skips the
    /// cryptography; `exp`, `nbf`, kind, issuer and audience are still checked on every request.
    /// `0` turns the cache off.
    ///
    /// _Default:_ `1024`.
    #[serde(default = "defaults::cache_size")]
    pub cache_size: usize,
    /// The request header that carries tokens.
    ///
    /// _Default:_ `"Authorization"`.
    #[serde(default = "defaults::header")]
    pub header: String,
    /// The authentication scheme before the token in that header, matched case-insensitively.
    ///
    /// _Default:_ `"Bearer"`.
    #[serde(default = "defaults::scheme")]
    pub scheme: String,
    /// What the guards ([`Paseto`](crate::Paseto) of every kind, and
    /// [`RememberMe`](crate::RememberMe)) do with a request that carries no token: `"reject"`
    /// answers 401; `"forward"` lets the next matching route answer (e.g. a `rank = 2` fallback
    /// for anonymous visitors), and the 401 catcher when none is left. A bad token is answered
    /// 401 either way.
    ///
    /// _Default:_ `"reject"`.
    #[serde(default)]
    pub missing_token: MissingToken,
    /// Whether a token read from a cookie must be accompanied, on every method not in
    /// `csrf_exempt_methods`, by a `csrf_header` (or `csrf_field`) equal to the token's `csrf`
    /// claim. Tokens from the header never need it.
    ///
    /// _Default:_ `true`.
    #[serde(default = "defaults::enabled")]
    pub csrf: bool,
    /// The request header that carries the CSRF value.
    ///
    /// _Default:_ `"X-CSRF-Token"`.
    #[serde(default = "defaults::csrf_header")]
    pub csrf_header: String,
    /// The form field that may carry the CSRF value instead of `csrf_header`, for plain HTML
    /// forms (`application/x-www-form-urlencoded`), which cannot set headers. It must end within
    /// the first 512 bytes of the body: put it first in the form. `""` accepts the header only.
    ///
    /// _Default:_ `"_csrf"`.
    #[serde(default = "defaults::csrf_field")]
    pub csrf_field: String,
    /// Methods exempt from the CSRF check; every other method needs it. Only add methods that
    /// never change state.
    ///
    /// _Default:_ `["GET", "HEAD", "OPTIONS", "TRACE"]`.
    #[serde(default = "defaults::csrf_exempt_methods")]
    pub csrf_exempt_methods: Vec<String>,
    /// Origins besides the server's own (`scheme://host[:port]`, e.g. `"https://example.com"`)
    /// whose pages the [`SameOrigin`](crate::SameOrigin) guard lets through: the public origin
    /// behind a proxy that terminates TLS or rewrites `Host`, or another front-end of yours.
    ///
    /// _Default:_ `[]`.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Settings of access tokens ([`Access`](crate::Access)).
    ///
    /// _Default:_ local purpose, 900 s, cookie `access_token`.
    #[serde(default)]
    pub access: KindConfig,
    /// Settings of refresh tokens ([`Refresh`](crate::Refresh)).
    ///
    /// _Default:_ local purpose, 1209600 s (14 days), cookie `refresh_token`.
    #[serde(default)]
    pub refresh: KindConfig,
    /// Settings of the remember-me cookie ([`RememberMe`](crate::RememberMe)).
    ///
    /// _Default:_ 30 days, cookie `remember_token`, no renewal.
    #[serde(default)]
    pub remember_me: RememberConfig,
    /// Attributes of the cookies this crate sets.
    ///
    /// _Default:_ see `CookieConfig`.
    #[serde(default)]
    pub cookies: CookieConfig,
    /// Settings of kinds you define, by name (see [`TokenKind`](crate::TokenKind)).
    ///
    /// _Default:_ each kind's own defaults.
    #[serde(default)]
    pub kinds: BTreeMap<String, KindConfig>,
    /// Revocation: where revoked tokens are remembered and which kinds are checked.
    ///
    /// _Default:_ see `RevocationConfig` (no store: nothing is revoked).
    #[serde(default)]
    pub revocation: RevocationConfig,
    /// The login throttle: how many failed logins per account and per client address refuse
    /// further ones for a while. See `ThrottleConfig`.
    ///
    /// _Default:_ 5 per account in 5 minutes, 20 per address in 1 minute.
    #[serde(default)]
    pub throttle: ThrottleConfig,
    /// Reverse proxies (addresses, or CIDR ranges such as `"10.0.0.0/8"`) whose
    /// `X-Forwarded-For` names the client: the login throttle counts by the rightmost address
    /// in it that is not such a proxy. From any other peer the header is ignored and the
    /// connection's address counts; Rocket's `ip_header` (`X-Real-IP`) is never used.
    ///
    /// _Default:_ `[]` (the header is never believed).
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

/// The settings of one token kind, e.g. `[default.paseto.access]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct KindConfig {
    /// `"local"` or `"public"`: the only purpose accepted for this kind, whatever a token claims.
    ///
    /// _Default:_ the kind's default (`"local"` for access and refresh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Purpose>,
    /// Lifetime of new tokens in seconds, from 1 to 31622400 (366 days).
    ///
    /// _Default:_ the kind's default (900 for access, 1209600 for refresh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
    /// The cookie read when the request has no token header; `""` turns cookies off.
    ///
    /// _Default:_ the kind's default (`access_token`, `refresh_token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    /// A query parameter read when the request has neither the token header nor the kind's
    /// cookie, e.g. `"access_token"` for `wss://host/ws?access_token=…`: for WebSocket
    /// upgrades and links, where a browser cannot set a header. URLs end up in server and
    /// proxy logs, `Referer` headers and browser history, so turn it on only for short-lived
    /// kinds and routes that need it. Letters, digits and `-._~`, at most 64; `""` turns it
    /// off.
    ///
    /// _Default:_ none (tokens in the query string are ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// How long a fresh token (from a password login) stays fresh, in seconds; its whole
    /// lifetime when unset.
    ///
    /// _Default:_ none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fresh_for: Option<u64>,
    /// The `Path` of that cookie when [`PasetoCookies`](crate::PasetoCookies) sets it, e.g.
    /// `"/auth/refresh"` to send the refresh token only to the refresh route.
    ///
    /// _Default:_ `"/"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Attributes of the cookies this crate sets: `[default.paseto.cookies]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CookieConfig {
    /// `Secure` attribute: `"auto"` (when Rocket serves TLS), `true` (always: use it behind a
    /// TLS-terminating proxy) or `false`.
    ///
    /// _Default:_ `"auto"`.
    #[serde(default)]
    pub secure: Secure,
    /// `SameSite` attribute: `"strict"`, `"lax"` or `"none"` (which always adds `Secure`, as
    /// browsers require; `secure = false` is then an error).
    ///
    /// _Default:_ `"lax"`.
    #[serde(default)]
    pub same_site: SameSite,
    /// Name of the readable cookie holding the CSRF value that scripts echo in `csrf_header`.
    ///
    /// _Default:_ `"csrf_token"`.
    #[serde(default = "defaults::csrf_cookie")]
    pub csrf_cookie: String,
    /// Lifetime in seconds of values added to [`PasetoCookies`](crate::PasetoCookies) without
    /// their own.
    ///
    /// _Default:_ `86400` (one day).
    #[serde(default = "defaults::jar_ttl")]
    pub ttl: u64,
    /// `Domain` attribute of the cookies this crate sets, e.g. `"example.com"` to share them
    /// with subdomains. Not allowed with `__Host-` cookie names, which browsers accept only
    /// without `Domain`.
    ///
    /// _Default:_ none (host-only cookies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Whether the access, refresh and CSRF cookies and jar values outlive the browser: with
    /// `true` they get a `Max-Age` (their lifetime); with `false` they get none, so browsers
    /// drop them when they close (the remember-me cookie keeps its own). The tokens inside
    /// expire on their own `exp` either way.
    ///
    /// _Default:_ `true`.
    #[serde(default = "defaults::enabled")]
    pub persistent: bool,
    /// Implicit refresh: when a request's access cookie has expired or is absent and a valid
    /// refresh cookie is there, the `Paseto<Access>` guard refreshes the session (as
    /// [`PasetoCookies::refresh`](crate::PasetoCookies::refresh) does), serves the
    /// request with the new access token and sets the new cookies. For server-rendered pages.
    /// Needs a revocation store and the refresh cookie on `Path=/`.
    ///
    /// _Default:_ `false`.
    #[serde(default)]
    pub implicit_refresh: bool,
    /// How many opened [`PasetoCookies`](crate::PasetoCookies) values to remember (about), so
    /// a value read again skips the decryption; its expiry is still checked on every read.
    /// `0` turns the cache off.
    ///
    /// _Default:_ `1024`.
    #[serde(default = "defaults::cache_size")]
    pub cache_size: usize,
}

/// The remember-me cookie: `[default.paseto.remember_me]`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RememberConfig {
    /// Lifetime of the remember-me token in seconds (1 to 31622400).
    ///
    /// _Default:_ `2592000` (30 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
    /// Name of the remember-me cookie.
    ///
    /// _Default:_ `"remember_token"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    /// Sliding renewal: once this fraction of the lifetime has passed (between 0 and 1), the
    /// [`RememberMe`](crate::RememberMe) guard sets a fresh cookie.
    ///
    /// _Default:_ none (no renewal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_after: Option<f64>,
}

impl Default for Config {
    /// Every setting at its default: each field's default is declared once, on the field, so
    /// the default configuration is what an empty `paseto` table reads as.
    fn default() -> Self {
        empty_table()
    }
}

impl Default for CookieConfig {
    fn default() -> Self {
        empty_table()
    }
}

impl Default for RevocationConfig {
    fn default() -> Self {
        empty_table()
    }
}

/// A settings table read from nothing: every field takes its declared default.
fn empty_table<T: serde::de::DeserializeOwned>() -> T {
    let empty = serde::de::value::MapDeserializer::<_, serde::de::value::Error>::new(
        std::iter::empty::<(&str, &str)>(),
    );
    // Every field of these tables has a default, so an empty table always reads.
    T::deserialize(empty).expect("every setting has a default")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_what_an_empty_table_reads_as() {
        let config = Config::default();
        assert_eq!(config.max_token_length, 4096);
        assert_eq!(config.header, "Authorization");
        assert!(config.csrf);
        assert_eq!(config.cookies.same_site, SameSite::Lax);
        assert_eq!(config.cookies.secure, Secure::Auto);
        assert_eq!(config.revocation.kinds, ["access", "refresh"]);
        assert_eq!(config.revocation.rotation_grace, 15);
        assert_eq!(config.session_ttl, 90 * 86400);
        assert_eq!(config.missing_token, MissingToken::Reject);
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let config = Config {
            local_key: Some("k4.local.SECRET".into()),
            local_key_file: Some("\"k4.local.PASTED\"".into()),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("SECRET") && !shown.contains("PASTED"),
            "{shown}"
        );
    }

    #[test]
    fn secure_reads_as_a_flag_or_auto() {
        let read = |v: serde_json::Value| serde_json::from_value::<Secure>(v);
        assert_eq!(read(serde_json::json!(true)).unwrap(), Secure::Always);
        assert_eq!(read(serde_json::json!(false)).unwrap(), Secure::Never);
        assert_eq!(read(serde_json::json!("auto")).unwrap(), Secure::Auto);
        assert!(read(serde_json::json!("always")).is_err());
        assert_eq!(
            serde_json::to_value(Secure::Never).unwrap(),
            serde_json::json!(false)
        );
    }
}
