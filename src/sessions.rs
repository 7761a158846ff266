//! [`Sessions`]: a subject's sessions over bearer tokens, to start, refresh, end and list them.

use std::fmt;

use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};

use crate::error::AuthError;
use crate::events::EventKind;
use crate::guard::request_token;
use crate::issuer::{Issuer, TokenPair};
use crate::kind::{Access, Refresh};
use crate::login::Login;
use crate::revocation::listing::Session;
use crate::revocation::{LoggedOut, Revocation};
use crate::state::AuthState;
use crate::token::Verified;

/// Sessions over bearer tokens: the request guard for each step of a session's life.
///
/// A session is one login and every token later obtained from it: the pair minted by
/// [`login`](Self::login), and the pairs [`refresh`](Self::refresh) exchanges its refresh
/// token for. Ending a session refuses all of them. With a revocation store, each subject's
/// sessions are listed (at most `revocation.max_sessions`; a new session beyond it ends the
/// oldest, the one that started first), and the store sees a keyed hash of the subject, never
/// the subject itself. Browsers take the same steps with [`PasetoCookies`](crate::PasetoCookies).
///
/// ```
/// use rocket::serde::json::Json;
/// use rocket_paseto::{Access, AuthError, LoggedOut, Paseto, Refresh, Session, Sessions, TokenPair};
///
/// #[rocket::post("/login")]
/// async fn login(sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
///     // … check the password first, then:
///     sessions.login("42").claim("plan", "pro").fresh().issue().await
/// }
///
/// #[rocket::post("/refresh")]
/// async fn refresh(token: Paseto<Refresh>, sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
///     sessions.refresh(&token).await
/// }
///
/// #[rocket::post("/logout")] // with the access or the refresh token
/// async fn logout(sessions: Sessions<'_>) -> Result<Json<LoggedOut>, AuthError> {
///     Ok(Json(sessions.logout().await?))
/// }
///
/// #[rocket::get("/sessions")]
/// async fn list(token: Paseto<Access>, sessions: Sessions<'_>) -> Result<Json<Vec<Session>>, AuthError> {
///     Ok(Json(sessions.list(&token).await?))
/// }
///
/// #[rocket::post("/logout-all")]
/// async fn logout_all(token: Paseto<Access>, sessions: Sessions<'_>) -> Result<(), AuthError> {
///     sessions.end_all(&token).await
/// }
/// ```
pub struct Sessions<'r> {
    issuer: &'r Issuer,
    request: &'r Request<'r>,
}

impl fmt::Debug for Sessions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

impl<'r> Sessions<'r> {
    /// Starts a session of `subject`: add claims, then [`issue`](Login::issue) its tokens.
    pub fn login(&self, subject: impl Into<String>) -> Login<'r> {
        Login::new(self.issuer, self.request, subject.into(), None)
    }

    /// Refreshes the session of `refresh`, a refresh token (the [`Paseto<Refresh>`](crate::Paseto)
    /// guard, or [`Issuer::authenticate`] for one sent in a request body).
    ///
    /// With a revocation store and `revocation.rotate` on (the default), the refresh token is
    /// exchanged once for a new pair (refresh-token rotation with reuse detection, RFC 9700
    /// section 4.14): a replaced refresh token presented again after the grace window, by its
    /// owner or by a thief, here or to any guard of a checked refresh kind, ends the whole
    /// session and fails with [`AuthError::Invalid`]. Within `revocation.rotation_grace`
    /// seconds (15 by default) of a rotation, the old refresh token obtains the same
    /// generation again (a new access token and a refresh token with the same `jti`), so two
    /// tabs refreshing at once, or a retry after a 503, go on with one generation; the store
    /// keeps only ids for this, nothing secret. Otherwise (no store, or `rotate = false`) it
    /// gives a new access token only, in the same session, with an empty `refresh_token`.
    ///
    /// The new tokens carry the session's claims beyond the registered ones, with those the
    /// [`LoginClaims`](crate::LoginClaims) loader gives now in place of the same-named ones
    /// (see `paseto.reload_claims`); the access token is not fresh. With a store, the refresh
    /// token must be definitely not revoked, whatever `on_error` says: when the store cannot
    /// answer it fails with [`AuthError::Unavailable`] (a 503), and a rotation whose answer
    /// timed out is safe to retry within the grace window. A session past its end
    /// (`session_ttl`) cannot be refreshed.
    pub async fn refresh(&self, refresh: impl AsRef<Verified>) -> Result<TokenPair, AuthError> {
        let refresh = refresh.as_ref();
        let (pair, _) = self
            .issuer
            .refresh_session(self.request, refresh, false)
            .await?;
        Ok(pair)
    }

    /// Ends the session of the token the request carries, its access token or, when that is
    /// missing or refused (expired, say), its refresh token: a logout. Every instance sharing
    /// the revocation store refuses the session's tokens, in the guards of the kinds listed in
    /// `paseto.revocation.kinds`: this one at once, the others from their next request on, or
    /// within `replica_max_lag_ms` (100 ms) when they check from the Redis store's replica.
    ///
    /// The result says which kinds are refused from now on: a token of a kind that is not
    /// checked keeps working until it expires (and a warning is logged). A token minted
    /// outside a session (with [`Issuer::access`] or [`Issuer::refresh`]) is a session of its
    /// own: its logout refuses the tokens minted from it, but not the token it may itself have
    /// come from (a warning says so).
    ///
    /// Fails as the [`Paseto<Access>`](crate::Paseto) guard does when the request carries
    /// neither token, or only bad ones; with [`AuthError::Unavailable`] (a 503) when the store
    /// cannot record the logout, and with [`AuthError::NotConfigured`] (a 500) when no store
    /// is configured: the session was not ended, and the client should be told so.
    pub async fn logout(&self) -> Result<LoggedOut, AuthError> {
        let token = match request_token::<Access>(self.request).await {
            Ok(access) => access,
            // Only a missing or refused access token makes way for the refresh token: a CSRF
            // failure or a store outage would meet it too.
            Err(error @ (AuthError::Missing | AuthError::Invalid(_))) => {
                request_token::<Refresh>(self.request)
                    .await
                    .map_err(|_| error)?
            }
            Err(error) => return Err(error),
        };
        let claims = token.claims();
        let ended = self.issuer.end_session(claims).await?;
        self.emit(EventKind::Logout, &claims.sub, claims.family());
        Ok(ended)
    }

    /// The active sessions of `token`'s subject, oldest first, each with the device it was
    /// started from; `current` marks `token`'s own. Only ever the caller's own: an admin sees
    /// another user's with [`Issuer::sessions_of`](crate::Issuer::sessions_of).
    pub async fn list(&self, token: impl AsRef<Verified>) -> Result<Vec<Session>, AuthError> {
        let claims = token.as_ref().claims();
        let revocation = self.revocation()?;
        Ok(revocation.sessions(&claims.sub, claims.family()).await?)
    }

    /// Ends the session `id` (from [`list`](Self::list)) of `token`'s subject: its tokens are
    /// refused from now on. `false` when that subject has no such session.
    pub async fn end(&self, token: impl AsRef<Verified>, id: &str) -> Result<bool, AuthError> {
        let claims = token.as_ref().claims();
        let ended = self.revocation()?.end_login(&claims.sub, id).await?;
        let family = ended.as_ref().map(|login| login.family.as_str());
        family.inspect(|family| self.emit(EventKind::Logout, &claims.sub, Some(family)));
        Ok(ended.is_some())
    }

    /// Logs `token`'s subject out everywhere: every token of the subject issued before this
    /// returns is refused (by the guards of the kinds in `revocation.kinds`), listed or not,
    /// single-use tokens included, and every listed session ends. Sessions started afterwards
    /// work, so a password change can end all sessions and then start a new one for the user
    /// at hand. An admin ends another user's sessions with
    /// [`Issuer::end_sessions_of`](crate::Issuer::end_sessions_of).
    ///
    /// Tokens state their issue time in whole seconds, so this waits for the next second to
    /// begin before it returns (less than a second).
    pub async fn end_all(&self, token: impl AsRef<Verified>) -> Result<(), AuthError> {
        let subject = &token.as_ref().claims().sub;
        self.revocation()?.end_all(subject).await?;
        self.emit(EventKind::LogoutAll, subject, None);
        Ok(())
    }

    fn emit(&self, kind: EventKind, subject: &str, family: Option<&str>) {
        (self.issuer.state()).emit(kind, Some(subject), family, Some(self.request));
    }

    fn revocation(&self) -> Result<&'r Revocation, AuthError> {
        self.issuer.revocation()
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Sessions<'r> {
    type Error = AuthError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, AuthError> {
        match request.rocket().state::<Issuer>() {
            Some(issuer) => Outcome::Success(Sessions { issuer, request }),
            None => AuthError::NotConfigured.fail(request),
        }
    }
}

impl Sentinel for Sessions<'_> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        AuthState::missing(rocket, "Sessions", false)
    }
}
