"""The signed feed a partner pulls: pages of entry changes, in change-feed (`bank_changes.seq`)
order, withdrawals included, from the banks granted to the caller's key.

A page is JSON bytes signed as they are (Ed25519 over the exact body, header
`Rescind-Exchange-Signature: ed25519=<base64>`). It names the instance, the cursor it starts
after and the cursor to ask for next, so a puller can refuse a page signed by someone else, a
page for another cursor (replayed or out of order) and a cursor that goes backwards.

Three page formats carry the same entries: `rescind-feed/1` lists them as exchange-format
objects, `rescind-feed/2` (asked with `format=2`) as one array per field, half the bytes and far
less work to build and to read, and `rescind-feed/3` (`format=3`, what our puller asks for) adds
the column `smooth` (docs/exchange.md). A smooth picture's entry (a gradient, matched within 16
bits and never blocking) cannot say so in the first two: there it is shown withdrawn, so a
reader that cannot hold it to 16 bits does not bank it, or withdraws the copy it has. A flat
picture's equalised views (`eq_...`) are in no page (rescind.exchange.transfer.equalised).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, select, type_coerce
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.exchange.format import (
    ACTIVE,
    COLUMNS,
    NEGATIVE,
    POSITIVE,
    SMOOTH_COLUMNS,
    WITHDRAWN,
    ExchangeEntry,
    Provenance,
    iso_time,
)
from rescind.exchange.identity import Identity
from rescind.exchange.transfer import case_reference
from rescind.media.robust import is_equalised
from rescind.store.models import Bank, BankChange, BankEntry, Request
from rescind.store.statuses import BankEntryStatus

PAGE_FORMAT = "rescind-feed/1"  # entries as objects, the exchange format's lines
COLUMNS_FORMAT = "rescind-feed/2"  # the same entries as columns: a third of the bytes
SMOOTH_FORMAT = "rescind-feed/3"  # columns and `smooth`: a smooth picture's entry says so
FORMATS = {1: PAGE_FORMAT, 2: COLUMNS_FORMAT, 3: SMOOTH_FORMAT}
SIGNATURE_HEADER = "Rescind-Exchange-Signature"
MAX_PAGE = 10_000  # about 3.5 MB of JSON as objects: a million entries in 100 pages
# As columns, about 190 bytes an entry (4.7 MB a page; under 12 MB even with 120-character bank
# names and the longest ids): a million entries in 40 pages, each a transaction at the puller.
MAX_COLUMNS_PAGE = 25_000
MAX_PAGES = {1: MAX_PAGE, 2: MAX_COLUMNS_PAGE, 3: MAX_COLUMNS_PAGE}


# A column read as the driver gives it (SQLite: text; PostgreSQL: its own datetime).
_RAW = String()


def _time_reader(session: Session) -> Callable[[Any], datetime | None]:
    """The conversion of a raw time column value into our aware UTC datetime (what the
    column's type does for each row)."""
    dialect = session.get_bind().dialect
    column_type = BankEntry.__table__.c.created_at.type.dialect_impl(dialect)
    processor = column_type.result_processor(dialect, None)
    return processor if processor is not None else (lambda value: value)


@dataclass(frozen=True)
class SignedPage:
    """A page's exact bytes and their signature header value."""

    body: bytes
    signature: str
    entries: int


def build_page(
    session: Session,
    settings: Settings,
    identity: Identity,
    banks: dict[int, str],
    *,
    after: int,
    limit: int = MAX_PAGE,
    version: int = 1,
) -> SignedPage:
    """The page of at most `limit` changes after `after` in `banks` (id → name), signed;
    `version` 1 lists entries as objects (at most MAX_PAGE), 2 as columns (at most
    MAX_COLUMNS_PAGE), 3 as columns with `smooth` (docs/exchange.md). Versions 1 and 2 show
    a smooth picture's entry withdrawn: they cannot say it is smooth."""
    limit = min(limit, MAX_PAGES[version])
    rows: Sequence[Any] = []
    if banks:
        # Core rows with the status as plain text: a partner catching up reads a million.
        rows = (
            session.connection()
            .execute(
                select(
                    BankChange.seq,
                    BankEntry.id,
                    BankEntry.bank_id,
                    BankEntry.signal_type,
                    BankEntry.value,
                    BankEntry.quality,
                    BankEntry.t,
                    BankEntry.group_key,
                    type_coerce(BankEntry.status, String),
                    # Raw, converted once per distinct value below (entries banked together
                    # share their times): a conversion per row was a fifth of a page's cost.
                    type_coerce(BankEntry.created_at, _RAW),
                    type_coerce(BankEntry.updated_at, _RAW),
                    Request.case_number,
                    BankEntry.provenance["smooth"].as_boolean(),
                    BankEntry.provenance["variant"].as_string(),
                )
                .select_from(BankChange)
                .join(BankEntry, BankEntry.id == BankChange.entry_id)
                .outerjoin(Request, Request.id == BankEntry.request_id)
                .where(BankChange.seq > after, BankEntry.bank_id.in_(banks))
                .order_by(BankChange.seq)
                .limit(limit)
            )
            .all()
        )
    kinds = dict(session.execute(select(Bank.id, Bank.kind).where(Bank.id.in_(banks))).all())
    convert = _time_reader(session)
    times: dict[Any, datetime | None] = {}

    def time_of(raw: Any) -> datetime | None:
        if raw not in times:
            times[raw] = convert(raw)
        return times[raw]

    instance = identity.instance_id
    refs: dict[str, str] = {}  # case number -> its keyed reference, once per page

    def reference(case_number: str | None) -> str | None:
        if case_number is None:
            return None
        if case_number not in refs:
            refs[case_number] = case_reference(settings, case_number)
        return refs[case_number]

    # A flat picture's equalised views are never shared (rescind.exchange.transfer.equalised);
    # the cursor still moves past them.
    shown = [r[:-1] for r in rows if not is_equalised(r[-1] or "")]
    if version >= 2:
        items: Any = _columns(shown, banks, kinds, time_of, reference, smooth=version == 3)
        count = len(items["id"])
    else:
        items = _objects(shown, instance, banks, kinds, time_of, reference)
        count = len(items)
    nxt = int(rows[-1][0]) if rows else after
    page = {
        "format": FORMATS[version],
        "instance": identity.instance_id,
        "after": after,
        "next": nxt,
        "more": len(rows) == limit,
        "columns" if version >= 2 else "entries": items,
    }
    body = json.dumps(page, separators=(",", ":"), sort_keys=True).encode()
    return SignedPage(body, f"ed25519={identity.sign(body)}", count)


def _latest(rows: Sequence[Any]) -> list[Any]:
    """Each entry's row once, at its last change (an entry's current state: replays converge
    on it), in the order of those last changes."""
    latest: dict[int, Any] = {}
    for row in rows:
        latest.pop(row[1], None)
        latest[row[1]] = row
    return list(latest.values())


def _objects(
    rows: Sequence[Any],
    instance: str,
    banks: dict[int, str],
    kinds: dict[int, str],
    time_of: Callable[[Any], datetime | None],
    reference: Callable[[str | None], str | None],
) -> list[dict[str, Any]]:
    items = []
    for (
        _seq, entry_id, bank_id, signal_type, value, quality, t, group, status, made, changed,
        case_number, smooth,
    ) in _latest(rows):  # fmt: skip
        items.append(
            ExchangeEntry(
                id=str(entry_id),
                signal_type=signal_type,
                value=value,
                quality=quality,
                t=t,
                group=group,
                opinion=NEGATIVE if kinds.get(bank_id) == "allow" else POSITIVE,
                # A smooth entry, which rescind-feed/1 cannot mark: shown withdrawn.
                status=ACTIVE if status == BankEntryStatus.ACTIVE and not smooth else WITHDRAWN,
                source=Provenance(instance, banks[bank_id], reference(case_number)),
                created_at=time_of(made),
                updated_at=time_of(changed),
            ).to_json()
        )
    return items


def _columns(
    rows: Sequence[Any],
    banks: dict[int, str],
    kinds: dict[int, str],
    time_of: Callable[[Any], datetime | None],
    reference: Callable[[str | None], str | None],
    *,
    smooth: bool,
) -> dict[str, list[Any]]:
    """The columns of rescind-feed/2, or with `smooth` of rescind-feed/3 (a smooth entry
    says so); without it a smooth entry is shown withdrawn."""
    latest = _latest(rows)
    if not latest:
        return {name: [] for name in (SMOOTH_COLUMNS if smooth else COLUMNS)}
    (_, ids, bank_ids, types, values, qualities, ts, groups, statuses, made, changed,
     cases, flags) = (list(column) for column in zip(*latest, strict=True))  # fmt: skip
    isos: dict[Any, str | None] = {}

    def iso(raw: Any) -> str | None:
        if raw not in isos:
            isos[raw] = iso_time(time_of(raw))
        return isos[raw]

    opinion = {b: NEGATIVE if kinds.get(b) == "allow" else POSITIVE for b in banks}
    active = BankEntryStatus.ACTIVE
    if smooth:
        state = [ACTIVE if s == active else WITHDRAWN for s in statuses]
    else:
        pairs = zip(statuses, flags, strict=True)
        state = [ACTIVE if s == active and not f else WITHDRAWN for s, f in pairs]
    columns = {
        "id": [str(i) for i in ids],
        "type": types,
        "value": values,
        "quality": qualities,
        "t": ts,
        "group": groups,
        "opinion": [opinion[b] for b in bank_ids],
        "status": state,
        "bank": [banks[b] for b in bank_ids],
        "case": [reference(c) for c in cases],
        "created_at": [iso(m) for m in made],
        "updated_at": [iso(c) for c in changed],
    }
    if smooth:
        columns["smooth"] = [bool(f) for f in flags]
    return columns
