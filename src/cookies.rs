//! `PasetoCookies`: private cookies whose values are PASETO v4.local tokens, and the helpers
//! that put access, refresh, CSRF and remember-me tokens in cookies.

use std::fmt;
use std::time::Duration;

use rocket::http::{Cookie, CookieJar, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::time::Duration as CookieDuration;
use rocket::{Ignite, Rocket, Sentinel};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use std::sync::atomic::{AtomicBool, Ordering};

use subtle::ConstantTimeEq;

use crate::config::{CookiePrefix, Secure, is_token};
use crate::error::AuthError;
use crate::guard::Paseto;
use crate::issuer::{Issuer, TokenPair};
use crate::kind::{Access, Refresh, TokenKind};
use crate::revocation::{Revoked, merge};
use crate::token::{IssueError, Verified, random_id};

/// Browsers keep cookies of up to 4096 bytes (name, value and attributes together).
pub const MAX_COOKIE_SIZE: usize = 4096;

/// Why a value could not be put in a cookie.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CookieError {
    /// The cookie would exceed [`MAX_COOKIE_SIZE`]; browsers would drop it silently.
    #[error("the cookie would be {0} bytes; browsers keep at most 4096")]
    TooLarge(usize),
    /// The cookie name is not a valid cookie name (RFC 6265 token).
    #[error("the cookie name is not a valid cookie name")]
    InvalidName,
    /// The name's `__Secure-` or `__Host-` prefix demands attributes the cookie lacks
    /// (`Secure`; for `__Host-` also `Path=/` and no `Domain`), so browsers would drop it.
    #[error(
        "a `__Secure-` cookie needs `Secure`, and a `__Host-` cookie `Secure`, `Path=/` and no `Domain`"
    )]
    Prefix,
    /// The kind's cookie is turned off (`cookie = ""`).
    #[error("the `{0}` cookie is turned off in the configuration")]
    Disabled(&'static str),
    /// The token or sealed value could not be made.
    #[error(transparent)]
    Issue(#[from] IssueError),
}

/// The implicit assertion that binds a sealed value or token to the cookie that carries it:
/// copied under another name, or sent as a bearer token, it no longer opens.
pub(crate) fn binding(name: &str) -> Vec<u8> {
    format!("rocket_paseto cookie {name}").into_bytes()
}

/// The request's cookies, as private cookies whose values are PASETO `v4.local` tokens under
/// `local_key`, plus helpers to log a browser in and out.
///
/// Each value carries its own expiry (the browser's is not trusted) and is bound to its cookie's
/// name. A tampered, expired, renamed or foreign value reads as `None`. Cookies are `HttpOnly`,
/// `SameSite=Lax` and `Path=/` unless configured otherwise, and `Secure` when Rocket serves TLS
/// (or always, with `cookies.secure = true`).
///
/// ```
/// use rocket_paseto::PasetoCookies;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Default)]
/// struct Cart { items: Vec<String> }
///
/// #[rocket::post("/cart/<item>")]
/// fn add(item: String, cookies: PasetoCookies<'_>) -> Result<(), rocket_paseto::AuthError> {
///     let mut cart: Cart = cookies.get("cart").unwrap_or_default();
///     cart.items.push(item);
///     cookies.add("cart", &cart)?;
///     Ok(())
/// }
/// ```
pub struct PasetoCookies<'r> {
    jar: &'r CookieJar<'r>,
    issuer: &'r Issuer,
    secure: bool,
    /// Set once a token cookie is written, so the response is marked `no-store`.
    tokens_set: &'r TokensSet,
    /// The request's CSRF header when its method needs one, for [`logout`](Self::logout).
    csrf: CsrfSent<'r>,
}

/// Whether the response sets token cookies: read by the fairing, which then adds
/// `Cache-Control: no-store` so no cache keeps them.
#[derive(Default)]
pub(crate) struct TokensSet(AtomicBool);

impl TokensSet {
    pub(crate) fn of<'r>(request: &'r Request<'_>) -> &'r TokensSet {
        request.local_cache(TokensSet::default)
    }

    pub(crate) fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// What the request sent for the CSRF check.
#[derive(Clone, Copy)]
enum CsrfSent<'r> {
    /// The method is exempt, or the check is off.
    NotNeeded,
    /// The header's single value, or `None` when it is absent or repeated.
    Header(Option<&'r str>),
}

impl fmt::Debug for PasetoCookies<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasetoCookies")
            .field("secure", &self.secure)
            .finish_non_exhaustive()
    }
}

impl<'r> PasetoCookies<'r> {
    /// Stores `value` under `name` for the configured `cookies.ttl`.
    pub fn add<T: Serialize + ?Sized>(&self, name: &str, value: &T) -> Result<(), CookieError> {
        let ttl = self.issuer.shared().web.jar_ttl;
        self.add_for(name, value, ttl)
    }

    /// Stores `value` under `name` for `ttl`.
    pub fn add_for<T: Serialize + ?Sized>(
        &self,
        name: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<(), CookieError> {
        self.add_cookie(Cookie::new(name.to_owned(), ""), value, ttl)
    }

    /// Stores `value` in a cookie shaped like `template`: its name and any attributes it sets
    /// (path, domain, `SameSite`, …) are kept; the value, `Max-Age` and unset attributes are ours.
    /// A `__Secure-` or `__Host-` name whose attributes break its prefix's rules is refused
    /// ([`CookieError::Prefix`]) rather than dropped by the browser.
    pub fn add_cookie<T: Serialize + ?Sized>(
        &self,
        template: Cookie<'static>,
        value: &T,
        ttl: Duration,
    ) -> Result<(), CookieError> {
        if !is_token(template.name()) {
            return Err(CookieError::InvalidName);
        }
        let token = self
            .issuer
            .authority()
            .seal(&binding(template.name()), value, ttl)?;
        // A value longer than the verifier accepts could be written but never read back.
        let max = self.issuer.authority().rules().max_token_length_limit();
        if token.len() > max {
            return Err(CookieError::TooLarge(token.len()));
        }
        let cookie = self.finish(template, token, ttl)?;
        self.jar.add(cookie);
        Ok(())
    }

    /// Adds token cookies, and marks the response `no-store`.
    fn add_tokens(&self, cookies: impl IntoIterator<Item = Cookie<'static>>) {
        self.tokens_set.0.store(true, Ordering::Relaxed);
        for cookie in cookies {
            self.jar.add(cookie);
        }
    }

    /// The value stored under `name`, if it is there, ours, unexpired and a `T`.
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        let cookie = self.jar.get_pending(name)?;
        self.issuer
            .authority()
            .unseal(&binding(name), cookie.value(), OffsetDateTime::now_utc())
            .ok()
    }

    /// Removes the value stored under `name` with `Path=/`.
    pub fn remove(&self, name: &str) {
        self.remove_cookie(Cookie::build(name.to_owned()).path("/").build());
    }

    /// Removes a cookie added with [`add_cookie`](Self::add_cookie): give the same name, path
    /// and domain. The removal carries the configured `SameSite` and `Secure`, so browsers
    /// accept it wherever they accepted the cookie.
    pub fn remove_cookie(&self, mut cookie: Cookie<'static>) {
        if cookie.same_site().is_none() {
            cookie.set_same_site(self.issuer.shared().web.same_site);
        }
        if cookie.secure().is_none() {
            cookie.set_secure(self.secure);
        }
        self.jar.remove(cookie);
    }

    /// Logs a browser in: mints an access and a refresh token for `subject` sharing a fresh CSRF
    /// value, and sets both cookies (`Max-Age` = their lifetimes, the refresh cookie on its
    /// configured path) and the readable CSRF cookie, all or none.
    ///
    /// Returns the pair for server-side use only: sending its tokens to the page would hand
    /// scripts what the `HttpOnly` cookies keep from them.
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
        let access = self.token_cookie::<Access>(&pair.access_token)?;
        let refresh = self.token_cookie::<Refresh>(&pair.refresh_token)?;
        let csrf = self.csrf_cookie(csrf)?;
        self.add_tokens([access, refresh, csrf]);
        Ok(pair)
    }

    /// After a refresh: sets a new access cookie in the refresh token's family (see
    /// [`Issuer::access_from`]), keeping its CSRF value so the CSRF cookie stays valid (or, for
    /// a refresh token that had none, such as one sent in a header, starting a new CSRF value
    /// and cookie). Returns the new access token.
    pub async fn set_access<C: 'static>(
        &self,
        refresh: &Paseto<Refresh, C>,
    ) -> Result<String, AuthError> {
        let new_csrf = match refresh.registered().csrf {
            Some(_) => None,
            None => Some(random_id().map_err(CookieError::Issue)?),
        };
        let token = self
            .issuer
            .access_in_family(refresh.verified(), new_csrf.as_deref())
            .await?;
        let access = self.token_cookie::<Access>(&token)?;
        let csrf = new_csrf.map(|value| self.csrf_cookie(value)).transpose()?;
        self.add_tokens([Some(access), csrf].into_iter().flatten());
        Ok(token)
    }

    /// After a refresh, with rotation: exchanges the refresh token once for a new pair (see
    /// [`Issuer::rotate`](crate::Issuer::rotate)) and sets both cookies, keeping the CSRF
    /// value. Presenting a refresh token twice revokes its whole family.
    pub async fn rotate_tokens<C: 'static>(
        &self,
        refresh: &Paseto<Refresh, C>,
    ) -> Result<TokenPair, crate::AuthError> {
        let new_csrf = match refresh.registered().csrf {
            Some(_) => None,
            None => Some(random_id().map_err(CookieError::Issue)?),
        };
        let pair = self
            .issuer
            .rotate_inner(refresh.verified(), new_csrf.as_deref())
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
        let web = &self.issuer.shared().web;
        let token = crate::remember::mint(self.issuer, subject, &web.remember_cookie, family, end)?;
        let ttl = self.issuer.ttl_of(crate::remember::KIND);
        let cookie = self.finish(Cookie::new(web.remember_cookie.clone(), ""), token, ttl)?;
        self.add_tokens([cookie]);
        Ok(())
    }

    /// Removes the remember-me cookie.
    pub fn forget(&self) {
        self.remove(&self.issuer.shared().web.remember_cookie);
    }

    /// Logs a browser out: removes the access, refresh, CSRF and remember-me cookies.
    pub fn remove_tokens(&self) {
        let web = &self.issuer.shared().web;
        for kind in [Access::NAME, Refresh::NAME] {
            if let Some((name, path)) = self.cookie_of(kind) {
                self.remove_cookie(Cookie::build(name.to_owned()).path(path.to_owned()).build());
            }
        }
        self.remove(&web.csrf_cookie);
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
    /// header ([`AuthError::Csrf`] otherwise, and nothing is changed), so another site cannot
    /// log users out. Without a revocation store the cookies are removed and nothing is
    /// revoked: the result says so. When the store cannot record the revocation it fails with
    /// [`AuthError::Revocation`] and the cookies are kept, so the user can try again.
    pub async fn logout(&self) -> Result<Revoked, AuthError> {
        let tokens = self.session_tokens();
        if let CsrfSent::Header(sent) = self.csrf {
            let expected = tokens.iter().find_map(|t| t.claims().csrf.as_deref());
            let matches = |value: &str| {
                sent.is_some_and(|s| bool::from(s.as_bytes().ct_eq(value.as_bytes())))
            };
            if expected.is_some_and(|value| !matches(value)) {
                return Err(AuthError::Csrf);
            }
        }
        let mut results = Vec::with_capacity(tokens.len());
        if let Some(revocation) = &self.issuer.shared().revocation {
            for token in &tokens {
                results.push(revocation.revoke(token.claims()).await?);
            }
        }
        self.remove_tokens();
        Ok(merge(results))
    }

    /// The valid access, refresh and remember-me tokens among the request's cookies.
    fn session_tokens(&self) -> Vec<Verified> {
        let authority = self.issuer.authority();
        let now = OffsetDateTime::now_utc();
        let mut tokens = Vec::with_capacity(3);
        for kind in [Access::NAME, Refresh::NAME] {
            if let Some((name, _)) = self.cookie_of(kind)
                && let Some(cookie) = self.jar.get(name)
                && let Ok(verified) = authority
                    .verify(
                        kind,
                        cookie.value(),
                        now,
                        crate::token::VerifyOptions::new(),
                    )
                    .map(std::sync::Arc::unwrap_or_clone)
            {
                tokens.push(verified);
            }
        }
        let remember = &self.issuer.shared().web.remember_cookie;
        if let Some(cookie) = self.jar.get(remember)
            && let Ok(verified) = authority
                .verify(
                    crate::remember::KIND,
                    cookie.value(),
                    now,
                    crate::token::VerifyOptions::new().implicit(&binding(remember)),
                )
                .map(std::sync::Arc::unwrap_or_clone)
        {
            tokens.push(verified);
        }
        tokens
    }

    /// The cookie name and path of kind `kind`, unless its cookie is turned off.
    fn cookie_of(&self, kind: &str) -> Option<(&str, &str)> {
        let web = &self.issuer.shared().web;
        let index = self
            .issuer
            .authority()
            .rules()
            .kinds()
            .iter()
            .position(|k| k.name() == kind)?;
        Some((
            web.cookies[index].as_deref()?,
            web.cookie_paths[index].as_str(),
        ))
    }

    fn token_cookie<K: TokenKind>(&self, token: &str) -> Result<Cookie<'static>, CookieError> {
        let (name, path) = self
            .cookie_of(K::NAME)
            .ok_or(CookieError::Disabled(K::NAME))?;
        let template = Cookie::build(name.to_owned()).path(path.to_owned()).build();
        self.finish(template, token.to_owned(), self.issuer.ttl_of(K::NAME))
    }

    /// The readable CSRF cookie: it lives as long as the refresh token that carries the value.
    fn csrf_cookie(&self, value: String) -> Result<Cookie<'static>, CookieError> {
        let name = self.issuer.shared().web.csrf_cookie.clone();
        let template = Cookie::build(name).http_only(false).build();
        self.finish(template, value, self.issuer.ttl_of(Refresh::NAME))
    }

    /// Puts `value` in `cookie`, filling in the configured attributes it leaves unset
    /// (`HttpOnly` unless the template says otherwise), and checks the size browsers keep.
    fn finish(
        &self,
        mut cookie: Cookie<'static>,
        value: String,
        ttl: Duration,
    ) -> Result<Cookie<'static>, CookieError> {
        let web = &self.issuer.shared().web;
        cookie.set_value(value);
        cookie.set_max_age(CookieDuration::seconds(ttl.as_secs() as i64));
        if cookie.path().is_none() {
            cookie.set_path("/");
        }
        if cookie.same_site().is_none() {
            cookie.set_same_site(web.same_site);
        }
        if cookie.http_only().is_none() {
            cookie.set_http_only(true);
        }
        if cookie.secure().is_none() {
            cookie.set_secure(self.secure);
        }
        if let Some(prefix) = CookiePrefix::of(cookie.name()) {
            let host_only = cookie.path() == Some("/") && cookie.domain().is_none();
            if cookie.secure() != Some(true) || (prefix == CookiePrefix::Host && !host_only) {
                return Err(CookieError::Prefix);
            }
        }
        let size = cookie.to_string().len();
        if size > MAX_COOKIE_SIZE {
            return Err(CookieError::TooLarge(size));
        }
        Ok(cookie)
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for PasetoCookies<'r> {
    type Error = AuthError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, AuthError> {
        let Some(issuer) = request.rocket().state::<Issuer>() else {
            return Outcome::Error((Status::InternalServerError, AuthError::NotConfigured));
        };
        let web = &issuer.shared().web;
        // Browsers drop `SameSite=None` cookies without `Secure`.
        let secure = web.same_site == rocket::http::SameSite::None
            || match web.secure {
                Secure::Always(on) => on,
                Secure::Auto => request.rocket().config().tls_enabled(),
            };
        let csrf = match &web.csrf_header {
            Some(header) if !web.csrf_exempt.contains(&request.method()) => {
                let mut values = request.headers().get(header);
                CsrfSent::Header(match (values.next(), values.next()) {
                    (Some(value), None) => Some(value),
                    _ => None,
                })
            }
            _ => CsrfSent::NotNeeded,
        };
        Outcome::Success(PasetoCookies {
            jar: request.cookies(),
            issuer,
            secure,
            tokens_set: TokensSet::of(request),
            csrf,
        })
    }
}

/// Aborts launch when the fairing is missing or there is no local key to seal values with.
pub(crate) fn needs_local_key(rocket: &Rocket<Ignite>, what: &str) -> bool {
    match rocket.state::<Issuer>() {
        None => {
            rocket::error!("`{what}` is used in a route, but `PasetoFairing` is not attached.");
            rocket::info_!("Attach it with `.attach(rocket_paseto::PasetoFairing::default())`.");
            true
        }
        Some(issuer) if issuer.authority().local_key().is_none() => {
            rocket::error!("`{what}` is used in a route, but `paseto.local_key` is not set.");
            true
        }
        Some(_) => false,
    }
}

impl Sentinel for PasetoCookies<'_> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        needs_local_key(rocket, "PasetoCookies")
    }
}
