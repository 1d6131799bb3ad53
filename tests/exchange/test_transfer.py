"""The exchange format and file import/export: strict, all or nothing, withdrawals travel, and
imported entries match through the matcher's change feed."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from rescind.config import Settings
from rescind.exchange.errors import ExchangeError, FormatError
from rescind.exchange.files import READERS, write_line
from rescind.exchange.format import read_lines
from rescind.exchange.transfer import apply_entries, export_entries
from rescind.platform.banks import create_bank, ensure_default_banks, get_bank
from rescind.platform.matcher import Matcher
from rescind.platform.signals import PdqHash, Signals
from rescind.store import Database
from rescind.store.models import BankEntry


def _line(i: int, value: str, **extra: object) -> str:
    obj = {
        "v": 1, "id": f"e{i}", "type": "pdq", "value": value, "quality": 90, "t": None,
        "group": None, "opinion": "positive", "status": "active",
        "source": {"instance": "peer", "bank": "ncii", "case": None},
        "created_at": "2026-05-19T00:00:00Z", "updated_at": None,
    } | extra  # fmt: skip
    return json.dumps(obj) + "\n"


@pytest.fixture
def ready(database: Database, settings: Settings) -> Iterator[Database]:
    with database.session() as session:
        ensure_default_banks(session, settings)
    yield database


def _active(database: Database) -> int:
    with database.session() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(BankEntry).where(BankEntry.status == "active")
            )
            or 0
        )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"v": 3}', "unsupported format version"),
        (_line(1, "zz" * 32), "value"),
        (_line(1, "ab" * 32, extra=1), "unknown field"),
        (_line(1, "ab" * 32, type="video_pdq"), "needs t"),
        (_line(1, "ab" * 32, quality=101), "quality"),
        (_line(1, "ab" * 32, opinion="maybe"), "opinion"),
    ],
)
def test_a_bad_line_names_its_number_and_never_quotes_the_hash(line: str, message: str) -> None:
    good = _line(0, secrets.token_hex(32))
    with pytest.raises(FormatError) as err:
        list(read_lines([good, "\n", line]))
    assert err.value.line == 3
    assert message in err.value.detail
    assert "ab" * 32 not in err.value.detail


def test_a_file_is_applied_all_or_nothing(ready: Database) -> None:
    lines = [_line(i, secrets.token_hex(32)) for i in range(50)] + ["{}\n"]
    with pytest.raises(FormatError), ready.session() as session:
        apply_entries(
            session, get_bank(session, "ncii"), read_lines(lines), source="import", batch=10
        )
    assert _active(ready) == 0


def test_import_is_idempotent_and_withdrawals_travel(ready: Database, settings: Settings) -> None:
    values = [secrets.token_hex(32) for _ in range(20)]
    lines = [_line(i, v) for i, v in enumerate(values)]
    with ready.session() as session:
        report = apply_entries(
            session, get_bank(session, "ncii"), read_lines(lines), source="import"
        )
    assert (report.added, _active(ready)) == (20, 20)
    with ready.session() as session:
        again = apply_entries(
            session, get_bank(session, "ncii"), read_lines(lines), source="import"
        )
    assert (again.added, again.unchanged) == (0, 20)
    withdrawn = [_line(3, values[3], status="withdrawn")]
    with ready.session() as session:
        report = apply_entries(
            session, get_bank(session, "ncii"), read_lines(withdrawn), source="import"
        )
    assert report.withdrawn == 1 and _active(ready) == 19
    # The matcher follows the change feed: the withdrawn one no longer matches.
    matcher = Matcher(settings)
    with ready.session() as session:
        matcher.sync(session)
    assert matcher.match(Signals(pdq=(PdqHash(values[4], 90),)))
    assert not matcher.match(Signals(pdq=(PdqHash(values[3], 90),)))
    # Active again at the source: banked anew.
    with ready.session() as session:
        report = apply_entries(
            session, get_bank(session, "ncii"), read_lines(lines[3:4]), source="import"
        )
    assert report.added == 1 and _active(ready) == 20


def test_an_allow_list_takes_only_negative_opinions(ready: Database) -> None:
    with ready.session() as session, pytest.raises(ExchangeError):
        apply_entries(
            session, get_bank(session, "allow"), read_lines([_line(1, "ab" * 32)]), source="import"
        )
    with ready.session() as session:
        bank = create_bank(session, "peer-ncii", on_match="review")
        report = apply_entries(
            session, bank, read_lines([_line(1, "ab" * 32, opinion="negative")]),
            source="partner", other_opinion="skip",
        )  # fmt: skip
    assert report.skipped == 1 and _active(ready) == 0


@pytest.mark.parametrize("fmt", ["rescind", "hma", "pytx"])
def test_export_then_import_round_trips(ready: Database, settings: Settings, fmt: str) -> None:
    values = sorted(secrets.token_hex(32) for _ in range(30))
    with ready.session() as session:
        apply_entries(
            session,
            get_bank(session, "ncii"),
            read_lines([_line(i, v) for i, v in enumerate(values)]),
            source="import",
        )
        create_bank(session, "copy")
    with ready.session() as session:
        bank = get_bank(session, "ncii")
        text = [write_line(e, fmt) for e in export_entries(session, settings, bank, "me")]
    with ready.session() as session:
        apply_entries(
            session,
            get_bank(session, "copy"),
            READERS[fmt]([t for t in text if t]),
            source="import",
        )
        copy = get_bank(session, "copy")
        got = sorted(session.scalars(select(BankEntry.value).where(BankEntry.bank_id == copy.id)))
    assert got == values


def test_vpdq_frames_share_a_group_and_keep_their_times() -> None:
    rows = [f"{i},{80 + i},{secrets.token_hex(32)},{i * 1.0:.3f}\n" for i in range(5)]
    entries = list(READERS["vpdq"](rows))
    assert {e.group for e in entries} != {None} and len({e.group for e in entries}) == 1
    assert [e.t for e in entries] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert [write_line(e, "vpdq", i) for i, e in enumerate(entries)] == rows
    with pytest.raises(FormatError) as err:
        list(READERS["vpdq"](["0,90,abc,0.0\n"]))
    assert err.value.line == 1


def test_imported_entries_keep_comparable_times(ready: Database, settings: Settings) -> None:
    """Bulk-inserted rows store times as the ORM does: `--since` finds them, and only them."""
    from datetime import UTC, datetime, timedelta

    before = datetime.now(UTC) - timedelta(minutes=1)
    with ready.session() as session:
        bank = get_bank(session, "ncii")
        apply_entries(session, bank, read_lines([_line(1, secrets.token_hex(32))]), source="import")
    with ready.session() as session:
        bank = get_bank(session, "ncii")
        entry = session.scalars(select(BankEntry)).one()
        assert entry.created_at.tzinfo is not None and entry.created_at >= before
        assert len(list(export_entries(session, settings, bank, "me", since=before))) == 1
        later = datetime.now(UTC) + timedelta(minutes=1)
        assert list(export_entries(session, settings, bank, "me", since=later)) == []


def test_batches_see_each_other(ready: Database) -> None:
    """Across batches: a re-import finds every link; an id repeated far apart in one file is
    refused whole rather than banked twice."""
    values = [secrets.token_hex(32) for _ in range(23)]
    lines = [_line(i, v) for i, v in enumerate(values)]
    with ready.session() as session:
        bank = get_bank(session, "ncii")
        assert apply_entries(session, bank, read_lines(lines), source="import", batch=5).added == 23
    with ready.session() as session:
        bank = get_bank(session, "ncii")
        again = apply_entries(session, bank, read_lines(lines), source="import", batch=5)
    assert (again.added, again.unchanged) == (0, 23)
    twice = [_line(i, secrets.token_hex(32), source={"instance": "other", "bank": None,
             "case": None}) for i in (1, 2, 3, 4, 5, 6, 1)]  # fmt: skip
    with pytest.raises(ExchangeError, match="appears twice"), ready.session() as session:
        apply_entries(
            session, get_bank(session, "ncii"), read_lines(twice), source="import", batch=3
        )
    assert _active(ready) == 23
