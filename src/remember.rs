//! The `RememberMe` guard: the long-lived "remember me" cookie.

use std::fmt;
use std::time::Duration;

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};
use time::OffsetDateTime;

use crate::cookies::{PasetoCookies, binding, needs_local_key};
use crate::error::{self, AuthError};
use crate::issuer::Issuer;
use crate::token::{Claims, IssueError, MintOptions};

/// The `type` claim of remember-me tokens: no other kind may use it.
pub(crate) const KIND: &str = "remember_me";

/// Default lifetime of remember-me tokens: 30 days.
pub(crate) const DEFAULT_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Mints a remember-me token bound to `cookie`, in `family` when it renews an older one, so
/// revoking either revokes both; it expires by `end`, the family's end.
pub(crate) fn mint(
    issuer: &Issuer,
    subject: &str,
    cookie: &str,
    family: Option<&str>,
    end: OffsetDateTime,
) -> Result<String, IssueError> {
    let binding = binding(cookie);
    let options = MintOptions {
        implicit: Some(&binding),
        family,
        family_end: Some(end),
        ..MintOptions::default()
    };
    issuer.authority().mint(KIND, subject, None::<&()>, options)
}

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
/// fn resume(user: RememberMe, cookies: PasetoCookies<'_>) -> Result<(), AuthError> {
///     cookies.set_tokens(user.subject())?; // a new session for the returning user
///     Ok(())
/// }
/// ```
///
/// Like other cookies sent by browsers, it rides along on cross-site requests unless
/// `SameSite` stops it (`Lax`, the default, stops it on cross-site `POST`): keep routes that take
/// `RememberMe` free of side effects beyond starting a session.
///
/// With `"remember_me"` in `paseto.revocation.kinds`, a remember-me token can be revoked with
/// [`Issuer::revoke`] at logout. Renewed tokens stay in the family of the one they replace, so
/// revoking any of them revokes them all, including a copy taken before a renewal.
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
        let Some(issuer) = request.rocket().state::<Issuer>() else {
            return Outcome::Error((Status::InternalServerError, AuthError::NotConfigured));
        };
        let web = &issuer.shared().web;
        let Some(cookie) = request.cookies().get(&web.remember_cookie) else {
            let error = AuthError::Missing;
            error::record(request, &error);
            return Outcome::Error((Status::Unauthorized, error));
        };
        let now = OffsetDateTime::now_utc();
        let verified = issuer.authority().verify(
            KIND,
            cookie.value(),
            now,
            crate::token::VerifyOptions::new().implicit(&binding(&web.remember_cookie)),
        );
        let verified = match verified {
            Ok(verified) => verified,
            Err(reason) => {
                rocket::debug!("rocket_paseto: remember-me token rejected: {reason}");
                let error = AuthError::Invalid(reason);
                error::record(request, &error);
                return Outcome::Error((Status::Unauthorized, error));
            }
        };
        let shared = issuer.shared();
        let claims = verified.claims();
        if let Some(revocation) = &shared.revocation
            && let Some(index) = shared
                .authority
                .rules()
                .kinds()
                .iter()
                .position(|k| k.name() == KIND)
            && revocation.checks(index)
            && let Err(refusal) = revocation.check(claims).await
        {
            let error = AuthError::from(refusal);
            error::record(request, &error);
            return Outcome::Error((error.status(), error));
        }
        // Sliding expiry: past the configured fraction of its lifetime, replace the cookie.
        let due = match (web.renew_after, claims.iat) {
            (Some(fraction), Some(iat)) => now - iat >= (claims.exp - iat) * fraction,
            _ => false,
        };
        if due {
            renew(request, issuer, claims).await;
        }
        Outcome::Success(RememberMe {
            claims: verified.claims().clone(),
        })
    }
}

/// Replaces the remember-me cookie with a new token in the same family. Renewing mints into
/// the family, so it needs a definite "not revoked" from the store (when there is one),
/// whatever `on_error` says; without it the old cookie simply stays.
async fn renew(request: &Request<'_>, issuer: &Issuer, claims: &Claims) {
    if let Some(revocation) = &issuer.shared().revocation
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
        needs_local_key(rocket, "RememberMe")
    }
}
