//! The `paseto` configuration table and its validation.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use rocket::figment::error::{Actual, Kind};
use rocket::figment::{Figment, Profile};
use serde::{Deserialize, Serialize};

use crate::kind::KindSpec;
use crate::origin::WebOrigin;
use crate::revocation::OnError;
use crate::token::{
    Authority, KeyError, KindRules, LocalKey, MAX_LEEWAY, MAX_TTL, PublicKey, Purpose, Rules,
    SecretKey,
};

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
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The `v4.local` key (`k4.local.…`) that encrypts local-purpose tokens.
    ///
    /// Required when any kind uses `purpose = "local"`; in the `debug` profile a missing key is
    /// replaced by an ephemeral one, with a warning.
    ///
    /// _Default:_ none.
    #[serde(default)]
    pub local_key: Option<String>,
    /// Earlier local keys that still decrypt tokens (found by their footer `kid`) but never
    /// encrypt new ones. List a key here when you replace `local_key`; remove it once the longest
    /// token lifetime has passed.
    ///
    /// _Default:_ `[]`.
    #[serde(default)]
    pub previous_local_keys: Vec<String>,
    /// A file holding the local key, e.g. a mounted secret; instead of `local_key`. Like keys,
    /// the path and the file's contents are never shown in errors or `Debug`.
    ///
    /// _Default:_ none.
    #[serde(default)]
    pub local_key_file: Option<String>,
    /// Files holding previous local keys, one key each; added to `previous_local_keys`. Never
    /// shown, like `local_key_file`.
    ///
    /// _Default:_ `[]`.
    #[serde(default)]
    pub previous_local_key_files: Vec<String>,
    /// The `v4.public` signing key (`k4.secret.…` or a PKCS#8 PEM block). Its public key is
    /// derived and trusted automatically.
    ///
    /// _Default:_ none.
    #[serde(default)]
    pub secret_key: Option<String>,
    /// A file holding the signing key (PASERK or PEM); instead of `secret_key`. Never shown,
    /// like `local_key_file`.
    ///
    /// _Default:_ none.
    #[serde(default)]
    pub secret_key_file: Option<String>,
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
    pub public_key_files: Vec<String>,
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
    /// The longest a login lasts, in seconds: every token minted from one login (its pair,
    /// the pairs and access tokens obtained by refreshing, a remember-me token and its
    /// renewals) expires by then, and a revoked login is remembered no longer. At least the
    /// access, refresh and remember-me lifetimes; at most 31622400 (366 days).
    ///
    /// _Default:_ `7776000` (90 days).
    #[serde(default = "defaults::session_ttl")]
    pub session_ttl: u64,
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
    /// Whether a token read from a cookie must be accompanied, on every method not in
    /// `csrf_exempt_methods`, by a `csrf_header` equal to the token's `csrf` claim. Tokens from
    /// the header never need it.
    ///
    /// _Default:_ `true`.
    #[serde(default = "defaults::yes")]
    pub csrf: bool,
    /// The request header that carries the CSRF value.
    ///
    /// _Default:_ `"X-CSRF-Token"`.
    #[serde(default = "defaults::csrf_header")]
    pub csrf_header: String,
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
    /// _Default:_ see [`CookieConfig`].
    #[serde(default)]
    pub cookies: CookieConfig,
    /// Settings of kinds you define, by name (see [`TokenKind`](crate::TokenKind)).
    ///
    /// _Default:_ each kind's own defaults.
    #[serde(default)]
    pub kinds: BTreeMap<String, KindConfig>,
    /// Revocation: where revoked tokens are remembered and which kinds are checked.
    ///
    /// _Default:_ see [`RevocationConfig`] (no store: nothing is revoked).
    #[serde(default)]
    pub revocation: RevocationConfig,
}

/// Revocation settings: `[default.paseto.revocation]`. See [`revocation`](crate::revocation).
///
/// ```toml
/// [default.paseto.revocation]
/// store = "redis"
/// url = "redis://127.0.0.1:6379/"
/// kinds = ["access", "refresh"]
/// on_error = "reject"
/// ```
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RevocationConfig {
    /// Where revocations are kept: `"memory"` (this process only) or `"redis"` (shared by every
    /// instance; needs the cargo feature `redis`). Leave it unset when a store is attached in
    /// code with [`PasetoFairing::revocation`](crate::PasetoFairing::revocation).
    ///
    /// _Default:_ none: tokens cannot be revoked, and no request waits for a store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<StoreKind>,
    /// The Redis URL, `redis://[[user]:password@]host[:port][/db]`; required with
    /// `store = "redis"`. Error messages never repeat it.
    ///
    /// _Default:_ none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Prefix of every Redis key, to share one Redis between applications.
    ///
    /// _Default:_ `"rocket_paseto:"`.
    #[serde(default = "defaults::revocation_prefix")]
    pub prefix: String,
    /// The kinds whose guards check the store on every request (`"access"`, `"refresh"`,
    /// `"remember_me"` or your own kinds). Tokens of these kinds must carry a `jti`.
    ///
    /// _Default:_ `["access", "refresh"]`.
    #[serde(default = "defaults::revocation_kinds")]
    pub kinds: Vec<String>,
    /// What guards do when the store cannot answer: `"reject"` (fail closed: 503 until it is
    /// back) or `"allow"` (fail open: accept tokens unchecked, with a warning in the log).
    ///
    /// _Default:_ `"reject"`.
    #[serde(default)]
    pub on_error: OnError,
    /// How long to wait for the Redis store, in milliseconds (1 to 60000), connecting included.
    ///
    /// _Default:_ `500`.
    #[serde(default = "defaults::revocation_timeout_ms")]
    pub timeout_ms: u64,
    /// Seconds during which a refresh token that was just rotated still obtains the same new
    /// generation instead of counting as reuse: parallel refreshes from two tabs, or a retry
    /// after a timeout, then share one new refresh token. `0` treats every second use as
    /// reuse. At most 300.
    ///
    /// _Default:_ `15`.
    #[serde(default = "defaults::rotation_grace")]
    pub rotation_grace: u64,
}

impl Default for RevocationConfig {
    fn default() -> Self {
        RevocationConfig {
            store: None,
            url: None,
            prefix: defaults::revocation_prefix(),
            kinds: defaults::revocation_kinds(),
            on_error: OnError::Reject,
            timeout_ms: defaults::revocation_timeout_ms(),
            rotation_grace: defaults::rotation_grace(),
        }
    }
}

impl fmt::Debug for RevocationConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationConfig")
            .field("store", &self.store)
            // A Redis URL may hold a password.
            .field("url", &self.url.as_ref().map(|_| "<redacted>"))
            .field("prefix", &self.prefix)
            .field("kinds", &self.kinds)
            .field("on_error", &self.on_error)
            .field("timeout_ms", &self.timeout_ms)
            .field("rotation_grace", &self.rotation_grace)
            .finish()
    }
}

/// A revocation store that can be chosen in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// [`MemoryStore`](crate::revocation::MemoryStore): this process only.
    Memory,
    /// `RedisStore` (cargo feature `redis`): shared by every instance.
    Redis,
}

/// The settings of one token kind, e.g. `[default.paseto.access]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
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
    fn key(&self) -> &str {
        match self {
            PublicKeyEntry::Key(key) | PublicKeyEntry::Bound(BoundKey { key, .. }) => key,
        }
    }

    fn issuer(&self) -> Option<&str> {
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

/// Attributes of the cookies this crate sets: `[default.paseto.cookies]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
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
    #[serde(default = "defaults::same_site")]
    pub same_site: String,
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
}

/// The `Secure` cookie attribute setting: `"auto"`, `true` or `false`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Secure {
    /// `"auto"`: set `Secure` when Rocket itself serves TLS.
    #[default]
    #[serde(with = "auto")]
    Auto,
    /// Always (`true`) or never (`false`).
    Always(bool),
}

mod auto {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("auto")
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
        match String::deserialize(d)?.as_str() {
            "auto" => Ok(()),
            _ => Err(D::Error::custom("expected \"auto\", true or false")),
        }
    }
}

/// The remember-me cookie: `[default.paseto.remember_me]`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
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

impl Default for CookieConfig {
    fn default() -> Self {
        CookieConfig {
            secure: Secure::Auto,
            same_site: defaults::same_site(),
            csrf_cookie: defaults::csrf_cookie(),
            ttl: defaults::jar_ttl(),
        }
    }
}

mod defaults {
    pub fn max_token_length() -> usize {
        crate::token::DEFAULT_MAX_TOKEN_LENGTH
    }
    pub fn session_ttl() -> u64 {
        90 * 24 * 60 * 60
    }
    pub fn rotation_grace() -> u64 {
        15
    }
    pub fn cache_size() -> usize {
        1024
    }
    pub fn header() -> String {
        "Authorization".into()
    }
    pub fn scheme() -> String {
        "Bearer".into()
    }
    pub fn csrf_header() -> String {
        "X-CSRF-Token".into()
    }
    pub fn yes() -> bool {
        true
    }
    pub fn csrf_exempt_methods() -> Vec<String> {
        ["GET", "HEAD", "OPTIONS", "TRACE"]
            .map(String::from)
            .to_vec()
    }
    pub fn same_site() -> String {
        "lax".into()
    }
    pub fn csrf_cookie() -> String {
        "csrf_token".into()
    }
    pub fn jar_ttl() -> u64 {
        86400
    }
    pub fn revocation_prefix() -> String {
        "rocket_paseto:".into()
    }
    pub fn revocation_kinds() -> Vec<String> {
        vec!["access".into(), "refresh".into()]
    }
    pub fn revocation_timeout_ms() -> u64 {
        500
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            local_key: None,
            local_key_file: None,
            previous_local_keys: Vec::new(),
            previous_local_key_files: Vec::new(),
            secret_key: None,
            secret_key_file: None,
            public_keys: Vec::new(),
            public_key_files: Vec::new(),
            issuer: None,
            audience: None,
            leeway: 0,
            session_ttl: defaults::session_ttl(),
            max_token_length: defaults::max_token_length(),
            cache_size: defaults::cache_size(),
            header: defaults::header(),
            scheme: defaults::scheme(),
            csrf: true,
            csrf_header: defaults::csrf_header(),
            csrf_exempt_methods: defaults::csrf_exempt_methods(),
            allowed_origins: Vec::new(),
            access: KindConfig::default(),
            refresh: KindConfig::default(),
            remember_me: RememberConfig::default(),
            cookies: CookieConfig::default(),
            kinds: BTreeMap::new(),
            revocation: RevocationConfig::default(),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |set: bool| if set { "<redacted>" } else { "<none>" };
        f.debug_struct("Config")
            .field("local_key", &redacted(self.local_key.is_some()))
            .field("previous_local_keys", &self.previous_local_keys.len())
            .field("secret_key", &redacted(self.secret_key.is_some()))
            .field("public_keys", &self.public_keys.len())
            // File settings are shown like keys: a key pasted there must not be printed.
            .field("local_key_file", &redacted(self.local_key_file.is_some()))
            .field(
                "previous_local_key_files",
                &self.previous_local_key_files.len(),
            )
            .field("secret_key_file", &redacted(self.secret_key_file.is_some()))
            .field("public_key_files", &self.public_key_files.len())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway", &self.leeway)
            .field("session_ttl", &self.session_ttl)
            .field("max_token_length", &self.max_token_length)
            .field("cache_size", &self.cache_size)
            .field("header", &self.header)
            .field("scheme", &self.scheme)
            .field("csrf", &self.csrf)
            .field("csrf_header", &self.csrf_header)
            .field("csrf_exempt_methods", &self.csrf_exempt_methods)
            .field("allowed_origins", &self.allowed_origins)
            .field("access", &self.access)
            .field("refresh", &self.refresh)
            .field("remember_me", &self.remember_me)
            .field("cookies", &self.cookies)
            .field("kinds", &self.kinds)
            .field("revocation", &self.revocation)
            .finish()
    }
}

/// A configuration problem: which field, and what is wrong with it. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    field: String,
    message: String,
}

impl ConfigError {
    pub(crate) fn new(field: impl Into<String>, message: impl fmt::Display) -> Self {
        ConfigError {
            field: field.into(),
            message: message.to_string(),
        }
    }

    /// The offending field, e.g. `paseto.local_key` or `paseto.access.ttl`.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// What is wrong with it.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.field, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Settings the Rocket glue needs besides the token core.
#[derive(Debug, Clone)]
pub(crate) struct Web {
    pub header: String,
    pub scheme: String,
    pub csrf_header: Option<String>,
    pub csrf_exempt: Vec<rocket::http::Method>,
    /// Per kind, in the same order as the rules' kinds: the cookie to read, if any.
    pub cookies: Vec<Option<String>>,
    /// Per kind, likewise: the `Path` of that cookie.
    pub cookie_paths: Vec<String>,
    pub secure: Secure,
    pub same_site: rocket::http::SameSite,
    pub csrf_cookie: String,
    pub jar_ttl: Duration,
    pub remember_cookie: String,
    pub renew_after: Option<f64>,
    /// Origins the `SameOrigin` guard trusts besides the request's own.
    pub allowed_origins: Vec<WebOrigin>,
}

/// What a successful load produced, plus whether the local key is an ephemeral stand-in.
pub(crate) struct Loaded {
    pub authority: Authority,
    pub web: Web,
    /// See `Config::session_ttl`.
    pub session_ttl: Duration,
    pub ephemeral_local_key: bool,
    /// Settings that are allowed but probably mistaken, for the fairing to log.
    pub warnings: Vec<String>,
    pub revocation: RevocationPlan,
}

/// The validated revocation settings; the fairing builds the store from them.
pub(crate) struct RevocationPlan {
    /// The store chosen in the configuration, if any.
    pub store: Option<StoreChoice>,
    /// Whether `kinds` was set explicitly (it then needs a store).
    pub kinds_set: bool,
    /// Whether each kind, by index in the rules, is checked.
    pub checked: Vec<bool>,
    pub on_error: OnError,
    /// See `RevocationConfig::rotation_grace`.
    pub grace: Duration,
}

pub(crate) enum StoreChoice {
    Memory,
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Redis {
        url: String,
        prefix: String,
        timeout: Duration,
    },
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
            let field = std::iter::once("paseto")
                .chain(path)
                .collect::<Vec<_>>()
                .join(".");
            ConfigError::new(field, describe(&e.kind))
        })
    }

    /// Validates every field and key and builds the keyring.
    pub(crate) fn load(
        &self,
        specs: &[KindSpec],
        profile: &Profile,
    ) -> Result<Loaded, ConfigError> {
        let mut kinds = Vec::with_capacity(specs.len());
        // Whether every cookie gets `Secure`: `"auto"` leaves it out without TLS.
        let always_secure =
            self.cookies.secure == Secure::Always(true) || self.cookies.same_site == "none";
        let mut cookies = Vec::with_capacity(specs.len());
        let mut cookie_paths = Vec::with_capacity(specs.len());
        for name in self.kinds.keys() {
            if !specs.iter().any(|s| s.name == name.as_str() && s.custom) {
                return Err(ConfigError::new(
                    format!("paseto.kinds.{name}"),
                    "no token kind of this name is registered with `PasetoFairing::kind`",
                ));
            }
        }
        for spec in specs {
            let (table, path) = match spec.name {
                "access" if !spec.custom => (Some(&self.access), "paseto.access".to_owned()),
                "refresh" if !spec.custom => (Some(&self.refresh), "paseto.refresh".to_owned()),
                name => (self.kinds.get(name), format!("paseto.kinds.{name}")),
            };
            let table = table.cloned().unwrap_or_default();
            let ttl = table.ttl.unwrap_or(spec.ttl.as_secs());
            if ttl == 0 || ttl > MAX_TTL.as_secs() {
                return Err(ConfigError::new(
                    format!("{path}.ttl"),
                    format_args!("must be between 1 and {} seconds", MAX_TTL.as_secs()),
                ));
            }
            let cookie = table
                .cookie
                .or(spec.cookie.map(str::to_owned))
                .filter(|c| !c.is_empty());
            if cookie.as_deref().is_some_and(|c| !is_token(c)) {
                return Err(ConfigError::new(
                    format!("{path}.cookie"),
                    "is not a valid cookie name",
                ));
            }
            let cookie_path = table.path.unwrap_or_else(|| "/".into());
            if !cookie_path.starts_with('/') || cookie_path.contains([';', ' ', ',']) {
                return Err(ConfigError::new(
                    format!("{path}.path"),
                    "must be an absolute path without `;`, `,` or spaces",
                ));
            }
            if let Some(name) = &cookie {
                let path_field = format!("{path}.path");
                check_prefix(
                    &format!("{path}.cookie"),
                    name,
                    Some((&path_field, &cookie_path)),
                    always_secure,
                )?;
            }
            let purpose = table.purpose.unwrap_or(spec.purpose);
            let mut rules = KindRules::new(spec.name, purpose, Duration::from_secs(ttl));
            if let Some(fresh_for) = table.fresh_for {
                if fresh_for == 0 || fresh_for > ttl {
                    return Err(ConfigError::new(
                        format!("{path}.fresh_for"),
                        "must be between 1 second and the kind's ttl",
                    ));
                }
                rules = rules.fresh_for(Duration::from_secs(fresh_for));
            }
            kinds.push(rules);
            cookies.push(cookie);
            cookie_paths.push(cookie_path);
        }
        // Only the kinds users can name decide whether a local key is required.
        let needs_local = kinds.iter().any(|k| k.purpose() == Purpose::Local);

        let remember = &self.remember_me;
        let remember_ttl = remember
            .ttl
            .unwrap_or(crate::remember::DEFAULT_TTL.as_secs());
        if remember_ttl == 0 || remember_ttl > MAX_TTL.as_secs() {
            return Err(ConfigError::new(
                "paseto.remember_me.ttl",
                format_args!("must be between 1 and {} seconds", MAX_TTL.as_secs()),
            ));
        }
        let remember_cookie = remember
            .cookie
            .clone()
            .unwrap_or_else(|| "remember_token".into());
        if !is_token(&remember_cookie) {
            return Err(ConfigError::new(
                "paseto.remember_me.cookie",
                "is not a valid cookie name",
            ));
        }
        check_prefix(
            "paseto.remember_me.cookie",
            &remember_cookie,
            None,
            always_secure,
        )?;
        if remember.renew_after.is_some_and(|f| !(f > 0.0 && f < 1.0)) {
            return Err(ConfigError::new(
                "paseto.remember_me.renew_after",
                "must be a fraction between 0 and 1",
            ));
        }
        kinds.push(KindRules::new(
            crate::remember::KIND,
            Purpose::Local,
            Duration::from_secs(remember_ttl),
        ));
        cookies.push(None);
        cookie_paths.push("/".into());

        let jar = &self.cookies;
        let same_site = match jar.same_site.as_str() {
            "strict" => rocket::http::SameSite::Strict,
            "lax" => rocket::http::SameSite::Lax,
            "none" => rocket::http::SameSite::None,
            _ => {
                return Err(ConfigError::new(
                    "paseto.cookies.same_site",
                    "must be \"strict\", \"lax\" or \"none\"",
                ));
            }
        };
        if same_site == rocket::http::SameSite::None && jar.secure == Secure::Always(false) {
            return Err(ConfigError::new(
                "paseto.cookies.same_site",
                "\"none\" requires `secure` (browsers drop such cookies otherwise)",
            ));
        }
        // Two settings naming one cookie would overwrite each other (e.g. a readable CSRF
        // cookie replacing the access token).
        let mut names: Vec<(&str, String)> = specs
            .iter()
            .zip(&cookies)
            .filter_map(|(spec, c)| {
                c.as_deref()
                    .map(|c| (c, format!("the {} cookie", spec.name)))
            })
            .collect();
        names.push((remember_cookie.as_str(), "remember_me.cookie".into()));
        names.push((jar.csrf_cookie.as_str(), "cookies.csrf_cookie".into()));
        for (i, (name, owner)) in names.iter().enumerate() {
            if let Some((_, other)) = names[..i].iter().find(|(n, _)| n == name) {
                let field = if owner.starts_with("the ") {
                    "cookies".to_owned()
                } else {
                    owner.clone()
                };
                return Err(ConfigError::new(
                    format!("paseto.{field}"),
                    format_args!("cookie name `{name}` is already used by {other}"),
                ));
            }
        }
        if !is_token(&jar.csrf_cookie) {
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
        if jar.ttl == 0 || jar.ttl > MAX_TTL.as_secs() {
            return Err(ConfigError::new(
                "paseto.cookies.ttl",
                format_args!("must be between 1 and {} seconds", MAX_TTL.as_secs()),
            ));
        }

        if self.leeway > MAX_LEEWAY.as_secs() {
            return Err(ConfigError::new(
                "paseto.leeway",
                format_args!("must be at most {} seconds", MAX_LEEWAY.as_secs()),
            ));
        }
        let longest_session_kind = kinds
            .iter()
            .filter(|k| matches!(k.name(), "access" | "refresh" | crate::remember::KIND))
            .max_by_key(|k| k.ttl());
        if self.session_ttl > MAX_TTL.as_secs() {
            return Err(ConfigError::new(
                "paseto.session_ttl",
                format_args!("must be at most {} seconds", MAX_TTL.as_secs()),
            ));
        }
        if let Some(kind) = longest_session_kind
            && self.session_ttl < kind.ttl().as_secs()
        {
            return Err(ConfigError::new(
                "paseto.session_ttl",
                format_args!(
                    "must be at least the {} token lifetime ({} seconds): a login outlives its tokens",
                    kind.name(),
                    kind.ttl().as_secs()
                ),
            ));
        }
        if !(256..=65536).contains(&self.max_token_length) {
            return Err(ConfigError::new(
                "paseto.max_token_length",
                "must be between 256 and 65536",
            ));
        }
        if self.cache_size > 1_000_000 {
            return Err(ConfigError::new(
                "paseto.cache_size",
                "must be at most 1000000",
            ));
        }
        if !is_token(&self.header) {
            return Err(ConfigError::new(
                "paseto.header",
                "is not a valid header name",
            ));
        }
        if !is_token(&self.scheme) {
            return Err(ConfigError::new(
                "paseto.scheme",
                "is not a valid authentication scheme",
            ));
        }
        let mut warnings = Vec::new();
        let mut csrf_exempt = Vec::with_capacity(self.csrf_exempt_methods.len());
        for (i, name) in self.csrf_exempt_methods.iter().enumerate() {
            let method = name.parse::<rocket::http::Method>().map_err(|_| {
                ConfigError::new(
                    format!("paseto.csrf_exempt_methods[{i}]"),
                    "is not an HTTP method",
                )
            })?;
            use rocket::http::Method::{Get, Head, Options, Trace};
            if !matches!(method, Get | Head | Options | Trace) {
                warnings.push(format!(
                    "paseto.csrf_exempt_methods lists {method}, which may change state: cookie-borne \
                     tokens on {method} requests are not protected against CSRF"
                ));
            }
            csrf_exempt.push(method);
        }
        if self.csrf && !is_token(&self.csrf_header) {
            return Err(ConfigError::new(
                "paseto.csrf_header",
                "is not a valid header name",
            ));
        }
        let allowed_origins = self
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
            .collect::<Result<Vec<_>, _>>()?;
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

        let key_error = |field: String| move |e: KeyError| ConfigError::new(field, e);
        let secret = one_key(
            self.secret_key.as_deref(),
            self.secret_key_file.as_deref(),
            "secret_key",
        )?
        .map(|(text, field)| SecretKey::parse(&text).map_err(key_error(field)))
        .transpose()?;
        let inline: Vec<String> = self
            .public_keys
            .iter()
            .map(|e| e.key().to_owned())
            .collect();
        let public = key_list(&inline, &self.public_key_files, "public_key")?
            .into_iter()
            .map(|(text, field)| PublicKey::parse(&text).map_err(key_error(field)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut key_issuers: Vec<(crate::token::KeyId, String)> = Vec::new();
        for (i, (entry, key)) in self.public_keys.iter().zip(&public).enumerate() {
            let Some(issuer) = entry.issuer() else {
                continue;
            };
            let field = format!("paseto.public_keys[{i}].issuer");
            if issuer.is_empty() {
                return Err(ConfigError::new(field, "must not be empty"));
            }
            if self
                .issuer
                .as_deref()
                .is_some_and(|global| global != issuer)
            {
                return Err(ConfigError::new(
                    field,
                    "differs from `paseto.issuer`, which every token must also carry",
                ));
            }
            if key_issuers
                .iter()
                .any(|(id, other)| id == key.id() && other != issuer)
            {
                return Err(ConfigError::new(
                    field,
                    "this key is already bound to another issuer",
                ));
            }
            key_issuers.push((key.id().clone(), issuer.to_owned()));
        }
        let previous = key_list(
            &self.previous_local_keys,
            &self.previous_local_key_files,
            "previous_local_key",
        )?
        .into_iter()
        .map(|(text, field)| LocalKey::from_paserk(&text).map_err(key_error(field)))
        .collect::<Result<Vec<_>, _>>()?;
        let mut local = one_key(
            self.local_key.as_deref(),
            self.local_key_file.as_deref(),
            "local_key",
        )?
        .map(|(text, field)| LocalKey::from_paserk(&text).map_err(key_error(field)))
        .transpose()?;

        let mut ephemeral_local_key = false;
        if local.is_none() && needs_local {
            if *profile == rocket::Config::DEBUG_PROFILE {
                local = Some(LocalKey::generate().map_err(key_error("paseto.local_key".into()))?);
                ephemeral_local_key = true;
            } else {
                let users: Vec<_> = kinds
                    .iter()
                    .filter(|k| k.purpose() == Purpose::Local && k.name() != crate::remember::KIND)
                    .map(|k| k.name().to_owned())
                    .collect();
                return Err(ConfigError::new(
                    "paseto.local_key",
                    format_args!(
                        "is required outside the debug profile: {} tokens use purpose \"local\"",
                        users.join(", ")
                    ),
                ));
            }
        }
        let needs_public = kinds.iter().find(|k| k.purpose() == Purpose::Public);
        if let Some(kind) = needs_public
            && secret.is_none()
            && public.is_empty()
        {
            return Err(ConfigError::new(
                "paseto.secret_key",
                format_args!(
                    "{} tokens use purpose \"public\", so `secret_key` (or, to only verify, `public_keys`) is required",
                    kind.name()
                ),
            ));
        }

        let mut rules = Rules::new(kinds)
            .leeway(Duration::from_secs(self.leeway))
            .max_token_length(self.max_token_length);
        if let Some(issuer) = &self.issuer {
            rules = rules.issuer(issuer.clone());
        }
        if let Some(audience) = &self.audience {
            rules = rules.audience(audience.clone());
        }
        let mut authority = Authority::new(local, secret, public, rules)
            .with_previous_local_keys(previous)
            .with_cache(self.cache_size);
        for (id, issuer) in key_issuers {
            authority = authority.with_key_issuer(&id, issuer);
        }
        let revocation = self.revocation.plan(authority.rules().kinds())?;
        Ok(Loaded {
            revocation,
            session_ttl: Duration::from_secs(self.session_ttl),
            authority,
            web: Web {
                header: self.header.clone(),
                scheme: self.scheme.clone(),
                csrf_header: self.csrf.then(|| self.csrf_header.clone()),
                csrf_exempt,
                cookies,
                cookie_paths,
                secure: jar.secure,
                same_site,
                csrf_cookie: jar.csrf_cookie.clone(),
                jar_ttl: Duration::from_secs(jar.ttl),
                remember_cookie,
                renew_after: remember.renew_after,
                allowed_origins,
            },
            ephemeral_local_key,
            warnings,
        })
    }
}

impl RevocationConfig {
    fn plan(&self, kinds: &[KindRules]) -> Result<RevocationPlan, ConfigError> {
        let mut checked = vec![false; kinds.len()];
        for (i, name) in self.kinds.iter().enumerate() {
            let index = kinds
                .iter()
                .position(|k| k.name() == name.as_str())
                .ok_or_else(|| {
                    ConfigError::new(
                        format!("paseto.revocation.kinds[{i}]"),
                        "names no registered token kind",
                    )
                })?;
            checked[index] = true;
        }
        if self.rotation_grace > 300 {
            return Err(ConfigError::new(
                "paseto.revocation.rotation_grace",
                "must be at most 300 seconds",
            ));
        }
        if self.timeout_ms == 0 || self.timeout_ms > 60_000 {
            return Err(ConfigError::new(
                "paseto.revocation.timeout_ms",
                "must be between 1 and 60000 milliseconds",
            ));
        }
        let store = match (self.store, &self.url) {
            (None, None) => None,
            (Some(StoreKind::Memory), None) => Some(StoreChoice::Memory),
            (Some(StoreKind::Redis), Some(url)) => {
                if !cfg!(feature = "redis") {
                    return Err(ConfigError::new(
                        "paseto.revocation.store",
                        "\"redis\" needs the cargo feature `redis` of rocket_paseto",
                    ));
                }
                Some(StoreChoice::Redis {
                    url: url.clone(),
                    prefix: self.prefix.clone(),
                    timeout: Duration::from_millis(self.timeout_ms),
                })
            }
            (Some(StoreKind::Redis), None) => {
                return Err(ConfigError::new(
                    "paseto.revocation.url",
                    "is required with store = \"redis\"",
                ));
            }
            (_, Some(_)) => {
                return Err(ConfigError::new(
                    "paseto.revocation.url",
                    "is only used with store = \"redis\"",
                ));
            }
        };
        Ok(RevocationPlan {
            store,
            kinds_set: self.kinds != defaults::revocation_kinds(),
            checked,
            on_error: self.on_error,
            grace: Duration::from_secs(self.rotation_grace),
        })
    }
}

/// A key given inline (`name`) or in a file (`name_file`), with the field to blame for it.
fn one_key(
    inline: Option<&str>,
    file: Option<&str>,
    name: &str,
) -> Result<Option<(String, String)>, ConfigError> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(ConfigError::new(
            format!("paseto.{name}_file"),
            format_args!("set either `{name}` or `{name}_file`, not both"),
        )),
        (Some(key), None) => Ok(Some((key.to_owned(), format!("paseto.{name}")))),
        (None, Some(path)) => read_key(path, format!("paseto.{name}_file")).map(Some),
        (None, None) => Ok(None),
    }
}

/// Keys given inline (`names`) and in files (`name_files`), each with the field to blame.
fn key_list(
    inline: &[String],
    files: &[String],
    name: &str,
) -> Result<Vec<(String, String)>, ConfigError> {
    let inline = inline
        .iter()
        .enumerate()
        .map(|(i, key)| Ok((key.clone(), format!("paseto.{name}s[{i}]"))));
    let files = files
        .iter()
        .enumerate()
        .map(|(i, path)| read_key(path, format!("paseto.{name}_files[{i}]")));
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
/// would drop the cookie, and logins would silently fail. This crate never sets `Domain`;
/// `path` is the cookie's configurable `Path`, as (field, value), if it has one.
fn check_prefix(
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
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Describes a Figment error without the offending value.
fn describe(kind: &Kind) -> String {
    fn actual(a: &Actual) -> String {
        match a {
            Actual::Str(_) => "a string".into(),
            Actual::Char(_) => "a character".into(),
            Actual::Bytes(_) => "bytes".into(),
            Actual::Other(_) => "a value".into(),
            other => other.to_string(),
        }
    }
    match kind {
        Kind::InvalidType(a, expected) => format!("found {}, expected {expected}", actual(a)),
        Kind::InvalidValue(a, expected) => {
            format!("invalid value {}, expected {expected}", actual(a))
        }
        Kind::UnknownVariant(_, expected) => format!("unknown value, expected one of {expected:?}"),
        Kind::UnknownField(field, _) => format!("unknown setting `{field}`"),
        Kind::Message(_) => "invalid value".into(),
        other => other.to_string(),
    }
}
