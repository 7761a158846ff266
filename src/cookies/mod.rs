//! `PasetoCookies`: private cookies whose values are PASETO v4.local tokens, and the helpers
//! that put access, refresh, CSRF and remember-me tokens in cookies.

use std::fmt;
use std::time::Duration;

use rocket::http::{Cookie, CookieJar};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::time::Duration as CookieDuration;
use rocket::{Ignite, Rocket, Sentinel};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::config::{CookiePrefix, HttpSettings, Secure, is_http_token};
use crate::csrf;
use crate::error::{AuthError, CookieError, MAX_COOKIE_SIZE};
use crate::issuer::Issuer;
use crate::kind::{Refresh, TokenKind};
use crate::state::{AuthState, TokensSet};

mod tokens;

/// The implicit assertion that binds a sealed value or token to the cookie that carries it:
/// copied under another name, or sent as a bearer token, it no longer opens.
pub(crate) fn binding(name: &str) -> Vec<u8> {
    [BINDING_PREFIX, name.as_bytes()].concat()
}

const BINDING_PREFIX: &[u8] = b"rocket_paseto cookie ";

/// Calls `read` with [`binding`]`(name)`, built on the stack for the usual short names: jar
/// reads happen on every request.
fn with_binding<R>(name: &str, read: impl FnOnce(&[u8]) -> R) -> R {
    let mut buffer = [0u8; 128];
    let len = BINDING_PREFIX.len() + name.len();
    match buffer.get_mut(..len) {
        Some(bytes) => {
            let (prefix, rest) = bytes.split_at_mut(BINDING_PREFIX.len());
            prefix.copy_from_slice(BINDING_PREFIX);
            rest.copy_from_slice(name.as_bytes());
            read(bytes)
        }
        None => read(&binding(name)),
    }
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
    pub(crate) request: &'r Request<'r>,
    pub(crate) issuer: &'r Issuer,
    secure: bool,
    /// The request's CSRF value when its method needs one, for [`logout`](Self::logout).
    csrf: CsrfSent<'r>,
}

/// The hidden form field that carries the CSRF value: see [`PasetoCookies::csrf_input`].
/// Serialises as `{ "name": …, "value": … }` for template contexts; `Debug` hides the value.
#[derive(Clone, Serialize)]
pub struct CsrfInput {
    name: String,
    value: String,
}

impl CsrfInput {
    /// The field's name: `paseto.csrf_field`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The CSRF value.
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Debug for CsrfInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfInput")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What the request sent for the CSRF check.
#[derive(Clone, Copy)]
enum CsrfSent<'r> {
    /// The method is exempt, or the check is off.
    NotNeeded,
    /// The header's single value, or without a header the form field's (see
    /// [`csrf::sent`]); `None` when neither is there or the header is repeated.
    Value(Option<&'r str>),
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
        let ttl = self.http().jar_ttl;
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
        if !is_http_token(template.name()) {
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
        let cookie = self.with_attributes(template, token, ttl)?;
        self.jar.add(cookie);
        Ok(())
    }

    fn http(&self) -> &'r HttpSettings {
        &self.issuer.state().http
    }

    /// Adds token cookies, and marks the response `no-store`.
    pub(crate) fn add_tokens(&self, cookies: impl IntoIterator<Item = Cookie<'static>>) {
        // Looked up here, not when the guard is made: most requests only read the jar.
        TokensSet::of(self.request).mark();
        for cookie in cookies {
            self.jar.add(cookie);
        }
    }

    /// The value stored under `name`, if it is there, ours, unexpired and a `T`.
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        let cookie = self.jar.get_pending(name)?;
        let now = OffsetDateTime::now_utc();
        with_binding(name, |binding| {
            self.issuer.authority().unseal(binding, cookie.value(), now)
        })
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
            cookie.set_same_site(self.http().same_site);
        }
        if cookie.secure().is_none() {
            cookie.set_secure(self.secure);
        }
        self.set_domain(&mut cookie);
        self.jar.remove(cookie);
    }

    /// Gives `cookie` the configured `Domain`, unless it has one or a `__Host-` name (which
    /// browsers accept only without `Domain`).
    fn set_domain(&self, cookie: &mut Cookie<'static>) {
        let host_only = CookiePrefix::of(cookie.name()) == Some(CookiePrefix::Host);
        if let Some(domain) = &self.http().domain
            && cookie.domain().is_none()
            && !host_only
        {
            cookie.set_domain(domain.clone());
        }
    }

    /// The hidden field that carries the CSRF value in a plain HTML form, for the template
    /// context: `None` when the browser is not signed in (no CSRF cookie), or when the CSRF
    /// check or its form field (`paseto.csrf_field`) is off. Render it as the form's first
    /// field: it must end within the first 512 bytes of the body.
    ///
    /// ```
    /// use rocket_paseto::{Access, CsrfInput, Paseto, PasetoCookies};
    ///
    /// #[rocket::get("/")]
    /// fn page(_user: Paseto<Access>, cookies: PasetoCookies<'_>) -> String {
    ///     // With a template engine, put `cookies.csrf_input()` in the context instead.
    ///     let field = cookies.csrf_input().map(|f: CsrfInput| {
    ///         format!(r#"<input type="hidden" name="{}" value="{}">"#, f.name(), f.value())
    ///     });
    ///     format!(r#"<form method="post" action="/note">{}…</form>"#, field.unwrap_or_default())
    /// }
    /// ```
    pub fn csrf_input(&self) -> Option<CsrfInput> {
        let http = self.http();
        let name = http.csrf_field.clone()?;
        let cookie = self.jar.get_pending(&http.csrf_cookie)?;
        // Ours are base64url; anything else was not set by this crate and could not match.
        let value = cookie.value();
        let ours = !value.is_empty()
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ours.then(|| CsrfInput {
            name,
            value: value.to_owned(),
        })
    }

    /// The cookie name and path of kind `kind`, unless its cookie is turned off.
    fn cookie_of(&self, kind: &str) -> Option<(&'r str, &'r str)> {
        let (_, kind) = self.issuer.state().kind(kind)?;
        Some((kind.cookie.as_deref()?, kind.cookie_path.as_str()))
    }

    fn token_cookie<K: TokenKind>(
        &self,
        token: &str,
        session_end: Option<OffsetDateTime>,
    ) -> Result<Cookie<'static>, CookieError> {
        let (name, path) = self
            .cookie_of(K::NAME)
            .ok_or(CookieError::Disabled(K::NAME))?;
        let template = Cookie::build(name.to_owned()).path(path.to_owned()).build();
        let ttl = until(self.issuer.ttl_of(K::NAME), session_end);
        self.with_attributes(template, token.to_owned(), ttl)
    }

    /// The readable CSRF cookie: it lives as long as the refresh token that carries the value.
    fn csrf_cookie(
        &self,
        value: String,
        session_end: Option<OffsetDateTime>,
    ) -> Result<Cookie<'static>, CookieError> {
        let name = self.http().csrf_cookie.clone();
        let template = Cookie::build(name).http_only(false).build();
        let ttl = until(self.issuer.ttl_of(Refresh::NAME), session_end);
        self.with_attributes(template, value, ttl)
    }

    /// Puts `value` in `cookie`, filling in the configured attributes it leaves unset
    /// (`HttpOnly` unless the template says otherwise), and checks the size browsers keep.
    fn with_attributes(
        &self,
        mut cookie: Cookie<'static>,
        value: String,
        ttl: Duration,
    ) -> Result<Cookie<'static>, CookieError> {
        let http = self.http();
        cookie.set_value(value);
        // Cookies that end with the browser have no `Max-Age`, unless the template asks for
        // one (remember-me).
        if http.persistent || cookie.max_age().is_some() {
            cookie.set_max_age(CookieDuration::seconds(ttl.as_secs() as i64));
        }
        if cookie.path().is_none() {
            cookie.set_path("/");
        }
        self.set_domain(&mut cookie);
        if cookie.same_site().is_none() {
            cookie.set_same_site(http.same_site);
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

/// A token cookie's lifetime: its kind's, but never past the end of the session it belongs to,
/// so a browser does not keep cookies whose tokens have expired (a short `Login::ttl`, say).
fn until(ttl: Duration, session_end: Option<OffsetDateTime>) -> Duration {
    let left = session_end.map(|end| end - OffsetDateTime::now_utc());
    match left.map(Duration::try_from) {
        Some(Ok(left)) => ttl.min(left),
        // Ended already: the cookie goes at once.
        Some(Err(_)) => Duration::ZERO,
        None => ttl,
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for PasetoCookies<'r> {
    type Error = AuthError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, AuthError> {
        let Some(issuer) = request.rocket().state::<Issuer>() else {
            return AuthError::NotConfigured.fail(request);
        };
        let http = &issuer.state().http;
        // Browsers drop `SameSite=None` cookies without `Secure`.
        let secure = http.same_site == rocket::http::SameSite::None
            || match http.secure {
                Secure::Always => true,
                Secure::Never => false,
                Secure::Auto => request.rocket().config().tls_enabled(),
            };
        let csrf = match csrf::needed(request, http) {
            true => CsrfSent::Value(csrf::sent(request, http)),
            false => CsrfSent::NotNeeded,
        };
        Outcome::Success(PasetoCookies {
            jar: request.cookies(),
            request,
            issuer,
            secure,
            csrf,
        })
    }
}

impl Sentinel for PasetoCookies<'_> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        AuthState::missing(rocket, "PasetoCookies", true)
    }
}
