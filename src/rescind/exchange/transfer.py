"""Export a bank's entries as exchange entries, and apply exchange entries to a bank.

Applying goes through the bank-entry service (`rescind.platform.banks`), so every matcher picks
the entries up from the change feed like any other. The caller owns the transaction: a file or
a feed page is applied in one, so an error anywhere leaves nothing behind. Entries are keyed by
(source instance, source id) in `exchange_links`: the same entry again changes nothing, its
withdrawal withdraws the local copy, and a withdrawn entry made active again is banked anew.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any, cast

from sqlalchemy import ColumnElement, String, Table, any_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session

from rescind.config import Settings
from rescind.exchange.errors import ExchangeError
from rescind.exchange.format import (
    ACTIVE,
    NEGATIVE,
    POSITIVE,
    WITHDRAWN,
    EntryColumns,
    ExchangeEntry,
    Provenance,
)
from rescind.media.robust import is_equalised
from rescind.platform.banks import NewEntry, add_entries, withdraw_entries
from rescind.security.crypto import derive_key
from rescind.store.bulk import insert_rows
from rescind.store.models import Bank, BankEntry, ExchangeLink, Request
from rescind.store.statuses import BankEntryStatus

BATCH = 5000
_SMOOTH = {"smooth": True}  # the provenance of a smooth picture's entry (platform/banks.py)
BULK_CACHE_KIB = 256 * 1024


def case_reference(settings: Settings, case_number: str) -> str:
    """A keyed hash standing for a case in what we share: the same case gives the same
    reference (so a partner can tell entries of one case apart), but the case number cannot
    be recovered or guessed from it without this instance's key."""
    key = derive_key(settings, "exchange-case-ref")
    return hmac.new(key, case_number.encode(), hashlib.sha256).hexdigest()[:32]


def export_entries(
    session: Session,
    settings: Settings,
    bank: Bank,
    instance_id: str,
    *,
    since: datetime | None = None,
    batch: int = BATCH,
) -> Iterator[ExchangeEntry]:
    """Every entry of `bank` (withdrawn ones too, so withdrawals travel), in id order, read in
    batches; with `since`, only entries changed at or after that time. A flat picture's
    equalised views are left out (:func:`equalised`)."""
    opinion = NEGATIVE if bank.kind == "allow" else POSITIVE
    refs: dict[str, str] = {}
    last = 0
    while True:
        query = (
            select(BankEntry, Request.case_number)
            .outerjoin(Request, Request.id == BankEntry.request_id)
            .where(BankEntry.bank_id == bank.id, BankEntry.id > last)
            .order_by(BankEntry.id)
            .limit(batch)
        )
        if since is not None:
            query = query.where(BankEntry.updated_at >= since)
        rows = session.execute(query).all()
        if not rows:
            return
        for entry, case_number in rows:
            if equalised(entry.provenance):
                continue
            case = None
            if case_number is not None:
                case = refs.get(case_number) or refs.setdefault(
                    case_number, case_reference(settings, case_number)
                )
            yield entry_of(entry, instance_id, bank.name, opinion, case)
        last = rows[-1][0].id
        session.expunge_all()


def equalised(provenance: dict[str, Any] | None) -> bool:
    """Whether a bank entry is a view of a flat picture's contrast-equalised copy (variant
    `eq_...`, rescind.media.robust.EQUALISED_PREFIX). Such an entry meets an upload's own
    equalised views only, within 16 bits, and never blocks; no exchange format can say so
    (a reader would hold it as an ordinary hash, often of quality ~100), so it is never
    exported: not in files, the feed or StopNCII submissions (docs/matching.md)."""
    variant = (provenance or {}).get("variant")
    return isinstance(variant, str) and is_equalised(variant)


def entry_of(
    entry: BankEntry, instance_id: str, bank_name: str, opinion: str, case: str | None
) -> ExchangeEntry:
    """The exchange form of one of our bank entries (a smooth picture's says so)."""
    return ExchangeEntry(
        id=str(entry.id),
        signal_type=entry.signal_type,
        value=entry.value,
        quality=entry.quality,
        t=entry.t,
        group=entry.group_key,
        opinion=opinion,
        status=ACTIVE if entry.status == BankEntryStatus.ACTIVE else WITHDRAWN,
        source=Provenance(instance_id, bank_name, case),
        created_at=entry.created_at,
        updated_at=entry.updated_at,
        smooth=bool((entry.provenance or {}).get("smooth")),
    )


@dataclass
class ImportReport:
    """What applying entries did."""

    read: int = 0
    added: int = 0
    withdrawn: int = 0
    unchanged: int = 0
    skipped: int = 0  # entries of the other opinion, where the bank takes only one

    def as_detail(self) -> dict[str, int]:
        """The counts, for the audit log (never a hash)."""
        return dict(self.__dict__)


def _local_group(origin: str, group: str | None) -> str | None:
    # Groups are the source's; two sources' groups must not merge here.
    if group is None:
        return None
    return hashlib.sha256(f"{origin}\x00{group}".encode()).hexdigest()[:32]


def apply_entries(
    session: Session,
    bank: Bank,
    entries: Iterable[ExchangeEntry],
    *,
    source: str,
    other_opinion: str = "refuse",
    progress: Callable[[int], None] | None = None,
    batch: int = BATCH,
) -> ImportReport:
    """Apply `entries` to `bank` in the caller's transaction.

    A bank of kind `ncii` takes positive entries, an `allow` list negative ones ("not NCII"
    verdicts). An entry of the other opinion is refused (ExchangeError: the caller rolls back)
    or, with `other_opinion="skip"`, counted and ignored: a partner's allow-list never
    silences our own banks.
    """
    iterator = iter(entries)
    chunks = (EntryColumns.of(chunk) for chunk in iter(lambda: list(islice(iterator, batch)), []))
    return _apply(session, bank, chunks, source, other_opinion, progress)


def apply_columns(
    session: Session,
    bank: Bank,
    columns: EntryColumns,
    *,
    source: str,
    other_opinion: str = "refuse",
    batch: int = BATCH,
) -> ImportReport:
    """`apply_entries` for entries read as columns (a partner's feed page): the same checks
    and changes, without an object per entry."""
    chunks = (columns.slice(start, start + batch) for start in range(0, len(columns), batch))
    return _apply(session, bank, chunks, source, other_opinion, None)


def _apply(
    session: Session,
    bank: Bank,
    chunks: Iterable[EntryColumns],
    source: str,
    other_opinion: str,
    progress: Callable[[int], None] | None,
) -> ImportReport:
    wanted = NEGATIVE if bank.kind == "allow" else POSITIVE
    report = ImportReport()
    fresh: dict[str, set[str] | None] = {}  # per source: None, or the ids this call added
    with _large_cache(session):
        for chunk in chunks:
            _apply_batch(session, bank, chunk, wanted, other_opinion, source, report, fresh)
            if progress is not None:
                progress(len(chunk))
    return report


@contextmanager
def _large_cache(session: Session) -> Iterator[None]:
    """On SQLite, a page cache big enough for a bulk import's transaction: with the default
    (2 MB) every batch spills random index pages to the WAL again, and a million entries take
    minutes instead of seconds."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    before = session.execute(text("PRAGMA cache_size")).scalar()
    session.execute(text(f"PRAGMA cache_size = -{BULK_CACHE_KIB}"))
    try:
        yield
    finally:
        session.execute(text(f"PRAGMA cache_size = {int(before or -2000)}"))


def _apply_batch(
    session: Session,
    bank: Bank,
    chunk: EntryColumns,
    wanted: str,
    other_opinion: str,
    source: str,
    report: ImportReport,
    fresh_origins: dict[str, set[str] | None],
) -> None:
    first = report.read + 1
    report.read += len(chunk)
    # Each entry's last position, by (source, id); by id alone when the chunk has one source
    # (a feed page, most files): no pair per entry.
    keys: Sequence[Hashable] = (
        chunk.id if len(set(chunk.origin)) <= 1 else list(zip(chunk.origin, chunk.id, strict=True))
    )
    latest: dict[Hashable, int] = {}
    for i, (key, opinion) in enumerate(zip(keys, chunk.opinion, strict=True)):
        if opinion != wanted:
            if other_opinion == "skip":
                report.skipped += 1
                continue
            raise ExchangeError(
                f"entry {first + i}: a {opinion} opinion cannot go into a bank of kind {bank.kind}",
                field="opinion",
            )
        latest[key] = i  # a later line is a later state
    _apply_chunk(session, bank, chunk, list(latest.values()), source, report, fresh_origins)


def _apply_chunk(
    session: Session,
    bank: Bank,
    chunk: EntryColumns,
    latest: list[int],
    source: str,
    report: ImportReport,
    fresh_origins: dict[str, set[str] | None],
) -> None:
    """Apply the entries at positions `latest` of `chunk` (each (source, id) once)."""
    if not latest:
        return
    origins, their_ids, statuses = chunk.origin, chunk.id, chunk.status
    grouped: dict[str, list[str]] = {}  # origin -> remote ids (a chunk has one or a few)
    for i in latest:
        grouped.setdefault(origins[i], []).append(their_ids[i])
    by_origin: dict[str, list[str]] = {}
    for origin, remote_ids in grouped.items():
        if origin not in fresh_origins:
            had_links = session.scalar(
                select(ExchangeLink.id)
                .where(ExchangeLink.bank_id == bank.id, ExchangeLink.origin == origin)
                .limit(1)
            )
            # A source this bank never heard of has nothing to look up (the bulk case): only
            # what this import added itself can come back, and that is remembered here.
            fresh_origins[origin] = set() if had_links is None else None
        fresh_ids = fresh_origins[origin]
        if fresh_ids is None:
            by_origin[origin] = remote_ids
        elif not fresh_ids.isdisjoint(remote_ids):
            repeated = next(r for r in remote_ids if r in fresh_ids)
            raise ExchangeError(
                f"entry id {repeated!r} of {origin!r} appears twice, far apart", field="id"
            )
    known: dict[tuple[str, str], tuple[ExchangeLink, BankEntryStatus]] = {}
    for origin, remote_ids in by_origin.items():
        for start in range(0, len(remote_ids), BATCH):
            for link, status in session.execute(
                select(ExchangeLink, BankEntry.status)
                .join(BankEntry, BankEntry.id == ExchangeLink.entry_id)
                .where(
                    ExchangeLink.bank_id == bank.id,
                    ExchangeLink.origin == origin,
                    _among(session, ExchangeLink.remote_id, remote_ids[start : start + BATCH]),
                )
            ):
                known[(link.origin, link.remote_id)] = (link, status)
    new: list[int] = []  # positions in the chunk
    relinked: list[ExchangeLink] = []
    to_withdraw: list[int] = []
    if not known:  # the bulk case: every active entry is new, a withdrawal changes nothing
        new = [i for i in latest if statuses[i] != WITHDRAWN]
        report.unchanged += len(latest) - len(new)
    for i in latest if known else ():
        found = known.get((origins[i], their_ids[i]))
        active_here = found is not None and found[1] == BankEntryStatus.ACTIVE
        if statuses[i] == WITHDRAWN:
            if active_here:
                assert found is not None
                to_withdraw.append(found[0].entry_id)
                report.withdrawn += 1
            else:
                report.unchanged += 1
        elif active_here:
            report.unchanged += 1
        else:
            new.append(i)
            if found is not None:
                relinked.append(found[0])
    if to_withdraw:
        rows = session.scalars(select(BankEntry).where(BankEntry.id.in_(to_withdraw))).all()
        withdraw_entries(session, rows)
    if new:
        _add_new(session, bank, chunk, new, relinked, source, fresh_origins)
        report.added += len(new)


def _among(
    session: Session, column: InstrumentedAttribute[str], values: list[str]
) -> ColumnElement[bool]:
    """`column IN values` with the values as one parameter (a JSON array on SQLite, an array
    on PostgreSQL): a parameter per value costs more to render than the lookup itself."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("among", values, type_=ARRAY(String)))
    items = func.json_each(bindparam("among", json.dumps(values))).table_valued("value")
    return column.in_(select(items.c.value))


def _add_new(
    session: Session,
    bank: Bank,
    chunk: EntryColumns,
    new: list[int],
    relinked: list[ExchangeLink],
    source: str,
    fresh_origins: dict[str, set[str] | None],
) -> None:
    """Bank the entries at positions `new` of `chunk` and link each to its source reference
    (a `relinked` link, one whose entry was withdrawn here, points to the new entry instead)."""
    origins, remote_ids, groups = chunk.origin, chunk.id, chunk.group
    kinds, values, qualities, ts = chunk.signal_type, chunk.value, chunk.quality, chunk.t
    smooth = chunk.smooth
    ids = add_entries(
        session,
        bank,
        [
            NewEntry(
                kinds[i], values[i], qualities[i], ts[i],
                None if groups[i] is None else _local_group(origins[i], groups[i]),
                # A smooth picture's hash (a gradient): the matcher holds it to 16 bits.
                _SMOOTH if smooth[i] else None,
            )
            for i in new
        ],
        source=source,
    )  # fmt: skip
    # The new links: positions in the chunk and entry ids, side by side (no pair per link).
    fresh_at, fresh_ids = new, ids
    if relinked:
        by_key = {(link.origin, link.remote_id): link for link in relinked}
        fresh_at, fresh_ids = [], []
        for i, entry_id in zip(new, ids, strict=True):
            old = by_key.get((origins[i], remote_ids[i]))
            if old is not None:
                old.entry_id = entry_id
            else:
                fresh_at.append(i)
                fresh_ids.append(entry_id)
    for origin in {origins[i] for i in new}:
        added_here = fresh_origins.get(origin)
        if added_here is not None:
            added_here.update(remote_ids[i] for i in fresh_at if origins[i] == origin)
    if fresh_at:
        banks, cases = chunk.bank, chunk.case
        insert_rows(
            session,
            cast(Table, ExchangeLink.__table__),
            ("origin", "remote_id", "entry_id", "source_bank", "case_ref"),
            (
                (origins[i], remote_ids[i], entry_id, banks[i], cases[i])
                for i, entry_id in zip(fresh_at, fresh_ids, strict=True)
            ),
            {"bank_id": bank.id},
        )
    session.flush()
