//! Minting: [`Authority::mint`] and its [`MintOptions`].

use std::time::Duration;

use ct_codecs::{Base64UrlSafeNoPadding, Encoder};
use pasetors::version4::PublicToken;
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::authority::Authority;
use super::claims::REGISTERED_CLAIMS;
use super::error::IssueError;
use super::purpose::Purpose;
use super::rules::{KindRules, check_ttl};
use super::timestamp::ClaimTime;

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
        let extra = match extra.map(serde_json::to_value).transpose() {
            Ok(None | Some(Value::Null)) => None,
            Ok(Some(Value::Object(map))) => Some(map),
            Ok(Some(_)) | Err(_) => return Err(IssueError::NotAnObject),
        };
        self.mint_with(kind, subject, extra.as_ref(), options)
    }

    /// [`mint`](Self::mint) with the extra claims already an object: the issuer's path, which
    /// keeps them as one.
    pub(crate) fn mint_with(
        &self,
        kind: &str,
        subject: &str,
        extra: Option<&Map<String, Value>>,
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
        if let Some(extra) = extra {
            check_extra(extra)?;
        }
        let time = |t| ClaimTime::new(t).ok_or(IssueError::Build);
        let random;
        let jti = match options.jti {
            Some(jti) => jti,
            None => {
                random = RandomId::new()?;
                random.as_str()
            }
        };
        let payload = Payload {
            sub: subject,
            exp: time(exp)?,
            iat: time(now)?,
            jti,
            kind: rules.name(),
            fresh: options
                .fresh
                .then(|| time(rules.fresh_until(now, exp)))
                .transpose()?,
            family: options.family,
            family_end: options.family_end.map(time).transpose()?,
            iss: self.rules.stamped_issuer(),
            aud: self.rules.stamped_audience(),
            extra,
        };
        let payload = payload.to_json().map_err(|_| IssueError::Build)?;
        self.seal_payload(rules, &payload, options.implicit)
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

/// Refuses extra claims with registered names and a non-string `csrf`.
fn check_extra(claims: &Map<String, Value>) -> Result<(), IssueError> {
    if let Some(name) = REGISTERED_CLAIMS.iter().find(|n| claims.contains_key(**n)) {
        return Err(IssueError::ReservedClaim((*name).to_owned()));
    }
    if claims.get("csrf").is_some_and(|v| !v.is_string()) {
        return Err(IssueError::CsrfNotAString);
    }
    Ok(())
}

/// A token's claims as they are written: the registered ones, typed, then the extra ones
/// (checked to name none of them). `nbf` is `iat`: tokens are valid from when they are minted.
struct Payload<'a> {
    sub: &'a str,
    exp: ClaimTime,
    iat: ClaimTime,
    jti: &'a str,
    kind: &'a str,
    fresh: Option<ClaimTime>,
    family: Option<&'a str>,
    family_end: Option<ClaimTime>,
    iss: Option<&'a str>,
    aud: Option<&'a str>,
    extra: Option<&'a Map<String, Value>>,
}

impl Payload<'_> {
    /// The payload's JSON, exactly as serde_json writes `self` (see the `Serialize` impl the
    /// tests compare it with). Strings that need no escaping, as ids, kinds and times never
    /// do, are copied as they are; serde_json writes the others and the extra claims' values.
    /// It examined every byte of every string, keys included, on every mint.
    fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(256);
        let times = [("exp", &self.exp), ("iat", &self.iat), ("nbf", &self.iat)];
        out.extend_from_slice(b"{\"sub\":");
        write_str(&mut out, self.sub)?;
        for (name, time) in times {
            write_entry(&mut out, name, time.as_str())?;
        }
        write_entry(&mut out, "jti", self.jti)?;
        write_entry(&mut out, "type", self.kind)?;
        for (name, value) in self.optional() {
            if let Some(value) = value {
                write_entry(&mut out, name, value)?;
            }
        }
        for (name, value) in self.extra.into_iter().flatten() {
            out.push(b',');
            write_str(&mut out, name)?;
            out.push(b':');
            serde_json::to_writer(&mut out, value)?;
        }
        out.push(b'}');
        Ok(out)
    }

    /// The registered claims a token may lack, in the order they are written.
    fn optional(&self) -> [(&'static str, Option<&str>); 5] {
        [
            ("fresh", self.fresh.as_ref().map(ClaimTime::as_str)),
            ("fam", self.family),
            ("fam_exp", self.family_end.as_ref().map(ClaimTime::as_str)),
            ("iss", self.iss),
            ("aud", self.aud),
        ]
    }
}

/// Writes `,"name":"value"` (a registered claim's name, which needs no escaping).
fn write_entry(out: &mut Vec<u8>, name: &str, value: &str) -> serde_json::Result<()> {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
    write_str(out, value)
}

/// Writes `value` as a JSON string: as it is when it needs no escaping, by serde_json if not.
fn write_str(out: &mut Vec<u8>, value: &str) -> serde_json::Result<()> {
    if !needs_escaping(value) {
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
        return Ok(());
    }
    serde_json::to_writer(out, value)
}

/// Whether serde_json escapes something in `value`: a control character, `"` or `\\`.
pub(crate) fn needs_escaping(value: &str) -> bool {
    // Without stopping early, so that the loop is vectorised: `any` was slower than serde.
    value.bytes().fold(false, |escape, b| {
        escape | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

/// A new token id, on the stack: see [`random_id`].
struct RandomId([u8; 22]);

impl RandomId {
    fn new() -> Result<Self, IssueError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|_| IssueError::Build)?;
        let mut out = [0u8; 22];
        Base64UrlSafeNoPadding::encode(&mut out, bytes).map_err(|_| IssueError::Build)?;
        Ok(RandomId(out))
    }

    fn as_str(&self) -> &str {
        // base64url characters only.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// 128 random bits from the operating system's CSPRNG, as 22 characters of unpadded base64url:
/// what issued tokens use as `jti`, and a good `csrf` claim value.
pub(crate) fn random_id() -> Result<String, IssueError> {
    RandomId::new().map(|id| id.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{authority, now};
    use super::super::{Rejection, VerifyOptions};
    use super::*;
    use serde::ser::{SerializeMap, Serializer};

    /// What `to_json` must write, byte for byte: the payload through serde.
    impl Serialize for Payload<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut map = serializer.serialize_map(None)?;
            map.serialize_entry("sub", self.sub)?;
            map.serialize_entry("exp", &self.exp)?;
            map.serialize_entry("iat", &self.iat)?;
            map.serialize_entry("nbf", &self.iat)?;
            map.serialize_entry("jti", self.jti)?;
            map.serialize_entry("type", self.kind)?;
            for (name, value) in self.optional() {
                if let Some(value) = value {
                    map.serialize_entry(name, value)?;
                }
            }
            for (name, value) in self.extra.into_iter().flatten() {
                map.serialize_entry(name, value)?;
            }
            map.end()
        }
    }

    /// Plain and escaped strings, with and without the optional claims and extra claims of
    /// every type: the same bytes as serde writes.
    #[test]
    fn payloads_are_written_as_serde_writes_them() {
        let time = |t| ClaimTime::new(t).unwrap();
        let extra: Map<String, Value> = serde_json::from_str(
            r#"{"roles":["admin","ops"],"org":{"id":7,"name":"A \"q\" \u00e9\n"},"n":-1.5,"ok":true,"none":null,"na\"me":"x","csrf":"c"}"#,
        )
        .unwrap();
        for (sub, jti, all) in [
            ("alice", "AAAAAAAAAAAAAAAAAAAAAA", false),
            ("a \"quoted\" \\ name\u{1}\t\u{e9}", "id", true),
            ("", "", true),
        ] {
            let payload = Payload {
                sub,
                exp: time(now() + Duration::from_secs(60)),
                iat: time(now()),
                jti,
                kind: "access",
                fresh: all.then(|| time(now())),
                family: all.then_some("fam\u{7f}ily"),
                family_end: all.then(|| time(now() + Duration::from_secs(600))),
                iss: all.then_some("https://issuer.example"),
                aud: all.then_some("aud\"ience"),
                extra: all.then_some(&extra),
            };
            let expected = serde_json::to_vec(&payload).unwrap();
            let written = payload.to_json().unwrap();
            assert_eq!(
                String::from_utf8(written),
                String::from_utf8(expected),
                "{sub:?}"
            );
        }
    }

    #[test]
    fn random_ids_are_22_characters_and_differ() {
        let (one, two) = (random_id().unwrap(), random_id().unwrap());
        assert_eq!(one.len(), 22);
        assert_ne!(one, two);
    }

    /// Each token gets its own id and nonce, and a token that repeats an id (a rotation's grace
    /// window) still gets its own nonce.
    #[test]
    fn each_token_has_its_own_id_and_nonce() {
        let a = authority();
        let repeat = MintOptions {
            jti: Some("repeated"),
            ..MintOptions::new()
        };
        let mut nonces = std::collections::HashSet::new();
        let mut ids = std::collections::HashSet::new();
        for options in [MintOptions::new(), MintOptions::new(), repeat, repeat] {
            let token = a.mint("access", "alice", None::<&()>, options).unwrap();
            let verified = a
                .verify("access", &token, now(), VerifyOptions::new())
                .unwrap();
            ids.insert(verified.claims().jti.clone().unwrap());
            let message = token["v4.local.".len()..].split('.').next().unwrap();
            let mut decoded = Vec::new();
            crate::token::crypto::decode_base64(message.as_bytes(), &mut decoded).unwrap();
            nonces.insert(decoded[..32].to_vec());
        }
        assert_eq!(ids.len(), 3, "two new ids and the repeated one");
        assert_eq!(nonces.len(), 4);
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
