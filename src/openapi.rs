//! OpenAPI descriptions for [`utoipa`] documents (feature `openapi`): the security schemes
//! the guards read tokens with, the JSON bodies of [`AuthError`] and the token responses.
//!
//! - [`PasetoSecurity`], a [`Modify`], adds the schemes to the document's components:
//!   - [`BEARER_SCHEME`] (`"paseto"`): `type: http`, `scheme: bearer`, `bearerFormat: PASETO`,
//!     the `Authorization: Bearer <token>` that [`Paseto<K>`](crate::Paseto) and
//!     [`CurrentUser`](crate::CurrentUser) read;
//!   - `"paseto_<kind>_cookie"` ([`cookie_scheme`]), `type: apiKey`, `in: cookie`, for each
//!     kind that reads a cookie: `access_token` for [`Access`], `refresh_token` for
//!     [`Refresh`];
//!   - [`REMEMBER_ME_SCHEME`] (`"paseto_remember_me_cookie"`): the `remember_token` cookie
//!     of [`RememberMe`](crate::RememberMe).
//! - [`AuthError`] implements [`IntoResponses`]: its 401, 403 and 503 JSON bodies, for
//!   `responses(…, AuthError)`.
//! - [`TokenPair`](crate::TokenPair), [`LoggedOut`](crate::LoggedOut) and
//!   [`Session`](crate::Session) implement [`ToSchema`].
//!
//! Cookie names are configured at runtime and a document is built from code, so the cookie
//! schemes carry the default names; add yours with [`PasetoSecurity::add_cookie`] when you
//! rename them. Likewise the bearer scheme describes the default `paseto.header` and
//! `paseto.scheme`.
//!
//! An operation requires a scheme through `security(…)` in its `#[utoipa::path]`: list
//! [`BEARER_SCHEME`] for routes that take a token guard, and the kind's cookie scheme as a
//! second alternative when browsers call it with cookies. `&Issuer`, `Sessions`,
//! `PasetoCookies` and `SameOrigin` need nothing: utoipa ignores arguments it is not told
//! about, so every guard is used as it is. (`modifiers(&…)` takes a plain name: import
//! `PasetoSecurity` rather than writing its path there.)
//!
//! # Why utoipa
//!
//! `rocket_okapi`, whose request-guard trait would let each guard add its own requirement,
//! requires exactly Rocket 0.5.1 (0.9.0, the latest release). An optional dependency is part
//! of this crate's own resolution, so it would hold the crate's `Cargo.lock` at Rocket 0.5.1,
//! which this crate does not build with, and give applications that enable it that Rocket.
//! utoipa does not depend on Rocket.
//!
//! # Example
//!
//! ```
//! use rocket::serde::json::{Json, Value, json};
//! use rocket_paseto::openapi::PasetoSecurity;
//! use rocket_paseto::{Access, AuthError, Paseto, Sessions, TokenPair};
//! use utoipa::OpenApi;
//!
//! /// A token pair for `alice`.
//! #[utoipa::path(post, path = "/login", responses((status = 200, body = TokenPair), AuthError))]
//! #[rocket::post("/login")]
//! async fn login(sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
//!     sessions.login("alice").issue().await
//! }
//!
//! /// The caller, with a token in the header or the `access_token` cookie.
//! #[utoipa::path(
//!     get, path = "/me",
//!     security(("paseto" = []), ("paseto_access_cookie" = [])),
//!     responses((status = 200, body = Value), AuthError),
//! )]
//! #[rocket::get("/me")]
//! fn me(token: Paseto<Access>) -> Json<Value> {
//!     Json(json!({ "user": token.subject() }))
//! }
//!
//! #[derive(OpenApi)]
//! #[openapi(paths(login, me), modifiers(&PasetoSecurity))]
//! struct ApiDoc;
//!
//! #[rocket::get("/openapi.json")]
//! fn openapi() -> Json<utoipa::openapi::OpenApi> {
//!     Json(ApiDoc::openapi())
//! }
//!
//! let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
//! let bearer = &doc["components"]["securitySchemes"]["paseto"];
//! assert_eq!(bearer["bearerFormat"], "PASETO");
//! assert_eq!(doc["paths"]["/me"]["get"]["security"][0], json!({ "paseto": [] }));
//! assert!(doc["paths"]["/login"]["post"].get("security").is_none());
//! ```

use std::collections::BTreeMap;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, RefOr, Response, ResponseBuilder, ResponsesBuilder};
use utoipa::{IntoResponses, Modify, PartialSchema, ToSchema};

use crate::error::AuthError;
use crate::kind::{Access, REMEMBER_ME_COOKIE, Refresh, TokenKind};

/// The `http` `bearer` scheme (`bearerFormat: PASETO`) of tokens in the `Authorization`
/// header.
pub const BEARER_SCHEME: &str = "paseto";

/// The `apiKey`-in-cookie scheme of the remember-me cookie (`remember_token` by default).
pub const REMEMBER_ME_SCHEME: &str = "paseto_remember_me_cookie";

/// The name of kind `K`'s cookie scheme: `"paseto_<K::NAME>_cookie"`, e.g.
/// `paseto_access_cookie`.
pub fn cookie_scheme<K: TokenKind>() -> String {
    format!("paseto_{}_cookie", K::NAME)
}

/// A [`Modify`] that adds this crate's security schemes to a document, with the default
/// names: [`BEARER_SCHEME`], the cookie schemes of [`Access`] (`access_token`) and
/// [`Refresh`] (`refresh_token`), and [`REMEMBER_ME_SCHEME`] (`remember_token`).
///
/// `#[openapi(modifiers(&PasetoSecurity))]` on the document's `#[derive(OpenApi)]`. For your
/// own kinds and renamed cookies, add the schemes with [`add_cookie`](Self::add_cookie) from a
/// modifier of your own:
///
/// ```
/// use rocket_paseto::Access;
/// use rocket_paseto::openapi::PasetoSecurity;
/// use utoipa::Modify;
/// use utoipa::openapi::OpenApi;
///
/// /// The access cookie is `__Host-access` here (`[paseto.access] cookie`).
/// struct HostCookies;
///
/// impl Modify for HostCookies {
///     fn modify(&self, openapi: &mut OpenApi) {
///         PasetoSecurity.modify(openapi);
///         PasetoSecurity::add_cookie::<Access>(openapi, "__Host-access");
///     }
/// }
/// # let mut doc = OpenApi::default();
/// # HostCookies.modify(&mut doc);
/// # let doc = serde_json::to_value(doc).unwrap();
/// # assert_eq!(doc["components"]["securitySchemes"]["paseto_access_cookie"]["name"], "__Host-access");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PasetoSecurity;

impl PasetoSecurity {
    /// Adds (or replaces) kind `K`'s cookie scheme, [`cookie_scheme::<K>()`](cookie_scheme),
    /// for a token in the cookie `cookie`.
    pub fn add_cookie<K: TokenKind>(openapi: &mut OpenApi, cookie: &str) {
        let description = format!(
            "A PASETO `{}` token in the `{cookie}` cookie. Requests other than GET, HEAD, \
             OPTIONS and TRACE also send its CSRF token in `X-CSRF-Token`.",
            K::NAME
        );
        add_scheme(
            openapi,
            cookie_scheme::<K>(),
            cookie_key(cookie, description),
        );
    }
}

impl Modify for PasetoSecurity {
    fn modify(&self, openapi: &mut OpenApi) {
        let bearer = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("PASETO")
            .description(Some(
                "A PASETO v4 token in `Authorization: Bearer <token>`.",
            ))
            .build();
        add_scheme(
            openapi,
            BEARER_SCHEME.to_owned(),
            SecurityScheme::Http(bearer),
        );
        Self::add_cookie::<Access>(openapi, default_cookie::<Access>());
        Self::add_cookie::<Refresh>(openapi, default_cookie::<Refresh>());
        let description = format!(
            "The PASETO remember-me token in the `{REMEMBER_ME_COOKIE}` cookie, which the \
             `RememberMe` guard reads."
        );
        let remember_me = cookie_key(REMEMBER_ME_COOKIE, description);
        add_scheme(openapi, REMEMBER_ME_SCHEME.to_owned(), remember_me);
    }
}

/// Kind `K`'s default cookie (both built-in kinds have one).
fn default_cookie<K: TokenKind>() -> &'static str {
    K::COOKIE.unwrap_or_default()
}

/// An `apiKey` scheme for a token in the cookie `cookie`.
fn cookie_key(cookie: &str, description: String) -> SecurityScheme {
    SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
        cookie.to_owned(),
        description,
    )))
}

fn add_scheme(openapi: &mut OpenApi, name: String, scheme: SecurityScheme) {
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme(name, scheme);
}

/// The JSON body of every [`AuthError`] response.
#[derive(ToSchema)]
#[allow(dead_code)] // only its schema is used
struct AuthErrorBody {
    /// A machine-readable code, e.g. `invalid_token`.
    error: String,
    /// A message for people.
    message: String,
    /// Only on expired tokens: `The access token expired`.
    error_description: Option<String>,
}

/// The responses a guard can fail with: 401 (no token, a bad one), 403 (CSRF, missing
/// grants), 429 (the login throttle) and 503 (the revocation store or the user loader is unavailable). The table on
/// [`AuthError`] has every body.
impl IntoResponses for AuthError {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let response = |description: &str| {
            let body = Content::new(Some(AuthErrorBody::schema()));
            ResponseBuilder::new()
                .description(description)
                .content("application/json", body)
        };
        ResponsesBuilder::new()
            .response("401", response("No token, or an invalid or expired one."))
            .response(
                "403",
                response("A CSRF check failed, or the token lacks a grant."),
            )
            .response(
                "429",
                response("Too many failed logins: wait `Retry-After` seconds (login routes)."),
            )
            .response(
                "503",
                response("Authentication cannot be checked right now."),
            )
            .build()
            .into()
    }
}
