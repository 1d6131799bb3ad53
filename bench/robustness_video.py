"""Video robustness benchmark: are variants of a banked video found, and only those?

Banks each original through the functions the server uses (`bank_signals_from_media`, the
entries loaded into a `Matcher` as the bank change feed would), checks every other video with
`signals_from_media` + `Matcher.match`, and prints one row per (query, banked original) pair:
whether it matched, the median and best per-frame distance, the shares of query and bank
frames matched. The anchor is issue 21's target: Meta's variants >= 9 of 10 found, 0 false
matches among distinct videos.

Two sets:
- Meta's ThreatExchange sample videos (``tmk/sample-videos``, BSD), read from ``--meta DIR``:
  chair-orig-22-sd-bar and pattern-hd-no-bar are banked; their variants must match, the other
  family, doorknob and test-padded-dimensions must not.
- ``--synthetic``: videos generated here (scikit-image photos panned and zoomed, with PyAV),
  each kind of change Meta's set has (bars, frame rate with shifted timestamps, a logo box,
  grey/sepia, longer and shorter cuts), and distinct videos for false matches.

- ``--distinct N``: a false-match sweep. N short videos generated from ``--seed`` (3-8 s,
  192x108 or portrait 108x192, 24-30 fps), nine kinds in turn: disjoint 128x72 tiles of
  scikit-image photos panned and zoomed or held still, moving shapes, drifting noise,
  gradients (half with a caption), dark scenes, black (empty, one caption, faint shapes),
  title cards and slides, screen recordings; a fifth with bars, a quarter with black seconds
  before or after, some with fades, some ending on one end card shared by the sweep. All
  are banked (with Meta's originals and distinct videos when ``--meta`` is given) and every
  one is checked against every other, with every tenth one's variant (15 fps, letterbox,
  logo, grey or a clip) and Meta's variants, under the rule, without its common-content rule
  and without its quality filter.
  Each of the 703 tiles serves one video at most; a pair of videos sharing a source tag (a
  variant and its original) is never counted as distinct.

    .venv/bin/python bench/robustness_video.py --meta /tmp/tmkvideos [--synthetic]
    .venv/bin/python bench/robustness_video.py --distinct 2000 --seed 2 --meta /tmp/tmkvideos \
        --duplicates 12

``--duplicates N`` adds a pass with the original of every variant banked N more times (as
many requests or banks would): the common-content rule must still find their variants.
``--only-shipped`` runs the sweep under the rule as shipped only (not the two rules before
it); ``--signals FILE`` writes the sweep's hashed videos to FILE, or reads them from it when
it exists (nothing generated or hashed: a rule re-measured in seconds, not half an hour).
``--textured-card`` draws the shared end card on a coloured texture instead of black (its
frames are then not plain, so the plain-seconds rule cannot refuse what the common-content
rule lets through); the videos are otherwise the same for a seed.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import av
import numpy as np
from numpy.typing import NDArray

from rescind.config import Settings
from rescind.media.pdq import hamming_distance
from rescind.media.video_match import moment, shares
from rescind.platform.banks import BankPolicy
from rescind.platform.matcher import Hit, Matcher, MatcherEntry
from rescind.platform.media_signals import (
    bank_signals_from_media,
    media_limits,
    signals_from_media,
)
from rescind.platform.signals import VIDEO_PDQ, PdqHash, Signals

LIMITS = media_limits(200 * 1024 * 1024)

META_ORIGINALS = {
    "chair-orig-22-sd-bar.mp4": (
        "chair-19-sd-bar.mp4",
        "chair-20-sd-bar.mp4",
        "chair-22-sd-grey-bar.mp4",
        "chair-22-sd-sepia-bar.mp4",
        "chair-22-with-large-logo-bar.mp4",
        "chair-22-with-small-logo-bar.mp4",
    ),
    "pattern-hd-no-bar.mp4": (
        "pattern-longer-no-bar.mp4",
        "pattern-sd-grey-bar.mp4",
        "pattern-sd-with-large-logo-bar.mp4",
        "pattern-sd-with-small-logo-bar.mp4",
    ),
}
META_DISTINCT = ("doorknob-hd-no-bar.mp4", "test-padded-dimensions.mp4")


@dataclass(frozen=True)
class Row:
    query: str
    banked: str
    expected: bool
    found: bool
    median: float
    best: int
    query_share: float
    bank_share: float


def frame_stats(
    query: tuple[PdqHash, ...], bank: tuple[PdqHash, ...], radius: int
) -> tuple[float, int, float, float]:
    """Median and best of each query moment's nearest bank frame; shares of moments matched
    within ``radius`` (any frame of the moment, any view), without any time constraint."""
    qm = [moment(h.t, i) for i, h in enumerate(query)]
    bm = [moment(h.t, i) for i, h in enumerate(bank)]
    nearest: dict[object, int] = {}
    pairs = []
    for i, q in enumerate(query):
        for j, b in enumerate(bank):
            d = hamming_distance(q.hash, b.hash)
            nearest[qm[i]] = min(nearest.get(qm[i], 256), d)
            if d <= radius:
                pairs.append((qm[i], bm[j]))
    found = shares(qm, bm, pairs)
    values = list(nearest.values())
    return statistics.median(values), min(values), found.query, found.bank


def load_matcher(settings: Settings, banked: dict[str, Signals]) -> Matcher:
    """A matcher holding every banked video, loaded as the change feed would load it."""
    matcher = Matcher(settings)
    matcher.banks = {1: BankPolicy(1, "ncii", "ncii", settings.pdq_threshold, "block", True)}
    frames = ((name, h) for name, signals in banked.items() for h in signals.frames)
    # The bench feeds the matcher without a database.
    matcher.load_entries(
        MatcherEntry(i, 1, VIDEO_PDQ, h.hash, h.quality, group_key=name, t=h.t, plain=h.plain)
        for i, (name, h) in enumerate(frames, 1)
    )
    return matcher


def run(
    originals: dict[str, Path],
    queries: dict[str, Path],
    family: dict[str, str],
    settings: Settings,
) -> list[Row]:
    """Bank ``originals``, check every query; ``family`` maps a query to its original."""
    t0 = time.perf_counter()
    banked = {
        name: bank_signals_from_media(p.read_bytes(), LIMITS) for name, p in originals.items()
    }
    checked = {name: signals_from_media(p.read_bytes(), LIMITS) for name, p in queries.items()}
    elapsed = time.perf_counter() - t0
    print(f"hashed {len(banked)} originals and {len(checked)} queries in {elapsed:.1f} s")
    matcher = load_matcher(settings, banked)
    rows = []
    for qname, signals in checked.items():
        hits = matcher.match(signals)
        groups = {matcher.entries[h.entry_id].group_key for h in hits}
        for bname, bsignals in banked.items():
            if bname == qname:
                continue
            median, best, qs, bs = frame_stats(
                signals.frames, bsignals.frames, settings.pdq_threshold
            )
            rows.append(
                Row(qname, bname, family.get(qname) == bname, bname in groups, median, best, qs, bs)
            )
    return rows


def report(title: str, rows: list[Row]) -> tuple[int, int, int]:
    """Print the table; returns (variants found, variants, false matches)."""
    print(f"\n## {title}\n")
    print(
        f"{'query':42} {'banked':28} {'want':>4} {'found':>5} {'med':>5} {'best':>4} "
        f"{'q%':>4} {'b%':>4}"
    )
    for r in sorted(rows, key=lambda r: (not r.expected, r.banked, r.query)):
        flag = "" if r.found == r.expected else "  <-- " + ("MISSED" if r.expected else "FALSE")
        print(
            f"{r.query:42} {r.banked:28} {'yes' if r.expected else 'no':>4} "
            f"{'yes' if r.found else 'no':>5} {r.median:5.1f} {r.best:4d} "
            f"{100 * r.query_share:4.0f} {100 * r.bank_share:4.0f}{flag}"
        )
    wanted = [r for r in rows if r.expected]
    found = sum(r.found for r in wanted)
    false = sum(r.found for r in rows if not r.expected)
    print(
        f"\nvariants found: {found} of {len(wanted)}; false matches: {false} of "
        f"{len(rows) - len(wanted)} distinct pairs"
    )
    return found, len(wanted), false


def meta_set(folder: Path, settings: Settings) -> tuple[int, int, int]:
    originals = {name: folder / name for name in META_ORIGINALS}
    family = {v: o for o, variants in META_ORIGINALS.items() for v in variants}
    names = [*family, *META_ORIGINALS, *META_DISTINCT]
    queries = {n: folder / n for n in names if (folder / n).is_file()}
    missing = sorted(set(names) - set(queries))
    if missing:
        print(f"missing from {folder}: {', '.join(missing)}")
    return report("Meta's ThreatExchange sample videos", run(originals, queries, family, settings))


# ---- synthetic set -------------------------------------------------------------------------

# Natural photos shipped in skimage/data (on disk, no download).
SYNTH_PHOTOS = (
    "astronaut.png",
    "coffee.png",
    "chelsea.png",
    "rocket.jpg",
    "camera.png",
    "motorcycle_left.png",
    "ihc.png",
    "hubble_deep_field.jpg",
    "coins.png",
    "moon.png",
    "grass.png",
    "brick.png",
)


def _scene(name: str) -> NDArray[np.uint8]:
    import skimage
    from PIL import Image

    with Image.open(Path(skimage.__file__).parent / "data" / name) as image:
        return np.asarray(image.convert("RGB"))


def synthetic_frames(
    scenes: list[str], seconds_each: float, fps: float, size: tuple[int, int], start: float = 0.0
) -> list[NDArray[np.uint8]]:
    """Frames at ``fps`` of a camera panning and zooming over each scene in turn.

    The picture is a function of time only (``start`` + frame / fps), so two frame rates, or
    a start offset, show the same content at the same moment, as a re-encoded copy does.
    """
    from PIL import Image

    width, height = size
    sources = [Image.fromarray(_scene(s)) for s in scenes]
    total = seconds_each * len(scenes)
    frames = []
    n = 0
    while True:
        t = start + n / fps
        if t >= start + total - 1e-9 and n:
            break
        if t >= seconds_each * len(scenes):
            break
        k = min(int(t // seconds_each), len(scenes) - 1)
        local = (t - k * seconds_each) / seconds_each  # 0..1 within the scene
        src = sources[k]
        sw, sh = src.size
        zoom = 1.0 - 0.35 * local
        cw, ch = sw * zoom, sh * zoom
        x0 = (sw - cw) * (0.2 + 0.6 * local)
        y0 = (sh - ch) * (0.5 + 0.3 * np.sin(3 * local))
        crop = src.resize((width, height), box=(x0, y0, x0 + cw, y0 + ch))
        frames.append(np.asarray(crop, dtype=np.uint8))
        n += 1
    return frames


def write(path: Path, frames: list[NDArray[np.uint8]], fps: float) -> Path:
    from fractions import Fraction

    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "23"}
        for array in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _bars(frames: list[NDArray[np.uint8]], top: int, side: int) -> list[NDArray[np.uint8]]:
    out = []
    for f in frames:
        h, w = f.shape[:2]
        canvas = np.zeros((h + 2 * top, w + 2 * side, 3), dtype=np.uint8)
        canvas[top : top + h, side : side + w] = f
        out.append(canvas)
    return out


def _logo(frames: list[NDArray[np.uint8]], share: float) -> list[NDArray[np.uint8]]:
    out = []
    for f in frames:
        g = f.copy()
        h, w = g.shape[:2]
        lh, lw = int(h * share), int(w * share)
        g[h // 10 : h // 10 + lh, w - w // 10 - lw : w - w // 10] = (250, 250, 250)
        g[h // 10 + lh // 4 : h // 10 + lh // 2, w - w // 10 - lw : w - w // 10] = (20, 20, 20)
        out.append(g)
    return out


def _grey(frames: list[NDArray[np.uint8]]) -> list[NDArray[np.uint8]]:
    return [np.repeat(f.mean(axis=2, keepdims=True), 3, axis=2).astype(np.uint8) for f in frames]


def _sepia(frames: list[NDArray[np.uint8]]) -> list[NDArray[np.uint8]]:
    m = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])
    return [np.clip(f.astype(np.float32) @ m.T, 0, 255).astype(np.uint8) for f in frames]


def synthetic_set(folder: Path, settings: Settings, families: int) -> tuple[int, int, int]:
    """Generate ``families`` originals with their variants, and check them all."""
    size = (320, 180)
    photos = list(SYNTH_PHOTOS)
    originals: dict[str, Path] = {}
    family: dict[str, str] = {}
    queries: dict[str, Path] = {}
    # Each family its own photos (distinct videos share no picture); the last ones pad
    # the "longer" variants.
    families = min(families, (len(photos) - 1) // 3)
    for i in range(families):
        scenes = photos[3 * i : 3 * i + 3]
        base = synthetic_frames(scenes, 4.0, 30, size)
        name = f"s{i}-orig.mp4"
        originals[name] = write(folder / name, base, 30)
        queries[name] = originals[name]
        variants = {
            "letterbox": (_bars(base, 30, 0), 30),
            "pillarbox": (_bars(base, 0, 50), 30),
            "fps24-shift": (synthetic_frames(scenes, 4.0, 24, size, start=0.5), 24),
            "fps15": (synthetic_frames(scenes, 4.0, 15, size), 15),
            "logo-small": (_logo(base, 0.12), 30),
            "logo-large": (_logo(base, 0.3), 30),
            "grey": (_grey(base), 30),
            "sepia-bars": (_bars(_sepia(base), 0, 40), 30),
            "clip": (base[60:240], 30),
        }
        other = photos[-1]
        variants["longer"] = (
            synthetic_frames([other], 3.0, 30, size)
            + base
            + synthetic_frames([other], 2.0, 30, size, start=1.0),
            30,
        )
        for kind, (frames, fps) in variants.items():
            vname = f"s{i}-{kind}.mp4"
            queries[vname] = write(folder / vname, frames, fps)
            family[vname] = name
    return report("Synthetic videos", run(originals, queries, family, settings))


# ---- distinct-video sweep --------------------------------------------------------------------

# Photos cut into disjoint tiles (each tile one video's source). Left out: the chessboards
# (every tile alike), motorcycle_right (the left one's stereo pair), the tiny ones.
TILE_PHOTOS = (
    "astronaut.png",
    "brick.png",
    "camera.png",
    "cell.png",
    "chelsea.png",
    "clock_motion.png",
    "coffee.png",
    "coins.png",
    "color.png",
    "grass.png",
    "gravel.png",
    "horse.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "logo.png",
    "moon.png",
    "motorcycle_left.png",
    "page.png",
    "phantom.png",
    "retina.jpg",
    "rocket.jpg",
    "text.png",
)
TILE = (128, 72)  # source pixels of one tile (16:9)
_WORDS = (
    "summer holiday news update live part final intro chapter episode welcome thanks "
    "watching subscribe breaking today weekly recap tutorial lesson review unboxing travel "
    "music cooking recipe game stream highlights morning evening city beach mountain river "
    "family birthday party wedding launch demo meeting notes quarter report sales plan"
)
WORDS = tuple(_WORDS.split())

Frame = NDArray[np.uint8]


@dataclass
class Clip:
    """A generated video: its picture as a function of time, its length and its sources."""

    name: str
    kind: str
    render: Any  # (t seconds) -> H x W x 3 uint8
    seconds: float
    fps: float
    tags: frozenset[str]  # what it is made from: videos sharing a tag are related, not distinct


def _tiles() -> list[tuple[str, Frame]]:
    """Every disjoint 128x72 tile of the tile photos, with its tag."""
    out = []
    for name in TILE_PHOTOS:
        image = _scene_any(name)
        h, w = image.shape[:2]
        tw, th = TILE
        for y in range(0, h - th + 1, th):
            for x in range(0, w - tw + 1, tw):
                out.append((f"{name}#{x},{y}", image[y : y + th, x : x + tw]))
    return out


def _scene_any(name: str) -> Frame:
    import skimage
    from PIL import Image

    with Image.open(Path(skimage.__file__).parent / "data" / name) as image:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))


def _resize(image: Frame, size: tuple[int, int], box: tuple[float, ...] | None = None) -> Frame:
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR, box=box))


def _pan(tile: Frame, size: tuple[int, int], rng: np.random.Generator, seconds: float) -> Any:
    """A camera panning and zooming inside one tile (never leaving it)."""
    th, tw = tile.shape[:2]
    z0, z1 = rng.uniform(0.75, 1.0), rng.uniform(0.55, 0.9)
    a = rng.uniform(0, 1, 4)

    def render(t: float) -> Frame:
        u = min(t / seconds, 1.0)
        zoom = z0 + (z1 - z0) * u
        cw, ch = tw * zoom, th * zoom
        x0 = (tw - cw) * (a[0] + (a[1] - a[0]) * u)
        y0 = (th - ch) * (a[2] + (a[3] - a[2]) * u)
        return _resize(tile, size, (x0, y0, x0 + cw, y0 + ch))

    return render


def _still(image: Frame, rng: np.random.Generator, flicker: float) -> Any:
    """A near-static picture: sensor noise and a slow brightness drift, nothing moves."""
    base = image.astype(np.float32)
    phase = rng.uniform(0, 6.28)

    def render(t: float) -> Frame:
        noise = np.random.default_rng(int(t * 1000)).normal(0, flicker, base.shape[:2])
        gain = 1.0 + 0.03 * np.sin(phase + t)
        return np.clip(base * gain + noise[..., None], 0, 255).astype(np.uint8)

    return render


def _shapes(size: tuple[int, int], rng: np.random.Generator, dark: bool = False) -> Any:
    """Random coloured rectangles and discs moving over a flat or graded background."""
    w, h = size
    top = 40 if dark else 255
    bg0, bg1 = rng.integers(0, top, 3), rng.integers(0, top, 3)
    n = int(rng.integers(2, 9))
    shapes = [
        (
            rng.choice(["disc", "box"]),
            rng.uniform(0, w, 2) * [1, h / w],
            rng.uniform(-30, 30, 2),
            rng.uniform(5, h / 2.5),
            rng.integers(0, 256 if not dark or rng.random() < 0.3 else 50, 3),
        )
        for _ in range(n)
    ]
    yy, xx = np.mgrid[0:h, 0:w]
    ramp = (xx / w)[..., None]
    background = (bg0 * (1 - ramp) + bg1 * ramp).astype(np.float32)

    def render(t: float) -> Frame:
        frame = background.copy()
        for kind, (x, y), (vx, vy), r, colour in shapes:
            cx, cy = (x + vx * t) % w, (y + vy * t) % h
            if kind == "disc":
                mask = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
            else:
                mask = (abs(xx - cx) <= r) & (abs(yy - cy) <= r * 0.6)
            frame[mask] = colour
        return frame.astype(np.uint8)

    return render


def _noise(size: tuple[int, int], rng: np.random.Generator, dark: bool = False) -> Any:
    """Smoothed random noise drifting across the frame (clouds, water, film grain)."""
    from scipy.ndimage import gaussian_filter

    w, h = size
    sigma = float(rng.uniform(1.5, 12))
    field = gaussian_filter(rng.normal(0, 1, (h * 2, w * 2, 3)), (sigma, sigma, 0))
    field = (field - field.min()) / (np.ptp(field) or 1)
    scale = 40 if dark else 255
    v = rng.uniform(-15, 15, 2)

    def render(t: float) -> Frame:
        x, y = int(abs(v[0] * t)) % w, int(abs(v[1] * t)) % h
        return (field[y : y + h, x : x + w] * scale).astype(np.uint8)

    return render


def _gradient(size: tuple[int, int], rng: np.random.Generator) -> Any:
    """A linear or radial colour gradient slowly turning (backgrounds, lyric videos)."""
    w, h = size
    c0, c1 = rng.integers(0, 256, 3).astype(np.float32), rng.integers(0, 256, 3)
    angle, spin = rng.uniform(0, 6.28), rng.uniform(-0.3, 0.3)
    radial = rng.random() < 0.3
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)

    def render(t: float) -> Frame:
        if radial:
            u = np.hypot(xx - cx - 5 * t, yy - cy) / np.hypot(w, h)
        else:
            a = angle + spin * t
            u = ((xx - w / 2) * np.cos(a) + (yy - h / 2) * np.sin(a)) / w + 0.5
        u = np.clip(u, 0, 1)[..., None]
        return (c0 * (1 - u) + c1 * u).astype(np.uint8)

    return render


def _text_card(
    size: tuple[int, int], rng: np.random.Generator, lines: int, background: Frame | None = None
) -> Frame:
    from PIL import Image, ImageDraw, ImageFont

    w, h = size
    if background is None:
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        image = Image.new("RGB", size, colour)
        dark = sum(colour) < 384
    else:
        image = Image.fromarray(background)
        dark = background.mean() < 128
    draw = ImageDraw.Draw(image)
    ink = (235, 235, 235) if dark else (20, 20, 20)
    y = rng.uniform(0.1, 0.4) * h
    for i in range(lines):
        words = " ".join(rng.choice(WORDS, int(rng.integers(1, 4))))
        font = ImageFont.load_default(size=int(h / (7 if i == 0 else 11)))
        x = rng.uniform(0.05, 0.3) * w if rng.random() < 0.5 else w * 0.1
        draw.text((x, y), words.title() if i == 0 else words, fill=ink, font=font)
        y += h / (5 if i == 0 else 9)
    return np.asarray(image)


def _slides(size: tuple[int, int], rng: np.random.Generator, seconds: float) -> Any:
    """Title cards or slides with text on flat backgrounds, a new one every few seconds."""
    each = float(rng.uniform(1.5, 4))
    count = int(np.ceil(seconds / each))
    flat = rng.random() < 0.5  # all slides one colour (a deck), else each its own
    colour = rng.integers(0, 256, 3)
    cards = []
    for _ in range(count):
        bg = None
        if flat:
            bg = np.empty((size[1], size[0], 3), np.uint8)
            bg[:] = colour
        cards.append(_text_card(size, rng, int(rng.integers(1, 6)), bg))
    return lambda t: cards[min(int(t // each), count - 1)]


def _screen(size: tuple[int, int], rng: np.random.Generator) -> Any:
    """A screen recording: a window with bars and text lines, a cursor moving, typing."""
    from PIL import Image, ImageDraw, ImageFont

    w, h = size
    image = Image.new("RGB", size, tuple(int(c) for c in rng.integers(200, 256, 3)))
    draw = ImageDraw.Draw(image)
    bar = tuple(int(c) for c in rng.integers(30, 120, 3))
    draw.rectangle((0, 0, w, h // 10), fill=bar)
    side = int(rng.uniform(0.15, 0.3) * w) if rng.random() < 0.6 else 0
    if side:
        draw.rectangle((0, h // 10, side, h), fill=tuple(int(c) for c in rng.integers(150, 230, 3)))
    font = ImageFont.load_default(size=max(6, h // 14))
    y = h // 10 + 4
    while y < h - 8:
        draw.text(
            (side + 4, y),
            " ".join(rng.choice(WORDS, int(rng.integers(2, 7)))),
            fill=(30, 30, 30),
            font=font,
        )
        y += h // 12
    base = np.asarray(image)
    path = rng.uniform(0, 1, (4, 2)) * [w, h]

    def render(t: float) -> Frame:
        frame = base.copy()
        k = min(int(t), 2)
        u = t - int(t)
        x, y = (path[k] * (1 - u) + path[k + 1] * u).astype(int)
        frame[max(0, y - 4) : y + 4, max(0, x - 2) : x + 2] = 0
        return frame

    return render


def _with_bars(inner: Any, size: tuple[int, int], rng: np.random.Generator) -> tuple[Any, Any]:
    """Letterbox or pillarbox: ``inner`` rendered at the picture's size inside black bars."""
    w, h = size
    if rng.random() < 0.5:
        top, side = int(h * rng.uniform(0.08, 0.2)), 0
    else:
        top, side = 0, int(w * rng.uniform(0.1, 0.25))
    inner_size = (w - 2 * side, h - 2 * top)

    def render(t: float, draw: Any = None) -> Frame:
        canvas = np.zeros((h, w, 3), np.uint8)
        canvas[top : h - top, side : w - side] = draw(t)
        return canvas

    return inner_size, render


def _black_ends(inner: Any, intro: float, seconds: float) -> Any:
    """Black seconds before (``intro``) and after the content, as many uploads have."""

    def render(t: float) -> Frame:
        if t < intro or t >= seconds:
            return np.zeros_like(inner(0.0))
        return inner(t - intro)

    return render


def _then(first: Any, seconds: float, second: Any) -> Any:
    """``first`` for ``seconds``, then ``second`` (from its own start)."""
    return lambda t: first(t) if t < seconds else second(t - seconds)


def _fades(inner: Any, seconds: float, fade: float) -> Any:
    """Fade in from black and out to black."""

    def render(t: float) -> Frame:
        gain = min(1.0, t / fade, max(0.0, (seconds - t) / fade))
        return (inner(t).astype(np.float32) * gain).astype(np.uint8)

    return render


KINDS = ("photo", "still", "shapes", "noise", "gradient", "dark", "black", "slides", "screen")


def _end_card(size: tuple[int, int], seed: int, textured: bool = False) -> Any:
    """One platform's end card (its logo growing on black, with its name), shared by every
    video of the sweep's ``+card`` kind: distinct videos with the same closing seconds.
    ``textured``: on a coloured texture instead of black, so its frames are not plain."""
    rng = np.random.default_rng(seed + 7)
    w, h = size
    backdrop = np.zeros((h, w, 3), np.uint8)
    if textured:
        from PIL import Image

        coarse = rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8)
        backdrop = np.asarray(Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC))
    card = _text_card(size, rng, 1, backdrop)

    def render(t: float) -> Frame:
        frame = card.copy()
        r = int(h * (0.1 + 0.05 * min(t, 2.0)))
        cy, cx = int(h * 0.7), w // 2
        frame[cy - r // 2 : cy + r // 2, cx - r : cx + r] = (250, 40, 90)
        return frame

    return render


def distinct_clips(count: int, seed: int, textured_card: bool = False) -> list[Clip]:
    """``count`` distinct generated videos: each kind in turn, each from its own source
    (the shared end card on a texture with ``textured_card``: nothing else changes)."""
    rng = np.random.default_rng(seed)
    tiles = _tiles()
    rng.shuffle(tiles)  # type: ignore[arg-type]
    clips = []
    cards = {}
    for n in range(count):
        kind = KINDS[n % len(KINDS)]
        seconds = float(rng.choice([3.0, 4.0, 5.0, 6.0, 8.0]))
        fps = float(rng.choice([24.0, 25.0, 30.0]))
        size = (108, 192) if rng.random() < 0.15 else (192, 108)
        bars = rng.random() < 0.2
        inner_size, boxed = _with_bars(None, size, rng) if bars else (size, None)
        tags = frozenset({f"gen:{seed}:{n}"})
        if kind in ("photo", "still") and tiles:
            tag, tile = tiles.pop()
            tags = frozenset({tag})
            render = (
                _pan(tile, inner_size, rng, seconds)
                if kind == "photo"
                else _still(_resize(tile, inner_size), rng, float(rng.uniform(0, 4)))
            )
        elif kind in ("photo", "still", "shapes"):
            render = _shapes(inner_size, rng)
        elif kind == "noise":
            render = _noise(inner_size, rng)
        elif kind == "gradient":
            render = _gradient(inner_size, rng)
            if rng.random() < 0.5:  # a caption over it
                card = _text_card(inner_size, rng, int(rng.integers(1, 3)), render(0.0))
                render = lambda t, card=card: card  # noqa: E731
        elif kind == "dark":
            render = (
                _noise(inner_size, rng, dark=True)
                if rng.random() < 0.5
                else _shapes(inner_size, rng, dark=True)
            )
        elif kind == "black":
            # Black with a little: an empty black video, one small caption, a faint shape.
            style = rng.integers(0, 3)
            if style == 0:
                black = np.zeros((inner_size[1], inner_size[0], 3), np.uint8)
                render = lambda t, f=black: f  # noqa: E731
            elif style == 1:
                bg = np.zeros((inner_size[1], inner_size[0], 3), np.uint8)
                card = _text_card(inner_size, rng, 1, bg)
                render = lambda t, f=card: f  # noqa: E731
            else:
                render = _shapes(inner_size, rng, dark=True)
        elif kind == "slides":
            render = _slides(inner_size, rng, seconds)
        else:
            render = _screen(inner_size, rng)
        if boxed is not None:
            render = partial(boxed, draw=render)
        if rng.random() < 0.25:
            intro = float(rng.choice([0.0, 0.5, 1.0, 2.0]))
            outro = float(rng.choice([0.0, 1.0, 2.0]))
            render = _black_ends(render, intro, seconds + intro)
            seconds += intro + outro
            kind += "+black"
        elif rng.random() < 0.25:
            render = _fades(render, seconds, float(rng.uniform(0.5, 1.5)))
            kind += "+fade"
        elif rng.random() < 0.15:
            if size not in cards:
                cards[size] = _end_card(size, seed, textured_card)
            length = float(rng.choice([2.0, 3.0]))
            render = _then(render, seconds, cards[size])
            seconds += length
            kind += "+card"
        if bars:
            kind += "+bars"
        clips.append(Clip(f"d{seed}-{n:04d}-{kind}", kind, render, seconds, fps, tags))
    return clips


def render_clip(clip: Clip, fps: float | None = None) -> list[Frame]:
    rate = fps or clip.fps
    return [clip.render(k / rate) for k in range(max(1, int(clip.seconds * rate)))]


def clip_variant(clip: Clip, rng: np.random.Generator) -> tuple[str, list[Frame], float]:
    """A copy of ``clip`` as an upload would change it."""
    kind = str(rng.choice(["fps15", "letterbox", "logo", "grey", "clip"]))
    if kind == "fps15":
        return kind, render_clip(clip, 15.0), 15.0
    frames = render_clip(clip)
    if kind == "letterbox":
        return kind, _bars(frames, frames[0].shape[0] // 6, 0), clip.fps
    if kind == "logo":
        return kind, _logo(frames, 0.15), clip.fps
    if kind == "grey":
        return kind, _grey(frames), clip.fps
    third = len(frames) // 4
    return kind, frames[third:-third] or frames, clip.fps


@dataclass
class Hashed:
    """The sweep's videos as hashed: what ``--signals`` keeps between runs."""

    banked: dict[str, Signals]
    checked: dict[str, Signals]
    variants: list[str]
    family: dict[str, str]
    tags: dict[str, frozenset[str]]
    kinds: dict[str, str]


def sweep(
    folder: Path,
    settings: Settings,
    count: int,
    seed: int,
    meta: Path | None,
    duplicates: int = 0,
    only_shipped: bool = False,
    signals: Path | None = None,
    textured_card: bool = False,
) -> int:
    """Bank ``count`` distinct generated videos (and Meta's originals and distinct videos),
    check each against all of them, with every tenth one's variant and Meta's variants;
    prints false matches by kind, under the rule as it is, without its common-content rule
    (``video_common_min_videos`` 0: a shared end card counted) and without its quality filter
    either (``pdq_min_quality`` 0: black and flat frames counted); with ``only_shipped``,
    under the rule as it is only. With ``signals``, the hashed videos are read from that
    file when it exists (no video generated or hashed), else written to it."""
    if signals is not None and signals.is_file():
        with signals.open("rb") as fh:
            hashed = pickle.load(fh)
        print(f"read the hashed videos from {signals}")
    else:
        hashed = _hash_sweep(folder, count, seed, meta, textured_card)
        if signals is not None:
            with signals.open("wb") as fh:
                pickle.dump(hashed, fh)
    return _match_sweep(settings, hashed, duplicates, only_shipped)


def _hash_sweep(
    folder: Path, count: int, seed: int, meta: Path | None, textured_card: bool = False
) -> Hashed:
    cpu0, t0 = time.process_time(), time.perf_counter()
    clips = distinct_clips(count, seed, textured_card)
    rng = np.random.default_rng(seed + 1000)
    originals: dict[str, Path] = {}
    tags: dict[str, frozenset[str]] = {}
    kinds: dict[str, str] = {}
    variants: dict[str, Path] = {}
    family: dict[str, str] = {}
    if meta is not None:
        for name in (*META_ORIGINALS, *META_DISTINCT):
            originals[name], tags[name], kinds[name] = meta / name, frozenset({name}), "meta"
        for original, copies in META_ORIGINALS.items():
            for name in copies:
                variants[name], family[name] = meta / name, original
                tags[name], kinds[name] = frozenset({original}), "meta"
    for i, clip in enumerate(clips):
        originals[clip.name] = write(folder / f"{clip.name}.mp4", render_clip(clip), clip.fps)
        tags[clip.name], kinds[clip.name] = clip.tags, clip.kind
        if i % 10 == 0:
            kind, frames, fps = clip_variant(clip, rng)
            vname = f"{clip.name}~{kind}"
            variants[vname] = write(folder / f"{i}-variant.mp4", frames, fps)
            family[vname] = clip.name
            tags[vname], kinds[vname] = clip.tags, clip.kind
    print(
        f"generated {len(clips)} videos and {len(clips[::10])} variants: "
        f"{time.perf_counter() - t0:.0f} s wall, {time.process_time() - cpu0:.0f} s CPU"
    )
    cpu0, t0 = time.process_time(), time.perf_counter()
    banked = {n: bank_signals_from_media(p.read_bytes(), LIMITS) for n, p in originals.items()}
    bank_cpu = time.process_time() - cpu0
    checked = {n: signals_from_media(p.read_bytes(), LIMITS) for n, p in originals.items()}
    checked.update({n: signals_from_media(p.read_bytes(), LIMITS) for n, p in variants.items()})
    print(
        f"hashed: banked {len(banked)} ({sum(len(s.frames) for s in banked.values())} frame "
        f"hashes, {bank_cpu:.0f} s CPU), checked {len(checked)}: "
        f"{time.perf_counter() - t0:.0f} s wall, {time.process_time() - cpu0:.0f} s CPU"
    )
    return Hashed(banked, checked, list(variants), family, tags, kinds)


def _match_sweep(settings: Settings, hashed: Hashed, duplicates: int, only_shipped: bool) -> int:
    banked, checked, family = hashed.banked, hashed.checked, hashed.family
    variants, tags, kinds = hashed.variants, dict(hashed.tags), hashed.kinds
    # Originals no rule can find: not one hash of quality >= 50 (black, flat, dark throughout).
    blind = {
        n for n, s in banked.items() if all(h.quality < settings.pdq_min_quality for h in s.frames)
    }
    print(f"originals without a hash of quality >= {settings.pdq_min_quality}: {len(blind)}")
    pairs = len(checked) * (len(banked) - 1)
    print(
        f"distinct videos banked: {len(banked)}; queries: {len(checked)} ({len(banked)} "
        f"originals, {len(variants)} variants); pairs compared: {pairs}"
    )
    # The honest case of the common-content rule: a video banked by many requests (or in
    # many banks) is in many banked groups, and must not count as common content.
    copies = {
        f"{name}#{j}": banked[name] for name in (*family.values(),) for j in range(duplicates)
    }
    for name in copies:
        tags[name], kinds[name] = tags[name.split("#")[0]], kinds[name.split("#")[0]]
    rules = [
        (
            "quality filter and common content off (before both)",
            settings.model_copy(update={"pdq_min_quality": 0, "video_common_min_videos": 0}),
            banked,
        ),
        (
            "common content off (before it)",
            settings.model_copy(update={"video_common_min_videos": 0}),
            banked,
        ),
        ("rule as shipped", settings, banked),
    ]
    if only_shipped:
        rules = rules[-1:]
    if duplicates:
        title = f"rule as shipped, each original of a variant banked {duplicates} more times"
        rules.append((title, settings, banked | copies))
    false_now = 0
    for title, rule, bank in rules:
        cpu0, t0 = time.process_time(), time.perf_counter()
        matcher = load_matcher(rule, bank)
        false: list[tuple[str, str, Hit]] = []
        related, found, missed = 0, 0, []
        for qname, signals in checked.items():
            hits = {matcher.entries[h.entry_id].group_key: h for h in matcher.match(signals)}
            own = family.get(qname, qname)
            if qname in family:
                if own in hits:
                    found += 1
                else:
                    missed.append(qname)
            for bname, hit in hits.items():
                if bname == own or bname is None:
                    continue
                if tags[qname] & tags[bname]:
                    related += 1
                else:
                    false.append((qname, bname, hit))
        print(f"\n## {title}\n")
        print(
            f"matched {len(checked)} queries: {time.perf_counter() - t0:.0f} s wall, "
            f"{time.process_time() - cpu0:.0f} s CPU"
        )
        unordered = {frozenset((q, b)) for q, b, _ in false}
        blockable = [f for f in false if not f[2].low_quality]
        print(
            f"false matches: {len(false)} of {len(checked) * (len(bank) - 1)} checks "
            f"({len(unordered)} distinct pairs; "
            f"{len(blockable)} blockable, {len(false) - len(blockable)} review); "
            f"related pairs skipped: {related}"
        )
        metas = [v for v in variants if kinds[v] == "meta"]
        print(f"Meta's variants found: {sum(v not in missed for v in metas)} of {len(metas)}")
        ours = [v for v in variants if kinds[v] != "meta"]
        seen = [v for v in ours if family[v] not in blind]
        print(
            f"generated variants found: {sum(v not in missed for v in ours)} of {len(ours)}; "
            f"of those whose original has a hash of quality >= 50: "
            f"{sum(v not in missed for v in seen)} of {len(seen)}"
        )
        for v in missed:
            print(f"  missed {v}{' (original all low quality)' if family[v] in blind else ''}")
        by_kind: dict[tuple[str, ...], int] = {}
        for q, b, _ in false:
            key = tuple(sorted((kinds[q], kinds[b])))
            by_kind[key] = by_kind.get(key, 0) + 1
        card = [sum("+card" in kinds[x] for x in (q, b)) for q, b, _ in false]
        print(
            f"false checks between two videos ending on the shared end card: {card.count(2)}, "
            f"one: {card.count(1)}, neither: {card.count(0)}"
        )
        for key, n in sorted(by_kind.items(), key=lambda kv: -kv[1])[:25]:
            print(f"  {n:6d}  {key[0]} x {key[1]}")
        # Those outside the end-card class first.
        false.sort(key=lambda f: ("+card" in kinds[f[0]]) + ("+card" in kinds[f[1]]))
        for q, b, hit in false[:15]:
            median, _best, qs, bs = frame_stats(
                checked[q].frames, bank[b].frames, settings.pdq_threshold
            )
            print(
                f"  FALSE {q} -> {b}: distance {hit.distance}, review {hit.low_quality}, "
                f"median {median:.0f}, query share {qs:.2f}, bank share {bs:.2f}"
            )
        false_now = len(false)
    return false_now


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--meta", type=Path, help="folder with Meta's tmk/sample-videos")
    parser.add_argument("--synthetic", action="store_true", help="run the generated set")
    parser.add_argument("--families", type=int, default=4, help="synthetic originals")
    parser.add_argument("--distinct", type=int, default=0, help="distinct videos to sweep")
    parser.add_argument("--seed", type=int, default=1, help="the sweep's generator seed")
    parser.add_argument(
        "--only-shipped",
        action="store_true",
        help="run the sweep under the rule as shipped only (not the rules before)",
    )
    parser.add_argument(
        "--signals",
        type=Path,
        help="the sweep's hashed videos: read from this file if it exists, else written to it",
    )
    parser.add_argument(
        "--duplicates",
        type=int,
        default=0,
        help="also bank each original of a variant this many more times (as many requests)",
    )
    parser.add_argument(
        "--textured-card",
        action="store_true",
        help="the sweep's shared end card on a texture (not plain), the same videos otherwise",
    )
    args = parser.parse_args()
    settings = Settings()
    print(
        f"query fraction {settings.video_query_match_fraction}, bank fraction "
        f"{settings.video_bank_match_fraction}, radius {settings.pdq_threshold}"
    )
    ok = True
    if args.meta and not args.distinct:
        found, _wanted, false = meta_set(args.meta, settings)
        print(
            f"target: >= 9 of 10 found, 0 false: {'met' if found >= 9 and not false else 'NOT met'}"
        )
        ok = ok and found >= 9 and not false
    if args.synthetic:
        with tempfile.TemporaryDirectory() as tmp:
            found, _wanted, false = synthetic_set(Path(tmp), settings, args.families)
        ok = ok and not false
    if args.distinct:
        with tempfile.TemporaryDirectory() as tmp:
            false = sweep(
                Path(tmp),
                settings,
                args.distinct,
                args.seed,
                args.meta,
                args.duplicates,
                args.only_shipped,
                args.signals,
                args.textured_card,
            )
        ok = ok and not false
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
