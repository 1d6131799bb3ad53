"""Platform fixtures: a runtime over the test database, as a server process holds one."""

from __future__ import annotations

import pytest

from rescind.config import Settings
from rescind.platform.banks import ensure_default_banks
from rescind.platform.runtime import PlatformRuntime
from rescind.store import Database


@pytest.fixture
def runtime(settings: Settings, database: Database) -> PlatformRuntime:
    """A runtime (matcher, registry, writer) over `database` with the default banks made and
    synced: nothing banked, nothing registered yet."""
    runtime = PlatformRuntime(settings, database.engine)
    with database.session() as session:
        ensure_default_banks(session, settings)
    runtime.sync_all()
    return runtime
