"""The statement of reasons (DSA Art. 17) of each removal and restore, for the platform to give
the uploader: what was restricted, the facts, whether a notice or our own search found it,
whether automation was used to find it and to decide, the ground relied on, and the redress
open to the uploader.

It is computed from the case's records (never stored), so a retried webhook carries the same
statement: only the first "remove" decision and the action's own row are read. No contact
detail or free text a reviewer typed goes into it (the uploader reads it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.platform.lifecycle import REMOVE, RESTORE
from rescind.store.models import Action, Content, Decision, Request, RequestItem
from rescind.store.statuses import Channel, DecisionOutcome

NOTICE, OWN_INITIATIVE = "notice", "own_initiative"
# The restriction, in the DSA's words (Art. 17(1)(a)): content removed, or put back.
RESTRICTIONS = {REMOVE: "removal", RESTORE: "restore"}
# How the case reached us, said to the uploader.
CHANNEL_WORDS = {
    Channel.PUBLIC_FORM: "a notice from the person depicted or their representative",
    Channel.API: "a notice from the person depicted or their representative, "
    "received through the platform",
    Channel.REGULATOR: "a notice from a regulator",
    Channel.PARTNER: "a notice passed on by a partner service",
}
LEGAL_GROUND = (
    "US TAKE IT DOWN Act (Public Law 119-12), Section 3: removal of a non-consensual intimate "
    "visual depiction on a valid request of the person depicted"
)
TERMS_GROUND = "the platform's terms of service, which prohibit non-consensual intimate imagery"
REDRESS = (
    {
        "kind": "internal_complaint",
        "description": "Complain to the platform free of charge within six months "
        "(DSA Art. 20): a person who did not take the decision reviews it.",
    },
    {
        "kind": "out_of_court",
        "description": "Refer the dispute to a certified out-of-court dispute settlement body "
        "(DSA Art. 21).",
    },
    {
        "kind": "court",
        "description": "Bring the matter before a court under the applicable law.",
    },
)


@dataclass(frozen=True)
class StatementOfReasons:
    """Art. 17(3) DSA: the information a statement of reasons must give."""

    restriction: str  # removal | restore
    facts: str
    source: str  # notice | own_initiative
    automated_detection: bool
    automated_decision: str  # fully | partially | not_automated
    legal_ground: str
    terms_ground: str
    terms_url: str | None
    redress: tuple[dict[str, str], ...]
    decided_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        """The statement as JSON-ready values (webhook payload and API)."""
        data = asdict(self)
        data["redress"] = [dict(r) for r in self.redress]
        data["decided_at"] = self.decided_at.isoformat() if self.decided_at else None
        return data


@dataclass(frozen=True)
class CaseContext:
    """What a statement is made from: the case, its first "remove" decision, the item, and
    the URL the registry holds for the content."""

    request: Request | None
    decision: Decision | None
    item: RequestItem | None
    content_url: str | None


def _is_named(action: Action, item: RequestItem | None, content_url: str | None) -> bool:
    """The action targets what the notice itself named (else a copy our search found)."""
    if item is None:
        return False
    return bool(
        (action.content_id is not None and action.content_id == item.content_id)
        or (action.url is not None and action.url == item.url)
        or (content_url is not None and content_url == item.url)
    )


def _facts(action: Action, ctx: CaseContext, named: bool) -> str:
    request, decision = ctx.request, ctx.decision
    if request is None:
        return (
            "The content matched imagery a reviewer had already found to be non-consensual "
            "intimate imagery."
        )
    how = CHANNEL_WORDS.get(request.channel, "a notice")
    received = request.received_at.strftime("%Y-%m-%d")
    who = "an automated rule" if decision is not None and decision.automated else "a reviewer"
    if action.type == RESTORE:
        return (
            f"Content removed under case {request.case_number} is put back: a reviewer "
            "reversed the removal (the request was withdrawn, or the content was removed in "
            "error)."
        )
    found = (
        f"It was named in {how}, received on {received} (case {request.case_number})."
        if named
        else f"It was found by matching its digital fingerprint (hash) against the imagery "
        f"reported in {how}, received on {received} (case {request.case_number})."
    )
    decided = (
        f" On {decision.at.strftime('%Y-%m-%d')} {who} found the reported imagery to be an "
        "intimate depiction shared without the consent of the person depicted."
        if decision is not None
        else ""
    )
    return found + decided


def statement(action: Action, ctx: CaseContext, settings: Settings) -> StatementOfReasons:
    """The statement of reasons of one action, from its case's records."""
    named = _is_named(action, ctx.item, ctx.content_url)
    automated = ctx.decision is not None and ctx.decision.automated
    if named:
        detection, decided = False, "fully" if automated else "not_automated"
    else:
        # A copy was found by its hash; removing it followed the reviewer's decision on the
        # case without a person looking at this copy (a confirmed lead was looked at).
        detection = True
        decided = "fully" if automated else "partially"
    if action.type == RESTORE:
        decided = "not_automated"  # a reviewer restores, with a reason
    return StatementOfReasons(
        restriction=RESTRICTIONS.get(action.type, action.type),
        facts=_facts(action, ctx, named),
        source=NOTICE if named else OWN_INITIATIVE,
        automated_detection=detection,
        automated_decision=decided,
        legal_ground=LEGAL_GROUND,
        terms_ground=TERMS_GROUND,
        terms_url=settings.terms_url,
        redress=REDRESS,
        decided_at=ctx.decision.at if ctx.decision is not None else None,
    )


def statements_for(
    session: Session, settings: Settings, actions: Sequence[Action]
) -> dict[int, StatementOfReasons]:
    """The statement of each action, by action id (a few queries for the whole batch)."""
    request_ids = {a.request_id for a in actions if a.request_id is not None}
    item_ids = {a.item_id for a in actions if a.item_id is not None}
    content_ids = {a.content_id for a in actions if a.content_id is not None}
    requests = {
        r.id: r for r in session.scalars(select(Request).where(Request.id.in_(request_ids)))
    }
    decisions: dict[int, Decision] = {}
    for d in session.scalars(
        select(Decision)
        .where(Decision.request_id.in_(request_ids), Decision.outcome == DecisionOutcome.REMOVE)
        .order_by(Decision.at, Decision.id)
    ):
        decisions.setdefault(d.request_id, d)
    items = {
        i.id: i for i in session.scalars(select(RequestItem).where(RequestItem.id.in_(item_ids)))
    }
    urls = dict(
        session.execute(
            select(Content.content_id, Content.url).where(Content.content_id.in_(content_ids))
        ).all()
    )
    out = {}
    for a in actions:
        ctx = CaseContext(
            requests.get(a.request_id) if a.request_id is not None else None,
            decisions.get(a.request_id) if a.request_id is not None else None,
            items.get(a.item_id) if a.item_id is not None else None,
            urls.get(a.content_id) if a.content_id is not None else None,
        )
        out[a.id] = statement(a, ctx, settings)
    return out
