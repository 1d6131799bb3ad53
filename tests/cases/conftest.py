"""Fixtures for removal-request tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
