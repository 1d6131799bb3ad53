"""Two versions of rescind.index side by side in one process, alternated on the same bank.

    python bench/index_pair.py --other ../base/src/rescind/index [--n 1000000] [--random]

On a shared machine separate benchmark runs differ by more than a layout change moves, so this
compares this checkout's index with another checkout's (``--other``: its ``rescind/index``
folder, copied to a temporary package ``otherindex``) in one process: the same bank
(``bench/index.py``'s clustered or random bank), the same 1,000 near-duplicate and 1,000
non-match queries, checked identical in both, then six rounds alternating which version goes
first, each timing every query (``search_one``, radius 31). Prints the median of the six p50s
per version and kind, CPU time per query of the calling thread, and a 2,000-query batch's CPU
time per query (three rounds, alternated).
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import index as bench  # bench/index.py, next to this file
from rescind import index as this_index

RADIUS = 31


def load_other(folder: Path, into: Path) -> Any:
    """Import another checkout's ``rescind/index`` as the package ``otherindex``."""
    target = into / "otherindex"
    shutil.copytree(folder, target, ignore=shutil.ignore_patterns("__pycache__"))
    for path in target.glob("*.py"):
        path.write_text(path.read_text().replace("rescind.index", "otherindex"))
    sys.path.insert(0, str(into))
    return importlib.import_module("otherindex")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--other", type=Path, required=True, help="another rescind/index folder")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--random", action="store_true", help="random bank (default clustered)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        other = load_other(args.other, Path(tmp))
        rng = np.random.default_rng(1 + args.n)
        n = args.n
        bank = bench.random_bank(rng, n) if args.random else bench.clustered_bank(rng, n, 0.15)
        ids = np.arange(n, dtype=np.int64)
        picks = rng.integers(0, n, 1000)
        kinds = {
            "near-duplicate": bench.flip_random_bits(rng, bank[picks], 5, 25),
            "non-match": bench.random_bank(rng, 1000),
        }
        indexes = {}
        for name, module in (("other", other), ("this", this_index)):
            module.warm_up()
            indexes[name] = module.HammingIndex()
            indexes[name].add(ids, bank)
            print(f"{name}: {indexes[name].nbytes / n:.1f} B/hash (arrays)")
        for queries in kinds.values():
            for q in queries:
                ours, theirs = (indexes[k].search_one(q, RADIUS) for k in ("this", "other"))
                assert ours == theirs
        print("results identical on all 2,000 queries")
        p50: dict[tuple[str, str], list[float]] = {}
        cpu: dict[tuple[str, str], list[float]] = {}
        for rnd in range(6):
            order = ("other", "this") if rnd % 2 == 0 else ("this", "other")
            for kind, queries in kinds.items():
                listed = list(queries)
                for name in order:
                    search = indexes[name].search_one
                    lat = []
                    c0 = time.thread_time()
                    for q in listed:
                        t = time.perf_counter()
                        search(q, RADIUS)
                        lat.append(time.perf_counter() - t)
                    cpu.setdefault((name, kind), []).append((time.thread_time() - c0) / 1e-6 / 1000)
                    p50.setdefault((name, kind), []).append(float(np.median(lat)) * 1e6)
        for kind in kinds:
            o, t = np.median(p50[("other", kind)]), np.median(p50[("this", kind)])
            oc, tc = np.median(cpu[("other", kind)]), np.median(cpu[("this", kind)])
            print(
                f"{kind}: p50 (median of 6) other {o:.1f} us, this {t:.1f} us ({t / o:.3f}x); "
                f"CPU per query other {oc:.1f}, this {tc:.1f} ({tc / oc:.3f}x)"
            )
        batch = np.concatenate(list(kinds.values()))
        for rnd in range(3):
            for name in ("other", "this") if rnd % 2 == 0 else ("this", "other"):
                c0 = time.thread_time()
                indexes[name].search(batch, RADIUS)
                per = (time.thread_time() - c0) / len(batch) * 1e6
                print(f"batch {name}: {per:.2f} CPU us per query")


if __name__ == "__main__":
    main()
