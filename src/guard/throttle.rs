//! [`LoginThrottle`]: the guard of login routes that refuses (429) the attempts of an account,
//! or from a client address, that failed too often lately.

use std::fmt;
use std::net::IpAddr;

use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};

use crate::error::AuthError;
use crate::events::EventKind;
use crate::state::AuthState;
use crate::throttle::Counted;

/// A request guard for login routes: refuses (429, `Retry-After`) the attempts of an account,
/// or from a client address, that has failed too often lately, before any password is
/// checked; counts failures and resets an account's count on success.
///
/// [`check`](Self::check) the account first, then tell the [`LoginAttempt`] how the password
/// check went. The counts live in the revocation store when there is one (so every instance
/// counts together; Redis counts atomically), else in this process. Limits and windows:
/// `[paseto.throttle]` (`docs/configuration.md`); the client address is the connection's
/// unless a proxy in `paseto.trusted_proxies` forwards it.
///
/// ```
/// use rocket::serde::json::Json;
/// use rocket_paseto::{AuthError, LoginThrottle, Sessions, TokenPair};
///
/// #[derive(rocket::serde::Deserialize)]
/// #[serde(crate = "rocket::serde")]
/// struct Login { username: String, password: String }
///
/// # fn password_ok(_: &Login) -> bool { true }
/// #[rocket::post("/login", data = "<form>")]
/// async fn login(
///     form: Json<Login>,
///     throttle: LoginThrottle<'_>,
///     sessions: Sessions<'_>,
/// ) -> Result<TokenPair, AuthError> {
///     // 429 before any password work, while the account or the address is throttled.
///     let attempt = throttle.check(&form.username).await?;
///     if !password_ok(&form) {
///         attempt.failed().await?;
///         return Err(AuthError::BadCredentials);
///     }
///     attempt.succeeded().await?;
///     sessions.login(form.username.as_str()).fresh().issue().await
/// }
/// ```
pub struct LoginThrottle<'r> {
    state: &'r AuthState,
    address: Option<IpAddr>,
}

impl fmt::Debug for LoginThrottle<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginThrottle").finish_non_exhaustive()
    }
}

impl<'r> LoginThrottle<'r> {
    /// Whether `account` (e.g. the username as typed) may try to log in now: an error
    /// [`AuthError::Throttled`] (429, with `Retry-After`) once it, or the client address, has
    /// reached its limit of failures, whether the password is right or not and whether the
    /// account exists or not. Check before the password.
    pub async fn check(&self, account: &str) -> Result<LoginAttempt<'r>, AuthError> {
        let throttle = &self.state.throttle;
        let counts = throttle.counts(account, self.address);
        let wait = throttle.wait(&counts).await?;
        if !wait.is_zero() {
            emit(self.state, EventKind::Throttled, account, self.address);
            return Err(AuthError::Throttled(wait));
        }
        Ok(LoginAttempt {
            state: self.state,
            address: self.address,
            // Kept only for the events hook: no copy of the account without one.
            account: self.state.events.enabled().then(|| account.to_owned()),
            counts,
        })
    }
}

/// A login attempt that the [`LoginThrottle`] let through: say how it went, with
/// [`failed`](Self::failed) or [`succeeded`](Self::succeeded).
#[must_use = "an attempt counts only once `failed` or `succeeded` is called"]
pub struct LoginAttempt<'r> {
    state: &'r AuthState,
    address: Option<IpAddr>,
    account: Option<String>,
    counts: Vec<Counted>,
}

impl fmt::Debug for LoginAttempt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginAttempt").finish_non_exhaustive()
    }
}

impl LoginAttempt<'_> {
    /// The password (or the account) was wrong: counts one failure for the account and one for
    /// the client address.
    pub async fn failed(self) -> Result<(), AuthError> {
        if let Some(account) = &self.account {
            emit(self.state, EventKind::LoginFailed, account, self.address);
        }
        Ok(self.state.throttle.fail(&self.counts).await?)
    }

    /// The login succeeded: the account's count starts over. The address's does not, so one
    /// good account does not clear the way for guessing at others.
    pub async fn succeeded(self) -> Result<(), AuthError> {
        Ok(self.state.throttle.succeed(&self.counts).await?)
    }
}

/// Tells the events hook about a login attempt for `account`, from `address`.
fn emit(state: &AuthState, kind: EventKind, account: &str, address: Option<IpAddr>) {
    state.events.emit(kind, Some(account), || None, || address);
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for LoginThrottle<'r> {
    type Error = AuthError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, AuthError> {
        match AuthState::of(request) {
            Some(state) => Outcome::Success(LoginThrottle {
                state,
                address: state.throttle.address_of(request),
            }),
            None => AuthError::NotConfigured.fail(request),
        }
    }
}

impl Sentinel for LoginThrottle<'_> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        AuthState::missing(rocket, "LoginThrottle", false)
    }
}
