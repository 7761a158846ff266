//! Minting tokens: the [`Issuer`] and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};
use rocket::serde::json::Json;
use rocket::{Ignite, Rocket, Sentinel};
use serde::{Deserialize, Serialize};

use crate::config::Web;
use crate::error::AuthError;
use crate::guard::Paseto;
use crate::kind::{Access, Refresh, TokenKind};
use crate::revocation::{Refusal, Revocation, Revoked};
use crate::token::{
    Authority, Claims, IssueError, MintOptions, REGISTERED_CLAIMS, Rejection, Verified, random_id,
};
use time::OffsetDateTime;

/// Mints tokens with the configured keys and rules.
///
/// Managed by [`PasetoFairing`](crate::PasetoFairing): take `&Issuer` as a route argument, or get
/// it with `rocket.state::<Issuer>()`. Cloning is cheap.
///
/// ```
/// # use rocket_paseto::{Issuer, AuthError, TokenPair};
/// # use rocket::serde::json::Json;
/// #[rocket::post("/token")]
/// fn token(issuer: &Issuer) -> Result<TokenPair, AuthError> {
///     Ok(issuer.pair("alice")?)
/// }
///
/// #[rocket::post("/api-token")]
/// fn api_token(issuer: &Issuer) -> Result<String, AuthError> {
///     let token = issuer
///         .access("alice")
///         .claim("scope", "reports:read")
///         .ttl(std::time::Duration::from_secs(60))
///         .issue()?;
///     Ok(token)
/// }
/// ```
#[derive(Clone)]
pub struct Issuer {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub authority: Authority,
    pub web: Web,
    pub revocation: Option<Revocation>,
    /// How long a login (a token family) lasts: `paseto.session_ttl`.
    pub session_ttl: Duration,
}

/// Where a new token goes: a family and when that family ends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Family<'a> {
    pub id: &'a str,
    pub end: OffsetDateTime,
}

impl<'a> Family<'a> {
    /// The family of the token with these claims.
    pub(crate) fn of(claims: &'a Claims) -> Option<Self> {
        Some(Family {
            id: claims.family()?,
            end: claims.family_end(),
        })
    }
}

impl From<Refusal> for AuthError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Revoked(rejection) => AuthError::Invalid(rejection),
            Refusal::Unavailable => AuthError::Unavailable,
        }
    }
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("authority", &self.shared.authority)
            .finish_non_exhaustive()
    }
}

impl Issuer {
    pub(crate) fn new(
        authority: Authority,
        web: Web,
        revocation: Option<Revocation>,
        session_ttl: Duration,
    ) -> Self {
        Issuer {
            shared: Arc::new(Shared {
                authority,
                web,
                revocation,
                session_ttl,
            }),
        }
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The token core: keys, rules, minting and verification without Rocket.
    pub fn authority(&self) -> &Authority {
        &self.shared.authority
    }

    /// Starts an access token for `subject`.
    pub fn access(&self, subject: impl Into<String>) -> TokenBuilder<'_> {
        self.kind::<Access>(subject)
    }

    /// Starts a refresh token for `subject`.
    pub fn refresh(&self, subject: impl Into<String>) -> TokenBuilder<'_> {
        self.kind::<Refresh>(subject)
    }

    /// Starts a token of kind `K` for `subject`.
    pub fn kind<K: TokenKind>(&self, subject: impl Into<String>) -> TokenBuilder<'_> {
        TokenBuilder {
            issuer: self,
            kind: K::NAME,
            subject: subject.into(),
            ttl: None,
            extra: Ok(serde_json::Map::new()),
            fresh: false,
            family: None,
            jti: None,
        }
    }

    /// An access and a refresh token for `subject`, ready to serialise as a login response.
    ///
    /// The two start a new family (`fam`), a login that lasts at most `paseto.session_ttl`:
    /// revoking either revokes both, and every token later obtained with the refresh token.
    pub fn pair(&self, subject: impl Into<String>) -> Result<TokenPair, IssueError> {
        self.pair_with(&subject.into(), false, None, None, |b| b)
    }

    /// [`pair`](Self::pair) for a password login: the access token is fresh (see
    /// [`TokenBuilder::fresh`]); the refresh token never is.
    pub fn fresh_pair(&self, subject: impl Into<String>) -> Result<TokenPair, IssueError> {
        self.pair_with(&subject.into(), true, None, None, |b| b)
    }

    /// A new family: a login starting now.
    pub(crate) fn new_family(&self) -> Result<(String, OffsetDateTime), IssueError> {
        Ok((random_id()?, self.session_end()))
    }

    /// When a login starting now ends.
    pub(crate) fn session_end(&self) -> OffsetDateTime {
        crate::revocation::later(OffsetDateTime::now_utc(), self.shared.session_ttl)
    }

    /// [`pair`](Self::pair), with `extra` applied to both tokens' builders and, when `fresh`,
    /// the access token (never the refresh token) marked fresh. Both join `family`, or a new
    /// family; the refresh token takes `refresh_jti` as its `jti` when given.
    pub(crate) fn pair_with<'a>(
        &'a self,
        subject: &str,
        fresh: bool,
        family: Option<Family<'_>>,
        refresh_jti: Option<&str>,
        extra: impl Fn(TokenBuilder<'a>) -> TokenBuilder<'a>,
    ) -> Result<TokenPair, IssueError> {
        let (id, end) = match family {
            Some(family) => (family.id.to_owned(), family.end),
            None => self.new_family()?,
        };
        let with_family = |mut builder: TokenBuilder<'a>| {
            builder.family = Some((id.clone(), end));
            extra(builder)
        };
        let access = with_family(self.access(subject));
        let access_token = if fresh { access.fresh() } else { access }.issue()?;
        let mut refresh = with_family(self.refresh(subject));
        refresh.jti = refresh_jti.map(str::to_owned);
        let refresh_token = refresh.issue()?;
        Ok(TokenPair {
            access_token,
            refresh_token,
            token_type: self.shared.web.scheme.clone(),
            expires_in: self.ttl_of(Access::NAME).as_secs(),
        })
    }

    /// A new access token from a refresh token, in the refresh token's family: the usual
    /// refresh route when refresh tokens do not rotate. Revoking either token (a logout)
    /// revokes the other.
    ///
    /// ```
    /// # use rocket_paseto::{AccessToken, AuthError, Issuer, Paseto, Refresh};
    /// #[rocket::post("/refresh")]
    /// async fn refresh(token: Paseto<Refresh>, issuer: &Issuer) -> Result<AccessToken, AuthError> {
    ///     issuer.access_from(&token).await
    /// }
    /// ```
    ///
    /// The new token carries the refresh token's extra claims (those beyond the registered
    /// ones) and is never fresh. With a revocation store, the refresh token must be definitely
    /// not revoked, whatever `on_error` says ([`AuthError::Unavailable`] while the store
    /// cannot answer): a revoked login must not grow.
    pub async fn access_from<C: 'static>(
        &self,
        refresh: &Paseto<Refresh, C>,
    ) -> Result<AccessToken, AuthError> {
        let token = self.access_in_family(refresh.verified(), None).await?;
        Ok(AccessToken {
            access_token: token,
            token_type: self.shared.web.scheme.clone(),
            expires_in: self.ttl_of(Access::NAME).as_secs(),
        })
    }

    /// Mints an access token in `refresh`'s family, with its extra claims and `csrf` when it
    /// has none, after a definite "not revoked" from the store.
    pub(crate) async fn access_in_family(
        &self,
        refresh: &Verified,
        csrf: Option<&str>,
    ) -> Result<String, AuthError> {
        let claims = refresh.claims();
        if claims.kind != Refresh::NAME {
            return Err(AuthError::Invalid(Rejection::WrongKind));
        }
        if let Some(revocation) = &self.shared.revocation {
            revocation.check_strictly(claims).await?;
        }
        let extra = extra_claims(refresh, csrf)?;
        Ok(self
            .access(&claims.sub)
            .family_of(claims)
            .claims(&extra)
            .issue()?)
    }

    /// Revokes `token` and its whole family (see [`pair`](Self::pair)): the logout. Every
    /// instance sharing the revocation store refuses them from their next request on, in the
    /// guards of the kinds listed in `paseto.revocation.kinds`.
    ///
    /// ```
    /// # use rocket_paseto::{Access, AuthError, Issuer, Paseto, Revoked};
    /// # use rocket::serde::json::Json;
    /// #[rocket::post("/logout")]
    /// async fn logout(token: Paseto<Access>, issuer: &Issuer) -> Result<Json<Revoked>, AuthError> {
    ///     Ok(Json(issuer.revoke(&token).await?))
    /// }
    /// ```
    ///
    /// The result says which kinds are refused from now on: a token of a kind that is not
    /// checked keeps working until it expires (and a warning is logged). A token minted outside
    /// a pair (no `fam` claim) is its own family: revoking it revokes the tokens minted from it
    /// with [`TokenBuilder::family_of`], [`access_from`](Self::access_from) or
    /// [`rotate`](Self::rotate), but not the refresh token it may itself have come from (a
    /// warning says so).
    ///
    /// Fails with [`AuthError::Revocation`] (a 500) when the store cannot record it, and with
    /// [`AuthError::NotConfigured`] (a 500) when no store is configured: the tokens were not
    /// revoked, and the client should be told so.
    pub async fn revoke(&self, token: impl AsRef<Claims>) -> Result<Revoked, AuthError> {
        let revocation = self.revocation()?;
        let claims = token.as_ref();
        if claims.fam.is_none() {
            rocket::warn!(
                "rocket_paseto: revoking a `{}` token minted outside a pair (no `fam` claim): the \
                 tokens minted alongside it, such as the refresh token it came from, stay valid. \
                 Mint access tokens with `Issuer::access_from` to keep them in one family.",
                claims.kind
            );
        }
        Ok(revocation.revoke(claims).await?)
    }

    /// Exchanges a refresh token for a new access and refresh token, once (refresh-token
    /// rotation with reuse detection, RFC 9700 section 4.14).
    ///
    /// The new tokens join the refresh token's family and carry its claims beyond the
    /// registered ones (the extra claims the pair was minted with); the access token is not
    /// fresh. A replaced refresh token presented again after the grace window (below), by its
    /// owner or by a thief, here or to any guard of a checked refresh kind, revokes the whole
    /// family and fails with [`AuthError::Invalid`]: everyone holding a token of that login
    /// must sign in again.
    ///
    /// ```
    /// # use rocket::serde::json::Json;
    /// # use rocket_paseto::{AuthError, Issuer, Paseto, Refresh, TokenPair};
    /// #[rocket::post("/refresh")]
    /// async fn refresh(token: Paseto<Refresh>, issuer: &Issuer) -> Result<TokenPair, AuthError> {
    ///     issuer.rotate(&token).await
    /// }
    /// ```
    ///
    /// The refresh token is checked against the store here too, even when refresh guards do
    /// not check it, so a revoked family never grows.
    ///
    /// Needs a revocation store ([`AuthError::NotConfigured`] otherwise). When the store cannot
    /// answer, it fails with [`AuthError::Unavailable`] (a 503) whatever `on_error` says: an
    /// exchange that is not recorded could be repeated unnoticed. A rotation that reached the
    /// store but whose answer timed out is safe to retry within the grace window.
    ///
    /// Within `paseto.revocation.rotation_grace` seconds (15 by default) of a rotation, the old
    /// refresh token obtains the same generation again: a new access token and a refresh token
    /// with the same `jti` as the first rotation's, so two tabs refreshing at once, or a retry
    /// after a 503, both go on with one generation. Nothing secret is stored for this: the
    /// store keeps only the ids. After the window, a second use is reuse.
    pub async fn rotate<C: 'static>(
        &self,
        refresh: &Paseto<Refresh, C>,
    ) -> Result<TokenPair, AuthError> {
        self.rotate_inner(refresh.verified(), None).await
    }

    /// [`rotate`](Self::rotate) for a refresh token verified another way, e.g. one sent in a
    /// form body (OAuth 2.0 style) and checked with [`verify`](Self::verify). A token of
    /// another kind fails with [`AuthError::Invalid`].
    pub async fn rotate_verified(&self, refresh: &Verified) -> Result<TokenPair, AuthError> {
        self.rotate_inner(refresh, None).await
    }

    /// [`rotate`](Self::rotate), giving the new tokens `csrf` when the old one has none.
    pub(crate) async fn rotate_inner(
        &self,
        refresh: &Verified,
        csrf: Option<&str>,
    ) -> Result<TokenPair, AuthError> {
        let revocation = self.revocation()?;
        let claims = refresh.claims();
        if claims.kind != Refresh::NAME {
            return Err(AuthError::Invalid(Rejection::WrongKind));
        }
        let successor = revocation.rotate(claims).await?;
        let extra = extra_claims(refresh, csrf)?;
        Ok(self.pair_with(
            &claims.sub,
            false,
            Family::of(claims),
            Some(&successor),
            |b| b.claims(&extra),
        )?)
    }

    fn revocation(&self) -> Result<&Revocation, AuthError> {
        self.shared.revocation.as_ref().ok_or_else(|| {
            rocket::error!(
                "rocket_paseto: revocation needs a store: set `paseto.revocation.store` or use \
                 `PasetoFairing::revocation`"
            );
            AuthError::NotConfigured
        })
    }

    /// Verifies `token` as a token of kind `K` now, outside of a request. It does not consult
    /// the revocation store ([`rotate_verified`](Self::rotate_verified) does).
    pub fn verify<K: TokenKind>(&self, token: &str) -> Result<Verified, Rejection> {
        self.shared
            .authority
            .verify(
                K::NAME,
                token,
                time::OffsetDateTime::now_utc(),
                crate::token::VerifyOptions::new(),
            )
            .map(Arc::unwrap_or_clone)
    }

    /// The configured lifetime of kind `name`'s tokens.
    pub(crate) fn ttl_of(&self, name: &str) -> Duration {
        self.shared
            .authority
            .rules()
            .kind(name)
            .map(|k| k.ttl())
            .unwrap_or_default()
    }
}

/// A token being minted: add claims or a lifetime, then [`issue`](TokenBuilder::issue) it.
#[must_use = "a token is only minted by `issue()`"]
pub struct TokenBuilder<'a> {
    issuer: &'a Issuer,
    kind: &'static str,
    subject: String,
    ttl: Option<Duration>,
    extra: Result<serde_json::Map<String, serde_json::Value>, IssueError>,
    fresh: bool,
    family: Option<(String, OffsetDateTime)>,
    jti: Option<String>,
}

impl fmt::Debug for TokenBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenBuilder")
            .field("kind", &self.kind)
            .field("ttl", &self.ttl)
            .field("fresh", &self.fresh)
            .finish_non_exhaustive()
    }
}

impl TokenBuilder<'_> {
    /// Gives this token its own lifetime instead of the kind's (1 second to 366 days).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Adds one claim. Registered claims (`sub`, `exp`, `iat`, `nbf`, `jti`, `iss`, `aud`,
    /// `type`) are set by the issuer: naming one makes [`issue`](Self::issue) fail.
    pub fn claim(mut self, name: impl Into<String>, value: impl Serialize) -> Self {
        if let Ok(map) = &mut self.extra {
            match serde_json::to_value(value) {
                Ok(value) => {
                    map.insert(name.into(), value);
                }
                Err(_) => self.extra = Err(IssueError::Build),
            }
        }
        self
    }

    /// Adds every field of `claims`, which must serialise to a JSON object (e.g. a struct).
    pub fn claims<T: Serialize + ?Sized>(mut self, claims: &T) -> Self {
        if let Ok(map) = &mut self.extra {
            match serde_json::to_value(claims) {
                Ok(serde_json::Value::Object(more)) => map.extend(more),
                _ => self.extra = Err(IssueError::NotAnObject),
            }
        }
        self
    }

    /// Marks the token fresh: minted from a password login just now, as routes for sensitive
    /// actions can require ([`Paseto::require_fresh`](crate::Paseto::require_fresh)). Never
    /// use it for tokens minted from a refresh token or a remember-me cookie.
    pub fn fresh(mut self) -> Self {
        self.fresh = true;
        self
    }

    /// Puts the token in the family of `token` (see [`Issuer::pair`]), so revoking either
    /// revokes both. A token without a family starts one with its own `jti`.
    ///
    /// No member outlives its family: the token expires by the family's end (`fam_exp`, or
    /// for a token outside any family, its `exp`), whatever [`ttl`](Self::ttl) says, so a
    /// revoked family is remembered as long as any member lives. This does not consult the
    /// revocation store: prefer [`Issuer::access_from`], which does.
    pub fn family_of(mut self, token: impl AsRef<Claims>) -> Self {
        let claims = token.as_ref();
        self.family = Family::of(claims).map(|f| (f.id.to_owned(), f.end));
        self
    }

    /// Mints the token.
    pub fn issue(self) -> Result<String, IssueError> {
        let extra = self.extra?;
        self.issuer.shared.authority.mint(
            self.kind,
            &self.subject,
            Some(&extra),
            MintOptions {
                ttl: self.ttl,
                fresh: self.fresh,
                family: self.family.as_ref().map(|(id, _)| id.as_str()),
                family_end: self.family.as_ref().map(|(_, end)| *end),
                jti: self.jti.as_deref(),
                ..MintOptions::default()
            },
        )
    }
}

/// The claims of `token` beyond the registered ones, plus `csrf` when it has none.
fn extra_claims(
    token: &Verified,
    csrf: Option<&str>,
) -> Result<serde_json::Map<String, serde_json::Value>, IssueError> {
    let mut extra: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(token.payload()).map_err(|_| IssueError::Build)?;
    extra.retain(|name, _| !REGISTERED_CLAIMS.contains(&name.as_str()));
    if let Some(csrf) = csrf
        && !extra.contains_key("csrf")
    {
        extra.insert("csrf".into(), csrf.into());
    }
    Ok(extra)
}

/// An access and a refresh token, as returned by [`Issuer::pair`]: the usual login response.
/// As a [`Responder`] it is JSON with `Cache-Control: no-store`; return it as it is rather than
/// in `Json`, which would not add that header.
///
/// ```json
/// {"access_token": "v4.local.…", "refresh_token": "v4.local.…", "token_type": "Bearer", "expires_in": 900}
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPair {
    /// The access token.
    pub access_token: String,
    /// The refresh token.
    pub refresh_token: String,
    /// The scheme to send the access token with, `Bearer` unless configured otherwise.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

impl<'r> Responder<'r, 'static> for TokenPair {
    /// JSON with `Cache-Control: no-store`, as token responses must be (RFC 6749, section 5.1).
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        no_store(Json(self).respond_to(request)?)
    }
}

/// A new access token, as returned by [`Issuer::access_from`]: the usual refresh response.
///
/// ```json
/// {"access_token": "v4.local.…", "token_type": "Bearer", "expires_in": 900}
/// ```
///
/// As a [`Responder`] it is JSON with `Cache-Control: no-store`, like [`TokenPair`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessToken {
    /// The access token.
    pub access_token: String,
    /// The scheme to send it with, `Bearer` unless configured otherwise.
    pub token_type: String,
    /// Seconds until it expires, at most (a login's end may come sooner).
    pub expires_in: u64,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

impl<'r> Responder<'r, 'static> for AccessToken {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        no_store(Json(self).respond_to(request)?)
    }
}

/// Marks a response that carries tokens as never to be stored by caches.
pub(crate) fn no_store(mut response: Response<'static>) -> response::Result<'static> {
    response.set_raw_header("Cache-Control", "no-store");
    response.set_raw_header("Pragma", "no-cache");
    Ok(response)
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for &'r Issuer {
    type Error = AuthError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, AuthError> {
        match request.rocket().state::<Issuer>() {
            Some(issuer) => Outcome::Success(issuer),
            None => Outcome::Error((
                rocket::http::Status::InternalServerError,
                AuthError::NotConfigured,
            )),
        }
    }
}

impl Sentinel for &Issuer {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        if rocket.state::<Issuer>().is_none() {
            rocket::error!("`&Issuer` is used in a route, but `PasetoFairing` is not attached.");
            rocket::info_!("Attach it with `.attach(rocket_paseto::PasetoFairing::default())`.");
            return true;
        }
        false
    }
}
