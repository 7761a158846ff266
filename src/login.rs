//! Starting a session: [`Login`], the builder of a session's token pair, with claims from the
//! application's [`LoginClaims`](crate::LoginClaims) loader.

use std::fmt;
use std::time::Duration;

use rocket::request::Request;
use serde::Serialize;
use serde_json::Map;
use time::OffsetDateTime;

use crate::cookies::PasetoCookies;
use crate::error::AuthError;
use crate::events::EventKind;
use crate::issuer::{ExtraClaims, Family, Issuer, TokenPair};
use crate::revocation::{Device, login_family};
use crate::token::random_id;

/// A session being started: an access and a refresh token in a new session, with claims from
/// the application's [`LoginClaims`](crate::LoginClaims) and from this builder.
///
/// Made by [`Sessions::login`](crate::Sessions::login) (tokens for the response body) or
/// [`PasetoCookies::login`] (tokens in cookies). With a revocation store the session is listed
/// among its subject's sessions ([`Sessions::list`](crate::Sessions::list)).
#[must_use = "a session is only started by `issue().await`"]
pub struct Login<'a> {
    issuer: &'a Issuer,
    request: &'a Request<'a>,
    subject: String,
    extra: ExtraClaims,
    fresh: bool,
    ttl: Option<Duration>,
    label: Option<String>,
    cookies: Option<&'a PasetoCookies<'a>>,
}

impl fmt::Debug for Login<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("fresh", &self.fresh)
            .field("ttl", &self.ttl)
            .field("cookies", &self.cookies.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a> Login<'a> {
    pub(crate) fn new(
        issuer: &'a Issuer,
        request: &'a Request<'a>,
        subject: String,
        cookies: Option<&'a PasetoCookies<'a>>,
    ) -> Self {
        Login {
            issuer,
            request,
            subject,
            extra: ExtraClaims::new(),
            fresh: false,
            ttl: None,
            label: None,
            cookies,
        }
    }

    /// Adds one claim to both tokens; it overrides a claim of the same name from the
    /// [`LoginClaims`](crate::LoginClaims) loader.
    pub fn claim(mut self, name: impl Into<String>, value: impl Serialize) -> Self {
        self.extra.add(name, value);
        self
    }

    /// Adds every field of `claims`, which must serialise to a JSON object, to both tokens.
    pub fn claims<T: Serialize + ?Sized>(mut self, claims: &T) -> Self {
        self.extra.add_all(claims);
        self
    }

    /// Marks the access token fresh: for a password login (see
    /// [`Paseto::require_fresh`](crate::Paseto::require_fresh)); not when resuming a session
    /// from a remember-me cookie. The refresh token never is.
    pub fn fresh(mut self) -> Self {
        self.fresh = true;
        self
    }

    /// Ends this session sooner than `paseto.session_ttl` (never later): its tokens, and every
    /// token refreshed from it, expire by then, and so do its cookies. For a short session on a shared computer, say,
    /// beside the configured one for a trusted device.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Names the session in its subject's list ([`Session::label`](crate::Session::label)),
    /// e.g. the device name the user typed in; up to 64 bytes are kept. The list also shows
    /// each session's user agent and, with `revocation.keep_ip`, its client address.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Mints the pair (and, from [`PasetoCookies::login`], sets the access, refresh and CSRF
    /// cookies, `Max-Age` their lifetimes, all or none). With a revocation store the session is
    /// listed first; when the store cannot record it, the login fails with
    /// [`AuthError::Unavailable`] unless `on_error = "allow"`.
    ///
    /// From [`PasetoCookies::login`], keep the returned pair on the server: sending its tokens
    /// to the page would hand scripts what the `HttpOnly` cookies keep from them.
    pub async fn issue(self) -> Result<TokenPair, AuthError> {
        let state = self.issuer.state();
        let loader = state.hooks.login_claims.as_ref();
        let mut claims = match loader {
            Some(loader) => loader.claims(&self.subject, self.request).await?,
            None => Map::new(),
        };
        // Only a listed session keeps it.
        let device = if state.list_sessions {
            self.device()
        } else {
            Device::default()
        };
        let end = self.end();
        claims.extend(self.extra.into_map().map_err(AuthError::Issue)?);
        // A listed session's id carries its start, so ending the oldest takes one entry.
        let family = login_family()?;
        let csrf = match self.cookies {
            Some(_) => Some(random_id()?),
            None => None,
        };
        if let Some(csrf) = &csrf {
            claims.insert("csrf".into(), csrf.as_str().into());
        }
        let in_family = Family { id: &family, end };
        let pair =
            self.issuer
                .pair_with(&self.subject, self.fresh, Some(in_family), None, |b| {
                    b.claims(&claims)
                })?;
        // Everything that can fail is done before the session is listed: a session that never
        // got its tokens must not take a place (or end an older session) in the list.
        let cookies = match (self.cookies, csrf) {
            (Some(jar), Some(csrf)) => Some((jar, jar.pair_cookies(&pair, csrf, end)?)),
            _ => None,
        };
        if let Some(revocation) = state.revocation.as_ref().filter(|_| state.list_sessions)
            && let Err(e) = (revocation)
                .open_login(&self.subject, &family, end, device)
                .await
        {
            if !revocation.fails_open() {
                rocket::error!("rocket_paseto: {e}; refusing a session that cannot be listed");
                return Err(AuthError::Unavailable);
            }
            rocket::warn!("rocket_paseto: {e}; a session goes unlisted (on_error = \"allow\")");
        }
        if let Some((jar, cookies)) = cookies {
            jar.add_tokens(cookies);
        }
        let (subject, request) = (Some(self.subject.as_str()), Some(self.request));
        state.emit(EventKind::Login, subject, Some(&family), request);
        Ok(pair)
    }
}

impl Login<'_> {
    /// When the session ends: `session_ttl` from now, or sooner with [`ttl`](Self::ttl). A ttl
    /// too long to add to the clock asks for no limit beyond `session_ttl`.
    fn end(&self) -> OffsetDateTime {
        let end = self.issuer.session_end();
        let sooner = self.ttl.and_then(|ttl| {
            let ttl = time::Duration::try_from(ttl).ok()?;
            OffsetDateTime::now_utc().checked_add(ttl)
        });
        sooner.map_or(end, |sooner| end.min(sooner))
    }

    /// What the session's list entry records of the device it is made from.
    fn device(&self) -> Device {
        let state = self.issuer.state();
        let user_agent = self.request.headers().get_one("User-Agent");
        let ip = state
            .keep_ip
            .then(|| state.throttle.address_of(self.request))
            .flatten();
        Device::new(user_agent, ip, self.label.as_deref())
    }
}

impl PasetoCookies<'_> {
    /// Starts a browser session of `subject`: add claims, then [`issue`](Login::issue) it to
    /// set the access, refresh and CSRF cookies. It runs the application's
    /// [`LoginClaims`](crate::LoginClaims) and lists the session among the subject's
    /// [`Sessions`](crate::Sessions).
    ///
    /// ```
    /// use rocket_paseto::{AuthError, PasetoCookies, SameOrigin};
    ///
    /// #[rocket::post("/login")]
    /// async fn login(_origin: SameOrigin, cookies: PasetoCookies<'_>) -> Result<(), AuthError> {
    ///     // … check the password first, then:
    ///     cookies.login("42").fresh().issue().await?;
    ///     Ok(())
    /// }
    /// ```
    pub fn login(&self, subject: impl Into<String>) -> Login<'_> {
        Login::new(self.issuer, self.request, subject.into(), Some(self))
    }
}
