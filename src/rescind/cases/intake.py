"""Intake: a valid removal request becomes a case with a deadline, a case number and a secret."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.cases import notify
from rescind.cases.deadlines import deadline_for
from rescind.cases.errors import InvalidRequest
from rescind.cases.identifiers import new_case_number, new_status_secret
from rescind.cases.validation import RequestInput, parse_views, validate
from rescind.config import Settings
from rescind.security import audit
from rescind.security.crypto import Sealer, derive_key, requester_digest
from rescind.security.passwords import hash_secret
from rescind.store.columns import utcnow
from rescind.store.models import Request, RequestEvent, RequestItem, new_handle
from rescind.store.statuses import ChildSafetyFlag, MinorAnswer, RequestStatus

# Answers that flag a case as possible child sexual abuse material: "not sure" counts, since
# reviewing such a case first costs little and missing one costs a child.
FLAGGED_ANSWERS = (MinorAnswer.YES, MinorAnswer.NOT_SURE)


@dataclass(frozen=True)
class Submission:
    """A filed request and its secret (the only time the secret exists in clear).

    `secret` is None when the form token had already filed this case (a reload or a double
    submit): the secret of the first submission is never known again."""

    request: Request
    secret: str | None

    @property
    def replayed(self) -> bool:
        """True when this form had already been filed and no new case was made."""
        return self.secret is None

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


def form_token_digest(settings: Settings, token: str) -> str:
    """Keyed digest of a public form's one-time token (stored with the case it filed)."""
    key = derive_key(settings, "form-token")
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def case_for_form_token(session: Session, settings: Settings, token: str) -> Request | None:
    """The case a form token already filed, if any."""
    digest = form_token_digest(settings, token)
    return session.scalar(select(Request).where(Request.submission_digest == digest))


def signature_of(settings: Settings, request: Request) -> str:
    """The typed signature: sealed since migration 0007, plaintext in older rows.

    The one reader of signatures (the console shows it, and audits that it did)."""
    if request.signature_enc is not None:
        return Sealer(settings).open(request.signature_enc)
    return request.signature or ""


def submit_request(
    session: Session,
    settings: Settings,
    data: RequestInput,
    *,
    actor: str = "requester",
    form_token: str | None = None,
    now: datetime | None = None,
) -> Submission:
    """Validate and store a removal request; queue the acknowledgement email.

    Raises `InvalidRequest` (nothing is added to the session) when any element is missing or
    invalid. The caller commits; only after that may it show the case number and secret.
    `form_token`, the public form's one-time token: when it already filed a case, that case
    comes back (`Submission.replayed`) and nothing is stored. Two concurrent submissions of the
    same token collide on the unique digest; the loser raises `IntegrityError` and its caller
    looks the token up again after rolling back.
    """
    now = now or utcnow()
    digest = form_token_digest(settings, form_token) if form_token else None
    if form_token:
        existing = case_for_form_token(session, settings, form_token)
        if existing is not None:
            return Submission(existing, None)
    errors = validate(data, now.date())
    if errors:
        raise InvalidRequest(errors)
    assert data.name and data.email and data.signature and data.good_faith_statement
    sealer = Sealer(settings)
    secret = new_status_secret()
    minor = MinorAnswer(data.minor) if data.minor else None
    child_safety = ChildSafetyFlag.POSSIBLE if minor in FLAGGED_ANSWERS else ChildSafetyFlag.NONE
    request = Request(
        case_number=_unused_case_number(session),
        handle=new_handle(),
        submission_digest=digest,
        status=RequestStatus.RECEIVED,
        channel=data.channel,
        received_at=now,
        deadline_at=deadline_for(settings, data.channel, now, child_safety=child_safety),
        language=data.language,
        signature=None,
        signature_enc=sealer.seal(data.signature),
        minor_answer=minor,
        child_safety=child_safety,
        signed_on=data.signed_on or now.date().isoformat(),
        good_faith_statement=data.good_faith_statement,
        supporting_info=data.supporting_info,
        requester_name_enc=sealer.seal(data.name),
        requester_email_enc=sealer.seal(data.email),
        requester_phone_enc=sealer.seal(data.phone) if data.phone else None,
        requester_digest=requester_digest(settings, data.email),
        representative=bool(data.representative),
        share_consent=bool(data.share_consent),
        secret_hash=hash_secret(secret),
        risk_level=0,
        updated_at=now,
    )
    request.items = [
        RequestItem(
            url=item.url,
            content_id=item.content_id,
            pdq=list(item.pdq) or None,
            # Each view of a smooth picture (a gradient) says so: it is banked as smooth.
            views=[
                {**asdict(v), "smooth": True} if item.smooth else asdict(v)
                for v in parse_views(item.views) or []
            ]
            or None,
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
            "share_consent": request.share_consent,
            "child_safety": request.child_safety.value,
        },
    )
    notify.notify_requester(session, request, "received")
    if child_safety == ChildSafetyFlag.POSSIBLE:
        notify.notify_reviewers_child_safety(session, request)
    return Submission(request, secret)
