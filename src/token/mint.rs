//! Minting: [`Authority::mint`] and its [`MintOptions`].

use std::time::Duration;

use ct_codecs::{Base64UrlSafeNoPadding, Encoder};
use pasetors::version4::PublicToken;
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::authority::Authority;
use super::claims::{REGISTERED_CLAIMS, format_time};
use super::error::IssueError;
use super::purpose::Purpose;
use super::rules::{KindRules, check_ttl};

/// How a token is minted, beyond its kind, subject and extra claims.
#[derive(Debug, Default, Clone, Copy)]
#[must_use]
pub struct MintOptions<'a> {
    /// The token's lifetime, if not the kind's.
    pub(crate) ttl: Option<Duration>,
    /// An implicit assertion the token is bound to.
    pub(crate) implicit: Option<&'a [u8]>,
    /// Whether the token is fresh (minted from a password login).
    pub(crate) fresh: bool,
    /// The family (`fam`) the token belongs to.
    pub(crate) family: Option<&'a str>,
    /// When that family ends (`fam_exp`): the token's `exp` is clamped to it.
    pub(crate) family_end: Option<OffsetDateTime>,
    /// The token's `jti`, when it must repeat an earlier one (a rotation's grace window);
    /// otherwise a new random id.
    pub(crate) jti: Option<&'a str>,
}

impl<'a> MintOptions<'a> {
    /// The defaults: the kind's lifetime, a bearer token, not fresh.
    pub fn new() -> Self {
        Self::default()
    }

    /// Gives the token this lifetime instead of its kind's (at most [`MAX_TTL`](super::MAX_TTL)).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Binds the token to an implicit assertion: it then only verifies with the same assertion
    /// ([`VerifyOptions::implicit`](super::VerifyOptions::implicit)), e.g. the name of the
    /// cookie that carries it, never as a bearer token.
    pub fn implicit(mut self, assertion: &'a [u8]) -> Self {
        self.implicit = Some(assertion);
        self
    }

    /// Marks the token fresh: minted from a password login, which routes can require for
    /// sensitive actions. It stays fresh for the kind's `fresh_for` period, or its whole life.
    pub fn fresh(mut self) -> Self {
        self.fresh = true;
        self
    }
}

impl Authority {
    /// Mints a token of kind `kind` for `subject`, with optional extra claims, which must
    /// serialise to a JSON object without registered names.
    pub fn mint<T: Serialize + ?Sized>(
        &self,
        kind: &str,
        subject: &str,
        extra: Option<&T>,
        options: MintOptions<'_>,
    ) -> Result<String, IssueError> {
        let rules = self
            .rules
            .kind(kind)
            .ok_or_else(|| IssueError::UnknownKind(kind.to_owned()))?;
        let ttl = check_ttl(options.ttl.unwrap_or(rules.ttl()))?;
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .map_err(|_| IssueError::Build)?;
        let exp = expiry(now, ttl, options.family_end)?;
        let mut claims = extra_claims(extra)?;
        self.stamp(&mut claims, rules, subject, now, exp, &options)?;
        let payload = serde_json::to_vec(&claims).map_err(|_| IssueError::Build)?;
        self.seal_payload(rules, &payload, options.implicit)
    }

    /// Adds the registered claims to `claims`.
    fn stamp(
        &self,
        claims: &mut Map<String, Value>,
        rules: &KindRules,
        subject: &str,
        now: OffsetDateTime,
        exp: OffsetDateTime,
        options: &MintOptions<'_>,
    ) -> Result<(), IssueError> {
        let now_s = format_time(now);
        claims.insert("sub".into(), subject.into());
        claims.insert("exp".into(), format_time(exp).into());
        claims.insert("iat".into(), now_s.clone().into());
        claims.insert("nbf".into(), now_s.into());
        let jti = match options.jti {
            Some(jti) => jti.to_owned(),
            None => random_id()?,
        };
        claims.insert("jti".into(), jti.into());
        claims.insert("type".into(), rules.name().into());
        if options.fresh {
            let until = rules.fresh_until(now, exp);
            claims.insert("fresh".into(), format_time(until).into());
        }
        if let Some(family) = options.family {
            claims.insert("fam".into(), family.into());
        }
        if let Some(end) = options.family_end {
            claims.insert("fam_exp".into(), format_time(end).into());
        }
        if let Some(iss) = self.rules.stamped_issuer() {
            claims.insert("iss".into(), iss.into());
        }
        if let Some(aud) = self.rules.stamped_audience() {
            claims.insert("aud".into(), aud.into());
        }
        Ok(())
    }

    /// Encrypts or signs `payload` with the current key of the kind's purpose, naming the key
    /// in the footer.
    fn seal_payload(
        &self,
        rules: &KindRules,
        payload: &[u8],
        implicit: Option<&[u8]>,
    ) -> Result<String, IssueError> {
        let no_key = || IssueError::NoKey(rules.purpose(), rules.name().to_owned());
        match rules.purpose() {
            Purpose::Local => {
                let keyed = self.keyring.local().ok_or_else(no_key)?;
                let implicit = implicit.unwrap_or_default();
                (keyed.key.opener())
                    .seal(payload, &keyed.footer, implicit)
                    .map_err(|_| IssueError::Build)
            }
            Purpose::Public => {
                let keyed = self.keyring.secret().ok_or_else(no_key)?;
                PublicToken::sign(keyed.key.inner(), payload, Some(&keyed.footer), implicit)
                    .map_err(|_| IssueError::Build)
            }
        }
    }
}

/// `now + ttl`, clamped to the end of the token's family, if it has one.
fn expiry(
    now: OffsetDateTime,
    ttl: Duration,
    family_end: Option<OffsetDateTime>,
) -> Result<OffsetDateTime, IssueError> {
    let exp = now + ttl;
    let Some(end) = family_end else {
        return Ok(exp);
    };
    // No member outlives its family, so a revoked family is remembered long enough.
    let end = end.replace_nanosecond(0).unwrap_or(end);
    if end <= now {
        return Err(IssueError::SessionEnded);
    }
    Ok(exp.min(end))
}

/// The extra claims as a JSON object, refusing registered names and a non-string `csrf`.
fn extra_claims<T: Serialize + ?Sized>(
    extra: Option<&T>,
) -> Result<Map<String, Value>, IssueError> {
    let claims = match extra {
        None => Map::new(),
        Some(extra) => match serde_json::to_value(extra).map_err(|_| IssueError::NotAnObject)? {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            _ => return Err(IssueError::NotAnObject),
        },
    };
    if let Some(name) = REGISTERED_CLAIMS.iter().find(|n| claims.contains_key(**n)) {
        return Err(IssueError::ReservedClaim((*name).to_owned()));
    }
    if claims.get("csrf").is_some_and(|v| !v.is_string()) {
        return Err(IssueError::CsrfNotAString);
    }
    Ok(claims)
}

/// 128 random bits from the operating system's CSPRNG, as 22 characters of unpadded base64url:
/// what issued tokens use as `jti`, and a good `csrf` claim value.
pub(crate) fn random_id() -> Result<String, IssueError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| IssueError::Build)?;
    let mut out = [0u8; 22];
    Base64UrlSafeNoPadding::encode_to_str(&mut out, bytes)
        .map(str::to_owned)
        .map_err(|_| IssueError::Build)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{authority, now};
    use super::super::{Rejection, VerifyOptions};
    use super::*;

    #[test]
    fn random_ids_are_22_characters_and_differ() {
        let (one, two) = (random_id().unwrap(), random_id().unwrap());
        assert_eq!(one.len(), 22);
        assert_ne!(one, two);
    }

    #[test]
    fn mint_and_verify_both_purposes() {
        let a = authority();
        for kind in ["access", "signed"] {
            let extra = serde_json::json!({"role": "admin"});
            let t = a
                .mint(kind, "alice", Some(&extra), MintOptions::new())
                .unwrap();
            let v = a.verify(kind, &t, now(), VerifyOptions::new()).unwrap();
            assert_eq!(v.claims().sub, "alice");
            assert_eq!(v.claims().kind, kind);
            assert!(v.payload().contains("\"role\":\"admin\""));
            assert_eq!(v.claims().jti.as_ref().unwrap().len(), 22);
        }
    }

    #[test]
    fn reserved_claims_cannot_be_overridden() {
        let a = authority();
        let exp = serde_json::json!({"exp": "2999-01-01T00:00:00Z"});
        let err = a
            .mint("access", "alice", Some(&exp), MintOptions::new())
            .unwrap_err();
        assert!(matches!(err, IssueError::ReservedClaim(name) if name == "exp"));
        assert!(matches!(
            a.mint("access", "a", Some(&[1, 2]), MintOptions::new()),
            Err(IssueError::NotAnObject)
        ));
        assert!(matches!(
            a.mint(
                "access",
                "a",
                None::<&()>,
                MintOptions::new().ttl(Duration::ZERO)
            ),
            Err(IssueError::Ttl)
        ));
    }

    #[test]
    fn fresh_tokens_say_until_when() {
        let a = authority();
        let t = a
            .mint("access", "alice", None::<&()>, MintOptions::new().fresh())
            .unwrap();
        let v = a.verify("access", &t, now(), VerifyOptions::new()).unwrap();
        assert_eq!(v.claims().fresh, Some(v.claims().exp));
        let t = a
            .mint("access", "alice", None::<&()>, MintOptions::new())
            .unwrap();
        let v = a.verify("access", &t, now(), VerifyOptions::new()).unwrap();
        assert_eq!(v.claims().fresh, None);
    }

    #[test]
    fn bound_tokens_need_their_assertion() {
        let a = authority();
        let options = MintOptions::new().implicit(b"cookie");
        let t = a.mint("access", "alice", None::<&()>, options).unwrap();
        assert_eq!(
            a.verify("access", &t, now(), VerifyOptions::new())
                .unwrap_err(),
            Rejection::Crypto
        );
        let bound = VerifyOptions::new().implicit(b"cookie");
        assert!(a.verify("access", &t, now(), bound).is_ok());
    }

    #[test]
    fn family_ends_clamp_and_refuse() {
        let a = authority();
        let end = now() + Duration::from_secs(30);
        let options = MintOptions {
            family: Some("fam"),
            family_end: Some(end),
            ..MintOptions::new()
        };
        let t = a.mint("refresh", "alice", None::<&()>, options).unwrap();
        let v = a
            .verify("refresh", &t, now(), VerifyOptions::new())
            .unwrap();
        assert!(v.claims().exp <= end);
        assert_eq!(v.claims().fam.as_deref(), Some("fam"));
        let ended = MintOptions {
            family_end: Some(now() - Duration::from_secs(1)),
            ..MintOptions::new()
        };
        assert!(matches!(
            a.mint("refresh", "alice", None::<&()>, ended),
            Err(IssueError::SessionEnded)
        ));
    }
}
