//! The RFC 3339 times of claims. Parsing has a fast path for the form every PASETO library
//! writes (`YYYY-MM-DDTHH:MM:SSZ`, whole seconds, UTC) and `time`'s full parser for the rest;
//! minting writes that form ([`ClaimTime`]) on the stack.
//!
//! The fast path answers only when the fixed form is complete and every field is in range;
//! anything else (fractions, offsets, leap seconds, odd lengths) goes to the full parser, so the
//! two always agree (see the tests).

use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, Time, UtcOffset};

/// A time as a claim carries it: `YYYY-MM-DDTHH:MM:SSZ`, in UTC, to the second (any fraction
/// is dropped). Written without `time`'s general formatter or an allocation, since every token
/// minted carries three or more.
#[derive(Clone, Copy)]
pub(crate) struct ClaimTime([u8; 20]);

impl ClaimTime {
    /// `t` in the claim form; `None` for a year outside 0 to 9999, which RFC 3339 cannot write.
    pub(crate) fn new(t: OffsetDateTime) -> Option<Self> {
        let t = t.checked_to_offset(UtcOffset::UTC)?;
        let year = u16::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
        let mut out = *b"0000-00-00T00:00:00Z";
        let mut put = |at: usize, width: usize, mut n: u16| {
            for slot in out[at..at + width].iter_mut().rev() {
                *slot = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, u8::from(t.month()).into());
        put(8, 2, t.day().into());
        put(11, 2, t.hour().into());
        put(14, 2, t.minute().into());
        put(17, 2, t.second().into());
        Some(ClaimTime(out))
    }

    pub(crate) fn as_str(&self) -> &str {
        // Digits and the form's ASCII separators only.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl serde::Serialize for ClaimTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The time `value` names, in UTC, or `None` if it is not RFC 3339 with uppercase `T` and `Z`.
pub(super) fn parse_utc(value: &str) -> Option<OffsetDateTime> {
    // The usual form, whose uppercase `T` and `Z` are part of the pattern.
    if let Some(t) = parse_fixed_utc(value.as_bytes()) {
        return Some(t);
    }
    // RFC 3339 allows lowercase `t` and `z`, and `time` accepts any date-time separator; the
    // PASETO spec wants uppercase `T` and `Z`.
    if value.as_bytes().get(10) != Some(&b'T') || value.bytes().any(|b| b == b't' || b == b'z') {
        return None;
    }
    // Normalised to UTC, so callers' own arithmetic never meets a time whose UTC form is out of
    // range (e.g. `9999-12-31T23:59:59-23:59`).
    OffsetDateTime::parse(value, &Rfc3339)
        .ok()
        .and_then(|t| t.checked_to_offset(UtcOffset::UTC))
}

/// `YYYY-MM-DDTHH:MM:SSZ` exactly, with every field in range.
fn parse_fixed_utc(v: &[u8]) -> Option<OffsetDateTime> {
    let &[
        y0,
        y1,
        y2,
        y3,
        b'-',
        m0,
        m1,
        b'-',
        d0,
        d1,
        b'T',
        h0,
        h1,
        b':',
        i0,
        i1,
        b':',
        s0,
        s1,
        b'Z',
    ] = v
    else {
        return None;
    };
    let digits = |ds: &[u8]| {
        ds.iter().try_fold(0u16, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u16::from(d - b'0'))
        })
    };
    let year = i32::from(digits(&[y0, y1, y2, y3])?);
    let month = Month::try_from(u8::try_from(digits(&[m0, m1])?).ok()?).ok()?;
    let day = u8::try_from(digits(&[d0, d1])?).ok()?;
    let [hour, minute, second] =
        [[h0, h1], [i0, i1], [s0, s1]].map(|pair| digits(&pair).and_then(|n| u8::try_from(n).ok()));
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms(hour?, minute?, second?).ok()?;
    Some(date.with_time(time).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn full(value: &str) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(value, &Rfc3339)
            .ok()
            .and_then(|t| t.checked_to_offset(UtcOffset::UTC))
    }

    proptest! {
        /// Wherever the fast path answers, the full parser gives the same instant.
        #[test]
        fn the_fixed_form_agrees_with_the_full_parser(
            value in "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z",
        ) {
            prop_assert_eq!(parse_fixed_utc(value.as_bytes()), full(&value));
        }

        #[test]
        fn near_misses_agree_too(
            value in "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,3})?([Zz]|[+-][0-9]{2}:[0-9]{2})",
        ) {
            let strict = value.as_bytes()[10] == b'T' && !value.contains(['t', 'z']);
            prop_assert_eq!(parse_utc(&value), full(&value).filter(|_| strict));
        }
    }

    proptest! {
        /// The claim form is what `time`'s RFC 3339 formatter writes for the same instant in
        /// UTC, and parses back to it.
        #[test]
        fn claim_times_are_rfc_3339(
            seconds in -62_167_219_200i64..253_402_300_800,
            nanos in 0u32..1_000_000_000,
            offset in -86_399i32..86_400,
        ) {
            let instant = OffsetDateTime::from_unix_timestamp(seconds).unwrap()
                .replace_nanosecond(nanos).unwrap();
            let shown = instant.to_offset(UtcOffset::from_whole_seconds(offset).unwrap());
            let whole = instant.replace_nanosecond(0).unwrap();
            let expected = whole.format(&Rfc3339).unwrap();
            let claim = ClaimTime::new(shown).unwrap();
            prop_assert_eq!(claim.as_str(), expected.as_str());
            prop_assert_eq!(parse_utc(claim.as_str()), Some(whole));
        }
    }

    #[test]
    fn claim_times_refuse_years_rfc_3339_cannot_write() {
        let before = OffsetDateTime::from_unix_timestamp(-62_167_219_201).unwrap();
        assert_eq!(ClaimTime::new(before).map(|t| t.as_str().to_owned()), None);
        let edge = OffsetDateTime::from_unix_timestamp(253_402_300_799).unwrap();
        assert_eq!(
            ClaimTime::new(edge).unwrap().as_str(),
            "9999-12-31T23:59:59Z"
        );
    }

    #[test]
    fn edges() {
        for value in [
            "2024-02-29T23:59:59Z",
            "2023-02-29T00:00:00Z",
            "2016-12-31T23:59:60Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2026-13-01T00:00:00Z",
            "2026-00-10T00:00:00Z",
            "2026-01-00T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:60:00Z",
        ] {
            assert_eq!(parse_utc(value), full(value), "{value}");
        }
        assert_eq!(parse_utc("2026-01-01t00:00:00Z"), None);
        assert_eq!(parse_utc("2026-01-01T00:00:00z"), None);
    }
}
