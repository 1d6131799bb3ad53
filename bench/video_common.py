"""Video common content: the worst-case latency of a check on a bank of videos sharing an end card.

    python bench/video_common.py [--videos 1000] [--own 30] [--card 5] [--intro 0]
                                 [--duplicates 0.05] [--runs 20] [--seed 1]

The rule (`RESCIND_VIDEO_COMMON_MIN_VIDEOS`, default 5; `rescind.media.video_match.
common_moments`): a query second matched in 5 or more distinct banked videos counts on
neither side. To count distinct videos, the matcher searches the frames of up to 64 of the
banked videos the query matched (`Matcher._related`), once each: the results are kept until
that video's frames change (`Matcher._frame_neighbours`). The worst check is the first one
that meets the common content after a load (or after those videos change): all 64 searches,
each frame of a banked video against the whole frame index, the card's frames meeting the
card in every banked video.

The bank is synthetic hashes through `Matcher.load_entries` (no database, no decoding; the
heap then frozen as the server freezes it after a load): each
banked video has `--own` seconds of its own (random hashes) and ends on the same
`--card`-second card, sampled twice a second as banking does (`BANK_FPS`), each frame a few
bits off its second's hash (0-6 bits, re-encoding noise; the card's frames 0-8 bits off the
card). With `--intro`, every banked video also starts on a shared intro of that many seconds
that no query has (the frames the related searches then cannot leave out). `--duplicates` of
the videos are banked a second time (a re-upload, other noise).
Queries, each timed on its own (wall and this process's CPU):

- `card, cold`: an unbanked video of its own ending on the card, with the related searches'
  cache emptied before each run: the worst case;
- `card cut short, cold`: the same, its card 2 seconds shorter than the banked one (a clip
  cut before the end): the card's last seconds in every banked video are frames the query
  did not match, which the related searches look at;
- `card, warm`: the same queries again, the cache kept (every later check with the card);
- `copy with card`: a banked video re-encoded, card included (warm);
- `no card`: a banked video's own seconds only, re-encoded (the typical check).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rescind.config import Settings  # noqa: E402
from rescind.platform.banks import BankPolicy  # noqa: E402
from rescind.platform.matcher import Matcher, MatcherEntry  # noqa: E402
from rescind.platform.signals import VIDEO_PDQ, PdqHash, Signals  # noqa: E402

QUALITY = 90  # every frame counts (>= pdq_min_quality)


class Hashes:
    """Random 256-bit hashes and noisy copies of them."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def new(self, n: int) -> np.ndarray:
        return self.rng.integers(0, 2, size=(n, 256), dtype=np.uint8)

    def noisy(self, bits: np.ndarray, most: int) -> str:
        out = bits.copy()
        flips = self.rng.choice(256, size=int(self.rng.integers(0, most + 1)), replace=False)
        out[flips] ^= 1
        return np.packbits(out).tobytes().hex()


def banked_video(
    h: Hashes, own: np.ndarray, card: np.ndarray, intro: np.ndarray
) -> list[tuple[float, str]]:
    """(time, hash) of a banked video: the intro, its seconds, the card; two frames a second."""
    frames = []
    for s, bits in enumerate(intro):
        frames += [(s + 0.5 * k, h.noisy(bits, 8)) for k in range(2)]
    for s, bits in enumerate(own, len(intro)):
        frames += [(s + 0.5 * k, h.noisy(bits, 6)) for k in range(2)]
    for s, bits in enumerate(card, len(intro) + len(own)):
        frames += [(s + 0.5 * k, h.noisy(bits, 8)) for k in range(2)]
    return frames


def query_video(h: Hashes, seconds: np.ndarray) -> Signals:
    """A checked video: one frame a second, a few bits off each second's hash."""
    return Signals(
        frames=tuple(PdqHash(h.noisy(b, 6), QUALITY, float(s)) for s, b in enumerate(seconds))
    )


def _timed(call: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu


def _row(name: str, walls: list[float], cpus: list[float], hits: str) -> str:
    def ms(values: list[float], q: float) -> str:
        ordered = sorted(values)
        return f"{1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]:,.1f}"

    return (
        f"| {name} | {len(walls)} | {ms(walls, 0.5)} | {ms(walls, 0.99)} | "
        f"{1000 * max(walls):,.1f} | {ms(cpus, 0.5)} | {ms(cpus, 0.99)} | "
        f"{1000 * max(cpus):,.1f} | {hits} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=1000, help="distinct banked videos")
    parser.add_argument("--own", type=int, default=30, help="seconds of each video's own")
    parser.add_argument("--card", type=int, default=5, help="seconds of the shared end card")
    parser.add_argument("--intro", type=int, default=0, help="seconds of a shared intro")
    parser.add_argument("--duplicates", type=float, default=0.05, help="share banked twice")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-videos", type=int, default=Settings().video_common_min_videos)
    opts = parser.parse_args()

    h = Hashes(opts.seed)
    card = h.new(opts.card)
    intro = h.new(opts.intro)
    owns = [h.new(opts.own) for _ in range(opts.videos)]
    settings = Settings(video_common_min_videos=opts.min_videos)
    matcher = Matcher(settings)
    matcher.banks = {1: BankPolicy(1, "ncii", "ncii", settings.pdq_threshold, "block", True)}
    entries: list[MatcherEntry] = []
    copies = [*range(opts.videos), *range(int(opts.duplicates * opts.videos))]
    for n, v in enumerate(copies):
        for t, value in banked_video(h, owns[v], card, intro):
            entries.append(
                MatcherEntry(
                    len(entries) + 1, 1, VIDEO_PDQ, value, QUALITY, group_key=f"v{n:06d}", t=t
                )
            )
    started = time.perf_counter()
    matcher.load_entries(entries)
    load_s = time.perf_counter() - started
    del entries[:]
    # As the server does after its first load (`rescind.platform.runtime._settle_heap`).
    gc.collect()
    gc.freeze()

    runs = opts.runs
    fresh = [query_video(h, np.concatenate([h.new(opts.own), card])) for _ in range(runs)]
    short = [
        query_video(h, np.concatenate([h.new(opts.own), card[: max(1, opts.card - 2)]]))
        for _ in range(runs)
    ]
    picks = [int(i) for i in h.rng.choice(opts.videos, size=runs, replace=False)]
    with_card = [query_video(h, np.concatenate([owns[v], card])) for v in picks]
    no_card = [query_video(h, owns[v]) for v in picks]

    print(
        f"{len(copies):,} banked videos ({opts.videos:,} distinct), {matcher.size:,} frames, "
        f"loaded in {load_s:.1f} s; card {opts.card} s, intro {opts.intro} s; min videos "
        f"{opts.min_videos}; load average before "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print()
    print("| check | runs | wall p50 ms | wall p99 ms | wall max ms | CPU p50 ms | CPU p99 ms "
          "| CPU max ms | banked videos matched |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")

    def _searched() -> int:
        """Banked frames whose neighbours the matcher holds (searched for `_related`)."""
        return sum(len(frames) for frames in matcher._neighbours.values())

    def measure(name: str, queries: list[Signals], cold: bool) -> None:
        walls, cpus, found, searched = [], [], [], []
        for q in queries:
            if cold:
                matcher._neighbours.clear()  # as after a load: every related search anew
            before = _searched()
            wall, cpu = _timed(lambda q=q: found.append(len(matcher.match(q))))
            searched.append(_searched() - before)
            walls.append(wall)
            cpus.append(cpu)
        hits = f"{min(found)}-{max(found)}; frames searched {min(searched)}-{max(searched)}"
        print(_row(name, walls, cpus, hits), flush=True)

    measure("card, cold (worst)", fresh, cold=True)
    measure("card, warm", fresh, cold=False)
    measure("card cut short, cold", short, cold=True)
    measure("copy with card", with_card, cold=False)
    measure("no card (typical)", no_card, cold=False)
    print()
    print(f"load average after {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
