"""A large report is counted on two connections at once (`figures.compute`'s parallel path):
both must read one snapshot, so that a report computed while cases are being added equals the
report of the database as it stood before some commit, never a mix of two states."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from rescind.config import Settings
from rescind.reports import figures
from rescind.security import audit
from rescind.store import Database
from tests.reports.history import START, generate

NOW = START + timedelta(days=40)
PERIOD = (START + timedelta(days=1), START + timedelta(days=18))


def _report(database: Database, settings: Settings, *, parallel: bool) -> figures.Report:
    with database.session() as session:
        return figures.compute(session, settings, *PERIOD, now=NOW, parallel=parallel)


def test_the_two_connections_count_what_one_counts(settings: Settings, database: Database) -> None:
    with database.session() as session:
        generate(session, 500, seed=11, days=20)
        audit.record(session, "system", "test.marker")
    one = _report(database, settings, parallel=False)
    two = _report(database, settings, parallel=True)
    assert one.received > 300 and one.missed and one.clocks[0].items.count > 0
    assert one.appeals > 0 and one.chain_head_id is not None
    assert two == one


def test_a_report_computed_during_commits_is_one_snapshot(
    settings: Settings, database: Database
) -> None:
    with database.session() as session:
        generate(session, 300, seed=5, days=20)
        audit.record(session, "system", "test.marker")
    states = [_report(database, settings, parallel=False)]  # one report per committed state
    failures: list[BaseException] = []
    steps = 8

    def write() -> None:
        try:
            for step in range(steps):
                with database.session() as session:
                    # One commit: the audit event (a new chain head) and 40 cases with their
                    # decisions, items, actions and appeals.
                    audit.record(session, "system", "test.more_cases", detail={"step": step})
                    generate(session, 40, seed=100 + step, days=20, first=10_000 + 40 * step)
                # Nothing else writes: this report is the state just committed.
                states.append(_report(database, settings, parallel=False))
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    seen: list[figures.Report] = []
    while writer.is_alive():
        seen.append(_report(database, settings, parallel=True))
    writer.join()
    assert not failures, failures
    seen.append(_report(database, settings, parallel=True))
    assert len(states) == steps + 1
    assert len({s.received for s in states}) == steps + 1  # every step added cases
    for report in seen:
        assert report in states, (report.received, report.chain_head_id)
    assert seen[-1] == states[-1]


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # PostgreSQL's export takes no lock
def test_a_lock_held_past_the_busy_timeout_is_said_so_on_sqlite(
    settings: Settings, database: Database
) -> None:
    """SQLite: starting two readers on one snapshot takes the write lock for a moment; a
    writer holding it past the busy timeout (10 s) is reported, not waited on forever (and
    `compute`, choosing by itself, then counts on one connection, which needs no lock)."""
    with database.session() as session:
        generate(session, 50, seed=3, days=20)
    with database.engine.connect() as writer:
        writer.exec_driver_sql("BEGIN IMMEDIATE")
        with pytest.raises(figures.SnapshotUnavailable):
            _report(database, settings, parallel=True)
        one = _report(database, settings, parallel=False)  # readers need no lock in WAL
        writer.rollback()
    assert one == _report(database, settings, parallel=True)
