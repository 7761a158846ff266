//! The token core: keys, claims, minting and strict verification, free of Rocket types.
//!
//! [`Authority`] holds the keyring and the rules and does all the work; the Rocket glue in this
//! crate only finds a token in a request and hands it here. It is public so tokens can be minted
//! and checked outside a request too (tests, background jobs, other transports), and benchmarked
//! on its own.
//!
//! ```
//! use rocket_paseto::token::{Authority, KindRules, LocalKey, Purpose, Rules};
//! use std::time::Duration;
//!
//! let rules = Rules::new(vec![KindRules::new("access", Purpose::Local, Duration::from_secs(900))]);
//! let authority = Authority::new(Some(LocalKey::generate()?), None, vec![], rules);
//!
//! let token = authority.mint("access", "alice", None, None::<&()>)?;
//! let verified = authority.verify("access", &token, time::OffsetDateTime::now_utc())?;
//! assert_eq!(verified.claims().sub, "alice");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cache;
mod claims;
mod keys;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ct_codecs::{Base64UrlSafeNoPadding, Encoder};
use pasetors::token::{Local, Public, UntrustedToken};
use pasetors::version4::{LocalToken, PublicToken, V4};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use claims::{Claims, REGISTERED_CLAIMS};
pub use keys::{KeyError, KeyId, LocalKey, PublicKey, SecretKey};

use claims::ClaimsError;

/// The default cap on a token's length, in bytes, checked before anything is decoded.
pub const DEFAULT_MAX_TOKEN_LENGTH: usize = 4096;

/// The longest lifetime a token may be given: a year and a day.
pub const MAX_TTL: Duration = Duration::from_secs(366 * 24 * 60 * 60);

/// The most clock skew [`Rules::leeway`] accepts: ten minutes.
pub const MAX_LEEWAY: Duration = Duration::from_secs(600);

/// The longest footer accepted, in bytes once decoded. Ours is about 60.
const MAX_FOOTER: usize = 512;

/// A token purpose: `v4.local` (encrypted with a shared key) or `v4.public` (signed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    /// `v4.local`: authenticated encryption with the shared `local_key`. Claims are private.
    Local,
    /// `v4.public`: Ed25519 signatures. Anyone with the public key can verify; claims are readable.
    Public,
}

impl Purpose {
    fn header(self) -> &'static str {
        match self {
            Purpose::Local => LocalToken::HEADER,
            Purpose::Public => PublicToken::HEADER,
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Purpose::Local => "local",
            Purpose::Public => "public",
        })
    }
}

/// How tokens of one kind are minted and verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindRules {
    name: String,
    purpose: Purpose,
    ttl: Duration,
    fresh_for: Option<Duration>,
}

impl KindRules {
    /// Rules for the kind `name` (its `type` claim), with its purpose and default lifetime.
    pub fn new(name: impl Into<String>, purpose: Purpose, ttl: Duration) -> Self {
        KindRules {
            name: name.into(),
            purpose,
            ttl,
            fresh_for: None,
        }
    }

    /// Fresh tokens of this kind stay fresh for `period` only, not their whole life.
    pub fn fresh_for(mut self, period: Duration) -> Self {
        self.fresh_for = Some(period);
        self
    }

    /// The kind's name, which tokens carry as their `type` claim.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The purpose every token of this kind must have.
    pub fn purpose(&self) -> Purpose {
        self.purpose
    }

    /// The lifetime given to new tokens unless the issuer says otherwise.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }
}

/// Verification and minting rules shared by all kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    kinds: Vec<KindRules>,
    issuer: Option<String>,
    audience: Option<String>,
    leeway: Duration,
    max_token_length: usize,
}

impl Rules {
    /// Rules for these kinds, with no `iss`/`aud`, no leeway and the default length cap.
    pub fn new(kinds: Vec<KindRules>) -> Self {
        Rules {
            kinds,
            issuer: None,
            audience: None,
            leeway: Duration::ZERO,
            max_token_length: DEFAULT_MAX_TOKEN_LENGTH,
        }
    }

    /// Stamp `iss` on new tokens and require it on verification.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Stamp `aud` on new tokens and require it (as a string or in an array) on verification.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat`, at most [`MAX_LEEWAY`] (larger values are
    /// clamped).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway.min(MAX_LEEWAY);
        self
    }

    /// Tokens longer than this are rejected before any decoding.
    pub fn max_token_length(mut self, max: usize) -> Self {
        self.max_token_length = max;
        self
    }

    /// The length cap on tokens, in bytes.
    pub fn max_token_length_limit(&self) -> usize {
        self.max_token_length
    }

    /// The clock skew tolerated on `exp`, `nbf` and `iat`.
    pub fn leeway_limit(&self) -> Duration {
        self.leeway
    }

    /// The rules for the kind `name`, if there is such a kind.
    pub fn kind(&self, name: &str) -> Option<&KindRules> {
        self.kinds.iter().find(|k| k.name == name)
    }

    /// Every configured kind.
    pub fn kinds(&self) -> &[KindRules] {
        &self.kinds
    }
}

/// Why a token was rejected. For logs and tests only: clients are never told which check failed.
///
/// Neither `Debug` nor `Display` include any part of the token or its claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// Longer than the configured maximum.
    #[error("token is longer than the configured maximum")]
    TooLong,
    /// Not `v4.local.` / `v4.public.` as configured for the kind (including other versions).
    #[error("token does not have the version and purpose configured for its kind")]
    WrongPurpose,
    /// Not a well-formed token: bad segments, trailing dot, bad or non-canonical base64.
    #[error("token is malformed")]
    Malformed,
    /// The footer is not a small JSON object with unique keys, or its `kid` is not a key id of
    /// the right type.
    #[error("token footer is invalid")]
    Footer,
    /// The footer's `kid` names no key in the keyring.
    #[error("token names a key that is not in the keyring")]
    UnknownKey,
    /// The keyring has no key for the kind's purpose.
    #[error("no key is configured for this purpose")]
    NoKey,
    /// Decryption or signature verification failed.
    #[error("token failed authentication")]
    Crypto,
    /// The payload is not a JSON object of well-typed claims without duplicate keys.
    #[error("token payload is not a valid claims object")]
    Payload,
    /// A required claim is missing.
    #[error("token lacks the `{0}` claim")]
    MissingClaim(&'static str),
    /// A time claim is not RFC 3339 with uppercase `T` and `Z`.
    #[error("token's `{0}` claim is not a valid RFC 3339 time")]
    BadTime(&'static str),
    /// `exp` is in the past beyond the leeway.
    #[error("token has expired")]
    Expired,
    /// `nbf` is in the future beyond the leeway.
    #[error("token is not valid yet")]
    NotYetValid,
    /// `iat` is in the future beyond the leeway.
    #[error("token was issued in the future")]
    IssuedInFuture,
    /// `iss` is absent or does not match the configured issuer.
    #[error("token's issuer does not match")]
    Issuer,
    /// `aud` is absent or does not contain the configured audience.
    #[error("token's audience does not match")]
    Audience,
    /// The `type` claim is not this kind's name.
    #[error("token is of another kind")]
    WrongKind,
    /// The kind is not configured.
    #[error("no such token kind is configured")]
    UnknownKind,
    /// The token, or its family, has been revoked; or a refresh token was used twice.
    #[error("token has been revoked")]
    Revoked,
    /// The claims did not deserialise into the route's claims type.
    #[error("token claims do not match the expected claims type")]
    ClaimsType,
}

/// Why a token could not be minted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The kind is not configured.
    #[error("no token kind named `{0}` is configured")]
    UnknownKind(String),
    /// The kind's purpose needs a key this service does not have (e.g. a verifier-only service).
    #[error("no {0} key is configured, so `{1}` tokens cannot be minted here")]
    NoKey(Purpose, String),
    /// Extra claims tried to set a claim the crate sets itself.
    #[error("extra claims may not set the registered claim `{0}`")]
    ReservedClaim(String),
    /// Extra claims did not serialise to a JSON object.
    #[error("extra claims must serialise to a JSON object")]
    NotAnObject,
    /// The `csrf` claim is not a string.
    #[error("the `csrf` claim must be a string")]
    CsrfNotAString,
    /// The requested lifetime is zero or longer than [`MAX_TTL`].
    #[error("a token lifetime must be between 1 second and {} days", MAX_TTL.as_secs() / 86400)]
    Ttl,
    /// Serialisation or the cryptography failed.
    #[error("the token could not be built")]
    Build,
}

/// A token that passed every check.
#[derive(Clone)]
pub struct Verified {
    token: String,
    payload: String,
    claims: Claims,
}

impl Verified {
    /// The token as it was presented.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The decrypted or verified JSON payload.
    pub fn payload(&self) -> &str {
        &self.payload
    }

    /// The registered claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }
}

impl AsRef<Claims> for Verified {
    fn as_ref(&self) -> &Claims {
        &self.claims
    }
}

impl fmt::Debug for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

/// A local or public key together with the footer that names it, both computed once.
struct Keyed<K> {
    key: K,
    footer: Vec<u8>,
}

impl<K> Keyed<K> {
    fn new(key: K, id: &KeyId) -> Self {
        Keyed {
            key,
            footer: serde_json::to_vec(&Footer { kid: id.as_str() }).unwrap_or_default(),
        }
    }
}

/// How a token is minted, beyond its kind, subject and extra claims.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct MintOptions<'a> {
    /// The token's lifetime, if not the kind's.
    pub ttl: Option<Duration>,
    /// An implicit assertion the token is bound to.
    pub implicit: Option<&'a [u8]>,
    /// Whether the token is fresh (minted from a password login).
    pub fresh: bool,
    /// The family (`fam`) the token belongs to.
    pub family: Option<&'a str>,
}

/// The payload of a sealed value.
#[derive(Serialize)]
struct SealedOut<'a, T: ?Sized> {
    exp: String,
    iat: String,
    v: &'a T,
}

#[derive(Serialize, Deserialize)]
struct Footer<'a> {
    kid: &'a str,
}

/// The keyring and rules: mints tokens and verifies them strictly.
pub struct Authority {
    local: Option<Keyed<LocalKey>>,
    previous_local: Vec<LocalKey>,
    secret: Option<Keyed<SecretKey>>,
    public: Vec<PublicKey>,
    rules: Rules,
    cache: Option<cache::VerifiedCache>,
    cache_capacity: usize,
    /// Public keys bound to an issuer, by key id: their tokens must carry that `iss`, and no
    /// other key may vouch for that issuer.
    key_issuers: Vec<(KeyId, String)>,
}

impl fmt::Debug for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authority")
            .field("local", &self.local.as_ref().map(|k| k.key.id()))
            .field("secret", &self.secret.as_ref().map(|k| k.key.id()))
            .field(
                "public",
                &self.public.iter().map(PublicKey::id).collect::<Vec<_>>(),
            )
            .field("rules", &self.rules)
            .field("key_issuers", &self.key_issuers)
            .field("cached_tokens", &self.cached_tokens())
            .finish()
    }
}

impl Authority {
    /// An authority with the current local key, the signing key, extra verification-only public
    /// keys and the rules. The signing key's public half is trusted automatically.
    pub fn new(
        local: Option<LocalKey>,
        secret: Option<SecretKey>,
        public: Vec<PublicKey>,
        rules: Rules,
    ) -> Self {
        let mut trusted: Vec<PublicKey> = Vec::with_capacity(public.len() + 1);
        if let Some(secret) = &secret {
            // Re-derive so the keyring owns an independent copy of the public half.
            if let Ok(own) = PublicKey::from_paserk(&secret.public_key().to_paserk()) {
                trusted.push(own);
            }
        }
        for key in public {
            if !trusted.iter().any(|k| k.id() == key.id()) {
                trusted.push(key);
            }
        }
        Authority {
            local: local.map(|k| {
                let id = k.id().clone();
                Keyed::new(k, &id)
            }),
            previous_local: Vec::new(),
            secret: secret.map(|k| {
                let id = k.id().clone();
                Keyed::new(k, &id)
            }),
            public: trusted,
            rules,
            cache: None,
            cache_capacity: 0,
            key_issuers: Vec::new(),
        }
    }

    /// Binds the public key `id` to `issuer`: tokens it verifies must carry `iss` equal to
    /// `issuer` (on top of the configured `issuer`, if any). For verifier-only services that
    /// trust several issuers, each with its own key.
    pub fn with_key_issuer(mut self, id: &KeyId, issuer: impl Into<String>) -> Self {
        self.key_issuers.retain(|(k, _)| k != id);
        self.key_issuers.push((id.clone(), issuer.into()));
        self.reset_cache();
        self
    }

    /// Forgets cached verifications: the keyring or its bindings changed.
    fn reset_cache(&mut self) {
        self.cache = cache::VerifiedCache::new(self.cache_capacity);
    }

    /// Caches up to about `capacity` verified tokens (0 turns caching off, the default here).
    ///
    /// [`verify_cached`](Self::verify_cached) then accepts a token it verified recently without
    /// repeating the cryptography or the parsing; the time claims, kind, issuer and audience
    /// are still checked on every call, so a hit gives exactly the answer a miss would.
    pub fn with_cache(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self.reset_cache();
        self
    }

    /// How many verified tokens are cached now.
    pub fn cached_tokens(&self) -> usize {
        self.cache.as_ref().map_or(0, cache::VerifiedCache::len)
    }

    /// Keys that still decrypt local tokens (found by their `kid`) but never encrypt new ones.
    pub fn with_previous_local_keys(mut self, keys: Vec<LocalKey>) -> Self {
        self.previous_local = keys;
        self.reset_cache();
        self
    }

    /// The rules in force.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The current local key, if any.
    pub fn local_key(&self) -> Option<&LocalKey> {
        self.local.as_ref().map(|k| &k.key)
    }

    /// The signing key, if any.
    pub fn secret_key(&self) -> Option<&SecretKey> {
        self.secret.as_ref().map(|k| &k.key)
    }

    /// Every trusted public key, the signing key's own first.
    pub fn public_keys(&self) -> &[PublicKey] {
        &self.public
    }

    /// Mints a token of kind `kind` for `subject`, with an optional lifetime (else the kind's) and
    /// optional extra claims, which must serialise to a JSON object without registered names.
    pub fn mint<T: Serialize + ?Sized>(
        &self,
        kind: &str,
        subject: &str,
        ttl: Option<Duration>,
        extra: Option<&T>,
    ) -> Result<String, IssueError> {
        self.mint_bound(kind, subject, ttl, extra, None)
    }

    /// [`mint`](Self::mint), bound to an implicit assertion: the token only verifies with the
    /// same assertion (e.g. the name of the cookie that carries it), never as a bearer token.
    pub fn mint_bound<T: Serialize + ?Sized>(
        &self,
        kind: &str,
        subject: &str,
        ttl: Option<Duration>,
        extra: Option<&T>,
        implicit: Option<&[u8]>,
    ) -> Result<String, IssueError> {
        self.mint_with(
            kind,
            subject,
            extra,
            MintOptions {
                ttl,
                implicit,
                ..MintOptions::default()
            },
        )
    }

    /// [`mint`](Self::mint) of a fresh token: one minted from a password login, which routes
    /// can require for sensitive actions. It stays fresh for the kind's `fresh_for` period, or
    /// its whole life.
    pub fn mint_fresh<T: Serialize + ?Sized>(
        &self,
        kind: &str,
        subject: &str,
        ttl: Option<Duration>,
        extra: Option<&T>,
    ) -> Result<String, IssueError> {
        self.mint_with(
            kind,
            subject,
            extra,
            MintOptions {
                ttl,
                fresh: true,
                ..MintOptions::default()
            },
        )
    }

    /// Mints a token with every option the public `mint*` methods offer, and token families.
    pub(crate) fn mint_with<T: Serialize + ?Sized>(
        &self,
        kind: &str,
        subject: &str,
        extra: Option<&T>,
        options: MintOptions<'_>,
    ) -> Result<String, IssueError> {
        let MintOptions {
            ttl,
            implicit,
            fresh,
            family,
        } = options;
        let rules = self
            .rules
            .kind(kind)
            .ok_or_else(|| IssueError::UnknownKind(kind.to_owned()))?;
        let ttl = ttl.unwrap_or(rules.ttl);
        if ttl.is_zero() || ttl > MAX_TTL {
            return Err(IssueError::Ttl);
        }
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .map_err(|_| IssueError::Build)?;
        let exp = now + ttl;

        let mut claims = match extra {
            None => serde_json::Map::new(),
            Some(extra) => {
                match serde_json::to_value(extra).map_err(|_| IssueError::NotAnObject)? {
                    serde_json::Value::Object(map) => map,
                    serde_json::Value::Null => serde_json::Map::new(),
                    _ => return Err(IssueError::NotAnObject),
                }
            }
        };
        if let Some(name) = REGISTERED_CLAIMS.iter().find(|n| claims.contains_key(**n)) {
            return Err(IssueError::ReservedClaim((*name).to_owned()));
        }
        if claims.get("csrf").is_some_and(|v| !v.is_string()) {
            return Err(IssueError::CsrfNotAString);
        }
        let now_s = claims::format_time(now);
        claims.insert("sub".into(), subject.into());
        claims.insert("exp".into(), claims::format_time(exp).into());
        claims.insert("iat".into(), now_s.clone().into());
        claims.insert("nbf".into(), now_s.into());
        claims.insert("jti".into(), random_id()?.into());
        claims.insert("type".into(), rules.name.clone().into());
        if fresh {
            let until = rules.fresh_for.map_or(exp, |period| now + period.min(ttl));
            claims.insert("fresh".into(), claims::format_time(until).into());
        }
        if let Some(family) = family {
            claims.insert("fam".into(), family.into());
        }
        if let Some(iss) = &self.rules.issuer {
            claims.insert("iss".into(), iss.clone().into());
        }
        if let Some(aud) = &self.rules.audience {
            claims.insert("aud".into(), aud.clone().into());
        }
        let payload = serde_json::to_vec(&claims).map_err(|_| IssueError::Build)?;

        match rules.purpose {
            Purpose::Local => {
                let keyed = self
                    .local
                    .as_ref()
                    .ok_or_else(|| IssueError::NoKey(Purpose::Local, kind.to_owned()))?;
                LocalToken::encrypt(keyed.key.inner(), &payload, Some(&keyed.footer), implicit)
                    .map_err(|_| IssueError::Build)
            }
            Purpose::Public => {
                let keyed = self
                    .secret
                    .as_ref()
                    .ok_or_else(|| IssueError::NoKey(Purpose::Public, kind.to_owned()))?;
                PublicToken::sign(keyed.key.inner(), &payload, Some(&keyed.footer), implicit)
                    .map_err(|_| IssueError::Build)
            }
        }
    }

    /// Verifies `token` as a token of kind `kind` at time `now`.
    ///
    /// The purpose comes from the kind's rules and the key from this keyring (by the footer's
    /// `kid`, or the current key when there is no `kid`), never from the token itself.
    pub fn verify(
        &self,
        kind: &str,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Verified, Rejection> {
        let rules = self.rules.kind(kind).ok_or(Rejection::UnknownKind)?;
        self.verify_kind(rules, token, now, None)
    }

    /// [`verify`](Self::verify) through the cache set up by [`with_cache`](Self::with_cache).
    pub fn verify_cached(
        &self,
        kind: &str,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Arc<Verified>, Rejection> {
        let index = self
            .rules
            .kinds
            .iter()
            .position(|k| k.name == kind)
            .ok_or(Rejection::UnknownKind)?;
        self.verify_indexed(index, token, now)
    }

    /// [`verify_cached`](Self::verify_cached) with the kind given by its index in the rules.
    pub(crate) fn verify_indexed(
        &self,
        index: usize,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Arc<Verified>, Rejection> {
        let rules = self.rules.kinds.get(index).ok_or(Rejection::UnknownKind)?;
        let Some(cache) = &self.cache else {
            return self.verify_kind(rules, token, now, None).map(Arc::new);
        };
        // The cheap refusals come before hashing, so garbage costs as little as without a cache.
        if token.len() > self.rules.max_token_length {
            return Err(Rejection::TooLong);
        }
        if !token.starts_with(rules.purpose.header()) {
            return Err(Rejection::WrongPurpose);
        }
        if let Some(hit) = cache.get(index, token) {
            self.check_claims(rules, hit.claims(), now)?;
            return Ok(hit);
        }
        let verified = Arc::new(self.verify_kind(rules, token, now, None)?);
        // Past `exp` by more than the leeway, a token can never verify again: such entries are
        // the first to go.
        cache.insert(index, verified.clone(), now - self.rules.leeway);
        Ok(verified)
    }

    /// [`verify`](Self::verify) of a token minted with [`mint_bound`](Self::mint_bound).
    pub fn verify_bound(
        &self,
        kind: &str,
        token: &str,
        now: OffsetDateTime,
        implicit: &[u8],
    ) -> Result<Verified, Rejection> {
        let rules = self.rules.kind(kind).ok_or(Rejection::UnknownKind)?;
        self.verify_kind(rules, token, now, Some(implicit))
    }

    /// Encrypts `value` as a `v4.local` token bound to `binding` (an implicit assertion, such as
    /// a cookie's name) that expires after `ttl`: the private-cookie format.
    pub fn seal<T: Serialize + ?Sized>(
        &self,
        binding: &[u8],
        value: &T,
        ttl: Duration,
    ) -> Result<String, IssueError> {
        if ttl.is_zero() || ttl > MAX_TTL {
            return Err(IssueError::Ttl);
        }
        let keyed = self
            .local
            .as_ref()
            .ok_or_else(|| IssueError::NoKey(Purpose::Local, "sealed value".into()))?;
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .map_err(|_| IssueError::Build)?;
        let payload = serde_json::to_vec(&SealedOut {
            exp: claims::format_time(now + ttl),
            iat: claims::format_time(now),
            v: value,
        })
        .map_err(|_| IssueError::Build)?;
        LocalToken::encrypt(
            keyed.key.inner(),
            &payload,
            Some(&keyed.footer),
            Some(binding),
        )
        .map_err(|_| IssueError::Build)
    }

    /// Decrypts a value made by [`seal`](Self::seal) with the same `binding`, if it has not
    /// expired at `now` (no leeway: the server wrote it with its own clock).
    pub fn unseal<T: DeserializeOwned>(
        &self,
        binding: &[u8],
        token: &str,
        now: OffsetDateTime,
    ) -> Result<T, Rejection> {
        let (payload, _) = self.open(Purpose::Local, token, Some(binding))?;
        let sealed = claims::parse_sealed::<T>(&payload).map_err(|e| match e {
            ClaimsError::Malformed => Rejection::Payload,
            ClaimsError::Missing(name) => Rejection::MissingClaim(name),
            ClaimsError::Time(name) => Rejection::BadTime(name),
        })?;
        if now > sealed.exp {
            return Err(Rejection::Expired);
        }
        Ok(sealed.value)
    }

    /// [`verify`](Self::verify) with the kind's rules already looked up.
    pub(crate) fn verify_kind(
        &self,
        rules: &KindRules,
        token: &str,
        now: OffsetDateTime,
        implicit: Option<&[u8]>,
    ) -> Result<Verified, Rejection> {
        let (payload, bound_issuer) = self.open(rules.purpose, token, implicit)?;
        let claims = claims::parse(&payload).map_err(|e| match e {
            ClaimsError::Malformed => Rejection::Payload,
            ClaimsError::Missing(name) => Rejection::MissingClaim(name),
            ClaimsError::Time(name) => Rejection::BadTime(name),
        })?;
        // A key bound to an issuer only vouches for that issuer's tokens, and a bound issuer's
        // name is only accepted from its own keys.
        match (bound_issuer, claims.iss.as_deref()) {
            (Some(bound), iss) if iss != Some(bound) => return Err(Rejection::Issuer),
            (None, Some(iss)) if self.key_issuers.iter().any(|(_, b)| b == iss) => {
                return Err(Rejection::Issuer);
            }
            _ => {}
        }
        self.check_claims(rules, &claims, now)?;
        Ok(Verified {
            token: token.to_owned(),
            payload,
            claims,
        })
    }

    /// Checks the token's shape, finds its key, and returns the authenticated payload with the
    /// issuer its key is bound to, if any.
    fn open(
        &self,
        purpose: Purpose,
        token: &str,
        implicit: Option<&[u8]>,
    ) -> Result<(String, Option<&str>), Rejection> {
        if token.len() > self.rules.max_token_length {
            return Err(Rejection::TooLong);
        }
        let body = token
            .strip_prefix(purpose.header())
            .ok_or(Rejection::WrongPurpose)?;
        // At most `payload.footer`, each non-empty canonical base64url: no trailing dot, no
        // extra segments, no padding, nothing outside the alphabet.
        let mut segments = body.split('.');
        let (Some(message), footer, None) = (segments.next(), segments.next(), segments.next())
        else {
            return Err(Rejection::Malformed);
        };
        if !is_b64(message) || footer.is_some_and(|f| !is_b64(f)) {
            return Err(Rejection::Malformed);
        }
        if footer.is_some_and(|f| f.len() > MAX_FOOTER * 4 / 3 + 1) {
            return Err(Rejection::Footer);
        }

        let mut bound_issuer = None;
        let payload = match purpose {
            Purpose::Local => {
                let untrusted = UntrustedToken::<Local, V4>::try_from(token)
                    .map_err(|_| Rejection::Malformed)?;
                let key = match kid(untrusted.untrusted_footer(), "k4.lid.")? {
                    None => self
                        .local
                        .as_ref()
                        .map(|k| &k.key)
                        .ok_or(Rejection::NoKey)?,
                    Some(kid) => self.local_by_id(&kid).ok_or(Rejection::UnknownKey)?,
                };
                LocalToken::decrypt(key.inner(), &untrusted, None, implicit)
            }
            Purpose::Public => {
                let untrusted = UntrustedToken::<Public, V4>::try_from(token)
                    .map_err(|_| Rejection::Malformed)?;
                let key = match kid(untrusted.untrusted_footer(), "k4.pid.")? {
                    None => self
                        .secret
                        .as_ref()
                        .map(|k| k.key.public_key())
                        .or(self.public.first())
                        .ok_or(Rejection::NoKey)?,
                    Some(kid) => self
                        .public
                        .iter()
                        .find(|k| k.id().as_str() == kid)
                        .ok_or(Rejection::UnknownKey)?,
                };
                bound_issuer = self
                    .key_issuers
                    .iter()
                    .find(|(id, _)| id == key.id())
                    .map(|(_, issuer)| issuer.as_str());
                PublicToken::verify(key.inner(), &untrusted, None, implicit)
            }
        };
        let trusted = payload.map_err(|e| match e {
            pasetors::errors::Error::PayloadInvalidUtf8 => Rejection::Payload,
            _ => Rejection::Crypto,
        })?;
        Ok((trusted.payload().to_owned(), bound_issuer))
    }

    fn local_by_id(&self, kid: &str) -> Option<&LocalKey> {
        self.local
            .iter()
            .map(|k| &k.key)
            .chain(self.previous_local.iter())
            .find(|k| k.id().as_str() == kid)
    }

    fn check_claims(
        &self,
        rules: &KindRules,
        claims: &Claims,
        now: OffsetDateTime,
    ) -> Result<(), Rejection> {
        // The leeway is applied to `now`, never to the token's times: those may sit at the edge
        // of the representable range, where `time`'s arithmetic would panic.
        let leeway = self.rules.leeway;
        let (earliest, latest) = (now - leeway, now + leeway);
        if earliest > claims.exp {
            return Err(Rejection::Expired);
        }
        if claims.nbf.is_some_and(|nbf| latest < nbf) {
            return Err(Rejection::NotYetValid);
        }
        if claims.iat.is_some_and(|iat| iat > latest) {
            return Err(Rejection::IssuedInFuture);
        }
        if claims.kind != rules.name {
            return Err(Rejection::WrongKind);
        }
        if let Some(iss) = &self.rules.issuer
            && claims.iss.as_deref() != Some(iss.as_str())
        {
            return Err(Rejection::Issuer);
        }
        if let Some(aud) = &self.rules.audience
            && !claims.aud.iter().any(|a| a == aud)
        {
            return Err(Rejection::Audience);
        }
        Ok(())
    }
}

/// Reads the untrusted footer's `kid`, which must be a key id with `prefix` when present.
fn kid<'a>(footer: &'a [u8], prefix: &str) -> Result<Option<Cow<'a, str>>, Rejection> {
    if footer.is_empty() {
        return Ok(None);
    }
    if footer.len() > MAX_FOOTER {
        return Err(Rejection::Footer);
    }
    match claims::footer_kid(footer).map_err(|_| Rejection::Footer)? {
        None => Ok(None),
        Some(kid) if kid.starts_with(prefix) && kid.len() == prefix.len() + 44 => Ok(Some(kid)),
        Some(_) => Err(Rejection::Footer),
    }
}

/// The token in an `Authorization`-style header value `"<scheme> <token>"`, with the scheme
/// matched case-insensitively (RFC 9110) and surrounding spaces ignored. `None` when the scheme
/// differs or no token follows.
///
/// ```
/// use rocket_paseto::token::from_authorization;
/// assert_eq!(from_authorization("bearer v4.local.x", "Bearer"), Some("v4.local.x"));
/// assert_eq!(from_authorization("Basic dXNlcg==", "Bearer"), None);
/// ```
pub fn from_authorization<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (given, token) = value.split_once(' ')?;
    let token = token.trim_matches(' ');
    (given.eq_ignore_ascii_case(scheme) && !token.is_empty()).then_some(token)
}

/// Whether `s` is non-empty canonical unpadded base64url.
fn is_b64(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && keys::is_canonical(s)
}

/// 128 random bits from the operating system's CSPRNG, as 22 characters of unpadded base64url:
/// what issued tokens use as `jti`, and a good `csrf` claim value.
pub fn random_id() -> Result<String, IssueError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| IssueError::Build)?;
    let mut out = [0u8; 22];
    Base64UrlSafeNoPadding::encode_to_str(&mut out, bytes)
        .map(str::to_owned)
        .map_err(|_| IssueError::Build)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules::new(vec![
            KindRules::new("access", Purpose::Local, Duration::from_secs(900)),
            KindRules::new("refresh", Purpose::Local, Duration::from_secs(3600)),
            KindRules::new("signed", Purpose::Public, Duration::from_secs(900)),
        ])
    }

    fn authority() -> Authority {
        Authority::new(
            Some(LocalKey::generate().unwrap()),
            Some(SecretKey::generate().unwrap()),
            vec![],
            rules(),
        )
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    #[test]
    fn mint_and_verify_both_purposes() {
        let a = authority();
        for kind in ["access", "signed"] {
            let t = a
                .mint(
                    kind,
                    "alice",
                    None,
                    Some(&serde_json::json!({"role": "admin"})),
                )
                .unwrap();
            let v = a.verify(kind, &t, now()).unwrap();
            assert_eq!(v.claims().sub, "alice");
            assert_eq!(v.claims().kind, kind);
            assert!(v.payload().contains("\"role\":\"admin\""));
            assert_eq!(v.claims().jti.as_ref().unwrap().len(), 22);
        }
    }

    #[test]
    fn kinds_do_not_cross() {
        let a = authority();
        let refresh = a.mint("refresh", "alice", None, None::<&()>).unwrap();
        assert_eq!(
            a.verify("access", &refresh, now()).unwrap_err(),
            Rejection::WrongKind
        );
        let signed = a.mint("signed", "alice", None, None::<&()>).unwrap();
        assert_eq!(
            a.verify("access", &signed, now()).unwrap_err(),
            Rejection::WrongPurpose
        );
    }

    #[test]
    fn reserved_claims_cannot_be_overridden() {
        let a = authority();
        let err = a
            .mint(
                "access",
                "alice",
                None,
                Some(&serde_json::json!({"exp": "2999-01-01T00:00:00Z"})),
            )
            .unwrap_err();
        assert!(matches!(err, IssueError::ReservedClaim(name) if name == "exp"));
        assert!(matches!(
            a.mint("access", "a", None, Some(&[1, 2])),
            Err(IssueError::NotAnObject)
        ));
        assert!(matches!(
            a.mint("access", "a", Some(Duration::ZERO), None::<&()>),
            Err(IssueError::Ttl)
        ));
    }

    #[test]
    fn footer_kid_selects_the_key_and_unknown_kids_fail_closed() {
        let a = authority();
        let other = authority();
        let t = other.mint("access", "mallory", None, None::<&()>).unwrap();
        assert_eq!(
            a.verify("access", &t, now()).unwrap_err(),
            Rejection::UnknownKey
        );
    }

    #[test]
    fn previous_local_keys_still_verify() {
        let old = LocalKey::generate().unwrap();
        let old_copy = LocalKey::from_paserk(&old.to_paserk()).unwrap();
        let before = Authority::new(Some(old), None, vec![], rules());
        let t = before.mint("access", "alice", None, None::<&()>).unwrap();
        let after = Authority::new(Some(LocalKey::generate().unwrap()), None, vec![], rules())
            .with_previous_local_keys(vec![old_copy]);
        assert!(after.verify("access", &t, now()).is_ok());
    }

    #[test]
    fn shape_checks_come_first() {
        let a = authority();
        let t = a.mint("access", "alice", None, None::<&()>).unwrap();
        assert_eq!(
            a.verify("access", &format!("{t}."), now()).unwrap_err(),
            Rejection::Malformed
        );
        assert_eq!(
            a.verify("access", &format!("{t}.x.y"), now()).unwrap_err(),
            Rejection::Malformed
        );
        assert_eq!(
            a.verify("access", &format!("{t}="), now()).unwrap_err(),
            Rejection::Malformed
        );
        assert_eq!(
            a.verify("access", &t.replacen("v4.", "v3.", 1), now())
                .unwrap_err(),
            Rejection::WrongPurpose
        );
        let long = "v4.local.".to_string() + &"A".repeat(DEFAULT_MAX_TOKEN_LENGTH);
        assert_eq!(
            a.verify("access", &long, now()).unwrap_err(),
            Rejection::TooLong
        );
    }

    #[test]
    fn time_edges_respect_leeway() {
        let leeway = Duration::from_secs(30);
        let a = Authority::new(
            Some(LocalKey::generate().unwrap()),
            None,
            vec![],
            rules().leeway(leeway),
        );
        let t = a
            .mint(
                "access",
                "alice",
                Some(Duration::from_secs(60)),
                None::<&()>,
            )
            .unwrap();
        let exp = a.verify("access", &t, now()).unwrap().claims().exp;
        assert!(a.verify("access", &t, exp + leeway).is_ok());
        assert_eq!(
            a.verify("access", &t, exp + leeway + Duration::from_secs(1))
                .unwrap_err(),
            Rejection::Expired
        );
        let iat = exp - Duration::from_secs(60);
        assert!(a.verify("access", &t, iat - leeway).is_ok());
        assert_eq!(
            a.verify("access", &t, iat - leeway - Duration::from_secs(1))
                .unwrap_err(),
            Rejection::NotYetValid
        );
    }

    #[test]
    fn cache_hits_answer_exactly_like_misses() {
        let a = Authority::new(Some(LocalKey::generate().unwrap()), None, vec![], rules())
            .with_cache(64);
        let t = a
            .mint(
                "access",
                "alice",
                Some(Duration::from_secs(60)),
                None::<&()>,
            )
            .unwrap();
        let first = a.verify_cached("access", &t, now()).unwrap();
        assert_eq!(a.cached_tokens(), 1);
        let again = a.verify_cached("access", &t, now()).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "the second call is a hit");
        // Still checked on a hit: expiry and kind.
        let later = now() + Duration::from_secs(120);
        assert_eq!(
            a.verify_cached("access", &t, later).unwrap_err(),
            Rejection::Expired
        );
        assert_eq!(
            a.verify_cached("refresh", &t, now()).unwrap_err(),
            Rejection::WrongKind
        );
        // Garbage is refused before the cache is consulted, and never cached.
        assert_eq!(
            a.verify_cached("access", "v3.local.x", now()).unwrap_err(),
            Rejection::WrongPurpose
        );
        assert_eq!(a.cached_tokens(), 1);
    }

    #[test]
    fn changing_the_keyring_forgets_cached_verifications() {
        let signer = SecretKey::generate().unwrap();
        let public = PublicKey::from_paserk(&signer.public_key().to_paserk()).unwrap();
        let id = public.id().clone();
        let verifier = Authority::new(None, None, vec![public], rules()).with_cache(64);
        let minter = Authority::new(None, Some(signer), vec![], rules());
        let t = minter.mint("signed", "alice", None, None::<&()>).unwrap();
        assert!(verifier.verify_cached("signed", &t, now()).is_ok());
        assert_eq!(verifier.cached_tokens(), 1);
        // Binding the key to an issuer the token does not name: the cached success is gone.
        let verifier = verifier.with_key_issuer(&id, "https://elsewhere.example");
        assert_eq!(verifier.cached_tokens(), 0);
        assert_eq!(
            verifier.verify_cached("signed", &t, now()).unwrap_err(),
            Rejection::Issuer
        );
    }

    #[test]
    fn the_cache_stays_bounded() {
        let a = Authority::new(Some(LocalKey::generate().unwrap()), None, vec![], rules())
            .with_cache(32);
        for _ in 0..500 {
            let t = a.mint("access", "alice", None, None::<&()>).unwrap();
            a.verify_cached("access", &t, now()).unwrap();
        }
        assert!(a.cached_tokens() <= 32, "{}", a.cached_tokens());
    }

    /// Many users with churn: 800 live tokens in a cache of 1024, each login replaced by a new
    /// one every 10 requests. A token that comes back should still be cached.
    #[test]
    fn a_sliding_window_of_live_tokens_keeps_hitting() {
        const LIVE: usize = 800;
        const REQUESTS_PER_LOGIN: usize = 10;
        const REQUESTS: usize = 25_000;
        let a = Authority::new(Some(LocalKey::generate().unwrap()), None, vec![], rules())
            .with_cache(1024);
        let mint = || a.mint("access", "user", None, None::<&()>).unwrap();
        let mut window: std::collections::VecDeque<(String, Option<Arc<Verified>>)> =
            (0..LIVE).map(|_| (mint(), None)).collect();
        // A fixed xorshift sequence picks the tokens, so runs differ only in the cache's keys.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let (mut returning, mut hits) = (0, 0);
        for request in 0..REQUESTS {
            if request % REQUESTS_PER_LOGIN == 0 {
                window.pop_front();
                window.push_back((mint(), None));
            }
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let (token, last) = &mut window[(seed % LIVE as u64) as usize];
            let verified = a.verify_cached("access", token, now()).unwrap();
            if let Some(last) = last {
                returning += 1;
                hits += usize::from(Arc::ptr_eq(last, &verified));
            }
            *last = Some(verified);
        }
        assert!(a.cached_tokens() <= 1024, "{}", a.cached_tokens());
        let rate = hits as f64 / returning as f64;
        assert!(
            rate >= 0.95,
            "{hits} of {returning} returning tokens hit ({rate:.2})"
        );
    }

    #[test]
    fn expired_tokens_are_evicted_before_live_ones() {
        let a = Authority::new(Some(LocalKey::generate().unwrap()), None, vec![], rules())
            .with_cache(1024);
        let minute = Some(Duration::from_secs(60));
        let hour = Some(Duration::from_secs(3600));
        let expired: Vec<String> = (0..1024)
            .map(|_| a.mint("access", "gone", minute, None::<&()>).unwrap())
            .collect();
        for t in &expired {
            a.verify_cached("access", t, now()).unwrap();
        }
        // Two minutes later those have expired; live tokens arrive in two batches, and the
        // expired ones are presented again in between, so they were used more recently than
        // the first batch.
        let later = now() + Duration::from_secs(120);
        let live: Vec<String> = (0..400)
            .map(|_| a.mint("access", "here", hour, None::<&()>).unwrap())
            .collect();
        let first: Vec<Arc<Verified>> = live[..200]
            .iter()
            .map(|t| a.verify_cached("access", t, later).unwrap())
            .collect();
        for t in &expired {
            assert_eq!(
                a.verify_cached("access", t, later).unwrap_err(),
                Rejection::Expired
            );
        }
        for t in &live[200..] {
            a.verify_cached("access", t, later).unwrap();
        }
        for (t, cached) in live[..200].iter().zip(&first) {
            let again = a.verify_cached("access", t, later).unwrap();
            assert!(Arc::ptr_eq(cached, &again), "a live token was evicted");
        }
        assert!(a.cached_tokens() <= 1024, "{}", a.cached_tokens());
    }

    #[test]
    fn leeway_is_clamped() {
        let rules = rules().leeway(Duration::MAX);
        assert_eq!(rules.leeway, MAX_LEEWAY);
        let a = Authority::new(Some(LocalKey::generate().unwrap()), None, vec![], rules);
        let t = a.mint("access", "a", None, None::<&()>).unwrap();
        assert!(a.verify("access", &t, now()).is_ok());
    }

    #[test]
    fn extreme_times_are_judged_without_overflow() {
        let key = LocalKey::generate().unwrap();
        let paserk = key.to_paserk();
        let a = Authority::new(
            Some(key),
            None,
            vec![],
            rules().leeway(Duration::from_secs(600)),
        );
        let forge = |exp: &str, nbf: &str| {
            let payload = format!(
                r#"{{"sub":"a","type":"access","exp":"{exp}","nbf":"{nbf}","iat":"{nbf}"}}"#
            );
            let k = pasetors::keys::SymmetricKey::<V4>::try_from(paserk.as_str()).unwrap();
            LocalToken::encrypt(&k, payload.as_bytes(), None, None).unwrap()
        };
        let far = forge("9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z");
        assert!(a.verify("access", &far, now()).is_ok());
        let expired = forge("0000-01-01T00:00:00Z", "0000-01-01T00:00:00Z");
        assert_eq!(
            a.verify("access", &expired, now()).unwrap_err(),
            Rejection::Expired
        );
        let future = forge("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z");
        assert_eq!(
            a.verify("access", &future, now()).unwrap_err(),
            Rejection::NotYetValid
        );
        // Times whose UTC form is out of range are malformed, not a panic later on.
        let offset = forge("9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00Z");
        assert_eq!(
            a.verify("access", &offset, now()).unwrap_err(),
            Rejection::BadTime("exp")
        );
    }

    #[test]
    fn issuer_and_audience_are_required_when_configured() {
        let key = LocalKey::generate().unwrap();
        let paserk = key.to_paserk();
        let plain = Authority::new(Some(key), None, vec![], rules());
        let strict = Authority::new(
            Some(LocalKey::from_paserk(&paserk).unwrap()),
            None,
            vec![],
            rules()
                .issuer("https://a.example")
                .audience("https://b.example"),
        );
        let t = plain.mint("access", "alice", None, None::<&()>).unwrap();
        assert_eq!(
            strict.verify("access", &t, now()).unwrap_err(),
            Rejection::Issuer
        );
        let t = strict.mint("access", "alice", None, None::<&()>).unwrap();
        let v = strict.verify("access", &t, now()).unwrap();
        assert_eq!(v.claims().iss.as_deref(), Some("https://a.example"));
        assert_eq!(v.claims().aud, ["https://b.example"]);
    }
}
