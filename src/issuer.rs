//! Minting tokens: the [`Issuer`] and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};
use serde::{Deserialize, Serialize};

use crate::config::Web;
use crate::error::AuthError;
use crate::guard::Paseto;
use crate::kind::{Access, Refresh, TokenKind};
use crate::revocation::{Refusal, Revocation};
use crate::token::{
    Authority, Claims, IssueError, MintOptions, REGISTERED_CLAIMS, Rejection, Verified, random_id,
};

/// Mints tokens with the configured keys and rules.
///
/// Managed by [`PasetoFairing`](crate::PasetoFairing): take `&Issuer` as a route argument, or get
/// it with `rocket.state::<Issuer>()`. Cloning is cheap.
///
/// ```
/// # use rocket_paseto::{Issuer, AuthError, TokenPair};
/// # use rocket::serde::json::Json;
/// #[rocket::post("/token")]
/// fn token(issuer: &Issuer) -> Result<Json<TokenPair>, AuthError> {
///     Ok(Json(issuer.pair("alice")?))
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
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("authority", &self.shared.authority)
            .finish_non_exhaustive()
    }
}

impl Issuer {
    pub(crate) fn new(authority: Authority, web: Web, revocation: Option<Revocation>) -> Self {
        Issuer {
            shared: Arc::new(Shared {
                authority,
                web,
                revocation,
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
        }
    }

    /// An access and a refresh token for `subject`, ready to serialise as a login response.
    ///
    /// The two share a new family id (`fam`): revoking either revokes both, and the tokens
    /// later obtained with the refresh token.
    pub fn pair(&self, subject: impl Into<String>) -> Result<TokenPair, IssueError> {
        self.pair_with(&subject.into(), false, None, |b| b)
    }

    /// [`pair`](Self::pair) for a password login: the access token is fresh (see
    /// [`TokenBuilder::fresh`]); the refresh token never is.
    pub fn fresh_pair(&self, subject: impl Into<String>) -> Result<TokenPair, IssueError> {
        self.pair_with(&subject.into(), true, None, |b| b)
    }

    /// [`pair`](Self::pair), with `extra` applied to both tokens' builders and, when `fresh`,
    /// the access token (never the refresh token) marked fresh. Both join `family`, or a new
    /// family.
    pub(crate) fn pair_with<'a>(
        &'a self,
        subject: &str,
        fresh: bool,
        family: Option<&str>,
        extra: impl Fn(TokenBuilder<'a>) -> TokenBuilder<'a>,
    ) -> Result<TokenPair, IssueError> {
        let family = match family {
            Some(family) => family.to_owned(),
            None => random_id()?,
        };
        let with_family = |mut builder: TokenBuilder<'a>| {
            builder.family = Some(family.clone());
            extra(builder)
        };
        let access = with_family(self.access(subject));
        let access_token = if fresh { access.fresh() } else { access }.issue()?;
        let refresh_token = with_family(self.refresh(subject)).issue()?;
        Ok(TokenPair {
            access_token,
            refresh_token,
            token_type: self.shared.web.scheme.clone(),
            expires_in: self.ttl_of(Access::NAME).as_secs(),
        })
    }

    /// Revokes `token` and its whole family (see [`pair`](Self::pair)): the logout. Every
    /// instance sharing the revocation store refuses them from their next request on, in the
    /// guards of the kinds listed in `paseto.revocation.kinds`.
    ///
    /// ```
    /// # use rocket_paseto::{Access, AuthError, Issuer, Paseto};
    /// #[rocket::post("/logout")]
    /// async fn logout(token: Paseto<Access>, issuer: &Issuer) -> Result<(), AuthError> {
    ///     issuer.revoke(&token).await
    /// }
    /// ```
    ///
    /// A token minted outside a pair (no `fam` claim) is its own family: revoking it also
    /// revokes the tokens minted from it with [`TokenBuilder::family_of`] or [`rotate`](Self::rotate).
    ///
    /// Fails with [`AuthError::Revocation`] (a 500) when the store cannot record it, and with
    /// [`AuthError::NotConfigured`] (a 500) when no store is configured: the tokens were not
    /// revoked, and the client should be told so.
    pub async fn revoke(&self, token: impl AsRef<Claims>) -> Result<(), AuthError> {
        let revocation = self.revocation()?;
        let claims = token.as_ref();
        let rules = self.shared.authority.rules();
        if let Some(index) = rules.kinds().iter().position(|k| k.name() == claims.kind)
            && !revocation.checks(index)
        {
            rocket::warn!(
                "rocket_paseto: revoking a `{}` token, a kind that `paseto.revocation.kinds` \
                 does not check: it stays valid (its family's other kinds do not)",
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
    /// fresh. A refresh token presented a second time, by its owner or by a thief, revokes the
    /// whole family and fails with [`AuthError::Invalid`]: everyone holding a token of that
    /// login must sign in again.
    ///
    /// ```
    /// # use rocket::serde::json::Json;
    /// # use rocket_paseto::{AuthError, Issuer, Paseto, Refresh, TokenPair};
    /// #[rocket::post("/refresh")]
    /// async fn refresh(token: Paseto<Refresh>, issuer: &Issuer) -> Result<Json<TokenPair>, AuthError> {
    ///     Ok(Json(issuer.rotate(&token).await?))
    /// }
    /// ```
    ///
    /// The refresh token is checked against the store here too, even when refresh guards do
    /// not check it, so a revoked family never grows.
    ///
    /// Needs a revocation store ([`AuthError::NotConfigured`] otherwise). When the store cannot
    /// answer, it fails with [`AuthError::Unavailable`] (a 503) whatever `on_error` says: an
    /// exchange that is not recorded could be repeated unnoticed.
    ///
    /// Two requests with the same refresh token (say, two browser tabs refreshing at once) are
    /// a reuse: the second revokes the family. Clients should refresh one request at a time.
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
        revocation.exchange(claims).await.map_err(|r| match r {
            Refusal::Revoked(rejection) => AuthError::Invalid(rejection),
            Refusal::Unavailable => AuthError::Unavailable,
        })?;
        let mut extra: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(refresh.payload()).map_err(|_| IssueError::Build)?;
        extra.retain(|name, _| !REGISTERED_CLAIMS.contains(&name.as_str()));
        if let Some(csrf) = csrf
            && !extra.contains_key("csrf")
        {
            extra.insert("csrf".into(), csrf.into());
        }
        let family = crate::revocation::family_id(claims);
        Ok(self.pair_with(&claims.sub, false, family, |b| b.claims(&extra))?)
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
            .verify(K::NAME, token, time::OffsetDateTime::now_utc())
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
    family: Option<String>,
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
    /// revokes both: e.g. an access token minted from a refresh token. A token without a
    /// family starts one with its own `jti`.
    ///
    /// A family member may not outlive the longest configured kind lifetime, so that a revoked
    /// family can be forgotten safely: a longer [`ttl`](Self::ttl) fails with
    /// [`IssueError::Ttl`]. This does not consult the revocation store: take `token` from a
    /// guard whose kind is checked (access and refresh tokens are, by default).
    pub fn family_of(mut self, token: impl AsRef<Claims>) -> Self {
        self.family = crate::revocation::family_id(token.as_ref()).map(str::to_owned);
        self
    }

    /// Mints the token.
    pub fn issue(self) -> Result<String, IssueError> {
        let extra = self.extra?;
        let authority = &self.issuer.shared.authority;
        if self.family.is_some()
            && let Some(ttl) = self.ttl
        {
            let longest = authority.rules().kinds().iter().map(|k| k.ttl()).max();
            if longest.is_some_and(|longest| ttl > longest) {
                return Err(IssueError::Ttl);
            }
        }
        authority.mint_with(
            self.kind,
            &self.subject,
            Some(&extra),
            MintOptions {
                ttl: self.ttl,
                fresh: self.fresh,
                family: self.family.as_deref(),
                ..MintOptions::default()
            },
        )
    }
}

/// An access and a refresh token, as returned by [`Issuer::pair`]: the usual login response.
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
