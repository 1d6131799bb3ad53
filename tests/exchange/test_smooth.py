"""A smooth picture's entry (a gradient: matched within 16 bits, never blocking) keeps its flag
wherever it travels: exchange files (format version 2), the feed (`rescind-feed/3`), a pull.
A reader that cannot carry the flag never gets it as an ordinary hash: older feed formats show
it withdrawn, foreign file formats leave it out, a version 1 reader refuses its line."""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Iterator

import httpx
import numpy as np
import numpy.typing as npt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from rescind.config import Settings
from rescind.exchange.errors import FormatError
from rescind.exchange.feed import SIGNATURE_HEADER, build_page
from rescind.exchange.files import write_line
from rescind.exchange.format import (
    COLUMNS,
    SMOOTH_COLUMNS,
    ExchangeEntry,
    Provenance,
    entries_from_columns,
    read_columns,
    read_lines,
)
from rescind.exchange.identity import Identity, load_identity
from rescind.exchange.partners import add_partner, get_partner
from rescind.exchange.pull import pull_partner
from rescind.exchange.transfer import apply_columns, apply_entries, export_entries
from rescind.media import hash_bytes
from rescind.media.pdq import hashes_of_buffers, smooth_buffers
from rescind.platform.banks import add_signals, create_bank, ensure_default_banks, get_bank
from rescind.platform.matcher import Matcher
from rescind.platform.signals import PdqHash, Signals
from rescind.store import Database
from rescind.store.models import Bank, BankEntry
from tests.e2e import media
from tests.e2e.media import reported
from tests.platform.helpers import gradient_png

URL = "http://127.0.0.1:9"


def _flip(value: str, bits: int) -> str:
    """`value` with its first `bits` bits inverted: a hash `bits` away."""
    n = int(value, 16) ^ (((1 << bits) - 1) << (256 - bits))
    return f"{n:064x}"


@pytest.fixture
def banked(database: Database, settings: Settings) -> Iterator[tuple[Database, str, str]]:
    """The `ncii` bank with a smooth picture's hash and an ordinary one (quality 100)."""
    smooth, plain = secrets.token_hex(32), secrets.token_hex(32)
    with database.session() as session:
        ensure_default_banks(session, settings)
        bank = get_bank(session, "ncii")
        add_signals(
            session,
            bank,
            Signals(pdq=(PdqHash(smooth, 100, variant="full", smooth=True),)),
            source="reviewer",
        )
        add_signals(session, bank, Signals(pdq=(PdqHash(plain, 100),)), source="reviewer")
        session.commit()
    yield database, smooth, plain


def _entries(database: Database, bank: str) -> dict[str, tuple[str, bool]]:
    """value -> (status, smooth) of a bank's entries."""
    with database.session() as session:
        rows = session.execute(
            select(BankEntry.value, BankEntry.status, BankEntry.provenance)
            .join(Bank, Bank.id == BankEntry.bank_id)
            .where(Bank.name == bank)
        ).all()
    return {v: (str(s), bool((p or {}).get("smooth"))) for v, s, p in rows}


def _matches(database: Database, settings: Settings, value: str) -> bool:
    matcher = Matcher(settings)
    with database.session() as session:
        matcher.sync(session)
    return bool(matcher.match(Signals(pdq=(PdqHash(value, 100),))))


def test_a_file_carries_the_flag_as_version_2_and_imports_it(
    banked: tuple[Database, str, str], settings: Settings
) -> None:
    database, smooth, plain = banked
    with database.session() as session:
        exported = list(export_entries(session, settings, get_bank(session, "ncii"), "me"))
        create_bank(session, "copy")
        session.commit()
    lines = {e.value: json.loads(e.to_line()) for e in exported}
    # Only the smooth entry is version 2: a version 1 reader reads every other file.
    assert (lines[smooth]["v"], lines[smooth]["smooth"]) == (2, True)
    assert lines[plain]["v"] == 1 and "smooth" not in lines[plain]
    # Foreign formats cannot say it: the smooth entry is left out of them.
    for fmt in ("hma", "pytx"):
        written = [write_line(e, fmt) for e in exported]
        assert [t for t in written if t and smooth in t] == []
        assert [t for t in written if t and plain in t] != []
    with database.session() as session:
        report = apply_entries(
            session,
            get_bank(session, "copy"),
            read_lines([e.to_line() for e in exported]),
            source="import",
        )
        session.commit()
    assert report.added == 2
    assert _entries(database, "copy") == {smooth: ("active", True), plain: ("active", False)}
    # The imported smooth entry matches within 16 bits only; the plain one up to 31.
    assert not _matches(database, settings, _flip(smooth, 24))
    assert _matches(database, settings, _flip(smooth, 12))
    assert _matches(database, settings, _flip(plain, 24))


def _line(**changes: object) -> str:
    obj: dict[str, object] = {
        "v": 2, "id": "e1", "type": "pdq", "value": "ab" * 32, "quality": 90, "t": None,
        "group": None, "opinion": "positive", "status": "active",
        "source": {"instance": "peer", "bank": "ncii", "case": None},
        "created_at": None, "updated_at": None, "smooth": True,
    }  # fmt: skip
    return json.dumps(obj | changes)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (_line(v=1), "smooth needs format version 2"),
        (_line(smooth=None), "needs smooth"),
        (_line(smooth="yes"), "needs smooth"),
        (_line(type="md5", value="ab" * 16), "can be smooth"),
        (_line(v=3), "unsupported format version"),
    ],
)
def test_a_bad_smooth_line_is_refused_by_number(line: str, message: str) -> None:
    with pytest.raises(FormatError) as raised:
        list(read_lines([line]))
    assert raised.value.detail.startswith("line 1:") and message in raised.value.detail
    assert "ab" * 16 not in raised.value.detail


def test_a_version_2_line_with_smooth_false_is_an_ordinary_entry() -> None:
    (entry,) = read_lines([_line(smooth=False)])
    assert entry.smooth is False
    (entry,) = read_lines([_line()])
    assert entry.smooth is True


def test_the_feed_says_smooth_only_in_format_3(
    banked: tuple[Database, str, str], settings: Settings
) -> None:
    """rescind-feed/3 carries the column; /1 and /2 show the smooth entry withdrawn (their
    readers would take it for an ordinary hash)."""
    database, smooth, plain = banked
    identity = load_identity(settings)
    pages = {}
    with database.session() as session:
        bank = get_bank(session, "ncii")
        for version in (1, 2, 3):
            page = build_page(
                session, settings, identity, {bank.id: "ncii"}, after=0, version=version
            )
            pages[version] = json.loads(page.body)
    assert pages[3]["format"] == "rescind-feed/3" and set(pages[3]["columns"]) == set(
        SMOOTH_COLUMNS
    )
    three = {
        v: (s, f)
        for v, s, f in zip(
            pages[3]["columns"]["value"],
            pages[3]["columns"]["status"],
            pages[3]["columns"]["smooth"],
            strict=True,
        )
    }
    assert three == {smooth: ("active", True), plain: ("active", False)}
    two = pages[2]["columns"]
    assert set(two) == set(COLUMNS)
    assert dict(zip(two["value"], two["status"], strict=True)) == {
        smooth: "withdrawn",
        plain: "active",
    }
    one = {e["value"]: e for e in pages[1]["entries"]}
    assert one[smooth]["status"] == "withdrawn" and one[smooth]["v"] == 1
    assert one[plain]["status"] == "active"
    # A /3 page reads back with the flag.
    entries = entries_from_columns(
        pages[3]["columns"], identity.instance_id, 100, names=SMOOTH_COLUMNS
    )
    assert {e.value: e.smooth for e in entries} == {smooth: True, plain: False}


def _columns(values: dict[str, bool], instance: str) -> dict[str, list[object]]:
    rows = [
        ExchangeEntry(
            id=str(i), signal_type="pdq", value=v, quality=100, smooth=flag,
            source=Provenance(instance, "ncii"),
        ).to_json()
        for i, (v, flag) in enumerate(values.items())
    ]  # fmt: skip
    flat = [
        {k: x for k, x in r.items() if k not in ("v", "source")}
        | {"bank": "ncii", "case": None, "smooth": r.get("smooth", False)}
        for r in rows
    ]
    return {name: [row[name] for row in flat] for name in SMOOTH_COLUMNS}


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda c: c["smooth"].__setitem__(0, "yes"), "needs smooth"),
        (lambda c: c["smooth"].pop(), "same length"),
        (lambda c: c.pop("smooth"), "must be exactly"),
    ],
)
def test_a_bad_smooth_column_is_refused(spoil: object, message: str) -> None:
    columns = _columns({secrets.token_hex(32): True, secrets.token_hex(32): False}, "peer")
    spoil(columns)  # type: ignore[operator]
    with pytest.raises(ValueError, match=message):
        entries_from_columns(columns, "peer", 100, names=SMOOTH_COLUMNS)


def test_a_page_of_format_3_applied_as_columns_banks_what_its_lines_bank(
    database: Database, settings: Settings
) -> None:
    """The puller's path (a /3 page read as columns, applied by position) banks a smooth entry
    exactly as an imported file's version 2 line is banked: smooth in its provenance, the
    matcher holding it to 16 bits; the others as ordinary entries."""
    values = {secrets.token_hex(32): i % 3 == 0 for i in range(30)}
    columns = _columns(values, "peer")
    with database.session() as session:
        for name in ("by-page", "by-file"):
            create_bank(session, name)
        read = read_columns(columns, "peer", 100, names=SMOOTH_COLUMNS)
        assert read.smooth == list(values.values())
        paged = apply_columns(session, get_bank(session, "by-page"), read, source="partner")
        lines = [
            e.to_line() for e in entries_from_columns(columns, "peer", 100, names=SMOOTH_COLUMNS)
        ]
        filed = apply_entries(
            session, get_bank(session, "by-file"), read_lines(lines), source="partner"
        )
        session.commit()
    assert paged.added == filed.added == 30
    by_page, by_file = _entries(database, "by-page"), _entries(database, "by-file")
    assert by_page == by_file == {v: ("active", flag) for v, flag in values.items()}
    with database.session() as session:
        provenance = {
            v: p
            for v, p in session.execute(
                select(BankEntry.value, BankEntry.provenance)
                .join(Bank, Bank.id == BankEntry.bank_id)
                .where(Bank.name == "by-page")
            )
        }
    assert provenance == {v: {"smooth": True} if flag else None for v, flag in values.items()}
    smooth = next(v for v, flag in values.items() if flag)
    plain = next(v for v, flag in values.items() if not flag)
    assert not _matches(database, settings, _flip(smooth, 24))
    assert _matches(database, settings, _flip(smooth, 12))
    assert _matches(database, settings, _flip(plain, 24))


@pytest.fixture
def source() -> Identity:
    return Identity(Ed25519PrivateKey.generate())


def _pull(database: Database, settings: Settings, handler: object) -> str | None:
    allowed = settings.model_copy(update={"exchange_allow_private": True})
    with database.session() as session:
        partner_id = get_partner(session, "a").id
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:  # type: ignore[arg-type]
        return pull_partner(database.engine, allowed, partner_id, client=client).error


@pytest.mark.parametrize("old_source", [False, True])
def test_a_pull_keeps_the_flag_and_reads_a_source_older_than_format_3(
    database: Database, settings: Settings, source: Identity, old_source: bool
) -> None:
    """The puller asks for rescind-feed/3 and banks a smooth entry as smooth; a source older
    than /3 refuses format=3 with HTTP 422 and is asked for /2 instead, whose page applies."""
    allowed = settings.model_copy(update={"exchange_allow_private": True})
    with database.session() as session:
        add_partner(session, allowed, "a", URL, api_key="k", public_key=source.public_key)
    smooth, plain = secrets.token_hex(32), secrets.token_hex(32)
    columns = _columns({smooth: True, plain: False}, source.instance_id)
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        version = request.url.params["format"]
        asked.append(version)
        if old_source and version != "2":
            return httpx.Response(422, json={"title": "format: less than or equal to 2"})
        page_columns = (
            {n: columns[n] for n in COLUMNS}
            | {"status": ["withdrawn" if f else "active" for f in columns["smooth"]]}
            if version == "2"
            else columns
        )
        body = json.dumps(
            {"format": f"rescind-feed/{version}", "instance": source.instance_id,
             "after": 0, "next": 5, "more": False, "columns": page_columns}
        ).encode()  # fmt: skip
        signed = {SIGNATURE_HEADER: f"ed25519={source.sign(body)}"}
        return httpx.Response(200, content=body, headers=signed)

    assert _pull(database, settings, handler) is None
    assert asked == (["3", "2"] if old_source else ["3"])
    got = _entries(database, "partner-a")
    if old_source:  # /2 shows no smooth entry: only the plain one is banked
        assert got == {plain: ("active", False)}
    else:
        assert got == {smooth: ("active", True), plain: ("active", False)}


# Rows 1-16 of the orthonormal 64-point DCT-II: the coefficients PDQ's bits compare.
_DCT = np.array(
    [[math.sqrt(2 / 64) * math.cos(math.pi / 128 * i * (2 * j + 1)) for j in range(64)]
     for i in range(1, 17)]
)  # fmt: skip


def _buffer_with_hash(value: str, *, smooth: bool) -> npt.NDArray[np.float32]:
    """A 64x64 buffer (pixel values 0-255) whose PDQ hash is `value`: each of the 256
    coefficients +1 where its bit is set, -1 where not (the bits compare each with their
    median); with `smooth`, 16 of them 50 times larger, same signs (the same bits)."""
    n = int(value, 16)
    coefficients = np.array([1.0 if (n >> k) & 1 else -1.0 for k in range(256)])
    if smooth:
        coefficients[np.arange(1, 17) * 15] *= 50
    block = coefficients.reshape(16, 16)
    return (128 + 4 * (_DCT.T @ block @ _DCT)).astype(np.float32)


def test_a_hash_alone_cannot_tell_a_smooth_picture() -> None:
    """Why a bare hash (StopNCII, HMA routes, `/v1/check` with hashes, the foreign files) is
    never taken as smooth or not: a PDQ hash keeps only which coefficients are above their
    median, not how large they are, and the smooth test is about how large. For a photo's
    hash and a gradient's alike, a smooth buffer and a buffer that is not both have exactly
    that hash."""
    photo = hash_bytes(media.jpeg(reported())).pdq[0].hash
    gradient = hash_bytes(gradient_png()).pdq[0].hash
    assert all(bin(int(h, 16)).count("1") == 128 for h in (photo, gradient))
    for value in (photo, gradient):
        for smooth in (False, True):
            buffer = _buffer_with_hash(value, smooth=smooth)
            assert buffer.min() >= 0 and buffer.max() <= 255
            assert hashes_of_buffers(buffer[None])[0][0] == value
            assert bool(smooth_buffers(buffer[None])[0]) is smooth
