"""Review: claiming a case, and the decisions remove / reject / need more information.

Console and API call the same `decide`. Claims and decisions are conditional UPDATEs, so two
reviewers acting at once cannot both win: the loser gets `ClaimConflict` and reloads.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from rescind.cases import notify
from rescind.cases.deadlines import OPEN_STATUSES
from rescind.cases.errors import CaseClosed, ClaimConflict, InvalidDecision, NotAllowed
from rescind.cases.reasons import CANNED_REPLIES, REJECT_REASONS
from rescind.cases.validation import MAX_STATEMENT, clean, validate_text
from rescind.config import Settings
from rescind.exchange import ncmec, verdicts
from rescind.platform.enforce import ItemPlan, dismiss_lead
from rescind.platform.lifecycle import refresh_case
from rescind.security import audit
from rescind.store.columns import utcnow
from rescind.store.models import Decision, Lead, Request, RequestEvent, User
from rescind.store.statuses import DecisionOutcome, ItemStatus, LeadStatus, RequestStatus, Role

OUTCOMES = tuple(DecisionOutcome)
_STATUS_AFTER = {
    DecisionOutcome.REMOVE: RequestStatus.REMOVAL_PENDING,
    DecisionOutcome.REJECT: RequestStatus.REJECTED,
    DecisionOutcome.NEED_INFO: RequestStatus.NEED_INFO,
}
DECIDING_ROLES = (Role.ADMIN, Role.REVIEWER)


class EnforceHook(Protocol):
    """Takes the depiction down in the decision's transaction: banks the hashes, sweeps for
    copies, queues the removal actions, lists leads (`rescind.cases.enforcement.RemovalEnforcer`).

    A required parameter of `decide`, never optional: a caller that forgot it would record a
    removal that removes nothing."""

    def __call__(
        self,
        session: Session,
        settings: Settings,
        request: Request,
        /,
        only: Collection[int] | None = None,
    ) -> None:
        """Apply a removal decision to the items of `request` decided `remove` (or to the
        items `only` names, decided since)."""

    def plan(self, session: Session, settings: Settings, request: Request, /) -> list[ItemPlan]:
        """What removing each item would do now (writes nothing)."""

    def confirm_lead(self, session: Session, settings: Settings, lead: Lead, actor: str, /) -> None:
        """Action a lead a reviewer confirmed, and sweep it for copies."""


# What a reviewer may decide for one item of a case decided "remove".
ITEM_CHOICES = (ItemStatus.REMOVE, ItemStatus.REJECTED, ItemStatus.HANDLED_OUTSIDE)


@dataclass(frozen=True)
class ItemChoice:
    """A per-item decision: remove it, reject it, or record it handled outside Rescind (then
    `note` says how)."""

    status: ItemStatus
    note: str | None = None


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


def assign(
    session: Session,
    request: Request,
    reviewer: Reviewer,
    assignee_id: int,
    *,
    expected_assignee_id: int | None,
    now: datetime | None = None,
) -> User:
    """Hand the case to a colleague: an active reviewer or admin. Optimistic like `claim`:
    fails with `ClaimConflict` if the assignment changed since the page was loaded; audited."""
    if reviewer.role not in DECIDING_ROLES or reviewer.user_id is None:
        raise NotAllowed()
    if request.status not in OPEN_STATUSES:
        raise CaseClosed()
    assignee = session.get(User, assignee_id)
    if assignee is None or not assignee.active or assignee.role not in DECIDING_ROLES:
        raise InvalidDecision("assign the case to an active reviewer")
    expected = (
        Request.assigned_to_id.is_(None)
        if expected_assignee_id is None
        else Request.assigned_to_id == expected_assignee_id
    )
    result = session.execute(
        update(Request)
        .where(Request.id == request.id, expected, Request.status.in_(OPEN_STATUSES))
        .values(assigned_to_id=assignee.id, updated_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(request)
    if not getattr(result, "rowcount", 0):
        raise ClaimConflict(_assignee_name(session, request.assigned_to_id))
    audit.record(
        session,
        reviewer.actor,
        "request.assign",
        subject_type="request",
        subject_id=request.case_number,
        detail={"previous_assignee_id": expected_assignee_id, "assignee_id": assignee.id},
    )
    return assignee


def active_reviewers(session: Session) -> list[User]:
    """Who a case can be assigned to: active reviewers and admins, by name."""
    return list(
        session.scalars(
            select(User)
            .where(User.active.is_(True), User.role.in_(DECIDING_ROLES))
            .order_by(User.username)
        )
    )


def release(session: Session, request: Request, reviewer: Reviewer) -> None:
    """Give the case back to the queue (only its assignee can, and only while it is open: a
    closed case is reopened by its own routes, restore or a new request, never by this one)."""
    if request.status not in OPEN_STATUSES:
        raise CaseClosed()
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


def _check(
    outcome: str, reason_code: str | None, note: str | None, message: str | None, reply: str | None
) -> None:
    if outcome not in OUTCOMES:
        raise InvalidDecision(f"outcome must be one of {', '.join(OUTCOMES)}")
    if reply is not None and (
        reply not in CANNED_REPLIES or CANNED_REPLIES[reply].outcome != outcome
    ):
        fitting = [c for c, r in CANNED_REPLIES.items() if r.outcome == outcome]
        raise InvalidDecision(
            f"reply must be one of {', '.join(fitting)}" if fitting else "no reply fits a removal"
        )
    if outcome == DecisionOutcome.REJECT and reason_code not in REJECT_REASONS:
        raise InvalidDecision(f"a rejection needs a reason: {', '.join(REJECT_REASONS)}")
    if reason_code is not None and reason_code not in REJECT_REASONS:
        # stored on the decision and shown to reviewers: a known code whatever the outcome
        raise InvalidDecision(f"reason code must be one of {', '.join(REJECT_REASONS)}")
    if outcome == DecisionOutcome.REJECT and reason_code == "other" and not (message or reply):
        raise InvalidDecision("reason 'other' needs a reply or a message to the requester")
    if outcome == DecisionOutcome.NEED_INFO and not (message or reply):
        raise InvalidDecision(
            "say what information is needed: pick a reply or write a message to the requester"
        )
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
    reply_code: str | None = None,
    enforce: EnforceHook,
    items: Mapping[int, ItemChoice] | None = None,
    automated: bool = False,
    now: datetime | None = None,
) -> Decision:
    """Record a decision and apply it: remove (then `enforce`), reject, or ask for information.

    `items` decides items one by one (by item id) for a "remove"; the others take the case's
    outcome. An item to remove that would lead nowhere (no action, no lead: see
    `EnforceHook.plan`) is refused: the reviewer marks it handled outside Rescind, with a note,
    or asks for more information. `reply_code` picks a canned reply (`CANNED_REPLIES`, for
    reject or need_info) the person reads in their language, before the reviewer's `message`.
    The clock keeps running through need_info and until the platform confirmed the removal. A
    case assigned to someone else raises `ClaimConflict`; an unassigned case is claimed by the
    decision.
    """
    if reviewer.role not in DECIDING_ROLES:
        raise NotAllowed()
    if request.status not in OPEN_STATUSES:
        raise CaseClosed()
    note, message = clean(note), clean(message_to_requester)
    reason_code, reply_code = clean(reason_code), clean(reply_code)
    _check(outcome, reason_code, note, message, reply_code)
    statuses = _item_statuses(request, outcome, items or {})
    if outcome == DecisionOutcome.REMOVE:
        _check_plan(request, statuses, enforce.plan(session, settings, request))
    now = now or utcnow()
    mine = (
        or_(Request.assigned_to_id.is_(None), Request.assigned_to_id == reviewer.user_id)
        if reviewer.user_id is not None
        else Request.assigned_to_id.is_(None)
    )
    new_status = _STATUS_AFTER[DecisionOutcome(outcome)]
    # A removal closes the case when the platform confirmed it (`refresh_case`), not now.
    closed = outcome == DecisionOutcome.REJECT
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
        reply_code=reply_code,
        automated=automated,
        at=now,
    )
    session.add(decision)
    request.events.append(
        RequestEvent(
            kind=f"decision_{outcome}",
            detail={"reason_code": decision.reason_code, "reply": reply_code, "message": message},
            public=True,
            at=now,
        )
    )
    for item in request.items:
        choice = statuses.get(item.id)
        if choice is not None:
            item.status, item.decision_note, item.decided_at = choice.status, choice.note, now
    session.flush()
    if outcome == DecisionOutcome.REMOVE:
        enforce(session, settings, request)
        refresh_case(session, request.id, now=now)
        # A reviewer found the flagged content is what was reported: report it to NCMEC.
        ncmec.queue_report(session, settings, request, now=now)
        removed = [i for i in request.items if i.status == ItemStatus.REMOVE]
        verdicts.queue_for_items(session, settings, request.id, removed)
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
            "reply_code": reply_code,
            "automated": automated,
            "items": {str(k): v.status for k, v in statuses.items()},
        },
    )
    notify.notify_requester(session, request, outcome, decision=decision)
    return decision


def _item_statuses(
    request: Request, outcome: str, choices: Mapping[int, ItemChoice]
) -> dict[int, ItemChoice]:
    """Each item's decision: the per-item choice, or the case's outcome (none for need_info)."""
    ids = {item.id for item in request.items}
    unknown = sorted(set(choices) - ids)
    if unknown:
        raise InvalidDecision(f"no item {unknown[0]} in this case")
    if outcome == DecisionOutcome.NEED_INFO:
        if choices:
            raise InvalidDecision("items are decided with remove or reject, not need_info")
        return {}
    default = ItemStatus.REMOVE if outcome == DecisionOutcome.REMOVE else ItemStatus.REJECTED
    result: dict[int, ItemChoice] = {}
    for item in request.items:
        choice = choices.get(item.id, ItemChoice(default))
        note = clean(choice.note)
        if choice.status not in ITEM_CHOICES:
            raise InvalidDecision(f"an item is decided {', '.join(ITEM_CHOICES)}")
        if outcome == DecisionOutcome.REJECT and choice.status != ItemStatus.REJECTED:
            raise InvalidDecision("a rejected case rejects every item: decide remove instead")
        if choice.status == ItemStatus.HANDLED_OUTSIDE and not note:
            raise InvalidDecision("say in a note how an item was handled outside Rescind")
        if validate_text("note", note, MAX_STATEMENT, required=False, multiline=True):
            raise InvalidDecision(f"note: at most {MAX_STATEMENT} characters, no markup")
        result[item.id] = ItemChoice(choice.status, note)
    if outcome == DecisionOutcome.REMOVE and all(
        c.status == ItemStatus.REJECTED for c in result.values()
    ):
        raise InvalidDecision("every item is rejected: reject the case instead")
    return result


def _check_plan(
    request: Request, statuses: Mapping[int, ItemChoice], plans: Sequence[ItemPlan]
) -> None:
    """Refuse to "remove" an item that would lead nowhere: it could never be removed."""
    by_item = {p.item_id: p for p in plans}
    for number, item in enumerate(request.items, start=1):
        plan = by_item.get(item.id)
        choice = statuses.get(item.id)
        if choice and choice.status == ItemStatus.REMOVE and (plan is None or plan.nothing):
            raise InvalidDecision(
                f"item {number} leads to no content: mark it handled outside Rescind "
                "with a note, reject it, or ask for more information"
            )


def decide_lead(
    session: Session,
    settings: Settings,
    request: Request,
    reviewer: Reviewer,
    lead_id: int,
    *,
    confirm: bool,
    enforce: EnforceHook,
) -> Lead:
    """Confirm (action it, sweep its copies) or dismiss a lead of a case being removed."""
    if reviewer.role not in DECIDING_ROLES:
        raise NotAllowed()
    lead = session.get(Lead, lead_id)
    if lead is None or lead.request_id != request.id:
        raise InvalidDecision(f"no lead {lead_id} in this case")
    if request.status != RequestStatus.REMOVAL_PENDING or lead.status != LeadStatus.UNCONFIRMED:
        raise CaseClosed()
    if confirm:
        enforce.confirm_lead(session, settings, lead, reviewer.actor)
    else:
        dismiss_lead(session, lead, reviewer.actor)
    # A lead matched through a partner's or StopNCII's entry: tell the source (a job).
    verdicts.queue_for_lead(session, settings, lead, confirmed=confirm)
    return lead


def resolve_item(
    session: Session,
    settings: Settings,
    request: Request,
    reviewer: Reviewer,
    item_id: int,
    choice: ItemChoice,
    *,
    enforce: EnforceHook,
) -> None:
    """Decide one item of a case whose removal is under way: an item the requester added since
    (remove it, reject it, or handle it outside), or an item whose removal came back (refused,
    not the platform's, undelivered: handled outside or rejected, with a note). An item handled
    outside or rejected no longer holds the case open; the case's review flag is cleared."""
    if reviewer.role not in DECIDING_ROLES:
        raise NotAllowed()
    if request.status != RequestStatus.REMOVAL_PENDING:
        raise CaseClosed()
    item = next((i for i in request.items if i.id == item_id), None)
    if item is None:
        raise InvalidDecision(f"no item {item_id} in this case")
    note = clean(choice.note)
    if choice.status == ItemStatus.REMOVE:
        if item.status != ItemStatus.PENDING:
            raise InvalidDecision("only a new item can be decided remove now")
        plans = enforce.plan(session, settings, request)
        _check_plan(request, {item.id: ItemChoice(ItemStatus.REMOVE)}, plans)
    elif choice.status not in (ItemStatus.HANDLED_OUTSIDE, ItemStatus.REJECTED) or not note:
        raise InvalidDecision("an item is resolved handled outside or rejected, with a note")
    item.status, item.decision_note, item.decided_at = choice.status, note, utcnow()
    request.needs_review = any(i.status == ItemStatus.PENDING for i in request.items)
    session.flush()
    if choice.status == ItemStatus.REMOVE:
        enforce(session, settings, request, only={item.id})
        verdicts.queue_for_items(session, settings, request.id, [item])
    audit.record(
        session,
        reviewer.actor,
        "request.item_resolved",
        subject_type="request",
        subject_id=request.case_number,
        detail={"item_id": item.id, "status": choice.status},
    )
    refresh_case(session, request.id)
