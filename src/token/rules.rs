//! What tokens of each kind look like and which claims they must satisfy.

use std::time::Duration;

use time::OffsetDateTime;

use super::claims::Claims;
use super::error::{IssueError, Rejection};
use super::limits::{DEFAULT_MAX_TOKEN_LENGTH, MAX_LEEWAY, MAX_TTL};
use super::purpose::Purpose;

/// Refuses a lifetime of zero or longer than [`MAX_TTL`].
pub(crate) fn check_ttl(ttl: Duration) -> Result<Duration, IssueError> {
    if ttl.is_zero() || ttl > MAX_TTL {
        return Err(IssueError::Ttl);
    }
    Ok(ttl)
}

/// How tokens of one kind are minted and verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindRules {
    name: String,
    purpose: Purpose,
    ttl: Duration,
    fresh_for: Option<Duration>,
}

impl KindRules {
    /// Rules for the kind `name` (its `type` claim), with its purpose and default lifetime.
    pub fn new(name: impl Into<String>, purpose: Purpose, ttl: Duration) -> Self {
        KindRules {
            name: name.into(),
            purpose,
            ttl,
            fresh_for: None,
        }
    }

    /// Fresh tokens of this kind stay fresh for `period` only, not their whole life.
    #[must_use]
    pub fn fresh_for(mut self, period: Duration) -> Self {
        self.fresh_for = Some(period);
        self
    }

    /// The kind's name, which tokens carry as their `type` claim.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The purpose every token of this kind must have.
    pub fn purpose(&self) -> Purpose {
        self.purpose
    }

    /// The lifetime given to new tokens unless the issuer says otherwise.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Until when a token of this kind minted fresh at `now`, expiring at `exp`, stays fresh.
    pub(crate) fn fresh_until(&self, now: OffsetDateTime, exp: OffsetDateTime) -> OffsetDateTime {
        self.fresh_for.map_or(exp, |period| (now + period).min(exp))
    }
}

/// Verification and minting rules shared by all kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    kinds: Vec<KindRules>,
    issuer: Option<String>,
    audience: Option<String>,
    leeway: Duration,
    max_token_length: usize,
}

impl Rules {
    /// Rules for these kinds, with no `iss`/`aud`, no leeway and the default length cap.
    pub fn new(kinds: Vec<KindRules>) -> Self {
        Rules {
            kinds,
            issuer: None,
            audience: None,
            leeway: Duration::ZERO,
            max_token_length: DEFAULT_MAX_TOKEN_LENGTH,
        }
    }

    /// Stamp `iss` on new tokens and require it on verification.
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Stamp `aud` on new tokens and require it (as a string or in an array) on verification.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat`, at most [`MAX_LEEWAY`] (larger values are
    /// clamped).
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway.min(MAX_LEEWAY);
        self
    }

    /// Tokens longer than this are rejected before any decoding.
    #[must_use]
    pub fn max_token_length(mut self, max: usize) -> Self {
        self.max_token_length = max;
        self
    }

    /// The length cap on tokens, in bytes.
    pub fn max_token_length_limit(&self) -> usize {
        self.max_token_length
    }

    /// The clock skew tolerated on `exp`, `nbf` and `iat`.
    pub fn leeway_limit(&self) -> Duration {
        self.leeway
    }

    /// The rules for the kind `name`, if there is such a kind.
    pub fn kind(&self, name: &str) -> Option<&KindRules> {
        self.kinds.iter().find(|k| k.name == name)
    }

    /// Every configured kind.
    pub fn kinds(&self) -> &[KindRules] {
        &self.kinds
    }

    /// The position of the kind `name` among [`kinds`](Self::kinds).
    pub(crate) fn index_of(&self, name: &str) -> Option<usize> {
        self.kinds.iter().position(|k| k.name == name)
    }

    /// The `iss` stamped on new tokens, if any.
    pub(crate) fn stamped_issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The `aud` stamped on new tokens, if any.
    pub(crate) fn stamped_audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }

    /// Checks the time claims, kind, issuer and audience of `claims` at `now`.
    pub(crate) fn check(
        &self,
        kind: &KindRules,
        claims: &Claims,
        now: OffsetDateTime,
    ) -> Result<(), Rejection> {
        // In nanoseconds since the epoch, where no time `time` represents overflows and the
        // comparisons are plain integers (its own arithmetic and ordering normalise offsets,
        // several times the cost on every guarded request).
        let nanos = OffsetDateTime::unix_timestamp_nanos;
        let leeway = self.leeway.as_nanos() as i128;
        let (earliest, latest) = (nanos(now) - leeway, nanos(now) + leeway);
        if claims.nbf.is_some_and(|nbf| latest < nanos(nbf)) {
            return Err(Rejection::NotYetValid);
        }
        if claims.iat.is_some_and(|iat| nanos(iat) > latest) {
            return Err(Rejection::IssuedInFuture);
        }
        if claims.kind != kind.name {
            return Err(Rejection::WrongKind);
        }
        if let Some(iss) = &self.issuer
            && claims.iss.as_deref() != Some(iss.as_str())
        {
            return Err(Rejection::Issuer);
        }
        if let Some(aud) = &self.audience
            && !claims.aud.iter().any(|a| a == aud)
        {
            return Err(Rejection::Audience);
        }
        // Last: clients are told when a token has expired (so they refresh it), which must mean
        // that nothing else is wrong with it.
        if earliest > nanos(claims.exp) {
            return Err(Rejection::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{authority_with, rules};
    use super::super::{LocalKey, MintOptions, VerifyOptions};
    use super::*;

    #[test]
    fn leeway_is_clamped() {
        let rules = rules().leeway(Duration::MAX);
        assert_eq!(rules.leeway, MAX_LEEWAY);
        let a = authority_with(Some(LocalKey::generate().unwrap()), rules);
        let t = a
            .mint("access", "a", None::<&()>, MintOptions::new())
            .unwrap();
        assert!(
            a.verify(
                "access",
                &t,
                OffsetDateTime::now_utc(),
                VerifyOptions::new()
            )
            .is_ok()
        );
    }

    #[test]
    fn lifetimes_are_bounded() {
        assert!(matches!(check_ttl(Duration::ZERO), Err(IssueError::Ttl)));
        assert!(matches!(
            check_ttl(MAX_TTL + Duration::from_secs(1)),
            Err(IssueError::Ttl)
        ));
        assert_eq!(check_ttl(MAX_TTL).unwrap(), MAX_TTL);
    }
}
