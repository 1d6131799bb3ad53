"""Uploads matching a requester's hash while their case's removal is under way become leads.

A `requester` bank entry makes `/v1/check` answer `review` (never `block`) and records the
match; this periodic task turns each such match of a `removal_pending` case into a lead on the
item the hash came with, for a reviewer to confirm or dismiss like the leads the decision found.
The case then waits for that reviewer before it can be `removed`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.jobs.runner import JobRegistry
from rescind.platform.banks import REQUESTER_SOURCE
from rescind.store.models import Action, BankEntry, Content, Lead, Match, Request, RequestItem
from rescind.store.statuses import BankEntryStatus, ItemStatus, LeadStatus, RequestStatus

TASK = "leads.from_uploads"
EVERY_S = 60.0
BATCH = 500


def leads_from_uploads(session: Session, settings: Settings, now: datetime) -> None:
    """Periodic task: a lead per new upload matching a requester hash of a case being removed.
    Idempotent (one lead per item and content)."""
    rows = session.execute(
        select(Match, BankEntry)
        .join(BankEntry, BankEntry.id == Match.bank_entry_id)
        .join(Request, Request.id == BankEntry.request_id)
        .where(
            BankEntry.source == REQUESTER_SOURCE,
            BankEntry.status == BankEntryStatus.ACTIVE,
            Request.status == RequestStatus.REMOVAL_PENDING,
            ~exists().where(Lead.request_id == Request.id, Lead.content_pk == Match.content_pk),
        )
        .order_by(Match.id)
        .limit(BATCH)
    ).all()
    for match, entry in rows:
        item = session.get(RequestItem, (entry.provenance or {}).get("request_item_id"))
        content = session.get(Content, match.content_pk)
        if item is None or content is None or item.status != ItemStatus.REMOVE:
            continue
        already = session.scalar(
            select(Action.id).where(
                Action.request_id == item.request_id, Action.content_id == content.content_id
            )
        )
        if already is not None or _has_lead(session, item.id, content.id):
            continue
        session.add(
            Lead(
                request_id=item.request_id,
                item_id=item.id,
                content_pk=content.id,
                bank_entry_id=entry.id,
                distance=match.distance,
                status=LeadStatus.UNCONFIRMED,
                created_at=now,
            )
        )
        session.flush()


def _has_lead(session: Session, item_id: int, content_pk: int) -> bool:
    found = session.scalar(
        select(Lead.id).where(Lead.item_id == item_id, Lead.content_pk == content_pk)
    )
    return found is not None


def register(registry: JobRegistry) -> None:
    """Add the task to the worker's registry."""
    registry.add_periodic(TASK, EVERY_S, leads_from_uploads)
