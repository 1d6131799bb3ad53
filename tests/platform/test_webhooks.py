"""Actions are delivered as signed webhooks, retried with backoff, logged, and settled once."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import delete, func, select, text, update

from rescind.client import WebhookVerificationError, verify_signature
from rescind.config import Settings
from rescind.jobs import Worker
from rescind.platform.actions import REMOVE, create_action, mark_done
from rescind.platform.endpoints import add_endpoint
from rescind.platform.webhooks import redeliver_orphans, retry_delay, signature_header
from rescind.services import build_job_registry
from rescind.store import Database
from rescind.store.columns import utcnow
from rescind.store.models import Action, ActionAttempt, Job, WebhookEndpoint
from tests.platform.receiver import Receiver

SECRET = "whsec-test-secret"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([SECRET])
    r.start()
    yield r
    r.stop()


def _worker(settings: Settings, database: Database, receiver: Receiver) -> Worker:
    hooked = settings.model_copy(
        update={"webhook_url": receiver.url, "webhook_secret": SecretStr(SECRET)}
    )
    return Worker(hooked, database, build_job_registry())


def _make_due(database: Database) -> None:
    with database.session() as session:
        session.execute(update(Job).where(Job.status == "queued").values(run_at=utcnow()))


def _action(database: Database, content_id: str = "c1") -> int:
    with database.session() as session:
        action, created = create_action(session, REMOVE, content_id, request_id=None)
        assert created
        return action.id


def test_delivery_is_signed_logged_and_settles(
    settings: Settings, database: Database, receiver: Receiver
) -> None:
    action_id = _action(database)
    worker = _worker(settings, database, receiver)
    worker.run_once()
    assert len(receiver.deliveries) == 1
    event = receiver.deliveries[0]
    assert set(event) == {
        "id",
        "type",
        "content_id",
        "url",
        "case_number",
        "idempotency_key",
        "created_at",
        "statement_of_reasons",
    }
    assert (event["id"], event["type"], event["content_id"]) == (action_id, "content.remove", "c1")
    # Compact JSON with sorted keys (what is signed), announced as JSON, from a named sender.
    [(raw, headers)] = receiver.raw
    assert raw == json.dumps(event, separators=(",", ":"), sort_keys=True).encode()
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "Rescind-Webhooks/1"
    with database.session() as session:
        action = session.get(Action, action_id)
        assert action is not None and action.status == "delivered" and action.attempts == 1
        attempt = session.scalars(select(ActionAttempt)).one()
        assert (attempt.status_code, attempt.endpoint, attempt.error) == (204, receiver.url, None)
    _make_due(database)
    worker.run_once()
    assert len(receiver.deliveries) == 1  # nothing left to deliver


def test_failures_are_retried_with_backoff_until_the_receiver_is_back(
    settings: Settings, database: Database, receiver: Receiver
) -> None:
    action_id = _action(database)
    worker = _worker(settings, database, receiver)
    receiver.fail_with = 503
    worker.run_once()
    receiver.stop()
    _make_due(database)
    worker.run_once()
    with database.session() as session:
        action = session.get(Action, action_id)
        assert action is not None and action.status == "pending" and action.attempts == 2
        assert action.next_attempt_at > utcnow()
        errors = [
            a.error for a in session.scalars(select(ActionAttempt).order_by(ActionAttempt.id))
        ]
        assert errors[0] == "HTTP 503" and errors[1] == "ConnectError"
    receiver.fail_with = None
    receiver.start()
    _make_due(database)
    worker.run_once()
    assert receiver.keys() == [action.idempotency_key]
    with database.session() as session:
        assert session.get(Action, action_id).status == "delivered"  # type: ignore[union-attr]
        assert session.scalar(select(func.count()).select_from(ActionAttempt)) == 3


def test_gives_up_only_after_the_retry_window(
    settings: Settings,
    database: Database,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    action_id = _action(database)
    receiver.fail_with = 500
    with database.session() as session:
        session.execute(
            update(Action).values(created_at=utcnow() - timedelta(hours=47, minutes=59))
        )
    worker = _worker(settings, database, receiver)
    worker.run_once()
    with database.session() as session:
        assert session.get(Action, action_id).status == "pending"  # type: ignore[union-attr]
        session.execute(update(Action).values(created_at=utcnow() - timedelta(hours=73)))
    _make_due(database)
    with caplog.at_level("WARNING", logger="rescind"):
        worker.run_once()
    with database.session() as session:
        assert session.get(Action, action_id).status == "failed"  # type: ignore[union-attr]
    assert f"action {action_id} undelivered after 2 attempts: giving up" in caplog.messages


def test_backoff_grows_with_jitter_and_covers_48_hours() -> None:
    # The webhooks' parametrisation of the one backoff function: half of each wait is fixed.
    delays = [retry_delay(n) for n in range(1, 200)]
    assert 1.0 <= delays[0] <= 2.0
    assert all(2 ** (n - 2) <= d <= 2**n for n, d in enumerate(delays[:11], start=1))
    assert all(1800 <= d <= 3600 for d in delays[20:])
    assert len({round(d, 3) for d in delays[20:40]}) > 15  # jittered
    elapsed, attempts = 0.0, 0
    while elapsed < 48 * 3600:
        attempts += 1
        elapsed += retry_delay(attempts)
    assert attempts > 40  # keeps trying through the whole window


def test_mark_done_stops_delivery(
    settings: Settings, database: Database, receiver: Receiver
) -> None:
    action_id = _action(database)
    with database.session() as session:
        action = mark_done(session, action_id)
        assert (action.status, action.outcome) == ("confirmed", "removed")
        assert action.confirmed_at is not None
    _worker(settings, database, receiver).run_once()
    assert receiver.deliveries == []


def test_a_json_answer_confirms_and_any_other_answer_only_delivers(
    settings: Settings, database: Database, receiver: Receiver
) -> None:
    answers = {"c1": {"outcome": "not_found", "note": "already gone"}, "c2": {"outcome": "?"}}
    receiver.answer = lambda event: answers.get(event["content_id"])
    first, second, third = (_action(database, c) for c in ("c1", "c2", "c3"))
    _worker(settings, database, receiver).run_once()
    with database.session() as session:
        confirmed = session.get(Action, first)
        assert confirmed is not None and confirmed.status == "confirmed"
        assert (confirmed.outcome, confirmed.outcome_note) == ("not_found", "already gone")
        assert confirmed.confirmed_at is not None
        for other in (second, third):  # an invalid outcome, an empty 204: delivered only
            action = session.get(Action, other)
            assert action is not None and (action.status, action.outcome) == ("delivered", None)


def test_adding_an_endpoint_sends_waiting_actions_at_once(
    settings: Settings, database: Database, receiver: Receiver
) -> None:
    action_id = _action(database)
    Worker(settings, database, build_job_registry()).run_once()  # no endpoint: waits an hour
    with database.session() as session:
        add_endpoint(session, settings, receiver.url, SECRET)
    Worker(settings, database, build_job_registry()).run_once()
    assert [d["id"] for d in receiver.deliveries] == [action_id]


def test_without_endpoints_actions_wait_for_mark_done(
    settings: Settings, database: Database
) -> None:
    action_id = _action(database)
    Worker(settings, database, build_job_registry()).run_once()
    with database.session() as session:
        action = session.get(Action, action_id)
        assert action is not None and action.status == "pending" and action.attempts == 0
        assert action.next_attempt_at > utcnow() + timedelta(minutes=30)
        assert session.scalar(select(func.count()).select_from(ActionAttempt)) == 0


def test_extra_endpoints_and_secret_rotation(
    settings: Settings, database: Database, receiver: Receiver
) -> None:
    second = Receiver("second-secret")
    second.start()
    try:
        with database.session() as session:
            add_endpoint(session, settings, second.url, "second-secret")
        rotating = settings.model_copy(
            update={"webhook_url": receiver.url, "webhook_secret": SecretStr("new-one, " + SECRET)}
        )
        _action(database)
        Worker(rotating, database, build_job_registry()).run_once()
        assert len(receiver.deliveries) == 1 and len(second.deliveries) == 1
    finally:
        second.stop()


def test_receiver_helper_refuses_replays_tampering_and_wrong_secrets() -> None:
    body = b'{"id":1}'
    now = int(time.time())
    header = signature_header([SECRET], body, now)
    verify_signature(SECRET, header, body)
    verify_signature(["rotated", SECRET], header, body)
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify_signature(SECRET, signature_header([SECRET], body, now - 301), body)
    with pytest.raises(WebhookVerificationError, match="no signature"):
        verify_signature(SECRET, header, b'{"id":2}')
    with pytest.raises(WebhookVerificationError, match="no signature"):
        verify_signature("other", header, body)
    for bad in (None, "", "t=abc,v1=00", "v1=00", f"t={now}"):
        with pytest.raises(WebhookVerificationError):
            verify_signature(SECRET, bad, body)


def _redeliver(worker: Worker) -> None:
    """Run the periodic crash-recovery task once, as `rescind worker` does every minute."""
    worker.ensure_periodics()
    _make_due(worker.db)
    worker.run_once()


def test_a_crashing_delivery_is_not_retried_by_the_runner_but_by_its_schedule(
    settings: Settings, database: Database, receiver: Receiver
) -> None:
    # An endpoint whose secret was sealed under another instance key makes every attempt
    # crash before anything is posted (an operator error, not a failed POST).
    other = settings.model_copy(update={"secret_key": SecretStr("another-instance-key-" * 3)})
    with database.session() as session:
        bad, _ = add_endpoint(session, other, "https://hooks.example/elsewhere")
        bad_id = bad.id
    action_id = _action(database)
    worker = _worker(settings, database, receiver)
    worker.run_once()
    _make_due(database)
    assert worker.run_once() == 0  # the runner adds no retry of its own
    with database.session() as session:
        assert session.scalars(select(Job.status)).all() == ["failed"]
        action = session.get(Action, action_id)
        assert action is not None and (action.status, action.attempts) == ("pending", 0)
    assert receiver.deliveries == []
    # The schedule picks the orphaned action up again; once the bad endpoint is switched off
    # it is delivered.
    with database.session() as session:
        session.execute(
            update(WebhookEndpoint).where(WebhookEndpoint.id == bad_id).values(active=False)
        )
    _redeliver(worker)
    with database.session() as session:
        action = session.get(Action, action_id)
        assert action is not None and (action.status, action.attempts) == ("pending", 1)
        assert action.last_error == "delivery interrupted" and action.next_attempt_at > utcnow()
    _make_due(database)
    worker.run_once()
    assert [d["id"] for d in receiver.deliveries] == [action_id]
    with database.session() as session:
        action = session.get(Action, action_id)
        assert action is not None and (action.status, action.attempts) == ("delivered", 2)


def test_a_crashed_attempt_gives_up_with_the_retry_window(
    settings: Settings, database: Database, receiver: Receiver
) -> None:
    other = settings.model_copy(update={"secret_key": SecretStr("another-instance-key-" * 3)})
    with database.session() as session:
        add_endpoint(session, other, "https://hooks.example/elsewhere")
    action_id = _action(database)
    worker = _worker(settings, database, receiver)
    worker.run_once()
    with database.session() as session:
        session.execute(update(Action).values(created_at=utcnow() - timedelta(hours=73)))
    _redeliver(worker)
    with database.session() as session:
        action = session.get(Action, action_id)
        assert action is not None and (action.status, action.last_error) == (
            "failed",
            "delivery interrupted",
        )


@pytest.mark.parametrize(
    "db_url",
    [pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])],
    indirect=True,
)
def test_a_delivery_whose_database_dies_mid_attempt_is_delivered_again(
    settings: Settings, database: Database, receiver: Receiver
) -> None:
    # The POST reaches the platform, then the worker's database connection is killed before
    # the attempt commits: the attempt rolls back, and the action must still end delivered
    # (at least once: the platform dedupes by idempotency key).
    def kill_worker_connections() -> None:
        with database.engine.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )

    action_id = _action(database)
    worker = _worker(settings, database, receiver)
    receiver.on_delivery = kill_worker_connections
    worker.run_once()
    receiver.on_delivery = None
    with database.session() as session:
        action = session.get(Action, action_id)
        assert action is not None and (action.status, action.attempts) == ("pending", 0)
        assert session.scalars(select(Job.status)).all() == ["failed"]
    _make_due(database)
    assert worker.run_once() == 0  # no hidden retry by the runner
    _redeliver(worker)
    _make_due(database)
    worker.run_once()
    key = receiver.keys()[0]
    assert receiver.keys() == [key, key]
    with database.session() as session:
        action = session.get(Action, action_id)
        assert action is not None and action.status == "delivered"


def test_the_orphan_sweep_retries_only_pending_due_actions_without_a_delivery_job(
    settings: Settings, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    # Four actions whose delivery jobs are gone (as after a crash), then one whose job is live.
    orphan, not_due, delivered, scheduled = (_action(database, f"c{i}") for i in range(4))
    now = utcnow()
    with database.session() as session:
        session.execute(delete(Job).where(Job.unique_key.not_like(f"%:{scheduled}:%")))
        session.execute(
            update(Action).where(Action.id == orphan).values(attempts=3, next_attempt_at=now)
        )
        session.execute(
            update(Action)
            .where(Action.id == not_due)
            .values(next_attempt_at=now + timedelta(microseconds=1))
        )
        session.execute(
            update(Action)
            .where(Action.id == delivered)
            .values(status="delivered", next_attempt_at=now)
        )
    with caplog.at_level("WARNING", logger="rescind"), database.session() as session:
        redeliver_orphans(session, settings, now)
    with database.session() as session:
        attempts = {a.id: (a.attempts, a.last_error) for a in session.scalars(select(Action))}
        jobs = list(session.scalars(select(Job.unique_key)))
    assert attempts[orphan] == (4, "delivery interrupted")  # the lost attempt counts
    assert attempts[not_due] == (0, None)
    assert attempts[delivered] == (0, None)
    assert attempts[scheduled] == (0, None)
    assert sorted(int(k.split(":")[1]) for k in jobs) == sorted([orphan, scheduled])
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [f"action {orphan}: its delivery job crashed; retrying on schedule"]
