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
}
