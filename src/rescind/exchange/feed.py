"""The signed feed a partner pulls: pages of entry changes, in change-feed (`bank_changes.seq`)
order, withdrawals included, from the banks granted to the caller's key.

A page is JSON bytes signed as they are (Ed25519 over the exact body, header
`Rescind-Exchange-Signature: ed25519=<base64>`). It names the instance, the cursor it starts
after and the cursor to ask for next, so a puller can refuse a page signed by someone else, a
page for another cursor (replayed or out of order) and a cursor that goes backwards.
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
    NEGATIVE,
    POSITIVE,
    WITHDRAWN,
    ExchangeEntry,
    Provenance,
)
from rescind.exchange.identity import Identity
from rescind.exchange.transfer import case_reference
from rescind.store.models import Bank, BankChange, BankEntry, Request
from rescind.store.statuses import BankEntryStatus

PAGE_FORMAT = "rescind-feed/1"
SIGNATURE_HEADER = "Rescind-Exchange-Signature"
MAX_PAGE = 10_000  # about 3.5 MB of JSON: a million entries in a hundred pages


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
) -> SignedPage:
    """The page of changes after `after` in `banks` (id → name), signed."""
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
    latest: dict[int, dict[str, Any]] = {}
    refs: dict[str, str] = {}  # case number -> its keyed reference, once per page

    def reference(case_number: str | None) -> str | None:
        if case_number is None:
            return None
        if case_number not in refs:
            refs[case_number] = case_reference(settings, case_number)
        return refs[case_number]

    for (
        _seq,
        entry_id,
        bank_id,
        signal_type,
        value,
        quality,
        t,
        group,
        status,
        made,
        changed,
        case_number,
    ) in rows:
        # An entry's current state, once per page: replays converge on it.
        item = ExchangeEntry(
            id=str(entry_id),
            signal_type=signal_type,
            value=value,
            quality=quality,
            t=t,
            group=group,
            opinion=NEGATIVE if kinds.get(bank_id) == "allow" else POSITIVE,
            status=ACTIVE if status == BankEntryStatus.ACTIVE else WITHDRAWN,
            source=Provenance(instance, banks[bank_id], reference(case_number)),
            created_at=time_of(made),
            updated_at=time_of(changed),
        )
        latest.pop(entry_id, None)
        latest[entry_id] = item.to_json()
    nxt = int(rows[-1][0]) if rows else after
    page = {
        "format": PAGE_FORMAT,
        "instance": identity.instance_id,
        "after": after,
        "next": nxt,
        "more": len(rows) == limit,
        "entries": list(latest.values()),
    }
    body = json.dumps(page, separators=(",", ":"), sort_keys=True).encode()
    return SignedPage(body, f"ed25519={identity.sign(body)}", len(latest))
