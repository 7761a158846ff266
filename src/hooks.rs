//! The application's hooks, registered on the fairing: claims for every login, and the user
//! type checked when logins renew. Managed apart from the rest of the state, which they build on.

use std::any::TypeId;
use std::sync::Arc;

use rocket::request::Request;
use rocket::{Phase, Rocket};
use serde_json::{Map, Value};

use crate::error::AuthError;

/// Claims added to the tokens of every login, e.g. roles read from a database: register one
/// with [`PasetoFairing::login_claims`](crate::PasetoFairing::login_claims).
///
/// It runs once per login ([`Login::issue`](crate::Login::issue)), with the request, so it can reach managed state
/// or a database pool. Refreshes and rotations copy the claims, so it does not run again then.
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
    /// The claims to add to both tokens of `subject`'s new login. Registered claims (`sub`,
    /// `exp`, `iat`, `nbf`, `jti`, `iss`, `aud`, `type`, …) cannot be set: the login then fails
    /// with a 500. An error ends the login with that error's response.
    async fn claims(
        &self,
        subject: &str,
        request: &Request<'_>,
    ) -> Result<Map<String, Value>, AuthError>;
}

/// The registered user type, type-erased: checks subjects when logins renew.
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
