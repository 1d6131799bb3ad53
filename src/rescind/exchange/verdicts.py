"""Our reviewers' verdicts flow back to where a matched entry came from, by themselves.

When a reviewer confirms or dismisses a lead, or decides an item `remove`, every entry behind
that decision that was imported from a partner or from StopNCII gets our verdict: confirmed or
removed is `ncii` (StopNCII: Blocked), dismissed is `not_ncii` (NotBlocked). The verdict is a
job (`exchange.verdict`) queued in the decision's transaction, so the decision never waits on
the source and a source that is down gets it on a later attempt (at least once). The job's
unique key is the entry and the verdict, so each verdict on an entry is queued once, and the
partner side keeps one verdict per key, entry and verdict (applied once).

Entries behind a decision: the entry whose match made the lead, and the imported entries that
matched the lead's content or the item's named content (`matches`). A rejected case sends
nothing: a rejection says the request was not granted (not the requester's, not enough
information, ...), not that a matched picture is not intimate imagery. Nothing is queued for
StopNCII without its feedback key (every attempt would be refused).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.exchange import stopncii
from rescind.exchange.pull import send_feedback
from rescind.jobs import JobRegistry
from rescind.jobs.queue import enqueue
from rescind.store.models import (
    Content,
    ExchangeLink,
    Job,
    Lead,
    Match,
    Partner,
    RequestItem,
    StopNCIIHash,
)

JOB = "exchange.verdict"
STOPNCII = "StopNCII.org"  # never a partner's name (those have no dot)
NCII, NOT_NCII = "ncii", "not_ncii"


def _key(entry_id: int, verdict: str) -> str:
    return f"{JOB}:{entry_id}:{verdict}"


def sources_of(session: Session, entry_ids: Iterable[int]) -> dict[int, str]:
    """Of `entry_ids`, those imported from a partner or StopNCII: entry id -> the source's
    name (the partner's name, or STOPNCII)."""
    ids = sorted(set(entry_ids))
    if not ids:
        return {}
    found: dict[int, str] = {}
    for entry_id, name in session.execute(
        select(ExchangeLink.entry_id, Partner.name)
        .join(Partner, Partner.bank_id == ExchangeLink.bank_id)
        .where(ExchangeLink.entry_id.in_(ids))
    ):
        found[int(entry_id)] = str(name)
    for stopncii_entry in session.scalars(
        select(StopNCIIHash.entry_id).where(StopNCIIHash.entry_id.in_(ids))
    ):
        if stopncii_entry is not None:
            found[int(stopncii_entry)] = STOPNCII
    return found


def _matched(session: Session, content_pks: Iterable[int]) -> list[int]:
    pks = sorted(set(content_pks))
    if not pks:
        return []
    return list(session.scalars(select(Match.bank_entry_id).where(Match.content_pk.in_(pks))))


def _queue(
    session: Session, settings: Settings, request_id: int, entry_ids: Iterable[int], verdict: str
) -> int:
    # StopNCII without its feedback key would refuse every attempt: nothing is queued for it.
    to_stopncii = stopncii.configured(settings) and settings.stopncii_feedback_key is not None
    queued = 0
    for entry_id, source in sorted(sources_of(session, entry_ids).items()):
        if source == STOPNCII and not to_stopncii:
            continue
        job = enqueue(
            session, JOB, {"entry_id": entry_id, "verdict": verdict, "request_id": request_id},
            unique_key=_key(entry_id, verdict),
        )  # fmt: skip
        queued += job is not None
    return queued


def queue_for_lead(session: Session, settings: Settings, lead: Lead, *, confirmed: bool) -> int:
    """After a reviewer confirmed or dismissed `lead`: queue the verdict for each imported entry
    behind it. Returns how many jobs were queued (0 when none came from outside)."""
    entries = [lead.bank_entry_id, *_matched(session, [lead.content_pk])]
    return _queue(session, settings, lead.request_id, entries, NCII if confirmed else NOT_NCII)


def _item_contents(session: Session, item: RequestItem) -> list[int]:
    found: list[int] = []
    if item.content_id:
        found += session.scalars(select(Content.id).where(Content.content_id == item.content_id))
    if item.url:
        found += session.scalars(select(Content.id).where(Content.url == item.url))
    return found


def queue_for_items(
    session: Session, settings: Settings, request_id: int, items: Iterable[RequestItem]
) -> int:
    """After items were decided `remove`: queue `ncii` for each imported entry their named
    content matched."""
    pks = [pk for item in items for pk in _item_contents(session, item)]
    return _queue(session, settings, request_id, _matched(session, pks), NCII)


def send(session: Session, settings: Settings, payload: dict[str, Any]) -> None:
    """Job handler: send one verdict to the entry's source (a partner's `POST
    /v1/exchange/feedback`, or StopNCII's SubmitFeedback). Raises on failure: the job is
    retried."""
    entry_id, verdict = int(payload["entry_id"]), str(payload["verdict"])
    source = sources_of(session, [entry_id]).get(entry_id)
    if source is None:
        return  # the link is gone (the partner was removed): nothing to tell anyone
    if source == STOPNCII:
        stopncii.send_verdict(session, settings, entry_id, verdict, actor="system")
    else:
        send_feedback(session, settings, entry_id, verdict, actor="system")


@dataclass(frozen=True)
class SentVerdict:
    """A verdict of ours on an imported entry, as the case page shows it."""

    entry_id: int
    source: str
    verdict: str
    state: str  # queued | running | done | failed (the job's status)
    error: str | None
    at: datetime


def verdicts_of_case(session: Session, request_id: int) -> list[SentVerdict]:
    """The verdicts a case's decisions sent (or are sending) to partners and StopNCII."""
    leads = list(session.scalars(select(Lead).where(Lead.request_id == request_id)))
    items = list(session.scalars(select(RequestItem).where(RequestItem.request_id == request_id)))
    pks = [lead.content_pk for lead in leads]
    pks += [pk for item in items for pk in _item_contents(session, item)]
    entries = {lead.bank_entry_id for lead in leads} | set(_matched(session, pks))
    names = sources_of(session, entries)
    keys = [_key(e, v) for e in names for v in (NCII, NOT_NCII)]
    if not keys:
        return []
    views = []
    for job in session.scalars(select(Job).where(Job.unique_key.in_(keys)).order_by(Job.id)):
        entry_id = int(job.payload["entry_id"])
        views.append(
            SentVerdict(
                entry_id,
                names[entry_id],
                str(job.payload["verdict"]),
                str(job.status),
                job.last_error,
                job.created_at,
            )
        )
    return views


def register(registry: JobRegistry) -> None:
    """Add the verdict job to the worker's registry."""
    registry.add_handler(JOB, send)
