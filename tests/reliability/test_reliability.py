"""The short form of the reliability run (`make reliability` runs it for 10 minutes): under
load, servers and workers are killed with SIGKILL, PostgreSQL crashes and restarts, the webhook
receiver drops, and nothing acknowledged is lost."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.reliability.chaos import run

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

LOAD_S = 16.0


def test_nothing_acknowledged_is_lost_under_faults(tmp_path: Path) -> None:
    started = time.monotonic()
    figures = run(LOAD_S, fault_every_s=2.5, drain_timeout_s=90, root=tmp_path / "run")
    print(figures.table())
    assert figures.checks_ok > 50 and figures.requests_acked > 5
    assert figures.decisions_acked == figures.requests_acked
    assert sum(figures.faults.values()) >= 4 and len(figures.faults) == 4
    assert figures.missing_requests == 0
    assert figures.missing_actions == 0
    assert figures.actions >= figures.decisions_acked
    assert figures.undelivered_actions == 0
    assert figures.audit_ok and figures.audit_events > 0
    assert figures.bad_inputs_refused_4xx > 0 and figures.bad_inputs_5xx == 0, figures.server_errors
    assert all(mb <= figures.rss_bound_mb for mb in figures.max_rss_mb.values())
    assert not any(k.endswith("healthy") for k in figures.load_5xx), figures.load_5xx
    assert time.monotonic() - started < 120  # the budget is 60 s; this catches a hang
