//! [`Sessions`]: a subject's logins, to start, list and end them.

use std::fmt;

use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::AuthError;
use crate::issuer::Issuer;
use crate::login::Login;
use crate::revocation::{LoginRecord, Revocation};
use crate::state::AuthState;
use crate::token::Claims;

/// The logins (sessions) of users: start one, list a user's active ones, end one or all.
///
/// A login is a token family: the pair minted by [`login`](Self::login) and every token later
/// obtained with its refresh token. With a revocation store, each subject's logins are listed
/// (at most `revocation.max_sessions`; a new login beyond it ends the oldest, the one that
/// started first), and the store sees a keyed hash of the subject, never the subject itself.
///
/// ```
/// use rocket::serde::json::Json;
/// use rocket_paseto::{Access, AuthError, Paseto, Session, Sessions, TokenPair};
///
/// #[rocket::post("/login")]
/// async fn login(sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
///     // … check the password first, then:
///     sessions.login("42").claim("plan", "pro").fresh().issue().await
/// }
///
/// #[rocket::get("/sessions")]
/// async fn list(token: Paseto<Access>, sessions: Sessions<'_>) -> Result<Json<Vec<Session>>, AuthError> {
///     Ok(Json(sessions.list(&token).await?))
/// }
///
/// #[rocket::post("/logout-all")]
/// async fn logout_all(token: Paseto<Access>, sessions: Sessions<'_>) -> Result<(), AuthError> {
///     sessions.end_all(token.subject()).await
/// }
/// ```
pub struct Sessions<'r> {
    issuer: &'r Issuer,
    request: &'r Request<'r>,
}

/// One active login, as its user sees it: [`Sessions::list`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Session {
    /// An opaque id for [`Sessions::end`]: a keyed hash, not the family id itself.
    pub id: String,
    /// When the login started.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    /// When it was last refreshed (its start, if never).
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub last_used_at: OffsetDateTime,
    /// When it ends at the latest (`session_ttl` after it started).
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: OffsetDateTime,
    /// Whether the token this list was asked with belongs to it.
    pub current: bool,
}

impl fmt::Debug for Sessions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

impl<'r> Sessions<'r> {
    /// Starts a login of `subject`: add claims, then [`issue`](Login::issue) its tokens.
    pub fn login(&self, subject: impl Into<String>) -> Login<'r> {
        Login::new(self.issuer, self.request, subject.into(), None)
    }

    /// The active logins of `token`'s subject, oldest first; `current` marks `token`'s own.
    pub async fn list(&self, token: impl AsRef<Claims>) -> Result<Vec<Session>, AuthError> {
        let claims = token.as_ref();
        let revocation = self.revocation()?;
        let records = revocation.logins(&claims.sub).await?;
        Ok(records
            .into_iter()
            .map(|record| session(revocation, record, claims.family()))
            .collect())
    }

    /// Ends the login `id` (from [`list`](Self::list)) of `token`'s subject: its tokens are
    /// refused from now on. `false` when that subject has no such login.
    pub async fn end(&self, token: impl AsRef<Claims>, id: &str) -> Result<bool, AuthError> {
        let claims = token.as_ref();
        let ended = self.revocation()?.end_login(&claims.sub, id).await?;
        Ok(ended.is_some())
    }

    /// Logs `subject` out everywhere: every token of `subject` issued before this returns is
    /// refused (by the guards of the kinds in `revocation.kinds`), listed or not, and every
    /// listed login ends. Logins started afterwards work, so a password change can end all
    /// logins and then start a new one for the user at hand.
    ///
    /// Tokens state their issue time in whole seconds, so this waits for the next second to
    /// begin before it returns (less than a second).
    pub async fn end_all(&self, subject: &str) -> Result<(), AuthError> {
        Ok(self.revocation()?.end_all(subject).await?)
    }

    fn revocation(&self) -> Result<&'r Revocation, AuthError> {
        self.issuer.state().revocation.as_ref().ok_or_else(|| {
            rocket::error!(
                "rocket_paseto: sessions need a revocation store: set `paseto.revocation.store`"
            );
            AuthError::NotConfigured
        })
    }
}

fn session(revocation: &Revocation, record: LoginRecord, current: Option<&str>) -> Session {
    let time = |t| OffsetDateTime::from_unix_timestamp(t).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    Session {
        id: revocation.login_id(&record.family),
        created_at: time(record.started),
        last_used_at: time(record.last_used),
        expires_at: time(record.ends),
        current: current == Some(record.family.as_str()),
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
