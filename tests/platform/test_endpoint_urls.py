"""Webhook endpoint URLs: never link-local, metadata or (unless allowed) private and loopback
addresses, checked when an endpoint is added and again before each delivery; credentials in
an endpoint URL are never printed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from typer.testing import CliRunner

from rescind.cli import app as cli
from rescind.config import Settings
from rescind.jobs import Worker
from rescind.platform.actions import REMOVE, create_action
from rescind.platform.endpoints import add_endpoint
from rescind.platform.errors import InvalidSignalError
from rescind.services import build_job_registry
from rescind.store import Database
from rescind.store.models import Action, ActionAttempt, WebhookEndpoint
from tests.platform.receiver import Receiver

SECRET = "whsec-test-secret"
ALWAYS_REFUSED = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/hook",
    "http://[fd00:ec2::254]/latest",
    "http://100.100.100.200/",
    "http://[::ffff:169.254.169.254]/",
    "http://0.0.0.0:8080/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "ftp://hooks.example/x",
    "javascript:alert(1)",
    "file:///etc/passwd",
]
PRIVATE = ["http://127.0.0.1:9/hook", "http://10.1.2.3/hook", "http://[fd12:3456::1]/hook",
           "http://192.168.0.10/", "http://localhost:8080/hook"]  # fmt: skip


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([SECRET])
    r.start()
    yield r
    r.stop()


def _endpoints(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(WebhookEndpoint)) or 0


def test_unsafe_endpoint_urls_are_refused(settings: Settings, database: Database) -> None:
    strict = settings.model_copy(update={"webhook_allow_private": False})
    for url, refused_by in [(u, (settings, strict)) for u in ALWAYS_REFUSED] + [
        (u, (strict,)) for u in PRIVATE
    ]:
        for config in refused_by:
            with pytest.raises(InvalidSignalError) as caught, database.session() as session:
                add_endpoint(session, config, url)
            assert caught.value.field == "url"
    assert _endpoints(database) == 0
    # allowed: private addresses where the operator says so, public ones always
    with database.session() as session:
        add_endpoint(session, settings, "http://127.0.0.1:9/hook")
        add_endpoint(session, strict, "https://8.8.8.8/hook")
        add_endpoint(session, strict, "https://hooks.example/not-resolvable-yet")
    assert _endpoints(database) == 3


def test_the_address_is_checked_again_at_delivery(
    settings: Settings, database: Database, receiver: Receiver
) -> None:
    """An endpoint added while loopback was allowed, or a RESCIND_WEBHOOK_URL pointing at the
    metadata service, gets no POST: the attempt records an unsafe endpoint and is retried."""
    with database.session() as session:
        add_endpoint(session, settings, receiver.url, SECRET)
        action, _ = create_action(session, REMOVE, "c1", request_id=None)
        action_id = action.id
    strict = settings.model_copy(
        update={
            "webhook_allow_private": False,
            "webhook_url": "http://169.254.169.254/latest/meta-data/",
            "webhook_secret": SecretStr(SECRET),
        }
    )
    Worker(strict, database, build_job_registry()).run_once()
    assert receiver.deliveries == []
    with database.session() as session:
        action = session.get(Action, action_id)
        assert action is not None and action.status == "pending"
        attempts = session.scalars(select(ActionAttempt)).all()
        assert sorted(a.error or "" for a in attempts) == ["UnsafeEndpoint", "UnsafeEndpoint"]


def test_credentials_in_an_endpoint_url_are_never_printed(
    settings: Settings, database: Database, receiver: Receiver
) -> None:
    env = {
        "RESCIND_DATA_DIR": str(settings.data_dir),
        "RESCIND_DATABASE_URL": settings.sqlalchemy_url,
        "RESCIND_ENVIRONMENT": "test",
        "RESCIND_WEBHOOK_ALLOW_PRIVATE": "true",
        "RESCIND_WEBHOOK_URL": "https://envuser:env-password@8.8.8.8/hook",
    }
    secret_url = receiver.url.replace("http://", "http://platform:hunter2-password@")
    added = CliRunner().invoke(cli, ["webhook", "add", secret_url, "--secret", SECRET], env=env)
    assert added.exit_code == 0, added.output
    refused = CliRunner().invoke(
        cli, ["webhook", "add", "http://admin:p4ss-word@169.254.169.254/"], env=env
    )
    assert refused.exit_code == 2
    listed = CliRunner().invoke(cli, ["webhook", "list"], env=env)
    assert listed.exit_code == 0
    for output in (added.output, refused.output, listed.output):
        assert "password" not in output and "p4ss" not in output, output
    assert "***@8.8.8.8/hook" in listed.output and "***@127.0.0.1" in listed.output
    # deliveries carry the credentials; the attempt log does not
    with database.session() as session:
        create_action(session, REMOVE, "c1", request_id=None)
    Worker(settings, database, build_job_registry()).run_once()
    assert len(receiver.deliveries) == 1
    with database.session() as session:
        shown = [a.endpoint for a in session.scalars(select(ActionAttempt))]
    assert shown == [receiver.url.replace("http://", "http://***@")]
