"""Benchmark: what migrations 0020 and 0021 cost on a large registry, on SQLite and PostgreSQL.

A database is migrated to 0019 (`rescind.store.upgrade_database`, what `rescind db upgrade`
runs), then `content_signals` is filled in bulk with `--rows` rows shaped as `/v1/check`
registers them: per picture 37 PDQ views (a few of them turned, `pdq_dihedral`) with their
view names, an MD5 and a SHA-256; every tenth item a video of 60 frames (`video_pdq` with
their times), an MD5 and a SHA-256; their `contents` parent rows too. Then, each in a child
process (so its CPU time is its own):

- upgrade 0019 -> 0021 (`upgrade_database`: two ALTER TABLE ADD COLUMN with an inline CHECK,
  in one transaction);
- downgrade 0021 -> 0019 (`alembic downgrade 0019` with the project's Alembic config: on
  SQLite each migration's batch mode copies the table, on PostgreSQL a DROP COLUMN each).

Wall and CPU time are printed for each; CPU of the child process (on SQLite that is all of
the work) and, on PostgreSQL, of the server backend that ran it (the postmaster's reaped
children). Meanwhile a probe on its own connection runs, every 20 ms, the registry index's
read (`SELECT id, signal_type, value FROM content_signals WHERE id > ? ...`, what every
server process polls to follow the registry) and a registry write (an INSERT, rolled back):
the longest each waited is printed, which is how long the migration blocked them.

PostgreSQL: a throwaway PostgreSQL 15 cluster (tests/pg.py) with its durable defaults (fsync
on), autovacuum off after the fill (a VACUUM ANALYZE done) so it does not run in between.
SQLite: a file in a temporary directory on the machine's disk. Everything is removed at the end.

Run: ``.venv/bin/python bench/migrations.py [--rows 1000000] [--backend sqlite|postgres|both]
[--repeat 1]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.pg import PostgresCluster  # noqa: E402

from rescind.config import Settings  # noqa: E402
from rescind.store import upgrade_database  # noqa: E402
from rescind.store.db import alembic_config  # noqa: E402

FROM, TO = "0019", "0021"
PROBE_EVERY_S = 0.02
SETTLE_S = 5.0  # after the fill, before the first step
PICTURE_VIEWS = [
    "full",
    "trimmed",
    *(f"crop_c{p}" for p in (98, 96, 94, 92, 90, 88, 86, 84, 82, 80)),
    *(f"half_{s}" for s in ("t", "b", "l", "r")),
    *(f"quarter_{s}" for s in ("tl", "tr", "bl", "br")),
    *(f"trimmed/crop_c{p}" for p in (96, 92, 88, 84)),
    *(f"crop_c{p}/flip_h" for p in (96, 92)),
]
TURNED_VIEWS = ["full/rot90", "full/rot180", "full/rot270", "full/flip_h", "full/flip_v"]
VIDEO_FRAMES = 60
CONTENT_COLUMNS = "id, content_id, url, kind, state, first_seen_at, last_seen_at"
SIGNAL_COLUMNS = "content_pk, signal_type, value, quality, t, variant"
WHEN = "2026-06-01 12:00:00.000000"

Row = tuple[int, str, str, int | None, float | None, str | None]


def _hex(nbytes: int) -> str:
    return secrets.token_bytes(nbytes).hex()


def registry_rows(n: int) -> tuple[list[tuple[object, ...]], Iterator[Row]]:
    """The `contents` rows and a generator of exactly `n` `content_signals` rows."""
    per_item: list[int] = []
    total = 0
    while total < n:
        size = 2 + (VIDEO_FRAMES if len(per_item) % 10 == 9 else len(PICTURE_VIEWS) + 5)
        per_item.append(min(size, n - total))
        total += per_item[-1]
    contents: list[tuple[object, ...]] = [
        (
            pk,
            f"item-{pk:08d}",
            f"https://platform.example/p/{pk}",
            "video" if pk % 10 == 0 else "image",
            "live",
            WHEN,
            WHEN,
        )
        for pk in range(1, len(per_item) + 1)
    ]

    def rows() -> Iterator[Row]:
        for pk, size in enumerate(per_item, start=1):
            item: list[Row] = [(pk, "md5", _hex(16), None, None, None)]
            item.append((pk, "sha256", _hex(32), None, None, None))
            if pk % 10 == 0:
                item += [(pk, "video_pdq", _hex(32), 80, i * 1.0, None) for i in range(60)]
            else:
                item += [(pk, "pdq", _hex(32), 90, None, v) for v in PICTURE_VIEWS]
                item += [(pk, "pdq_dihedral", _hex(32), 90, None, v) for v in TURNED_VIEWS]
            yield from item[:size]

    return contents, rows()


def fill_sqlite(path: Path, n: int) -> None:
    contents, rows = registry_rows(n)
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            f"INSERT INTO contents ({CONTENT_COLUMNS}) VALUES (?,?,?,?,?,?,?)", contents
        )
        conn.executemany(
            f"INSERT INTO content_signals ({SIGNAL_COLUMNS}) VALUES (?,?,?,?,?,?)", rows
        )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _pg_connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))


def fill_postgres(url: str, n: int) -> None:
    contents, rows = registry_rows(n)
    with _pg_connect(url) as conn:
        with conn.cursor() as cur:
            with cur.copy(f"COPY contents ({CONTENT_COLUMNS}) FROM STDIN") as copy:
                for content in contents:
                    copy.write_row(content)
            with cur.copy(f"COPY content_signals ({SIGNAL_COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute(
                "SELECT setval(pg_get_serial_sequence('contents', 'id'), %s)", [len(contents)]
            )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        conn.execute("ALTER SYSTEM SET autovacuum = off")
        conn.execute("SELECT pg_reload_conf()")
        conn.execute("CHECKPOINT")


STALL_S = 0.05  # a probe slower than this waited on the migration (idle: a few ms)


@dataclass
class Probe:
    """Runs `step` every PROBE_EVERY_S on its own thread; keeps the longest it took and the
    total of the runs slower than STALL_S."""

    name: str
    step: Callable[[], None]
    longest: float = 0.0
    stalled: float = 0.0
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            t = time.perf_counter()
            try:
                self.step()
            except Exception as exc:  # reported, as a server would see it
                self.errors.append(type(exc).__name__ + ": " + str(exc).splitlines()[0])
            took = time.perf_counter() - t
            self.longest = max(self.longest, took)
            self.stalled += took if took > STALL_S else 0.0
            self._stop.wait(PROBE_EVERY_S)

    def __enter__(self) -> Probe:
        self.longest, self.stalled, self.errors = 0.0, 0.0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()


READ = "SELECT id, signal_type, value FROM content_signals WHERE id > {m} ORDER BY id LIMIT 1000"
WRITE = (
    "INSERT INTO content_signals (content_pk, signal_type, value, quality) "
    "VALUES (1, 'pdq', '{h}', 90)"
)


def sqlite_probes(path: Path) -> list[Probe]:
    # The server's settings (WAL, busy timeout) but a long timeout: the probe measures the wait.
    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(path, timeout=3600, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    reader, writer = connect(), connect()
    high = reader.execute("SELECT max(id) FROM content_signals").fetchone()[0]

    def read() -> None:
        reader.execute(READ.format(m=high)).fetchall()

    def write() -> None:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(WRITE.format(h="0" * 64))
        writer.execute("ROLLBACK")

    return [Probe("registry read", read), Probe("registry write", write)]


def postgres_probes(url: str) -> list[Probe]:
    reader, writer = _pg_connect(url), _pg_connect(url)
    reader.autocommit = True
    high = reader.execute("SELECT max(id) FROM content_signals").fetchone()[0]

    def read() -> None:
        reader.execute(READ.format(m=high)).fetchall()

    def write() -> None:
        writer.execute(WRITE.format(h="0" * 64))
        writer.rollback()

    return [Probe("registry read", read), Probe("registry write", write)]


def postmaster_children_cpu(cluster: PostgresCluster) -> float:
    """CPU seconds of the postmaster's exited children (a backend's, once it disconnected)."""
    pid = (cluster.data / "postmaster.pid").read_text().split()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def child(step: str, url: str) -> None:
    """Run one step in this process and print its wall and CPU seconds as JSON."""
    settings = Settings(environment="test", database_url=url)
    before = resource.getrusage(resource.RUSAGE_SELF)
    t = time.perf_counter()
    if step == "upgrade":
        upgrade_database(settings, TO)
    else:
        from alembic import command

        command.downgrade(alembic_config(settings.sqlalchemy_url), FROM)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    print(json.dumps({"wall": wall, "cpu": cpu}))


def run_step(step: str, url: str, probes: list[Probe]) -> dict[str, Any]:
    load = os.getloadavg()[0]
    with probes[0], probes[1]:
        time.sleep(0.5)  # the probes' own time before the migration starts
        quiet = max(p.longest for p in probes)
        out = subprocess.run(
            [sys.executable, __file__, "--child", step, "--url", url],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
        time.sleep(0.5)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(step=step, load=load, quiet=quiet)
    result["blocked"] = {p.name: (p.longest, p.stalled) for p in probes}
    result["errors"] = sorted({e for p in probes for e in p.errors})
    return result


def bench_sqlite(rows: int, repeat: int, tmp: Path) -> list[dict[str, Any]]:
    path = tmp / "bench.db"
    url = f"sqlite:///{path}"
    upgrade_database(Settings(environment="test", database_url=url), FROM)
    t = time.perf_counter()
    fill_sqlite(path, rows)
    print(f"sqlite: filled {rows:,} rows in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    probes = sqlite_probes(path)
    time.sleep(SETTLE_S)
    results = []
    for step in ("upgrade", "downgrade") * repeat:
        results.append(run_step(step, url, probes))
        results[-1]["size_mb"] = path.stat().st_size / 1e6
    return results


def bench_postgres(rows: int, repeat: int) -> list[dict[str, Any]]:
    cluster = PostgresCluster(durable=True)
    cluster.start()
    try:
        url = cluster.url()
        upgrade_database(Settings(environment="test", database_url=url), FROM)
        t = time.perf_counter()
        fill_postgres(url, rows)
        print(f"postgres: filled {rows:,} rows in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        probes = postgres_probes(url)
        with _pg_connect(url) as conn:
            size = conn.execute("SELECT pg_total_relation_size('content_signals')").fetchone()[0]
        time.sleep(SETTLE_S)
        results = []
        for step in ("upgrade", "downgrade") * repeat:
            server = postmaster_children_cpu(cluster)
            result = run_step(step, url, probes)
            time.sleep(0.2)
            result["server_cpu"] = postmaster_children_cpu(cluster) - server
            result["size_mb"] = size / 1e6
            results.append(result)
        return results
    finally:
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="content_signals rows")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=1, help="upgrade/downgrade pairs")
    parser.add_argument("--child", choices=("upgrade", "downgrade"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.child:
        child(opts.child, opts.url)
        return
    results: list[tuple[str, dict[str, Any]]] = []
    if opts.backend in ("sqlite", "both"):
        tmp = Path(tempfile.mkdtemp(prefix="rescind-bench-mig-"))
        try:
            results += [("sqlite", r) for r in bench_sqlite(opts.rows, opts.repeat, tmp)]
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if opts.backend in ("postgres", "both"):
        results += [("postgres 15", r) for r in bench_postgres(opts.rows, opts.repeat)]
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"\ncontent_signals: {opts.rows:,} rows ({when}, {os.cpu_count()} CPUs)")
    print("blocked: longest wait / total of waits over 50 ms of the probe on its own connection")
    print(
        f"{'backend':<12} {'step':<23} {'wall s':>6} {'cpu s':>6} {'server cpu s':>12} "
        f"{'read blocked s':>14} {'write blocked s':>15} {'idle probe s':>12} {'load':>5} "
        f"{'MB':>4}"
    )
    for backend, r in results:
        name = f"{FROM} -> {TO}" if r["step"] == "upgrade" else f"{TO} -> {FROM}"
        server = f"{r['server_cpu']:.2f}" if "server_cpu" in r else "-"
        read, write = (r["blocked"][k] for k in ("registry read", "registry write"))
        print(
            f"{backend:<12} {r['step'] + ' ' + name:<23} {r['wall']:>6.2f} {r['cpu']:>6.2f} "
            f"{server:>12} {f'{read[0]:.2f} / {read[1]:.2f}':>14} "
            f"{f'{write[0]:.2f} / {write[1]:.2f}':>15} {r['quiet']:>12.3f} {r['load']:>5.2f} "
            f"{r['size_mb']:>4.0f}"
        )
        for error in r["errors"]:
            print(f"  probe error: {error}")


if __name__ == "__main__":
    main()
