"""CyberTipline reports against a local stand-in of NCMEC's API (real HTTP on loopback): a case
flagged under 18 and decided "remove" is reported exactly once, with its URLs and hashes, and
preserved for a year; a lost answer, a server error, a refused connection or a worker killed
between submit and finish never files it twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from rescind.cases.enforcement import RemovalEnforcer
from rescind.cases.intake import submit_request
from rescind.cases.review import Reviewer, decide
from rescind.config import Settings
from rescind.exchange import ncmec
from rescind.platform.runtime import PlatformRuntime
from rescind.store import Database
from rescind.store.columns import utcnow
from rescind.store.models import AuditEvent, Job, Preservation, Request, TiplineReport
from rescind.store.statuses import Role
from tests.cases.support import MD5, PDQ, run_jobs, valid_input
from tests.e2e.servers import rescind_env, start
from tests.exchange.ncmec_standin import PASSWORD, USER, NcmecStandIn
from tests.pg import free_port

REVIEWER = Reviewer("user:1", Role.REVIEWER, None)


@pytest.fixture
def standin() -> Iterator[NcmecStandIn]:
    server = NcmecStandIn()
    server.start()
    yield server
    server.stop()


def _configured(settings: Settings, url: str) -> Settings:
    return settings.model_copy(
        update={
            "ncmec_url": url,
            "ncmec_username": USER,
            "ncmec_password": SecretStr(PASSWORD),
            "ncmec_reporter_name": "Dana Safety",
            "ncmec_reporter_email": "safety@platform.example",
        }
    )


def _decide_flagged(settings: Settings, database: Database, minor: str = "yes") -> str:
    enforce = RemovalEnforcer(PlatformRuntime(settings, database.engine))
    with database.session() as session:
        filed = submit_request(session, settings, valid_input(minor=minor))
    with database.session() as session:
        case = session.scalars(select(Request).where(Request.case_number == filed.case_number))
        decide(session, settings, case.one(), REVIEWER, "remove", enforce=enforce)
    return filed.case_number


def _report(database: Database) -> TiplineReport:
    with database.session() as session:
        return session.scalars(select(TiplineReport)).one()


def _due_now(database: Database) -> None:
    # The retry's backoff has passed.
    with database.session() as session:
        session.execute(update(Job).where(Job.status == "queued").values(run_at=utcnow()))


def _attempted_long_ago(database: Database) -> None:
    with database.session() as session:
        session.execute(update(TiplineReport).values(attempted_at=utcnow() - timedelta(minutes=10)))


def _audited(database: Database, prefix: str) -> list[str]:
    with database.session() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))
        return [a for a in actions if a.startswith(prefix)]


def test_a_flagged_case_is_reported_once_and_preserved_for_a_year(
    settings: Settings, database: Database, standin: NcmecStandIn
) -> None:
    settings = _configured(settings, standin.url)
    number = _decide_flagged(settings, database)
    run_jobs(settings, database)
    assert standin.state.submits == 1 and standin.state.finishes == 1
    (filed,) = standin.state.reports.values()
    assert filed.finished == 1
    assert "<incidentType>Child Pornography (possession, manufacture, and distribution)" in (
        filed.xml
    )
    assert "<url>https://platform.example/p/123</url>" in filed.xml
    assert f"MD5: {MD5}" in filed.xml and f"PDQ: {PDQ}" in filed.xml
    assert "<email>safety@platform.example</email>" in filed.xml
    assert "alex@example.org" not in filed.xml and "Alex Example" not in filed.xml
    report = _report(database)
    assert (report.state, report.ncmec_report_id) == ("finished", filed.report_id)
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        assert case.ncmec_report_id == filed.report_id and case.ncmec_reported_at
        kept = session.scalars(select(Preservation)).one()
        assert kept.case_number == number and kept.report_xml == filed.xml
        assert kept.hashes["items"][0]["md5"] == MD5
        assert kept.expires_at - kept.preserved_at == timedelta(days=365)
    assert _audited(database, "ncmec.") == [
        "ncmec.report.queued",
        "ncmec.report.submitted",
        "ncmec.report.finished",
    ]
    # Later runs and the hourly resumption send nothing more.
    _due_now(database)
    run_jobs(settings, database)
    with database.session() as session:
        ncmec._resume(session, settings, utcnow())
    run_jobs(settings, database)
    assert standin.state.submits == 1 and standin.state.finishes == 1


def test_cases_not_flagged_are_not_reported(
    settings: Settings, database: Database, standin: NcmecStandIn
) -> None:
    settings = _configured(settings, standin.url)
    _decide_flagged(settings, database, minor="no")
    run_jobs(settings, database)
    assert standin.state.submits == 0
    with database.session() as session:
        assert session.scalars(select(TiplineReport)).first() is None


def test_a_lost_finish_answer_is_retried_with_finish_only(
    settings: Settings, database: Database, standin: NcmecStandIn
) -> None:
    settings = _configured(settings, standin.url)
    standin.state.lose_finish_answers = 1
    _decide_flagged(settings, database)
    run_jobs(settings, database)
    assert _report(database).state == "submitted"
    _due_now(database)
    run_jobs(settings, database)
    assert _report(database).state == "finished"
    assert standin.state.submits == 1 and len(standin.state.reports) == 1
    assert standin.state.finishes == 2  # the retry met "already finished" (code 5102)
    assert next(iter(standin.state.reports.values())).finished == 1


def test_a_lost_submit_answer_is_never_resent_until_an_admin_checks(
    settings: Settings, database: Database, standin: NcmecStandIn
) -> None:
    settings = _configured(settings, standin.url)
    standin.state.lose_submit_answers = 1
    _decide_flagged(settings, database)
    run_jobs(settings, database)
    assert _report(database).state == "submitting"
    # Within the submit's own timeout another worker may still be waiting for the answer:
    # nothing happens. After it, the answer is known lost.
    _due_now(database)
    run_jobs(settings, database)
    assert _report(database).state == "submitting" and standin.state.submits == 1
    _attempted_long_ago(database)
    for _ in range(3):
        _due_now(database)
        run_jobs(settings, database)
        with database.session() as session:
            ncmec._resume(session, settings, utcnow())
    assert _report(database).state == "needs_check"
    assert standin.state.submits == 1
    (held,) = standin.state.reports
    # The admin finds the report at NCMEC and records its id: it is finished, not resent.
    with database.session() as session:
        report = session.scalars(select(TiplineReport)).one()
        with pytest.raises(ncmec.CheckRefused):
            ncmec.resolve_needs_check(session, report, "user:1", "12ab")
        ncmec.resolve_needs_check(session, report, "user:1", held)
    run_jobs(settings, database)
    assert _report(database).state == "finished"
    assert standin.state.submits == 1 and standin.state.reports[held].finished == 1
    assert "ncmec.report.needs_check" in _audited(database, "ncmec.")


def test_server_errors_and_refused_connections_are_retried(
    settings: Settings, database: Database, standin: NcmecStandIn
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/ispws"
    _decide_flagged(_configured(settings, closed), database)
    run_jobs(_configured(settings, closed), database)
    report = _report(database)
    assert (report.state, report.last_error) == ("queued", "ConnectError")
    standin.state.submit_server_errors = 1
    settings = _configured(settings, standin.url)
    _due_now(database)
    run_jobs(settings, database)
    assert _report(database).state == "queued"  # NCMEC saved nothing
    _due_now(database)
    run_jobs(settings, database)
    assert _report(database).state == "finished"
    assert standin.state.submits == 2 and len(standin.state.reports) == 1


def test_reports_wait_unsent_until_the_endpoint_is_configured(
    settings: Settings, database: Database, standin: NcmecStandIn
) -> None:
    _decide_flagged(settings, database)
    run_jobs(settings, database)
    assert _report(database).state == "queued" and standin.state.submits == 0
    settings = _configured(settings, standin.url)
    with database.session() as session:
        ncmec._resume(session, settings, utcnow())
    run_jobs(settings, database)
    assert _report(database).state == "finished" and len(standin.state.reports) == 1


@pytest.mark.slow
def test_a_worker_killed_between_submit_and_finish_files_one_report(
    settings: Settings, database: Database, standin: NcmecStandIn, db_url: str, tmp_path: Path
) -> None:
    """`rescind worker` is killed (SIGKILL) while NCMEC is finishing the report; the next worker
    finds it submitted and only finishes it."""
    settings = _configured(settings, standin.url)
    _decide_flagged(settings, database)
    hold = threading.Event()
    arrived = threading.Event()
    state = standin.state
    state.finish_pause = (arrived, hold)
    env = rescind_env(
        db_url,
        settings.data_dir,
        ncmec_url=standin.url,
        ncmec_username=USER,
        ncmec_password=PASSWORD,
        ncmec_reporter_email="safety@platform.example",
        worker_lease_s="1",
    )
    worker = start(["worker"], env, tmp_path / "worker.log")
    try:
        assert arrived.wait(60), (tmp_path / "worker.log").read_text()
        worker.kill()
        worker.wait(10)
    finally:
        hold.set()
        if worker.poll() is None:
            worker.kill()
    assert _report(database).state == "submitted"
    time.sleep(1.2)  # the dead worker's lease runs out
    _due_now(database)
    run_jobs(settings, database)
    assert _report(database).state == "finished"
    assert state.submits == 1 and len(state.reports) == 1
    assert next(iter(state.reports.values())).finished == 1


def test_two_workers_at_once_send_the_report_once(
    settings: Settings, database: Database, standin: NcmecStandIn
) -> None:
    """Two jobs for the same report (its own and the hourly resumption) run at once: the
    compare-and-set from `queued` lets one send it; the other backs off."""
    settings = _configured(settings, standin.url)
    _decide_flagged(settings, database)  # queued; its job is not run here
    report_id = _report(database).id
    arrived, release = threading.Event(), threading.Event()
    standin.state.submit_pause = (arrived, release)
    outcome: list[object] = []

    def first() -> None:
        with database.session() as session:
            outcome.append(ncmec.advance(session, settings, report_id))

    thread = threading.Thread(target=first)
    thread.start()
    assert arrived.wait(30)
    with database.session() as session, pytest.raises(ncmec.SubmitInFlight):
        ncmec.advance(session, settings, report_id)
    release.set()
    thread.join(30)
    assert outcome == ["finished"]
    assert standin.state.submits == 1 and len(standin.state.reports) == 1
