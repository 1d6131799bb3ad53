"""Appeals against decisions (DSA Art. 20): free, open for at least six months, decided by a
reviewer other than the one who made the decision, never by automation alone.

Two kinds. An uploader whose content was removed appeals through the platform
(`POST /v1/appeals` with the removal action's id and their statement). A requester whose
request was rejected asks for another review on the status page. Upholding a removal appeal
reverses that removal only (`rescind.cases.restore.restore_appealed`): a `content.restore` for
the appealed content, delivered and confirmed like removals, the bank entries made from it
withdrawn (partners' next pull sees the withdrawals), and the copies removed only because they
matched those entries put back; the case's other items stay removed. Upholding a requester's
appeal reopens the case for review on a fresh clock. Every step is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rescind.cases import notify
from rescind.cases.deadlines import deadline_for
from rescind.cases.errors import CaseClosed, InvalidDecision, NotAllowed
from rescind.cases.restore import Restoration, restore_appealed
from rescind.cases.review import DECIDING_ROLES, EnforceHook, Reviewer
from rescind.cases.validation import MAX_STATEMENT, clean, validate_text
from rescind.config import Settings
from rescind.exchange import verdicts
from rescind.platform.actions import REMOVE, RESTORE, create_action
from rescind.platform.lifecycle import refresh_case
from rescind.security import audit
from rescind.store.columns import utcnow
from rescind.store.models import (
    Action,
    Appeal,
    AuditEvent,
    Content,
    Decision,
    Lead,
    Request,
    RequestEvent,
    RequestItem,
)
from rescind.store.statuses import (
    AppealKind,
    AppealStatus,
    ContentState,
    DecisionOutcome,
    ItemStatus,
    RequestStatus,
)

MAX_REASON = 2000


class AppealError(Exception):
    """An appeal cannot be filed or decided as asked; `field` names the input at fault."""

    status = 422

    def __init__(self, message: str, field: str = "body") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class AppealNotFound(AppealError):
    """No such appeal or action (for this caller)."""

    status = 404


class AppealWindowClosed(AppealError):
    """The decision is older than the appeal window."""

    status = 409


def _statement(text: str | None) -> str:
    statement = clean(text)
    if validate_text("statement", statement, MAX_STATEMENT, required=True, multiline=True):
        raise AppealError(
            f"a statement is required: at most {MAX_STATEMENT} characters, no markup",
            "statement",
        )
    assert statement is not None
    return statement


def _within_window(settings: Settings, decided_at: datetime, now: datetime) -> None:
    if now - decided_at > timedelta(days=settings.appeal_window_days):
        raise AppealWindowClosed(
            f"the decision is older than the appeal window ({settings.appeal_window_days} days)",
            "action_id",
        )


def file_removal_appeal(
    session: Session,
    settings: Settings,
    action_id: int,
    statement: str | None,
    actor: str,
    *,
    now: datetime | None = None,
) -> tuple[Appeal, bool]:
    """An uploader's appeal against the removal action `action_id`, filed by the platform
    (`actor`, its API key). One appeal per action: filing again returns the first one
    (`created` False) and records nothing. Never commits."""
    now = now or utcnow()
    text = _statement(statement)
    action = session.get(Action, action_id)
    if action is None or action.type != REMOVE:
        raise AppealNotFound(f"no removal action {action_id}", "action_id")
    existing = session.scalar(select(Appeal).where(Appeal.action_id == action.id))
    if existing is not None:
        return existing, False
    _within_window(settings, action.created_at, now)
    appeal = Appeal(
        kind=AppealKind.REMOVAL,
        status=AppealStatus.OPEN,
        request_id=action.request_id,
        action_id=action.id,
        statement=text,
        filed_by=actor,
        filed_at=now,
    )
    try:
        with session.begin_nested():
            session.add(appeal)
    except IntegrityError:  # the same appeal filed at the same moment: the first stands
        existing = session.scalar(select(Appeal).where(Appeal.action_id == action.id))
        assert existing is not None
        return existing, False
    audit.record(
        session,
        actor,
        "appeal.file",
        subject_type="appeal",
        subject_id=appeal.id,
        detail={
            "kind": appeal.kind,
            "action_id": action.id,
            "case_number": _case_number(session, action.request_id),
        },
    )
    return appeal, True


def rejection_of(request: Request) -> Decision | None:
    """The decision that rejected `request`, if it stands rejected."""
    if request.status != RequestStatus.REJECTED:
        return None
    rejections = [d for d in request.decisions if d.outcome == DecisionOutcome.REJECT]
    return rejections[-1] if rejections else None


def can_appeal_rejection(
    session: Session, settings: Settings, request: Request, now: datetime | None = None
) -> bool:
    """Whether the status page offers "ask for another review": rejected, within the
    window, and that rejection not appealed yet."""
    decision = rejection_of(request)
    if decision is None:
        return False
    if (now or utcnow()) - decision.at > timedelta(days=settings.appeal_window_days):
        return False
    return session.scalar(select(Appeal.id).where(Appeal.decision_id == decision.id)) is None


def file_rejection_appeal(
    session: Session,
    settings: Settings,
    request: Request,
    statement: str | None,
    *,
    now: datetime | None = None,
) -> Appeal:
    """A requester asks for another review of the rejection of `request` (one appeal per
    rejection). `CaseClosed` when it is not rejected or was already appealed."""
    now = now or utcnow()
    text = _statement(statement)
    decision = rejection_of(request)
    if decision is None:
        raise CaseClosed()
    _within_window(settings, decision.at, now)
    if session.scalar(select(Appeal.id).where(Appeal.decision_id == decision.id)) is not None:
        raise CaseClosed()
    appeal = Appeal(
        kind=AppealKind.REJECTION,
        status=AppealStatus.OPEN,
        request_id=request.id,
        decision_id=decision.id,
        statement=text,
        filed_by="requester",
        filed_at=now,
    )
    session.add(appeal)
    event = RequestEvent(kind="appeal_filed", detail=None, public=True, at=now)
    return _filed(session, request, appeal, event, {})


def _filed(
    session: Session,
    request: Request,
    appeal: Appeal,
    event: RequestEvent,
    detail: dict[str, object],
) -> Appeal:
    """The end of a requester's appeal: `event` on the case's history and the `appeal.file`
    audit event (its kind, the case number and `detail`)."""
    request.events.append(event)
    session.flush()
    audit.record(
        session,
        "requester",
        "appeal.file",
        subject_type="appeal",
        subject_id=appeal.id,
        detail={"kind": appeal.kind, "case_number": request.case_number, **detail},
    )
    return appeal


# A case partly removed: some items removed (or on their way), the others rejected.
PARTLY_REMOVED = (RequestStatus.REMOVAL_PENDING, RequestStatus.REMOVED)


def appealable_items(
    session: Session, settings: Settings, request: Request, now: datetime | None = None
) -> list[tuple[int, RequestItem, datetime]]:
    """The items of a partly removed case whose rejection the requester may still appeal:
    (number on the status page, item, last day of the window), in item order. An item is
    appealed once; a case rejected whole is appealed whole (`can_appeal_rejection`)."""
    if request.status not in PARTLY_REMOVED:
        return []
    now = now or utcnow()
    window = timedelta(days=settings.appeal_window_days)
    appealed = set(
        session.scalars(
            select(Appeal.item_id).where(
                Appeal.request_id == request.id, Appeal.item_id.is_not(None)
            )
        )
    )
    return [
        (number, item, item.decided_at + window)
        for number, item in enumerate(request.items, start=1)
        if item.status == ItemStatus.REJECTED
        and item.decided_at is not None
        and now - item.decided_at <= window
        and item.id not in appealed
    ]


def file_item_appeal(
    session: Session,
    settings: Settings,
    request: Request,
    number: int,
    statement: str | None,
    *,
    now: datetime | None = None,
) -> Appeal:
    """A requester asks for another review of the rejection of item `number` (1-based, as the
    status page numbers them) of a partly removed case. Free, within the appeal window of the
    item's decision, once per item. `CaseClosed` when that item cannot be appealed (not
    rejected, the case not partly removed, appealed already); `AppealWindowClosed` when the
    window closed; `AppealError` without a statement. Never commits."""
    now = now or utcnow()
    text = _statement(statement)
    items = list(request.items)
    if not 1 <= number <= len(items):
        raise CaseClosed()
    item = items[number - 1]
    if (
        request.status not in PARTLY_REMOVED
        or item.status != ItemStatus.REJECTED
        or item.decided_at is None
    ):
        raise CaseClosed()
    _within_window(settings, item.decided_at, now)
    if session.scalar(select(Appeal.id).where(Appeal.item_id == item.id)) is not None:
        raise CaseClosed()
    appeal = Appeal(
        kind=AppealKind.REJECTION,
        status=AppealStatus.OPEN,
        request_id=request.id,
        item_id=item.id,
        statement=text,
        filed_by="requester",
        filed_at=now,
    )
    try:
        with session.begin_nested():
            session.add(appeal)
    except IntegrityError:  # the same item appealed at the same moment: the first stands
        raise CaseClosed() from None
    event = RequestEvent(kind="item_appeal_filed", detail={"item": number}, public=True, at=now)
    return _filed(session, request, appeal, event, {"item_id": item.id})


def item_number(request: Request, item_id: int | None) -> int | None:
    """The item's number on the status page (1-based), or None."""
    for number, item in enumerate(request.items, start=1):
        if item.id == item_id:
            return number
    return None


def _case_number(session: Session, request_id: int | None) -> str | None:
    request = session.get(Request, request_id) if request_id is not None else None
    return request.case_number if request is not None else None


def original_deciders(session: Session, appeal: Appeal) -> set[int]:
    """The staff who decided the case appealed: every reviewer who recorded a decision on it,
    decided one of its items since, or decided one of its leads. None of them may decide the
    appeal (of the case, or of one item of it)."""
    if appeal.request_id is None:
        return set()
    users = {
        uid
        for uid in session.scalars(
            select(Decision.reviewer_id).where(Decision.request_id == appeal.request_id)
        )
        if uid is not None
    }
    actors = list(
        session.scalars(select(Lead.decided_by).where(Lead.request_id == appeal.request_id))
    )
    # Whoever decided one item later (an item added since, or whose removal came back).
    case_number = _case_number(session, appeal.request_id)
    actors += session.scalars(
        select(AuditEvent.actor).where(
            AuditEvent.action == "request.item_resolved", AuditEvent.subject_id == case_number
        )
    )
    for actor in actors:
        if actor and actor.startswith("user:") and actor[5:].isdigit():
            users.add(int(actor[5:]))
    return users


def get_appeal(session: Session, appeal_id: int) -> Appeal:
    """The appeal `appeal_id`, or `AppealNotFound`."""
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise AppealNotFound(f"no appeal {appeal_id}", "id")
    return appeal


def open_appeals(session: Session) -> list[Appeal]:
    """Appeals waiting for a decision, oldest first."""
    return list(
        session.scalars(
            select(Appeal).where(Appeal.status == AppealStatus.OPEN).order_by(Appeal.id)
        )
    )


@dataclass(frozen=True)
class AppealDecision:
    """What deciding an appeal did: the restore (an upheld removal appeal), or the case
    reopened (an upheld rejection appeal)."""

    appeal: Appeal
    restoration: Restoration | None = None
    reopened: bool = False


def _restore_uncased(session: Session, action: Action) -> Restoration:
    # A removal no case asked for (a partner's bank blocked it): put back that content only.
    result = Restoration()
    restore, created = create_action(
        session,
        RESTORE,
        action.content_id,
        url=None if action.content_id else action.url,
        request_id=None,
    )
    if created:
        result.actions.append(restore)
    if action.content_id is not None:
        for content in session.scalars(
            select(Content).where(
                Content.content_id == action.content_id, Content.state == ContentState.REMOVED
            )
        ):
            content.state = ContentState.LIVE
            result.contents.append(content)
    session.flush()
    return result


def _reopen(
    session: Session, settings: Settings, request: Request, now: datetime, why: str
) -> None:
    request.status = RequestStatus.IN_REVIEW
    request.closed_at = None
    request.assigned_to_id = None
    request.needs_review = False
    request.deadline_at = deadline_for(
        settings, request.channel, now, child_safety=request.child_safety
    )
    request.risk_level = 0
    request.updated_at = now
    for item in request.items:
        if item.status == ItemStatus.REJECTED:
            item.status, item.decided_at = ItemStatus.PENDING, None
    request.events.append(
        RequestEvent(kind="appeal_upheld", detail={"reason": why}, public=True, at=now)
    )


def _item_still_rejected(session: Session, appeal: Appeal) -> bool:
    item = session.get(RequestItem, appeal.item_id)
    request = session.get(Request, appeal.request_id) if appeal.request_id else None
    return (
        item is not None
        and request is not None
        and item.status == ItemStatus.REJECTED
        and request.status in PARTLY_REMOVED
    )


def _item_back_for_removal(
    session: Session,
    settings: Settings,
    request: Request,
    appeal: Appeal,
    now: datetime,
    why: str,
    enforce: EnforceHook,
) -> None:
    """An upheld appeal of one item's rejection: the item is decided `remove` and enforced
    like any removal (actions delivered by the outbox, its hashes banked and swept), the case
    back to `removal_pending` on a fresh clock until the platform confirms."""
    item = session.get(RequestItem, appeal.item_id)
    assert item is not None
    item.status, item.decided_at = ItemStatus.REMOVE, now
    item.decision_note = f"appeal {appeal.id} upheld"
    request.status = RequestStatus.REMOVAL_PENDING
    request.closed_at = request.removed_at = None
    request.needs_review = False
    request.deadline_at = deadline_for(
        settings, request.channel, now, child_safety=request.child_safety
    )
    request.risk_level = 0
    request.updated_at = now
    request.events.append(
        RequestEvent(
            kind="item_appeal_upheld",
            detail={"reason": why, "item": item_number(request, item.id)},
            public=True,
            at=now,
        )
    )
    session.flush()
    enforce(session, settings, request, only={item.id})
    verdicts.queue_for_items(session, settings, request.id, [item])
    refresh_case(session, request.id, now=now)


def decide_appeal(
    session: Session,
    settings: Settings,
    appeal: Appeal,
    reviewer: Reviewer,
    upheld: bool,
    reason: str | None,
    *,
    enforce: EnforceHook,
    now: datetime | None = None,
) -> AppealDecision:
    """Uphold or dismiss `appeal`, with a reason. Only a signed-in reviewer or admin who took
    no part in the decision appealed (`NotAllowed` otherwise: never an API key, so never
    automation alone); an appeal already decided raises `CaseClosed`. An upheld appeal of an
    item's rejection removes the item with `enforce`. Never commits."""
    if reviewer.role not in DECIDING_ROLES or reviewer.user_id is None:
        raise NotAllowed()
    if reviewer.user_id in original_deciders(session, appeal):
        raise NotAllowed()
    if appeal.status != AppealStatus.OPEN:
        raise CaseClosed()
    if upheld and appeal.item_id is not None and not _item_still_rejected(session, appeal):
        raise CaseClosed()  # withdrawn, or the item decided otherwise since: nothing to reverse
    why = clean(reason)
    if why is None:
        raise InvalidDecision("an appeal decision needs a reason")
    if len(why) > MAX_REASON:
        raise InvalidDecision(f"the reason is longer than {MAX_REASON} characters")
    now = now or utcnow()
    appeal.status = AppealStatus.UPHELD if upheld else AppealStatus.DISMISSED
    appeal.decided_by_id, appeal.decided_at, appeal.reason = reviewer.user_id, now, why
    request = session.get(Request, appeal.request_id) if appeal.request_id else None
    result = AppealDecision(appeal)
    if upheld and appeal.kind == AppealKind.REMOVAL:
        action = session.get(Action, appeal.action_id)
        assert action is not None
        if request is not None:
            restoration = restore_appealed(
                session, request, action, reviewer, f"appeal {appeal.id} upheld: {why}"
            )
            if restoration.actions:  # something is put back (not when another case holds it)
                request.events.append(
                    RequestEvent(
                        kind="restored_on_appeal",
                        detail={"item_id": action.item_id, "copies": restoration.copies},
                        public=True,
                        at=now,
                    )
                )
        else:
            restoration = _restore_uncased(session, action)
        appeal.restore_action_ids = [a.id for a in restoration.actions]
        result = AppealDecision(appeal, restoration=restoration)
    elif upheld and request is not None and appeal.item_id is not None:
        _item_back_for_removal(session, settings, request, appeal, now, why, enforce)
    elif upheld and request is not None:
        _reopen(session, settings, request, now, why)
        result = AppealDecision(appeal, reopened=True)
    elif request is not None and appeal.item_id is not None:
        request.events.append(
            RequestEvent(
                kind="item_appeal_dismissed",
                detail={"reason": why, "item": item_number(request, appeal.item_id)},
                public=True,
                at=now,
            )
        )
    elif request is not None and appeal.kind == AppealKind.REJECTION:
        request.events.append(
            RequestEvent(kind="appeal_dismissed", detail={"reason": why}, public=True, at=now)
        )
    session.flush()
    if appeal.kind == AppealKind.REJECTION and request is not None:
        notify.notify_requester_of_appeal(session, request, appeal)
    audit.record(
        session,
        reviewer.actor,
        "appeal.uphold" if upheld else "appeal.dismiss",
        subject_type="appeal",
        subject_id=appeal.id,
        detail={
            "kind": appeal.kind,
            "case_number": request.case_number if request is not None else None,
            "reason": why,
            "restore_actions": len(result.restoration.actions) if result.restoration else 0,
            "copies_restored": result.restoration.copies if result.restoration else 0,
            "kept_by_another_case": bool(result.restoration and result.restoration.appealed_kept),
            "entries_withdrawn": result.restoration.entries if result.restoration else 0,
            "reopened": result.reopened,
            "item_id": appeal.item_id,
        },
    )
    return result
