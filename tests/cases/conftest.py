"""Fixtures for removal-request tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rescind.cases.enforcement import RemovalEnforcer
from rescind.config import Settings
from rescind.platform.runtime import PlatformRuntime
from rescind.store import Database
from tests.cases.support import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A local SMTP server that records messages."""
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def enforce(settings: Settings, database: Database) -> RemovalEnforcer:
    """What a "remove" decision does, with a runtime of its own (as `build_services` makes)."""
    return RemovalEnforcer(PlatformRuntime(settings, database.engine))
