"""One delivery attempt, endpoint by endpoint: who is posted again, what is recorded of each
POST, what the body names, and how long a silent endpoint may hold the worker."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from rescind.cases.intake import submit_request
from rescind.config import Settings
from rescind.jobs import Worker
from rescind.platform.actions import REMOVE, create_action
from rescind.platform.endpoints import add_endpoint
from rescind.services import build_job_registry
from rescind.store import Database
from rescind.store.columns import utcnow
from rescind.store.models import Action, ActionAttempt, Job
from tests.cases.support import valid_input
from tests.platform.receiver import Receiver

SECRET = "whsec-attempts"
SECOND = "whsec-second"


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    first, second = Receiver([SECRET]), Receiver([SECOND])
    first.start()
    second.start()
    yield first, second
    first.stop()
    second.stop()


def _worker(settings: Settings, database: Database, first: Receiver, **more: object) -> Worker:
    hooked = settings.model_copy(
        update={"webhook_url": first.url, "webhook_secret": SecretStr(SECRET), **more}
    )
    return Worker(hooked, database, build_job_registry())


def _action(database: Database, content_id: str, request_id: int | None = None) -> int:
    with database.session() as session:
        action, _ = create_action(session, REMOVE, content_id, request_id=request_id)
        return action.id


def _again(database: Database) -> None:
    with database.session() as session:
        session.execute(update(Job).where(Job.status == "queued").values(run_at=utcnow()))


def _attempts(database: Database, action_id: int) -> list[tuple[str, int | None]]:
    with database.session() as session:
        rows = session.execute(
            select(ActionAttempt.endpoint, ActionAttempt.status_code)
            .where(ActionAttempt.action_id == action_id)
            .order_by(ActionAttempt.id)
        )
        return [(endpoint, status) for endpoint, status in rows]


def test_only_endpoints_that_did_not_answer_2xx_for_this_action_are_posted_again(
    settings: Settings, database: Database, receivers: tuple[Receiver, Receiver]
) -> None:
    first, second = receivers
    with database.session() as session:
        add_endpoint(session, settings, second.url, SECOND)
    worker = _worker(settings, database, first)
    # Another action acknowledged by both endpoints earlier: its answers are not this one's.
    earlier = _action(database, "c0")
    worker.run_once()
    assert _attempts(database, earlier) == [(first.url, 204), (second.url, 204)]

    action_id = _action(database, "c1")
    first.fail_with, second.fail_with = 200, 300  # 200 acknowledges; a 3xx does not
    worker.run_once()
    _again(database)
    second.fail_with = None
    worker.run_once()
    assert _attempts(database, action_id) == [
        (first.url, 200),
        (second.url, 300),
        (second.url, 204),  # the first endpoint's 200 stood: it was not posted again
    ]
    with database.session() as session:
        action = session.get(Action, action_id)
        assert action is not None and (action.status, action.attempts) == ("delivered", 2)


def test_every_failing_endpoint_is_named_in_the_actions_last_error(
    settings: Settings, database: Database, receivers: tuple[Receiver, Receiver]
) -> None:
    first, second = receivers
    with database.session() as session:
        add_endpoint(session, settings, second.url, SECOND)
    first.fail_with, second.fail_with = 500, 302
    action_id = _action(database, "c1")
    _worker(settings, database, first).run_once()
    with database.session() as session:
        action = session.get(Action, action_id)
        assert action is not None and action.last_error == "HTTP 500; HTTP 302"


def test_the_body_names_the_case_behind_the_action(
    settings: Settings, database: Database, receivers: tuple[Receiver, Receiver]
) -> None:
    first, _ = receivers
    with database.session() as session:
        case = submit_request(session, settings, valid_input()).request
        case_id, number = case.id, case.case_number
    _action(database, "other")  # an action of no case is delivered too, naming none
    _action(database, "c1", request_id=case_id)
    _worker(settings, database, first).run_once()
    assert [(d["content_id"], d["case_number"]) for d in first.deliveries] == [
        ("other", None),
        ("c1", number),
    ]


def test_each_attempt_records_when_and_how_long(
    settings: Settings, database: Database, receivers: tuple[Receiver, Receiver]
) -> None:
    first, _ = receivers
    first.delay_s = 0.3
    before = utcnow()
    action_id = _action(database, "c1")
    _worker(settings, database, first).run_once()
    with database.session() as session:
        attempt = session.scalars(
            select(ActionAttempt).where(ActionAttempt.action_id == action_id)
        ).one()
    assert before <= attempt.at <= utcnow()
    assert 300 <= attempt.duration_ms < 5000


def test_a_silent_endpoint_holds_the_worker_only_for_the_timeout(
    settings: Settings, database: Database, receivers: tuple[Receiver, Receiver]
) -> None:
    first, _ = receivers
    first.delay_s = 4.0
    action_id = _action(database, "c1")
    _worker(settings, database, first, webhook_timeout_s=0.5).run_once()
    with database.session() as session:
        attempt = session.scalars(
            select(ActionAttempt).where(ActionAttempt.action_id == action_id)
        ).one()
        action = session.get(Action, action_id)
    assert attempt.error == "ReadTimeout" and attempt.duration_ms < 3000
    assert action is not None and action.status == "pending"
    assert action.next_attempt_at > utcnow() - timedelta(seconds=1)
