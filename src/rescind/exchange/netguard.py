"""Which partner URLs we contact: http(s) only, and never an address inside our own network
unless the operator allows it (`RESCIND_EXCHANGE_ALLOW_PRIVATE`, for private deployments and
tests). Link-local addresses, where cloud metadata services live, are refused always.

The check resolves the host and looks at every address it has; redirects are never followed,
so the only hosts contacted are the configured ones.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from rescind.exchange.errors import UnsafeUrlError

_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})


def _refusal(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_private: bool
) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_link_local or address.is_multicast or address.is_unspecified:
        return "a link-local, multicast or unspecified address (cloud metadata lives there)"
    if address.is_reserved:
        return "a reserved address"
    if (address.is_private or address.is_loopback) and not allow_private:
        return "a private or loopback address (set RESCIND_EXCHANGE_ALLOW_PRIVATE to allow)"
    return None


def check_partner_url(url: str, *, allow_private: bool, resolve: bool = True) -> str:
    """`url` normalised (no trailing slash), or UnsafeUrlError saying why we refuse it."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrlError("a partner URL is http(s)://host[:port][/path]", field="url")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise UnsafeUrlError("a partner URL carries no credentials, query or fragment", field="url")
    host = parts.hostname.lower()
    if host in _METADATA_HOSTS:
        raise UnsafeUrlError("refused: a cloud metadata host", field="url")
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = []
        if resolve:
            try:
                infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
            except OSError:
                raise UnsafeUrlError(
                    "the partner's host name does not resolve", field="url"
                ) from None
            addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        why = _refusal(address, allow_private)
        if why is not None:
            raise UnsafeUrlError(f"refused: the partner's host is {why}", field="url")
    return url.strip().rstrip("/")
