//! The application's hooks, registered on the fairing: claims for every login, and the user
//! type checked when sessions are refreshed. Managed apart from the rest of the state, which they build on.

use std::any::TypeId;
use std::sync::Arc;

use rocket::http::Status;
use rocket::request::Request;
use rocket::{Phase, Rocket};
use serde_json::{Map, Value};

use crate::error::AuthError;
use crate::state::AuthState;
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

/// The hooks registered on the fairing, managed as state of their own.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub login_claims: Option<Arc<dyn LoginClaims>>,
    pub users: Option<Arc<dyn UserCheck>>,
}

impl Hooks {
    /// The hooks of `rocket`, once the fairing has run.
    pub(crate) fn fetch<P: Phase>(rocket: &Rocket<P>) -> Option<&Hooks> {
        rocket.state::<Hooks>()
    }

    /// The hooks of the request's Rocket instance.
    pub(crate) fn of<'r>(request: &'r Request<'_>) -> Option<&'r Hooks> {
        Self::fetch(request.rocket())
    }
}

/// `refresh` with the claims the [`LoginClaims`] loader gives its subject now, to refresh its
/// session with; `None` when there is no loader, `paseto.reload_claims` is off, or `refresh`
/// has them already. A loader that refuses the subject (an error answered with a 401) ends the
/// session: it is revoked, so the refresh token stays refused.
pub(crate) async fn reload(
    request: &Request<'_>,
    state: &AuthState,
    refresh: &Verified,
) -> Result<Option<Verified>, AuthError> {
    let loader = match Hooks::of(request).and_then(|hooks| hooks.login_claims.as_ref()) {
        Some(loader) if state.reload_claims && refresh.reloaded_claims().is_none() => loader,
        _ => return Ok(None),
    };
    match loader.claims(&refresh.claims().sub, request).await {
        Ok(claims) => Ok(Some(refresh.clone().reloaded(claims))),
        Err(error) if error.status() == Status::Unauthorized => {
            rocket::debug!("rocket_paseto: a session's subject is no longer accepted; ending it");
            if let Some(revocation) = &state.revocation
                && let Err(e) = revocation.revoke(refresh.claims()).await
            {
                rocket::error!("rocket_paseto: {e}; a session whose user is gone was not ended");
            }
            Err(AuthError::Invalid(Rejection::SubjectRefused))
        }
        Err(error) => Err(error),
    }
}
