//! Web origins, as `allowed_origins` lists them and `Origin` headers send them.

use rocket::http::uri::Authority;

/// A web origin (RFC 6454): scheme, host and port, with the host in lowercase and the port
/// always explicit, so that equal origins compare equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WebOrigin {
    https: bool,
    host: String,
    port: u16,
}

impl WebOrigin {
    pub(crate) fn new(https: bool, host: &str, port: Option<u16>) -> Self {
        WebOrigin {
            https,
            host: host.to_ascii_lowercase(),
            port: port.unwrap_or(if https { 443 } else { 80 }),
        }
    }

    /// Parses a serialised origin, `scheme://host[:port]` with scheme `http` or `https` and
    /// nothing after: an `Origin` header or an `allowed_origins` entry.
    pub(crate) fn parse(origin: &str) -> Option<Self> {
        let (scheme, authority) = origin.split_once("://")?;
        Self::from_parts(scheme, authority)
    }

    /// The origin of an absolute URL, such as a `Referer`.
    pub(crate) fn of_url(url: &str) -> Option<Self> {
        let (scheme, rest) = url.split_once("://")?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        Self::from_parts(scheme, &rest[..end])
    }

    fn from_parts(scheme: &str, authority: &str) -> Option<Self> {
        let https = if scheme.eq_ignore_ascii_case("https") {
            true
        } else if scheme.eq_ignore_ascii_case("http") {
            false
        } else {
            return None;
        };
        // An origin has no user name, and `parse` takes only what a URL authority may hold.
        let authority = Authority::parse(authority).ok()?;
        if authority.user_info().is_some() || authority.host().is_empty() {
            return None;
        }
        Some(Self::new(https, authority.host(), authority.port()))
    }
}
