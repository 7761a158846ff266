//! PASETO v4 authentication for Rocket 0.5.
//!
//! Attach one fairing, put keys in `Rocket.toml`, take a guard as a route argument:
//!
//! ```no_run
//! use rocket::serde::json::{Json, Value, json};
//! use rocket::{get, launch, post, routes};
//! use rocket_paseto::{
//!     Access, AuthError, LoggedOut, Paseto, PasetoFairing, Refresh, Sessions, TokenPair,
//! };
//!
//! #[derive(rocket::serde::Deserialize)]
//! #[serde(crate = "rocket::serde")]
//! struct Login { username: String, password: String }
//!
//! #[post("/login", data = "<form>")]
//! async fn login(form: Json<Login>, sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
//!     if (form.username.as_str(), form.password.as_str()) != ("test", "test") {
//!         return Err(AuthError::BadCredentials);
//!     }
//!     sessions.login(&form.username).fresh().issue().await
//! }
//!
//! #[get("/user")]
//! fn user(token: Paseto<Access>) -> Json<Value> {
//!     Json(json!({ "user": token.subject() }))
//! }
//!
//! // New tokens in the same session (a new pair when a store is configured).
//! #[post("/refresh")]
//! async fn refresh(token: Paseto<Refresh>, sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
//!     sessions.refresh(&token).await
//! }
//!
//! // Ends the session of the access or the refresh token sent (needs a store).
//! #[post("/logout")]
//! async fn logout(sessions: Sessions<'_>) -> Result<Json<LoggedOut>, AuthError> {
//!     Ok(Json(sessions.logout().await?))
//! }
//!
//! #[launch]
//! fn rocket() -> _ {
//!     rocket::build()
//!         .attach(PasetoFairing::default())          // reads [<profile>.paseto]
//!         .register("/", rocket_paseto::catchers())  // JSON 401/403 bodies
//!         .mount("/", routes![login, user, refresh, logout])
//! }
//! ```
//!
//! # Configuration
//!
//! Settings are read through Figment at ignite from the `paseto` table of the selected profile,
//! so `Rocket.toml`, `ROCKET_CONFIG` and `ROCKET_PASETO` all work the usual Rocket way. Every
//! field and key is checked then; a mistake refuses launch with a message naming the field,
//! never printing key material. `docs/configuration.md` lists every key and its default.
//!
//! ```toml
//! [default.paseto]
//! local_key  = "k4.local.…"    # v4.local key (run `cargo run --example keygen`)
//! secret_key = "k4.secret.…"   # v4.public signing key (PASERK or PKCS#8 PEM)
//! public_keys = ["k4.public.…"] # extra verification-only keys
//! issuer   = "https://auth.example.com"   # stamped as `iss`; required when set
//! audience = "https://api.example.com"    # stamped as `aud`; required when set
//! leeway   = 30                           # seconds of clock skew on exp / nbf / iat
//!
//! [default.paseto.access]
//! purpose = "local"            # "local" or "public"
//! ttl     = 900                # seconds
//!
//! [default.paseto.refresh]
//! purpose = "local"
//! ttl     = 1209600
//!
//! [default.paseto.remember_me]
//! ttl = 2592000
//!
//! [default.paseto.cookies]
//! secure    = "auto"           # "auto" (when Rocket serves TLS), true or false
//! same_site = "lax"
//!
//! [default.paseto.revocation]
//! store = "memory"             # the default; "redis" or "redis-cluster" (feature `redis`)
//!                              # to share it; "none": no revocation
//! ```
//!
//! In the `debug` profile a missing `local_key` is replaced by an ephemeral key with a warning;
//! in any other profile it is a launch error.
//!
//! # Guards
//!
//! [`Paseto<K, C>`](Paseto) is a verified token of kind `K` ([`Access`], [`Refresh`], or your
//! own [`TokenKind`]) with claims read into `C` (by default the registered [`Claims`]). Its docs
//! have the table of what `Paseto`, `Option<Paseto>` and `Result<Paseto, AuthError>` give for
//! no token, a bad token and a good one. [`Sessions`] starts, refreshes and ends sessions, and
//! [`&Issuer`](Issuer) mints one-off tokens. All have a [`Sentinel`](rocket::Sentinel): a route
//! that uses them without the fairing aborts launch.
//!
//! For WebSocket upgrades, where browsers cannot set headers, a kind's `query` setting (e.g.
//! `[default.paseto.access] query = "access_token"`, off by default) names a query parameter
//! that the routes wrapping their guard in [`QueryToken`] read when there is neither header nor
//! cookie; the fairing takes its value out of the URI before Rocket logs the request. URLs end
//! up in logs and `Referer` headers: keep it to short-lived kinds on WebSocket routes
//! (`docs/security.md` has the details). A token in a body or a message is checked as a
//! guard would, revocation included, by [`Issuer::authenticate`].
//!
//! # Cookies
//!
//! [`PasetoCookies`] is a private-cookie jar whose values are `v4.local` tokens with their own
//! expiry, bound to their cookie's name. It also takes browsers through a session:
//! [`login`](PasetoCookies::login) sets `HttpOnly` access and refresh cookies plus a readable
//! CSRF cookie, [`refresh`](PasetoCookies::refresh) renews them,
//! [`remember`](PasetoCookies::remember) sets the remember-me cookie that the [`RememberMe`]
//! guard reads, and [`logout`](PasetoCookies::logout) ends the session and clears them all.
//! Tokens read from cookies on state-changing methods need the CSRF header, or in
//! plain HTML forms the field [`csrf_input`](PasetoCookies::csrf_input) renders. A login
//! route has no token to check yet: take the [`SameOrigin`] guard there, which refuses requests
//! whose `Origin` (or `Referer`) is another site (`allowed_origins` adds trusted ones). In
//! production, name the cookies with the `__Host-` prefix (with `cookies.secure = true`) so that
//! sibling subdomains cannot set cookies that shadow them.
//!
//! ```
//! use rocket_paseto::{AuthError, PasetoCookies, SameOrigin};
//!
//! #[rocket::post("/login")]
//! async fn login(_origin: SameOrigin, cookies: PasetoCookies<'_>) -> Result<(), AuthError> {
//!     // … check the password first, then:
//!     cookies.login("alice").fresh().issue().await?;
//!     Ok(())
//! }
//! ```
//!
//! # Revocation
//!
//! With a revocation store (by default, in the process's memory), tokens can be taken back
//! before they expire. The tokens of one session share a `fam` claim, and the session ends at
//! `fam_exp` (`session_ttl` after it started): [`Sessions::logout`] ends the session of the
//! access or refresh token a request carries and returns [`LoggedOut`], which says which kinds
//! are now refused;
//! [`PasetoCookies::logout`] does it from whichever token cookie a browser still has; and
//! [`Sessions::refresh`] exchanges a refresh token for a new pair, ending the whole session if
//! a replaced one comes back after the `rotation_grace` window (RFC 9700, section 4.14). Guards
//! of the kinds in `revocation.kinds` check the store on every request (with Redis, from a
//! replica in memory that follows it within `replica_max_lag_ms`); when it cannot answer
//! they fail closed with a 503 unless `on_error = "allow"`. Minting into a session always needs
//! a definite answer. See [`revocation`] for the stores:
//! [`MemoryStore`](revocation::MemoryStore) for one instance, `RedisStore` (feature `redis`)
//! for many, or your own.
//!
//! ```toml
//! [default.paseto.revocation]
//! store = "redis"                   # or "memory"
//! url = "redis://127.0.0.1:6379/"
//! kinds = ["access", "refresh"]     # the default
//! on_error = "reject"               # the default: 503 while the store is down
//! ```
//!
//! `docs/revocation-and-scaling.md` has a "which call do I use" table for each step of a
//! session.
//!
//! # Users and sessions
//!
//! Implement [`AuthUser`] for your user type and register it with
//! [`PasetoFairing::user`]: [`CurrentUser<User>`](CurrentUser) then gives routes the signed-in
//! user, loaded once per request, and refresh and remember-me guards refuse users the
//! application no longer accepts. [`Sessions`] starts sessions whose tokens carry claims from
//! the builder and from a [`LoginClaims`] loader on the fairing (e.g. roles from the database),
//! and, with a revocation store, lists a user's sessions and ends one or all of them (logout
//! everywhere).
//!
//! ```
//! use rocket::request::Request;
//! use rocket_paseto::{AuthError, AuthUser, CurrentUser, Sessions, TokenPair};
//!
//! struct User { name: String }
//!
//! #[rocket::async_trait]
//! impl AuthUser for User {
//!     async fn from_subject(subject: &str, _: &Request<'_>) -> Result<Option<Self>, AuthError> {
//!         Ok((subject == "1").then(|| User { name: "alice".into() })) // your database here
//!     }
//! }
//!
//! #[rocket::post("/login")]
//! async fn login(sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
//!     // … check the password first, then:
//!     sessions.login("1").fresh().issue().await
//! }
//!
//! #[rocket::get("/me")]
//! fn me(user: CurrentUser<User>) -> String {
//!     user.name.clone()
//! }
//!
//! #[rocket::post("/logout-all")]
//! async fn logout_all(user: CurrentUser<User>, sessions: Sessions<'_>) -> Result<(), AuthError> {
//!     sessions.end_all(&user).await
//! }
//! ```
//!
//! # Login throttling
//!
//! Take [`LoginThrottle`] in login routes: [`check`](LoginThrottle::check) the account before the
//! password (429 with `Retry-After` once the account or the client address failed too often,
//! even with the right password), then record the [`LoginAttempt`] as
//! [`failed`](LoginAttempt::failed) or [`succeeded`](LoginAttempt::succeeded). The counts live in
//! the revocation store, so every instance counts together. Limits: `[paseto.throttle]`;
//! proxies whose `X-Forwarded-For` counts: `trusted_proxies`. `docs/security.md` has the pattern.
//!
//! # Account lifecycle
//!
//! Password resets, magic links, email verification and invitations are single-use tokens:
//! [`Issuer::single_use`] mints one for a [`SingleUse`] purpose, and [`Issuer::consume`]
//! accepts it exactly once, atomically in the revocation store, on every instance (a consumed
//! password reset also ends every session of its user). Listed sessions show the device they
//! were started from ([`Session`]'s user agent, IP address and [label](Login::label)); an
//! admin's routes list and end any user's sessions with [`Issuer::sessions_of`] and its
//! siblings. `docs/account-lifecycle.md` walks through each, with the events hook below.
//!
//! # Counters
//!
//! [`PasetoStats`] counts what the guards accepted and refused, by cause, how often the token
//! and jar caches hit, and the revocation store's calls, failures and time: take it as a request
//! guard, or call [`Issuer::stats`]. With the cargo feature `metrics`, the same figures are
//! published through the [`metrics`](https://docs.rs/metrics) facade for Prometheus and other
//! exporters. `docs/performance.md` says how to read them.
//!
//! # Events and tracing
//!
//! [`PasetoFairing::events`] sets a hook that receives an [`Event`] for every login, failed or
//! throttled login, refresh, detected reuse, logout, CSRF failure and failed key fetch: the
//! subject, the session id, the client address and the time, never a token or a secret. It
//! runs off the request's path: a slow or failing hook never delays or fails a request, and
//! what it misses is counted ([`PasetoStats::events_dropped`]). With the cargo feature
//! `tracing`, the guards, session refreshes and store calls run in `tracing` spans with the
//! cause of a failure as a field. `docs/security.md` ("Events and tracing") has the details.
//!
//! # Key discovery
//!
//! An issuing service can publish its public keys for verifier-only services, the PASETO
//! counterpart of a JWKS endpoint: `publish_keys = "/.well-known/paseto-keys"` serves the
//! signing key's public half and the previous ones in `public_keys` as a JSON key document.
//! With the cargo feature `discovery`, a verifier sets `[paseto.discovery]` instead of listing
//! `public_keys`, and follows the issuer through key rotations without a restart: keys are
//! fetched at launch, every `refresh_secs`, and (rate-limited) when a token names a key id not
//! known yet. `docs/keys.md` walks through a rotation.
//!
//! | cargo feature | what it adds |
//! |---|---|
//! | `redis` | the Redis revocation store ([`revocation`]) |
//! | `metrics` | [`PasetoStats`] published through the `metrics` facade |
//! | `openapi` | utoipa schemas, responses and security schemes |
//! | `discovery` | fetching trusted public keys from an issuer's published document |
//! | `tracing` | spans around the guards, session refreshes and revocation store calls |
//!
//! # Testing
//!
//! In tests with `rocket::local` clients, [`TokenBuilder::header`] mints a token into the
//! `Authorization` header and [`TokenBuilder::cookies`] into cookies with their CSRF header:
//! `issuer.access("1").claim("roles", ["admin"]).header()?`.
//!
//! # What is checked
//!
//! Tokens are PASETO v4 only. A token is accepted only with the purpose configured for its kind
//! (never the one it claims), a key from the server's keyring chosen by the footer's `kid` (an
//! unknown `kid` fails; no `kid` means the current key), a JSON-object payload without duplicate
//! keys, an `exp` in RFC 3339 with uppercase `T`/`Z`, `nbf`/`iat` not in the future beyond the
//! leeway, matching `iss`/`aud` when configured, and `type` equal to the kind. Tokens over
//! `max_token_length`, with a trailing `.`, extra segments or non-canonical base64 are rejected
//! before anything is decoded. Every failure gets the same 401 body.
//!
//! Tokens read from a cookie on any method but `GET`, `HEAD`, `OPTIONS` and `TRACE` must also
//! carry a `csrf` claim equal to the `X-CSRF-Token` header or, in a URL-encoded form body,
//! the `_csrf` field within its first 512 bytes (signed double submit), unless `csrf = false`. For kinds checked for revocation, the token must also have a `jti`, and
//! neither it nor the token's session may be revoked.
//!
//! # API at a glance
//!
//! What a route or an application names is public; the rest is internal. Why each item is here:
//!
//! - Set up: [`PasetoFairing`] attaches the crate (and [`load`](PasetoFairing::load)s it
//!   outside Rocket, failing with [`ConfigError`]); [`catchers`] render the 401/403 bodies;
//!   [`generate_keys`] makes keys, failing only with [`KeyError`].
//! - Guards a route takes: [`Paseto`] of a kind ([`Access`], [`Refresh`], your own
//!   [`TokenKind`]) with [`Claims`] or your type, [`QueryToken`], [`RememberMe`],
//!   [`CurrentUser`] (with [`AuthUser`]), [`SameOrigin`], [`LoginThrottle`] and the
//!   [`LoginAttempt`] it returns, [`PasetoStats`].
//! - Sessions: [`Sessions`] for bearer clients (its [`Login`] builder returns a [`TokenPair`];
//!   [`Session`] is a listed one), [`PasetoCookies`] for browsers (with [`CsrfInput`] for
//!   forms), [`LoggedOut`] says what a logout ended, and [`LoginClaims`] adds claims at every
//!   login.
//! - Audit: [`Event`]s of an [`EventKind`] reach the hook set with
//!   [`events`](PasetoFairing::events).
//! - One-off tokens: [`Issuer`] mints with a [`TokenBuilder`] (into a header, or cookies as a
//!   [`BrowserToken`]) and verifies into [`Verified`]; it also mints and consumes single-use
//!   tokens for a [`SingleUse`] purpose (password resets, magic links), and gives admins their
//!   view of any user's sessions.
//! - Errors a route returns or matches: [`AuthError`] (with [`AuthFailure`] for custom bodies),
//!   whose variants hold a [`Rejection`], an [`IssueError`] or a [`CookieError`]
//!   ([`MAX_COOKIE_SIZE`] is the cap it cites); [`Purpose`] is named in `IssueError::NoKey` and
//!   by a custom kind.
//! - [`revocation`]: [`RevocationStore`](revocation::RevocationStore) and
//!   [`StoreError`](revocation::StoreError) for a custom store, and the stores an application
//!   attaches in code: [`MemoryStore`](revocation::MemoryStore), `RedisStore` and
//!   `RedisClusterStore` (feature `redis`).
//! - [`testing`]: what an application's own `rocket::local` tests call to log in and to send
//!   tokens and the CSRF header as the configuration says.
//! - `openapi` (feature `openapi`): `PasetoSecurity`, the utoipa security schemes, and the
//!   schemas and responses a document adds.

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

#[doc(hidden)]
pub mod __private;
mod address;
mod config;
mod cookies;
mod counters;
mod csrf;
#[cfg(feature = "discovery")]
mod discovery;
mod error;
mod events;
mod fairing;
mod guard;
mod hooks;
mod implicit;
mod issuer;
mod kind;
mod login;
#[cfg(feature = "openapi")]
#[cfg_attr(docsrs, doc(cfg(feature = "openapi")))]
pub mod openapi;
mod origin;
mod publish;
mod remember;
mod response;
pub mod revocation;
mod sessions;
mod state;
mod stats;
pub mod testing;
mod throttle;
mod token;
mod trace;
mod user;

pub use config::{ConfigError, generate_keys};
pub use cookies::{CsrfInput, PasetoCookies};
pub use error::{AuthError, CookieError, MAX_COOKIE_SIZE};
pub use events::{Event, EventKind};
pub use fairing::PasetoFairing;
pub use guard::throttle::{LoginAttempt, LoginThrottle};
pub use guard::{Paseto, QueryToken};
pub use hooks::LoginClaims;
pub use issuer::{BrowserToken, Issuer, TokenBuilder, TokenPair};
pub use kind::{Access, Refresh, SingleUse, TokenKind};
pub use login::Login;
pub use origin::SameOrigin;
pub use remember::RememberMe;
pub use response::{AuthFailure, catchers};
pub use revocation::listing::Session;
pub use revocation::report::LoggedOut;
pub use sessions::Sessions;
pub use stats::PasetoStats;
pub use token::claims::Claims;
pub use token::purpose::Purpose;
pub use token::{IssueError, KeyError, Rejection, Verified};
pub use user::{AuthUser, CurrentUser};

/// The guides in `docs/` and the README, compiled and run as doctests so their snippets stay
/// true.
#[cfg(doctest)]
mod guides {
    #[doc = include_str!("../README.md")]
    struct Readme;
    #[doc = include_str!("../docs/configuration.md")]
    struct Configuration;
    #[doc = include_str!("../docs/guards-and-claims.md")]
    struct GuardsAndClaims;
    #[doc = include_str!("../docs/browsers-and-cookies.md")]
    struct BrowsersAndCookies;
    #[doc = include_str!("../docs/revocation-and-scaling.md")]
    struct RevocationAndScaling;
    #[doc = include_str!("../docs/keys.md")]
    struct Keys;
    #[doc = include_str!("../docs/account-lifecycle.md")]
    struct AccountLifecycle;
    #[doc = include_str!("../docs/testing.md")]
    struct Testing;
    #[doc = include_str!("../docs/security.md")]
    struct Security;
    #[doc = include_str!("../docs/performance.md")]
    struct Performance;

    /// The token core is internal: applications verify through `Issuer`.
    ///
    /// ```compile_fail,E0603
    /// use rocket_paseto::token::Authority;
    /// ```
    struct TokenCoreIsInternal;

    /// The configuration table is internal: applications configure through Figment.
    ///
    /// ```compile_fail,E0603
    /// let _ = rocket_paseto::config::Config::default();
    /// ```
    struct ConfigTableIsInternal;

    /// What guards do when the store fails is a configuration key, not a type.
    ///
    /// ```compile_fail,E0603
    /// let _ = rocket_paseto::revocation::OnError::Allow;
    /// ```
    struct OnErrorIsInternal;

    /// The issuer does not hand out its keys.
    ///
    /// ```compile_fail,E0624
    /// fn keys(issuer: &rocket_paseto::Issuer) {
    ///     let _ = issuer.authority();
    /// }
    /// ```
    struct IssuerKeepsItsKeys;
}
