"""`rescind serve` says at start when removal actions have nowhere to go, and sends those that
waited once an endpoint is configured."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from rescind.cli.serve import _check_endpoints
from rescind.config import Settings
from rescind.platform.actions import REMOVE, create_action
from rescind.store import Database
from rescind.store.columns import utcnow
from rescind.store.models import Action


def test_serve_warns_without_an_endpoint_and_sends_waiting_actions_with_one(
    settings: Settings, database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    with database.session() as session:
        action, _ = create_action(session, REMOVE, "c1", request_id=None)
        action.next_attempt_at = utcnow() + timedelta(hours=1)  # waiting for an endpoint
    _check_endpoints(settings)
    assert "no webhook endpoint is configured" in capsys.readouterr().err
    hooked = settings.model_copy(
        update={"webhook_url": "https://platform.example/hook", "webhook_secret": SecretStr("s")}
    )
    _check_endpoints(hooked)
    assert capsys.readouterr().err == ""
    with database.session() as session:
        waiting = session.scalars(select(Action)).one()
        assert waiting.next_attempt_at <= utcnow()  # goes out now
