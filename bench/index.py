"""Benchmark rescind.index.HammingIndex against python-threatexchange's PDQIndex (faiss).

    python bench/index.py [--n 1000000] [--n 10000000] [--clustered [--family-ids]] [--queries 1000]
                          [--skip-anchor] [--anchor-max 2000000] [--no-curve]

For each bank size it builds the same bank in both indexes, runs the same queries
(near-duplicates: a stored hash with 5-25 random bit flips; non-matches: random hashes),
checks that both return identical result sets at radius 31 (and, on a sample, that ours
equals a numpy brute force), and prints a table: build time, memory, p50/p99 latency per
query kind, batch queries/s on 1 and 2 threads (their ratio, and the CPU time per query,
which other processes on a shared machine disturb less than the wall time), the speed ratio
against the anchor, and one line checking this run's figures against the targets of issue 21
(p50 >= 100x the anchor, p99 <= 100 us, 2 threads >= 1.6x one). Radius 31, PDQ's usual.
The anchor runs at its best setting (faiss limited to one thread for single queries).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import psutil

from rescind.index import HammingIndex

RADIUS = 31
# the batch throughput's measure: best of ROUNDS rounds of BURST batches, 1 and 2 threads in turn
ROUNDS, BURST = 5, 10
U8 = npt.NDArray[np.uint8]


def cpu_model() -> str:
    """The CPU model name as lscpu reports it (falls back to platform.processor())."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def flip_random_bits(rng: np.random.Generator, codes: U8, lo: int, hi: int) -> U8:
    """Each row with a uniformly drawn number (lo..hi) of distinct random bits flipped."""
    n = codes.shape[0]
    want = rng.integers(lo, hi + 1, n)
    have = np.zeros(n, np.int64)
    mask = np.zeros((n, 32), np.uint8)
    rows = np.arange(n)
    for _ in range(4 * hi):  # draws with replacement; repeats are skipped
        pos = rng.integers(0, 256, n)
        byte, bit = pos >> 3, (1 << (pos & 7)).astype(np.uint8)
        take = ((mask[rows, byte] & bit) == 0) & (have < want)
        mask[rows[take], byte[take]] |= bit[take]
        have += take
    return codes ^ mask


def random_bank(rng: np.random.Generator, n: int) -> U8:
    """``n`` uniformly random hashes."""
    return rng.integers(0, 256, (n, 32), dtype=np.uint8)


def clustered_bank(rng: np.random.Generator, n: int, skew: float, family_ids: bool = False) -> U8:
    """Near-duplicate families like real PDQ banks: ~n/100 seeds, each with ~100 variants at
    5-30 bit flips (re-encodes, crops, watermarks of one image). Seed bits are biased: bit
    ``i`` is set with probability ``0.5 + N(0, skew)`` clipped to [0.02, 0.98], so chunk
    values are far from uniform and some buckets get large. Rows (ids) are in random family
    order, or with ``family_ids`` family by family (the same draws, rows sorted by family):
    as a bank whose entries of one picture get consecutive ids."""
    seeds_n = max(1, n // 100)
    bias = np.clip(0.5 + rng.normal(0, skew, 256), 0.02, 0.98)
    seeds = np.packbits(rng.random((seeds_n, 256)) < bias, axis=1, bitorder="little")
    out = np.empty((n, 32), np.uint8)
    families = np.empty(n, np.int64)
    step = 250_000
    for start in range(0, n, step):
        stop = min(n, start + step)
        family = rng.integers(0, seeds_n, stop - start)
        families[start:stop] = family
        out[start:stop] = flip_random_bits(rng, seeds[family], 5, 30)
    if family_ids:
        out = out[np.argsort(families, kind="stable")]
    return out


def brute_force(bank: U8, query: U8, radius: int) -> set[int]:
    """Row numbers within ``radius`` by numpy popcount over the whole bank."""
    words = bank.view(np.uint64)
    q = query.view(np.uint64)
    d = np.zeros(bank.shape[0], np.int64)
    for w in range(4):
        d += np.bitwise_count(words[:, w] ^ q[w])
    return set(np.flatnonzero(d <= radius).tolist())


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) in microseconds."""
    arr = np.array(samples) * 1e6
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 99))


def time_each(fn: Callable[[Any], object], queries: list[Any]) -> list[float]:
    """Wall time of ``fn(q)`` for every query."""
    out = []
    pc = time.perf_counter
    for q in queries:
        t = pc()
        fn(q)
        out.append(pc() - t)
    return out


def rss() -> int:
    """Resident set size of this process in bytes."""
    gc.collect()
    return int(psutil.Process().memory_info().rss)


class Anchor:
    """python-threatexchange's PDQIndex, the index HMA uses (faiss multi-index hashing)."""

    def __init__(self, hexes: list[str]) -> None:
        import faiss
        from threatexchange.signal_type.pdq.pdq_index import PDQIndex

        self.faiss = faiss
        self.index = PDQIndex(entries=[(h, i) for i, h in enumerate(hexes)])

    def query(self, hex_hash: str) -> set[int]:
        """Ids within radius 31 (the PDQIndex match threshold)."""
        return {m.metadata for m in self.index.query(hex_hash)}

    def batch(self, hexes: list[str]) -> None:
        """One faiss range search over a batch (the anchor's fastest bulk path)."""
        self.index.index.search_with_distance_in_result(hexes, RADIUS)


def run(n: int, args: argparse.Namespace) -> None:
    rng = np.random.default_rng(args.seed + n)
    kind = f"clustered, skew {args.skew}" if args.clustered else "random"
    if args.clustered and args.family_ids:
        kind += ", ids family by family"
    print(f"\n## {n:,} hashes ({kind} bank), radius {RADIUS}, {args.queries} queries per kind")
    t0 = time.perf_counter()
    bank = (
        clustered_bank(rng, n, args.skew, args.family_ids)
        if args.clustered
        else random_bank(rng, n)
    )
    print(f"bank generated in {time.perf_counter() - t0:.1f} s")
    ids = np.arange(n, dtype=np.int64)
    picks = rng.integers(0, n, args.queries)
    near = flip_random_bits(rng, bank[picks], 5, 25)
    far = random_bank(rng, args.queries)
    queries = {"near-duplicate": near, "non-match": far}

    rows: list[tuple[str, str, str]] = []
    before = rss()
    t0 = time.perf_counter()
    index = HammingIndex()
    index.add(ids, bank)
    build_s = time.perf_counter() - t0
    rss_delta = rss() - before
    rows.append(("build (s)", f"{build_s:.2f}", ""))
    rows.append(("memory: array bytes / hash", f"{index.nbytes / n:.1f}", ""))
    rows.append(("memory: RSS delta / hash", f"{rss_delta / n:.1f}", ""))

    ours_lat: dict[str, tuple[float, float]] = {}
    for name, qs in queries.items():
        listed = list(qs)
        index.search_one(listed[0], RADIUS)  # compiled already; warms caches like a server
        best = min(
            (
                percentiles(time_each(lambda q: index.search_one(q, RADIUS), listed))
                for _ in range(3)
            ),
            key=lambda t: t[0],
        )
        ours_lat[name] = best
    batch = np.concatenate([near, far])
    # 1 and 2 threads alternated, best of ROUNDS rounds of BURST back-to-back batches each: a
    # server's sustained throughput, and long enough (~0.1 s) that one scheduler hiccup does not
    # decide the figure (one batch is 5-15 ms; the form before timed single batches, best of 3,
    # and read 1.33-1.69x on one unchanged build). Wall time, and CPU time of the process (on a
    # shared machine another process's work shows in the wall time, and much less in this).
    walls: dict[int, list[float]] = {1: [], 2: []}
    cpus: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(ROUNDS):
        for workers in (1, 2):
            cpu = time.process_time()
            wall = _timed(
                lambda w=workers: [index.search(batch, RADIUS, workers=w) for _ in range(BURST)]
            )
            walls[workers].append(wall / BURST)
            cpus[workers].append((time.process_time() - cpu) / BURST)
    qps = {w: len(batch) / min(walls[w]) for w in walls}
    cpu_us = {w: 1e6 * min(cpus[w]) / len(batch) for w in cpus}

    # exactness: ours against a numpy brute force on a sample
    sample = min(len(near), args.brute_sample)
    for qs in (near[:sample], far[:sample]):
        for q in qs:
            ours = {i for i, _ in index.search_one(q, RADIUS)}
            assert ours == brute_force(bank, q, RADIUS), "mismatch with brute force"
    recall_note = f"identical to numpy brute force on {2 * sample} queries"

    anchor_lat: dict[str, tuple[float, float]] = {}
    anchor_default: dict[str, tuple[float, float]] = {}
    anchor_qps = None
    anchor_note = ""
    if args.skip_anchor:
        anchor_note = "anchor skipped (--skip-anchor)"
    elif n > args.anchor_max:
        anchor_note = (
            f"anchor skipped above {args.anchor_max:,} hashes (--anchor-max): PDQIndex needs "
            f"~1 KB/hash and a ~{14 * n / 1e6:.0f} s build here"
        )
    else:
        hexes = [bytes(row).hex() for row in bank]
        before = rss()
        t0 = time.perf_counter()
        anchor = Anchor(hexes)
        default_threads = anchor.faiss.omp_get_max_threads()
        anchor_build = time.perf_counter() - t0
        anchor_rss = rss() - before
        del hexes
        mismatches = 0
        for name, qs in queries.items():
            qhex = [bytes(q).hex() for q in qs]
            anchor.faiss.omp_set_num_threads(default_threads)
            anchor_default[name] = percentiles(time_each(anchor.query, qhex[:200]))
            anchor.faiss.omp_set_num_threads(1)  # its best setting for single queries
            anchor_lat[name] = percentiles(time_each(anchor.query, qhex))
            for q, h in zip(qs, qhex, strict=True):
                ours = {i for i, _ in index.search_one(q, RADIUS)}
                mismatches += ours != anchor.query(h)
        bhex = [bytes(q).hex() for q in batch]
        anchor.faiss.omp_set_num_threads(2)
        anchor_qps = len(batch) / _timed(lambda: anchor.batch(bhex))
        rows[0] = (rows[0][0], rows[0][1], f"{anchor_build:.2f}")
        rows[2] = (rows[2][0], rows[2][1], f"{anchor_rss / n:.1f}")
        anchor_note = (
            f"result sets identical to the anchor on all {2 * args.queries} queries"
            if mismatches == 0
            else f"{mismatches} queries differ from the anchor"
        )
        assert mismatches == 0, anchor_note

    for name in queries:
        p50, p99 = ours_lat[name]
        a = anchor_lat.get(name)
        rows.append((f"{name} p50 (us)", f"{p50:.1f}", f"{a[0]:.1f}" if a else ""))
        rows.append((f"{name} p99 (us)", f"{p99:.1f}", f"{a[1]:.1f}" if a else ""))
        if name in anchor_default:
            d50 = anchor_default[name][0]
            rows.append((f"{name} p50, anchor at faiss default threads (us)", "", f"{d50:.1f}"))
    rows.append(("batch queries/s, 1 thread", f"{qps[1]:,.0f}", ""))
    rows.append(
        ("batch queries/s, 2 threads", f"{qps[2]:,.0f}", f"{anchor_qps:,.0f}" if anchor_qps else "")
    )
    rows.append(("batch 2 threads / 1 thread", f"{qps[2] / qps[1]:.2f}x", ""))
    rows.append(("batch CPU us per query, 1 / 2 threads", f"{cpu_us[1]:.1f} / {cpu_us[2]:.1f}", ""))
    print(f"| {n:,} hashes | Rescind HammingIndex | threatexchange PDQIndex |")
    print("|---|---:|---:|")
    for label, ours_s, theirs in rows:
        print(f"| {label} | {ours_s} | {theirs} |")
    for name in queries:
        if name in anchor_lat:
            best = anchor_lat[name][0] / ours_lat[name][0]
            default = anchor_default[name][0] / ours_lat[name][0]
            print(
                f"speed-up p50 {name}: {best:.0f}x vs the anchor's best setting (1 faiss "
                f"thread), {default:.0f}x vs its default threading"
            )
    print(f"exactness: {recall_note}; {anchor_note}")
    # the targets of issue 21, from this run's figures
    worst_ratio = min((anchor_lat[k][0] / ours_lat[k][0] for k in anchor_lat), default=None)
    worst_p99 = max(p99 for _, p99 in ours_lat.values())
    scaling = qps[2] / qps[1]
    print(
        "targets: p50 >= 100x the anchor's best: "
        + (f"{worst_ratio:.0f}x (lowest kind)" if worst_ratio else "anchor not run")
        + f"; p99 <= 100 us: {worst_p99:.0f} us (highest kind); "
        f"2 threads >= 1.6x 1 thread: {scaling:.2f}x (load average {_load()})"
    )

    if args.curve:
        print(f"\nradius curve at {n:,} (p50 / p99 us, single queries):")
        print("| radius | near-duplicate p50 | p99 | non-match p50 | p99 |")
        print("|---:|---:|---:|---:|---:|")
        for r in (0, 4, 8, 16, 24, 31, 32, 40, 48, 56, 64):
            cells = []
            for qs in (near[:200], far[:200]):
                listed = list(qs)
                cells += percentiles(time_each(lambda q, r=r: index.search_one(q, r), listed))
            print(f"| {r} | " + " | ".join(f"{c:.0f}" for c in cells) + " |")


def _load() -> str:
    """The 1-minute load average (other processes on a shared machine)."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "unknown"


def _timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--n", type=int, action="append", help="bank size (repeatable)")
    parser.add_argument("--clustered", action="store_true", help="near-duplicate families")
    parser.add_argument(
        "--skew", type=float, default=0.15, help="spread of the bit biases of clustered seeds"
    )
    parser.add_argument(
        "--family-ids",
        action="store_true",
        help="with --clustered: ids family by family (default: families in random id order)",
    )
    parser.add_argument("--queries", type=int, default=1000, help="queries per kind")
    parser.add_argument("--skip-anchor", action="store_true", help="do not run PDQIndex")
    parser.add_argument("--anchor-max", type=int, default=2_000_000, help="largest anchor bank")
    parser.add_argument(
        "--brute-sample", type=int, default=50, help="queries checked by brute force"
    )
    parser.add_argument("--no-curve", dest="curve", action="store_false", help="skip radius curve")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; numpy {np.__version__}")
    warm = HammingIndex()
    warm.add(np.arange(5000), random_bank(np.random.default_rng(0), 5000))
    warm.search(random_bank(np.random.default_rng(1), 2), 31)  # JIT / cache load, not timed
    for n in args.n or [1_000_000]:
        run(n, args)


if __name__ == "__main__":
    main()
