//! Minting tokens: the [`Issuer`] and its builder.

use std::fmt;
use std::sync::Arc;

use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};

use crate::error::AuthError;
use crate::kind::{Access, REMEMBER_ME, Refresh, TokenKind};
use crate::revocation::{Revocation, Revoked, add_saturating};
use crate::state::AuthState;
use crate::stats::{self, PasetoStats};
use crate::token::{
    Authority, Claims, IssueError, MintOptions, Rejection, Verified, VerifyOptions, random_id,
};
use time::OffsetDateTime;

mod builder;
mod tokens;

pub(crate) use self::builder::ExtraClaims;
use self::builder::extra_claims;
pub use self::builder::{TokenBuilder, TokenCookies};
pub use self::tokens::{AccessToken, TokenPair};

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
    state: Arc<AuthState>,
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

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("authority", &self.state.authority)
            .finish_non_exhaustive()
    }
}

impl Issuer {
    pub(crate) fn new(state: Arc<AuthState>) -> Self {
        Issuer { state }
    }

    pub(crate) fn state(&self) -> &AuthState {
        &self.state
    }

    /// The token core: keys, rules, minting and verification without Rocket.
    pub fn authority(&self) -> &Authority {
        &self.state.authority
    }

    /// What the guards, the caches and the revocation store have done since launch: see
    /// [`PasetoStats`]. Also a request guard, and `rocket.state::<Issuer>()` reaches it from
    /// outside a request.
    pub fn stats(&self) -> PasetoStats {
        PasetoStats::of(&self.state)
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
            extra: ExtraClaims::new(),
            fresh: false,
            family: None,
            jti: None,
        }
    }

    /// An access and a refresh token for `subject`, ready to serialise as a login response.
    ///
    /// The two start a new family (`fam`), a login that lasts at most `paseto.session_ttl`:
    /// revoking either revokes both, and every token later obtained with the refresh token.
    ///
    /// In a login route, prefer [`Sessions::login`](crate::Sessions::login): it adds claims to
    /// both tokens, runs the fairing's [`LoginClaims`](crate::LoginClaims) loader and lists the
    /// login among the subject's sessions. This one needs no request (a command-line tool, a
    /// test) and does neither.
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
        add_saturating(OffsetDateTime::now_utc(), self.state.session_ttl)
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
            token_type: self.state.http.scheme.clone(),
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
    /// ones), with those the [`LoginClaims`](crate::LoginClaims) loader gives now in place of
    /// the same-named ones when the refresh token comes from the
    /// [`Paseto<Refresh>`](crate::Paseto) guard (see `paseto.reload_claims`), and is never
    /// fresh. With a revocation store, the refresh token must be definitely
    /// not revoked, whatever `on_error` says ([`AuthError::Unavailable`] while the store
    /// cannot answer): a revoked login must not grow.
    pub async fn access_from(
        &self,
        refresh: impl AsRef<Verified>,
    ) -> Result<AccessToken, AuthError> {
        let token = self.access_in_family(refresh.as_ref(), None).await?;
        Ok(AccessToken {
            access_token: token,
            token_type: self.state.http.scheme.clone(),
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
        check_can_grow(claims)?;
        if let Some(revocation) = &self.state.revocation {
            revocation.check_strictly(claims).await?;
        }
        let extra = extra_claims(refresh, csrf)?;
        let token = self
            .access(&claims.sub)
            .family_of(claims)
            .claims(&extra)
            .issue()?;
        self.touch(claims).await;
        Ok(token)
    }

    /// Records in the subject's list of logins that `refresh`'s login was just refreshed.
    /// Only bookkeeping: a failure is logged, and the refresh goes on.
    async fn touch(&self, refresh: &Claims) {
        if let (Some(revocation), Some(family)) = (&self.state.revocation, refresh.family())
            && let Err(e) = revocation.touch_login(&refresh.sub, family).await
        {
            rocket::warn!("rocket_paseto: {e}; a login's last use was not recorded");
        }
    }

    /// Revokes `token` and its whole family (see [`pair`](Self::pair)): the logout. Every
    /// instance sharing the revocation store refuses them, in the guards of the kinds listed in
    /// `paseto.revocation.kinds`: this one at once, the others from their next request on, or
    /// within `replica_max_lag_ms` (100 ms) when they check from the Redis store's replica.
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
    /// Fails with [`AuthError::Revocation`] (a 503) when the store cannot record it, and with
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
        revocation.revoke(claims).await?;
        Ok(self.state.revoked(claims))
    }

    /// Exchanges a refresh token for a new access and refresh token, once (refresh-token
    /// rotation with reuse detection, RFC 9700 section 4.14).
    ///
    /// The new tokens join the refresh token's family and carry its claims beyond the
    /// registered ones (the extra claims the pair was minted with), with those the
    /// [`LoginClaims`](crate::LoginClaims) loader gives now in place of the same-named ones
    /// when the refresh token comes from the [`Paseto<Refresh>`](crate::Paseto) guard (see
    /// `paseto.reload_claims`; a token from [`authenticate`](Self::authenticate) has no
    /// request to load them with, and keeps its claims); the access token is not fresh. A replaced refresh token presented again after the grace window (below), by its
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
    pub async fn rotate(&self, refresh: impl AsRef<Verified>) -> Result<TokenPair, AuthError> {
        self.rotate_inner(refresh.as_ref(), None).await
    }

    /// [`rotate`](Self::rotate), giving the new tokens `csrf` when the old one has none.
    pub(crate) async fn rotate_inner(
        &self,
        refresh: &Verified,
        csrf: Option<&str>,
    ) -> Result<TokenPair, AuthError> {
        let revocation = self.revocation()?;
        let claims = refresh.claims();
        check_can_grow(claims)?;
        let successor = revocation.rotate(claims).await?;
        let extra = extra_claims(refresh, csrf)?;
        let pair = self.pair_with(
            &claims.sub,
            false,
            Family::of(claims),
            Some(&successor),
            |b| b.claims(&extra),
        )?;
        self.touch(claims).await;
        Ok(pair)
    }

    fn revocation(&self) -> Result<&Revocation, AuthError> {
        self.state.revocation.as_ref().ok_or_else(|| {
            rocket::error!(
                "rocket_paseto: revocation needs a store: set `paseto.revocation.store` or use \
                 `PasetoFairing::revocation`"
            );
            AuthError::NotConfigured
        })
    }

    /// Verifies `token` as a token of kind `K` now, outside of a request. It does not consult
    /// the revocation store: for a token that arrives in a body or a message and stands for a
    /// login, use [`authenticate`](Self::authenticate). With key discovery, it uses the keys
    /// fetched so far; `authenticate` also fetches them again for a key id not known yet.
    pub fn verify<K: TokenKind>(&self, token: &str) -> Result<Verified, Rejection> {
        self.state
            .authority
            .verify(
                K::NAME,
                token,
                OffsetDateTime::now_utc(),
                VerifyOptions::new(),
            )
            .map(Arc::unwrap_or_clone)
    }

    /// Checks `token` as the guard [`Paseto<K>`](crate::Paseto) does, for tokens that arrive
    /// in a request body or a WebSocket message rather than a header, cookie or query
    /// parameter: [`verify`](Self::verify), then, for kinds in `paseto.revocation.kinds`, the
    /// revocation store (a logged-out token is refused, and a replaced refresh token counts as
    /// reuse and revokes its login, as in the guard).
    ///
    /// ```
    /// # use rocket_paseto::{Access, AuthError, Issuer};
    /// #[rocket::post("/publish", data = "<token>")]
    /// async fn publish(token: String, issuer: &Issuer) -> Result<String, AuthError> {
    ///     let verified = issuer.authenticate::<Access>(&token).await?;
    ///     Ok(format!("published as {}", verified.claims().sub))
    /// }
    /// ```
    ///
    /// Fails with [`AuthError::Invalid`] for a bad or revoked token (answered as a 401), and,
    /// when the store cannot answer, with [`AuthError::Unavailable`] (a 503) unless
    /// `on_error = "allow"`, which accepts the token unchecked. Two things a guard does need
    /// the request and are left out: the CSRF check of cookie tokens (a token in a body is
    /// never sent by the browser on its own), and, for refresh tokens, the
    /// [`AuthUser`](crate::AuthUser) check: call your user lookup yourself if you renew a
    /// login with it.
    pub async fn authenticate<K: TokenKind>(&self, token: &str) -> Result<Verified, AuthError> {
        let result = self.authenticate_as::<K>(token).await;
        stats::record(&self.state, &result);
        result
    }

    async fn authenticate_as<K: TokenKind>(&self, token: &str) -> Result<Verified, AuthError> {
        let (_, kind) = self.state.kind(K::NAME).ok_or(AuthError::NotConfigured)?;
        let verified = self
            .state
            .verify(K::NAME, token, VerifyOptions::new().cached())
            .await
            .map_err(AuthError::Invalid)?;
        if let Some(revocation) = &self.state.revocation
            && kind.checked
        {
            revocation.check(verified.claims()).await?;
        }
        Ok(Arc::unwrap_or_clone(verified))
    }

    /// The configured lifetime of kind `name`'s tokens.
    pub(crate) fn ttl_of(&self, name: &str) -> std::time::Duration {
        self.state.ttl_of(name)
    }

    /// A remember-me token for `subject`, bound by `implicit` to its cookie, in `family` when
    /// it renews an older one (so revoking either revokes both); it expires by `end`, the
    /// family's end.
    pub(crate) fn remember_token(
        &self,
        subject: &str,
        implicit: &[u8],
        family: Option<&str>,
        end: OffsetDateTime,
    ) -> Result<String, IssueError> {
        let options = MintOptions {
            implicit: Some(implicit),
            family,
            family_end: Some(end),
            ..MintOptions::default()
        };
        self.state
            .authority
            .mint(REMEMBER_ME, subject, None::<&()>, options)
    }
}

/// Whether new tokens may be minted from this refresh token: it is one, and its login has not
/// ended (a token still accepted within the leeway after its family's end cannot extend it).
fn check_can_grow(refresh: &Claims) -> Result<(), AuthError> {
    if refresh.kind != Refresh::NAME {
        return Err(AuthError::Invalid(Rejection::WrongKind));
    }
    if refresh.family_end() <= OffsetDateTime::now_utc() {
        return Err(AuthError::Invalid(Rejection::Expired));
    }
    Ok(())
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for &'r Issuer {
    type Error = AuthError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, AuthError> {
        match request.rocket().state::<Issuer>() {
            Some(issuer) => Outcome::Success(issuer),
            None => AuthError::NotConfigured.fail(request),
        }
    }
}

impl Sentinel for &Issuer {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        AuthState::missing(rocket, "&Issuer", false)
    }
}
