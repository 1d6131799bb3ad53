"""Compliance report over a million cases: how long `rescind report` takes to compute and render.

    python bench/report.py [--cases 1000000] [--db PATH] [--formats json csv html]

Generates the cases into a SQLite file (tests/reports/history.py: random fates, items, copies,
leads, confirmations; kept at --db and reused if it already holds them), then times the
figures (SQL aggregates) and each format's rendering, wall clock and this process's CPU time
(SQLite runs in-process), and prints a table with the ratio against the target of issue 23:
a report over 1M cases in under 10 s (figures + one format).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.reports.history import START, generate  # noqa: E402

from rescind.config import Settings  # noqa: E402
from rescind.reports.figures import _parallel_pays, compute  # noqa: E402
from rescind.reports.render import render  # noqa: E402
from rescind.store import Database  # noqa: E402
from rescind.store.db import upgrade_database  # noqa: E402
from rescind.store.models import Action, Request  # noqa: E402

TARGET_S = 10.0
DAYS = 90


def _database(path: Path, cases: int, upgrade: bool) -> tuple[Settings, Database, float]:
    settings = Settings(
        environment="dev", data_dir=path.parent / "data", database_url=f"sqlite:///{path}"
    )
    database = Database(settings)
    if upgrade:
        upgrade_database(settings)  # the schema, as `rescind db upgrade` makes it
    with database.session() as session:
        have = session.scalar(select(func.count()).select_from(Request)) or 0
    took = 0.0
    if have < cases:
        assert have == 0, f"{path} holds {have} cases; remove it or give --cases {have}"
        started = time.perf_counter()
        with database.session() as session:
            generate(session, cases, seed=23, days=DAYS)
        took = time.perf_counter() - started
    return settings, database, took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--formats", nargs="+", default=["json", "csv", "html"])
    parser.add_argument(
        "--no-upgrade",
        action="store_true",
        help="use an existing database's schema as it is (to time a report without a migration)",
    )
    parser.add_argument(
        "--threads",
        choices=["auto", "1", "2"],
        default="auto",
        help="count the figures on one connection, two at once, or as `compute` chooses",
    )
    args = parser.parse_args()
    parallel = {"auto": None, "1": False, "2": True}[args.threads]
    path = args.db or Path(tempfile.mkdtemp(prefix="rescind-bench-report-")) / "report.db"
    settings, database, generated_s = _database(path, args.cases, not args.no_upgrade)
    start, end = START, START + timedelta(days=DAYS)
    now = end + timedelta(hours=1)  # the report is run just after the period it covers
    with database.session() as session:
        actions = session.scalar(select(func.count()).select_from(Action))
    print(
        f"database: {path} ({path.stat().st_size / 1e6:.0f} MB), {args.cases} cases, "
        f"{actions} actions" + (f", generated in {generated_s:.0f} s" if generated_s else "")
    )
    print(f"machine: {os.cpu_count()} CPUs (shared with other engineers' runs)")
    load_before = os.getloadavg()[0]
    steps: list[tuple[str, float, float, str]] = []  # step, wall s, CPU s, note
    with database.session() as session:
        threads = args.threads
        if parallel is None:
            threads = "2" if _parallel_pays(session, start, end) else "1"
        started, cpu = time.perf_counter(), time.process_time()
        report = compute(session, settings, start, end, now=now, parallel=parallel)
        figures = (time.perf_counter() - started, time.process_time() - cpu)
    steps.append((f"figures (SQL, {threads} thread{'s' if threads == '2' else ''})", *figures, ""))
    for fmt in args.formats:
        started, cpu = time.perf_counter(), time.process_time()
        body = render(report, fmt, base_url=settings.public_base_url)
        took = (time.perf_counter() - started, time.process_time() - cpu)
        steps.append((f"render {fmt}", *took, f"{len(body) / 1e6:.1f} MB"))
        steps.append(
            (
                f"report {fmt} (figures + render)",
                *(a + b for a, b in zip(figures, took, strict=True)),
                "",
            )
        )
    load = f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    # CPU time is this process's (SQLite runs in-process, so its work is counted): on a shared
    # machine it is the steadier figure; wall clock is what a user waits on an idle one.
    print(f"{'step':<34}{'wall s':>9}{'CPU s':>9}{'target/wall':>13}{'target/CPU':>12}")
    for name, wall, cpu_s, note in steps:
        ratios = (
            f"{TARGET_S / wall:>12.2f}x{TARGET_S / cpu_s:>11.2f}x"
            if name.startswith("report")
            else ""
        )
        print(f"{name:<34}{wall:>9.2f}{cpu_s:>9.2f}{ratios}  {note}".rstrip())
    print(f"({load})")
    print(
        f"received {report.received}, valid {report.valid}, removed {report.removed}, "
        f"missed {len(report.missed)}"
    )
    reports = [s for s in steps if s[0].startswith("report")]
    wall = max(s[1] for s in reports)
    cpu_s = max(s[2] for s in reports)
    print(
        f"slowest report: {wall:.2f} s wall, {cpu_s:.2f} s CPU; target < {TARGET_S:.0f} s: "
        f"ratio {TARGET_S / wall:.2f}x (wall), {TARGET_S / cpu_s:.2f}x (CPU)"
    )
    database.dispose()


if __name__ == "__main__":
    main()
