//! Which address a request comes from: the connection's peer, or what a trusted proxy says.

use std::net::IpAddr;

use rocket::request::Request;

/// The proxies whose `X-Forwarded-For` is believed: `paseto.trusted_proxies`, as addresses and
/// CIDR ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Reads `entries`, each an address (`10.0.0.1`, `::1`) or a range (`10.0.0.0/8`,
    /// `fd00::/8`); `Err` holds the position of the first that is neither.
    pub(crate) fn parse(entries: &[String]) -> Result<Self, usize> {
        let range = |entry: &String| {
            let (address, bits) = entry.split_once('/').unwrap_or((entry, ""));
            let address: IpAddr = address.trim().parse().ok()?;
            let most = if address.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                "" => most,
                bits => bits.trim().parse::<u8>().ok().filter(|b| *b <= most)?,
            };
            Some((address.to_canonical(), bits))
        };
        let ranges = entries.iter().map(range).enumerate();
        ranges
            .map(|(i, range)| range.ok_or(i))
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    fn contains(&self, address: IpAddr) -> bool {
        self.0
            .iter()
            .any(|(range, bits)| prefix(*range, *bits) == prefix(address, *bits))
    }
}

/// The address `request` comes from, for counting: the connection's peer (never Rocket's
/// `client_ip()`, which believes `X-Real-IP` from anyone). When the peer is a trusted proxy,
/// the rightmost address of `X-Forwarded-For` that is not a trusted proxy itself: the one the
/// last trusted proxy saw connecting. Addresses further left were written by the client and
/// prove nothing; an entry that is not an address ends the walk at the hop before it. `None`
/// when the connection has no IP address (a Unix socket, a local test client).
pub(crate) fn client_address(request: &Request<'_>, proxies: &TrustedProxies) -> Option<IpAddr> {
    let mut address = request.remote()?.ip().to_canonical();
    if !proxies.contains(address) {
        return Some(address);
    }
    let hops: Vec<&str> = request
        .headers()
        .get("X-Forwarded-For")
        .flat_map(|value| value.split(','))
        .collect();
    for hop in hops.into_iter().rev() {
        let Ok(hop) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        address = hop.to_canonical();
        if !proxies.contains(address) {
            break;
        }
    }
    Some(address)
}

/// The first `bits` bits of `address`, as a number; addresses of different families differ.
pub(crate) fn prefix(address: IpAddr, bits: u8) -> (bool, u128) {
    let (v6, value, width) = match address {
        IpAddr::V4(v4) => (false, u128::from(u32::from(v4)), 32),
        IpAddr::V6(v6) => (true, u128::from(v6), 128),
    };
    let bits = u32::from(bits).min(width);
    let kept = value.checked_shr(width - bits).unwrap_or(0);
    (v6, kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(entries: &[&str]) -> TrustedProxies {
        let entries: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
        TrustedProxies::parse(&entries).unwrap()
    }

    #[test]
    fn ranges_match_by_prefix() {
        let trusted = proxies(&["10.0.0.0/8", "192.168.1.7", "fd00::/8"]);
        assert!(trusted.contains("10.200.3.4".parse().unwrap()));
        assert!(trusted.contains("192.168.1.7".parse().unwrap()));
        assert!(!trusted.contains("192.168.1.8".parse().unwrap()));
        assert!(trusted.contains("fd12::1".parse().unwrap()));
        assert!(!trusted.contains("fe80::1".parse().unwrap()));
        assert!(!trusted.contains("::ffff:11.0.0.1".parse::<IpAddr>().unwrap().to_canonical()));
        assert!(proxies(&["0.0.0.0/0"]).contains("8.8.8.8".parse().unwrap()));
        assert!(!proxies(&["0.0.0.0/0"]).contains("::1".parse().unwrap()));
    }

    #[test]
    fn bad_entries_are_named_by_position() {
        let read = |e: &[&str]| {
            TrustedProxies::parse(&e.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(read(&["10.0.0.1", "10.0.0.0/33"]), Err(1));
        assert_eq!(read(&["proxy.internal"]), Err(0));
        assert_eq!(read(&["::1/129"]), Err(0));
        assert!(read(&["::1/128", " 10.0.0.0/8"]).is_ok());
    }
}
