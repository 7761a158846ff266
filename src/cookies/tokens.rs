//! The token cookies of [`PasetoCookies`]: the access, refresh, CSRF and remember-me
//! cookies of a browser's session, its refresh and its logout, built on the jar.

use std::sync::Arc;

use rocket::http::Cookie;
use rocket::time::Duration as CookieDuration;
use time::OffsetDateTime;

use super::{CsrfSent, PasetoCookies, binding};
use crate::csrf;
use crate::error::{AuthError, CookieError};
use crate::events::EventKind;
use crate::issuer::TokenPair;
use crate::kind::{Access, REMEMBER_ME, Refresh, TokenKind};
use crate::revocation::{LoggedOut, merge_all};
use crate::token::{Verified, VerifyOptions};

impl PasetoCookies<'_> {
    /// The access, refresh and CSRF cookies of a new login, not yet set.
    pub(crate) fn pair_cookies(
        &self,
        pair: &TokenPair,
        csrf: String,
        session_end: OffsetDateTime,
    ) -> Result<[Cookie<'static>; 3], CookieError> {
        let end = Some(session_end);
        let access = self.token_cookie::<Access>(&pair.access_token, end)?;
        let refresh = self.token_cookie::<Refresh>(&pair.refresh_token, end)?;
        Ok([access, refresh, self.csrf_cookie(csrf, end)?])
    }

    /// Refreshes a browser's session from its refresh token (the
    /// [`Paseto<Refresh>`](crate::Paseto) guard, usually from the refresh cookie): sets a new
    /// access cookie and, when refreshes rotate (`revocation.rotate`, with a store), a new
    /// refresh cookie, using the refresh token up; presenting it again after
    /// `rotation_grace` ends the session. The CSRF value, and so the CSRF cookie, stays (a
    /// refresh token that had none, such as one sent in a header, starts a new one).
    ///
    /// ```
    /// use rocket_paseto::{AuthError, PasetoCookies, Paseto, Refresh};
    ///
    /// #[rocket::post("/refresh")]
    /// async fn refresh(token: Paseto<Refresh>, cookies: PasetoCookies<'_>) -> Result<(), AuthError> {
    ///     cookies.refresh(&token).await
    /// }
    /// ```
    ///
    /// The new tokens carry the session's claims, reloaded as with
    /// [`Sessions::refresh`](crate::Sessions::refresh), and fail the same ways.
    pub async fn refresh(&self, refresh: impl AsRef<Verified>) -> Result<(), AuthError> {
        self.refresh_with(refresh.as_ref()).await.map(drop)
    }

    /// [`refresh`](Self::refresh), returning the new tokens for the server's own use (implicit
    /// refresh serves the request with the new access token).
    pub(crate) async fn refresh_with(&self, refresh: &Verified) -> Result<TokenPair, AuthError> {
        let (pair, new_csrf) = self
            .issuer
            .refresh_session(self.request, refresh, true)
            .await?;
        let end = refresh.claims().fam_exp;
        let access = self.token_cookie::<Access>(&pair.access_token, end)?;
        let rotated = if pair.refresh_token.is_empty() {
            None
        } else {
            Some(self.token_cookie::<Refresh>(&pair.refresh_token, end)?)
        };
        let csrf = new_csrf
            .map(|value| self.csrf_cookie(value, end))
            .transpose()?;
        self.add_tokens([Some(access), rotated, csrf].into_iter().flatten());
        Ok(pair)
    }

    /// Sets the remember-me cookie for `subject` (lifetime `remember_me.ttl`). It starts a
    /// family of its own, which lasts at most `paseto.session_ttl` however often it is renewed.
    pub fn remember(&self, subject: &str) -> Result<(), CookieError> {
        // The first token's own `jti` is the family id; only the end is carried.
        self.remember_in(subject, None, self.issuer.session_end())
    }

    /// [`remember`](Self::remember), in `family` when renewing a remember-me token.
    pub(crate) fn remember_in(
        &self,
        subject: &str,
        family: Option<&str>,
        end: time::OffsetDateTime,
    ) -> Result<(), CookieError> {
        let name = &self.http().remember_cookie;
        let token = self
            .issuer
            .remember_token(subject, &binding(name), family, end)?;
        let ttl = self.issuer.ttl_of(REMEMBER_ME);
        // Its own `Max-Age` even with `persistent = false`: remembering outlives the browser.
        let template = Cookie::build(name.clone())
            .max_age(CookieDuration::seconds(ttl.as_secs() as i64))
            .build();
        let cookie = self.with_attributes(template, token, ttl)?;
        self.add_tokens([cookie]);
        Ok(())
    }

    /// Removes the remember-me cookie.
    pub fn forget(&self) {
        self.remove(&self.http().remember_cookie);
    }

    /// Removes the access, refresh, CSRF and remember-me cookies.
    pub(crate) fn remove_tokens(&self) {
        let http = self.http();
        for kind in [Access::NAME, Refresh::NAME] {
            if let Some((name, path)) = self.cookie_of(kind) {
                self.remove_cookie(Cookie::build(name.to_owned()).path(path.to_owned()).build());
            }
        }
        self.remove(&http.csrf_cookie);
        self.forget();
    }

    /// Logs a browser out: ends the session of every token cookie the request carries
    /// (access, refresh and remember-me; so a logout works after the access cookie has
    /// expired, and copies of the cookies stop working too), then removes the access, refresh,
    /// CSRF and remember-me cookies.
    ///
    /// ```
    /// use rocket::serde::json::Json;
    /// use rocket_paseto::{AuthError, LoggedOut, PasetoCookies};
    ///
    /// #[rocket::post("/logout")]
    /// async fn logout(cookies: PasetoCookies<'_>) -> Result<Json<LoggedOut>, AuthError> {
    ///     Ok(Json(cookies.logout().await?))
    /// }
    /// ```
    ///
    /// Cookies that are expired, tampered with or already revoked are only removed. On a method
    /// that needs CSRF protection, a session token that carries a CSRF value requires the CSRF
    /// header or form field ([`AuthError::Csrf`] otherwise, and nothing is changed), so another site cannot
    /// log users out. Without a revocation store the cookies are removed and nothing is
    /// revoked: the result says so. When the store cannot record the logout it fails with
    /// [`AuthError::Unavailable`] (a 503) and the cookies are kept, so the user can try again.
    pub async fn logout(&self) -> Result<LoggedOut, AuthError> {
        let tokens = self.session_tokens();
        if let CsrfSent::Value(sent) = self.csrf {
            let expected = tokens.iter().find_map(|t| t.claims().csrf.as_deref());
            if expected.is_some_and(|value| !csrf::matches(sent, value)) {
                return Err(AuthError::Csrf);
            }
        }
        let mut results = Vec::with_capacity(tokens.len());
        if let Some(revocation) = &self.issuer.state().revocation {
            for token in &tokens {
                revocation.revoke(token.claims()).await?;
                results.push(self.issuer.state().revoked(token.claims()));
            }
            self.ended(&tokens);
        }
        self.remove_tokens();
        Ok(merge_all(results))
    }

    /// Tells the events hook of each session a logout ended, once (the access and the refresh
    /// cookie are usually of one session).
    fn ended(&self, tokens: &[Arc<Verified>]) {
        for (at, token) in tokens.iter().enumerate() {
            let family = token.claims().family();
            if tokens[..at].iter().all(|t| t.claims().family() != family) {
                let state = self.issuer.state();
                state.emit_about(EventKind::Logout, token.claims(), Some(self.request));
            }
        }
    }

    /// The valid access, refresh and remember-me tokens among the request's cookies.
    fn session_tokens(&self) -> Vec<Arc<Verified>> {
        let authority = self.issuer.authority();
        let now = OffsetDateTime::now_utc();
        let mut tokens = Vec::with_capacity(3);
        for kind in [Access::NAME, Refresh::NAME] {
            if let Some((name, _)) = self.cookie_of(kind)
                && let Some(cookie) = self.jar.get(name)
                && let Ok(verified) =
                    authority.verify(kind, cookie.value(), now, VerifyOptions::new())
            {
                tokens.push(verified);
            }
        }
        let remember = &self.http().remember_cookie;
        let binding = binding(remember);
        if let Some(cookie) = self.jar.get(remember)
            && let Ok(verified) = authority.verify(
                REMEMBER_ME,
                cookie.value(),
                now,
                VerifyOptions::new().implicit(&binding),
            )
        {
            tokens.push(verified);
        }
        tokens
    }
}
