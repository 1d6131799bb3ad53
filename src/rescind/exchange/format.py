"""The Rescind exchange format: JSON Lines, one bank entry per line (docs/exchange.md).

Version 1 is every entry but a smooth picture's; version 2 adds `smooth` (a gradient's hash,
matched within 16 bits and never blocking: docs/matching.md), and only such an entry is
written as version 2, so a reader of version 1 still reads every file without one and refuses
a file with one (by its version) rather than take a gradient's hash for an ordinary one.

Parsing is strict: an unknown or missing field, a malformed hash, a wrong version, anything
that is not one JSON object per line is a `FormatError` naming the line. Whoever applies a
file does so in one transaction, so a bad line anywhere leaves nothing imported.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from rescind.exchange.errors import FormatError
from rescind.platform.errors import InvalidSignalError
from rescind.platform.signals import MD5, PDQ, PDQ_CUT, SHA256, VIDEO_PDQ, hex_value

VERSION = 1
SMOOTH_VERSION = 2  # version 1's fields and `smooth`: how a smooth picture's entry is written
VERSIONS = (VERSION, SMOOTH_VERSION)
HEX_LENGTHS = {PDQ: 64, PDQ_CUT: 64, VIDEO_PDQ: 64, MD5: 32, SHA256: 64}
SIGNAL_TYPES = tuple(HEX_LENGTHS)
POSITIVE, NEGATIVE = "positive", "negative"  # NCII / a "not NCII" verdict
OPINIONS = (POSITIVE, NEGATIVE)
ACTIVE, WITHDRAWN = "active", "withdrawn"
STATUSES = (ACTIVE, WITHDRAWN)
MAX_LINE_BYTES = 4096
_REF = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_HEX = {n: re.compile(f"[0-9a-f]{{{n}}}") for n in (32, 64)}
_FIELDS = frozenset(
    {"v", "id", "type", "value", "quality", "t", "group", "opinion", "status", "source",
     "created_at", "updated_at", "smooth"}
)  # fmt: skip
_SOURCE_FIELDS = frozenset({"instance", "bank", "case"})


@dataclass(frozen=True)
class Provenance:
    """Where an entry comes from: instance id, bank name there, and a keyed hash of its case
    (never the case number itself)."""

    instance: str
    bank: str | None = None
    case: str | None = None


@dataclass(frozen=True)
class ExchangeEntry:
    """One shared signal: its identity at the source (`id`), the signal, the source's opinion
    and the entry's status there."""

    id: str
    signal_type: str
    value: str
    source: Provenance
    quality: int | None = None
    t: float | None = None
    group: str | None = None
    opinion: str = POSITIVE
    status: str = ACTIVE
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # A smooth picture's hash (a gradient): matched within 16 bits, never blocking.
    smooth: bool = False

    def to_json(self) -> dict[str, Any]:
        """The entry as the JSON object of one line (also a feed page item): version 1, or
        version 2 with `smooth` for a smooth picture's entry."""
        if self.smooth:
            return {**self._fields(), "v": SMOOTH_VERSION, "smooth": True}
        return self._fields()

    def _fields(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "id": self.id,
            "type": self.signal_type,
            "value": self.value,
            "quality": self.quality,
            "t": self.t,
            "group": self.group,
            "opinion": self.opinion,
            "status": self.status,
            "source": {
                "instance": self.source.instance,
                "bank": self.source.bank,
                "case": self.source.case,
            },
            "created_at": iso_time(self.created_at),
            "updated_at": iso_time(self.updated_at),
        }

    def to_line(self) -> str:
        """One line of a `.jsonl` file, newline included."""
        return json.dumps(self.to_json(), separators=(",", ":"), sort_keys=True) + "\n"


@lru_cache(maxsize=4096)
def iso_time(at: datetime | None) -> str | None:
    """`at` as ISO 8601 in UTC with a `Z` (the format's times)."""
    # Cached: entries banked together share their times, and a feed page writes a million.
    return None if at is None else at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _ref(value: object, what: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not _REF.fullmatch(value):
        raise ValueError(f"{what} must be 1-64 characters of [A-Za-z0-9-_.:]")
    return value


def _time(value: object, what: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{what} must be an ISO 8601 time")
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{what} must be an ISO 8601 time") from None
    if at.tzinfo is None:
        raise ValueError(f"{what} must carry a time zone")
    return at.astimezone(UTC)


def _choice(value: object, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}")
    return str(value)


def entry_from_json(obj: object) -> ExchangeEntry:
    """A validated entry from a decoded JSON object; ValueError says what is wrong (never
    quoting a hash)."""
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    if not obj.keys() <= _FIELDS:
        raise ValueError(f"unknown field(s): {', '.join(sorted(set(obj) - _FIELDS))}")
    version = obj.get("v")
    if isinstance(version, bool) or version not in VERSIONS:
        raise ValueError("unsupported format version (this reader knows 1 and 2)")
    smooth = obj.get("smooth", False)
    if version == VERSION and "smooth" in obj:
        raise ValueError("smooth needs format version 2")
    if version == SMOOTH_VERSION and type(smooth) is not bool:
        raise ValueError("a version 2 entry needs smooth, true or false")
    signal_type = _choice(obj.get("type"), SIGNAL_TYPES, "type")
    if smooth and signal_type not in (PDQ, PDQ_CUT):
        raise ValueError("only a picture's pdq or pdq_cut entry can be smooth")
    value = obj.get("value")
    if not (isinstance(value, str) and _HEX[HEX_LENGTHS[signal_type]].fullmatch(value)):
        try:  # the common case is already lowercase hex; this names what is wrong
            value = hex_value(value, HEX_LENGTHS[signal_type], "value")
        except InvalidSignalError as exc:
            raise ValueError(f"value: {exc.detail}") from None
    quality = obj.get("quality")
    if quality is not None and (
        isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 100
    ):
        raise ValueError("quality must be an integer from 0 to 100")
    t, group = obj.get("t"), obj.get("group")
    if signal_type == VIDEO_PDQ:
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t < 0:
            raise ValueError("a video frame needs t, its time in seconds (>= 0)")
        group = _ref(group, "group")
    elif t is not None:
        raise ValueError("only video_pdq entries have t")
    else:
        group = _ref(group, "group", optional=True)
    source = obj.get("source")
    if not isinstance(source, dict) or not source.keys() <= _SOURCE_FIELDS:
        raise ValueError("source must be an object with instance, bank, case")
    bank = source.get("bank")
    if bank is not None and (not isinstance(bank, str) or not 1 <= len(bank) <= 120):
        raise ValueError("source.bank must be a name of 1-120 characters")
    return ExchangeEntry(
        id=str(_ref(obj.get("id"), "id")),
        signal_type=signal_type,
        value=value,
        quality=quality,
        t=None if t is None else float(t),
        group=group,
        opinion=_choice(obj.get("opinion"), OPINIONS, "opinion"),
        status=_choice(obj.get("status"), STATUSES, "status"),
        source=Provenance(
            instance=str(_ref(source.get("instance"), "source.instance")),
            bank=bank,
            case=_ref(source.get("case"), "source.case", optional=True),
        ),
        created_at=_time(obj.get("created_at"), "created_at"),
        updated_at=_time(obj.get("updated_at"), "updated_at"),
        smooth=smooth,
    )


def parse_line(text: str, number: int) -> ExchangeEntry:
    """One line of a file, or FormatError naming line `number`."""
    if len(text) > MAX_LINE_BYTES:
        raise FormatError(number, f"longer than {MAX_LINE_BYTES} characters")
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise FormatError(number, "not valid JSON") from None
    try:
        return entry_from_json(obj)
    except ValueError as exc:
        raise FormatError(number, str(exc)) from None


def read_lines(lines: Iterable[str]) -> Iterator[ExchangeEntry]:
    """Entries of a `.jsonl` stream; blank lines are allowed, anything else must be an entry."""
    for number, text in enumerate(lines, start=1):
        if text.strip():
            yield parse_line(text, number)


# Columns: the same entries as a feed page's arrays (rescind-feed/2, docs/exchange.md);
# rescind-feed/3 adds `smooth` (true for a smooth picture's entry, false for any other).
COLUMNS = ("id", "type", "value", "quality", "t", "group", "opinion", "status", "bank", "case",
           "created_at", "updated_at")  # fmt: skip
SMOOTH_COLUMNS = (*COLUMNS, "smooth")
_REFS = re.compile(r"[A-Za-z0-9_.:-]{1,64}(?:\n[A-Za-z0-9_.:-]{1,64})*")
_LOWER_HEX = re.compile(r"[0-9a-f]*")


def _entry_object(columns: dict[str, list[Any]], i: int, instance: str) -> dict[str, Any]:
    """Entry `i` of `columns` as the exchange format's object (the strict reader's input)."""
    obj = {name: columns[name][i] for name in columns}
    obj["source"] = {"instance": instance, "bank": obj.pop("bank"), "case": obj.pop("case")}
    return {"v": SMOOTH_VERSION if "smooth" in columns else VERSION, **obj}


def _refs_ok(values: list[Any], *, optional: bool) -> bool:
    present = [v for v in values if v is not None] if optional else values
    if not present:
        return True
    if not all(type(v) is str for v in present):
        return False
    joined = "\n".join(present)
    return joined.count("\n") == len(present) - 1 and _REFS.fullmatch(joined) is not None


@dataclass(frozen=True, slots=True)
class EntryColumns:
    """Entries as columns: entry `i` is item `i` of every list. A feed page of 25,000 entries
    read this way is a dozen lists of strings, numbers, booleans and times, none of which the
    cyclic garbage collector tracks; as 25,000 `ExchangeEntry` objects it was 25,000 objects kept
    alive for the whole page, which the collector walked again and again (docs/benchmarks.md).
    """

    origin: list[str]  # the source instance (Provenance.instance)
    id: list[str]
    signal_type: list[str]
    value: list[str]
    quality: list[int | None]
    t: list[float | None]
    group: list[str | None]
    opinion: list[str]
    status: list[str]
    bank: list[str | None]
    case: list[str | None]
    created_at: list[datetime | None]
    updated_at: list[datetime | None]
    smooth: list[bool]  # a smooth picture's entry (rescind-feed/3, version 2 lines)

    def __len__(self) -> int:
        return len(self.id)

    def slice(self, start: int, stop: int) -> EntryColumns:
        """Entries `start` to `stop` (excluded)."""
        return EntryColumns(*(getattr(self, f.name)[start:stop] for f in fields(self)))

    @classmethod
    def of(cls, entries: Sequence[ExchangeEntry]) -> EntryColumns:
        """The columns of `entries`."""
        return cls(
            [e.source.instance for e in entries], [e.id for e in entries],
            [e.signal_type for e in entries], [e.value for e in entries],
            [e.quality for e in entries], [e.t for e in entries], [e.group for e in entries],
            [e.opinion for e in entries], [e.status for e in entries],
            [e.source.bank for e in entries], [e.source.case for e in entries],
            [e.created_at for e in entries], [e.updated_at for e in entries],
            [e.smooth for e in entries],
        )  # fmt: skip

    def entries(self) -> list[ExchangeEntry]:
        """The entries as objects (tests and small pages; the puller keeps the columns)."""
        return [
            ExchangeEntry(
                id=i, signal_type=kind, value=value, source=Provenance(origin, bank, case),
                quality=quality, t=t, group=group, opinion=opinion, status=status,
                created_at=made, updated_at=changed, smooth=smooth,
            )
            for origin, i, kind, value, quality, t, group, opinion, status, bank, case, made,
            changed, smooth in zip(*(getattr(self, f.name) for f in fields(self)), strict=True)
        ]  # fmt: skip


def _columns_fast(columns: dict[str, list[Any]], n: int, instance: str) -> EntryColumns | None:
    """The entries, when every check passes column by column; None as soon as one does not
    (the caller then reads entry by entry, which says which entry and why). Accepts exactly
    what `entry_from_json` accepts unchanged, no more. The page's own lists become the
    columns: no object per entry."""
    types, values = columns["type"], columns["value"]
    kinds = set()
    for kind in types:
        if type(kind) is not str or kind not in HEX_LENGTHS:
            return None
        kinds.add(kind)
    if not all(type(v) is str for v in values) or not _LOWER_HEX.fullmatch("".join(values)):
        return None
    lengths = {HEX_LENGTHS[k] for k in kinds}
    if len(lengths) == 1:
        if n and set(map(len, values)) != lengths:
            return None
    elif any(len(v) != HEX_LENGTHS[k] for k, v in zip(types, values, strict=True)):
        return None
    if not all(q is None or (type(q) is int and 0 <= q <= 100) for q in columns["quality"]):
        return None
    ts, groups = columns["t"], columns["group"]
    if VIDEO_PDQ in kinds:
        for kind, t, group in zip(types, ts, groups, strict=True):
            if kind == VIDEO_PDQ:
                if type(t) not in (int, float) or not math.isfinite(t) or t < 0 or group is None:
                    return None
            elif t is not None:
                return None
        ts = [None if t is None else float(t) for t in ts]
    elif any(t is not None for t in ts):
        return None
    if not _refs_ok(groups, optional=True) or not _refs_ok(columns["id"], optional=False):
        return None
    if not _refs_ok(columns["case"], optional=True):
        return None
    opinions, statuses = columns["opinion"], columns["status"]
    for column, allowed in ((opinions, OPINIONS), (statuses, STATUSES)):
        if not all(type(v) is str and v in allowed for v in column):
            return None
    banks = columns["bank"]
    if not all(b is None or (type(b) is str and 1 <= len(b) <= 120) for b in banks):
        return None
    smooth = columns.get("smooth")
    if smooth is not None:
        for kind, flag in zip(types, smooth, strict=True):
            if type(flag) is not bool or (flag and kind not in (PDQ, PDQ_CUT)):
                return None
    times: dict[str | None, datetime | None] = {None: None}
    for column in (columns["created_at"], columns["updated_at"]):
        for raw in column:
            if raw not in times:
                if type(raw) is not str:
                    return None
                try:
                    times[raw] = _time(raw, "time")
                except ValueError:
                    return None
    return EntryColumns(
        origin=[instance] * n, id=columns["id"], signal_type=types, value=values,
        quality=columns["quality"], t=ts, group=groups, opinion=opinions, status=statuses,
        bank=banks, case=columns["case"],
        created_at=[times[raw] for raw in columns["created_at"]],
        updated_at=[times[raw] for raw in columns["updated_at"]],
        smooth=[False] * n if smooth is None else smooth,
    )  # fmt: skip


def read_columns(
    columns: object, instance: str, limit: int, *, names: tuple[str, ...] = COLUMNS
) -> EntryColumns:
    """The entries of a feed page's `columns` (rescind-feed/2; with `names` SMOOTH_COLUMNS,
    rescind-feed/3), all from `instance`, at most `limit`, as columns; validated as strictly
    as the format's lines. ValueError names the entry (`entry N of the page: ...`) or says
    what is wrong with the columns."""
    if not isinstance(columns, dict) or set(columns) != set(names):
        raise ValueError(f"the page's columns must be exactly: {', '.join(names)}")
    if not all(isinstance(columns[name], list) for name in names):
        raise ValueError("every column of the page must be a list")
    sizes = {len(columns[name]) for name in names}
    if len(sizes) != 1:
        raise ValueError("the page's columns are not all of the same length")
    n = sizes.pop()
    if n > limit:
        raise ValueError(f"the page has more than {limit} entries")
    try:
        fast = _columns_fast(columns, n, instance)
    except (TypeError, ValueError, OverflowError):
        fast = None  # e.g. an unhashable item; the entry-by-entry reading names it
    if fast is not None:
        return fast
    entries = []
    for i in range(n):
        try:
            entries.append(entry_from_json(_entry_object(columns, i, instance)))
        except ValueError as exc:
            raise ValueError(f"entry {i + 1} of the page: {exc}") from None
    return EntryColumns.of(entries)


def entries_from_columns(
    columns: object, instance: str, limit: int, *, names: tuple[str, ...] = COLUMNS
) -> list[ExchangeEntry]:
    """`read_columns`, as entry objects."""
    return read_columns(columns, instance, limit, names=names).entries()
