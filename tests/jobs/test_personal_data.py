"""What a failure leaves behind holds no personal data: a job's `last_error` is the error type
(a refused address stays out of the database), and a database error's log record names the
statement but not its parameters."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from rescind.cases.intake import submit_request
from rescind.config import Settings
from rescind.platform.apikeys import create_api_key
from rescind.store import Database
from rescind.store.models import Job
from rescind.web import create_app
from tests.cases.support import run_jobs, valid_input
from tests.pg import free_port

ADDRESS = "alex.private@example.org"


class _Refusing:
    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return f"550 5.1.1 <{address}>: mailbox unavailable"


@pytest.fixture
def refusing_smtp() -> Iterator[int]:
    port = free_port()
    controller = Controller(_Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def test_a_refused_address_is_not_stored_in_the_job(
    settings: Settings, database: Database, refusing_smtp: int
) -> None:
    settings = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": refusing_smtp})
    with database.session() as session:
        submit_request(session, settings, valid_input(email=ADDRESS))
    run_jobs(settings, database)
    with database.session() as session:
        failed = [j for j in session.scalars(select(Job)) if j.last_error]
    assert failed, "the acknowledgement should have failed"
    for job in failed:
        assert job.last_error == "SMTPRecipientsRefused"
        assert "example.org" not in str(job.payload)


def _formatted(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def test_database_errors_name_the_statement_not_its_parameters(database: Database) -> None:
    secret = "Alex Private, case RSC-SECRET-0001"
    # OperationalError on SQLite, ProgrammingError on PostgreSQL
    with pytest.raises(DBAPIError) as caught, database.session() as session:
        session.execute(text("SELECT * FROM no_such_table WHERE name = :name"), {"name": secret})
    assert "no_such_table" in _formatted(caught.value)
    assert secret not in _formatted(caught.value)
    assert "SQL parameters hidden" in str(caught.value)


SUBMISSION_FAILS = {
    "sqlite": "CREATE TRIGGER refuse BEFORE INSERT ON requests "
    "BEGIN SELECT RAISE(ABORT, 'refused by test'); END",
    "postgres": "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "RAISE EXCEPTION 'refused by test' USING ERRCODE = '23514', DETAIL = "
    "'Failing row contains (' || NEW.case_number || ', ' || coalesce(NEW.supporting_info, '') "
    "|| ')'; END $$; CREATE TRIGGER refuse BEFORE INSERT ON requests "
    "FOR EACH ROW EXECUTE FUNCTION refuse()",
}


def test_a_database_error_during_a_submission_logs_no_personal_data(
    settings: Settings, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """A constraint that fails while a request is filed: the caller gets a 500 problem, and
    the log line names the error and the route, not the row (PostgreSQL's DETAIL repeats it)
    nor the statement's parameters."""
    backend = "sqlite" if settings.database_url.startswith("sqlite") else "postgres"
    with database.engine.begin() as conn:
        conn.exec_driver_sql(SUBMISSION_FAILS[backend])
    with database.session() as session:
        _, key = create_api_key(session, "w", frozenset({"requests:write"}))
    body = {
        "language": "en",
        "channel": "api",
        "requester": {"name": "Alex Privatename", "email": ADDRESS, "representative": False},
        "signature": "Alex Privatename",
        "good_faith_statement": "I believe in good faith that this shows me without consent.",
        "supporting_info": "my former partner Sam Secretperson posted it",
        "items": [{"url": "https://example.com/x"}],
    }
    app = create_app(settings, database=database)
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(app, raise_server_exceptions=False) as c, caplog.at_level(logging.INFO):
        response = c.post("/v1/requests", json=body, headers=headers)
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    logged = "\n".join(
        r.getMessage() + ("".join(traceback.format_exception(*r.exc_info)) if r.exc_info else "")
        for r in caplog.records
    )
    assert "database error" in logged and "/v1/requests" in logged
    for private in ("Privatename", "Secretperson", ADDRESS, "RSC-"):
        assert private not in logged, logged
