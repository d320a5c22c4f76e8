//! Which client a request came from, for the limits counted per client (registrations,
//! failed sign-ins): the peer address, or behind a trusted reverse proxy the address the proxy
//! forwarded (`AUTHSOME_TRUSTED_PROXIES`).

use authsome_domain::ClientAddress;
use poem::Request;

use crate::settings::ServerSettings;

/// The client `request` came from; `None` when the connection has no IP peer (in-process
/// calls).
pub fn client_address(request: &Request, settings: &ServerSettings) -> Option<ClientAddress> {
    let peer = request.remote_addr().as_socket_addr()?.ip();
    let forwarded: Vec<&str> = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    Some(ClientAddress::of(settings.trusted_proxies.client(peer, &forwarded)))
}
