//! Implicit refresh (`cookies.implicit_refresh`): server-rendered pages have no script to call
//! a refresh route when the access cookie runs out, so the `Paseto<Access>` guard does it.

use std::sync::Arc;

use rocket::request::{FromRequest, Outcome, Request};
use time::OffsetDateTime;

use crate::cookies::PasetoCookies;
use crate::csrf;
use crate::error::AuthError;
use crate::events::EventKind;
use crate::hooks::ImplicitRefresh;
use crate::kind::{Access, Refresh, TokenKind};
use crate::state::AuthState;
use crate::token::{IssueError, Verified, VerifyOptions};

/// For a request whose access cookie is absent or expired: refreshes the session from the
/// refresh cookie exactly as [`PasetoCookies::refresh`] does (with rotation, one use per
/// token, and reuse ends the session), sets the new cookies on the response, and returns the
/// new access token for the guard to serve the request with.
///
/// Without a usable refresh cookie, fails with `fallback`, the access guard's own error. A
/// state-changing request must carry the refresh token's CSRF value before anything changes.
pub(crate) async fn refresh(
    request: &Request<'_>,
    state: &AuthState,
    fallback: AuthError,
) -> Result<Arc<Verified>, AuthError> {
    let cookie = state
        .kind(Refresh::NAME)
        .and_then(|(_, kind)| kind.cookie.as_deref())
        .and_then(|name| request.cookies().get(name));
    let Some(cookie) = cookie else {
        return Err(fallback);
    };
    let now = OffsetDateTime::now_utc();
    let refresh =
        match state
            .authority
            .verify(Refresh::NAME, cookie.value(), now, VerifyOptions::new())
        {
            Ok(refresh) => refresh,
            Err(reason) => {
                rocket::debug!("rocket_paseto: implicit refresh: refresh token rejected: {reason}");
                return Err(fallback);
            }
        };
    csrf::check(request, &state.http, &refresh).inspect_err(|_| {
        state.emit_about(EventKind::CsrfFailed, refresh.claims(), Some(request))
    })?;
    // As the guard does for an access cookie: another site's WebSocket upgrade gets nothing.
    crate::origin::check_websocket_upgrade(request, state)?;
    let Outcome::Success(cookies) = PasetoCookies::from_request(request).await else {
        return Err(AuthError::NotConfigured);
    };
    let pair = match renew(request, &cookies, &refresh).await {
        Ok(pair) => pair,
        // A session that has ended (revoked, logged out everywhere, its user gone): its cookies
        // are of no more use, so they go, and the guard answers as it would have without them.
        Err(AuthError::Invalid(_) | AuthError::Issue(IssueError::SessionEnded)) => {
            cookies.remove_tokens();
            return Err(fallback);
        }
        Err(error) => return Err(error),
    };
    // The clock read again: the token was minted after `now`, perhaps in the next second, and
    // its `nbf` would be in the future of the earlier reading.
    state
        .authority
        .verify(
            Access::NAME,
            &pair.access_token,
            OffsetDateTime::now_utc(),
            VerifyOptions::new().cached(),
        )
        .map_err(AuthError::Invalid)
}

/// Checks the user (a refresh renews a session: the application must still accept it) and
/// refreshes the session, setting the new cookies.
async fn renew(
    request: &Request<'_>,
    cookies: &PasetoCookies<'_>,
    refresh: &Verified,
) -> Result<crate::issuer::TokenPair, AuthError> {
    let state = AuthState::of(request).ok_or(AuthError::NotConfigured)?;
    if let Some(users) = &state.hooks.users {
        users.check(&refresh.claims().sub, request).await?;
    }
    cookies.refresh_with(refresh).await
}

/// Implicit refresh as the fairing plugs it into the access guard.
pub(crate) struct CookieRefresh;

#[rocket::async_trait]
impl ImplicitRefresh for CookieRefresh {
    async fn refresh(
        &self,
        request: &Request<'_>,
        fallback: AuthError,
    ) -> Result<Arc<Verified>, AuthError> {
        let state = AuthState::of(request).ok_or(AuthError::NotConfigured)?;
        refresh(request, state, fallback).await
    }
}
