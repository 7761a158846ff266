//! A subject's list of logins as the store keeps it: the value of its `ses:` entry.

use std::net::IpAddr;

use ct_codecs::{Base64UrlSafeNoPadding, Decoder, Encoder};

/// The longest user agent kept, in bytes: enough to tell browsers and devices apart.
const MAX_USER_AGENT: usize = 256;

/// The longest label kept, in bytes.
const MAX_LABEL: usize = 64;

/// One login of a subject: a token family, when it started, was last refreshed, and ends (unix
/// seconds), and the device it was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoginRecord {
    pub family: String,
    pub started: i64,
    pub last_used: i64,
    pub ends: i64,
    pub device: Device,
}

/// What a login records of the device it was made from: what the user sees in a list of
/// sessions to recognise each one. Never a token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Device {
    /// The `User-Agent` header, cut to [`MAX_USER_AGENT`] bytes.
    pub user_agent: Option<String>,
    /// The client's address (`revocation.keep_ip`).
    pub ip: Option<IpAddr>,
    /// The application's name for the session, cut to [`MAX_LABEL`] bytes.
    pub label: Option<String>,
}

impl Device {
    /// A device record, with `user_agent` and `label` cut to their bounds.
    pub(crate) fn new(user_agent: Option<&str>, ip: Option<IpAddr>, label: Option<&str>) -> Self {
        let kept = |value: Option<&str>, max| {
            value
                .map(|v| truncate(v.trim(), max))
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        Device {
            user_agent: kept(user_agent, MAX_USER_AGENT),
            ip,
            label: kept(label, MAX_LABEL),
        }
    }
}

/// `value` cut to at most `max` bytes, at a character boundary.
fn truncate(value: &str, max: usize) -> &str {
    if value.len() <= max {
        return value;
    }
    let mut end = max;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// A `ses:` entry's value: `s`, then a space and `family,started,last_used,ends` per login,
/// followed by `,user_agent,ip,label` (text in unpadded base64url, empty when absent).
/// Anything unreadable reads as no logins (the next write replaces it).
pub(super) fn parse(value: Option<&str>) -> Vec<LoginRecord> {
    let Some(rest) = value.and_then(|v| v.strip_prefix('s')) else {
        return Vec::new();
    };
    rest.split(' ')
        .filter(|e| !e.is_empty())
        .map(parse_login)
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default()
}

fn parse_login(entry: &str) -> Option<LoginRecord> {
    let mut parts = entry.split(',');
    let mut login = LoginRecord {
        family: parts.next().filter(|f| !f.is_empty())?.to_owned(),
        started: parts.next()?.parse().ok()?,
        last_used: parts.next()?.parse().ok()?,
        ends: parts.next()?.parse().ok()?,
        device: Device::default(),
    };
    if let Some(user_agent) = parts.next() {
        login.device = Device {
            user_agent: text(user_agent)?,
            ip: match parts.next()? {
                "" => None,
                ip => Some(ip.parse().ok()?),
            },
            label: text(parts.next()?)?,
        };
    }
    parts.next().is_none().then_some(login)
}

/// Decodes an optional text field: `Some(None)` when empty, `None` when unreadable.
fn text(field: &str) -> Option<Option<String>> {
    if field.is_empty() {
        return Some(None);
    }
    let bytes = Base64UrlSafeNoPadding::decode_to_vec(field, None).ok()?;
    String::from_utf8(bytes).ok().map(Some)
}

pub(super) fn encode(logins: &[LoginRecord]) -> String {
    let text = |value: &Option<String>| {
        let value = value.as_deref().unwrap_or_default();
        Base64UrlSafeNoPadding::encode_to_string(value).unwrap_or_default()
    };
    let mut value = String::from("s");
    for l in logins {
        let ip = l.device.ip.map(|ip| ip.to_string()).unwrap_or_default();
        value.push_str(&format!(
            " {},{},{},{},{},{},{}",
            l.family,
            l.started,
            l.last_used,
            l.ends,
            text(&l.device.user_agent),
            ip,
            text(&l.device.label),
        ));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_lists_round_trip_and_garbage_reads_as_empty() {
        let logins = vec![
            LoginRecord {
                family: "a-B_1".into(),
                started: 1,
                last_used: 2,
                ends: 3,
                device: Device::new(Some("Mozilla/5.0 (X11; Linux), like Gecko"), None, None),
            },
            LoginRecord {
                family: "c".into(),
                started: 4,
                last_used: 5,
                ends: 6,
                device: Device::new(None, "2001:db8::1".parse().ok(), Some("work laptop")),
            },
        ];
        assert_eq!(parse(Some(&encode(&logins))), logins);
        assert_eq!(parse(Some("s")), vec![]);
        let without_device = parse(Some("s a,1,2,3"));
        assert_eq!(without_device[0].device, Device::default());
        for bad in [
            "",
            "x a,1,2,3",
            "s a,1,2",
            "s a,1,2,3,,",
            "s a,1,2,3,,,,",
            "s a,1,2,3,!,,",
            "s a,1,2,3,,nope,",
            "s ,1,2,3",
            "s a,x,2,3",
        ] {
            assert_eq!(parse(Some(bad)), vec![], "{bad:?}");
        }
    }

    #[test]
    fn device_fields_are_cut_at_character_boundaries() {
        let long = "é".repeat(200);
        let device = Device::new(Some(&long), None, Some(&long));
        let agent = device.user_agent.unwrap();
        assert!(agent.len() <= MAX_USER_AGENT && agent.len() >= MAX_USER_AGENT - 1);
        assert!(device.label.unwrap().len() <= MAX_LABEL);
        assert_eq!(Device::new(Some("  "), None, Some("")), Device::default());
    }
}
