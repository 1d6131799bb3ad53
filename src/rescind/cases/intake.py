"""Intake: a valid removal request becomes a case with a deadline, a case number and a secret."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.cases import notify
from rescind.cases.deadlines import deadline_for
from rescind.cases.errors import InvalidRequest
from rescind.cases.identifiers import new_case_number, new_status_secret
from rescind.cases.validation import RequestInput, validate
from rescind.config import Settings
from rescind.security import audit
from rescind.security.crypto import Sealer, requester_digest
from rescind.security.passwords import hash_secret
from rescind.store.columns import utcnow
from rescind.store.models import Request, RequestEvent, RequestItem
from rescind.store.statuses import RequestStatus


@dataclass(frozen=True)
class Submission:
    """A filed request and its secret (the only time the secret exists in clear)."""

    request: Request
    secret: str

    @property
    def case_number(self) -> str:
        """The case number the requester keeps."""
        return self.request.case_number


def _unused_case_number(session: Session) -> str:
    # 60 random bits make a collision all but impossible; checking costs one indexed lookup.
    while True:
        number = new_case_number()
        if session.scalar(select(Request.id).where(Request.case_number == number)) is None:
            return number


def submit_request(
    session: Session,
    settings: Settings,
    data: RequestInput,
    *,
    actor: str = "requester",
    now: datetime | None = None,
) -> Submission:
    """Validate and store a removal request; queue the acknowledgement email.

    Raises `InvalidRequest` (nothing is added to the session) when any element is missing or
    invalid. The caller commits; only after that may it show the case number and secret.
    """
    now = now or utcnow()
    errors = validate(data, now.date())
    if errors:
        raise InvalidRequest(errors)
    assert data.name and data.email and data.signature and data.good_faith_statement
    sealer = Sealer(settings)
    secret = new_status_secret()
    request = Request(
        case_number=_unused_case_number(session),
        status=RequestStatus.RECEIVED,
        channel=data.channel,
        received_at=now,
        deadline_at=deadline_for(settings, data.channel, now),
        language=data.language,
        signature=data.signature,
        signed_on=data.signed_on or now.date().isoformat(),
        good_faith_statement=data.good_faith_statement,
        supporting_info=data.supporting_info,
        requester_name_enc=sealer.seal(data.name),
        requester_email_enc=sealer.seal(data.email),
        requester_phone_enc=sealer.seal(data.phone) if data.phone else None,
        requester_digest=requester_digest(settings, data.email),
        representative=bool(data.representative),
        secret_hash=hash_secret(secret),
        risk_level=0,
        updated_at=now,
    )
    request.items = [
        RequestItem(
            url=item.url,
            content_id=item.content_id,
            pdq=list(item.pdq) or None,
            md5=item.md5,
            sha256=item.sha256,
            description=item.description,
        )
        for item in data.items
        if not item.is_empty()
    ]
    request.events = [RequestEvent(kind="received", detail=None, public=True, at=now)]
    session.add(request)
    session.flush()
    audit.record(
        session,
        actor,
        "request.create",
        subject_type="request",
        subject_id=request.case_number,
        detail={
            "channel": request.channel,
            "language": request.language,
            "items": len(request.items),
            "representative": request.representative,
        },
    )
    notify.notify_requester(session, request, "received")
    return Submission(request, secret)
