"""Partners' verdicts on entries we shared: a partner's reviewer found a match to be NCII
(`ncii`) or not (`not_ncii`). Kept per entry and shown to our reviewers (`GET
/v1/exchange/feedback`), so a false positive we spread comes back to us."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.exchange.errors import PartnerError
from rescind.platform.errors import InvalidSignalError
from rescind.security import audit
from rescind.store.models import ApiKey, Bank, BankEntry, ExchangeFeedback

VERDICTS = ("ncii", "not_ncii")


@dataclass(frozen=True)
class FeedbackView:
    """One verdict as our reviewers see it."""

    id: int
    entry_id: int
    bank: str
    verdict: str
    note: str | None
    partner: str
    at: datetime


def record_feedback(
    session: Session,
    api_key_id: int,
    granted: dict[int, str],
    entry_ref: str,
    verdict: str,
    note: str | None,
) -> ExchangeFeedback:
    """Store a partner's verdict on one of the entries its key may read (else PartnerError:
    a key learns nothing about entries it was not given). The same verdict on the same entry
    from the same key is kept once: a partner that sends again (its answer was lost, its job
    retried) gets the verdict it already gave."""
    if verdict not in VERDICTS:
        raise InvalidSignalError("verdict must be ncii or not_ncii", field="verdict")
    plain = entry_ref.isascii() and entry_ref.isdigit() and len(entry_ref) <= 18  # not "²"
    number = int(entry_ref) if plain else None
    entry = session.get(BankEntry, number) if number is not None else None
    if entry is None or entry.bank_id not in granted:
        raise PartnerError("no such shared entry", field="entry_id")
    same = session.scalar(
        select(ExchangeFeedback).where(
            ExchangeFeedback.entry_id == entry.id,
            ExchangeFeedback.api_key_id == api_key_id,
            ExchangeFeedback.verdict == verdict,
        )
    )
    if same is not None:
        return same
    row = ExchangeFeedback(
        entry_id=entry.id, api_key_id=api_key_id, verdict=verdict, note=(note or None)
    )
    session.add(row)
    session.flush()
    audit.record(
        session, f"apikey:{api_key_id}", "exchange.feedback_received",
        subject_type="bank_entry", subject_id=entry.id, detail={"verdict": verdict},
    )  # fmt: skip
    return row


def list_feedback(session: Session, *, after_id: int = 0, limit: int = 100) -> list[FeedbackView]:
    """Verdicts in arrival order."""
    rows = session.execute(
        select(ExchangeFeedback, Bank.name, ApiKey.name)
        .join(BankEntry, BankEntry.id == ExchangeFeedback.entry_id)
        .join(Bank, Bank.id == BankEntry.bank_id)
        .join(ApiKey, ApiKey.id == ExchangeFeedback.api_key_id)
        .where(ExchangeFeedback.id > after_id)
        .order_by(ExchangeFeedback.id)
        .limit(limit)
    )
    return [
        FeedbackView(f.id, f.entry_id, bank, f.verdict, f.note, key, f.at) for f, bank, key in rows
    ]
