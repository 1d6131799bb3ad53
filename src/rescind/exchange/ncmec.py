"""CyberTipline reports for cases that may concern a minor, filed once, kept a year.

When a reviewer decides to remove a case flagged `possible` (the requester said the person was,
or may have been, under 18 when the imagery was made), `queue_report` writes the case's one
report (its XML built then, from the items' URLs and hashes and the removal actions' targets),
a preservation record of the report and the hashes for `RESCIND_NCMEC_PRESERVE_DAYS` (a year,
18 U.S.C. 2258A(h)), and a job that files it (`advance`).

Filing is two calls, `/submit` then `/finish`, and the report's state is committed before and
after each, in its own transaction: a worker that dies anywhere is retried from what was
recorded, so a report is never filed twice. A report whose `/submit` was sent but whose answer
never came back (`submitting` when the retry finds it) may exist at NCMEC: it becomes
`needs_check`, and nothing is sent again until an admin, having checked with NCMEC, records the
report id NCMEC gave (then it is finished) or that NCMEC has nothing (then it is sent again).
A connection refused before anything was sent, or a server error NCMEC answered, is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.exchange.cybertipline import (
    ReportedItem,
    Reporter,
    TiplineClient,
    TiplineError,
    TiplineReportDraft,
    build_report_xml,
)
from rescind.jobs import enqueue
from rescind.jobs.runner import JobRegistry
from rescind.security import audit
from rescind.store.columns import utcnow
from rescind.store.db import instance_session
from rescind.store.models import Action, Preservation, Request, TiplineReport
from rescind.store.statuses import ChildSafetyFlag, TiplineState

log = logging.getLogger("rescind.ncmec")
REPORT_JOB = "ncmec.report"
REMOVE = "content.remove"
# Reports left queued (no endpoint configured yet) or submitted (finish failed for good) are
# picked up again this often.
RESUME_EVERY_S = 300.0
ClientFactory = Callable[[Settings], TiplineClient]


def is_reportable(request: Request) -> bool:
    """A case flagged as possibly concerning a minor."""
    return request.child_safety == ChildSafetyFlag.POSSIBLE


def _items(session: Session, request: Request) -> list[ReportedItem]:
    actions = list(
        session.scalars(
            select(Action)
            .where(Action.request_id == request.id, Action.type == REMOVE)
            .order_by(Action.id)
        )
    )
    result = []
    for item in request.items:
        mine = [a for a in actions if a.item_id == item.id]
        urls = [item.url] if item.url else []
        urls += [a.url for a in mine if a.url and a.url not in urls]
        ids = [item.content_id] if item.content_id else []
        ids += [a.content_id for a in mine if a.content_id and a.content_id not in ids]
        result.append(
            ReportedItem(
                urls=tuple(urls),
                content_ids=tuple(ids),
                md5=item.md5,
                sha256=item.sha256,
                pdq=tuple(item.pdq or ()),
            )
        )
    return result


def _draft(settings: Settings, request: Request, items: list[ReportedItem]) -> TiplineReportDraft:
    answer = request.minor_answer.value if request.minor_answer else "unknown"
    summary = (
        f"{settings.platform_name}: removal request {request.case_number}. The person who "
        f"reported it answered '{answer}' to 'were you under 18 when the imagery was made?'. "
        "A reviewer decided to remove it. The provider holds hashes and locations only, "
        "no copy of the imagery."
    )
    first, _, last = settings.ncmec_reporter_name.partition(" ")
    return TiplineReportDraft(
        incident_at=request.received_at,
        reporter=Reporter(first, last or first, settings.ncmec_reporter_email),
        items=items,
        summary=summary,
    )


def queue_report(
    session: Session, settings: Settings, request: Request, *, now: datetime | None = None
) -> TiplineReport | None:
    """The case's report, preserved and queued for filing (in the caller's transaction);
    None when the case is not flagged. Idempotent: one report per case."""
    if not is_reportable(request):
        return None
    existing = session.scalar(select(TiplineReport).where(TiplineReport.request_id == request.id))
    if existing is not None:
        return existing
    now = now or utcnow()
    items = _items(session, request)
    xml = build_report_xml(_draft(settings, request, items))
    report = TiplineReport(
        request_id=request.id, state=TiplineState.QUEUED, report_xml=xml, attempts=0
    )
    session.add(report)
    session.flush()
    session.add(
        Preservation(
            request_id=request.id,
            report_id=report.id,
            case_number=request.case_number,
            report_xml=xml,
            hashes={"items": [i.as_dict() for i in items]},
            preserved_at=now,
            expires_at=now + timedelta(days=settings.ncmec_preserve_days),
        )
    )
    enqueue(session, REPORT_JOB, {"report_id": report.id}, unique_key=f"{REPORT_JOB}:{report.id}")
    audit.record(
        session,
        "system",
        "ncmec.report.queued",
        subject_type="request",
        subject_id=request.case_number,
        detail={"report": report.id, "items": len(items)},
    )
    return report


def configured(settings: Settings) -> bool:
    """Whether filing is set up (endpoint and credentials)."""
    return bool(settings.ncmec_url and settings.ncmec_username and settings.ncmec_password)


def default_client(settings: Settings) -> TiplineClient:
    """A client for the configured endpoint."""
    assert settings.ncmec_url and settings.ncmec_username and settings.ncmec_password
    return TiplineClient(
        settings.ncmec_url,
        settings.ncmec_username,
        settings.ncmec_password.get_secret_value(),
        timeout_s=settings.ncmec_timeout_s,
    )


class SubmitInFlight(Exception):
    """Another worker is submitting this report right now: try again later."""


def _in_flight_for(settings: Settings) -> timedelta:
    # A submit still running after its timeout (connect and read) plus a margin has ended.
    return timedelta(seconds=2 * settings.ncmec_timeout_s + 5)


class _Step:
    """Transactions of their own, committed as each step ends."""

    def __init__(self, session: Session, settings: Settings) -> None:
        self.engine = session.get_bind()
        self.settings = settings

    @contextmanager
    def tx(self) -> Iterator[Session]:
        with instance_session(self.engine, self.settings) as session:  # type: ignore[arg-type]
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise


def _case_number(session: Session, report: TiplineReport) -> str | None:
    request = session.get(Request, report.request_id)
    return request.case_number if request is not None else None


def _record(session: Session, report: TiplineReport, action: str, **detail: Any) -> None:
    audit.record(
        session,
        "system",
        action,
        subject_type="request",
        subject_id=_case_number(session, report),
        detail={"report": report.id, "state": report.state, **detail},
    )


def _submit(step: _Step, report_pk: int, client: TiplineClient) -> bool:
    """Send the report once; True when NCMEC gave its id (state `submitted`)."""
    now = utcnow()
    with step.tx() as session:
        report = session.get(TiplineReport, report_pk)
        assert report is not None
        if report.state == TiplineState.SUBMITTING:
            started = report.attempted_at or now
            if now - started < _in_flight_for(step.settings):
                # Another worker's submit may still be waiting for its answer.
                raise SubmitInFlight(f"report {report_pk} is being submitted")
            # Sent before, answer never recorded: NCMEC may hold it. Never resend blindly.
            report.state = TiplineState.NEEDS_CHECK
            _record(session, report, "ncmec.report.needs_check")
            return False
        if report.state != TiplineState.QUEUED:
            return report.state == TiplineState.SUBMITTED
        # Compare and set: of two workers holding jobs for this report, one sends it.
        won = session.execute(
            update(TiplineReport)
            .where(TiplineReport.id == report_pk, TiplineReport.state == TiplineState.QUEUED)
            .values(
                state=TiplineState.SUBMITTING,
                attempts=TiplineReport.attempts + 1,
                attempted_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if not getattr(won, "rowcount", 0):
            raise SubmitInFlight(f"report {report_pk} was taken by another worker")
        xml = report.report_xml
    try:
        ncmec_id = client.submit(xml)
    except httpx.ConnectError:
        # Nothing reached NCMEC: queued again, retried.
        with step.tx() as session:
            report = session.get(TiplineReport, report_pk)
            assert report is not None
            report.state, report.last_error = TiplineState.QUEUED, "ConnectError"
        raise
    except TiplineError as exc:
        with step.tx() as session:
            report = session.get(TiplineReport, report_pk)
            assert report is not None
            report.state = TiplineState.QUEUED if exc.retry else TiplineState.FAILED
            report.last_error = f"TiplineError code {exc.code}"
            _record(session, report, "ncmec.report.refused", code=exc.code)
        if exc.retry:
            raise
        return False
    with step.tx() as session:
        report = session.get(TiplineReport, report_pk)
        assert report is not None
        report.state, report.ncmec_report_id = TiplineState.SUBMITTED, ncmec_id
        report.submitted_at, report.last_error = utcnow(), None
        _record(session, report, "ncmec.report.submitted", ncmec_report_id=ncmec_id)
    return True


def _finish(step: _Step, report_pk: int, client: TiplineClient) -> None:
    with step.tx() as session:
        report = session.get(TiplineReport, report_pk)
        assert report is not None and report.ncmec_report_id is not None
        ncmec_id = report.ncmec_report_id
    try:
        client.finish(ncmec_id)
    except TiplineError as exc:
        with step.tx() as session:
            report = session.get(TiplineReport, report_pk)
            assert report is not None
            report.last_error = f"TiplineError code {exc.code}"
        raise
    with step.tx() as session:
        report = session.get(TiplineReport, report_pk)
        assert report is not None
        now = utcnow()
        report.state, report.finished_at, report.last_error = TiplineState.FINISHED, now, None
        request = session.get(Request, report.request_id)
        if request is not None:
            request.ncmec_report_id, request.ncmec_reported_at = ncmec_id, now
        _record(session, report, "ncmec.report.finished", ncmec_report_id=ncmec_id)


def advance(
    session: Session,
    settings: Settings,
    report_pk: int,
    *,
    client_factory: ClientFactory = default_client,
) -> TiplineState:
    """Take the report as far as it can go: submit (once), then finish. Errors propagate after
    the state is recorded, so the job runner retries with backoff. `session` only lends its
    engine: every step commits in a transaction of its own."""
    if not configured(settings):
        return TiplineState.QUEUED
    step = _Step(session, settings)
    client = client_factory(settings)
    try:
        with step.tx() as tx:
            report = tx.get(TiplineReport, report_pk)
            if report is None:
                raise LookupError(f"no tipline report {report_pk}")
            state = report.state
        submitting = state in (TiplineState.QUEUED, TiplineState.SUBMITTING)
        if submitting and not _submit(step, report_pk, client):
            with step.tx() as tx:
                report = tx.get(TiplineReport, report_pk)
                assert report is not None
                return report.state
        with step.tx() as tx:
            report = tx.get(TiplineReport, report_pk)
            assert report is not None
            state = report.state
        if state == TiplineState.SUBMITTED:
            _finish(step, report_pk, client)
            return TiplineState.FINISHED
        return state
    finally:
        client.close()


def _report_job(session: Session, settings: Settings, payload: dict[str, Any]) -> None:
    advance(session, settings, int(payload["report_id"]))


def _resume(session: Session, settings: Settings, now: datetime) -> None:
    # Reports queued while no endpoint was configured, or whose job gave up: a job again.
    if not configured(settings):
        return
    waiting = session.scalars(
        select(TiplineReport.id).where(
            TiplineReport.state.in_((TiplineState.QUEUED, TiplineState.SUBMITTED))
        )
    )
    for report_id in waiting:
        enqueue(
            session,
            REPORT_JOB,
            {"report_id": report_id},
            unique_key=f"{REPORT_JOB}:{report_id}:{int(now.timestamp()) // 3600}",
        )


def register(registry: JobRegistry) -> None:
    """The filing job and the hourly resumption of reports left waiting."""
    registry.add_handler(REPORT_JOB, _report_job, max_attempts=12)
    registry.add_periodic("ncmec.resume", RESUME_EVERY_S, _resume)


class CheckRefused(Exception):
    """Only a report that needs a check can be resolved."""


def resolve_needs_check(
    session: Session, report: TiplineReport, actor: str, ncmec_report_id: str | None
) -> None:
    """An admin checked with NCMEC a report whose submit answer was lost: NCMEC has it (its
    report id given: it will be finished) or has nothing (None: it is sent again)."""
    if report.state != TiplineState.NEEDS_CHECK:
        raise CheckRefused()
    ncmec_id = (ncmec_report_id or "").strip()
    if ncmec_id and not (ncmec_id.isascii() and ncmec_id.isdigit() and len(ncmec_id) <= 20):
        raise CheckRefused()
    if ncmec_id:
        report.state, report.ncmec_report_id, report.submitted_at = (
            TiplineState.SUBMITTED,
            ncmec_id,
            utcnow(),
        )
    else:
        report.state = TiplineState.QUEUED
    session.flush()
    enqueue(
        session,
        REPORT_JOB,
        {"report_id": report.id},
        unique_key=f"{REPORT_JOB}:{report.id}:resolved:{report.attempts}",
    )
    _record(session, report, "ncmec.report.resolved", ncmec_report_id=ncmec_id or None)
