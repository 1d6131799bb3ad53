"""Robustness benchmark: does matching find copies of a banked picture, and only those?

In the manner of Thorn's ``perception`` benchmark: packaged natural photos, a set of copy
transforms, and per hashing strategy two figures: recall of copies against their original, and
false matches between distinct pictures (every pair of distinct photos and their copies, plus
generated distractors). Plain PDQ (original orientation, threshold 31) is the anchor row.

    .venv/bin/python bench/robustness.py [--split tune|tune-hazy|held-out] [--distinct N]
        [--seed N] [--text]

Two photo sets with a fixed split: ``tune`` (scikit-image's photos), where the views and
their parameters were chosen, and ``held-out`` (the photos of Thorn's ``perception`` wheel and
Meta's ThreatExchange reference pictures), which report the figures. ``tune-hazy`` is the
tune side's stand-in for the held-out split's weak class (small, hazy pictures of PDQ quality
below 50, which ``tune`` has one of): each scikit-image photo made 256x256, soft and hazy,
quality 2-12 (``robustness_media.hazy_photo``); its false-match sweep leaves the scikit-image
photos out (the hazy pictures are copies of them). Two ways of checking: the
media path (``query_signals`` of the copy, as ``/v1/check`` with a file) and hashes only
(``rescind hash`` of the copy, as platforms and HMA-style hashers send). Then a false-match
sweep over thousands of distinct pictures (``--distinct``: generated scenes plus the photos of
both splits). ``--seed`` shifts the per-photo jitter of the transforms and the distractors;
``--text`` makes every fifth generated picture text on a flat background (captions, slides,
chat screenshots, memes: docs/matching.md, "Sparse pictures").

Single process; writes only to a temporary directory (the ``perception`` wheel, results.json).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).parent))

from PIL import Image

from rescind.index import HammingIndex
from rescind.media.pdq import hash_luma, pdq_luma
from rescind.media.robust import (
    DEFAULT_THRESHOLD,
    DIM,
    MIN_QUALITY,
    UNTRIMMED_PREFIX,
    VIVID,
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
    NEW_TRANSFORMS,
    TRANSFORMS,
    distractors,
    load_hazy_photos,
    load_perception_photos,
    load_skimage_photos,
    load_threatexchange_photos,
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


_WHOLE = ("full", "trimmed", "trimmed_jpeg")
_CORNER = re.compile(r"crop_(tl|tr|bl|br)(\d+)$")


def family(variant: str) -> str:
    """Which family of views a variant belongs to (the strategies add them one by one)."""
    base, _, turn = variant.partition("/")
    if base.startswith(UNTRIMMED_PREFIX):
        return "untrimmed"
    if base.startswith("eq_"):
        return "equalised"
    if base.startswith("grid_"):
        return "grid"
    for prefix in ("frame", "canvas", "strip"):
        if base.startswith(prefix):
            return prefix
    if base in _WHOLE:
        return "turned" if turn else "whole"
    if turn:
        return "mirrored"
    if base.startswith("aspect_"):
        return "aspect"
    corner = _CORNER.match(base)
    if corner:
        return f"corner{corner.group(2)}"
    for prefix in ("tiltcrop", "half", "shift"):
        if base.startswith(prefix):
            return prefix
    return "cut"


def _bank(*families: str) -> Keep:
    return lambda v: family(v).rstrip("0123456789") in families


def _query_old(v: str) -> bool:
    return family(v) in ("whole", "turned", "cut")


_OLD = ("whole", "cut")
_FRAMED_VIEWS = ("frame", "canvas", "strip")
_NEW = ("turned", "aspect", "corner", "tiltcrop", "mirrored")
# The query's own views added after the framed views: shifted crops, then the cut views of
# the untrimmed picture when only the loose trim found a border.
_QUERY_LATER = ("shift", "untrimmed")
# Bank views added after them: the uneven-crop grid, then a weak picture's equalised views.
_BANK_LATER = ("grid", "equalised")
STRATEGIES = (
    Strategy("plain PDQ (anchor)", lambda v: v == "full", lambda v: v == "full"),
    Strategy("PDQ, 8 orientations", lambda v: v == "full", lambda v: _base(v) == "full"),
    Strategy(
        "+ trim flat borders",
        lambda v: v in _WHOLE,
        lambda v: _base(v) in _WHOLE,
    ),
    Strategy("+ bank crops/tilts", _bank(*_OLD), lambda v: _base(v) in _WHOLE),
    Strategy("+ query centre crops", _bank(*_OLD), _query_old),
    Strategy("+ weak views (review only)", _bank(*_OLD), _query_old, weak_views=True),
    # Issue 21, one family at a time (all with weak views, as the platform runs).
    *(
        Strategy(f"+ {name}", _bank(*_OLD, *_NEW[: k + 1]), _query_old, True)
        for k, name in enumerate(
            ("bank orientations", "aspect crops", "corner crops", "straightened", "mirrored cuts")
        )
    ),
    Strategy(
        "+ halves (both sides)",
        lambda v: family(v) not in (*_FRAMED_VIEWS, *_BANK_LATER),
        lambda v: family(v) not in (*_QUERY_LATER, "equalised"),
        True,
    ),
    # Framed views, one family at a time: for a platform that sends the hash of a framed copy.
    *(
        Strategy(
            f"+ {name}",
            lambda v, k=k: family(v) not in (*_FRAMED_VIEWS[k + 1 :], *_BANK_LATER),
            lambda v: family(v) not in (*_QUERY_LATER, "equalised"),
            True,
        )
        for k, name in enumerate(("framed: borders", "framed: bars", "framed: strips"))
    ),
    Strategy(
        "+ shifted crops (query)",
        lambda v: family(v) not in _BANK_LATER,
        lambda v: family(v) not in ("untrimmed", "equalised"),
        True,
    ),
    Strategy(
        "+ untrimmed cuts (query)",
        lambda v: family(v) not in _BANK_LATER,
        lambda v: family(v) != "equalised",
        True,
    ),
    # The uneven-crop grid: 5 or 7% off each side (bank), met by the 0-or-4% shifted crops.
    Strategy(
        "+ uneven-crop grid (bank)",
        lambda v: family(v) != "equalised",
        lambda v: family(v) != "equalised",
        True,
    ),
    # A weak picture's contrast-equalised whole view, on both sides (review only).
    Strategy("+ equalised views (weak)", lambda v: True, lambda v: True, True),
)
# Copies with something added around the picture (only the media path can trim it).
FRAMED = ("pad_", "letterbox", "screenshot", "caption_top", "caption_bottom")
# A platform that sends hashes: the plain PDQ of the copy against every stored view.
HASHES_ONLY = Strategy("hashes only (rescind hash)", lambda v: True, lambda v: True, True)
# The same without the framed views (what hashes only found before them), then with them
# one family at a time.
HASHES_STEPS = tuple(
    Strategy(name, lambda v, k=k: family(v) not in _FRAMED_VIEWS[k:], lambda v: True, True)
    for k, name in enumerate(
        ("hashes only, no framed views", "hashes only + borders", "hashes only + bars")
    )
)
HASHES_UNFRAMED = HASHES_STEPS[0]


@dataclass
class Corpus:
    """Signals of every bank entry and every query, flattened for vectorised distances."""

    hashes: NDArray[np.uint8]
    owner: NDArray[np.int64]  # entry or query index of each signal
    strong: NDArray[np.bool_]
    kinds: NDArray[np.uint16]  # view_kinds(): weak, turned, cut, ...
    variants: list[str]
    signals: list[list[Signal]]

    @classmethod
    def build(cls, per_item: list[list[Signal]]) -> Corpus:
        flat = [s for sigs in per_item for s in sigs]
        owner = np.repeat(np.arange(len(per_item)), [len(s) for s in per_item])
        return cls(
            hashes=signals_array(flat),
            owner=owner,
            strong=np.array([s.strong for s in flat]),
            kinds=view_kinds(flat),
            variants=[s.variant for s in flat],
            signals=per_item,
        )

    def without_gap(self) -> Corpus:
        """The same signals with the smooth gap's flags cleared: matched as before that rule
        (``rescind.media.robust.smooth_gap``), to count what it changes in the same run."""
        return replace(self, kinds=self.kinds & np.uint16(~(DIM | VIVID) & 0xFFFF))

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


def plain_signal(image: Image.Image) -> list[Signal]:
    """What a platform that sends hashes sends: ``rescind hash`` of the copy (pdqhash's bits)."""
    (h,) = hash_luma(pdq_luma(np.asarray(image.convert("RGB"))))
    return [Signal(bytes.fromhex(h.hash), h.quality, "full")]


def load_split(split: str, tmp: Path) -> tuple[dict[str, Image.Image], str]:
    """The photos of one split: ``tune`` (scikit-image, where parameters were chosen),
    ``tune-hazy`` (the same made small and hazy, :func:`robustness_media.hazy_photo`) or
    ``held-out`` (the perception wheel's photos and Meta's ThreatExchange reference pictures,
    never looked at while choosing)."""
    if split == "tune":
        photos = load_skimage_photos()
        return photos, f"{len(photos)} scikit-image photos"
    if split == "tune-hazy":
        photos = load_hazy_photos()
        return photos, f"{len(photos)} scikit-image photos made small and hazy"
    perception, note = load_perception_photos(tmp)
    meta, meta_note = load_threatexchange_photos()
    return {**perception, **meta}, f"{note}; {meta_note}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("tune", "tune-hazy", "held-out"), default="held-out")
    parser.add_argument("--distractors", type=int, default=300)
    parser.add_argument(
        "--distinct", type=int, default=2000, help="generated pictures for the false-match sweep"
    )
    parser.add_argument("--photos", type=int, default=0, help="use only the first N photos")
    parser.add_argument("--only", default="", help="transforms whose name contains this")
    parser.add_argument("--seed", type=int, default=0, help="shift jitter and distractors")
    parser.add_argument(
        "--text",
        action="store_true",
        help="every fifth generated picture (distractors and sweep) is text on a flat background",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="rescind-robustness-"))
    photos, note = load_split(args.split, tmp)
    names = sorted(photos)[: args.photos or None]
    images = [photos[n] for n in names]
    extra = distractors(images, args.distractors, seed=7 + args.seed, text=args.text)
    transforms = {k: v for k, v in TRANSFORMS.items() if args.only in k}
    print(f"split {args.split}: {len(names)} photos ({note})")
    print(f"distractors: {len(extra)} generated; transforms: {len(transforms)}; seed {args.seed}")

    # Bank: every photo and every distractor. Queries: every copy, photo and distractor.
    t0 = time.perf_counter()
    bank_items = [bank_signals(im, weak_views=True) for im in images + extra]
    t_bank = (time.perf_counter() - t0) / len(bank_items)
    copies: list[tuple[int, str]] = []  # (source photo, transform)
    query_items: list[list[Signal]] = []
    plain_items: list[list[Signal]] = []  # the same queries as a hashes-only platform sends
    t0 = time.perf_counter()
    for i, im in enumerate(images):
        for tname, transform in transforms.items():
            copy = transform(im, i + args.seed)
            query_items.append(query_signals(copy, weak_views=True))
            plain_items.append(plain_signal(copy))
            copies.append((i, tname))
    for im in images + extra:
        query_items.append(query_signals(im, weak_views=True))
        plain_items.append(plain_signal(im))
    t_query = (time.perf_counter() - t0) / len(query_items)
    bank, queries = Corpus.build(bank_items), Corpus.build(query_items)
    plain_queries = Corpus.build(plain_items)

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
    found_of: dict[str, NDArray[np.bool_]] = {}
    chosen = None
    for strategy in (*STRATEGIES, *HASHES_STEPS, HASHES_ONLY):
        corpus = plain_queries if strategy in (HASHES_ONLY, *HASHES_STEPS) else queries
        best, best_strong = best_distances(corpus, bank, strategy)
        found = best[np.arange(n_copy), source[:n_copy]] <= threshold
        found_strong = best_strong[np.arange(n_copy), source[:n_copy]] <= threshold
        false_any = int(((best <= threshold) & ~same).sum())
        false_block = int(((best_strong <= threshold) & ~same).sum())
        n_bank = len(bank.select(strategy.bank, strategy.weak_views)) / len(bank_items)
        n_query = len(corpus.select(strategy.query, strategy.weak_views)) / len(query_items)
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
        found_of[strategy.name] = found
        if strategy is STRATEGIES[-1]:
            chosen = (strategy, best, found, found_strong)
            if all(strategy.bank(v) for v in bank.variants) and all(
                strategy.query(v) for v in queries.variants
            ):
                check_against_library(queries, bank, best, threshold)

    assert chosen is not None
    strategy, best, found, found_strong = chosen
    # The smooth gap (rescind.media.robust.smooth_gap) off, same signals: what it changes.
    for label, corpus, kept, ran in (
        ("media", queries, found, strategy),
        ("hashes only", plain_queries, found_of[HASHES_ONLY.name], HASHES_ONLY),
    ):
        off, _ = best_distances(corpus.without_gap(), bank.without_gap(), ran)
        found_off = off[np.arange(n_copy), source[:n_copy]] <= threshold
        false_off = int(((off <= threshold) & ~same).sum())
        print(
            f"smooth gap off, {label}: recall {found_off.mean():.3f} ({kept.mean():.3f} with "
            f"it), false matches in the table {false_off}"
        )
    anchor = found_of[STRATEGIES[0].name]
    strong_only = found_of[STRATEGIES[4].name]
    hashes = found_of[HASHES_ONLY.name]
    unframed = found_of[HASHES_UNFRAMED.name]
    print(
        f"\nper transform (* new in issue 21): recall of the anchor, of {STRATEGIES[4].name!r} "
        f"(strong views), of {strategy.name!r}, of {HASHES_UNFRAMED.name!r} (unfrmd) and "
        f"{HASHES_ONLY.name!r}; blockable and median "
        "best distance of the media path"
    )
    print(
        f"{'transform':26} {'anchor':>7} {'strong':>7} {'+weak':>7} {'unfrmd':>7} {'hashes':>7} "
        f"{'blockable':>9} {'median d':>8} "
        + " ".join(f"{k:>5}" for k in range(6, len(STRATEGIES)))
    )
    for tname in transforms:
        rows = [k for k, (_, tn) in enumerate(copies) if tn == tname]
        d = best[rows, source[rows]]
        mark = "*" if tname in NEW_TRANSFORMS else " "
        print(
            f"{mark}{tname:25} {anchor[rows].mean():7.2f} {strong_only[rows].mean():7.2f} "
            f"{found[rows].mean():7.2f} {unframed[rows].mean():7.2f} {hashes[rows].mean():7.2f} "
            f"{found_strong[rows].mean():9.2f} {int(np.median(d)):8d} "
            + " ".join(f"{found_of[st.name][rows].mean():5.2f}" for st in STRATEGIES[6:])
        )
    framed = np.array([any(k in tn for k in FRAMED) for _, tn in copies])
    print(
        f"hashes only, copies with nothing added around the picture: "
        f"{hashes[~framed].mean():.3f} ({int((~framed).sum())} copies; a frame, pad, bar or "
        f"caption strip added around it needs the picture to trim: {hashes[framed].mean():.3f}; "
        f"without the framed views {unframed[framed].mean():.3f})"
    )
    new_rows = np.array([tn in NEW_TRANSFORMS for _, tn in copies])
    for label, rows in (("issue 21 families", new_rows), ("earlier families", ~new_rows)):
        if rows.any():
            print(
                f"recall on {label}: media {found[rows].mean():.3f}, "
                f"hashes only {hashes[rows].mean():.3f} ({int(rows.sum())} copies)"
            )
    # The order distractors() cycles through.
    kinds = ("gradient", "noise", "shapes", "mosaic", *(("text",) if args.text else ()))
    entry_names = names + [f"distractor{k}:{kinds[k % len(kinds)]}" for k in range(len(extra))]
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
        f"left out): media {found[strong_rows].mean():.3f}, hashes only "
        f"{hashes[strong_rows].mean():.3f}"
    )
    by_photo: dict[str, list[str]] = {}
    for k, (i, tname) in enumerate(copies):
        if not found[k]:
            by_photo.setdefault(names[i], []).append(tname)
    print(f"\nmissed copies, media path ({int((~found).sum())}), by photo:")
    for name, missed in sorted(by_photo.items(), key=lambda kv: -len(kv[1])):
        print(f"  {name} ({len(missed)}): {', '.join(missed)}")
    print(
        f"cost (shared 2-core machine, one process): bank_signals {t_bank * 1000:.0f} ms/entry, "
        f"query_signals + plain hash {t_query * 1000:.0f} ms/check on these images"
    )
    if args.distinct:
        sweep = false_match_sweep(
            images, bank_items[: len(images)], query_items[:n_copy], plain_items[:n_copy],
            [i for i, _ in copies], args.distinct, seed=11 + args.seed, text=args.text,
            sources=args.split != "tune-hazy",
        )  # fmt: skip
        results["false_match_sweep"] = sweep
    (tmp / "results.json").write_text(json.dumps(results, indent=1))
    print(f"results: {tmp / 'results.json'}; total {time.perf_counter() - started:.0f} s")


def false_match_sweep(
    images: list[Image.Image],
    photo_bank: list[list[Signal]],
    copy_queries: list[list[Signal]],
    copy_plain: list[list[Signal]],
    copy_source: list[int],
    count: int,
    seed: int,
    text: bool = False,
    sources: bool = True,
) -> dict[str, int]:
    """False matches among thousands of distinct pictures: ``count`` generated pictures and
    the photos of both splits, each banked; every one of them and every copy of the split's
    photos checked against all of them (media path and hashes only) through a Hamming index
    at the threshold, each pair then held to :func:`pair_limits`. ``sources`` False leaves
    the scikit-image photos out (``tune-hazy``: its pictures are copies of them)."""
    t0 = time.perf_counter()
    others: dict[str, Image.Image] = {}
    if sources:
        others, _ = load_split("tune", Path(tempfile.mkdtemp(prefix="rescind-sweep-")))
    held, _ = load_split("held-out", Path(tempfile.mkdtemp(prefix="rescind-sweep-")))
    known = {id(im) for im in images}
    more = [im for im in (*others.values(), *held.values()) if id(im) not in known]
    # The split's own photos were loaded again above: leave out equal pixels.
    own = {np.asarray(im).tobytes()[:4096] for im in images}
    more = [im for im in more if np.asarray(im).tobytes()[:4096] not in own]
    generated = distractors(images + more, count, seed=seed, text=text)
    pictures = more + generated
    bank_items = photo_bank + [bank_signals(im, weak_views=True) for im in pictures]
    n = len(bank_items)
    query_items = copy_queries + [query_signals(im, weak_views=True) for im in images + pictures]
    plain_items = copy_plain + [plain_signal(im) for im in images + pictures]
    sources = np.array([*copy_source, *range(n)])
    bank = Corpus.build(bank_items)
    index = HammingIndex()
    index.add(np.arange(len(bank.hashes), dtype=np.int64), bank.hashes)
    out: dict[str, int] = {"pictures": n, "queries": len(query_items)}
    for label, items in (("media", query_items), ("hashes_only", plain_items)):
        corpus = Corpus.build(items)
        found = index.search(corpus.hashes, DEFAULT_THRESHOLD)
        false: set[tuple[int, int]] = set()
        blockable: set[tuple[int, int]] = set()
        false_off: set[tuple[int, int]] = set()  # the smooth gap off (Corpus.without_gap)
        corpus_off, bank_off = corpus.without_gap(), bank.without_gap()
        for qi, hits in enumerate(found):
            if not hits:
                continue
            ids = np.array([h[0] for h in hits])
            dist = np.array([h[1] for h in hits])
            limits = pair_limits(corpus.kinds[qi : qi + 1], bank.kinds[ids])[0]
            q_owner = int(corpus.owner[qi])
            limits_off = pair_limits(corpus_off.kinds[qi : qi + 1], bank_off.kinds[ids])[0]
            for j in np.flatnonzero(dist <= limits_off):
                if int(bank.owner[ids[j]]) != sources[q_owner]:
                    false_off.add((q_owner, int(bank.owner[ids[j]])))
            for j in np.flatnonzero(dist <= limits):
                entry = int(bank.owner[ids[j]])
                if entry != sources[q_owner]:
                    false.add((q_owner, entry))
                    if corpus.strong[qi] and bank.strong[ids[j]]:
                        blockable.add((q_owner, entry))
        out[f"{label}_false"] = len(false)
        out[f"{label}_false_without_gap"] = len(false_off)
        out[f"{label}_false_blockable"] = len(blockable)
        for q_owner, entry in sorted(false)[:10]:  # which pictures and views met
            result = match(items[q_owner], bank_items[entry], threshold=DEFAULT_THRESHOLD)
            if result is not None:
                print(
                    f"  {label} false: query {q_owner} ~ entry {entry}: d={result.distance} "
                    f"{result.query_variant}~{result.bank_variant} "
                    f"(q{items[q_owner][0].quality} ~ q{bank_items[entry][0].quality})"
                )
    print(
        f"\nfalse-match sweep: {n} distinct pictures banked ({len(images) + len(more)} photos, "
        f"{len(generated)} generated), {len(query_items)} queries (their own and the copies): "
        f"media path {out['media_false']} false matches ({out['media_false_blockable']} "
        f"blockable), hashes only {out['hashes_only_false']} "
        f"({out['hashes_only_false_blockable']}); {time.perf_counter() - t0:.0f} s; with the "
        f"smooth gap off {out['media_false_without_gap']} and "
        f"{out['hashes_only_false_without_gap']}"
    )
    return out


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
