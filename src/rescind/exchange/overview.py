"""What the console's Exchange page shows: partners and the state of their pulls, StopNCII's
checkpoint, and the verdicts partners sent on the entries we shared. Counts, names and plain
words only: never a hash, never a partner's key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.exchange import stopncii
from rescind.exchange.partners import list_partners
from rescind.store.models import ApiKey, Bank, BankEntry, ExchangeFeedback
from rescind.store.models import Request as Case

FEEDBACK_SHOWN = 200


@dataclass(frozen=True)
class PartnerView:
    """One partner as the console shows it."""

    name: str
    host: str
    banks: str | None  # the partner's banks we pull; None: every bank its key grants
    on_match: str | None  # what a match against its entries does here (review | block)
    active: bool
    cursor: int
    last_pull_at: datetime | None
    last_ok_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class ReceivedFeedback:
    """A partner's verdict on one of our shared entries, with the case it came from."""

    entry_id: int
    bank: str
    case_number: str | None
    verdict: str
    partner: str
    note: str | None
    at: datetime


@dataclass(frozen=True)
class Overview:
    """Everything on the Exchange page."""

    partners: list[PartnerView]
    stopncii: stopncii.Status
    feedback: list[ReceivedFeedback]


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.hostname or url if parts.port is None else f"{parts.hostname}:{parts.port}"


def partners(session: Session) -> list[PartnerView]:
    """Every partner, by name, with its bank's policy."""
    policies = {int(i): str(m) for i, m in session.execute(select(Bank.id, Bank.on_match))}
    return [
        PartnerView(
            p.name,
            _host(p.base_url),
            p.banks,
            policies.get(p.bank_id) if p.bank_id is not None else None,
            p.active,
            p.cursor,
            p.last_pull_at,
            p.last_ok_at,
            p.last_error,
        )
        for p in list_partners(session)
    ]


def received_feedback(session: Session, *, limit: int = FEEDBACK_SHOWN) -> list[ReceivedFeedback]:
    """The latest verdicts partners sent on our entries, newest first, with each entry's case
    number where it came from a case (the key's name stands for the partner)."""
    rows = session.execute(
        select(ExchangeFeedback, Bank.name, ApiKey.name, Case.case_number)
        .join(BankEntry, BankEntry.id == ExchangeFeedback.entry_id)
        .join(Bank, Bank.id == BankEntry.bank_id)
        .join(ApiKey, ApiKey.id == ExchangeFeedback.api_key_id)
        .outerjoin(Case, Case.id == BankEntry.request_id)
        .order_by(ExchangeFeedback.id.desc())
        .limit(limit)
    )
    return [
        ReceivedFeedback(f.entry_id, bank, case, f.verdict, key, f.note, f.at)
        for f, bank, key, case in rows
    ]


def overview(session: Session, settings: Settings) -> Overview:
    """The Exchange page's content (writes nothing)."""
    return Overview(
        partners(session), stopncii.status(session, settings), received_feedback(session)
    )
