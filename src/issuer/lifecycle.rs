//! The account lifecycle around sessions: single-use tokens, and the admin's view of any
//! subject's sessions.

use std::sync::Arc;

use super::{Issuer, TokenBuilder};
use crate::error::AuthError;
use crate::events::EventKind;
use crate::kind::SingleUse;
use crate::revocation::listing::Session;
use crate::stats;
use crate::token::{Verified, VerifyOptions};

impl Issuer {
    /// Starts a single-use token for `subject`: a password reset, a magic link, an email
    /// verification or an invitation, to send to the user (in an email, say). It lasts
    /// `paseto.single_use_ttl` (15 minutes) unless [`ttl`](TokenBuilder::ttl) says otherwise,
    /// and is accepted once, by [`consume`](Self::consume) with the same `purpose`.
    ///
    /// Mint it only for an account that exists, but answer the request the same either way,
    /// in status, body and time, so that the answer does not tell who has an account: send the
    /// message from a background task, and answer as usual if minting fails. Send the token in
    /// a link to a page that posts it (or in the link's `#fragment`), never in a URL query a
    /// server logs. The token is bound to its purpose (an implicit assertion only `consume`
    /// supplies), so no guard and no other verification opens it.
    ///
    /// ```
    /// # use rocket_paseto::{Issuer, SingleUse};
    /// # async fn send_mail(_to: String, _token: String) {}
    /// # async fn user_id(_name: &str) -> Option<String> { None }
    /// #[rocket::post("/password-reset", data = "<username>")]
    /// async fn request_reset(username: String, issuer: &Issuer) -> rocket::http::Status {
    ///     if let Some(id) = user_id(&username).await
    ///         && let Ok(token) = issuer.single_use(SingleUse::PasswordReset, id).issue()
    ///     {
    ///         rocket::tokio::spawn(send_mail(username, token)); // off the answer's path
    ///     }
    ///     rocket::http::Status::Accepted // the same answer whether or not the account exists
    /// }
    /// ```
    pub fn single_use(&self, purpose: SingleUse, subject: impl Into<String>) -> TokenBuilder<'_> {
        let mut builder = self.builder(purpose.name(), subject.into());
        builder.implicit = Some(purpose.assertion());
        builder
    }

    /// Accepts the single-use `token` for `purpose`, once: of any number of uses, on every
    /// instance sharing the revocation store, exactly one gets its [`Verified`] claims; the
    /// others, and a token for another purpose or of another kind, fail with
    /// [`AuthError::Invalid`] (a 401). A [`SingleUse::PasswordReset`] also ends every session
    /// of its subject first, and with them every token of the subject minted before, other
    /// single-use tokens included (as [`Sessions::end_all`](crate::Sessions::end_all) does).
    /// Then write the new password, and end the subject's sessions once more with
    /// [`end_sessions_of`](Self::end_sessions_of): a login with the old password in between
    /// would otherwise outlive the reset. Remember-me cookies are refused from then on only if
    /// `remember_me` is in `revocation.kinds`.
    ///
    /// Needs a revocation store ([`AuthError::NotConfigured`] otherwise) and its definite
    /// answer: [`AuthError::Unavailable`] (a 503) when it cannot give one. Such a failure before
    /// a reset has ended the sessions leaves the token usable; after (or when the store's
    /// answer to the final write timed out), the user asks for a new one.
    ///
    /// ```
    /// # use rocket_paseto::{AuthError, Issuer, SingleUse};
    /// # async fn set_password(_id: &str, _password: &str) {}
    /// #[rocket::post("/password-reset/confirm", data = "<token>")]
    /// async fn confirm(token: String, issuer: &Issuer) -> Result<(), AuthError> {
    ///     let reset = issuer.consume(SingleUse::PasswordReset, &token).await?;
    ///     let user = &reset.claims().sub;
    ///     set_password(user, "…").await;
    ///     issuer.end_sessions_of(user).await // what the old password started meanwhile
    /// }
    /// ```
    pub async fn consume(&self, purpose: SingleUse, token: &str) -> Result<Verified, AuthError> {
        let result = self.consume_once(purpose, token).await;
        stats::record(self.state(), &result);
        result
    }

    async fn consume_once(&self, purpose: SingleUse, token: &str) -> Result<Verified, AuthError> {
        let revocation = self.revocation()?;
        let verified = (self.state())
            .verify(
                purpose.name(),
                token,
                VerifyOptions::new().implicit(purpose.assertion()),
            )
            .await
            .map_err(AuthError::Invalid)?;
        let claims = verified.claims();
        revocation.check_strictly(claims).await?;
        if purpose == SingleUse::PasswordReset {
            // Before the token is spent: when this fails, the user can try again.
            revocation.end_all(&claims.sub).await?;
        }
        revocation.spend(claims).await?;
        if purpose == SingleUse::PasswordReset {
            (self.state()).emit(EventKind::PasswordReset, Some(&claims.sub), None, None);
        }
        Ok(Arc::unwrap_or_clone(verified))
    }

    /// The admin's view: every active session of `subject`, oldest first (none is
    /// `current`). For support and incident response; the routes that call it must check
    /// that the caller may see other users' sessions. Users see their own with
    /// [`Sessions::list`](crate::Sessions::list).
    pub async fn sessions_of(&self, subject: &str) -> Result<Vec<Session>, AuthError> {
        Ok(self.revocation()?.sessions(subject, None).await?)
    }

    /// The admin's view: ends `subject`'s session `id` (from [`sessions_of`](Self::sessions_of)):
    /// its tokens are refused from now on. `false` when `subject` has no such session.
    pub async fn end_session_of(&self, subject: &str, id: &str) -> Result<bool, AuthError> {
        let ended = self.revocation()?.end_login(subject, id).await?;
        if let Some(login) = &ended {
            (self.state()).emit(EventKind::Logout, Some(subject), Some(&login.family), None);
        }
        Ok(ended.is_some())
    }

    /// The admin's view: logs `subject` out everywhere, as
    /// [`Sessions::end_all`](crate::Sessions::end_all) does for the caller's own account.
    pub async fn end_sessions_of(&self, subject: &str) -> Result<(), AuthError> {
        self.revocation()?.end_all(subject).await?;
        (self.state()).emit(EventKind::LogoutAll, Some(subject), None, None);
        Ok(())
    }
}
