//! The application's hooks, registered on the fairing: claims for every login, and the user
//! type checked when sessions are refreshed. Managed apart from the rest of the state, which they build on.

use std::any::TypeId;
use std::sync::Arc;

use rocket::http::Status;
use rocket::request::Request;
use serde_json::{Map, Value};

use crate::error::AuthError;
use crate::revocation::Revocation;
use crate::token::{Rejection, Verified};

/// Claims added to the tokens of every login, e.g. roles read from a database: register one
/// with [`PasetoFairing::login_claims`](crate::PasetoFairing::login_claims).
///
/// It runs at each login ([`Login::issue`](crate::Login::issue)), with the request, so it can
/// reach managed state or a database pool, and again whenever the session is refreshed: at each
/// refresh, with or without rotation, through the [`Paseto<Refresh>`](crate::Paseto) guard,
/// [`PasetoCookies`](crate::PasetoCookies) or implicit refresh. A change of roles thus reaches
/// the user's next access token, within one access-token lifetime. The claims it gives then
/// replace the same-named claims of the refresh token; other claims (those given to the
/// [`Login`](crate::Login) builder) are copied. So return every claim you manage, an empty
/// list rather than none. `paseto.reload_claims = false` copies all claims instead, and saves
/// one call per refresh.
///
/// Return `Err(AuthError::BadCredentials)` when `subject` names no user (any more): a login
/// then fails with a 401, and a refresh ends the session, revoking its tokens (with a revocation
/// store), and fails with a 401. A remember-me token carries no claims: the session it starts
/// loads them as any login does.
///
/// ```
/// use rocket::request::Request;
/// use rocket_paseto::{AuthError, LoginClaims};
/// use serde_json::{Map, Value, json};
///
/// struct Roles;
///
/// #[rocket::async_trait]
/// impl LoginClaims for Roles {
///     async fn claims(&self, subject: &str, _: &Request<'_>) -> Result<Map<String, Value>, AuthError> {
///         let roles = if subject == "1" { json!(["admin"]) } else { json!([]) };
///         Ok(Map::from_iter([("roles".to_owned(), roles)]))
///     }
/// }
///
/// let fairing = rocket_paseto::PasetoFairing::default().login_claims(Roles);
/// ```
#[rocket::async_trait]
pub trait LoginClaims: Send + Sync + 'static {
    /// The claims to add to both tokens of `subject`'s new or renewed login. Registered claims
    /// (`sub`, `exp`, `iat`, `nbf`, `jti`, `iss`, `aud`, `type`, …) cannot be set: the login
    /// then fails with a 500. An error answered with a 401 refuses the user (see above); any
    /// other error fails the login or the refresh with that error's response, e.g.
    /// `AuthError::Unavailable` (a 503) while the database is down.
    async fn claims(
        &self,
        subject: &str,
        request: &Request<'_>,
    ) -> Result<Map<String, Value>, AuthError>;
}

/// The registered user type, type-erased: checks subjects when sessions are refreshed.
#[rocket::async_trait]
pub(crate) trait UserCheck: Send + Sync + 'static {
    /// Refuses `subject` unless it names a user the application accepts.
    async fn check(&self, subject: &str, request: &Request<'_>) -> Result<(), AuthError>;

    /// The registered user type.
    fn user_type(&self) -> TypeId;
}

/// Implicit refresh (`cookies.implicit_refresh`), plugged into the `Paseto<Access>` guard.
#[rocket::async_trait]
pub(crate) trait ImplicitRefresh: Send + Sync + 'static {
    /// For a request whose access cookie is absent or expired: the new access token, once the
    /// refresh cookie's token is rotated; `fallback` (the guard's own error) without a usable
    /// refresh cookie.
    async fn refresh(
        &self,
        request: &Request<'_>,
        fallback: AuthError,
    ) -> Result<Arc<Verified>, AuthError>;
}

/// The hooks, part of the runtime state.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub login_claims: Option<Arc<dyn LoginClaims>>,
    /// Whether refreshing a session runs the `LoginClaims` loader again: `paseto.reload_claims`.
    pub reload_claims: bool,
    pub users: Option<Arc<dyn UserCheck>>,
    pub implicit_refresh: Option<Arc<dyn ImplicitRefresh>>,
}

impl Hooks {
    /// `refresh` with the claims the [`LoginClaims`] loader gives its subject now, to refresh
    /// its session with; `None` when there is no loader, `paseto.reload_claims` is off, or
    /// `refresh` has them already. A loader that refuses the subject (an error answered with a
    /// 401) ends the session: it is revoked in `revocation`, so the refresh token stays refused.
    pub(crate) async fn reload(
        &self,
        request: &Request<'_>,
        revocation: Option<&Revocation>,
        refresh: &Verified,
    ) -> Result<Option<Verified>, AuthError> {
        let loader = match &self.login_claims {
            Some(loader) if self.reload_claims && refresh.reloaded_claims().is_none() => loader,
            _ => return Ok(None),
        };
        match loader.claims(&refresh.claims().sub, request).await {
            Ok(claims) => Ok(Some(refresh.clone().reloaded(claims))),
            Err(error) if error.status() == Status::Unauthorized => {
                rocket::debug!(
                    "rocket_paseto: a session's subject is no longer accepted; ending it"
                );
                if let Some(revocation) = revocation
                    && let Err(e) = revocation.revoke(refresh.claims()).await
                {
                    rocket::error!(
                        "rocket_paseto: {e}; a session whose user is gone was not ended"
                    );
                }
                Err(AuthError::Invalid(Rejection::SubjectRefused))
            }
            Err(error) => Err(error),
        }
    }
}
