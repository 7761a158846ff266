//! Registered claims, parsed strictly from a decrypted or verified payload.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::de::DeserializeOwned;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use time::OffsetDateTime;

use super::timestamp::{self, ClaimTime};

/// Claim names the crate sets itself; extra claims may not use them.
pub const REGISTERED_CLAIMS: [&str; 11] = [
    "sub", "exp", "iat", "nbf", "jti", "iss", "aud", "type", "fresh", "fam", "fam_exp",
];

/// The registered claims of a verified token, the default claims type of
/// [`Paseto`](crate::Paseto).
///
/// Use your own `C: DeserializeOwned` in `Paseto<K, C>` to read further claims; the registered
/// ones stay available through the guard's accessors either way.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Claims {
    /// `sub`: whom the token is about.
    pub sub: String,
    /// `exp`: when the token expires.
    #[serde(with = "time::serde::rfc3339")]
    pub exp: OffsetDateTime,
    /// `iat`: when the token was issued, if stated.
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub iat: Option<OffsetDateTime>,
    /// `nbf`: when the token becomes valid, if stated.
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub nbf: Option<OffsetDateTime>,
    /// `jti`: the token's unique id, if stated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// `iss`: who issued the token, if stated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// `aud`: whom the token is for, if stated (one or several audiences).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aud: Vec<String>,
    /// `type`: the token's kind, e.g. `"access"` or `"refresh"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `fresh`: until when the token counts as fresh (minted from a password login), if at all.
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub fresh: Option<OffsetDateTime>,
    /// `csrf`: the value a cookie-borne token requires in the CSRF header, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf: Option<String>,
    /// `fam`: the token family, if any: the id shared by the tokens of one login (its access
    /// and refresh tokens and their rotations), which are revoked together.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
    /// `fam_exp`: when the token's family ends, if stated. No member of the family expires
    /// later, so a revoked family is remembered until then (see [`family_end`](Self::family_end)).
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub fam_exp: Option<OffsetDateTime>,
}

impl Claims {
    /// The token's family: its `fam`, or for a token minted outside a family, its own `jti`
    /// (which the tokens minted from it take as their `fam`).
    pub fn family(&self) -> Option<&str> {
        self.fam.as_deref().or(self.jti.as_deref())
    }

    /// When the token's family ends: its `fam_exp`, or for a token minted outside a family,
    /// its own `exp`. No token of the family expires later (minting clamps to it).
    pub fn family_end(&self) -> OffsetDateTime {
        self.fam_exp.map_or(self.exp, |end| end.max(self.exp))
    }
}

impl<'de> Deserialize<'de> for Claims {
    /// Reads claims with the same strict rules as verification (required `sub`, `exp`, `type`;
    /// RFC 3339 times with uppercase `T`/`Z`; no duplicate keys).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        RawClaims::deserialize(deserializer)?
            .into_claims()
            .map_err(|e| {
                de::Error::custom(match e {
                    ClaimsError::Malformed => "malformed claims",
                    ClaimsError::Missing(_) => "a required claim is missing",
                    ClaimsError::Time(_) => "a time claim is not RFC 3339 with uppercase T and Z",
                })
            })
    }
}

impl AsRef<Claims> for Claims {
    fn as_ref(&self) -> &Claims {
        self
    }
}

impl fmt::Debug for Claims {
    // Claims are not secret, but subjects are personal data: keep them out of casual logs too.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claims")
            .field("type", &self.kind)
            .field("exp", &self.exp)
            .finish_non_exhaustive()
    }
}

/// Why a payload's claims are unacceptable (before any time or audience rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClaimsError {
    /// Not a JSON object, invalid JSON, a duplicate key, or a registered claim of the wrong type.
    Malformed,
    /// A required registered claim is absent.
    Missing(&'static str),
    /// A time claim is not an RFC 3339 string with uppercase `T` and `Z`.
    Time(&'static str),
}

/// Parses the registered claims of `payload`, rejecting duplicate keys at any depth.
pub(crate) fn parse(payload: &str) -> Result<Claims, ClaimsError> {
    let mut de = serde_json::Deserializer::from_str(payload);
    let raw = RawClaims::deserialize(&mut de).map_err(|_| ClaimsError::Malformed)?;
    de.end().map_err(|_| ClaimsError::Malformed)?;
    raw.into_claims()
}

/// Checks a sealed value's payload `{"exp": …, "iat": …, "v": …}`: exactly these keys, once
/// each (at every depth), with valid times. Returns its expiry and where the value's JSON lies
/// in it, to read with [`sealed_value`].
pub(crate) fn parse_sealed(payload: &str) -> Result<(OffsetDateTime, Range<usize>), ClaimsError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw<'a> {
        #[serde(borrow)]
        exp: Cow<'a, str>,
        #[serde(borrow)]
        iat: Cow<'a, str>,
        #[serde(borrow)]
        v: &'a RawValue,
    }
    // Derived structs reject duplicate fields, but only at the top level: check nesting too.
    let mut de = serde_json::Deserializer::from_str(payload);
    Strict { footer: false }
        .deserialize(&mut de)
        .map_err(|_| ClaimsError::Malformed)?;
    let raw: Raw<'_> = serde_json::from_str(payload).map_err(|_| ClaimsError::Malformed)?;
    parse_time(&raw.iat, "iat")?;
    let expires = parse_time(&raw.exp, "exp")?;
    // A borrowed raw value is a part of the payload: where it starts is its offset in it.
    let value = raw.v.get();
    let start = (value.as_ptr() as usize).wrapping_sub(payload.as_ptr() as usize);
    let span = start..start.wrapping_add(value.len());
    match payload.get(span.clone()) {
        Some(found) if found.as_ptr() == value.as_ptr() => Ok((expires, span)),
        _ => Err(ClaimsError::Malformed),
    }
}

/// A sealed value's JSON (its part of a payload that passed [`parse_sealed`]), read into `T`:
/// a read of the jar parses the value alone, not the payload around it.
pub(crate) fn sealed_value<T: DeserializeOwned>(value: &str) -> Result<T, ClaimsError> {
    serde_json::from_str::<T>(value).map_err(|_| ClaimsError::Malformed)
}

/// Formats a time as RFC 3339 in UTC with whole seconds, as PASETO implementations expect.
pub(crate) fn format_time(t: OffsetDateTime) -> String {
    ClaimTime::new(t)
        .map(|t| t.as_str().to_owned())
        .unwrap_or_default()
}

fn parse_time(value: &str, name: &'static str) -> Result<OffsetDateTime, ClaimsError> {
    timestamp::parse_utc(value).ok_or(ClaimsError::Time(name))
}

#[derive(Default)]
struct RawClaims<'a> {
    sub: Option<Cow<'a, str>>,
    exp: Option<Cow<'a, str>>,
    iat: Option<Cow<'a, str>>,
    nbf: Option<Cow<'a, str>>,
    jti: Option<Cow<'a, str>>,
    iss: Option<Cow<'a, str>>,
    aud: Option<Vec<String>>,
    kind: Option<Cow<'a, str>>,
    csrf: Option<Cow<'a, str>>,
    fresh: Option<Cow<'a, str>>,
    fam: Option<Cow<'a, str>>,
    fam_exp: Option<Cow<'a, str>>,
}

impl RawClaims<'_> {
    fn into_claims(self) -> Result<Claims, ClaimsError> {
        let exp = self.exp.ok_or(ClaimsError::Missing("exp"))?;
        Ok(Claims {
            sub: self.sub.ok_or(ClaimsError::Missing("sub"))?.into_owned(),
            exp: parse_time(&exp, "exp")?,
            iat: self.iat.map(|t| parse_time(&t, "iat")).transpose()?,
            nbf: self.nbf.map(|t| parse_time(&t, "nbf")).transpose()?,
            jti: self.jti.map(Cow::into_owned),
            iss: self.iss.map(Cow::into_owned),
            aud: self.aud.unwrap_or_default(),
            kind: self.kind.ok_or(ClaimsError::Missing("type"))?.into_owned(),
            csrf: self.csrf.map(Cow::into_owned),
            fresh: self.fresh.map(|t| parse_time(&t, "fresh")).transpose()?,
            fam: self.fam.map(Cow::into_owned),
            fam_exp: self
                .fam_exp
                .map(|t| parse_time(&t, "fam_exp"))
                .transpose()?,
        })
    }
}

impl<'de> Deserialize<'de> for RawClaims<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RawClaimsVisitor)
    }
}

struct RawClaimsVisitor;

impl<'de> Visitor<'de> for RawClaimsVisitor {
    type Value = RawClaims<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut raw = RawClaims::default();
        // Registered claims are their own record of having been seen; other keys are kept here.
        let mut other_keys = KeySet::default();
        let duplicate = || de::Error::custom("duplicate key");
        while let Some(BorrowedStr(key)) = map.next_key::<BorrowedStr<'de>>()? {
            let slot = match key.as_ref() {
                "sub" => Some(&mut raw.sub),
                "exp" => Some(&mut raw.exp),
                "iat" => Some(&mut raw.iat),
                "nbf" => Some(&mut raw.nbf),
                "jti" => Some(&mut raw.jti),
                "iss" => Some(&mut raw.iss),
                "type" => Some(&mut raw.kind),
                "csrf" => Some(&mut raw.csrf),
                "fresh" => Some(&mut raw.fresh),
                "fam" => Some(&mut raw.fam),
                "fam_exp" => Some(&mut raw.fam_exp),
                _ => None,
            };
            if let Some(slot) = slot {
                if slot.is_some() {
                    return Err(duplicate());
                }
                *slot = Some(map.next_value::<BorrowedStr<'de>>()?.0);
            } else if key == "aud" {
                if raw.aud.is_some() {
                    return Err(duplicate());
                }
                raw.aud = Some(map.next_value::<Audience>()?.0);
            } else {
                map.next_value_seed(Strict { footer: false })?;
                other_keys.insert(key).map_err(de::Error::custom)?;
            }
        }
        Ok(raw)
    }
}

/// The claims of a verified `payload` other than the [`REGISTERED_CLAIMS`], which are skipped
/// without being read into values: what a renewed token carries over.
pub(crate) fn unregistered(
    payload: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, ClaimsError> {
    struct Unregistered;
    impl<'de> Visitor<'de> for Unregistered {
        type Value = serde_json::Map<String, serde_json::Value>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object of claims")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut extra = serde_json::Map::new();
            while let Some(BorrowedStr(name)) = map.next_key::<BorrowedStr<'de>>()? {
                if REGISTERED_CLAIMS.contains(&name.as_ref()) {
                    map.next_value::<de::IgnoredAny>()?;
                } else {
                    extra.insert(name.into_owned(), map.next_value()?);
                }
            }
            Ok(extra)
        }
    }
    let mut de = serde_json::Deserializer::from_str(payload);
    let extra = de
        .deserialize_map(Unregistered)
        .map_err(|_| ClaimsError::Malformed)?;
    de.end().map_err(|_| ClaimsError::Malformed)?;
    Ok(extra)
}

/// A string borrowed from the payload when it has no escapes (serde's own `Cow` always copies).
struct BorrowedStr<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for BorrowedStr<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BorrowedStrVisitor;
        impl<'de> Visitor<'de> for BorrowedStrVisitor {
            type Value = BorrowedStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<BorrowedStr<'de>, E> {
                Ok(BorrowedStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<BorrowedStr<'de>, E> {
                Ok(BorrowedStr(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(BorrowedStrVisitor)
    }
}

/// The keys of one JSON object, to reject duplicates (which serde_json would silently accept).
#[derive(Default)]
struct KeySet<'a>(Vec<Cow<'a, str>>);

impl<'a> KeySet<'a> {
    fn insert(&mut self, key: Cow<'a, str>) -> Result<(), &'static str> {
        if self.0.contains(&key) {
            return Err("duplicate key");
        }
        self.0.push(key);
        Ok(())
    }
}

/// `aud` as one string or an array of strings.
struct Audience(Vec<String>);

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AudienceVisitor;
        impl<'de> Visitor<'de> for AudienceVisitor {
            type Value = Audience;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Audience, E> {
                Ok(Audience(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Audience, A::Error> {
                let mut all = Vec::new();
                while let Some(a) = seq.next_element::<String>()? {
                    all.push(a);
                }
                Ok(Audience(all))
            }
        }
        deserializer.deserialize_any(AudienceVisitor)
    }
}

/// Skips any JSON value, failing on duplicate keys in nested objects (and, in footers, on
/// strings that are PASERK key material).
#[derive(Clone, Copy)]
pub(crate) struct Strict {
    footer: bool,
}

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        if self.footer && is_key_material(v) {
            return Err(E::custom("key material in footer"));
        }
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys = KeySet::default();
        while let Some(BorrowedStr(key)) = map.next_key::<BorrowedStr<'de>>()? {
            map.next_value_seed(self)?;
            keys.insert(key).map_err(de::Error::custom)?;
        }
        Ok(())
    }
}

/// Reads an untrusted footer in one pass: it must be one JSON object without duplicate keys at
/// any depth, holding no PASERK key material anywhere; returns its `kid`, if it is a string.
pub(crate) fn footer_kid(json: &[u8]) -> Result<Option<Cow<'_, str>>, ()> {
    struct FooterVisitor;
    impl<'de> Visitor<'de> for FooterVisitor {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut keys = KeySet::default();
            let mut kid = None;
            while let Some(BorrowedStr(key)) = map.next_key::<BorrowedStr<'de>>()? {
                if key == "kid" {
                    let BorrowedStr(value) = map.next_value::<BorrowedStr<'de>>()?;
                    if is_key_material(&value) {
                        return Err(de::Error::custom("key material in footer"));
                    }
                    kid = Some(value);
                } else {
                    map.next_value_seed(Strict { footer: true })?;
                }
                keys.insert(key).map_err(de::Error::custom)?;
            }
            Ok(kid)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(json);
    let kid = de.deserialize_map(FooterVisitor).map_err(|_| ())?;
    de.end().map_err(|_| ())?;
    Ok(kid)
}

/// Whether `s` is a PASERK that carries a key (as opposed to a key id): never in a footer.
fn is_key_material(s: &str) -> bool {
    let mut parts = s.splitn(3, '.');
    let (Some(version), Some(kind)) = (parts.next(), parts.next()) else {
        return false;
    };
    let versioned =
        version.len() == 2 && version.starts_with('k') && version.as_bytes()[1].is_ascii_digit();
    versioned
        && matches!(
            kind,
            "local"
                | "secret"
                | "public"
                | "seal"
                | "local-wrap"
                | "secret-wrap"
                | "local-pw"
                | "secret-pw"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str =
        r#"{"sub":"alice","exp":"2030-01-01T00:00:00Z","type":"access","x":{"y":1}}"#;

    #[test]
    fn parses_registered_claims() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.sub, "alice");
        assert_eq!(c.kind, "access");
        assert!(c.aud.is_empty());
    }

    /// What a renewed token carries over: every claim but the registered ones, values as
    /// they were (nested, escaped, any type), the same as reading the whole payload and
    /// dropping those.
    #[test]
    fn unregistered_claims_are_the_payload_without_the_registered_ones() {
        for payload in [
            GOOD,
            r#"{"sub":"a","exp":"2030-01-01T00:00:00Z","type":"access","roles":["admin","ops"],"org":{"id":7,"name":"A \"quoted\" \u00e9 name"},"n":-1.5,"csrf":"x","ok":true,"none":null,"fam":"f","aud":["b"],"iss":"i"}"#,
            r#"{"sub":"a","exp":"2030-01-01T00:00:00Z","type":"access"}"#,
        ] {
            let mut expected: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(payload).unwrap();
            expected.retain(|name, _| !REGISTERED_CLAIMS.contains(&name.as_str()));
            assert_eq!(unregistered(payload).unwrap(), expected, "{payload}");
        }
        assert_eq!(unregistered("[1]"), Err(ClaimsError::Malformed));
        assert_eq!(unregistered("{} x"), Err(ClaimsError::Malformed));
    }

    #[test]
    fn rejects_duplicates_at_any_depth() {
        let top = r#"{"sub":"a","sub":"b","exp":"2030-01-01T00:00:00Z","type":"access"}"#;
        assert_eq!(parse(top), Err(ClaimsError::Malformed));
        let unknown = r#"{"sub":"a","x":1,"x":2,"exp":"2030-01-01T00:00:00Z","type":"access"}"#;
        assert_eq!(parse(unknown), Err(ClaimsError::Malformed));
        let aud =
            r#"{"sub":"a","aud":"x","aud":["y"],"exp":"2030-01-01T00:00:00Z","type":"access"}"#;
        assert_eq!(parse(aud), Err(ClaimsError::Malformed));
        let last = r#"{"sub":"a","exp":"2030-01-01T00:00:00Z","type":"access","exp":"2031-01-01T00:00:00Z"}"#;
        assert_eq!(parse(last), Err(ClaimsError::Malformed));
        let nested =
            r#"{"sub":"a","x":{"y":1,"y":2},"exp":"2030-01-01T00:00:00Z","type":"access"}"#;
        assert_eq!(parse(nested), Err(ClaimsError::Malformed));
        // An escaped spelling of the same key is the same key.
        let escaped = r#"{"sub":"a","s\u0075b":"b","exp":"2030-01-01T00:00:00Z","type":"access"}"#;
        assert_eq!(parse(escaped), Err(ClaimsError::Malformed));
    }

    #[test]
    fn rejects_non_objects_and_wrong_types() {
        for payload in ["[]", "\"x\"", "1", "null", "{", r#"{"sub":1}"#, ""] {
            assert_eq!(parse(payload), Err(ClaimsError::Malformed), "{payload}");
        }
        assert_eq!(parse(&format!("{GOOD}x")), Err(ClaimsError::Malformed));
    }

    #[test]
    fn requires_exp_sub_and_type_with_strict_times() {
        assert_eq!(
            parse(r#"{"sub":"a","type":"access"}"#),
            Err(ClaimsError::Missing("exp"))
        );
        assert_eq!(
            parse(r#"{"exp":"2030-01-01T00:00:00Z","type":"access"}"#),
            Err(ClaimsError::Missing("sub"))
        );
        assert_eq!(
            parse(r#"{"sub":"a","exp":"2030-01-01T00:00:00Z"}"#),
            Err(ClaimsError::Missing("type"))
        );
        assert_eq!(
            parse(r#"{"sub":"a","exp":"2030-01-01t00:00:00Z","type":"access"}"#),
            Err(ClaimsError::Time("exp"))
        );
        assert_eq!(
            parse(r#"{"sub":"a","exp":"2030-01-01T00:00:00z","type":"access"}"#),
            Err(ClaimsError::Time("exp"))
        );
        assert_eq!(
            parse(r#"{"sub":"a","exp":1893456000,"type":"access"}"#),
            Err(ClaimsError::Malformed)
        );
        for separator in [" ", "X", "_"] {
            let odd =
                format!(r#"{{"sub":"a","exp":"2030-01-01{separator}00:00:00Z","type":"access"}}"#);
            assert_eq!(parse(&odd), Err(ClaimsError::Time("exp")), "{separator:?}");
        }
        let offset = r#"{"sub":"a","exp":"2030-01-01T02:00:00+02:00","type":"access"}"#;
        assert_eq!(parse(offset).unwrap().exp, parse(GOOD).unwrap().exp);
        assert_eq!(parse(offset).unwrap().exp.offset(), time::UtcOffset::UTC);
    }

    #[test]
    fn audience_is_a_string_or_an_array() {
        let one = r#"{"sub":"a","aud":"x","exp":"2030-01-01T00:00:00Z","type":"t"}"#;
        assert_eq!(parse(one).unwrap().aud, ["x"]);
        let many = r#"{"sub":"a","aud":["x","y"],"exp":"2030-01-01T00:00:00Z","type":"t"}"#;
        assert_eq!(parse(many).unwrap().aud, ["x", "y"]);
        let bad = r#"{"sub":"a","aud":5,"exp":"2030-01-01T00:00:00Z","type":"t"}"#;
        assert_eq!(parse(bad), Err(ClaimsError::Malformed));
    }

    #[test]
    fn footers_are_strict_objects_without_key_material() {
        assert_eq!(
            footer_kid(br#"{"kid":"k4.lid.x"}"#).unwrap().as_deref(),
            Some("k4.lid.x")
        );
        assert_eq!(footer_kid(br#"{"other":[1,{"a":2}]}"#).unwrap(), None);
        assert!(footer_kid(br#"{"kid":"a","kid":"b"}"#).is_err());
        assert!(footer_kid(br#"{"x":{"a":1,"a":2}}"#).is_err());
        assert!(footer_kid(b"arbitrary text").is_err());
        assert!(footer_kid(b"[1]").is_err());
        assert!(footer_kid(br#"{"kid":5}"#).is_err());
        for material in [
            "k4.local.AAAA",
            "k4.secret.AAAA",
            "k3.public.AAAA",
            "k4.local-wrap.pie.x",
        ] {
            let nested = format!(r#"{{"kid":"k4.lid.x","wpk":["{material}"]}}"#);
            assert!(footer_kid(nested.as_bytes()).is_err(), "{material}");
            let as_kid = format!(r#"{{"kid":"{material}"}}"#);
            assert!(footer_kid(as_kid.as_bytes()).is_err(), "{material}");
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(2000), "]".repeat(2000));
        assert!(footer_kid(deep.as_bytes()).is_err());
    }
}
