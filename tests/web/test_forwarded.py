"""Client addresses: `X-Forwarded-For` counts only from `RESCIND_TRUSTED_PROXIES` (none by
default, not even loopback), read the same way by the app and by uvicorn as `rescind serve` runs
it; IPv6 clients are counted per /64; cookies get `Secure` over https."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from rescind.cli.serve import proxy_options
from rescind.config import Settings
from rescind.store import Database
from rescind.web import create_app
from tests.e2e.servers import serve_in_thread
from tests.web.public.support import csrf_of

# Nothing here depends on the database backend.
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _lookup(client: httpx.Client | TestClient, forwarded_for: str | None) -> int:
    """One status lookup (unknown case), optionally claiming to come from `forwarded_for`."""
    token = csrf_of(client.get("/status").text)
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post(
        "/status",
        data={"csrf_token": token, "case_number": "RSC-0000-0000-0000", "secret": "x"},
        headers=headers,
    ).status_code


def _served(settings: Settings, database: Database, proxies: str) -> Settings:
    return settings.model_copy(
        update={"status_lookups_per_ip_per_hour": 2, "trusted_proxies": proxies}
    )


def test_a_forged_forwarded_for_from_loopback_is_ignored_by_default(
    settings: Settings, database: Database
) -> None:
    """A client on loopback (where a proxy would be) inventing addresses still has one limit."""
    served = _served(settings, database, "")
    app = create_app(served, database=database)
    with (
        serve_in_thread(app, **proxy_options(served)) as base,
        httpx.Client(base_url=base) as client,
    ):
        codes = [_lookup(client, f"198.51.100.{i}") for i in range(3)]
    assert codes == [404, 404, 429]


def test_a_trusted_proxy_names_the_client(settings: Settings, database: Database) -> None:
    """Behind a trusted proxy each client has its own limit; a client's own forged entry to the
    left of what the proxy appended changes nothing."""
    served = _served(settings, database, "127.0.0.1")
    app = create_app(served, database=database)
    with (
        serve_in_thread(app, **proxy_options(served)) as base,
        httpx.Client(base_url=base) as client,
    ):
        # Three different clients, one lookup each: none is limited.
        assert [_lookup(client, f"198.51.100.{i}") for i in range(3)] == [404, 404, 404]
        # One client forging a different first entry each time: still one client.
        codes = [_lookup(client, f"10.9.9.{i}, 203.0.113.7") for i in range(3)]
    assert codes == [404, 404, 429]


def test_an_untrusted_peer_cannot_name_itself(settings: Settings, database: Database) -> None:
    """Trusting a proxy elsewhere does not make another peer's header count."""
    served = _served(settings, database, "10.0.0.0/8")
    with TestClient(create_app(served, database=database), client=("192.0.2.10", 4000)) as c:
        assert [_lookup(c, f"198.51.100.{i}") for i in range(3)] == [404, 404, 429]
    with TestClient(create_app(served, database=database), client=("10.1.2.3", 4000)) as c:
        assert [_lookup(c, f"198.51.100.{i}") for i in range(3)] == [404, 404, 404]


def test_an_ipv6_client_is_one_client_across_its_64(settings: Settings, database: Database) -> None:
    served = _served(settings, database, "127.0.0.1")
    with TestClient(create_app(served, database=database), client=("127.0.0.1", 4000)) as c:
        codes = [_lookup(c, f"2001:db8:1:2::{i:x}") for i in range(1, 4)]
        assert codes == [404, 404, 429]
        assert _lookup(c, "2001:db8:1:3::1") == 404  # another /64: another client


def test_trusted_proxies_must_be_addresses(settings: Settings) -> None:
    with pytest.raises(ValidationError, match="not an IP address or network"):
        Settings(
            environment="test", data_dir=settings.data_dir, trusted_proxies="10.0.0.1, proxy.lan"
        )


def test_cookies_are_secure_over_https_through_a_trusted_proxy(
    settings: Settings, database: Database
) -> None:
    proto = {"X-Forwarded-Proto": "https"}
    for proxies, peer, secure in (
        ("127.0.0.1", "127.0.0.1", True),  # the proxy says the browser used https
        ("", "127.0.0.1", False),  # nobody is trusted to say so
        ("127.0.0.1", "192.0.2.9", False),  # this peer is not the proxy
    ):
        served = settings.model_copy(update={"trusted_proxies": proxies})
        app = create_app(served, database=database)
        with TestClient(app, client=(peer, 4000)) as client:
            cookies = client.get("/", headers=proto).headers.get_list("set-cookie")
        assert cookies and all(("; Secure" in c) is secure for c in cookies), (proxies, peer)
    # A site configured as https marks cookies Secure even on a plain request.
    served = settings.model_copy(update={"https": True})
    with TestClient(create_app(served, database=database)) as client:
        cookies = client.get("/status").headers.get_list("set-cookie")
    assert cookies and all("; Secure" in c for c in cookies)
