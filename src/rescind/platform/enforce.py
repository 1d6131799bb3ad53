"""Enforcing a "remove" decision: bank the reported items, sweep for copies, write actions.

Everything happens in the caller's transaction (the reviewer's decision), so the decision, the
bank entries, the matches and the outbox rows commit together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.platform.actions import REMOVE, create_action
from rescind.platform.banks import NCII_BANK, ensure_default_banks, get_bank, policy_of
from rescind.platform.banks import add_signals as bank_signals
from rescind.platform.check import record_matches
from rescind.platform.errors import InvalidSignalError
from rescind.platform.matcher import Hit
from rescind.platform.registry import signals_of
from rescind.platform.runtime import PlatformRuntime
from rescind.platform.signals import PdqHash, Signals, hex_value, parse_pdq
from rescind.platform.sweep import sweep_copies
from rescind.security import audit
from rescind.store.models import Action, BankEntry, Content, Request, RequestItem
from rescind.store.statuses import ContentState


@dataclass
class Enforcement:
    """What a removal did: entries banked, items named, copies found, actions written."""

    entries: list[BankEntry] = field(default_factory=list)
    named: list[Content] = field(default_factory=list)
    copies: list[Content] = field(default_factory=list)
    review: list[Content] = field(default_factory=list)  # low-quality matches: not actioned
    actions: list[Action] = field(default_factory=list)


def _item_signals(item: RequestItem) -> Signals:
    """The hashes a requester sent with an item (validated at intake; bad ones are skipped)."""
    pdq: list[PdqHash] = []
    for i, value in enumerate(item.pdq or []):
        try:
            pdq.append(parse_pdq(value, f"pdq.{i}"))
        except InvalidSignalError:
            continue

    def exact(value: str | None, length: int) -> str | None:
        try:
            return None if value is None else hex_value(value, length, "hash")
        except InvalidSignalError:
            return None

    return Signals(pdq=tuple(pdq), md5=exact(item.md5, 32), sha256=exact(item.sha256, 64))


def _named_contents(session: Session, item: RequestItem) -> list[Content]:
    found: list[Content] = []
    if item.content_id:
        found += session.scalars(select(Content).where(Content.content_id == item.content_id))
    if item.url:
        found += session.scalars(
            select(Content).where(Content.url == item.url, Content.forgotten_at.is_(None))
        )
    return found


def enforce_removal(
    session: Session,
    settings: Settings,
    request: Request,
    *,
    runtime: PlatformRuntime,
) -> Enforcement:
    """Bank the request's items in the NCII bank, sweep `runtime`'s registry index, write one
    `content.remove` action per item named or copy found. Never commits; idempotent."""
    ensure_default_banks(session, settings)
    bank = get_bank(session, NCII_BANK)
    policy = policy_of(bank)
    result = Enforcement()
    named: dict[int, Content] = {}
    for item in request.items:
        own = _item_signals(item)
        provenance = {"request_item_id": item.id}
        if not own.empty:
            result.entries += bank_signals(
                session, bank, own, source="request", request_id=request.id, provenance=provenance
            )
        for content in _named_contents(session, item):
            named[content.id] = content
            stored = signals_of(session, content.id)
            if not stored.empty:
                result.entries += bank_signals(
                    session,
                    bank,
                    stored,
                    source="request",
                    request_id=request.id,
                    provenance={**provenance, "content_pk": content.id},
                )
    copies = sweep_copies(session, settings, runtime, result.entries, policy)
    by_entry = {e.id: e for e in result.entries}
    # Keyed by the platform's id: an item naming content we never registered is still actioned.
    targets: dict[str, Content | None] = {c.content_id: c for c in named.values()}
    for item in request.items:
        if item.content_id:
            targets.setdefault(item.content_id, None)
    for copy in copies:
        entry = by_entry[copy.entry_id]
        hit = Hit(
            copy.entry_id,
            policy,
            entry.signal_type,
            copy.distance,
            not copy.actionable,
            request.id,
            request.case_number,
        )
        record_matches(session, copy.content, [hit], "sweep")
        if copy.actionable:
            targets.setdefault(copy.content.content_id, copy.content)
            if copy.content.id not in named:
                result.copies.append(copy.content)
        elif copy.content.id not in named:
            result.review.append(copy.content)
    result.named = list(named.values())
    for content_id, target in targets.items():
        if target is not None and target.state == ContentState.REMOVED:
            continue
        action, _ = create_action(session, REMOVE, content_id, request_id=request.id)
        result.actions.append(action)
    audit.record(
        session,
        "system",
        "platform.removal_enforced",
        subject_type="request",
        subject_id=request.case_number,
        detail={
            "entries": len(result.entries),
            "named": len(result.named),
            "copies": len(result.copies),
            "review": len(result.review),
            "actions": len(result.actions),
        },
    )
    return result
