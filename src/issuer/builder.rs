//! [`TokenBuilder`]: one token, with extra claims, a lifetime, freshness or a session.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use rocket::http::{Cookie, Header};

use super::{Family, Issuer};
use crate::error::CookieError;
use crate::token::{IssueError, MintOptions, Verified, random_id, unregistered_claims};

/// A token being minted: add claims or a lifetime, then [`issue`](TokenBuilder::issue) it.
#[must_use = "a token is only minted by `issue()`"]
pub struct TokenBuilder<'a> {
    pub(super) issuer: &'a Issuer,
    pub(super) kind: &'static str,
    pub(super) subject: String,
    pub(super) ttl: Option<Duration>,
    pub(super) extra: ExtraClaims,
    pub(super) fresh: bool,
    pub(super) family: Option<(String, OffsetDateTime)>,
    pub(super) jti: Option<String>,
    /// The implicit assertion the token is bound to: a single-use token's, which only
    /// [`Issuer::consume`] supplies, so no other path (a guard, `verify`, `authenticate`) can
    /// open it.
    pub(super) implicit: Option<&'static [u8]>,
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
        self.extra.add(name, value);
        self
    }

    /// Adds every field of `claims`, which must serialise to a JSON object (e.g. a struct).
    pub fn claims<T: Serialize + ?Sized>(mut self, claims: &T) -> Self {
        self.extra.add_all(claims);
        self
    }

    /// Marks the token fresh: minted from a password login just now, as routes for sensitive
    /// actions can require ([`Paseto::require_fresh`](crate::Paseto::require_fresh)). Never
    /// use it for tokens minted from a refresh token or a remember-me cookie.
    pub fn fresh(mut self) -> Self {
        self.fresh = true;
        self
    }

    /// Puts the token in the session of `token` (a [`Paseto`](crate::Paseto) guard, or a
    /// token from [`Issuer::authenticate`]), so ending the session refuses it too. A token
    /// outside any session starts one with its own `jti`.
    ///
    /// No token outlives its session: it expires by the session's end (`fam_exp`, or for a
    /// token outside any session, its `exp`), whatever [`ttl`](Self::ttl) says, so an ended
    /// session is remembered as long as any of its tokens lives. This does not consult the
    /// revocation store: to refresh a session, use [`Sessions::refresh`](crate::Sessions::refresh),
    /// which does.
    pub fn session_of(mut self, token: impl AsRef<Verified>) -> Self {
        let claims = token.as_ref().claims();
        self.family = Family::of(claims).map(|f| (f.id.to_owned(), f.end));
        self
    }

    /// Mints the token and puts it in the header the guards read (`Authorization: Bearer …`
    /// unless configured otherwise): for tests with `rocket::local` clients, and calls between
    /// services.
    ///
    /// ```
    /// # use rocket_paseto::{Access, Issuer, Paseto, PasetoFairing};
    /// # #[rocket::get("/me")]
    /// # fn me(token: Paseto<Access>) -> String { token.subject().to_owned() }
    /// use rocket::local::blocking::Client;
    ///
    /// # let figment = rocket::Config::figment().merge(("log_level", "off"));
    /// # let rocket = rocket::custom(figment).attach(PasetoFairing::default()).mount("/", rocket::routes![me]);
    /// let client = Client::tracked(rocket).unwrap();
    /// let issuer = client.rocket().state::<Issuer>().unwrap();
    /// let header = issuer.access("42").claim("roles", ["admin"]).header().unwrap();
    /// assert_eq!(client.get("/me").header(header).dispatch().into_string().unwrap(), "42");
    /// ```
    pub fn header(self) -> Result<Header<'static>, IssueError> {
        let http = &self.issuer.state().http;
        let value = format!("{} {}", http.scheme, self.issue_inner()?);
        Ok(Header::new(http.header.clone(), value))
    }

    /// Mints the token with a CSRF value and returns it as a browser holds it after a login:
    /// the kind's cookie, the CSRF cookie, and the CSRF header its pages send on unsafe
    /// methods. For tests of routes that read tokens from cookies.
    ///
    /// ```
    /// # use rocket_paseto::{Access, Issuer, Paseto, PasetoFairing};
    /// # #[rocket::post("/me")]
    /// # fn me(token: Paseto<Access>) -> String { token.subject().to_owned() }
    /// use rocket::local::blocking::Client;
    ///
    /// # let figment = rocket::Config::figment().merge(("log_level", "off"));
    /// # let rocket = rocket::custom(figment).attach(PasetoFairing::default()).mount("/", rocket::routes![me]);
    /// let client = Client::tracked(rocket).unwrap();
    /// let issuer = client.rocket().state::<Issuer>().unwrap();
    /// let browser = issuer.access("42").cookies().unwrap();
    /// let response = client
    ///     .post("/me")
    ///     .cookies(browser.cookies.clone())
    ///     .header(browser.csrf_header.clone().unwrap())
    ///     .dispatch();
    /// assert_eq!(response.into_string().unwrap(), "42");
    /// ```
    pub fn cookies(mut self) -> Result<BrowserToken, CookieError> {
        let state = self.issuer.state();
        let name = state
            .kind(self.kind)
            .and_then(|(_, kind)| kind.cookie.clone())
            .ok_or(CookieError::Disabled(self.kind))?;
        let csrf = random_id()?;
        self = self.claim("csrf", &csrf);
        let token = self.issue_inner()?;
        let http = &state.http;
        Ok(BrowserToken {
            cookies: vec![
                Cookie::new(name, token),
                Cookie::new(http.csrf_cookie.clone(), csrf.clone()),
            ],
            csrf_header: http
                .csrf_header
                .clone()
                .map(|header| Header::new(header, csrf)),
        })
    }

    /// Mints the token.
    pub fn issue(self) -> Result<String, IssueError> {
        self.issue_inner()
    }

    fn issue_inner(self) -> Result<String, IssueError> {
        let extra = self.extra.into_map()?;
        self.issuer.state().authority.mint_with(
            self.kind,
            &self.subject,
            Some(&extra),
            MintOptions {
                ttl: self.ttl,
                fresh: self.fresh,
                family: self.family.as_ref().map(|(id, _)| id.as_str()),
                family_end: self.family.as_ref().map(|(_, end)| *end),
                jti: self.jti.as_deref(),
                implicit: self.implicit,
            },
        )
    }
}

/// Claims added to a token being minted; the first mistake sticks, and minting reports it.
pub(crate) struct ExtraClaims(Result<serde_json::Map<String, serde_json::Value>, IssueError>);

impl ExtraClaims {
    pub(crate) fn new() -> Self {
        ExtraClaims(Ok(serde_json::Map::new()))
    }

    /// Adds the claim `name`.
    pub(crate) fn add(&mut self, name: impl Into<String>, value: impl Serialize) {
        if let Ok(map) = &mut self.0 {
            match serde_json::to_value(value) {
                Ok(value) => {
                    map.insert(name.into(), value);
                }
                Err(_) => self.0 = Err(IssueError::Build),
            }
        }
    }

    /// Adds every field of `claims`, which must serialise to a JSON object.
    pub(crate) fn add_all<T: Serialize + ?Sized>(&mut self, claims: &T) {
        if let Ok(map) = &mut self.0 {
            match serde_json::to_value(claims) {
                Ok(serde_json::Value::Object(more)) => map.extend(more),
                _ => self.0 = Err(IssueError::NotAnObject),
            }
        }
    }

    /// The claims, or the first mistake made adding them.
    pub(crate) fn into_map(self) -> Result<serde_json::Map<String, serde_json::Value>, IssueError> {
        self.0
    }
}

/// A token as a browser holds it: from [`TokenBuilder::cookies`], for tests.
#[derive(Clone)]
#[non_exhaustive]
pub struct BrowserToken {
    /// The token's cookie and the readable CSRF cookie.
    pub cookies: Vec<Cookie<'static>>,
    /// The CSRF header a page sends with unsafe methods; `None` when `csrf = false`.
    pub csrf_header: Option<Header<'static>>,
}

impl fmt::Debug for BrowserToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.cookies.iter().map(|c| c.name()).collect();
        f.debug_struct("BrowserToken")
            .field("cookies", &names)
            .finish_non_exhaustive()
    }
}

/// The claims of `token` beyond the registered ones, those its login loaded afresh replacing
/// the same-named ones, plus `csrf` when it has none.
pub(super) fn extra_claims(
    token: &Verified,
    csrf: Option<&str>,
) -> Result<serde_json::Map<String, serde_json::Value>, IssueError> {
    let mut extra = unregistered_claims(token.payload()).map_err(|_| IssueError::Build)?;
    if let Some(reloaded) = token.reloaded_claims() {
        // The CSRF value pairs the tokens with the browser's CSRF cookie: it is the login's.
        let loaded = reloaded.iter().filter(|(name, _)| *name != "csrf");
        extra.extend(loaded.map(|(name, value)| (name.clone(), value.clone())));
    }
    if let Some(csrf) = csrf
        && !extra.contains_key("csrf")
    {
        extra.insert("csrf".into(), csrf.into());
    }
    Ok(extra)
}
