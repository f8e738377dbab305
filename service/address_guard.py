"""Where the service may send requests a user chose (stakeholders' webhooks, pulled readings): public hosts only.

A URL is checked when it is saved and again before each request: its host is resolved once, and every address it
resolves to must be public. Loopback, private, link-local (cloud metadata at 169.254.169.254 included), shared,
multicast, reserved and unspecified addresses are refused, unless the host is listed in PVM_ALLOWED_PRIVATE_HOSTS.
The caller then connects to the address that was checked (`Resolved.address`), so a DNS answer that changes
between the check and the request (DNS rebinding) cannot send it elsewhere.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

SCHEMES = ("https", "http")
# Cloud metadata services that live on ordinary-looking addresses too.
_METADATA = {ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("169.254.169.254")}

Resolver = Callable[[str, int], Iterable[str]]


class AddressRefused(ValueError):
    """The URL may not be used; the message names the rule it breaks and what to do."""


@dataclass(frozen=True)
class Resolved:
    url: str
    scheme: str
    host: str  # as written, lower-case, for the Host header and TLS name checks
    port: int
    address: str  # the checked IP address to connect to


def system_resolver(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def check_url(url: str, allowed_private_hosts: Iterable[str] = (), resolver: Resolver = system_resolver) -> Resolved:
    """The URL's checked address, or AddressRefused naming why it cannot be used."""
    parts = urlsplit(url.strip())
    if parts.scheme not in SCHEMES:
        raise AddressRefused(f"only http(s) URLs can be used, got {parts.scheme or 'no'} scheme; write https://...")
    if parts.username or parts.password:
        raise AddressRefused("a URL with a user name or password in it is refused; use a secret in the URL path")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise AddressRefused("the URL names no host; write it as https://host/path")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise AddressRefused("the URL's port is not a number from 1 to 65535") from None
    allowed = {name.rstrip(".").lower() for name in allowed_private_hosts}
    try:
        addresses = [_address(found) for found in resolver(host, port)]
    except (OSError, UnicodeError) as exc:
        raise AddressRefused(f"the host {host!r} cannot be resolved ({exc}); check the name") from None
    if not addresses:
        raise AddressRefused(f"the host {host!r} resolves to no address; check the name")
    if host not in allowed:
        for address in addresses:
            problem = _private(address)
            if problem:
                raise AddressRefused(
                    f"{host} resolves to {address}, {problem}: the service does not send there unless the host is "
                    "listed in PVM_ALLOWED_PRIVATE_HOSTS"
                )
    return Resolved(url=url.strip(), scheme=parts.scheme, host=host, port=port, address=str(addresses[0]))


def _address(found: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    address = ipaddress.ip_address(found.split("%", 1)[0])  # drop an IPv6 zone such as %eth0
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return address


def _private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if address in _METADATA:
        return "a cloud metadata address"
    if address.is_unspecified:
        return "not a public unicast address (it means this host)"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_private:
        return "a private address"
    if address.is_multicast or address.is_reserved or address.is_unspecified:
        return "not a public unicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in ipaddress.ip_network("100.64.0.0/10"):
        return "a carrier-grade NAT address"
    return None
