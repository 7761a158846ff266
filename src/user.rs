//! The current user: your user type, loaded once per request from a verified token.

use std::any::{TypeId, type_name};
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};

use crate::error::AuthError;
use crate::guard::Paseto;
use crate::hooks::UserCheck;
use crate::kind::{Access, TokenKind};
use crate::state::AuthState;
use crate::token::{Rejection, Verified};

/// Your user type, as the [`CurrentUser`] guard loads it from a token's subject.
///
/// Register it with [`PasetoFairing::user`](crate::PasetoFairing::user): it is then also
/// checked whenever a session is refreshed (by the guards of refresh tokens and of the remember-me
/// cookie), so a deleted or disabled user cannot refresh, whatever the route does.
///
/// `from_subject` has the request, so it can reach managed state or a database pool:
///
/// ```
/// use rocket::request::Request;
/// use rocket_paseto::{AuthError, AuthUser};
///
/// struct User { id: u64, name: String }
///
/// #[rocket::async_trait]
/// impl AuthUser for User {
///     async fn from_subject(subject: &str, request: &Request<'_>) -> Result<Option<Self>, AuthError> {
///         // e.g. `request.guard::<Connection<Db>>()` with `rocket_db_pools`, then a query.
///         let _ = request;
///         Ok(match subject {
///             "1" => Some(User { id: 1, name: "alice".into() }),
///             _ => None, // no such user (any more): the token is refused with a 401
///         })
///     }
/// }
/// ```
#[rocket::async_trait]
pub trait AuthUser: Sized + Send + Sync + 'static {
    /// The user whose id is `subject`, `Ok(None)` when there is none or it may not sign in
    /// (deleted, disabled): its tokens are then refused with a 401. Return
    /// `Err(AuthError::Unavailable)` when the answer cannot be had (a database outage): the
    /// client gets a 503 and keeps its tokens.
    async fn from_subject(subject: &str, request: &Request<'_>) -> Result<Option<Self>, AuthError>;
}

/// The signed-in user: a verified token of kind `K` and the [`AuthUser`] `U` its subject names,
/// loaded once per request however many guards ask.
///
/// ```
/// # use rocket::request::Request;
/// # use rocket_paseto::{AuthError, AuthUser};
/// # struct User { name: String }
/// # #[rocket::async_trait]
/// # impl AuthUser for User {
/// #     async fn from_subject(s: &str, _: &Request<'_>) -> Result<Option<Self>, AuthError> {
/// #         Ok(Some(User { name: s.into() }))
/// #     }
/// # }
/// use rocket_paseto::CurrentUser;
///
/// #[rocket::get("/me")]
/// fn me(user: CurrentUser<User>) -> String {
///     format!("Hello, {}!", user.name) // `CurrentUser` derefs to the user
/// }
/// ```
///
/// | outcome | status |
/// |---|---|
/// | no token, bad token | as [`Paseto<K>`](Paseto) |
/// | good token, `from_subject` gives `None` | 401, the body of any rejected token |
/// | good token, `from_subject` fails | its error's status (503 for `AuthError::Unavailable`) |
/// | good token, a user | the user |
///
/// A route that uses it needs `U` registered with
/// [`PasetoFairing::user`](crate::PasetoFairing::user): launch is refused otherwise, so that
/// refreshes are checked too.
pub struct CurrentUser<U, K: TokenKind = Access> {
    user: Arc<U>,
    token: Paseto<K>,
}

impl<U, K: TokenKind> CurrentUser<U, K> {
    /// The user.
    pub fn user(&self) -> &U {
        &self.user
    }

    /// The verified token the user was loaded from.
    pub fn token(&self) -> &Paseto<K> {
        &self.token
    }

    /// The user and the token, taken apart.
    pub fn into_parts(self) -> (Arc<U>, Paseto<K>) {
        (self.user, self.token)
    }
}

impl<U, K: TokenKind> Deref for CurrentUser<U, K> {
    type Target = U;

    fn deref(&self) -> &U {
        &self.user
    }
}

impl<U, K: TokenKind> AsRef<Verified> for CurrentUser<U, K> {
    fn as_ref(&self) -> &Verified {
        self.token.as_ref()
    }
}

impl<U, K: TokenKind> fmt::Debug for CurrentUser<U, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurrentUser")
            .field("user", &type_name::<U>())
            .field("token", &self.token)
            .finish()
    }
}

#[rocket::async_trait]
impl<'r, U: AuthUser, K: TokenKind> FromRequest<'r> for CurrentUser<U, K> {
    type Error = AuthError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, AuthError> {
        let token = match Paseto::<K>::from_request(request).await {
            Outcome::Success(token) => token,
            Outcome::Error(e) => return Outcome::Error(e),
            Outcome::Forward(status) => return Outcome::Forward(status),
        };
        match load::<U>(token.subject(), request).await {
            Ok(user) => Outcome::Success(CurrentUser { user, token }),
            Err(error) => error.fail(request),
        }
    }
}

impl<U: AuthUser, K: TokenKind> Sentinel for CurrentUser<U, K> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        if <Paseto<K> as Sentinel>::abort(rocket) {
            return true;
        }
        let registered = AuthState::fetch(rocket)
            .and_then(|state| state.hooks.users.as_ref())
            .is_some_and(|users| users.user_type() == TypeId::of::<U>());
        if !registered {
            rocket::error!(
                "`CurrentUser<{}>` is used in a route, but that user type is not registered.",
                type_name::<U>()
            );
            rocket::info_!(
                "Register it with `PasetoFairing::default().user::<{}>()`, so refreshes check \
                 it too.",
                type_name::<U>()
            );
        }
        !registered
    }
}

/// The request's user of type `U` for `subject`: loaded at most once per request.
async fn load<U: AuthUser>(subject: &str, request: &Request<'_>) -> Result<Arc<U>, AuthError> {
    let cached = request
        .local_cache_async(async {
            Loaded::<U>(subject.to_owned(), find::<U>(subject, request).await)
        })
        .await;
    if cached.0 == subject {
        return cached.1.clone();
    }
    // Two tokens with different subjects in one request: rare, and never mixed up.
    find::<U>(subject, request).await
}

async fn find<U: AuthUser>(subject: &str, request: &Request<'_>) -> Result<Arc<U>, AuthError> {
    match U::from_subject(subject, request).await? {
        Some(user) => Ok(Arc::new(user)),
        None => {
            rocket::debug!("rocket_paseto: a token's subject is no longer accepted");
            Err(AuthError::Invalid(Rejection::SubjectRefused))
        }
    }
}

/// A user loaded for a subject, cached for the request.
struct Loaded<U>(String, Result<Arc<U>, AuthError>);

/// [`UserCheck`] for the user type `U`.
pub(crate) struct Check<U>(PhantomData<fn() -> U>);

impl<U> Check<U> {
    pub(crate) fn new() -> Self {
        Check(PhantomData)
    }
}

#[rocket::async_trait]
impl<U: AuthUser> UserCheck for Check<U> {
    async fn check(&self, subject: &str, request: &Request<'_>) -> Result<(), AuthError> {
        load::<U>(subject, request).await.map(drop)
    }

    fn user_type(&self) -> TypeId {
        TypeId::of::<U>()
    }
}
