"""Retention: personal data is kept only as long as a case needs it, and operational rows are
pruned on a schedule. A periodic task of the worker (`retention.purge`, hourly).

- **Contact details**: `RESCIND_CONTACT_RETENTION_DAYS` after a case closed (removed, rejected,
  withdrawn) and with no open appeal, its requester name, email, phone, typed signature,
  supporting information, the information they added later, appeal statements and the keyed
  email digest are erased (the sealed columns hold an empty value; `contact_purged_at` says
  when). Hashes, items, decisions and the history stay: they are what the case proves.
- **Jobs** done more than `RESCIND_JOB_RETENTION_DAYS` ago, and webhook **delivery attempts**
  as old, are deleted (the actions themselves stay: they are the removal's record).
- **Registry rows of deleted content** (`DELETE /v1/content/{id}`: its URL and hashes already
  gone) are deleted `RESCIND_JOB_RETENTION_DAYS` after, unless a lead of a case names them.
- **Preservations** of CyberTipline reports are never touched before they expire; expired ones
  are deleted.

Each run that erased or deleted anything is one audit event (`retention.purge`) with the case
numbers and counts. The audit chain itself is never rewritten: audit details carry case
numbers and codes, not contact details, so nothing in it needs erasing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.jobs.runner import JobRegistry
from rescind.security import audit
from rescind.security.crypto import Sealer
from rescind.store.columns import utcnow
from rescind.store.models import (
    ActionAttempt,
    Appeal,
    Content,
    Job,
    Lead,
    Preservation,
    Request,
)
from rescind.store.statuses import CLOSED_REQUEST_STATUSES, AppealStatus, JobStatus

PURGE_EVERY_S = 3600.0
BATCH = 500
# Events whose detail holds the requester's own words.
PERSONAL_EVENTS = ("info_added",)


@dataclass
class Purge:
    """What one run erased and deleted."""

    cases: list[str] = field(default_factory=list)
    jobs: int = 0
    attempts: int = 0
    contents: int = 0
    preservations: int = 0

    @property
    def nothing(self) -> bool:
        """The run changed nothing."""
        return not (self.cases or self.jobs or self.attempts or self.contents or self.preservations)


def _erase_contact(session: Session, sealer: Sealer, request: Request, now: datetime) -> None:
    empty = sealer.seal("")
    request.requester_name_enc = empty
    request.requester_email_enc = empty
    request.requester_phone_enc = None
    request.requester_digest = None
    request.signature = None
    request.signature_enc = None
    request.supporting_info = None
    request.receipt_enc = None
    request.contact_purged_at = now
    for event in request.events:
        if event.kind in PERSONAL_EVENTS:
            event.detail = None
    session.execute(update(Appeal).where(Appeal.request_id == request.id).values(statement=None))


def purge(session: Session, settings: Settings, now: datetime | None = None) -> Purge:
    """One retention run (see the module docstring); audited when it changed anything. Never
    commits."""
    now = now or utcnow()
    result = Purge()
    contact_cutoff = now - timedelta(days=settings.contact_retention_days)
    open_appeal = exists().where(
        Appeal.request_id == Request.id, Appeal.status == AppealStatus.OPEN
    )
    due = session.scalars(
        select(Request)
        .where(
            Request.status.in_(CLOSED_REQUEST_STATUSES),
            Request.closed_at.is_not(None),
            Request.closed_at < contact_cutoff,
            Request.contact_purged_at.is_(None),
            ~open_appeal,
        )
        .order_by(Request.id)
        .limit(BATCH)
    )
    sealer = Sealer(settings)
    for request in due:
        _erase_contact(session, sealer, request, now)
        result.cases.append(request.case_number)
    ops_cutoff = now - timedelta(days=settings.job_retention_days)
    result.jobs = _count(
        session.execute(delete(Job).where(Job.status == JobStatus.DONE, Job.run_at < ops_cutoff))
    )
    result.attempts = _count(
        session.execute(delete(ActionAttempt).where(ActionAttempt.at < ops_cutoff))
    )
    led = exists().where(Lead.content_pk == Content.id)
    result.contents = _count(
        session.execute(
            delete(Content).where(
                Content.forgotten_at.is_not(None), Content.forgotten_at < ops_cutoff, ~led
            )
        )
    )
    result.preservations = _count(
        session.execute(delete(Preservation).where(Preservation.expires_at < now))
    )
    session.flush()
    if not result.nothing:
        audit.record(
            session,
            "system",
            "retention.purge",
            detail={
                "contact_erased": result.cases,
                "jobs": result.jobs,
                "delivery_attempts": result.attempts,
                "contents": result.contents,
                "preservations_expired": result.preservations,
            },
        )
    return result


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _task(session: Session, settings: Settings, now: datetime) -> None:
    purge(session, settings, now)


def register(registry: JobRegistry) -> None:
    """The hourly retention run."""
    registry.add_periodic("retention.purge", PURGE_EVERY_S, _task)
