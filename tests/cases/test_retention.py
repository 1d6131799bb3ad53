"""Retention: a case's contact details are erased N days after it closed (not while open, not
while an appeal of it is open), old jobs, delivery attempts and deleted content's registry rows
are pruned, expired preservations go and unexpired ones stay; the purge is one audit event and
the chain (with a checkpoint written before) still verifies."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from rescind.cases.intake import submit_request
from rescind.cases.retention import purge
from rescind.config import Settings
from rescind.security.audit_checkpoints import verify_audit, write_checkpoint
from rescind.security.crypto import Sealer
from rescind.services import build_job_registry
from rescind.store import Database
from rescind.store.columns import utcnow
from rescind.store.models import (
    Action,
    ActionAttempt,
    Appeal,
    AuditEvent,
    Content,
    Job,
    Preservation,
    Request,
    RequestEvent,
    TiplineReport,
)
from tests.cases.support import valid_input


def _case(database: Database, settings: Settings, status: str, closed_days_ago: int | None) -> str:
    with database.session() as session:
        number = submit_request(
            session,
            settings,
            valid_input(phone="+33 1 23 45 67 89", supporting_info="My ex posted it."),
        ).case_number
        case = session.scalars(select(Request).where(Request.case_number == number)).one()
        case.status = status  # type: ignore[assignment]
        case.events.append(RequestEvent(kind="info_added", detail={"text": "my address"}))
        if closed_days_ago is not None:
            case.closed_at = utcnow() - timedelta(days=closed_days_ago)
    return number


def _get(database: Database, number: str) -> Request:
    with database.session() as session:
        case = session.scalars(select(Request).where(Request.case_number == number)).one()
        _ = case.events, case.items
        return case


def _count(database: Database, model: type) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_contact_details_erased_after_closing_and_operational_rows_pruned(
    settings: Settings, database: Database
) -> None:
    old = _case(database, settings, "rejected", 200)
    recent = _case(database, settings, "rejected", 10)
    appealed = _case(database, settings, "rejected", 200)
    open_case = _case(database, settings, "in_review", None)
    now = utcnow()
    long_ago = now - timedelta(days=settings.job_retention_days + 1)
    with database.session() as session:
        appealed_case = session.scalars(
            select(Request).where(Request.case_number == appealed)
        ).one()
        session.add(
            Appeal(
                kind="rejection",
                request_id=appealed_case.id,
                filed_by="requester",
                statement="please look again",
                status="open",
            )
        )
        old_case = session.scalars(select(Request).where(Request.case_number == old)).one()
        session.add(
            Appeal(
                kind="rejection",
                request_id=old_case.id,
                filed_by="requester",
                statement="my phone is 555",
                status="dismissed",
            )
        )
        session.add(Job(kind="x", payload={}, status="done", run_at=long_ago))
        session.add(Job(kind="x", payload={}, status="queued", run_at=long_ago))
        session.add(Job(kind="x", payload={}, status="done", run_at=now))
        action = Action(type="content.remove", content_id="c1", idempotency_key="k1")
        session.add(action)
        session.flush()
        session.add(ActionAttempt(action_id=action.id, at=long_ago, status_code=500))
        session.add(ActionAttempt(action_id=action.id, at=now, status_code=204))
        session.add(Content(content_id="gone-long-ago", forgotten_at=long_ago))
        session.add(Content(content_id="gone-yesterday", forgotten_at=now - timedelta(days=1)))
        session.add(Content(content_id="live"))
        report = TiplineReport(request_id=old_case.id, report_xml="<report/>", attempts=1)
        report2 = TiplineReport(request_id=appealed_case.id, report_xml="<report/>", attempts=1)
        session.add_all([report, report2])
        session.flush()
        for r, expires in ((report, now - timedelta(days=1)), (report2, now + timedelta(days=300))):
            session.add(
                Preservation(
                    request_id=r.request_id,
                    report_id=r.id,
                    case_number="x",
                    report_xml="<report/>",
                    hashes={"items": []},
                    expires_at=expires,
                )
            )
    with database.session() as session:
        write_checkpoint(session, settings)

    with database.session() as session:
        result = purge(session, settings)
    assert result.cases == [old]
    assert (result.jobs, result.attempts, result.contents, result.preservations) == (1, 1, 1, 1)

    erased = _get(database, old)
    sealer = Sealer(settings)
    assert sealer.open(erased.requester_name_enc) == ""
    assert sealer.open(erased.requester_email_enc) == ""
    assert erased.requester_phone_enc is None and erased.supporting_info is None
    assert erased.signature_enc is None and erased.requester_digest is None
    assert erased.contact_purged_at is not None
    assert all(e.detail is None for e in erased.events if e.kind == "info_added")
    assert erased.items and erased.good_faith_statement  # what the case proves stays
    with database.session() as session:
        statements = dict(session.execute(select(Appeal.request_id, Appeal.statement)).all())
        assert statements[erased.id] is None
    for kept in (recent, appealed, open_case):
        case = _get(database, kept)
        assert sealer.open(case.requester_email_enc) == "alex@example.org"
        assert case.supporting_info == "My ex posted it." and case.contact_purged_at is None
    with database.session() as session:
        assert set(session.scalars(select(Content.content_id))) == {"gone-yesterday", "live"}
        assert len(session.scalars(select(Job).where(Job.kind == "x")).all()) == 2
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "retention.purge")
        ).one()
        assert event.detail is not None and event.detail["contact_erased"] == [old]
        assert "alex@example.org" not in str(event.detail)
        assert verify_audit(session, settings).ok
    # Nothing left to do: no change, no event.
    events = _count(database, AuditEvent)
    with database.session() as session:
        assert purge(session, settings).nothing
    assert _count(database, AuditEvent) == events


def test_the_worker_runs_the_purge_hourly() -> None:
    periodic = build_job_registry().periodics["retention.purge"]
    assert periodic.every_s == 3600.0
