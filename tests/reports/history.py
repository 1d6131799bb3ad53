"""Generated case histories for the report tests and `bench/report.py`.

Each case gets a random fate (still open, asking for information, rejected with a reason,
withdrawn, or valid), and a valid case items named by content id, by URL the registry knows,
or by URL only, copies found by the sweep, leads confirmed or dismissed, and actions the
platform confirmed early, late, refused, or not yet. Some rejections are appealed by the
requester (the case, or one item of a partly removed case), some removals by the uploader
(upheld ones with their `content.restore`); these draws come from a second random stream.
Rows go in with bulk INSERTs, so a million cases take minutes, not hours.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from rescind.store.models import (
    Action,
    Appeal,
    Bank,
    BankEntry,
    Content,
    Decision,
    Lead,
    Match,
    Request,
    RequestItem,
)
from rescind.store.statuses import (
    ActionOutcome,
    ActionStatus,
    AppealKind,
    AppealStatus,
    Channel,
    ChildSafetyFlag,
    DecisionOutcome,
    ItemStatus,
    LeadStatus,
    RequestStatus,
)

START = datetime(2026, 3, 1, tzinfo=UTC)
REASONS = ("not_ncii", "not_identifiable", "public_interest", None)
HOURS = {"standard": 48, "regulator": 24, "minor": 24}


class Ids:
    """Row ids handed out in order (the bulk inserts name them)."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def take(self, table: str) -> int:
        value = self.next.get(table, 0) + 1
        self.next[table] = value
        return value


def _h(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(seconds=rng.uniform(low * 3600, high * 3600))


def _appeal(
    rows: dict[str, list[Any]], ids: Ids, arng: random.Random, rid: int, at: datetime, **what: Any
) -> AppealStatus:
    status = arng.choice(tuple(AppealStatus))
    rows["appeals"].append(
        {
            "id": ids.take("appeals"),
            "status": status,
            "request_id": rid,
            "filed_by": "requester" if what.get("kind") == AppealKind.REJECTION else "apikey:1",
            "filed_at": at,
            "decided_at": None if status == AppealStatus.OPEN else at + timedelta(hours=5),
            "action_id": None,
            "decision_id": None,
            "item_id": None,
            **what,
        }
    )
    return status


def _case(
    rng: random.Random,
    ids: Ids,
    n: int,
    days: int,
    bank_entry: int,
    arng: random.Random | None = None,
) -> dict[str, list[Any]]:
    arng = arng or random.Random(n)
    rows: dict[str, list[Any]] = {k: [] for k, _model in TABLES}
    rid = ids.take("requests")
    received = START + timedelta(seconds=rng.uniform(0, days * 86400))
    channel = rng.choice([Channel.PUBLIC_FORM, Channel.API, Channel.REGULATOR, Channel.PARTNER])
    minor = rng.random() < 0.05
    clock = "minor" if minor else ("regulator" if channel == Channel.REGULATOR else "standard")
    deadline = received + timedelta(hours=HOURS[clock])
    request: dict[str, Any] = {
        "id": rid,
        "case_number": f"R{n:09d}",
        "handle": f"h{n}",
        "channel": channel,
        "child_safety": ChildSafetyFlag.POSSIBLE if minor else ChildSafetyFlag.NONE,
        "received_at": received,
        "deadline_at": deadline,
        "updated_at": received,
        "language": "en",
        "good_faith_statement": "yes",
        "requester_name_enc": b"x",
        "requester_email_enc": b"x",
        "secret_hash": "x",
        "representative": False,
        "risk_level": 0,
        "needs_review": False,
        "removed_at": None,
        "closed_at": None,
    }
    rows["requests"].append(request)
    fate = rng.random()
    # Like a working team: cases older than three days are decided and confirmed, but for the
    # few that came back; what is still open or unconfirmed is recent.
    recent = received > START + timedelta(days=days - 3)
    if not recent and fate < 0.17 and rng.random() > 0.02:
        fate = 0.17 + rng.random() * 0.83

    def decision(outcome: DecisionOutcome, at: datetime, reason: str | None = None) -> None:
        rows["decisions"].append(
            {
                "id": ids.take("decisions"),
                "request_id": rid,
                "outcome": outcome,
                "reason_code": reason,
                "automated": rng.random() < 0.1,
                "at": at,
            }
        )

    items = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        iid = ids.take("items")
        item = {
            "id": iid,
            "request_id": rid,
            "url": f"https://p.example/{rid}/{iid}" if rng.random() < 0.6 else None,
            "content_id": f"c{rid}-{iid}" if rng.random() < 0.6 else None,
            "status": ItemStatus.PENDING,
            "decided_at": None,
        }
        if item["url"] is None and item["content_id"] is None:
            item["content_id"] = f"c{rid}-{iid}"
        items.append(item)
        rows["items"].append(item)

    if fate < 0.12:  # still open
        request["status"] = rng.choice([RequestStatus.RECEIVED, RequestStatus.IN_REVIEW])
        return rows
    if fate < 0.17:
        decision(DecisionOutcome.NEED_INFO, received + _h(rng, 1, 60))
        request["status"] = RequestStatus.NEED_INFO
        return rows
    if fate < 0.30:
        if rng.random() < 0.3:
            decision(DecisionOutcome.NEED_INFO, received + _h(rng, 1, 10))
        decision(DecisionOutcome.REJECT, received + _h(rng, 10, 40), rng.choice(REASONS))
        if rng.random() < 0.1:  # rejected twice: the last reason counts
            decision(DecisionOutcome.REJECT, received + _h(rng, 41, 50), rng.choice(REASONS))
        request["status"] = RequestStatus.REJECTED
        for item in items:
            item["status"] = ItemStatus.REJECTED
        if arng.random() < 0.15:
            last = rows["decisions"][-1]
            _appeal(
                rows, ids, arng, rid, last["at"] + timedelta(days=2),
                kind=AppealKind.REJECTION, decision_id=last["id"],
            )  # fmt: skip
        return rows
    if fate < 0.35:
        request["status"] = RequestStatus.WITHDRAWN
        return rows

    # Most decided within hours, a few late (past 24 h or 48 h).
    decided = received + _h(rng, 0.2, 55 if rng.random() < 0.05 else 16)
    decision(DecisionOutcome.REMOVE, decided)
    confirmations: list[datetime | None] = []
    came_back = False
    waiting_lead = False

    def action(item: dict[str, Any], content_id: str | None, url: str | None) -> None:
        nonlocal came_back
        fate = rng.random()
        status, outcome, confirmed = ActionStatus.CONFIRMED, ActionOutcome.REMOVED, None
        if fate < 0.08 and (recent or rng.random() < 0.05):
            status, outcome = ActionStatus.PENDING, None
        elif fate < 0.09 or (fate < 0.11 and recent):
            outcome = ActionOutcome.REFUSED
            came_back = True
        elif fate < 0.15:
            outcome = ActionOutcome.NOT_FOUND
        if status == ActionStatus.CONFIRMED:
            # The platform confirms within minutes, unless (5%) it is slow.
            confirmed = decided + _h(rng, 0.01, 70 if rng.random() < 0.05 else 2)
            if outcome != ActionOutcome.REFUSED:
                confirmations.append(confirmed)
        else:
            confirmations.append(None)
        aid = ids.take("actions")
        rows["actions"].append(
            {
                "id": aid,
                "type": "content.remove",
                "content_id": content_id,
                "url": url,
                "request_id": rid,
                "item_id": item["id"],
                "idempotency_key": f"k{aid}",
                "status": status,
                "attempts": 1,
                "next_attempt_at": decided,
                "delivered_at": decided,
                "outcome": outcome,
                "confirmed_at": confirmed,
                "created_at": decided,
            }
        )

    def content(url: str | None = None) -> tuple[int, str]:
        pk = ids.take("contents")
        cid = f"reg{pk}"
        rows["contents"].append(
            {
                "id": pk,
                "content_id": cid,
                "url": url,
                "kind": "image",
                "state": "live",
                "first_seen_at": received,
                "last_seen_at": received,
            }
        )
        return pk, cid

    rejected_item = len(items) > 1 and arng.random() < 0.2  # the case partly removed
    for item in items:
        item["status"] = ItemStatus.REMOVE
        item["decided_at"] = decided
        if rejected_item and item is items[-1]:
            item["status"] = ItemStatus.REJECTED
            if arng.random() < 0.5:
                _appeal(
                    rows, ids, arng, rid, decided + timedelta(days=1),
                    kind=AppealKind.REJECTION, item_id=item["id"],
                )  # fmt: skip
            continue
        if item["content_id"]:
            action(item, item["content_id"], None)
        elif rng.random() < 0.5:  # the registry knows the URL: actioned by its content id
            _pk, cid = content(item["url"])
            action(item, cid, None)
        else:
            action(item, None, item["url"])
        for _ in range(rng.choice((0, 0, 1, 2, 4))):
            pk, cid = content(f"https://p.example/copy/{rid}/{len(rows['contents'])}")
            rows["matches"].append(
                {
                    "id": ids.take("matches"),
                    "content_pk": pk,
                    "bank_entry_id": bank_entry,
                    "request_id": rid,
                    "distance": 0,
                    "found_by": "sweep",
                    "at": decided,
                }
            )
            action(item, cid, None)
        if rng.random() < 0.2:
            pk, cid = content()
            choices = [LeadStatus.CONFIRMED, LeadStatus.DISMISSED]
            status = rng.choice([*choices, LeadStatus.UNCONFIRMED] if recent else choices)
            rows["leads"].append(
                {
                    "id": ids.take("leads"),
                    "request_id": rid,
                    "item_id": item["id"],
                    "content_pk": pk,
                    "bank_entry_id": bank_entry,
                    "distance": 3,
                    "status": status,
                    "created_at": decided,
                }
            )
            if status == LeadStatus.CONFIRMED:
                action(item, cid, None)
            elif status == LeadStatus.UNCONFIRMED:
                waiting_lead = True
    removals = [a for a in rows["actions"] if a["status"] == ActionStatus.CONFIRMED]
    if removals and arng.random() < 0.06:
        appealed = arng.choice(removals)
        at = appealed["confirmed_at"] + timedelta(days=3)
        status = _appeal(
            rows, ids, arng, rid, at, kind=AppealKind.REMOVAL, action_id=appealed["id"]
        )
        if status == AppealStatus.UPHELD:
            aid = ids.take("actions")
            restored = arng.random() < 0.7
            rows["actions"].append(
                {
                    **appealed,
                    "id": aid,
                    "type": "content.restore",
                    "idempotency_key": f"k{aid}",
                    "status": ActionStatus.CONFIRMED if restored else ActionStatus.PENDING,
                    "outcome": ActionOutcome.REMOVED if restored else None,
                    "confirmed_at": at + timedelta(hours=6) if restored else None,
                    "created_at": at + timedelta(hours=5),
                }
            )
    request["needs_review"] = came_back
    if not came_back and not waiting_lead and all(c is not None for c in confirmations):
        done = max(c for c in confirmations if c is not None)
        request["status"] = RequestStatus.REMOVED
        request["removed_at"] = request["closed_at"] = done
    else:
        request["status"] = RequestStatus.REMOVAL_PENDING
    return rows


TABLES = (
    ("requests", Request),
    ("items", RequestItem),
    ("decisions", Decision),
    ("contents", Content),
    ("actions", Action),
    ("leads", Lead),
    ("matches", Match),
    ("appeals", Appeal),
)


def _defaults(rows: dict[str, list[Any]]) -> Iterator[tuple[Any, list[Any]]]:
    for key, model in TABLES:
        if rows[key]:
            yield model, rows[key]


def generate(
    session: Session,
    cases: int,
    *,
    seed: int = 1,
    days: int = 30,
    batch: int = 20_000,
    first: int = 0,
) -> None:
    """Insert `cases` generated cases (committing every `batch`), numbered from `first` (to
    add cases to a history already generated)."""
    rng = random.Random(seed)
    bank = session.scalar(select(Bank.id).where(Bank.name == "report-test"))
    if bank is None:
        bank = session.scalar(
            insert(Bank).values(name="report-test", kind="ncii").returning(Bank.id)
        )
        session.flush()
    entry = session.scalar(
        insert(BankEntry)
        .values(bank_id=bank, signal_type="md5", value="0" * 32, source="request")
        .returning(BankEntry.id)
    )
    ids = Ids()
    arng = random.Random(seed + 1_000_003)  # appeals: a stream of their own
    for table, model in TABLES:
        ids.next[table] = session.scalar(select(model.id).order_by(model.id.desc()).limit(1)) or 0
    done = 0
    while done < cases:
        pending: dict[str, list[Any]] = {key: [] for key, _ in TABLES}
        for n in range(done, min(cases, done + batch)):
            for key, values in _case(rng, ids, first + n, days, int(entry or 0), arng).items():
                pending[key] += values
        for model, values in _defaults(pending):
            # Core INSERT (executemany), not the ORM's bulk path: several times faster.
            session.execute(insert(model.__table__), values)
        session.commit()
        done = min(cases, done + batch)
