"""Robustness benchmark: does matching find copies of a banked picture, and only those?

In the manner of Thorn's ``perception`` benchmark: packaged natural photos, a set of copy
transforms, and per hashing strategy two figures: recall of copies against their original, and
false matches between distinct pictures (every pair of distinct photos and their copies, plus
generated distractors). Plain PDQ (original orientation, threshold 31) is the anchor row.

    .venv/bin/python bench/robustness.py [--distractors N] [--photos N] [--seed N]

``--seed`` shifts the per-photo jitter of the transforms and the distractors: a held-out run
for parameters chosen on the default one.

Single process; writes only to a temporary directory (the ``perception`` wheel, results.json).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).parent))

from rescind.media.robust import (
    DEFAULT_THRESHOLD,
    MIN_QUALITY,
    WEAK,
    WEAK_VIEW_THRESHOLD,
    Signal,
    bank_signals,
    hamming_matrix,
    match,
    pair_limits,
    query_signals,
    signals_array,
    view_kinds,
)
from robustness_media import (
    TRANSFORMS,
    distractors,
    load_perception_photos,
    load_skimage_photos,
)

Keep = Callable[[str], bool]


@dataclass(frozen=True)
class Strategy:
    """Which stored and which query signals a strategy uses (by variant name).

    Weak extra views (quality < 50, see ``rescind.media.robust``) only with ``weak_views``.
    """

    name: str
    bank: Keep
    query: Keep
    weak_views: bool = False


def _base(variant: str) -> str:
    return variant.split("/")[0]


STRATEGIES = (
    Strategy("plain PDQ (anchor)", lambda v: v == "full", lambda v: v == "full"),
    Strategy("PDQ, 8 orientations", lambda v: v == "full", lambda v: _base(v) == "full"),
    Strategy(
        "+ trim flat borders",
        lambda v: v in ("full", "trimmed", "trimmed_jpeg"),
        lambda v: _base(v) in ("full", "trimmed", "trimmed_jpeg"),
    ),
    Strategy(
        "+ bank crops/tilts",
        lambda v: True,
        lambda v: _base(v) in ("full", "trimmed", "trimmed_jpeg"),
    ),
    Strategy("+ query centre crops", lambda v: True, lambda v: True),
    Strategy("+ weak views (review only)", lambda v: True, lambda v: True, weak_views=True),
)


@dataclass
class Corpus:
    """Signals of every bank entry and every query, flattened for vectorised distances."""

    hashes: NDArray[np.uint8]
    owner: NDArray[np.int64]  # entry or query index of each signal
    strong: NDArray[np.bool_]
    kinds: NDArray[np.uint8]  # view_kinds(): weak, turned, cut
    variants: list[str]
    signals: list[list[Signal]]

    @classmethod
    def build(cls, per_item: list[list[Signal]]) -> Corpus:
        flat = [s for sigs in per_item for s in sigs]
        owner = np.repeat(np.arange(len(per_item)), [len(s) for s in per_item])
        return cls(
            hashes=signals_array(flat),
            owner=owner,
            strong=np.array([s.quality >= MIN_QUALITY for s in flat]),
            kinds=view_kinds(flat),
            variants=[s.variant for s in flat],
            signals=per_item,
        )

    def select(self, keep: Keep, weak_views: bool) -> NDArray[np.int64]:
        kept = np.array([keep(v) for v in self.variants], bool)
        return np.flatnonzero(kept & (weak_views | ((self.kinds & WEAK) == 0)))


def best_distances(
    queries: Corpus, bank: Corpus, strategy: Strategy
) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """Per (query, entry): best distance over the strategy's signal pairs, and over strong pairs."""
    qi = queries.select(strategy.query, strategy.weak_views)
    bi = bank.select(strategy.bank, strategy.weak_views)
    q_owner, b_owner = queries.owner[qi], bank.owner[bi]
    q_starts = np.flatnonzero(np.r_[True, q_owner[1:] != q_owner[:-1]])
    b_starts = np.flatnonzero(np.r_[True, b_owner[1:] != b_owner[:-1]])
    n_q, n_b = len(queries.signals), len(bank.signals)
    if len(q_starts) != n_q or len(b_starts) != n_b:
        raise RuntimeError("every query and entry needs at least one signal per strategy")
    best = np.empty((n_q, n_b), np.int32)
    best_strong = np.empty((n_q, n_b), np.int32)
    b_hashes, b_strong, b_kinds = bank.hashes[bi], bank.strong[bi], bank.kinds[bi]
    chunk = 256  # queries per block: bounds memory at a few tens of MB
    for first in range(0, n_q, chunk):
        lo = q_starts[first]
        hi = q_starts[first + chunk] if first + chunk < n_q else len(qi)
        rows = qi[lo:hi]
        dist = hamming_matrix(queries.hashes[rows], b_hashes)
        dist = np.where(dist <= pair_limits(queries.kinds[rows], b_kinds), dist, 999)
        strong = np.where(queries.strong[rows, None] & b_strong[None, :], dist, 999)
        starts = q_starts[first : first + chunk] - lo
        for out, d in ((best, dist), (best_strong, strong)):
            per_entry = np.minimum.reduceat(d, b_starts, axis=1)
            out[first : first + len(starts)] = np.minimum.reduceat(per_entry, starts, axis=0)
    return best, best_strong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distractors", type=int, default=300)
    parser.add_argument("--photos", type=int, default=0, help="use only the first N photos")
    parser.add_argument("--only", default="", help="transforms whose name contains this")
    parser.add_argument("--seed", type=int, default=0, help="shift jitter and distractors")
    args = parser.parse_args()
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="rescind-robustness-"))
    photos = load_skimage_photos()
    perception, note = load_perception_photos(tmp)
    photos.update(perception)
    names = sorted(photos)[: args.photos or None]
    images = [photos[n] for n in names]
    extra = distractors(images, args.distractors, seed=7 + args.seed)
    transforms = {k: v for k, v in TRANSFORMS.items() if args.only in k}
    print(
        f"photos: {len(names)} ({sum(n.startswith('skimage') for n in names)} skimage, "
        f"{sum(n.startswith('perception') for n in names)} perception: {note})"
    )
    print(f"distractors: {len(extra)} generated; transforms: {len(transforms)}; seed {args.seed}")

    # Bank: every photo and every distractor. Queries: every copy, photo and distractor.
    t0 = time.perf_counter()
    bank_items = [bank_signals(im, weak_views=True) for im in images + extra]
    t_bank = (time.perf_counter() - t0) / len(bank_items)
    copies: list[tuple[int, str]] = []  # (source photo, transform)
    query_items: list[list[Signal]] = []
    t0 = time.perf_counter()
    for i, im in enumerate(images):
        for tname, transform in transforms.items():
            query_items.append(query_signals(transform(im, i + args.seed), weak_views=True))
            copies.append((i, tname))
    for im in images + extra:
        query_items.append(query_signals(im, weak_views=True))
    t_query = (time.perf_counter() - t0) / len(query_items)
    bank, queries = Corpus.build(bank_items), Corpus.build(query_items)

    # The entry each query is a copy of (-1: none); a query never counts against itself.
    source = np.array([i for i, _ in copies] + list(range(len(images) + len(extra))))
    n_copy = len(copies)
    same = source[:, None] == np.arange(len(bank_items))[None, :]
    threshold = DEFAULT_THRESHOLD
    results: dict[str, dict[str, object]] = {}
    print(
        f"\nthreshold {threshold} ({WEAK_VIEW_THRESHOLD} for weak extra views), blockable = a "
        f"matching pair with both qualities >= {MIN_QUALITY}; {n_copy} copies, "
        f"{int((~same).sum())} distinct (query, entry) pairs"
    )
    header = (
        f"{'strategy':30} {'bank/entry':>10} {'query/check':>11} {'recall':>7} "
        f"{'blockable':>9} {'false':>6} {'false blk':>9}"
    )
    print(header)
    chosen = None
    for strategy in STRATEGIES:
        best, best_strong = best_distances(queries, bank, strategy)
        found = best[np.arange(n_copy), source[:n_copy]] <= threshold
        found_strong = best_strong[np.arange(n_copy), source[:n_copy]] <= threshold
        false_any = int(((best <= threshold) & ~same).sum())
        false_block = int(((best_strong <= threshold) & ~same).sum())
        n_bank = len(bank.select(strategy.bank, strategy.weak_views)) / len(bank_items)
        n_query = len(queries.select(strategy.query, strategy.weak_views)) / len(query_items)
        print(
            f"{strategy.name:30} {n_bank:10.1f} {n_query:11.1f} {found.mean():7.3f} "
            f"{found_strong.mean():9.3f} {false_any:6d} {false_block:9d}"
        )
        results[strategy.name] = {
            "signals_per_bank_entry": n_bank,
            "signals_per_query": n_query,
            "recall": float(found.mean()),
            "blockable_recall": float(found_strong.mean()),
            "false_matches": false_any,
            "false_blocks": false_block,
            "per_transform": {
                t: float(found[[k for k, (_, tn) in enumerate(copies) if tn == t]].mean())
                for t in transforms
            },
        }
        chosen = (strategy, best, found, found_strong)

    assert chosen is not None
    strategy, best, found, found_strong = chosen
    check_against_library(queries, bank, best, threshold)
    anchor = results[STRATEGIES[0].name]["per_transform"]
    strong_only = results[STRATEGIES[-2].name]["per_transform"]
    assert isinstance(anchor, dict) and isinstance(strong_only, dict)
    print(
        f"\nper transform: recall of the anchor, of {STRATEGIES[-2].name!r} (strong views), "
        f"of {strategy.name!r}; blockable and median best distance of the last"
    )
    print(
        f"{'transform':24} {'anchor':>7} {'strong':>7} {'+weak':>7} {'blockable':>9} "
        f"{'median d':>8}"
    )
    for tname in transforms:
        rows = [k for k, (_, tn) in enumerate(copies) if tn == tname]
        d = best[rows, source[rows]]
        print(
            f"{tname:24} {anchor[tname]:7.2f} {strong_only[tname]:7.2f} {found[rows].mean():7.2f} "
            f"{found_strong[rows].mean():9.2f} {int(np.median(d)):8d}"
        )
    kinds = ("gradient", "noise", "shapes", "mosaic")  # the order distractors() cycles through
    entry_names = names + [f"distractor{k}:{kinds[k % 4]}" for k in range(len(extra))]
    query_names = [f"{names[i]}:{t}" for i, t in copies] + entry_names
    false_pairs = np.argwhere((best <= threshold) & ~same)
    print(f"\nfalse matches ({len(false_pairs)}):")
    for qi, bi in false_pairs[:20]:
        result = match(queries.signals[qi], bank.signals[bi], threshold=threshold)
        assert result is not None
        print(
            f"  {query_names[qi]} ~ {entry_names[bi]}: d={result.distance} "
            f"{result.query_variant}~{result.bank_variant} blockable={result.blockable}"
        )
    weak = {i for i in range(len(images)) if bank_items[i][0].quality < MIN_QUALITY}
    strong_rows = [k for k, (i, _) in enumerate(copies) if i not in weak]
    print(
        f"\nrecall over copies of photos with PDQ quality >= {MIN_QUALITY} "
        f"({len(images) - len(weak)} photos; {', '.join(names[i] for i in weak) or 'none'} "
        f"left out): {found[strong_rows].mean():.3f}"
    )
    by_photo: dict[str, list[str]] = {}
    for k, (i, tname) in enumerate(copies):
        if not found[k]:
            by_photo.setdefault(names[i], []).append(tname)
    print(f"\nmissed copies ({int((~found).sum())}), by photo:")
    for name, missed in sorted(by_photo.items(), key=lambda kv: -len(kv[1])):
        print(f"  {name} ({len(missed)}): {', '.join(missed)}")
    print(
        f"cost (shared 2-core machine, one process): bank_signals {t_bank * 1000:.0f} ms/entry, "
        f"query_signals {t_query * 1000:.0f} ms/check on these <=1411 px images"
    )
    (tmp / "results.json").write_text(json.dumps(results, indent=1))
    print(f"results: {tmp / 'results.json'}; total {time.perf_counter() - started:.0f} s")


def check_against_library(
    queries: Corpus, bank: Corpus, best: NDArray[np.int32], threshold: int
) -> None:
    """The vectorised figures must agree with ``rescind.media.robust.match`` pair by pair."""
    for qi, bi in np.argwhere(best <= threshold + 8):
        result = match(queries.signals[qi], bank.signals[bi], threshold=threshold)
        expected = int(best[qi, bi])
        got = None if result is None else result.distance
        if (got is None) != (expected > threshold) or (got is not None and got != expected):
            raise AssertionError(f"library and benchmark disagree on ({qi}, {bi})")


if __name__ == "__main__":
    main()
