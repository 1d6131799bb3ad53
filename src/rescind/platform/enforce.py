"""Enforcing a "remove" decision: every item leads somewhere, and a stranger's hash alone never
removes anything.

Per item decided `remove`:
- content the registry knows (by content id or URL): one action for it; its registered
  signals, which a reviewer has seen, are banked and swept: copies are actioned too;
- a content id the registry never saw: one action by that id; a URL it never saw: one action
  carrying only the URL (content id null), which the platform resolves;
- hashes the requester supplied: banked as `requester` entries (review at upload, never block)
  and swept; every registered item they match becomes a `Lead` for a reviewer to confirm.
  No action is written for a lead until a reviewer confirms it (`confirm_lead`).

`plan_removal` says the same per item before the decision, without writing anything.
Everything happens in the caller's transaction: the decision and its effects commit together.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.media.robust import BANK_VARIANT_NAMES
from rescind.platform.actions import REMOVE, create_action
from rescind.platform.banks import (
    NCII_BANK,
    REQUEST_SOURCE,
    REQUESTER_SOURCE,
    BankPolicy,
    confirm_requester_entries,
    ensure_default_banks,
    get_bank,
    policy_of,
)
from rescind.platform.banks import add_signals as bank_signals
from rescind.platform.check import record_matches
from rescind.platform.errors import InvalidSignalError
from rescind.platform.lifecycle import refresh_case
from rescind.platform.matcher import Hit
from rescind.platform.media_signals import bank_views
from rescind.platform.registry import signals_of
from rescind.platform.runtime import PlatformRuntime
from rescind.platform.signals import PdqHash, Signals, hex_value, parse_pdq
from rescind.platform.sweep import sweep_copies
from rescind.security import audit
from rescind.store.columns import utcnow
from rescind.store.models import Action, Bank, BankEntry, Content, Lead, Request, RequestItem
from rescind.store.statuses import BankEntryStatus, ContentState, ItemStatus, LeadStatus

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class Enforcement:
    """What a removal did: entries banked, items named, copies found, leads, actions written."""

    entries: list[BankEntry] = field(default_factory=list)
    named: list[Content] = field(default_factory=list)
    copies: list[Content] = field(default_factory=list)
    review: list[Content] = field(default_factory=list)  # low-quality matches: not actioned
    leads: list[Lead] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)


@dataclass(frozen=True)
class ItemPlan:
    """What removing one item will do: the targets actioned (content ids, or URLs the platform
    must resolve), and the registered items its hashes match (leads for a reviewer)."""

    item_id: int
    targets: tuple[str, ...]
    leads: tuple[str, ...]

    @property
    def nothing(self) -> bool:
        """Removing this item would neither action nor find anything."""
        return not self.targets and not self.leads


def item_signals(item: RequestItem) -> Signals:
    """The hashes a requester sent with an item (validated at intake; bad ones are skipped).

    A picture hashed on the device also sent its bank views by variant name: its own hash
    takes the quality of its `full` view, and the views are banked by the rule that banks
    the same views computed from a file (`media_signals.bank_views`), names kept. The views
    of a picture the device found smooth (a gradient) say so: the picture's hashes are then
    banked as smooth (held to the weak radius, never blocking; docs/matching.md)."""
    smooth = any(isinstance(v, dict) and v.get("smooth") is True for v in item.views or [])
    views = [
        (v["variant"], v["hash"], v["quality"])
        for v in item.views or []
        if isinstance(v, dict)
        and v.get("variant") in BANK_VARIANT_NAMES
        and isinstance(v.get("hash"), str)
        and _HEX64.match(v["hash"])
        and isinstance(v.get("quality"), int)
        and 0 <= v["quality"] <= 100
    ]
    full = {h: q for variant, h, q in views if variant == "full"}
    pdq: list[PdqHash] = []
    for i, value in enumerate(item.pdq or []):
        try:
            h = parse_pdq(value, f"pdq.{i}")
        except InvalidSignalError:
            continue
        if h.hash in full:
            h = PdqHash(h.hash, full[h.hash], variant="full")
        pdq.append(replace(h, smooth=True) if smooth else h)
    plain = next((h for h in pdq if h.variant == "full"), None)
    if plain is not None:
        banked = bank_views(plain, views, smooth=smooth)
        pdq += [h for h in banked if h.hash not in {p.hash for p in pdq}]

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
    return list({c.id: c for c in found}.values())


def _direct_targets(session: Session, item: RequestItem) -> list[tuple[str | None, str | None]]:
    """(content id, url) of what the item names directly."""
    named = _named_contents(session, item)
    if named:
        return [(c.content_id, None) for c in named]
    if item.content_id:
        return [(item.content_id, None)]
    if item.url:
        return [(None, item.url)]
    return []


def _transient_entries(signals: Signals) -> list[BankEntry]:
    """Unsaved entries standing for `signals`, to search the registry without banking."""
    entries = [
        BankEntry(signal_type="pdq", value=h.hash, quality=h.quality, t=h.t) for h in signals.pdq
    ]
    entries += [BankEntry(signal_type="md5", value=v) for v in (signals.md5,) if v]
    entries += [BankEntry(signal_type="sha256", value=v) for v in (signals.sha256,) if v]
    return entries


def plan_removal(
    session: Session, settings: Settings, request: Request, *, runtime: PlatformRuntime
) -> list[ItemPlan]:
    """Per item, what a "remove" would do now; writes nothing."""
    ensure_default_banks(session, settings)
    policy = policy_of(get_bank(session, NCII_BANK))
    plans = []
    for item in request.items:
        direct = _direct_targets(session, item)
        targets = tuple(cid or url or "" for cid, url in direct)
        own = item_signals(item)
        leads: tuple[str, ...] = ()
        if not own.empty:
            copies = sweep_copies(session, settings, runtime, _transient_entries(own), policy)
            leads = tuple(
                c.content.content_id for c in copies if c.content.content_id not in targets
            )
        plans.append(ItemPlan(item.id, targets, leads))
    return plans


def _sweep_and_action(
    session: Session,
    settings: Settings,
    runtime: PlatformRuntime,
    request: Request,
    item: RequestItem,
    entries: list[BankEntry],
    policy: BankPolicy,
    result: Enforcement,
    skip: set[int],
) -> None:
    """Sweep reviewer-backed entries for copies; action every actionable copy."""
    by_entry = {e.id: e for e in entries}
    for copy in sweep_copies(session, settings, runtime, entries, policy):
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
        if copy.content.id in skip:
            continue
        if not copy.actionable:
            result.review.append(copy.content)
            continue
        result.copies.append(copy.content)
        skip.add(copy.content.id)
        _action(session, request, item, copy.content.content_id, None, copy.content, result)


def _action(
    session: Session,
    request: Request,
    item: RequestItem,
    content_id: str | None,
    url: str | None,
    content: Content | None,
    result: Enforcement,
) -> None:
    if content is not None and content.state == ContentState.REMOVED:
        return
    action, _ = create_action(
        session, REMOVE, content_id, url=url, request_id=request.id, item_id=item.id
    )
    result.actions.append(action)


def _leads(
    session: Session,
    settings: Settings,
    runtime: PlatformRuntime,
    request: Request,
    item: RequestItem,
    entries: list[BankEntry],
    policy: BankPolicy,
    result: Enforcement,
    actioned: set[int],
) -> None:
    """Registered items matching the requester's hashes: leads, never actions (content already
    actioned for this request needs no lead)."""
    known = {
        lead.content_pk: lead
        for lead in session.scalars(select(Lead).where(Lead.item_id == item.id))
    }
    for copy in sweep_copies(session, settings, runtime, entries, policy):
        if copy.content.id in actioned or copy.content.id in known:
            continue
        lead = Lead(
            request_id=request.id,
            item_id=item.id,
            content_pk=copy.content.id,
            bank_entry_id=copy.entry_id,
            distance=copy.distance,
            status=LeadStatus.UNCONFIRMED,
            created_at=utcnow(),
        )
        session.add(lead)
        known[copy.content.id] = lead
        result.leads.append(lead)
    session.flush()


def enforce_removal(
    session: Session,
    settings: Settings,
    request: Request,
    *,
    runtime: PlatformRuntime,
    only: Collection[int] | None = None,
) -> Enforcement:
    """Action, bank and sweep every item decided `remove` (see the module docstring), or only
    the items `only` names (an item decided later: the others were enforced then, and what an
    appeal put back of them must not be banked again). Never commits; idempotent."""
    ensure_default_banks(session, settings)
    bank = get_bank(session, NCII_BANK)
    policy = policy_of(bank)
    result = Enforcement()
    done: set[int] = set()  # content pks actioned for this request
    for item in request.items:
        if item.status != ItemStatus.REMOVE or (only is not None and item.id not in only):
            continue
        named = _named_contents(session, item)
        reviewed: list[BankEntry] = []
        for content in named:
            result.named.append(content)
            done.add(content.id)
            _action(session, request, item, content.content_id, None, content, result)
            stored = signals_of(session, content.id)
            if not stored.empty:
                reviewed += _bank(session, bank, stored, REQUEST_SOURCE, request, item, content)
        if not named and (item.content_id or item.url):
            cid = item.content_id
            _action(session, request, item, cid, None if cid else item.url, None, result)
        result.entries += reviewed
        _sweep_and_action(session, settings, runtime, request, item, reviewed, policy, result, done)
        own = item_signals(item)
        if not own.empty:
            mine = _bank(session, bank, own, REQUESTER_SOURCE, request, item, None)
            result.entries += mine
            _leads(
                session,
                settings,
                runtime,
                request,
                item,
                mine,
                policy,
                result,
                done,
            )
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
            "leads": len(result.leads),
            "actions": len(result.actions),
        },
    )
    return result


def _bank(
    session: Session,
    bank: Bank,
    signals: Signals,
    source: str,
    request: Request,
    item: RequestItem,
    content: Content | None,
) -> list[BankEntry]:
    """Bank `signals` for `item` once: a retried decision reuses the entries it made."""
    provenance: dict[str, int] = {"request_item_id": item.id}
    if content is not None:
        provenance["content_pk"] = content.id
    existing = [
        e
        for e in session.scalars(
            select(BankEntry).where(
                BankEntry.request_id == request.id,
                BankEntry.status == BankEntryStatus.ACTIVE,
                BankEntry.source.in_((source, f"{source}_confirmed")),
            )
        )
        if e.provenance
        and all(e.provenance.get(k) == v for k, v in provenance.items())
        and (content is not None or "content_pk" not in e.provenance)
    ]
    if existing:
        return existing
    return bank_signals(
        session, bank, signals, source=source, request_id=request.id, provenance=provenance
    )


def confirm_lead(
    session: Session,
    settings: Settings,
    lead: Lead,
    actor: str,
    *,
    runtime: PlatformRuntime,
) -> Enforcement:
    """A reviewer confirmed the lead depicts the reported item: action it, bank its registered
    signals and sweep them for copies (actioned as for named content), and let the requester's
    hashes of that item block from now on."""
    result = Enforcement()
    if lead.status != LeadStatus.UNCONFIRMED:
        return result
    request = session.get(Request, lead.request_id)
    item = session.get(RequestItem, lead.item_id)
    content = session.get(Content, lead.content_pk)
    assert request is not None and item is not None and content is not None
    lead.status = LeadStatus.CONFIRMED
    lead.decided_by, lead.decided_at = actor, utcnow()
    ensure_default_banks(session, settings)
    bank = get_bank(session, NCII_BANK)
    policy = policy_of(bank)
    _action(session, request, item, content.content_id, None, content, result)
    stored = signals_of(session, content.id)
    if not stored.empty:
        reviewed = _bank(session, bank, stored, REQUEST_SOURCE, request, item, content)
        result.entries += reviewed
        _sweep_and_action(
            session, settings, runtime, request, item, reviewed, policy, result, {content.id}
        )
    mine = session.scalars(
        select(BankEntry).where(
            BankEntry.request_id == request.id, BankEntry.source == REQUESTER_SOURCE
        )
    )
    confirm_requester_entries(
        session, [e for e in mine if (e.provenance or {}).get("request_item_id") == item.id]
    )
    _lead_audit(session, actor, "lead.confirm", request, lead, len(result.actions))
    refresh_case(session, request.id)
    return result


def dismiss_lead(session: Session, lead: Lead, actor: str) -> None:
    """A reviewer judged the lead is not the reported item: nothing is actioned for it."""
    if lead.status != LeadStatus.UNCONFIRMED:
        return
    request = session.get(Request, lead.request_id)
    assert request is not None
    lead.status = LeadStatus.DISMISSED
    lead.decided_by, lead.decided_at = actor, utcnow()
    session.flush()
    _lead_audit(session, actor, "lead.dismiss", request, lead, 0)
    refresh_case(session, request.id)


def _lead_audit(
    session: Session, actor: str, what: str, request: Request, lead: Lead, actions: int
) -> None:
    audit.record(
        session,
        actor,
        what,
        subject_type="request",
        subject_id=request.case_number,
        detail={"lead_id": lead.id, "actions": actions},
    )
