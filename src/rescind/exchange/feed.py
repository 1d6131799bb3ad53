"""The signed feed a partner pulls: pages of entry changes, in change-feed (`bank_changes.seq`)
order, withdrawals included, from the banks granted to the caller's key.

A page is JSON bytes signed as they are (Ed25519 over the exact body, header
`Rescind-Exchange-Signature: ed25519=<base64>`). It names the instance, the cursor it starts
after and the cursor to ask for next, so a puller can refuse a page signed by someone else, a
page for another cursor (replayed or out of order) and a cursor that goes backwards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.exchange.format import NEGATIVE, POSITIVE
from rescind.exchange.identity import Identity
from rescind.exchange.transfer import case_reference, entry_of
from rescind.store.models import Bank, BankChange, BankEntry, Request

PAGE_FORMAT = "rescind-feed/1"
SIGNATURE_HEADER = "Rescind-Exchange-Signature"
MAX_PAGE = 1000


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
    rows: list[Any] = []
    if banks:
        rows = list(
            session.execute(
                select(BankChange.seq, BankEntry, Request.case_number)
                .join(BankEntry, BankEntry.id == BankChange.entry_id)
                .outerjoin(Request, Request.id == BankEntry.request_id)
                .where(BankChange.seq > after, BankEntry.bank_id.in_(banks))
                .order_by(BankChange.seq)
                .limit(limit)
            )
        )
    kinds = dict(session.execute(select(Bank.id, Bank.kind).where(Bank.id.in_(banks))).all())
    latest: dict[int, dict[str, Any]] = {}
    for _seq, entry, case_number in rows:
        # An entry's current state, once per page: replays converge on it.
        opinion = NEGATIVE if kinds.get(entry.bank_id) == "allow" else POSITIVE
        case = None if case_number is None else case_reference(settings, case_number)
        item = entry_of(entry, identity.instance_id, banks[entry.bank_id], opinion, case)
        latest.pop(entry.id, None)
        latest[entry.id] = item.to_json()
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
