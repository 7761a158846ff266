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

use crate::config::Secure;
use crate::error::AuthError;
use crate::guard::Paseto;
use crate::issuer::{Issuer, TokenPair};
use crate::kind::{Access, Refresh, TokenKind};
use crate::token::{IssueError, random_id};

/// Browsers keep cookies of up to 4096 bytes (name, value and attributes together).
pub const MAX_COOKIE_SIZE: usize = 4096;

/// Why a value could not be put in a cookie.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CookieError {
    /// The cookie would exceed [`MAX_COOKIE_SIZE`]; browsers would drop it silently.
    #[error("the cookie would be {0} bytes; browsers keep at most 4096")]
    TooLarge(usize),
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
    pub fn add_cookie<T: Serialize + ?Sized>(
        &self,
        template: Cookie<'static>,
        value: &T,
        ttl: Duration,
    ) -> Result<(), CookieError> {
        let token = self
            .issuer
            .authority()
            .seal(&binding(template.name()), value, ttl)?;
        self.put(template, token, ttl, true)
    }

    /// The value stored under `name`, if it is there, ours, unexpired and a `T`.
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        let cookie = self.jar.get_pending(name)?;
        self.issuer
            .authority()
            .unseal(&binding(name), cookie.value(), OffsetDateTime::now_utc())
            .ok()
    }

    /// Removes the value stored under `name` (with `Path=/`).
    pub fn remove(&self, name: &str) {
        self.jar.remove(Cookie::build(name.to_owned()).path("/"));
    }

    /// Logs a browser in: mints an access and a refresh token for `subject` sharing a fresh CSRF
    /// value, sets both cookies (`Max-Age` = their lifetimes, the refresh cookie on its configured
    /// path) and the readable CSRF cookie. Returns the pair, e.g. for a JSON body.
    pub fn set_tokens(&self, subject: &str) -> Result<TokenPair, CookieError> {
        let csrf = random_id()?;
        let access_token = self.issuer.access(subject).claim("csrf", &csrf).issue()?;
        let refresh_token = self.issuer.refresh(subject).claim("csrf", &csrf).issue()?;
        self.put_token::<Access>(&access_token)?;
        self.put_token::<Refresh>(&refresh_token)?;
        let web = &self.issuer.shared().web;
        let lifetime = self.ttl_of(Refresh::NAME);
        let readable = Cookie::build(web.csrf_cookie.clone())
            .http_only(false)
            .build();
        self.put(readable, csrf, lifetime, false)?;
        Ok(TokenPair {
            access_token,
            refresh_token,
            token_type: web.scheme.clone(),
            expires_in: self.ttl_of(Access::NAME).as_secs(),
        })
    }

    /// After a refresh: sets a new access cookie for the refresh token's subject, keeping its
    /// CSRF value (so the CSRF cookie stays valid). Returns the new access token.
    pub fn set_access<C>(&self, refresh: &Paseto<Refresh, C>) -> Result<String, CookieError> {
        let mut builder = self.issuer.access(refresh.subject());
        if let Some(csrf) = &refresh.registered().csrf {
            builder = builder.claim("csrf", csrf);
        }
        let token = builder.issue()?;
        self.put_token::<Access>(&token)?;
        Ok(token)
    }

    /// Sets the remember-me cookie for `subject` (lifetime `remember_me.ttl`).
    pub fn remember(&self, subject: &str) -> Result<(), CookieError> {
        let web = &self.issuer.shared().web;
        let token = crate::remember::mint(self.issuer, subject, &web.remember_cookie)?;
        let ttl = self.ttl_of(crate::remember::KIND);
        self.put(
            Cookie::new(web.remember_cookie.clone(), ""),
            token,
            ttl,
            true,
        )
    }

    /// Removes the remember-me cookie.
    pub fn forget(&self) {
        let name = self.issuer.shared().web.remember_cookie.clone();
        self.jar.remove(Cookie::build(name).path("/"));
    }

    /// Logs a browser out: removes the access, refresh, CSRF and remember-me cookies.
    pub fn remove_tokens(&self) {
        let web = &self.issuer.shared().web;
        for index in [self.index_of(Access::NAME), self.index_of(Refresh::NAME)] {
            if let (Some(name), path) = (&web.cookies[index], &web.cookie_paths[index]) {
                self.jar
                    .remove(Cookie::build(name.clone()).path(path.clone()));
            }
        }
        self.jar
            .remove(Cookie::build(web.csrf_cookie.clone()).path("/"));
        self.forget();
    }

    fn index_of(&self, kind: &str) -> usize {
        // Access and refresh are always registered by the fairing.
        let kinds = self.issuer.authority().rules().kinds();
        kinds.iter().position(|k| k.name() == kind).unwrap_or(0)
    }

    fn ttl_of(&self, kind: &str) -> Duration {
        self.issuer.authority().rules().kinds()[self.index_of(kind)].ttl()
    }

    fn put_token<K: TokenKind>(&self, token: &str) -> Result<(), CookieError> {
        let web = &self.issuer.shared().web;
        let index = self.index_of(K::NAME);
        let name = web.cookies[index]
            .clone()
            .ok_or(CookieError::Disabled(K::NAME))?;
        let template = Cookie::build(name)
            .path(web.cookie_paths[index].clone())
            .build();
        self.put(template, token.to_owned(), self.ttl_of(K::NAME), true)
    }

    /// Adds `value` in `template`, filling in the configured attributes it leaves unset.
    fn put(
        &self,
        mut cookie: Cookie<'static>,
        value: String,
        ttl: Duration,
        http_only: bool,
    ) -> Result<(), CookieError> {
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
            cookie.set_http_only(http_only);
        }
        if cookie.secure().is_none() {
            cookie.set_secure(self.secure);
        }
        let size = cookie.to_string().len();
        if size > MAX_COOKIE_SIZE {
            return Err(CookieError::TooLarge(size));
        }
        self.jar.add(cookie);
        Ok(())
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for PasetoCookies<'r> {
    type Error = AuthError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, AuthError> {
        let Some(issuer) = request.rocket().state::<Issuer>() else {
            return Outcome::Error((Status::InternalServerError, AuthError::NotConfigured));
        };
        let secure = match issuer.shared().web.secure {
            Secure::Always(on) => on,
            Secure::Auto => request.rocket().config().tls_enabled(),
        };
        Outcome::Success(PasetoCookies {
            jar: request.cookies(),
            issuer,
            secure,
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
