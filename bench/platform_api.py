"""Platform benchmarks: `/v1/check` throughput and p99, sweep time, remove -> first webhook.

    python bench/platform_api.py check   [--bank 1000000] [--registry 1000000] [--seconds 20]
    python bench/platform_api.py sweep   [--registry 10000000]
    python bench/platform_api.py media   [--n 40]
    python bench/platform_api.py latency [--runs 5]

Each prints a table and the ratio against its target (issue 6): >= 3,000 checks/s with
p99 <= 20 ms; a sweep <= 1 s; remove -> first webhook <= 1 s. Random PDQ hashes stand in for
real ones (the work per check does not depend on the image).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.servers import rescind_env, serve, stop  # noqa: E402

from rescind.config import Settings  # noqa: E402
from rescind.platform.apikeys import create_api_key  # noqa: E402
from rescind.platform.banks import NCII_BANK, ensure_default_banks, get_bank  # noqa: E402
from rescind.store import Database, upgrade_database  # noqa: E402
from rescind.store.columns import utcnow  # noqa: E402
from rescind.store.models import BankEntry, Content, ContentSignal  # noqa: E402

CHUNK = 50_000


def _hexes(rng: np.random.Generator, n: int) -> list[str]:
    raw = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    return [row.tobytes().hex() for row in raw]


def _database(tmp: Path) -> tuple[Settings, Database]:
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}"
    settings = Settings(environment="test", database_url=url, data_dir=tmp)
    upgrade_database(settings)
    return settings, Database(settings)


def fill_bank(db: Database, settings: Settings, n: int, rng: np.random.Generator) -> None:
    """`n` active PDQ entries in the ncii bank."""
    with db.session() as session:
        ensure_default_banks(session, settings)
        bank_id = get_bank(session, NCII_BANK).id
    now = utcnow()
    for start in range(0, n, CHUNK):
        rows = [
            {
                "bank_id": bank_id,
                "signal_type": "pdq",
                "value": h,
                "quality": 90,
                "source": "import",
                "status": "active",
                "created_at": now,
                "updated_at": now,
            }
            for h in _hexes(rng, min(CHUNK, n - start))
        ]
        with db.session() as session:
            session.execute(insert(BankEntry), rows)


def fill_registry(db: Database, n: int, rng: np.random.Generator) -> None:
    """`n` registered items with one PDQ hash each."""
    now = utcnow()
    for start in range(0, n, CHUNK):
        count = min(CHUNK, n - start)
        with db.session() as session:
            session.execute(
                insert(Content),
                [
                    {
                        "content_id": f"r{start + i}",
                        "url": None,
                        "kind": "image",
                        "state": "live",
                        "first_seen_at": now,
                        "last_seen_at": now,
                    }
                    for i in range(count)
                ],
            )
            first_pk = start + 1  # a fresh database numbers rows from 1
            session.execute(
                insert(ContentSignal),
                [
                    {"content_pk": first_pk + i, "signal_type": "pdq", "value": h, "quality": 90}
                    for i, h in enumerate(_hexes(rng, count))
                ],
            )


def _load(args: tuple[str, str, float, int, int]) -> list[float]:
    """One load process: `threads` closed-loop clients for `seconds`; returns latencies."""
    import threading

    base, key, seconds, threads, seed = args
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        mine: list[float] = []
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as http:
            i = 0
            while time.monotonic() < stop_at:
                body = {"content_id": f"L{seed}-{n}-{i}", "pdq": [f"{rng.getrandbits(256):064x}"]}
                t = time.perf_counter()
                response = http.post("/v1/check", json=body)
                mine.append(time.perf_counter() - t)
                assert response.status_code == 200, response.text
                i += 1
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return latencies


def bench_check(opts: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="rescind-bench-"))
    settings, db = _database(tmp)
    rng = np.random.default_rng(1)
    t = time.perf_counter()
    fill_bank(db, settings, opts.bank, rng)
    fill_registry(db, opts.registry, rng)
    with db.session() as session:
        _, key = create_api_key(session, "bench", frozenset({"check"}))
    print(
        f"filled bank {opts.bank:,} + registry {opts.registry:,} in {time.perf_counter() - t:.0f} s"
    )
    env = rescind_env(settings.sqlalchemy_url, tmp)
    proc, base = serve(env, tmp / "server.log", "--no-worker")
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:  # wait for the matcher to hold every entry
            metrics = httpx.get(f"{base}/metrics").text
            line = next(x for x in metrics.splitlines() if x.startswith("rescind_bank_entries "))
            if float(line.split()[1]) >= opts.bank:
                break
            time.sleep(1)
        _load((base, key, 2.0, 4, 99))  # warm up
        jobs = [(base, key, opts.seconds, opts.threads, p) for p in range(opts.procs)]
        t = time.perf_counter()
        with mp.get_context("spawn").Pool(opts.procs) as pool:
            latencies = sorted(x for part in pool.map(_load, jobs) for x in part)
        elapsed = time.perf_counter() - t
    finally:
        stop(proc)
        db.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
    rate = len(latencies) / elapsed
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    print("| bank entries | registry | clients | checks/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    print(
        f"| {opts.bank:,} | {opts.registry:,} | {opts.procs}x{opts.threads} | {rate:,.0f} "
        f"| {p50:.1f} | {p99:.1f} |"
    )
    print(
        f"ratio vs target: throughput {rate / 3000:.2f}x of 3,000/s; p99 {p99 / 20:.2f}x of 20 ms"
    )


def bench_sweep(opts: argparse.Namespace) -> None:
    from rescind.index import HammingIndex

    rng = np.random.default_rng(2)
    n = opts.registry
    codes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    index = HammingIndex()
    t = time.perf_counter()
    for start in range(0, n, 1_000_000):
        stop_ = min(n, start + 1_000_000)
        index.add(np.arange(start, stop_, dtype=np.int64), codes[start:stop_])
    index.compact()
    build = time.perf_counter() - t
    # A new bank entry = 8 orientations; plant 20 copies of orientation 0 in the registry.
    entry = rng.integers(0, 256, size=(8, 32), dtype=np.uint8)
    planted = []
    for k in range(20):
        copy = entry[0].copy()
        bits = rng.choice(256, size=int(rng.integers(0, 31)), replace=False)
        for b in bits:
            copy[b // 8] ^= 1 << (b % 8)
        planted.append(n + k)
        index.add([n + k], copy[None, :])
    index.search(entry, 31)  # first call compiles the kernels (numba): not part of a sweep
    times = []
    for _ in range(opts.runs):
        t = time.perf_counter()
        found = index.search(entry, 31)
        times.append(time.perf_counter() - t)
    hits = {i for row in found for i, _ in row}
    assert set(planted) <= hits
    print("| registry hashes | index build s | sweep (8 orientations, r=31) ms median | max ms |")
    print("|---|---|---|---|")
    print(
        f"| {n:,} | {build:.0f} | {statistics.median(times) * 1000:.1f} | {max(times) * 1000:.1f} |"
    )
    print(
        f"ratio vs target (1 s): {statistics.median(times):.4f}x; all {len(planted)} copies found"
    )
    db_sweep(opts.db_registry)


def db_sweep(n: int) -> None:
    """A full `enforce_removal` (bank, sweep, verify in the database, write actions)."""
    from tests.platform.helpers import make_request

    from rescind.platform.enforce import enforce_removal
    from rescind.platform.runtime import PlatformRuntime

    tmp = Path(tempfile.mkdtemp(prefix="rescind-bench-"))
    settings, db = _database(tmp)
    rng = np.random.default_rng(3)
    fill_registry(db, n, rng)
    with db.session() as session:
        ensure_default_banks(session, settings)
    runtime = PlatformRuntime(settings, db.engine)
    t = time.perf_counter()
    runtime.sync_all()
    with db.session() as session:
        runtime.registry.sync(session)
    load = time.perf_counter() - t
    times = []
    for k in range(5):
        target = f"{random.Random(k).getrandbits(256):064x}"
        with db.session() as session:
            session.add(Content(content_id=f"copy{k}", url=f"https://x/{k}"))
            session.flush()
            pk = session.query(Content.id).filter_by(content_id=f"copy{k}").scalar()
            session.add(ContentSignal(content_pk=pk, signal_type="pdq", value=target))
        with db.session() as session:
            request = make_request(session, f"RSC-BENCH-{k}", [{"pdq": [target]}])
            t = time.perf_counter()
            result = enforce_removal(session, settings, request, runtime=runtime)
            times.append(time.perf_counter() - t)
            assert [a.content_id for a in result.actions] == [f"copy{k}"]
    db.dispose()
    shutil.rmtree(tmp, ignore_errors=True)
    print("| registry rows (database) | index load s | enforce_removal ms median | max ms |")
    print("|---|---|---|---|")
    print(
        f"| {n:,} | {load:.0f} | {statistics.median(times) * 1000:.1f} | {max(times) * 1000:.1f} |"
    )


def bench_latency(opts: argparse.Namespace) -> None:
    from tests.platform.receiver import Receiver

    from rescind.client import RescindClient

    tmp = Path(tempfile.mkdtemp(prefix="rescind-bench-"))
    settings, db = _database(tmp)
    with db.session() as session:
        _, key = create_api_key(
            session, "bench", frozenset({"check", "requests:write", "requests:read", "review"})
        )
    receiver = Receiver("bench-secret")
    receiver.start()
    env = rescind_env(
        settings.sqlalchemy_url, tmp, webhook_url=receiver.url, webhook_secret="bench-secret"
    )
    proc, base = serve(env, tmp / "server.log")  # embedded worker, as `rescind serve` runs
    times = []
    try:
        with RescindClient(base, key) as client:
            for k in range(opts.runs):
                url = f"https://platform.example/{k}"
                client.check(f"c{k}", url=url, pdq=[f"{random.getrandbits(256):064x}"])
                case = client.create_request(
                    {
                        "requester": {"name": "A. Person", "email": "a@example.org"},
                        "signature": "A. Person",
                        "good_faith_statement": "Shared without my consent.",
                        "items": [{"url": url}],
                    }
                )["case_number"]
                receiver.arrived.clear()
                t = time.perf_counter()
                client.decide(case, "remove", "confirmed")
                assert receiver.arrived.wait(30)
                times.append(time.perf_counter() - t)
    finally:
        stop(proc)
        receiver.stop()
        db.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
    print("| runs | remove -> first webhook ms median | max ms |")
    print("|---|---|---|")
    print(f"| {len(times)} | {statistics.median(times) * 1000:.0f} | {max(times) * 1000:.0f} |")
    print(f"ratio vs target (1 s): {statistics.median(times):.2f}x")


def bench_media(opts: argparse.Namespace) -> None:
    """`/v1/check` with an uploaded 1080p JPEG (hashed server-side in 8 orientations)."""
    import io
    from concurrent.futures import ThreadPoolExecutor

    import skimage.data
    from PIL import Image

    tmp = Path(tempfile.mkdtemp(prefix="rescind-bench-"))
    settings, db = _database(tmp)
    with db.session() as session:
        _, key = create_api_key(session, "bench", frozenset({"check"}))
    photo = Image.fromarray(skimage.data.astronaut()).resize((1920, 1080), Image.BICUBIC)
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=90)
    data = out.getvalue()
    proc, base = serve(rescind_env(settings.sqlalchemy_url, tmp), tmp / "server.log", "--no-worker")
    rows = []
    try:
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as http:

            def one(i: int) -> float:
                t = time.perf_counter()
                response = http.post(
                    "/v1/check", data={"content_id": f"m{i}"}, files={"media": ("a.jpg", data)}
                )
                assert response.status_code == 200, response.text
                return time.perf_counter() - t

            one(-1)  # warm up
            for threads in (1, 2):
                t = time.perf_counter()
                with ThreadPoolExecutor(threads) as pool:
                    latencies = sorted(
                        pool.map(one, range(threads * 1000, threads * 1000 + opts.n))
                    )
                rate = opts.n / (time.perf_counter() - t)
                rows.append((threads, rate, latencies[len(latencies) // 2] * 1000))
    finally:
        stop(proc)
        db.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"| upload | clients | checks/s | p50 ms |  ({len(data):,} byte 1080p JPEG)")
    print("|---|---|---|---|")
    for threads, rate, p50 in rows:
        print(f"| 1080p JPEG | {threads} | {rate:.1f} | {p50:.0f} |")
    print(f"ratio vs target (>= 40/s per core, 80/s on 2 cores): {rows[-1][1] / 80:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    check = sub.add_parser("check")
    check.add_argument("--bank", type=int, default=1_000_000)
    check.add_argument("--registry", type=int, default=1_000_000)
    check.add_argument("--seconds", type=float, default=20)
    check.add_argument("--procs", type=int, default=2)
    check.add_argument("--threads", type=int, default=16)
    sweep = sub.add_parser("sweep")
    sweep.add_argument("--registry", type=int, default=10_000_000)
    sweep.add_argument("--db-registry", type=int, default=200_000)
    sweep.add_argument("--runs", type=int, default=20)
    media = sub.add_parser("media")
    media.add_argument("--n", type=int, default=40)
    latency = sub.add_parser("latency")
    latency.add_argument("--runs", type=int, default=5)
    opts = parser.parse_args()
    runs = {"check": bench_check, "sweep": bench_sweep, "media": bench_media}
    runs["latency"] = bench_latency
    runs[opts.what](opts)


if __name__ == "__main__":
    main()
