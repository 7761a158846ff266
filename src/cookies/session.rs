//! The login helpers of [`PasetoCookies`]: token, CSRF and remember-me cookies, rotation and
//! logout, built on the jar.

use std::sync::Arc;

use rocket::http::Cookie;
use rocket::time::Duration as CookieDuration;
use time::OffsetDateTime;

use super::{CsrfSent, PasetoCookies, binding};
use crate::csrf;
use crate::error::{AuthError, CookieError};
use crate::hooks;
use crate::issuer::TokenPair;
use crate::kind::{Access, REMEMBER_ME, Refresh, TokenKind};
use crate::revocation::{Revoked, merge_all};
use crate::token::{Verified, VerifyOptions, random_id};

impl PasetoCookies<'_> {
    /// Logs a browser in: mints an access and a refresh token for `subject` sharing a fresh CSRF
    /// value, and sets both cookies (`Max-Age` = their lifetimes, the refresh cookie on its
    /// configured path) and the readable CSRF cookie, all or none.
    ///
    /// Returns the pair for server-side use only: sending its tokens to the page would hand
    /// scripts what the `HttpOnly` cookies keep from them.
    ///
    /// [`login`](Self::login) does the same with claims, the fairing's
    /// [`LoginClaims`](crate::LoginClaims) loader, and the login listed among the subject's
    /// [`Sessions`](crate::Sessions).
    pub fn set_tokens(&self, subject: &str) -> Result<TokenPair, CookieError> {
        self.set_tokens_inner(subject, false)
    }

    /// [`set_tokens`](Self::set_tokens) for a password login: the access token is fresh (see
    /// [`TokenBuilder::fresh`](crate::TokenBuilder::fresh)). Use `set_tokens` when resuming a
    /// session from a remember-me cookie.
    pub fn set_fresh_tokens(&self, subject: &str) -> Result<TokenPair, CookieError> {
        self.set_tokens_inner(subject, true)
    }

    fn set_tokens_inner(&self, subject: &str, fresh: bool) -> Result<TokenPair, CookieError> {
        let csrf = random_id()?;
        let pair = self
            .issuer
            .pair_with(subject, fresh, None, None, |b| b.claim("csrf", &csrf))?;
        self.set_pair(&pair, csrf)?;
        Ok(pair)
    }

    /// Sets the access, refresh and CSRF cookies of a new login, all or none.
    pub(crate) fn set_pair(&self, pair: &TokenPair, csrf: String) -> Result<(), CookieError> {
        let cookies = self.pair_cookies(pair, csrf)?;
        self.add_tokens(cookies);
        Ok(())
    }

    /// The access, refresh and CSRF cookies of a new login, not yet set.
    pub(crate) fn pair_cookies(
        &self,
        pair: &TokenPair,
        csrf: String,
    ) -> Result<[Cookie<'static>; 3], CookieError> {
        let access = self.token_cookie::<Access>(&pair.access_token)?;
        let refresh = self.token_cookie::<Refresh>(&pair.refresh_token)?;
        Ok([access, refresh, self.csrf_cookie(csrf)?])
    }

    /// After a refresh: sets a new access cookie in the refresh token's family (see
    /// [`Issuer::access_from`](crate::Issuer::access_from)), keeping its CSRF value so the CSRF cookie stays valid (or, for
    /// a refresh token that had none, such as one sent in a header, starting a new CSRF value
    /// and cookie). Returns the new access token.
    pub async fn set_access(&self, refresh: impl AsRef<Verified>) -> Result<String, AuthError> {
        let reloaded = hooks::reload(self.request, self.issuer.state(), refresh.as_ref()).await?;
        let refresh = reloaded.as_ref().unwrap_or(refresh.as_ref());
        let new_csrf = match refresh.claims().csrf {
            Some(_) => None,
            None => Some(random_id().map_err(CookieError::Issue)?),
        };
        let token = self
            .issuer
            .access_in_family(refresh, new_csrf.as_deref())
            .await?;
        let access = self.token_cookie::<Access>(&token)?;
        let csrf = new_csrf.map(|value| self.csrf_cookie(value)).transpose()?;
        self.add_tokens([Some(access), csrf].into_iter().flatten());
        Ok(token)
    }

    /// After a refresh, with rotation: exchanges the refresh token once for a new pair (see
    /// [`Issuer::rotate`](crate::Issuer::rotate)) and sets both cookies, keeping the CSRF
    /// value. Presenting a refresh token twice revokes its whole family.
    pub async fn rotate_tokens(
        &self,
        refresh: impl AsRef<Verified>,
    ) -> Result<TokenPair, AuthError> {
        let reloaded = hooks::reload(self.request, self.issuer.state(), refresh.as_ref()).await?;
        let refresh = reloaded.as_ref().unwrap_or(refresh.as_ref());
        let new_csrf = match refresh.claims().csrf {
            Some(_) => None,
            None => Some(random_id().map_err(CookieError::Issue)?),
        };
        let pair = self
            .issuer
            .rotate_inner(refresh, new_csrf.as_deref())
            .await?;
        let access = self.token_cookie::<Access>(&pair.access_token)?;
        let refresh = self.token_cookie::<Refresh>(&pair.refresh_token)?;
        let csrf = new_csrf.map(|value| self.csrf_cookie(value)).transpose()?;
        self.add_tokens([Some(access), Some(refresh), csrf].into_iter().flatten());
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
        // Its own `Max-Age` even with session cookies: remembering outlives the browser session.
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

    /// Logs a browser out: removes the access, refresh, CSRF and remember-me cookies.
    pub fn remove_tokens(&self) {
        let http = self.http();
        for kind in [Access::NAME, Refresh::NAME] {
            if let Some((name, path)) = self.cookie_of(kind) {
                self.remove_cookie(Cookie::build(name.to_owned()).path(path.to_owned()).build());
            }
        }
        self.remove(&http.csrf_cookie);
        self.forget();
    }

    /// Logs a browser out for real: revokes the family of every token cookie the request
    /// carries (access, refresh and remember-me; so a logout works after the access cookie
    /// has expired, and copies of the cookies stop working too), then removes the cookies
    /// like [`remove_tokens`](Self::remove_tokens).
    ///
    /// ```
    /// use rocket::serde::json::Json;
    /// use rocket_paseto::{AuthError, PasetoCookies, Revoked};
    ///
    /// #[rocket::post("/logout")]
    /// async fn logout(cookies: PasetoCookies<'_>) -> Result<Json<Revoked>, AuthError> {
    ///     Ok(Json(cookies.logout().await?))
    /// }
    /// ```
    ///
    /// Cookies that are expired, tampered with or already revoked are only removed. On a method
    /// that needs CSRF protection, a session token that carries a CSRF value requires the CSRF
    /// header or form field ([`AuthError::Csrf`] otherwise, and nothing is changed), so another site cannot
    /// log users out. Without a revocation store the cookies are removed and nothing is
    /// revoked: the result says so. When the store cannot record the revocation it fails with
    /// [`AuthError::Revocation`] (a 503) and the cookies are kept, so the user can try again.
    pub async fn logout(&self) -> Result<Revoked, AuthError> {
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
        }
        self.remove_tokens();
        Ok(merge_all(results))
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
