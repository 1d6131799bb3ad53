"""The report's SQL figures equal a brute-force recount in Python over the same generated
history, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.reports import figures, render
from rescind.security import audit
from rescind.store import Database
from rescind.store.models import (
    Action,
    Appeal,
    Content,
    Decision,
    Lead,
    Match,
    Request,
    RequestItem,
)
from rescind.store.statuses import (
    CLOCK_RUNNING_STATUSES,
    GONE_OUTCOMES,
    ActionStatus,
    Channel,
    ChildSafetyFlag,
    DecisionOutcome,
    LeadStatus,
    RequestStatus,
)
from tests.reports.history import START, generate

NOW = START + timedelta(days=40)


def _clock(r: Request) -> str:
    if r.child_safety == ChildSafetyFlag.POSSIBLE:
        return "minor"
    return "regulator" if r.channel == Channel.REGULATOR else "standard"


def _histogram(values: list[float]) -> tuple[int, ...]:
    counts = [0] * (len(figures.BUCKETS_H) + 1)
    for v in values:
        counts[next((i for i, h in enumerate(figures.BUCKETS_H) if v < h * 3600), -1)] += 1
    return tuple(counts)


def _rank(values: list[float], p: int) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(p * len(ordered) / 100) - 1]


def _recount(session: Session, start: datetime, end: datetime) -> dict[str, object]:
    """Everything the report says, counted the slow, obvious way."""
    cases = [r for r in session.scalars(select(Request)) if start <= r.received_at < end]
    ids = {r.id for r in cases}
    decisions = [d for d in session.scalars(select(Decision)) if d.request_id in ids]
    status = Counter(r.status for r in cases)
    valid = {d.request_id for d in decisions if d.outcome == DecisionOutcome.REMOVE}
    decided = {
        d.request_id
        for d in decisions
        if d.outcome in (DecisionOutcome.REMOVE, DecisionOutcome.REJECT)
    }
    rejected_ids = {r.id for r in cases if r.status == RequestStatus.REJECTED}
    last_reject: dict[int, Decision] = {}
    for d in sorted(decisions, key=lambda d: d.id):
        if d.outcome == DecisionOutcome.REJECT and d.request_id in rejected_ids:
            last_reject[d.request_id] = d
    reasons = Counter(d.reason_code or "unspecified" for d in last_reject.values())
    leads = Counter(lead.status for lead in session.scalars(select(Lead)) if lead.request_id in ids)
    copies: dict[int, set[int]] = {}
    for m in session.scalars(select(Match)):
        if m.request_id in ids:
            copies.setdefault(m.request_id, set()).add(m.content_pk)
    by_id = {r.id: r for r in cases}
    items = {i.id: i for i in session.scalars(select(RequestItem)) if i.request_id in ids}
    content_url = {c.content_id: c.url for c in session.scalars(select(Content))}
    item_times: dict[str, dict[int, list[float | None]]] = {}
    copy_times: dict[str, list[float]] = {}
    for a in session.scalars(select(Action)):
        if a.request_id not in ids or a.type != "content.remove" or a.item_id is None:
            continue
        r, item = by_id[a.request_id], items[a.item_id]
        clock = _clock(r)
        named = (
            (a.content_id is not None and a.content_id == item.content_id)
            or (a.url is not None and a.url == item.url)
            or (
                a.content_id is not None
                and content_url.get(a.content_id) is not None
                and content_url.get(a.content_id) == item.url
            )
        )
        settled = a.status == ActionStatus.CONFIRMED and a.outcome in GONE_OUTCOMES
        seconds = (
            (a.confirmed_at - r.received_at).total_seconds() if settled and a.confirmed_at else None
        )
        if named:
            item_times.setdefault(clock, {}).setdefault(item.id, []).append(seconds)
        elif seconds is not None:
            copy_times.setdefault(clock, []).append(seconds)
    items_done = {
        clock: [max(t for t in ts if t is not None) for ts in per.values() if None not in ts]
        for clock, per in item_times.items()
    }
    first_removal: dict[int, datetime] = {}
    for d in decisions:
        if d.outcome == DecisionOutcome.REMOVE:
            first_removal[d.request_id] = min(d.at, first_removal.get(d.request_id, d.at))
    missed = {
        r.case_number: figures.missed_reason(
            str(r.status), r.deadline_at, first_removal.get(r.id), r.needs_review
        )
        for r in cases
        if (r.removed_at is not None and r.removed_at > r.deadline_at)
        or (r.status in CLOCK_RUNNING_STATUSES and r.deadline_at < NOW)
    }
    per_day: dict[str, list[int]] = {}
    for r in cases:
        per_day.setdefault(r.received_at.astimezone(UTC).date().isoformat(), [0, 0])[0] += 1
        if r.status == RequestStatus.REMOVED and r.removed_at:
            per_day.setdefault(r.removed_at.astimezone(UTC).date().isoformat(), [0, 0])[1] += 1
    appeals = [a for a in session.scalars(select(Appeal)) if a.request_id in ids]
    restores = [
        a
        for a in session.scalars(select(Action))
        if a.request_id in ids and a.type == "content.restore"
    ]
    return {
        "appeals_by_status": Counter(str(a.status) for a in appeals),
        "appeals_by_kind": Counter(
            "item_rejection" if a.item_id is not None else str(a.kind) for a in appeals
        ),
        "restores": (len(restores), sum(1 for a in restores if a.status == "confirmed")),
        "received": len(cases),
        "removed": status[RequestStatus.REMOVED],
        "rejected": status[RequestStatus.REJECTED],
        "withdrawn": status[RequestStatus.WITHDRAWN],
        "valid": len(valid),
        "decided": len(decided),
        "reasons": dict(reasons),
        "automated": sum(1 for d in decisions if d.automated),
        "human": sum(1 for d in decisions if not d.automated),
        "leads": (leads[LeadStatus.CONFIRMED], leads[LeadStatus.DISMISSED]),
        "copies_total": sum(len(v) for v in copies.values()),
        "copies_max": max((len(v) for v in copies.values()), default=0),
        "items": {
            c: (
                len(v),
                _rank(v, 50),
                _rank(v, 90),
                _rank(v, 99),
                max(v, default=None),
                _histogram(v),
            )
            for c, v in items_done.items()
        },
        "copies": {
            c: (
                len(v),
                _rank(v, 50),
                _rank(v, 90),
                _rank(v, 99),
                max(v, default=None),
                _histogram(v),
            )
            for c, v in copy_times.items()
        },
        "missed": missed,
        "met": Counter(
            _clock(r)
            for r in cases
            if r.status == RequestStatus.REMOVED
            and r.removed_at is not None
            and r.removed_at <= r.deadline_at
        ),
        "per_day": sorted((d, v[0], v[1]) for d, v in per_day.items()),
    }


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) < 0.01  # SQLite's julianday carries ~1 ms of float error


def test_figures_match_a_brute_force_recount(settings: Settings, database: Database) -> None:
    with database.session() as session:
        generate(session, 700, seed=7, days=20)
        audit.record(session, "system", "test.marker")
        session.commit()
        head = session.scalars(
            select(audit.AuditEvent).order_by(audit.AuditEvent.id.desc())
        ).first()
        start, end = START + timedelta(days=2), START + timedelta(days=15)
        report = figures.compute(session, settings, start, end, now=NOW)
        truth = _recount(session, start, end)

    assert head is not None
    assert (report.chain_head_id, report.chain_head_hash) == (head.id, head.hash)
    assert 300 < report.received == truth["received"]
    assert report.removed == truth["removed"]
    assert report.rejected == truth["rejected"]
    assert report.withdrawn == truth["withdrawn"]
    assert report.valid == truth["valid"]
    assert report.decided == truth["decided"]
    assert report.rejected_by_reason == truth["reasons"]
    assert (report.decisions_automated, report.decisions_human) == (
        truth["automated"],
        truth["human"],
    )
    assert (report.leads_confirmed, report.leads_dismissed) == truth["leads"]
    assert report.copies_total == truth["copies_total"] > 0
    assert report.copies_max == truth["copies_max"]
    assert sum(report.copies_by_bucket.values()) == report.valid
    assert {m.case_number: m.reason for m in report.missed} == truth["missed"]
    assert report.missed and all(m.reason in figures.MISSED_REASONS for m in report.missed)
    assert sum(report.missed_by_reason.values()) == len(report.missed)
    assert report.per_day == truth["per_day"]
    assert {k: n for k, n in report.appeals_by_status.items() if n} == truth["appeals_by_status"]
    assert {k: n for k, n in report.appeals_by_kind.items() if n} == truth["appeals_by_kind"]
    assert set(report.appeals_by_kind) == set(figures.APPEAL_KINDS)
    assert all(report.appeals_by_kind[k] > 0 for k in figures.APPEAL_KINDS)
    assert (report.restores, report.restores_confirmed) == truth["restores"]
    assert report.restores > report.restores_confirmed > 0
    # The cases behind the appeal figures are the cases with such appeals.
    with database.session() as session:
        cases = {r.id: r for r in session.scalars(select(Request)) if start <= r.received_at < end}
        appeals = [a for a in session.scalars(select(Appeal)) if a.request_id in cases]
        restores = {
            a.request_id
            for a in session.scalars(select(Action).where(Action.type == "content.restore"))
        }
        for figure, picked in (
            ("appeals", appeals),
            ("appeals:upheld", [a for a in appeals if a.status == "upheld"]),
            ("appeals:item_rejection", [a for a in appeals if a.item_id is not None]),
            ("appeals:removal", [a for a in appeals if a.kind == "removal"]),
        ):
            behind = {n for n, _ in session.execute(figures.case_query(figure, start, end, NOW))}
            assert behind == {cases[a.request_id].case_number for a in picked}, figure
        behind = {n for n, _ in session.execute(figures.case_query("restores", start, end, NOW))}
        assert behind == {cases[i].case_number for i in restores if i in cases}
    items, copies = truth["items"], truth["copies"]
    assert isinstance(items, dict) and isinstance(copies, dict)
    met = truth["met"]
    assert isinstance(met, Counter)
    for clock in report.clocks:
        for mine, theirs in (
            (clock.items, items.get(clock.clock)),
            (clock.copies, copies.get(clock.clock)),
        ):
            if theirs is None:
                assert mine.count == 0
                continue
            assert mine.count == theirs[0]
            assert mine.buckets == theirs[5]
            for a, b in zip((mine.median, mine.p90, mine.p99, mine.max), theirs[1:5], strict=True):
                assert _close(a, b), (clock.clock, a, b)
        assert clock.met == met[clock.clock]
    assert {c.clock for c in report.clocks if c.items.count} == {"standard", "regulator", "minor"}


def test_an_empty_period_reports_zeros(settings: Settings, database: Database) -> None:
    with database.session() as session:
        report = figures.compute(
            session, settings, datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 2, 1, tzinfo=UTC)
        )
    assert report.received == report.valid == report.copies_total == 0
    assert report.missed == [] and report.per_day == []
    assert all(c.items.count == 0 and c.items.median is None for c in report.clocks)


def test_the_json_written_fast_is_the_standard_librarys() -> None:
    """The JSON report lays out its missed cases by template (for speed): the text must be
    exactly what `json.dumps(..., indent=1)` writes, odd characters and empty times included."""
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    report = figures.Report(at, at + timedelta(days=1), at, 7, "ab" * 32, received=3)
    links = render.Links(report, "https://rescind.example/")
    assert render.to_json_text(report, links) == json.dumps(render.to_json(report, links), indent=1)
    report.missed = [
        figures.MissedCase(
            'R"1\\é/ü 💥',
            "standard",
            "removed",
            at,
            at + timedelta(hours=48),
            at,
            at,
            "confirmed_late",
        ),
        figures.MissedCase("R2", "minor", "need_info", at, at, None, None, "need_info"),
        figures.MissedCase(
            "R3",
            "regulator",
            "removal_pending",
            at.replace(microsecond=5),
            at,
            None,
            at,
            "came_back",
        ),
    ]
    text = render.to_json_text(report, links)
    assert text == json.dumps(render.to_json(report, links), indent=1)
    assert json.loads(text)["missed"][1]["removed_at"] is None
    # Times are formatted together (numpy, from microseconds since the epoch): any UTC time
    # from 1970 to 2095, whole seconds included, reads as isoformat() would write it.
    rng = random.Random(5)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    times = [
        epoch + timedelta(seconds=rng.randrange(4 * 10**9), microseconds=rng.randrange(10**6))
        for _ in range(5000)
    ] + [epoch, datetime(2095, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), at]
    report.missed = [
        figures.MissedCase(f"R{i}", "standard", "removed", t, t, t, None, "confirmed_late")
        for i, t in enumerate(times)
    ]
    assert render.to_json_text(report, links) == json.dumps(render.to_json(report, links), indent=1)
    # A time in another zone (not what figures returns) is still written by isoformat().
    paris = timezone(timedelta(hours=1))
    report.missed.append(
        figures.MissedCase(
            "R-", "standard", "removed", at.astimezone(paris), at, at, at, "confirmed_late"
        )
    )
    assert render.to_json_text(report, links) == json.dumps(render.to_json(report, links), indent=1)
