"""Benchmark: N random PDQ entries imported into a bank and effective in matching, from the
start of the import to the first check that finds them; from a file, or pulled from a partner.

Anchor: HMA's target of under 10 minutes until a new hash takes effect; ours is 60 s for 1M.
Measured (file): the import (parse, validate, insert entries, links and change feed in one
transaction), then a matcher following the change feed from where it stood before the import
(what every server process does), then one check of a hash from the file.
Measured (`--feed`): instance A (`rescind serve`, its own database) holds the N entries in its
`ncii` bank; instance B pulls A's signed feed (`pull_partner`, the worker's pull: signed pages
over HTTP on loopback, each applied in its own transaction) while B's matcher follows the
change feed every `RESCIND_MATCHER_POLL_S` (as B's server does), until the matcher has caught
up after the last page. Before the pull, B's process freezes its heap out of the garbage
collector's sight, as B's server does after its first load (`--no-freeze`: not); the CPU the
puller's process spent in the cyclic garbage collector is printed, by generation.

Measured (`--withdrawal`): A serves N entries, B (`rescind serve`, its worker pulling A every
`--interval` seconds) has pulled them all; an entry is withdrawn on A through its route
(`DELETE /v1/banks/ncii/entries/ID`) and the time is taken until B's `/v1/check` of that hash
stops matching (polled every 0.1 s), `--withdrawals` times at random points of the pull cycle.
The goal: within two pull intervals.

Run: ``.venv/bin/python bench/exchange.py [--entries 1000000] [--db URL] [--feed [--db2 URL]]``
``.venv/bin/python bench/exchange.py --withdrawal --entries 100000 --interval 5``
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from rescind.config import Settings
from rescind.exchange.format import read_lines
from rescind.exchange.identity import load_identity
from rescind.exchange.partners import add_partner, get_partner, grant_banks
from rescind.exchange.pull import pull_partner
from rescind.exchange.transfer import apply_entries
from rescind.index import warm_up as index_warm_up
from rescind.platform.apikeys import create_api_key
from rescind.platform.banks import ensure_default_banks, get_bank
from rescind.platform.matcher import Matcher
from rescind.platform.signals import PdqHash, Signals
from rescind.store import Database, upgrade_database
from rescind.store.models import BankEntry

ANCHOR_S = 600.0  # HMA: a new hash takes effect within 10 minutes
TARGET_S = 60.0


def write_file(path: Path, n: int) -> list[str]:
    """`n` random entries; returns a few of their values to check afterwards."""
    probes = []
    with path.open("w") as out:
        for i in range(n):
            value = secrets.token_hex(32)
            if i % (n // 5 or 1) == 0:
                probes.append(value)
            out.write(
                json.dumps(
                    {
                        "v": 1,
                        "id": str(i),
                        "type": "pdq",
                        "value": value,
                        "quality": 90,
                        "t": None,
                        "group": None,
                        "opinion": "positive",
                        "status": "active",
                        "source": {"instance": "bench", "bank": "ncii", "case": None},
                        "created_at": None,
                        "updated_at": None,
                    },
                    separators=(",", ":"),
                )
                + "\n"
            )
    return probes


def _cpu() -> float:
    """CPU seconds of this process so far (the machine may be shared: wall time is not ours)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _Collections:
    """CPU time this process spends in the cyclic garbage collector, by generation
    (gc.callbacks; a collection runs in one thread, holding the GIL: that thread's CPU time)."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.thread_time()
        else:
            self.seconds[info["generation"]] += time.thread_time() - self._started
            self.count[info["generation"]] += 1

    def start(self) -> _Collections:
        gc.callbacks.append(self)
        return self

    def stop(self) -> None:
        if self in gc.callbacks:
            gc.callbacks.remove(self)

    def summary(self) -> str:
        pairs = zip(self.count, self.seconds, strict=True)
        parts = ", ".join(f"gen{g}: {n} in {s:.2f} s" for g, (n, s) in enumerate(pairs))
        return f"{sum(self.seconds):.2f} s CPU ({parts})"


def _tree_cpu(pid: int) -> float:
    """CPU seconds used so far by process `pid` and its living descendants (/proc, Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0.0)
        todo.extend(child for child, parent in parents.items() if parent == current)
    return total


def _settle(pid: int, timeout_s: float = 300.0) -> float:
    """Wait until process `pid` (a server just started, loading its matcher's index) is idle:
    a long-running source has done that long before a partner pulls. Returns its CPU seconds
    per second once settled (the embedded worker and the matcher polling)."""
    deadline = time.monotonic() + timeout_s
    while True:
        before = _tree_cpu(pid)
        time.sleep(2.0)
        rate = (_tree_cpu(pid) - before) / 2.0
        if rate < 0.1 or time.monotonic() > deadline:
            return rate


def _serve(settings: Settings, log: Path, **extra: str) -> tuple[subprocess.Popen[bytes], str]:
    """`rescind serve` for `settings`' database on a free port, once ready."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESCIND_")}
    env |= {
        "RESCIND_ENVIRONMENT": "test",
        "RESCIND_DATABASE_URL": str(settings.database_url),
        "RESCIND_DATA_DIR": str(settings.data_dir),
    }
    env |= {f"RESCIND_{k.upper()}": v for k, v in extra.items()}
    cli = "from rescind.cli import app; app()"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", cli, "serve", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600  # a shared machine can take minutes to load a million
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise RuntimeError(f"the source server did not start: {log.read_text()[-2000:]}")


def _partners(args: argparse.Namespace, tmp: Path) -> tuple[Settings, Settings, Database, Database]:
    """A (the source, `--db`) and B (the puller, `--db2`; private addresses allowed, for
    loopback), each with its schema: their settings and databases."""
    a_settings = Settings(
        environment="test", data_dir=tmp / "a", database_url=args.db or f"sqlite:///{tmp}/a.db"
    )
    b_settings = Settings(
        environment="test", data_dir=tmp / "b", exchange_allow_private=True,
        database_url=args.db2 or f"sqlite:///{tmp}/b.db",
    )  # fmt: skip
    for settings in (a_settings, b_settings):
        upgrade_database(settings)
    return a_settings, b_settings, Database(a_settings), Database(b_settings)


def feed(args: argparse.Namespace, tmp: Path) -> None:
    """N entries pulled from a partner's feed and effective."""
    a_settings, b_settings, a_db, b_db = _partners(args, tmp)
    path = tmp / "entries.jsonl"
    probes = write_file(path, args.entries)
    with a_db.session() as session, path.open() as lines:
        ensure_default_banks(session, a_settings)
        apply_entries(session, get_bank(session, "ncii"), read_lines(lines), source="import")
        _, key = create_api_key(session, "partner-b", frozenset({"exchange"}))
        grant_banks(session, "partner-b", ["ncii"])
    a_db.dispose()
    proc, url = _serve(a_settings, tmp / "a.log")
    idle = _settle(proc.pid)
    try:
        with b_db.session() as session:
            ensure_default_banks(session, b_settings)
            public = load_identity(a_settings).public_key
            partner = add_partner(session, b_settings, "a", url, api_key=key, public_key=public)
            partner_id = partner.id
        matcher = Matcher(b_settings)
        index_warm_up()  # a server compiles (or loads) its kernels before it is ready
        with b_db.session() as session:
            matcher.sync(session)  # B's running server, before the pull
        if not args.no_freeze:
            # As B's server does after its first load (platform/runtime.py, _settle_heap): what
            # is there already (its bank, compiled kernels, libraries) out of the collector's
            # sight, so a full collection during the pull walks only what came since.
            gc.collect()
            gc.freeze()
        stop = threading.Event()

        def follow() -> None:  # what B's server processes do meanwhile: follow the change feed
            while not stop.is_set():
                with b_db.session() as session:
                    matcher.sync(session)
                stop.wait(b_settings.matcher_poll_s)

        cpu, started, source_cpu = _cpu(), time.perf_counter(), _tree_cpu(proc.pid)
        follower = threading.Thread(target=follow)
        collections = _Collections().start()
        follower.start()
        applied, pages = 0, 0
        try:
            while True:
                result = pull_partner(b_db.engine, b_settings, partner_id)
                assert result.error is None, result.error
                applied, pages = applied + result.applied, pages + result.pages
                if result.applied == 0:
                    break
        finally:
            stop.set()
            follower.join()
        pulled = time.perf_counter() - started
        source_cpu = _tree_cpu(proc.pid) - source_cpu
        with b_db.session() as session:
            matcher.sync(session)  # the last page's changes
        effective = time.perf_counter() - started
        cpu = _cpu() - cpu
        collections.stop()
        found = sum(bool(matcher.match(Signals(pdq=(PdqHash(p, 90),)))) for p in probes)
    finally:
        proc.terminate()
        proc.wait(30)
        b_db.dispose()
    assert applied == args.entries and found == len(probes), (applied, found)
    kind = f"{(args.db or 'sqlite').split(':')[0]} -> {(args.db2 or 'sqlite').split(':')[0]}"
    print(f"| {args.entries:,} entries pulled from a partner ({kind}) | seconds |")
    print("|---|---|")
    print(
        f"| pull ({pages} signed pages over HTTP, each applied in one transaction) | {pulled:.1f} |"
    )
    print(f"| pull + matcher caught up (effective) | {effective:.1f} |")
    print(
        f"| CPU of the puller (pull + matcher; the source serves in its own process) | {cpu:.1f} |"
    )
    print(
        f"| CPU of the source (its `rescind serve` process, during the pull) | {source_cpu:.1f} |"
    )
    print(f"(the source's CPU when idle, before the pull: {idle:.2f} s a second)")
    print(f"cyclic garbage collector in the puller's process: {collections.summary()}")
    print(f"| target | {TARGET_S:.0f} |")
    print(f"| anchor: HMA's time to effect | {ANCHOR_S:.0f} |")
    print(f"ratio against the anchor: {ANCHOR_S / effective:.1f}x")
    print(f"probes found: {found}/{len(probes)}")
    print(f"load average after: {os.getloadavg()}")


def _verdict(url: str, key: str, value: str) -> str:
    answer = httpx.post(
        f"{url}/v1/check",
        json={"content_id": f"bench-{secrets.token_hex(6)}", "pdq": [value]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["verdict"])


def withdrawal(args: argparse.Namespace, tmp: Path) -> None:
    """Withdrawals on A, timed until B's check of the hash stops matching."""
    a_settings, b_settings, a_db, b_db = _partners(args, tmp)
    path = tmp / "entries.jsonl"
    write_file(path, args.entries)
    with a_db.session() as session, path.open() as lines:
        ensure_default_banks(session, a_settings)
        apply_entries(session, get_bank(session, "ncii"), read_lines(lines), source="import")
        _, key = create_api_key(session, "partner-b", frozenset({"exchange"}))
        _, staff = create_api_key(session, "a-staff", frozenset({"review"}))
        grant_banks(session, "partner-b", ["ncii"])
        picked = random.sample(range(1, args.entries + 1), args.withdrawals)
        targets = [(i, session.get(BankEntry, i).value) for i in picked]  # type: ignore[union-attr]
    a_db.dispose()
    interval = args.interval
    a_proc, a_url = _serve(a_settings, tmp / "a.log")
    b_proc = None
    try:
        with b_db.session() as session:
            ensure_default_banks(session, b_settings)
            public = load_identity(a_settings).public_key
            partner_id = add_partner(
                session, b_settings, "a", a_url, api_key=key, public_key=public
            ).id
            _, check = create_api_key(session, "b-uploads", frozenset({"check"}))
        while pull_partner(b_db.engine, b_settings, partner_id).applied:
            pass  # B holds the whole bank before its server starts
        b_proc, b_url = _serve(
            b_settings, tmp / "b.log", exchange_pull_s=str(interval), exchange_allow_private="true"
        )
        _settle(b_proc.pid)  # B's matcher has loaded the bank
        times = []
        for entry_id, value in targets:
            deadline = time.monotonic() + 120
            while _verdict(b_url, check, value) != "review":  # matches on B before
                assert time.monotonic() < deadline, "B never matched the entry"
                time.sleep(0.5)
            time.sleep(random.uniform(0, interval))  # a random point of B's pull cycle
            started = time.perf_counter()
            gone = httpx.delete(
                f"{a_url}/v1/banks/ncii/entries/{entry_id}",
                headers={"Authorization": f"Bearer {staff}"},
                timeout=30,
            )
            assert gone.status_code == 204, gone.text
            while _verdict(b_url, check, value) != "allow":
                if time.perf_counter() - started > 20 * interval:
                    raise AssertionError("the withdrawal did not reach B")
                time.sleep(0.1)
            times.append(time.perf_counter() - started)
            print(f"withdrawal {len(times)}: {times[-1]:.2f} s", file=sys.stderr)
        with b_db.session() as session:
            assert get_partner(session, "a").last_error is None
    finally:
        if b_proc is not None:
            b_proc.terminate()
            b_proc.wait(30)
        a_proc.terminate()
        a_proc.wait(30)
        b_db.dispose()
    kind = f"{(args.db or 'sqlite').split(':')[0]} -> {(args.db2 or 'sqlite').split(':')[0]}"
    limit = 2 * interval
    print(f"| withdrawal on A until B's check allows (bank of {args.entries:,}, {kind}) | s |")
    print("|---|---|")
    print(f"| B's pull interval (`RESCIND_EXCHANGE_PULL_S`) | {interval:g} |")
    print(f"| withdrawals timed | {len(times)} |")
    print(f"| median | {statistics.median(times):.2f} |")
    print(f"| max | {max(times):.2f} |")
    print(f"| target: two pull intervals | {limit:g} |")
    median = statistics.median(times)
    print(f"max / target: {max(times) / limit:.2f}; median / target: {median / limit:.2f}")
    print(f"load average after: {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--db", default=None, help="Database URL (default: a new SQLite file)")
    parser.add_argument("--feed", action="store_true", help="Pull from a partner's feed")
    parser.add_argument("--db2", default=None, help="The puller's database URL (--feed)")
    parser.add_argument(
        "--no-freeze",
        action="store_true",
        help="--feed: leave the puller's heap unfrozen before the pull (B's server freezes it)",
    )
    parser.add_argument("--withdrawal", action="store_true", help="Time withdrawals A -> B")
    parser.add_argument("--interval", type=float, default=5.0, help="B's pull interval (s)")
    parser.add_argument("--withdrawals", type=int, default=10, help="How many to time")
    args = parser.parse_args()
    if args.withdrawal:
        with tempfile.TemporaryDirectory() as tmp:
            withdrawal(args, Path(tmp))
        return
    if args.feed:
        with tempfile.TemporaryDirectory() as tmp:
            feed(args, Path(tmp))
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{tmp}/bench.db"
        settings = Settings(environment="test", data_dir=Path(tmp), database_url=url)
        upgrade_database(settings)
        db = Database(settings)
        with db.session() as session:
            ensure_default_banks(session, settings)
        matcher = Matcher(settings)
        index_warm_up()  # a server compiles (or loads) its kernels before it is ready
        with db.session() as session:
            matcher.sync(session)  # a running server, before the import
        path = Path(tmp) / "entries.jsonl"
        started = time.perf_counter()
        probes = write_file(path, args.entries)
        written = time.perf_counter() - started

        cpu, started = _cpu(), time.perf_counter()
        with db.session() as session, path.open() as lines:
            report = apply_entries(
                session, get_bank(session, "ncii"), read_lines(lines), source="import"
            )
        imported = time.perf_counter() - started
        with db.session() as session:
            matcher.sync(session)
        effective = time.perf_counter() - started
        cpu = _cpu() - cpu
        found = sum(bool(matcher.match(Signals(pdq=(PdqHash(p, 90),)))) for p in probes)
        db.dispose()
    assert report.added == args.entries and found == len(probes), (report, found)
    print(f"| {args.entries:,} entries ({url.split(':')[0]}) | seconds |")
    print("|---|---|")
    print(f"| write the file (not timed) | {written:.1f} |")
    print(f"| import (parse, validate, insert, change feed) | {imported:.1f} |")
    print(f"| import + matcher caught up (effective) | {effective:.1f} |")
    print(f"| CPU of the import + matcher | {cpu:.1f} |")
    print(f"| target | {TARGET_S:.0f} |")
    print(f"| anchor: HMA's time to effect | {ANCHOR_S:.0f} |")
    print(f"ratio against the anchor: {ANCHOR_S / effective:.1f}x")
    print(f"probes found: {found}/{len(probes)}")


if __name__ == "__main__":
    main()
