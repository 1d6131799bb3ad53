"""Our reviewers' verdicts go back by themselves: a lead found through a StopNCII hash, once
confirmed, sends `Blocked` to StopNCII (here its stand-in) through the job queue, once, and the
case page says so. (Partners: tests/exchange/test_two_instances.py.)"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rescind.cases.users import create_user
from rescind.config import Settings
from rescind.exchange import stopncii, verdicts
from rescind.jobs.runner import Worker
from rescind.platform.apikeys import create_api_key
from rescind.services import build_job_registry
from rescind.store import Database
from rescind.store.models import Job, Request
from rescind.web import create_app
from rescind.web.deps import services_of
from tests.exchange.stopncii_standin import StandIn, running
from tests.exchange.test_stopncii import _configured
from tests.web.console.conftest import PASSWORD, sign_in


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with running() as server:
        yield server


def _drain(worker: Worker) -> None:
    while worker.run_once():
        pass


@pytest.mark.parametrize("feedback_key", [True, False])
def test_a_confirmed_lead_on_a_stopncii_hash_sends_blocked_once(
    database: Database, settings: Settings, standin: StandIn, feedback_key: bool
) -> None:
    on = _configured(settings, standin.url)
    if not feedback_key:  # verdicts to StopNCII are off: none is queued, none is claimed
        on = on.model_copy(update={"stopncii_feedback_key": None})
    value = secrets.token_hex(32)
    standin.add_case("case-1", value)
    assert stopncii.pull(database.engine, on).error is None
    with database.session() as session:
        keys = {
            name: {"Authorization": f"Bearer {create_api_key(session, name, scopes)[1]}"}
            for name, scopes in (
                ("uploads", frozenset({"check"})),
                ("intake", frozenset({"requests:write"})),
                ("staff", frozenset({"review", "requests:read"})),
            )
        }
    app = create_app(on, database=database)
    with TestClient(app) as client:
        services_of(app).runtime.sync_all()
        # An upload matches StopNCII's hash: review, never block.
        checked = client.post(
            "/v1/check", json={"content_id": "upload-1", "pdq": [value]}, headers=keys["uploads"]
        )
        assert checked.json()["verdict"] == "review", checked.text
        # A person reports that picture by its hash; the removal finds the upload as a lead.
        filed = client.post(
            "/v1/requests",
            headers=keys["intake"],
            json={
                "requester": {"name": "Alex Example", "email": "alex@example.org"},
                "signature": "Alex Example",
                "good_faith_statement": "I never consented.",
                "items": [{"pdq": [value], "description": "a picture of me"}],
            },
        )
        assert filed.status_code == 201, filed.text
        number = filed.json()["case_number"]
        decided = client.post(
            f"/v1/requests/{number}/decision", json={"outcome": "remove"}, headers=keys["staff"]
        )
        assert decided.status_code == 200, decided.text
        (lead,) = decided.json()["leads"]
        assert lead["content_id"] == "upload-1"
        worker = Worker(on, database, build_job_registry())
        _drain(worker)
        assert standin.feedback == []  # nothing is said before a reviewer decides the lead
        confirmed = client.post(
            f"/v1/requests/{number}/leads/{lead['id']}",
            json={"decision": "confirm"},
            headers=keys["staff"],
        )
        assert confirmed.status_code == 200, confirmed.text
    _drain(worker)
    if not feedback_key:
        assert standin.feedback == []
        with database.session() as session:
            assert session.scalars(select(Job).where(Job.kind == verdicts.JOB)).all() == []
        return
    assert [(f["hashValue"], f["feedbackValue"]) for f in standin.feedback] == [(value, "Blocked")]
    with database.session() as session:
        create_user(session, "rita", PASSWORD, "reviewer", email="rita@example.org")
    with TestClient(app) as console:
        assert sign_in(console, "rita") == 303
        page = console.get(f"/console/cases/{number}").text
        assert "Verdict sent to StopNCII.org: intimate imagery (ncii)" in page
    with database.session() as session:
        case = session.scalars(select(Request).where(Request.case_number == number)).one()
        sent = verdicts.verdicts_of_case(session, case.id)
        assert [(v.source, v.verdict, v.state) for v in sent] == [("StopNCII.org", "ncii", "done")]
        # Applied once: the same verdict on the same entry is never queued again.
        job = session.scalars(select(Job).where(Job.kind == verdicts.JOB)).one()
        again = verdicts._queue(session, on, case.id, [int(job.payload["entry_id"])], "ncii")
        assert again == 0
