//! The `RememberMe` guard: the long-lived "remember me" cookie.

use std::fmt;

use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};
use time::OffsetDateTime;

use crate::cookies::{PasetoCookies, binding};
use crate::error::AuthError;
use crate::kind::REMEMBER_ME;
use crate::state::AuthState;
use crate::stats;
use crate::token::{Claims, VerifyOptions};

/// Who the browser's remember-me cookie says it is: Flask-Login's "remember me", as a PASETO
/// `v4.local` token bound to its cookie's name.
///
/// It reads only that cookie (`remember_token`, configurable), never a header. Its token has
/// its own `type` and name binding: it never passes as an access or refresh token, nor they as
/// it. Use it to start a new session for a returning user; set it with
/// [`PasetoCookies::remember`] at login and remove it with [`PasetoCookies::forget`].
///
/// With `remember_me.renew_after` set, a token older than that fraction of its lifetime is
/// replaced by a fresh one in the response (sliding expiry).
///
/// ```
/// use rocket_paseto::{RememberMe, PasetoCookies, AuthError};
///
/// #[rocket::post("/session/resume")]
/// async fn resume(user: RememberMe, cookies: PasetoCookies<'_>) -> Result<(), AuthError> {
///     cookies.login(user.subject()).issue().await?; // a new session, not fresh
///     Ok(())
/// }
/// ```
///
/// Like other cookies sent by browsers, it rides along on cross-site requests unless
/// `SameSite` stops it (`Lax`, the default, stops it on cross-site `POST`): keep routes that take
/// `RememberMe` free of side effects beyond starting a session.
///
/// With `"remember_me"` in `paseto.revocation.kinds`, [`PasetoCookies::logout`] refuses the
/// remember-me token too. Renewed tokens stay in the session of the one they replace, so
/// ending it refuses them all, including a copy taken before a renewal.
#[derive(Clone)]
pub struct RememberMe {
    claims: Claims,
}

impl RememberMe {
    /// Whom the cookie remembers.
    pub fn subject(&self) -> &str {
        &self.claims.sub
    }

    /// When the remember-me token was issued, if it says.
    pub fn issued_at(&self) -> Option<OffsetDateTime> {
        self.claims.iat
    }
}

impl AsRef<Claims> for RememberMe {
    fn as_ref(&self) -> &Claims {
        &self.claims
    }
}

impl fmt::Debug for RememberMe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RememberMe")
            .field("issued_at", &self.claims.iat)
            .finish_non_exhaustive()
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for RememberMe {
    type Error = AuthError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, AuthError> {
        let result = remembered(request).await;
        if let Some(state) = AuthState::of(request) {
            stats::record(state, &result);
        }
        match result {
            Ok(claims) => Outcome::Success(RememberMe { claims }),
            Err(error) => error.outcome(request),
        }
    }
}

/// Verifies the remember-me cookie, checks the store when the kind is checked, and renews
/// the cookie when it is due.
async fn remembered(request: &Request<'_>) -> Result<Claims, AuthError> {
    let state = AuthState::of(request).ok_or(AuthError::NotConfigured)?;
    let name = &state.http.remember_cookie;
    let cookie = request.cookies().get(name).ok_or(AuthError::Missing)?;
    let now = OffsetDateTime::now_utc();
    let verified = state
        .authority
        .verify(
            REMEMBER_ME,
            cookie.value(),
            now,
            VerifyOptions::new().implicit(&binding(name)),
        )
        .map_err(|reason| {
            rocket::debug!("rocket_paseto: remember-me token rejected: {reason}");
            AuthError::Invalid(reason)
        })?;
    let claims = verified.claims();
    let checked = state.kind(REMEMBER_ME).is_some_and(|(_, k)| k.checked);
    if let Some(revocation) = &state.revocation
        && checked
    {
        revocation.check(claims).await?;
    }
    // Resuming a session from the cookie renews it: the application must still accept its user.
    if let Some(users) = &state.hooks.users {
        users.check(&claims.sub, request).await?;
    }
    // Sliding expiry: past the configured fraction of its lifetime, replace the cookie.
    let due = match (state.http.renew_after, claims.iat) {
        (Some(fraction), Some(iat)) => now - iat >= (claims.exp - iat) * fraction,
        _ => false,
    };
    if due {
        renew(request, state, claims).await;
    }
    Ok(verified.claims().clone())
}

/// Replaces the remember-me cookie with a new token in the same family. Renewing mints into
/// the family, so it needs a definite "not revoked" from the store (when there is one),
/// whatever `on_error` says; without it the old cookie simply stays.
async fn renew(request: &Request<'_>, state: &AuthState, claims: &Claims) {
    if let Some(revocation) = &state.revocation
        && revocation.check_strictly(claims).await.is_err()
    {
        rocket::warn!(
            "rocket_paseto: the remember-me cookie was not renewed: the store gave no definite answer"
        );
        return;
    }
    let Outcome::Success(cookies) = PasetoCookies::from_request(request).await else {
        return;
    };
    let family = claims.family();
    if let Err(e) = cookies.remember_in(&claims.sub, family, claims.family_end()) {
        rocket::warn!("rocket_paseto: could not renew the remember-me cookie: {e}");
    }
}

impl Sentinel for RememberMe {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        AuthState::missing(rocket, "RememberMe", true)
    }
}
