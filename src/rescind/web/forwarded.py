"""Who is calling, and over what: the one place a client address or scheme is read.

`X-Forwarded-For` and `X-Forwarded-Proto` are believed only from the proxies in
`RESCIND_TRUSTED_PROXIES` (none by default, not even loopback): anyone else can write them.
`X-Forwarded-For` is walked from the right, skipping trusted proxies; the first address that is
not one is the client. `rescind serve` gives uvicorn the same list, so both agree.
"""

from __future__ import annotations

import ipaddress

from starlette.requests import Request

from rescind.config import IPNetwork, Settings

UNKNOWN = "unknown"


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:443"
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: tuple[IPNetwork, ...]
) -> bool:
    return any(address in network for network in networks)


def _forwarded_header(request: Request, name: str) -> list[str]:
    values = request.headers.getlist(name)
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _peer(request: Request) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    return _address(request.client.host) if request.client else None


def client_address(request: Request, settings: Settings) -> str:
    """The client's address: the peer, unless the peer is a trusted proxy; then the rightmost
    `X-Forwarded-For` entry that is not a trusted proxy. A malformed entry stops the walk at the
    proxy that passed it on (a forged value never becomes a fresh rate-limit key)."""
    networks = settings.trusted_proxy_networks
    peer = _peer(request)
    if peer is None:
        return request.client.host if request.client else UNKNOWN
    current = peer
    if not networks:
        return str(current)
    for entry in reversed(_forwarded_header(request, "x-forwarded-for")):
        if not _trusted(current, networks):
            break
        hop = _address(entry)
        if hop is None:
            break
        current = hop
    return str(current)


def rate_key(address: str) -> str:
    """The key rate limits count an address under: IPv6 by its /64 (one subscriber usually has
    a whole /64, so counting single addresses would give one client billions of buckets)."""
    parsed = _address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return address


def client_key(request: Request, settings: Settings) -> str:
    """The rate-limit key of the request's client."""
    return rate_key(client_address(request, settings))


def is_https(request: Request, settings: Settings) -> bool:
    """The browser reached us over https: directly, or through a trusted proxy that says so."""
    if request.url.scheme == "https":
        return True
    peer = _peer(request)
    if peer is None or not _trusted(peer, settings.trusted_proxy_networks):
        return False
    protos = _forwarded_header(request, "x-forwarded-proto")
    return bool(protos) and protos[-1].lower() == "https"


def secure_cookie(request: Request, settings: Settings) -> bool:
    """Whether cookies set on this answer get `Secure`: the site is https by configuration
    (`RESCIND_HTTPS`, an https public base URL) or this request came over https."""
    return (
        settings.https
        or settings.public_base_url.startswith("https://")
        or is_https(request, settings)
    )
