"""Review: claiming a case, and the decisions remove / reject / need more information.

Console and API call the same `decide`. Claims and decisions are conditional UPDATEs, so two
reviewers acting at once cannot both win: the loser gets `ClaimConflict` and reloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from rescind.cases import notify
from rescind.cases.deadlines import OPEN_STATUSES
from rescind.cases.errors import CaseClosed, ClaimConflict, InvalidDecision, NotAllowed
from rescind.cases.reasons import REJECT_REASONS
from rescind.cases.validation import MAX_STATEMENT, clean, validate_text
from rescind.config import Settings
from rescind.security import audit
from rescind.store.columns import utcnow
from rescind.store.models import Decision, Request, RequestEvent, User
from rescind.store.statuses import DecisionOutcome, RequestStatus, Role

OUTCOMES = tuple(DecisionOutcome)
_STATUS_AFTER = {
    DecisionOutcome.REMOVE: RequestStatus.ACTIONED,
    DecisionOutcome.REJECT: RequestStatus.REJECTED,
    DecisionOutcome.NEED_INFO: RequestStatus.NEED_INFO,
}
DECIDING_ROLES = (Role.ADMIN, Role.REVIEWER)


class EnforceHook(Protocol):
    """Takes the depiction down in the decision's transaction: banks the hashes, sweeps for
    copies, queues the removal actions (`rescind.cases.enforcement.RemovalEnforcer`).

    A required parameter of `decide`, never optional: a caller that forgot it would record a
    removal that removes nothing."""

    def __call__(self, session: Session, settings: Settings, request: Request, /) -> None:
        """Apply a removal decision to `request`, in `session`'s transaction."""


@dataclass(frozen=True)
class Reviewer:
    """Who decides: a console user (`user_id`) or an API key with the `review` scope."""

    actor: str
    role: str
    user_id: int | None = None

    @classmethod
    def of_user(cls, user: User) -> Reviewer:
        """The reviewer behind a console user."""
        return cls(actor=f"user:{user.id}", role=user.role, user_id=user.id)


def _assignee_name(session: Session, user_id: int | None) -> str | None:
    user = session.get(User, user_id) if user_id else None
    return user.username if user else None


def claim(
    session: Session,
    request: Request,
    reviewer: Reviewer,
    *,
    expected_assignee_id: int | None,
    now: datetime | None = None,
) -> None:
    """Assign the case to `reviewer`, if it is still assigned as the reviewer last saw it.

    `expected_assignee_id` is the assignee shown on the reviewer's page (None: unassigned);
    claiming over a colleague is explicit (they pass the colleague's id) and audited.
    """
    if reviewer.role not in DECIDING_ROLES or reviewer.user_id is None:
        raise NotAllowed()
    if request.status not in OPEN_STATUSES:
        raise CaseClosed()
    now = now or utcnow()
    was_received = request.status == RequestStatus.RECEIVED
    expected = (
        Request.assigned_to_id.is_(None)
        if expected_assignee_id is None
        else Request.assigned_to_id == expected_assignee_id
    )
    result = session.execute(
        update(Request)
        .where(Request.id == request.id, expected, Request.status.in_(OPEN_STATUSES))
        .values(
            assigned_to_id=reviewer.user_id,
            status=Request.status if not was_received else RequestStatus.IN_REVIEW,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(request)
    if not getattr(result, "rowcount", 0):
        raise ClaimConflict(_assignee_name(session, request.assigned_to_id))
    if was_received and request.status == RequestStatus.IN_REVIEW:
        request.events.append(RequestEvent(kind="in_review", detail=None, public=True, at=now))
    audit.record(
        session,
        reviewer.actor,
        "request.claim",
        subject_type="request",
        subject_id=request.case_number,
        detail={"previous_assignee_id": expected_assignee_id},
    )


def release(session: Session, request: Request, reviewer: Reviewer) -> None:
    """Give the case back to the queue (only its assignee can)."""
    if request.assigned_to_id != reviewer.user_id or reviewer.user_id is None:
        raise ClaimConflict(_assignee_name(session, request.assigned_to_id))
    request.assigned_to_id = None
    audit.record(
        session,
        reviewer.actor,
        "request.release",
        subject_type="request",
        subject_id=request.case_number,
    )


def _check(outcome: str, reason_code: str | None, note: str | None, message: str | None) -> None:
    if outcome not in OUTCOMES:
        raise InvalidDecision(f"outcome must be one of {', '.join(OUTCOMES)}")
    if outcome == DecisionOutcome.REJECT and reason_code not in REJECT_REASONS:
        raise InvalidDecision(f"a rejection needs a reason: {', '.join(REJECT_REASONS)}")
    if outcome == DecisionOutcome.REJECT and reason_code == "other" and not message:
        raise InvalidDecision("reason 'other' needs a message to the requester")
    if outcome == DecisionOutcome.NEED_INFO and not message:
        raise InvalidDecision("say what information is needed in the message to the requester")
    for name, value in (("note", note), ("message", message)):
        if validate_text(name, value, MAX_STATEMENT, required=False, multiline=True):
            raise InvalidDecision(f"{name}: at most {MAX_STATEMENT} characters, no markup")


def decide(
    session: Session,
    settings: Settings,
    request: Request,
    reviewer: Reviewer,
    outcome: str,
    *,
    reason_code: str | None = None,
    note: str | None = None,
    message_to_requester: str | None = None,
    enforce: EnforceHook,
    automated: bool = False,
    now: datetime | None = None,
) -> Decision:
    """Record a decision and apply it: remove (then `enforce`), reject, or ask for information.

    The clock keeps running through need_info. A case assigned to someone else raises
    `ClaimConflict`; an unassigned case is claimed by the decision.
    """
    if reviewer.role not in DECIDING_ROLES:
        raise NotAllowed()
    if request.status not in OPEN_STATUSES:
        raise CaseClosed()
    note, message = clean(note), clean(message_to_requester)
    reason_code = clean(reason_code)
    _check(outcome, reason_code, note, message)
    now = now or utcnow()
    mine = (
        or_(Request.assigned_to_id.is_(None), Request.assigned_to_id == reviewer.user_id)
        if reviewer.user_id is not None
        else Request.assigned_to_id.is_(None)
    )
    new_status = _STATUS_AFTER[DecisionOutcome(outcome)]
    closed = outcome != DecisionOutcome.NEED_INFO
    result = session.execute(
        update(Request)
        .where(Request.id == request.id, Request.status.in_(OPEN_STATUSES), mine)
        .values(
            status=new_status,
            assigned_to_id=reviewer.user_id if reviewer.user_id else Request.assigned_to_id,
            closed_at=now if closed else None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(request)
    if not getattr(result, "rowcount", 0):
        if request.status not in OPEN_STATUSES:
            raise CaseClosed()
        raise ClaimConflict(_assignee_name(session, request.assigned_to_id))
    decision = Decision(
        request_id=request.id,
        reviewer_id=reviewer.user_id,
        outcome=outcome,
        reason_code=reason_code if outcome == DecisionOutcome.REJECT else (reason_code or None),
        note=note,
        message_to_requester=message,
        automated=automated,
        at=now,
    )
    session.add(decision)
    request.events.append(
        RequestEvent(
            kind=f"decision_{outcome}",
            detail={"reason_code": decision.reason_code, "message": message},
            public=True,
            at=now,
        )
    )
    session.flush()
    if outcome == DecisionOutcome.REMOVE:
        enforce(session, settings, request)
    audit.record(
        session,
        reviewer.actor,
        "decision.create",
        subject_type="request",
        subject_id=request.case_number,
        detail={
            "decision_id": decision.id,
            "outcome": outcome,
            "reason_code": decision.reason_code,
            "automated": automated,
        },
    )
    notify.notify_requester(session, request, outcome, decision=decision)
    return decision
