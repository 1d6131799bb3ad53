"""A reviewer restores what a case removed: withdrawn at the person's wish, or removed in error.

Withdrawing a request withdraws its hashes, but content already removed stays removed until a
reviewer restores it, with a reason. The restore writes one `content.restore` action per
content the case's removal actions named (by content id, or by URL the platform resolved),
delivered like removals by the outbox; sets that content back to `live` in the registry; and
withdraws the case's bank entries still active, so re-uploads stop being blocked in its name.
Idempotent: restoring again writes nothing and records nothing.
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
from rescind.store.models import Action, BankEntry, Content, Request
from rescind.store.statuses import BankEntryStatus, ContentState

MAX_REASON = 2000


@dataclass
class Restoration:
    """What a restore did: the actions written, content set live, bank entries withdrawn."""

    actions: list[Action] = field(default_factory=list)
    contents: list[Content] = field(default_factory=list)
    entries: int = 0

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
    seen: set[tuple[str | None, str | None]] = set()
    for removal in removal_actions(session, request):
        target = (removal.content_id, None if removal.content_id else removal.url)
        if target in seen:
            continue
        seen.add(target)
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
        if removal.content_id is not None:
            for content in session.scalars(
                select(Content).where(
                    Content.content_id == removal.content_id,
                    Content.state == ContentState.REMOVED,
                )
            ):
                content.state = ContentState.LIVE
                result.contents.append(content)
    active = session.scalars(
        select(BankEntry).where(
            BankEntry.request_id == request.id, BankEntry.status == BankEntryStatus.ACTIVE
        )
    )
    result.entries = withdraw_entries(session, list(active))
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
            detail={
                "case_number": request.case_number,
                "reason": why,
                "actions": len(result.actions),
                "contents": len(result.contents),
                "entries_withdrawn": result.entries,
            },
        )
    return result
