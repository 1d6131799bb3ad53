"""A reviewer restores what a case removed: withdrawn at the person's wish, or removed in error.

Withdrawing a request withdraws its hashes, but content already removed stays removed until a
reviewer restores it, with a reason. The restore writes one `content.restore` action per
content the case's removal actions named (by content id, or by URL the platform resolved),
delivered like removals by the outbox; sets that content back to `live` in the registry; and
withdraws the case's bank entries still active, so re-uploads stop being blocked in its name.
Idempotent: restoring again writes nothing and records nothing.

An upheld uploader's appeal reverses one removal, not the case (`restore_appealed`): see its
docstring and docs/requests.md "What an upheld removal appeal puts back".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.cases.errors import InvalidDecision, NotAllowed
from rescind.cases.review import DECIDING_ROLES, Reviewer
from rescind.cases.validation import clean
from rescind.exchange import stopncii
from rescind.platform.actions import REMOVE, RESTORE, create_action
from rescind.platform.banks import withdraw_entries
from rescind.security import audit
from rescind.store.models import Action, BankEntry, Content, Match, Request, RequestItem
from rescind.store.statuses import BankEntryStatus, ContentState

MAX_REASON = 2000


@dataclass
class Restoration:
    """What a restore did: the actions written, content set live, bank entries withdrawn."""

    actions: list[Action] = field(default_factory=list)
    contents: list[Content] = field(default_factory=list)
    entries: int = 0
    copies: int = 0  # copies put back because the entries they matched were withdrawn
    kept: int = 0  # content left removed: another removal or an entry standing holds it
    appealed_kept: bool = False  # the appealed content stays removed: another case removed it

    @property
    def nothing(self) -> bool:
        """The restore changed nothing (done before, or nothing was removed)."""
        return not self.actions and not self.contents and not self.entries


def removal_actions(session: Session, request: Request) -> list[Action]:
    """The case's removal actions, in id order."""
    return list(
        session.scalars(
            select(Action)
            .where(Action.request_id == request.id, Action.type == REMOVE)
            .order_by(Action.id)
        )
    )


def restore_removed(
    session: Session, request: Request, reviewer: Reviewer, reason: str | None
) -> Restoration:
    """Restore what `request` removed (see the module docstring), audited as `request.restore`
    with the reviewer's reason. Refuses a reviewer without the role (`NotAllowed`) and an empty
    reason (`InvalidDecision`) before writing anything. Never commits."""
    if reviewer.role not in DECIDING_ROLES:
        raise NotAllowed()
    why = clean(reason)
    if why is None:
        raise InvalidDecision("a restore needs a reason")
    if len(why) > MAX_REASON:
        raise InvalidDecision(f"the reason is longer than {MAX_REASON} characters")
    result = Restoration()
    seen: set[Target] = set()
    for removal in removal_actions(session, request):
        if _target(removal) not in seen:
            seen.add(_target(removal))
            _put_back(session, request, removal, result)
    active = session.scalars(
        select(BankEntry).where(
            BankEntry.request_id == request.id, BankEntry.status == BankEntryStatus.ACTIVE
        )
    )
    result.entries = withdraw_entries(session, list(active))
    _settle(
        session,
        request,
        reviewer,
        result,
        {
            "case_number": request.case_number,
            "reason": why,
            "actions": len(result.actions),
            "contents": len(result.contents),
            "entries_withdrawn": result.entries,
        },
    )
    return result


def _settle(
    session: Session,
    request: Request,
    reviewer: Reviewer,
    result: Restoration,
    detail: dict[str, object],
) -> None:
    """The end of every restore: StopNCII told of the entries withdrawn (if we shared them),
    and one `request.restore` audit event with `detail` when anything was put back."""
    if result.entries:
        stopncii.queue_withdrawal(session, request)  # if we shared them with StopNCII
    session.flush()
    if not result.nothing:
        audit.record(
            session,
            reviewer.actor,
            "request.restore",
            subject_type="request",
            subject_id=request.case_number,
            detail=detail,
        )


Target = tuple[str | None, str | None]  # (content id, or the URL of unregistered content)


def _target(action: Action) -> Target:
    return (action.content_id, None if action.content_id else action.url)


def _named_by(item: RequestItem, content: Content) -> bool:
    return bool(
        (item.content_id and item.content_id == content.content_id)
        or (item.url and content.url == item.url)
    )


def _put_back(
    session: Session, request: Request, removal: Action, result: Restoration
) -> Content | None:
    """One `content.restore` for what `removal` named, and its registry row back to live."""
    target = _target(removal)
    action, created = create_action(
        session,
        RESTORE,
        target[0],
        url=target[1],
        request_id=request.id,
        item_id=removal.item_id,
    )
    if created:
        result.actions.append(action)
    if removal.content_id is None:
        return None
    content = session.scalar(select(Content).where(Content.content_id == removal.content_id))
    if content is not None and content.state == ContentState.REMOVED:
        content.state = ContentState.LIVE
        result.contents.append(content)
    return content


def _standing_removals(session: Session, request: Request) -> list[Action]:
    """The case's removal actions whose content it has not put back, one per target."""
    restored = {
        _target(a)
        for a in session.scalars(
            select(Action).where(Action.request_id == request.id, Action.type == RESTORE)
        )
    }
    standing: dict[Target, Action] = {}
    for removal in removal_actions(session, request):
        if _target(removal) not in restored:
            standing.setdefault(_target(removal), removal)
    return list(standing.values())


def _removed_elsewhere(session: Session, request: Request, content_id: str) -> bool:
    """Another case removed this content and has not put it back."""
    others = session.scalars(
        select(Action).where(
            Action.content_id == content_id,
            Action.request_id.is_not(None),
            Action.request_id != request.id,
        )
    )
    by_case: dict[int | None, set[str]] = {}
    for action in others:
        by_case.setdefault(action.request_id, set()).add(action.type)
    return any(REMOVE in types and RESTORE not in types for types in by_case.values())


def restore_appealed(
    session: Session, request: Request, removal: Action, reviewer: Reviewer, reason: str
) -> Restoration:
    """Reverse the one removal an uploader appealed (upheld), not the whole case:

    - the appealed content gets a `content.restore` (delivered and confirmed like removals)
      and is live again in the registry;
    - the case's bank entries made from that content (its registered signals, banked when a
      reviewer decided it or confirmed it as a lead) are withdrawn: its re-uploads are no
      longer blocked in this case's name;
    - every other content this case removed only because it matched those entries (a copy
      found by the sweep) is put back too: its removal stood on nothing else. A copy that
      still matches an entry standing (this case's other items, another case, a partner), or
      that another case removed, stays removed;
    - when nothing the appealed item led to stays removed, the item's remaining entries (the
      hashes the requester sent for it) are withdrawn as well;
    - the case's other items, their entries and their removals are untouched;
    - when another case removed the appealed content too and has not put it back, no restore
      is sent for it (its removal there stands until appealed there); the rest is as above.

    A copy appealed (found by matching, no entries made from it) is put back alone: the
    entries it matched stand for the item, which stays removed. Audited as
    `request.restore` with the appeal's reason. Never commits."""
    if reviewer.role not in DECIDING_ROLES:
        raise NotAllowed()
    why = clean(reason)
    if why is None:
        raise InvalidDecision("a restore needs a reason")
    result = Restoration()
    if removal.content_id is not None and _removed_elsewhere(session, request, removal.content_id):
        # Another case's removal of this content stands: this case's is reversed (its entries
        # withdrawn below) but no restore is sent; that removal is appealed on its own.
        content = session.scalar(select(Content).where(Content.content_id == removal.content_id))
        result.kept += 1
        result.appealed_kept = True
    else:
        content = _put_back(session, request, removal, result)
    entries = [
        e
        for e in session.scalars(
            select(BankEntry).where(
                BankEntry.request_id == request.id, BankEntry.status == BankEntryStatus.ACTIVE
            )
        )
    ]
    made_from = [
        e
        for e in entries
        if content is not None and (e.provenance or {}).get("content_pk") == content.id
    ]
    withdrawn = {e.id for e in made_from}
    result.entries = withdraw_entries(session, made_from)
    item = session.get(RequestItem, removal.item_id) if removal.item_id is not None else None
    if withdrawn:
        sources = {
            pk
            for e in session.scalars(select(BankEntry).where(BankEntry.request_id == request.id))
            if (pk := (e.provenance or {}).get("content_pk")) is not None
        }
        for other in _standing_removals(session, request):
            copy = (
                session.scalar(select(Content).where(Content.content_id == other.content_id))
                if other.content_id is not None
                else None
            )
            if copy is None or copy.id in sources:  # a removal still pending is put back too
                continue
            if any(_named_by(i, copy) for i in request.items):
                continue
            matched = set(
                session.scalars(select(Match.bank_entry_id).where(Match.content_pk == copy.id))
            )
            if not matched & withdrawn:
                continue  # not found through the entries withdrawn
            still = session.scalar(
                select(BankEntry.id).where(
                    BankEntry.id.in_(matched), BankEntry.status == BankEntryStatus.ACTIVE
                )
            )
            if still is not None or _removed_elsewhere(session, request, copy.content_id):
                result.kept += 1
                continue
            _put_back(session, request, other, result)
            result.copies += 1
    if item is not None and not any(
        a.item_id == item.id for a in _standing_removals(session, request)
    ):
        rest = [
            e
            for e in entries
            if e.status == BankEntryStatus.ACTIVE
            and (e.provenance or {}).get("request_item_id") == item.id
        ]
        result.entries += withdraw_entries(session, rest)
    _settle(
        session,
        request,
        reviewer,
        result,
        {
            "case_number": request.case_number,
            "reason": why[:MAX_REASON],
            "appealed_action_id": removal.id,
            "item_id": removal.item_id,
            "actions": len(result.actions),
            "contents": len(result.contents),
            "copies": result.copies,
            "kept": result.kept,
            "appealed_kept": result.appealed_kept,
            "entries_withdrawn": result.entries,
        },
    )
    return result
