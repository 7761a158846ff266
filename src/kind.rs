//! Token kinds: what a token is for, checked through its `type` claim.

use std::time::Duration;

use crate::token::Purpose;

/// A kind of token, such as [`Access`] or [`Refresh`], used as `Paseto<K>`.
///
/// A kind's name is the `type` claim its tokens carry, so a token of one kind never passes as
/// another. Its settings live in `[paseto.access]`, `[paseto.refresh]`, or for your own kinds
/// `[paseto.kinds.<NAME>]`; the constants here are the defaults when those tables are silent.
///
/// Your own kinds must be registered with [`PasetoFairing::kind`](crate::PasetoFairing::kind):
///
/// ```
/// use rocket_paseto::{Paseto, PasetoFairing, Purpose, TokenKind};
/// use std::time::Duration;
///
/// /// Long-lived tokens for scripts, signed so other services can verify them.
/// pub struct ApiKey;
///
/// impl TokenKind for ApiKey {
///     const NAME: &'static str = "api_key";
///     const TTL: Duration = Duration::from_secs(90 * 24 * 60 * 60);
///     const PURPOSE: Purpose = Purpose::Public;
/// }
///
/// #[rocket::get("/report")]
/// fn report(key: Paseto<ApiKey>) -> String {
///     format!("report for {}", key.subject())
/// }
///
/// let rocket = rocket::build()
///     .attach(PasetoFairing::default().kind::<ApiKey>())
///     .mount("/", rocket::routes![report]);
/// ```
pub trait TokenKind: Send + Sync + 'static {
    /// The `type` claim of this kind's tokens and the name of its settings table. Lowercase
    /// letters, digits and `_`; `access`, `refresh`, `remember_me` and the names of the
    /// [`SingleUse`] purposes are taken.
    const NAME: &'static str;
    /// Default lifetime of new tokens.
    const TTL: Duration;
    /// Default purpose.
    const PURPOSE: Purpose = Purpose::Local;
    /// Default cookie read when a request has no token header; `None` reads no cookie.
    const COOKIE: Option<&'static str> = None;
}

/// Short-lived tokens that authorise requests: `Paseto<Access>`.
///
/// Defaults: `type` `"access"`, local purpose, 15 minutes, cookie `access_token`.
#[derive(Debug, Clone, Copy)]
pub struct Access;

impl TokenKind for Access {
    const NAME: &'static str = "access";
    const TTL: Duration = Duration::from_secs(15 * 60);
    const COOKIE: Option<&'static str> = Some("access_token");
}

/// Long-lived tokens that only obtain new access tokens: `Paseto<Refresh>`.
///
/// Defaults: `type` `"refresh"`, local purpose, 14 days, cookie `refresh_token`.
#[derive(Debug, Clone, Copy)]
pub struct Refresh;

impl TokenKind for Refresh {
    const NAME: &'static str = "refresh";
    const TTL: Duration = Duration::from_secs(14 * 24 * 60 * 60);
    const COOKIE: Option<&'static str> = Some("refresh_token");
}

/// A kind as the fairing knows it: the trait's constants, captured at registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KindSpec {
    pub name: &'static str,
    pub ttl: Duration,
    pub purpose: Purpose,
    pub cookie: Option<&'static str>,
    pub custom: bool,
}

impl KindSpec {
    pub fn of<K: TokenKind>(custom: bool) -> Self {
        KindSpec {
            name: K::NAME,
            ttl: K::TTL,
            purpose: K::PURPOSE,
            cookie: K::COOKIE,
            custom,
        }
    }
}

/// The `type` claim of remember-me tokens ([`RememberMe`](crate::RememberMe)): no other kind
/// may use it.
pub(crate) const REMEMBER_ME: &str = "remember_me";

/// Default lifetime of remember-me tokens: 30 days.
pub(crate) const REMEMBER_ME_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Default name of the remember-me cookie.
pub(crate) const REMEMBER_ME_COOKIE: &str = "remember_token";

/// What a single-use token is for; its name is the token's `type` claim. Minted with
/// [`Issuer::single_use`](crate::Issuer::single_use) and accepted exactly once, by
/// [`Issuer::consume`](crate::Issuer::consume), with the same purpose: never by a guard, and
/// never where an access, refresh or other token is expected.
///
/// They are `v4.local` tokens (their claims are encrypted), short-lived (`paseto.single_use_ttl`,
/// 15 minutes by default), and consumed atomically in the revocation store: of two uses at
/// once, on one instance or many, exactly one succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SingleUse {
    /// A password reset (`"password_reset"`). Consuming it also ends every session of its
    /// subject, and refuses every single-use token of the subject minted before.
    PasswordReset,
    /// A login by a link sent to the user (`"magic_link"`).
    MagicLink,
    /// The proof that an address reaches the user (`"email_verification"`).
    EmailVerification,
    /// An invitation to create an account or join something (`"invitation"`).
    Invitation,
}

impl SingleUse {
    /// Every purpose, for the token core's rules.
    pub(crate) const ALL: [SingleUse; 4] = [
        SingleUse::PasswordReset,
        SingleUse::MagicLink,
        SingleUse::EmailVerification,
        SingleUse::Invitation,
    ];

    /// The `type` claim of its tokens.
    pub fn name(self) -> &'static str {
        match self {
            SingleUse::PasswordReset => "password_reset",
            SingleUse::MagicLink => "magic_link",
            SingleUse::EmailVerification => "email_verification",
            SingleUse::Invitation => "invitation",
        }
    }

    /// The implicit assertion its tokens are bound to (PASETO's `i`): only
    /// [`Issuer::consume`](crate::Issuer::consume) supplies it, so no guard or other
    /// verification can open them, whatever kind it is asked for.
    pub(crate) fn assertion(self) -> &'static [u8] {
        match self {
            SingleUse::PasswordReset => b"rocket_paseto single-use password_reset",
            SingleUse::MagicLink => b"rocket_paseto single-use magic_link",
            SingleUse::EmailVerification => b"rocket_paseto single-use email_verification",
            SingleUse::Invitation => b"rocket_paseto single-use invitation",
        }
    }

    /// Whether `name` is taken by a single-use purpose.
    pub(crate) fn is_reserved(name: &str) -> bool {
        Self::ALL.iter().any(|purpose| purpose.name() == name)
    }
}

/// Default lifetime of single-use tokens: 15 minutes.
pub(crate) const SINGLE_USE_TTL: Duration = Duration::from_secs(15 * 60);
