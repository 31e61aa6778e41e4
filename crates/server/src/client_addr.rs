//! The client's address, for throttling. It is the socket's peer, unless that peer is a
//! reverse proxy the operator listed (`--trusted-proxy`): then it is the rightmost address in
//! `X-Forwarded-For` that is not one of those proxies. Any other header, and this one from anyone
//! else, is ignored: a client could write anything there.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        Ok(ClientAddr(resolve(
            peer,
            &state.config.trusted_proxies,
            forwarded,
        )))
    }
}

/// The client behind `peer`: each trusted proxy appends the address it saw, so reading from the
/// right, the first address that is not a trusted proxy is the client. A malformed entry stops
/// the walk there (what is left of it was written by someone untrusted).
pub fn resolve<'a>(
    peer: IpAddr,
    trusted: &[IpAddr],
    forwarded: impl Iterator<Item = &'a str>,
) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !trusted.contains(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// The unit one client controls: an IPv4 address, or an IPv6 /64 (one subscriber's prefix, in
/// which an attacker picks any address for free). Throttles and limits count by it.
pub fn network(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(std::net::Ipv6Addr::from(prefix))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_a_trusted_proxy_is_believed() {
        let proxy = ip("10.0.0.2");
        let trusted = [proxy];
        // Someone else writing the header is ignored.
        let direct = resolve(ip("203.0.113.9"), &trusted, ["1.2.3.4"].into_iter());
        assert_eq!(direct, ip("203.0.113.9"));
        // Through the proxy: the address it appended, not what the client wrote before it.
        let via = resolve(proxy, &trusted, ["6.6.6.6, 198.51.100.7"].into_iter());
        assert_eq!(via, ip("198.51.100.7"));
        // Two trusted hops.
        let trusted = [proxy, ip("10.0.0.3")];
        let two = resolve(proxy, &trusted, ["198.51.100.7", "10.0.0.3"].into_iter());
        assert_eq!(two, ip("198.51.100.7"));
        // A proxy that sent no header: the proxy itself.
        assert_eq!(resolve(proxy, &trusted, std::iter::empty()), proxy);
        // Garbage stops the walk.
        let junk = resolve(proxy, &trusted, ["x, 198.51.100.7"].into_iter());
        assert_eq!(junk, ip("198.51.100.7"));
    }
}
