"""Pulling a partner's feed: pages verified and applied whole, the cursor moved only with
them, and every kind of bad page refused with a clear error and nothing applied."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from rescind.config import Settings
from rescind.exchange.errors import UnsafeUrlError
from rescind.exchange.feed import COLUMNS_FORMAT, PAGE_FORMAT, SIGNATURE_HEADER
from rescind.exchange.format import COLUMNS, ExchangeEntry, Provenance
from rescind.exchange.identity import Identity, load_identity
from rescind.exchange.netguard import check_partner_url
from rescind.exchange.partners import add_partner, get_partner, grant_banks
from rescind.exchange.pull import pull_partner
from rescind.platform.apikeys import create_api_key
from rescind.platform.banks import NCII_BANK, add_signals, ensure_default_banks, get_bank
from rescind.platform.signals import PdqHash, Signals
from rescind.store import Database
from rescind.store.models import Bank, BankEntry

URL = "http://127.0.0.1:9"
Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def source() -> Identity:
    return Identity(Ed25519PrivateKey.generate())


@pytest.fixture
def pulling(database: Database, settings: Settings, source: Identity) -> Iterator[Database]:
    allowed = settings.model_copy(update={"exchange_allow_private": True})
    with database.session() as session:
        add_partner(session, allowed, "a", URL, api_key="k", public_key=source.public_key)
    yield database


def _entry(source: Identity, i: int, value: str, status: str = "active") -> dict[str, object]:
    return ExchangeEntry(
        id=str(i), signal_type="pdq", value=value, quality=90, status=status,
        source=Provenance(source.instance_id, "ncii"),
    ).to_json()  # fmt: skip


def _page(
    source: Identity, after: int, nxt: int, entries: list[dict[str, object]], **extra: object
) -> dict[str, object]:
    return {"format": PAGE_FORMAT, "instance": source.instance_id, "after": after,
            "next": nxt, "more": False, "entries": entries} | extra  # fmt: skip


def _serve(body: bytes, signer: Identity | None, status: int = 200) -> Handler:
    headers = {SIGNATURE_HEADER: f"ed25519={signer.sign(body)}"} if signer else {}
    return lambda _request: httpx.Response(status, content=body, headers=headers)


def _pull(database: Database, settings: Settings, handler: Handler) -> tuple[str | None, int]:
    allowed = settings.model_copy(update={"exchange_allow_private": True})
    with database.session() as session:
        partner_id = get_partner(session, "a").id
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        result = pull_partner(database.engine, allowed, partner_id, client=client)
    with database.session() as session:
        partner = get_partner(session, "a")
        assert partner.last_error == result.error
        return result.error, partner.cursor


def _active(database: Database) -> int:
    with database.session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(BankEntry)
                .join(Bank, Bank.id == BankEntry.bank_id)
                .where(Bank.name == "partner-a", BankEntry.status == "active")
            )
            or 0
        )


def test_pages_apply_with_their_cursor_and_withdrawals_follow(
    pulling: Database, settings: Settings, source: Identity
) -> None:
    values = [secrets.token_hex(32) for _ in range(3)]
    body = json.dumps(_page(source, 0, 7, [_entry(source, i, v) for i, v in enumerate(values)]))
    assert _pull(pulling, settings, _serve(body.encode(), source)) == (None, 7)
    assert _active(pulling) == 3
    body = json.dumps(_page(source, 7, 9, [_entry(source, 1, values[1], "withdrawn")]))
    assert _pull(pulling, settings, _serve(body.encode(), source)) == (None, 9)
    assert _active(pulling) == 2
    with pulling.session() as session:
        assert get_partner(session, "a").last_ok_at is not None


def _columns_page(
    source: Identity, after: int, nxt: int, entries: list[dict[str, object]], **extra: object
) -> dict[str, object]:
    """The same page as columns (rescind-feed/2)."""
    flat = [
        {k: v for k, v in e.items() if k not in ("v", "source")} | {"bank": "ncii", "case": None}
        for e in entries
    ]
    columns = {name: [row[name] for row in flat] for name in COLUMNS}
    return {"format": COLUMNS_FORMAT, "instance": source.instance_id, "after": after,
            "next": nxt, "more": False, "columns": columns} | extra  # fmt: skip


def test_pages_of_columns_apply_as_pages_of_objects(
    pulling: Database, settings: Settings, source: Identity
) -> None:
    values = [secrets.token_hex(32) for _ in range(3)]
    page = _columns_page(source, 0, 7, [_entry(source, i, v) for i, v in enumerate(values)])
    asked: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(dict(request.url.params))
        return _serve(json.dumps(page).encode(), source)(request)

    assert _pull(pulling, settings, handler) == (None, 7)
    # Asked as rescind-feed/3; a page of /2 (a source that shows no smooth entry) is read.
    assert asked[0]["format"] == "3" and _active(pulling) == 3
    page = _columns_page(source, 7, 9, [_entry(source, 1, values[1], "withdrawn")])
    assert _pull(pulling, settings, _serve(json.dumps(page).encode(), source)) == (None, 9)
    assert _active(pulling) == 2
    # Replayed: refused, nothing changes.
    error, cursor = _pull(pulling, settings, _serve(json.dumps(page).encode(), source))
    assert error is not None and "replayed" in error and cursor == 9


def _bad_columns(source: Identity, spoil: Callable[[dict[str, list[object]]], object]) -> Handler:
    entries = [_entry(source, i, secrets.token_hex(32)) for i in range(3)]
    page = _columns_page(source, 0, 3, entries)
    spoil(page["columns"])  # type: ignore[arg-type]
    return _serve(json.dumps(page).encode(), source)


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda c: c["value"].__setitem__(1, "not a hash"), "entry 2 of the page: value"),
        (lambda c: c["status"].__setitem__(2, "gone"), "entry 3 of the page: status"),
        (lambda c: c["id"].pop(), "not all of the same length"),
        (lambda c: c.pop("case"), "columns must be exactly"),
        (lambda c: c.__setitem__("entries", []), "columns must be exactly"),
    ],
)
def test_a_bad_page_of_columns_is_refused_whole(
    pulling: Database,
    settings: Settings,
    source: Identity,
    spoil: Callable[[dict[str, list[object]]], object],
    message: str,
) -> None:
    error, cursor = _pull(pulling, settings, _bad_columns(source, spoil))
    assert error is not None and message in error
    assert cursor == 0 and _active(pulling) == 0


def _tampered(source: Identity) -> Handler:
    """A page signed by the partner, altered on the way (one more entry)."""
    body = _good(source)
    headers = {SIGNATURE_HEADER: f"ed25519={source.sign(body)}"}
    page = json.loads(body)
    page["entries"].append(_entry(source, 2, secrets.token_hex(32)))
    return lambda _r: httpx.Response(200, content=json.dumps(page).encode(), headers=headers)


def _good(source: Identity) -> bytes:
    return json.dumps(_page(source, 0, 1, [_entry(source, 1, secrets.token_hex(32))])).encode()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda s: _serve(_good(s), None), "not signed"),
        (lambda s: _serve(_good(s), Identity(Ed25519PrivateKey.generate())), "bad signature"),
        (lambda s: _tampered(s), "bad signature"),
        (lambda s: _serve(b"\x00garbage", s), "not JSON"),
        (lambda s: _serve(json.dumps(_page(s, 5, 9, [])).encode(), s), "replayed"),
        (lambda s: _serve(json.dumps({"format": "x"}).encode(), s), "not a rescind-feed/1"),
        (lambda s: _serve(_good(s), s, status=500), "HTTP 500"),
        (
            lambda s: _serve(
                json.dumps(
                    _page(s, 0, 3, [_entry(s, 1, secrets.token_hex(32)), {"v": 1, "id": "2"}])
                ).encode(),
                s,
            ),
            "entry 2 of the page",
        ),
    ],
)
def test_a_bad_page_is_refused_whole(
    pulling: Database,
    settings: Settings,
    source: Identity,
    make: Callable[[Identity], Handler],
    message: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="rescind.exchange"):
        error, cursor = _pull(pulling, settings, make(source))
    assert error is not None and message in error
    assert cursor == 0 and _active(pulling) == 0
    assert message in caplog.text


def test_a_hanging_partner_times_out(
    pulling: Database, settings: Settings, source: Identity
) -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    error, cursor = _pull(pulling, settings, hang)
    assert error is not None and "timeout" in error and cursor == 0


@pytest.mark.parametrize(
    ("url", "allow", "refused"),
    [
        ("http://127.0.0.1:8000", False, True),
        ("http://127.0.0.1:8000", True, False),
        ("https://10.1.2.3", False, True),
        ("http://169.254.169.254/latest", True, True),
        ("http://[::ffff:169.254.169.254]", True, True),
        ("http://metadata.google.internal", True, True),
        ("ftp://203.0.113.9", True, True),
        ("https://user:pw@8.8.8.8", True, True),
        ("https://8.8.8.8/rescind/", False, False),
    ],
)
def test_partner_urls_stay_outside_our_network(url: str, allow: bool, refused: bool) -> None:
    if refused:
        with pytest.raises(UnsafeUrlError):
            check_partner_url(url, allow_private=allow)
    else:
        assert check_partner_url(url, allow_private=allow) == url.rstrip("/")


def test_a_real_hanging_partner_is_cut_off(
    database: Database, settings: Settings, source: Identity
) -> None:
    """A partner on loopback that accepts the connection and never answers."""
    import asyncio

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from tests.e2e.servers import serve_in_thread

    async def hang(_request: Request) -> Response:
        await asyncio.sleep(3)
        return Response(b"")

    app = Starlette(routes=[Route("/v1/exchange/feed", hang)])
    fast = settings.model_copy(update={"exchange_allow_private": True, "exchange_timeout_s": 0.5})
    with serve_in_thread(app) as url:
        with database.session() as session:
            partner_id = add_partner(
                session, fast, "slow", url, api_key="k", public_key=source.public_key
            ).id
        started = time.monotonic()
        result = pull_partner(database.engine, fast, partner_id)
        assert time.monotonic() - started < 5
    assert result.error is not None and "timeout" in result.error
    with database.session() as session:
        partner = get_partner(session, "slow")
        assert partner.cursor == 0 and "timeout" in (partner.last_error or "")


def test_pages_in_a_row_apply_in_order_and_a_bad_one_stops_there(
    pulling: Database, settings: Settings, source: Identity
) -> None:
    """The puller fetches the next page while it applies one: pages still apply in cursor
    order, each in its own transaction, and a bad page leaves the cursor after the last good
    one (nothing of it applied)."""
    pages = {
        0: _page(source, 0, 10, [_entry(source, i, secrets.token_hex(32)) for i in range(3)],
                 more=True),
        10: _page(source, 10, 20, [_entry(source, i, secrets.token_hex(32)) for i in range(3, 5)],
                  more=True),
        20: _page(source, 20, 30, [_entry(source, 9, "not a hash")], more=True),
    }  # fmt: skip
    asked: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        after = int(request.url.params["after"])
        asked.append(after)
        body = json.dumps(pages[after]).encode()
        return httpx.Response(
            200, content=body, headers={SIGNATURE_HEADER: f"ed25519={source.sign(body)}"}
        )

    error, cursor = _pull(pulling, settings, handler)
    assert error is not None and "entry 1 of the page" in error
    assert cursor == 20 and _active(pulling) == 5
    assert asked == [0, 10, 20]


def test_a_pull_leaves_the_garbage_collector_alone(
    pulling: Database, settings: Settings, source: Identity
) -> None:
    """The cyclic collector is the whole process's (the worker's, or a web server's with its
    embedded worker): a pull never pauses or changes it, while it fetches and applies pages
    (the second page is fetched while the first is applied) or after, succeeded or failed. A
    page's entries are read as columns instead, which leave the collector little to do
    (tests/exchange/test_columns.py)."""
    import gc

    pages = {
        0: _page(source, 0, 5, [_entry(source, 1, secrets.token_hex(32))], more=True),
        5: _page(source, 5, 7, [_entry(source, 2, secrets.token_hex(32))]),
    }
    enabled: list[bool] = []

    def handler(request: httpx.Request) -> httpx.Response:
        enabled.append(gc.isenabled())
        body = json.dumps(pages[int(request.url.params["after"])]).encode()
        return httpx.Response(
            200, content=body, headers={SIGNATURE_HEADER: f"ed25519={source.sign(body)}"}
        )

    assert gc.isenabled()
    assert _pull(pulling, settings, handler) == (None, 7)
    assert enabled == [True, True] and gc.isenabled()
    assert _pull(pulling, settings, _serve(b"garbage", source))[0] is not None
    assert gc.isenabled()
    gc.disable()  # someone else's choice stays theirs
    try:
        assert _pull(pulling, settings, _serve(b"garbage", source))[0] is not None
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert _active(pulling) == 2


def test_a_source_older_than_format_3_is_asked_once_a_page(
    database: Database, settings: Settings, second_db_url: str, tmp_path: Path
) -> None:
    """A real instance on loopback, behind what an instance older than rescind-feed/3 does:
    it refuses format=3 with HTTP 422 (its validation allows up to 2) and serves pages of at
    most two changes. The pull asks for /3 once, then /2 for each page: one request a page
    after the first, not two. The next pull tries /3 first again (an upgrade shows)."""
    from starlette.responses import JSONResponse
    from starlette.types import ASGIApp, Receive, Scope, Send

    from rescind.web.app import create_app
    from tests.e2e.servers import serve_in_thread

    a_settings = Settings(environment="test", data_dir=tmp_path / "a", database_url=second_db_url)
    a_db = Database(a_settings)
    with a_db.session() as session:
        ensure_default_banks(session, a_settings)
        _, for_b = create_api_key(session, "partner-b", frozenset({"exchange"}))
        grant_banks(session, "partner-b", ["ncii"])
        bank = get_bank(session, NCII_BANK)
        for _ in range(5):
            add_signals(session, bank, Signals(pdq=(PdqHash(secrets.token_hex(32), 90),)),
                        source="reviewer")  # fmt: skip
        session.commit()
    asked: list[str] = []

    def older(app: ASGIApp) -> ASGIApp:
        async def serve(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["path"] == "/v1/exchange/feed":
                query = parse_qs(scope["query_string"].decode())
                asked.append(query["format"][0])
                if int(query["format"][0]) > 2:
                    refused = {"title": "format: Input should be less than or equal to 2"}
                    await JSONResponse(refused, status_code=422)(scope, receive, send)
                    return
                query["limit"] = ["2"]
                scope = {**scope, "query_string": urlencode(query, doseq=True).encode()}
            await app(scope, receive, send)

        return serve

    allowed = settings.model_copy(update={"exchange_allow_private": True})
    try:
        with serve_in_thread(older(create_app(a_settings, database=a_db))) as url:
            with database.session() as session:
                partner_id = add_partner(
                    session, allowed, "a", url, api_key=for_b,
                    public_key=load_identity(a_settings).public_key,
                ).id  # fmt: skip
            result = pull_partner(database.engine, allowed, partner_id)
            assert (result.error, result.pages, result.applied) == (None, 3, 5)
            assert asked == ["3", "2", "2", "2"]
            assert _active(database) == 5

            with a_db.session() as session:
                bank = get_bank(session, NCII_BANK)
                add_signals(session, bank, Signals(pdq=(PdqHash(secrets.token_hex(32), 90),)),
                            source="reviewer")  # fmt: skip
                session.commit()
            asked.clear()
            result = pull_partner(database.engine, allowed, partner_id)
            assert (result.error, result.pages, result.applied) == (None, 1, 1)
            assert asked == ["3", "2"]
            assert _active(database) == 6
    finally:
        a_db.engine.dispose()
