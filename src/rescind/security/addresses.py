"""Which addresses Rescind sends requests to (partner feeds, webhook endpoints): http(s) only,
never link-local, multicast, unspecified or reserved addresses (cloud metadata services live
on link-local ones: 169.254.169.254, fd00:ec2::254), and never a private or loopback address
unless the operator allows it for that use (private deployments, tests).

Pure checks plus name resolution; the callers map `UnsafeAddress` to their own errors. Also
`redact_url`: a URL as it may be printed or logged, without the credentials it may carry.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit, urlunsplit

METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})
# Metadata and platform services outside link-local space, refused even where private
# addresses are allowed: AWS's IPv6 metadata, Alibaba's, Azure's wire server.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("fd00:ec2::254", "100.100.100.200", "168.63.129.16")
)
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeAddress(ValueError):
    """A URL we will not contact; the message says why."""


def address_refusal(address: IpAddress, *, allow_private: bool, setting: str) -> str | None:
    """Why `address` is refused (None: it is fine). `setting` names what allows private
    and loopback addresses, for the message."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_link_local or address.is_multicast or address.is_unspecified:
        return "a link-local, multicast or unspecified address (cloud metadata lives there)"
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global and not allow_private:
        return f"a private or loopback address (set {setting} to allow)"
    return None


def host_addresses(host: str, port: int) -> list[IpAddress]:
    """Every address `host` resolves to (UnsafeAddress if it does not)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError:
        raise UnsafeAddress("the host name does not resolve") from None
    # an IPv6 scope ("fe80::1%eth0") is not part of the address
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def check_http_url(
    url: str,
    *,
    allow_private: bool,
    setting: str,
    resolve: bool = True,
    unresolved_ok: bool = False,
) -> SplitResult:
    """The parts of `url` if it is http(s) with a host whose every address is allowed, else
    UnsafeAddress. Without `resolve`, a host name is only checked against metadata names; with
    `unresolved_ok`, a name that does not resolve (yet) passes: nothing can be sent to it."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeAddress("not a URL (a malformed host or port)") from None
    if parts.scheme not in ("http", "https") or not host:
        raise UnsafeAddress("the URL must be http(s)://host[:port][/path]")
    host = host.lower().rstrip(".")
    if host in METADATA_HOSTS:
        raise UnsafeAddress("refused: a cloud metadata host")
    if resolve:
        try:
            addresses = host_addresses(host, port)
        except UnsafeAddress:
            if not unresolved_ok:
                raise
            addresses = []
    else:
        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            addresses = []  # a name, not resolved
    for address in addresses:
        why = address_refusal(address, allow_private=allow_private, setting=setting)
        if why is not None:
            raise UnsafeAddress(f"refused: the host is {why}")
    return parts


def redact_url(url: str) -> str:
    """`url` without the `user:password@` it may carry (kept as `***@`), for printing and logs.
    Anything that does not parse is shown as its scheme only."""
    try:
        parts = urlsplit(url)
        if parts.username is None and parts.password is None:
            return url
        netloc = "***@" + parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return url.split(":", 1)[0] + ":(unreadable URL)"
