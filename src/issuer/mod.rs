//! Minting tokens: the [`Issuer`] and its builder.

use std::fmt;
use std::sync::Arc;

use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};

use crate::error::{AuthError, CookieError};
use crate::events::EventKind;
use crate::kind::{Access, REMEMBER_ME, Refresh, TokenKind};
use crate::revocation::{LoggedOut, Revocation, Standing, add_saturating};
use crate::state::{AuthState, CheckedRefresh};
use crate::stats::{self, PasetoStats};
use crate::token::{
    Authority, Claims, IssueError, MintOptions, Rejection, Verified, VerifyOptions, random_id,
};
use crate::trace;
use time::OffsetDateTime;

mod builder;
mod lifecycle;
mod tokens;

pub(crate) use self::builder::ExtraClaims;
use self::builder::extra_claims;
pub use self::builder::{BrowserToken, TokenBuilder};
pub use self::tokens::TokenPair;

/// Mints tokens that are not a session (one-off tokens, your own kinds) and verifies tokens
/// outside a guard, with the configured keys and rules. Sessions (login, refresh, logout) go
/// through [`Sessions`](crate::Sessions) and [`PasetoCookies`](crate::PasetoCookies).
///
/// Managed by [`PasetoFairing`](crate::PasetoFairing): take `&Issuer` as a route argument, or get
/// it with `rocket.state::<Issuer>()`. Cloning is cheap.
///
/// ```
/// # use rocket_paseto::{Issuer, AuthError};
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
    pub(crate) fn authority(&self) -> &Authority {
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
        self.builder(K::NAME, subject.into())
    }

    /// A builder of a token of the kind named `kind` (a [`TokenKind`] or a single-use purpose).
    fn builder(&self, kind: &'static str, subject: String) -> TokenBuilder<'_> {
        TokenBuilder {
            issuer: self,
            kind,
            subject,
            ttl: None,
            extra: ExtraClaims::new(),
            fresh: false,
            family: None,
            jti: None,
            implicit: None,
        }
    }

    /// A new family: a login starting now.
    pub(crate) fn new_family(&self) -> Result<(String, OffsetDateTime), IssueError> {
        Ok((random_id()?, self.session_end()))
    }

    /// When a login starting now ends.
    pub(crate) fn session_end(&self) -> OffsetDateTime {
        add_saturating(OffsetDateTime::now_utc(), self.state.session_ttl)
    }

    /// An access and a refresh token for `subject`, with `extra` applied to both tokens'
    /// builders and, when `fresh`, the access token (never the refresh token) marked fresh.
    /// Both join `family`, or a new family (a session); the refresh token takes `refresh_jti`
    /// as its `jti` when given.
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

    /// A session's refresh from `request`: the claims the [`LoginClaims`](crate::LoginClaims)
    /// loader gives now, then [`renew`](Self::renew) from what the refresh token's guard read
    /// from the store. With `csrf` (cookie sessions), a session without a CSRF value gets one,
    /// returned beside the pair for its cookie.
    pub(crate) async fn refresh_session(
        &self,
        request: &Request<'_>,
        refresh: &Verified,
        csrf: bool,
    ) -> Result<(TokenPair, Option<String>), AuthError> {
        // Boxed, like the rotation inside it: the route's future (which Rocket boxes on every
        // request) would otherwise hold a refresh's state and outgrow the allocator's
        // per-thread cache (1 KiB), on the slow path of every refresh.
        let refreshing = Box::pin(self.refresh_session_now(request, refresh, csrf));
        let refreshed = trace::refresh(refreshing, stats::cause).await?;
        (self.state).emit_about(EventKind::Refresh, refresh.claims(), Some(request));
        Ok(refreshed)
    }

    async fn refresh_session_now(
        &self,
        request: &Request<'_>,
        refresh: &Verified,
        csrf: bool,
    ) -> Result<(TokenPair, Option<String>), AuthError> {
        let state = self.state();
        // Boxed: held across the renewal, it would widen every refresh's future by its size.
        let reloaded = (state.hooks)
            .reload(request, state.revocation.as_ref(), refresh)
            .await?
            .map(Box::new);
        let refresh = reloaded.as_deref().unwrap_or(refresh);
        let new_csrf = match (csrf, &refresh.claims().csrf) {
            (true, None) => Some(random_id().map_err(CookieError::Issue)?),
            _ => None,
        };
        let seen = CheckedRefresh::take(request, refresh.claims().jti.as_deref());
        let pair = self.renew(refresh, new_csrf.as_deref(), seen).await?;
        Ok((pair, new_csrf))
    }

    /// A session's refresh: a new pair with rotation (see [`rotate`](Self::rotate)) when a
    /// store is configured and `revocation.rotate` is on; otherwise a new access token in the
    /// refresh token's session, and an empty `refresh_token`: the client keeps its own. Gives
    /// the new tokens `csrf` when the refresh token has none.
    ///
    /// `seen`: the refresh token's standing as its guard read it from the store in this request
    /// ([`CheckedRefresh`](crate::state::CheckedRefresh)), which saves reading it again.
    async fn renew(
        &self,
        refresh: &Verified,
        csrf: Option<&str>,
        seen: Option<Standing>,
    ) -> Result<TokenPair, AuthError> {
        if self.state.revocation.is_some() && self.state.rotate {
            // In a box of its own, so that each box stays within the allocator's per-thread
            // cache (see `refresh_session`).
            return Box::pin(self.rotate(refresh, csrf, seen)).await;
        }
        Ok(TokenPair {
            access_token: self.access_in_family(refresh, csrf).await?,
            refresh_token: String::new(),
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
        // Read again, right before minting, whatever the guard read: no compare-and-set
        // follows here, so only this read sees a logout that came in meanwhile.
        if let Some(revocation) = &self.state.revocation {
            revocation.check_strictly(claims).await?;
        }
        let extra = extra_claims(refresh, csrf)?;
        let token = self
            .access(&claims.sub)
            .session_of(refresh)
            .claims(&extra)
            .issue()?;
        if let Some(revocation) = &self.state.revocation {
            revocation.note_refresh(claims, None).await;
        }
        Ok(token)
    }

    /// Ends the session of the token with these `claims` (revokes it and its whole family).
    /// Needs a store: without one nothing can be revoked, and the caller must say so.
    pub(crate) async fn end_session(&self, claims: &Claims) -> Result<LoggedOut, AuthError> {
        let revocation = self.revocation()?;
        if claims.fam.is_none() {
            rocket::warn!(
                "rocket_paseto: ending the session of a `{}` token minted outside a session (no \
                 `fam` claim): the tokens minted alongside it, such as the refresh token it came \
                 from, stay valid. Start sessions with `Sessions::login` and refresh them with \
                 `Sessions::refresh` to keep their tokens in one session.",
                claims.kind
            );
        }
        revocation.revoke(claims).await?;
        Ok(self.state.revoked(claims))
    }

    /// Exchanges a refresh token for a new access and refresh token, once (refresh-token
    /// rotation with reuse detection, RFC 9700 section 4.14): the new tokens join its session
    /// with its extra claims (reloaded ones in place of the same-named ones), and `csrf` when
    /// it has none. A replaced refresh token presented again after `rotation_grace` ends the
    /// session and fails with [`AuthError::Invalid`]; within it, it obtains the same
    /// generation again. Needs a store, and its definite answer whatever `on_error` says.
    pub(crate) async fn rotate(
        &self,
        refresh: &Verified,
        csrf: Option<&str>,
        seen: Option<Standing>,
    ) -> Result<TokenPair, AuthError> {
        let revocation = self.revocation()?;
        let claims = refresh.claims();
        check_can_grow(claims)?;
        let successor = (revocation.rotate(claims, seen).await)
            .inspect_err(|refusal| self.state.reused(refusal, claims, None))?;
        let extra = extra_claims(refresh, csrf)?;
        let pair = self.pair_with(
            &claims.sub,
            false,
            Family::of(claims),
            Some(&successor),
            |b| b.claims(&extra),
        )?;
        Ok(pair)
    }

    pub(crate) fn revocation(&self) -> Result<&Revocation, AuthError> {
        self.state.revocation.as_ref().ok_or_else(|| {
            rocket::error!(
                "rocket_paseto: sessions and single-use tokens need a revocation store: set \
                 `paseto.revocation.store` or use `PasetoFairing::revocation`"
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
    /// reuse and ends its session, as in the guard). A refresh token sent in a request body (an OAuth
    /// token endpoint) is then refreshed with [`Sessions::refresh`](crate::Sessions::refresh).
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
            (revocation.check(verified.claims()).await)
                .inspect_err(|refusal| self.state.reused(refusal, verified.claims(), None))?;
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
