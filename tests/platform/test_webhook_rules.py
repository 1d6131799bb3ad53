"""The delivery rules of webhooks, each boundary pinned: only a 2xx settles an action, a
redirect is never followed, and retries stop exactly when the 72 h window has passed."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from rescind.config import Settings
from rescind.jobs import Worker
from rescind.platform import webhooks
from rescind.platform.actions import REMOVE, create_action
from rescind.platform.endpoints import add_endpoint
from rescind.platform.webhooks import MAX_ANSWER_BYTES, answer_outcome
from rescind.services import build_job_registry
from rescind.store import Database
from rescind.store.columns import utcnow
from rescind.store.models import Action, ActionAttempt, Job
from rescind.store.statuses import ActionOutcome
from tests.platform.receiver import Receiver

SECRET = "whsec-rules"


class StatusServer:
    """Answers every POST with `status` (and `location`, if set); counts the POSTs."""

    def __init__(self, status: int, location: str | None = None) -> None:
        self.status, self.location, self.posts = status, location, 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.posts += 1
                self.send_response(outer.status)
                if outer.location:
                    self.send_header("Location", outer.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _worker(settings: Settings, database: Database, url: str) -> Worker:
    hooked = settings.model_copy(update={"webhook_url": url, "webhook_secret": SecretStr(SECRET)})
    return Worker(hooked, database, build_job_registry())


def _action(database: Database) -> int:
    with database.session() as session:
        action, _ = create_action(session, REMOVE, "c1", request_id=None)
        return action.id


def _state(database: Database, action_id: int) -> tuple[str, int, str | None]:
    with database.session() as session:
        action = session.get(Action, action_id)
        assert action is not None
        return str(action.status), action.attempts, action.last_error


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_a_2xx_settles_the_action(settings: Settings, database: Database, status: int) -> None:
    server = StatusServer(status)
    try:
        action_id = _action(database)
        _worker(settings, database, server.url).run_once()
        assert _state(database, action_id) == ("delivered", 1, None)
    finally:
        server.close()


@pytest.mark.parametrize("status", [300, 301, 302, 303, 304, 399, 400, 404, 500])
def test_anything_else_is_a_failed_attempt(
    settings: Settings, database: Database, status: int
) -> None:
    server = StatusServer(status)
    try:
        action_id = _action(database)
        _worker(settings, database, server.url).run_once()
        assert _state(database, action_id) == ("pending", 1, f"HTTP {status}")
        with database.session() as session:
            attempt = session.scalars(select(ActionAttempt)).one()
            assert (attempt.status_code, attempt.error) == (status, f"HTTP {status}")
    finally:
        server.close()


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_never_followed(settings: Settings, database: Database, status: int) -> None:
    # A redirect could point a signed removal order at an address nobody configured.
    target = Receiver(SECRET)
    target.start()
    server = StatusServer(status, location=target.url)
    try:
        action_id = _action(database)
        _worker(settings, database, server.url).run_once()
        assert server.posts == 1 and target.deliveries == [] and target.rejected == 0
        assert _state(database, action_id) == ("pending", 1, f"HTTP {status}")
    finally:
        server.close()
        target.stop()


def test_an_endpoint_that_acknowledged_is_not_posted_again_while_another_fails(
    settings: Settings, database: Database
) -> None:
    good, bad = StatusServer(204), StatusServer(302)
    try:
        with database.session() as session:
            add_endpoint(session, settings, bad.url, SECRET)
        action_id = _action(database)
        worker = _worker(settings, database, good.url)
        worker.run_once()
        with database.session() as session:
            session.execute(update(Job).where(Job.status == "queued").values(run_at=utcnow()))
        worker.run_once()
        assert (good.posts, bad.posts) == (1, 2)
        assert _state(database, action_id) == ("pending", 2, "HTTP 302")
        bad.status = 200
        with database.session() as session:
            session.execute(update(Job).where(Job.status == "queued").values(run_at=utcnow()))
        worker.run_once()
        assert (good.posts, bad.posts) == (1, 3)
        assert _state(database, action_id)[0] == "delivered"
    finally:
        good.close()
        bad.close()


def test_the_default_retry_window_is_72_hours(settings: Settings, database: Database) -> None:
    assert Settings.model_fields["webhook_retry_hours"].default == 72.0
    server = StatusServer(503)
    try:
        action_id = _action(database)
        worker = _worker(settings, database, server.url)
        with database.session() as session:
            session.execute(update(Action).values(created_at=utcnow() - timedelta(hours=71.9)))
        worker.run_once()
        assert _state(database, action_id)[0] == "pending"
        with database.session() as session:
            session.execute(update(Action).values(created_at=utcnow() - timedelta(hours=72.1)))
            session.execute(update(Job).where(Job.status == "queued").values(run_at=utcnow()))
        worker.run_once()
        assert _state(database, action_id) == ("failed", 2, "HTTP 503")
    finally:
        server.close()


@pytest.mark.parametrize(
    ("after", "status"),
    [
        (timedelta(hours=72), "pending"),
        (timedelta(hours=72, microseconds=1), "failed"),
    ],
)
def test_retries_stop_exactly_when_the_window_has_passed(
    settings: Settings,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    after: timedelta,
    status: str,
) -> None:
    action_id = _action(database)
    with database.session() as session:
        action = session.get(Action, action_id)
        assert action is not None
        created: datetime = action.created_at
        monkeypatch.setattr(webhooks, "utcnow", lambda: created + after)
        webhooks.retry_later(session, settings, action, "HTTP 503 " + "x" * 600)
        assert action.status == status
        assert action.last_error == ("HTTP 503 " + "x" * 600)[:500]
        if status == "pending":
            delay = (action.next_attempt_at - (created + after)).total_seconds()
            assert 0 < delay <= webhooks.MAX_DELAY_S


def test_the_orphan_sweep_leaves_actions_whose_delivery_is_scheduled(
    settings: Settings, database: Database
) -> None:
    # Only a pending action with no queued or running delivery job is an orphan; one whose job
    # waits (or runs) must not get a second schedule, nor an attempt counted against it.
    scheduled, running, orphan = (_action_for(database, c) for c in ("c1", "c2", "c3"))
    with database.session() as session:
        jobs = {job.payload["action_id"]: job for job in session.scalars(select(Job))}
        jobs[running].status = "running"
        jobs[orphan].status = "failed"
    with database.session() as session:
        webhooks.redeliver_orphans(session, settings, utcnow() + timedelta(seconds=1))
    assert _state(database, scheduled) == ("pending", 0, None)
    assert _state(database, running) == ("pending", 0, None)
    assert _state(database, orphan) == ("pending", 1, webhooks.INTERRUPTED)


def _action_for(database: Database, content_id: str) -> int:
    with database.session() as session:
        action, _ = create_action(session, REMOVE, content_id, request_id=None)
        return action.id


def _answer(body: bytes) -> httpx.Response:
    return httpx.Response(200, content=body)


def test_a_webhook_answer_confirms_only_with_a_known_outcome_in_at_most_4_kib() -> None:
    payload = b'{"outcome": "removed", "note": "gone"}'
    assert answer_outcome(_answer(payload)) == (ActionOutcome.REMOVED, "gone")
    padded = payload[:-1] + b" " * (MAX_ANSWER_BYTES - len(payload)) + b"}"
    assert len(padded) == MAX_ANSWER_BYTES
    assert answer_outcome(_answer(padded)) == (ActionOutcome.REMOVED, "gone")
    assert answer_outcome(_answer(padded + b" ")) == (None, None)
    assert answer_outcome(_answer(b'{"outcome": "removed", "note": 5}')) == (
        ActionOutcome.REMOVED,
        None,
    )
    for other in (b"", b"ok", b'{"outcome": "deleted"}', b'{"status": "removed"}', b"[1]"):
        assert answer_outcome(_answer(other)) == (None, None)
