//! Which client a request came from, as throttling counts it.
//!
//! Counting per exact address is right for IPv4, where one address is one host (or one NAT),
//! and wrong for IPv6, where every host is handed at least a /64 and can pick any of its 2^64
//! addresses for each request. So an IPv6 client is counted by its /64 network, and an IPv4
//! address carried in IPv6 (`::ffff:a.b.c.d`, as a dual-stack listener reports IPv4 peers) by
//! the IPv4 address itself.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// A client as one throttling bucket: an IPv4 address or an IPv6 /64 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientAddress {
    /// One IPv4 address.
    V4(std::net::Ipv4Addr),
    /// An IPv6 /64 network (the host bits are zero).
    V6Network(Ipv6Addr),
}

impl ClientAddress {
    /// The bucket `ip` falls into.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4),
                None => {
                    let [a, b, c, d, ..] = v6.segments();
                    Self::V6Network(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
                }
            },
        }
    }
}

/// The reverse proxies whose `X-Forwarded-For` is believed: addresses and CIDR networks.
///
/// Behind a proxy every request comes from the proxy's address, so per-client limits would
/// count all clients as one. When the peer is a trusted proxy, the client is the right-most
/// address in `X-Forwarded-For` that is not itself a trusted proxy (each proxy appends the
/// address it received the request from; anything left of the first untrusted hop could have
/// been written by the client). A peer that is not trusted is the client, whatever it sends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<(IpAddr, u8)>,
}

impl TrustedProxies {
    /// Parses `10.0.0.0/8, 192.0.2.1, fd00::/8`; the error is the first entry that is not an
    /// address or a network.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut networks = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (address, bits) = match entry.split_once('/') {
                Some((address, bits)) => (address, Some(bits)),
                None => (entry, None),
            };
            let address: IpAddr = address.parse().map_err(|_| entry.to_owned())?;
            let longest = if address.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                None => longest,
                Some(bits) => bits
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= longest)
                    .ok_or_else(|| entry.to_owned())?,
            };
            networks.push((address, bits));
        }
        Ok(Self { networks })
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.networks
            .iter()
            .any(|(network, bits)| in_network(ip, canonical(*network), *bits))
    }

    /// The client a request from `peer`, carrying `forwarded_for` (the `X-Forwarded-For`
    /// values in order), came from.
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let hops = forwarded_for.iter().flat_map(|value| value.split(',')).map(str::trim);
        let mut client = peer;
        for hop in hops.collect::<Vec<_>>().into_iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                // Unreadable: nothing left of it can be trusted either.
                return client;
            };
            client = ip;
            if !self.contains(ip) {
                return ip;
            }
        }
        client
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn in_network(ip: IpAddr, network: IpAddr, bits: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(network)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(network)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}

/// `192.0.2.7`, or `2001:db8:1:2::/64`: stable text for a rate-limit key.
impl fmt::Display for ClientAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::V4(v4) => write!(f, "{v4}"),
            Self::V6Network(network) => write!(f, "{network}/64"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(text: &str) -> String {
        ClientAddress::of(text.parse().expect("an address")).to_string()
    }

    #[test]
    fn ipv6_hosts_are_counted_by_their_network_and_mapped_ipv4_as_ipv4() {
        assert_eq!(bucket("192.0.2.7"), "192.0.2.7");
        assert_eq!(bucket("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(bucket("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
        assert_eq!(
            bucket("2001:db8:1:2::1"),
            bucket("2001:db8:1:2:ffff::9"),
            "one /64, one bucket"
        );
        assert_ne!(bucket("2001:db8:1:2::1"), bucket("2001:db8:1:3::1"));
        assert_eq!(bucket("::1"), "::/64");
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 192.0.2.1, fd00::/8").expect("valid");
        assert!(proxies.contains(ip("10.1.2.3")) && proxies.contains(ip("::ffff:10.9.9.9")));
        assert!(proxies.contains(ip("fd12::1")) && !proxies.contains(ip("fe80::1")));
        assert!(!proxies.contains(ip("192.0.2.2")));
        // From a trusted proxy: the right-most hop that is not a proxy.
        assert_eq!(proxies.client(ip("10.0.0.5"), &["203.0.113.9"]), ip("203.0.113.9"));
        assert_eq!(
            proxies.client(ip("10.0.0.5"), &["198.51.100.1, 203.0.113.9", "10.0.0.7"]),
            ip("203.0.113.9"),
            "a forged left part is ignored"
        );
        // From anyone else, the header is ignored.
        assert_eq!(
            proxies.client(ip("203.0.113.50"), &["198.51.100.1"]),
            ip("203.0.113.50")
        );
        // Nothing readable: the last trusted hop.
        assert_eq!(proxies.client(ip("10.0.0.5"), &["not-an-ip"]), ip("10.0.0.5"));
        assert_eq!(proxies.client(ip("10.0.0.5"), &[]), ip("10.0.0.5"));
        assert!(TrustedProxies::parse("").expect("empty").is_empty());
        assert_eq!(TrustedProxies::parse("10.0.0.0/33"), Err("10.0.0.0/33".to_owned()));
        assert_eq!(TrustedProxies::parse("nope"), Err("nope".to_owned()));
        assert!(TrustedProxies::parse("0.0.0.0/0").expect("all").contains(ip("8.8.8.8")));
    }
}
