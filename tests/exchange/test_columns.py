"""Feed pages as columns (rescind-feed/2, and /3 with `smooth`): read column by column for
speed, they must accept exactly what the exchange format's strict reader accepts, entry by
entry, and refuse the rest naming the entry."""

from __future__ import annotations

import gc
import json
import random
from typing import Any

import pytest

from rescind.exchange.format import (
    COLUMNS,
    SMOOTH_COLUMNS,
    ExchangeEntry,
    _columns_fast,
    entries_from_columns,
    entry_from_json,
    read_columns,
)

INSTANCE = "03b4" * 8


def _valid(rng: random.Random, i: int) -> dict[str, Any]:
    kind = rng.choice(["pdq", "pdq", "pdq_cut", "video_pdq", "md5", "sha256"])
    video = kind == "video_pdq"
    return {
        "id": str(i),
        "type": kind,
        "value": rng.randbytes(16 if kind == "md5" else 32).hex(),
        "quality": rng.choice([None, 0, 90, 100]),
        "t": rng.choice([0, 1.5, 12]) if video else None,
        "group": "g1" if video else rng.choice([None, "view-1"]),
        "opinion": rng.choice(["positive", "negative"]),
        "status": rng.choice(["active", "withdrawn"]),
        "bank": rng.choice([None, "ncii"]),
        "case": rng.choice([None, "b51e" * 8]),
        "created_at": rng.choice([None, "2026-05-19T10:00:00Z", "2026-05-19T12:00:00+02:00"]),
        "updated_at": "2026-05-19T10:00:00Z",
    }


# What a hostile or broken source might put in one field of one entry.
BAD: list[Any] = [
       None, True, False, -1, 101, 1.5, float("inf"), 10**30, "", "x", "A" * 64, "Z" * 64,
       "a\nb", "2026-05-19T10:00:00", "not a time", "positive", "withdrawn", "pdq", "video_pdq",
       "g1\ng2", "F" * 64, "f" * 63, "f" * 64, "f" * 32, [], {}, ["f" * 64], "n" * 121,
       3]  # fmt: skip


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {name: [row[name] for row in rows] for name in COLUMNS}


def _one_by_one(rows: list[dict[str, Any]]) -> list[ExchangeEntry] | str:
    """The reference: each entry through the format's strict reader."""
    entries = []
    for number, row in enumerate(rows, start=1):
        obj = {k: v for k, v in row.items() if k not in ("bank", "case")}
        obj |= {"v": 1, "source": {"instance": INSTANCE, "bank": row["bank"], "case": row["case"]}}
        try:
            entries.append(entry_from_json(obj))
        except ValueError as exc:
            return f"entry {number} of the page: {exc}"
    return entries


def _read(rows: list[dict[str, Any]]) -> list[ExchangeEntry] | str:
    try:
        return entries_from_columns(_columns(rows), INSTANCE, 1000)
    except ValueError as exc:
        return str(exc)


def test_columns_read_as_the_strict_reader_reads_each_entry() -> None:
    rng = random.Random(20)
    for round_ in range(400):
        rows = [_valid(rng, i) for i in range(rng.randint(0, 12))]
        if rows and round_ % 4:  # most rounds: one field of one entry spoiled
            rng.choice(rows)[rng.choice(COLUMNS)] = rng.choice(BAD)
        assert _read(rows) == _one_by_one(rows), rows


def test_valid_columns_give_every_field() -> None:
    rows = [_valid(random.Random(1), i) for i in range(50)]
    entries = entries_from_columns(_columns(rows), INSTANCE, 50)
    assert entries == _one_by_one(rows)
    # ... read column by column (the speed of a partner's catch-up depends on it)
    fast = _columns_fast(_columns(rows), 50, INSTANCE)
    assert fast is not None and fast.entries() == entries
    assert all(e.source.instance == INSTANCE for e in entries)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ([], "columns must be exactly"),
        ({name: [] for name in COLUMNS[:-1]}, "columns must be exactly"),
        ({name: [] for name in COLUMNS} | {"extra": []}, "columns must be exactly"),
        ({name: [] for name in COLUMNS} | {"id": "1"}, "must be a list"),
        ({name: [None] for name in COLUMNS} | {"id": []}, "not all of the same length"),
        (_columns([_valid(random.Random(2), i) for i in range(3)]), "more than 2 entries"),
    ],
)
def test_malformed_columns_are_refused(columns: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        entries_from_columns(columns, INSTANCE, 2)


def _one_by_one_smooth(rows: list[dict[str, Any]]) -> list[ExchangeEntry] | str:
    """The reference for rescind-feed/3: each entry as a version 2 line."""
    entries = []
    for number, row in enumerate(rows, start=1):
        obj = {k: v for k, v in row.items() if k not in ("bank", "case")}
        obj |= {"v": 2, "source": {"instance": INSTANCE, "bank": row["bank"], "case": row["case"]}}
        try:
            entries.append(entry_from_json(obj))
        except ValueError as exc:
            return f"entry {number} of the page: {exc}"
    return entries


def test_smooth_columns_read_as_the_strict_reader_reads_each_entry() -> None:
    """rescind-feed/3: the same, with `smooth` (a bool; true only for pdq and pdq_cut)."""
    rng = random.Random(21)
    smooth_seen = 0
    for round_ in range(400):
        rows = [_valid(rng, i) for i in range(rng.randint(0, 12))]
        for row in rows:
            row["smooth"] = row["type"] in ("pdq", "pdq_cut") and rng.random() < 0.3
            smooth_seen += row["smooth"]
        if rows and round_ % 4:
            rng.choice(rows)[rng.choice(SMOOTH_COLUMNS)] = rng.choice(BAD)
        columns = {name: [row[name] for row in rows] for name in SMOOTH_COLUMNS}
        try:
            got: list[ExchangeEntry] | str = entries_from_columns(
                columns, INSTANCE, 1000, names=SMOOTH_COLUMNS
            )
        except ValueError as exc:
            got = str(exc)
        assert got == _one_by_one_smooth(rows), rows
    assert smooth_seen > 100


def test_a_full_page_read_as_columns_leaves_the_garbage_collector_almost_nothing() -> None:
    """A page of 25,000 changes is read into a dozen lists (of strings, numbers and times,
    which the cyclic collector does not track), not an object per entry: a partner catching
    up no longer makes the collector walk tens of thousands of objects per page, again and
    again, in the puller's process (docs/benchmarks.md)."""
    rng = random.Random(3)
    body = json.dumps(_columns([_valid(rng, i) for i in range(25_000)])).encode()
    gc.collect()
    before = len(gc.get_objects())
    read = read_columns(json.loads(body), INSTANCE, 25_000)
    gc.collect()
    tracked = len(gc.get_objects()) - before
    assert len(read) == 25_000 and read.entries()[-1].id == "24999"
    assert tracked < 100, tracked


def test_a_full_page_of_format_3_read_as_columns_leaves_the_collector_almost_nothing() -> None:
    """The same for rescind-feed/3: its `smooth` column (booleans, untracked) is one more list,
    read column by column (no fallback to an object per entry), and each entry keeps its flag."""
    rng = random.Random(4)
    rows = [_valid(rng, i) for i in range(25_000)]
    for row in rows:
        row["smooth"] = row["type"] in ("pdq", "pdq_cut") and rng.random() < 0.3
    columns = {name: [row[name] for row in rows] for name in SMOOTH_COLUMNS}
    assert _columns_fast(columns, 25_000, INSTANCE) is not None  # no entry-by-entry reading
    body = json.dumps(columns).encode()
    gc.collect()
    before = len(gc.get_objects())
    read = read_columns(json.loads(body), INSTANCE, 25_000, names=SMOOTH_COLUMNS)
    gc.collect()
    tracked = len(gc.get_objects()) - before
    assert tracked < 100, tracked
    assert read.smooth == [row["smooth"] for row in rows] and 3000 < sum(read.smooth) < 4500
    assert [e.smooth for e in read.entries()] == read.smooth


def test_a_page_of_format_2_reads_every_entry_as_not_smooth() -> None:
    rng = random.Random(5)
    read = read_columns(_columns([_valid(rng, i) for i in range(50)]), INSTANCE, 50)
    assert read.smooth == [False] * 50
    with pytest.raises(ValueError, match="must be exactly"):  # /2 has no smooth column
        read_columns(_columns([_valid(rng, 0)]) | {"smooth": [False]}, INSTANCE, 1)
