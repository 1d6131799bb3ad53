"""Copy-robust PDQ signals: what to store for a banked image, what to query with, how to match.

Plain PDQ (one hash, original orientation, threshold 31) misses most re-uploads that a person
would call the same picture: a border, a letterbox, a screenshot frame, a 5% crop, a mirror or
a slight tilt moves the hash by 40-130 bits. This module closes most of that gap with more PDQ
hashes, never with pixels: hash banks are sensitive (an image can be partly reconstructed from
its hash bits), so a bank entry holds hashes only, and a few more of them.

- ``bank_signals(image)``: PDQ of the image as given in all 8 orientations, of the image with
  flat borders trimmed, and of a fixed set of crops and slight tilts of the untrimmed image
  (:data:`BANK_VARIANTS` and the families after it; tilts and framed views, the picture
  inside borders, bars or a caption strip, only for a picture whose own hash is strong).
- ``query_signals(image)``: PDQ of the upload as given and with flat borders trimmed (tightly,
  and loosely for JPEG'd pads), each in all 8 orientations (pixels moved, then hashed), and
  three centre crops, the four halves and 30 shifted crops of the trimmed picture
  (:data:`QUERY_CROPS`, :data:`HALF_VARIANTS`, :data:`SHIFT_CROPS`), and of the untrimmed
  one too when only the loose trim found a border (:data:`UNTRIMMED_VIEWS`): 45 to 90
  hashes.
- ``match(query, bank)``: the best pair of signals within the threshold. It is blockable only
  when both signals of some matching pair have PDQ quality >= ``min_quality``: flat, dark or
  tiny pictures (and flat parts produced by trimming or cropping) never block on their own.
- Weak extra views (quality < 50) are left out unless asked for (``weak_views=True``); kept,
  they match only within :data:`WEAK_VIEW_THRESHOLD` bits and never block: that finds copies
  of low-quality pictures for review without letting flat views collide at 31 bits.
- A smooth picture (a gradient: :func:`is_smooth`) gets its whole views only, on both sides,
  marked ``smooth``: they match only within :data:`WEAK_VIEW_THRESHOLD` bits and never
  block. Its turned and cut views are other gradients (docs/matching.md).
- A weak picture that is not smooth (a flat, hazy sky) gets its views once more, of its
  contrast-equalised copy (:func:`equalised`), on both sides, named ``eq_<variant>``: they
  meet only equalised views, within :data:`WEAK_VIEW_THRESHOLD` bits, and never block.
- A sparse upload (text on a flat background: :mod:`rescind.media.robust_sparse`) is
  checked without its weak views, and its cut views meet the bank's cut views within
  :data:`SPARSE_CUT_THRESHOLD` only, its equalised halves not at all; a flat cut view
  (quality 0: an empty half or band) matches nothing, on either side (:func:`pair_limits`).
- An upload whose trim finds nothing (tight or loose) is trimmed once more with bars that
  end before the far edge only (:func:`rescind.media.robust_geometry.trim_box`,
  ``bounded``): a flat, hazy picture inside a pad is not taken for one more bar.
- A faint half (quality below :data:`FAINT_CUT_QUALITY`: half of a flat, hazy picture such
  as a sky) never meets a faint cut view, on either side: two skies' halves describe their
  light and edges, not the sky (:func:`pair_limits`).

The rule is "any query signal within radius r of any bank signal of the entry", so it runs on a
Hamming index: store every bank signal under its entry id, search with every query signal
(weak extra views, where kept, at radius :data:`WEAK_VIEW_THRESHOLD`; turned views against
the whole views only, see :func:`pair_limits`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import product
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from rescind.media.pdq import (
    MIN_HASHABLE_DIM,
    ORIENTATIONS,
    hashes_of_buffers,
    orientation_buffers,
    smooth_buffers,
)
from rescind.media.robust_geometry import (
    JPEG_TOLERANCE,
    MIN_SIDE,
    RobustInputError,
    Variant,
    as_rgb_array,
    aspect_crop,
    aspect_cut,
    canvas,
    centre_crop,
    corner_crop,
    frame,
    luma,
    one_side_crop,
    render_variant,
    sides_crop,
    straightened,
    strip,
    trim_box,
    trim_copy,
    working_copy,
)
from rescind.media.robust_sparse import is_sparse

HASH_BYTES = 32
DEFAULT_THRESHOLD = 31
MIN_QUALITY = 50

# Fixed, so every bank entry has the same shape; see docs/matching.md for why these.
BANK_VARIANTS: tuple[Variant, ...] = (
    *(centre_crop(keep) for keep in (0.96, 0.92, 0.88, 0.84, 0.80, 0.76)),
    *(one_side_crop(side, cut) for side in "ltrb" for cut in (0.02, 0.04, 0.06, 0.08, 0.10, 0.12)),
    *(Variant(f"tilt{deg:+d}", tilt=float(deg)) for deg in (-6, -5, -4, -3, -2, 2, 3, 4, 5, 6)),
)
# Issue 21's families, each kept because it paid on the tuning split (docs/matching.md):
# feed and thumbnail aspect crops (centred; only those that cut, see MIN_ASPECT_CUT) ...
ASPECT_VARIANTS: tuple[Variant, ...] = tuple(
    aspect_crop(w, h) for w, h in ((1, 1), (4, 5), (9, 16), (16, 9))
)
# ... a corner cut away (two adjacent sides, 2% steps: PDQ moves ~18 bits per 1% of shift) ...
CORNER_VARIANTS: tuple[Variant, ...] = tuple(
    corner_crop(c, f) for c in ("tl", "tr", "bl", "br") for f in (0.02, 0.04, 0.06, 0.08, 0.10)
)
# ... straightened tilts (turned and cut to the upright rectangle inside: no black corners) ...
STRAIGHTENED_VARIANTS: tuple[Variant, ...] = tuple(
    straightened(float(d)) for d in (-6, -5, -4, -3, -2, 2, 3, 4, 5, 6)
)
# ... mirrored crops (a platform that sends one hash of a mirrored, cut copy meets them) ...
MIRRORED_VARIANTS: tuple[Variant, ...] = tuple(
    replace(v, name=f"{v.name}/flip_h", mirror=True)
    for v in (
        *ASPECT_VARIANTS,
        *(centre_crop(keep) for keep in (0.96, 0.92, 0.88, 0.84)),
        *(one_side_crop(side, cut) for side in "ltrb" for cut in (0.04, 0.08)),
    )
)
# ... and halves, on both sides: a sticker, logo or caption over one part of the picture
# leaves the opposite half as it was.
HALF_VARIANTS: tuple[Variant, ...] = (
    Variant("half_t", bottom=0.5),
    Variant("half_b", top=0.5),
    Variant("half_l", right=0.5),
    Variant("half_r", left=0.5),
)
# ... and a copy cut unevenly (each side by its own share up to ~8%): the picture with 5 or
# 7% cut from each side, every combination (16 views). An upload's shifted crops cut 0 or 4%
# of it from each side (:data:`SHIFT_CROPS`), so a side cut by 0-2% (+4) meets 5, 2-4% (+4)
# meets 7, 4-6% meets 5 and 6-8% meets 7: within ~1% on every side at once, where PDQ holds
# (docs/matching.md, "Uneven crops").
GRID_CUTS = (0.05, 0.07)
GRID_VARIANTS: tuple[Variant, ...] = tuple(
    Variant("grid_" + "".join(str(round(c * 100)) for c in cuts), left, top, right, bottom)
    for cuts in product(GRID_CUTS, repeat=4)
    for left, top, right, bottom in [cuts]
)
# Framed views, for a platform that sends only the hash of a copy with something added
# around the picture (it cannot trim what it never sends; docs/matching.md measures each
# family). PDQ moves ~20 bits per 1% of border width and ~15 per 64 levels of its colour:
# black and white borders on all sides in 1% steps to 10%, then 2% steps; the colour of
# bars and strips that span a side does not count, so one of each: letterbox and
# pillarbox bars to feed and screen shapes, a phone screen's picture a little above the
# middle (whole, and as a 4:5 feed crop), a caption strip above or below. Strong pictures
# only, as tilts: a flat picture in a frame gets a strong hash.
FRAME_WIDTHS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16)
FRAMED_VARIANTS: tuple[Variant, ...] = (
    *(frame(w / 100, fill) for fill in (0.0, 255.0) for w in FRAME_WIDTHS),
    *(canvas(w, h) for w, h in ((16, 9), (9, 16), (1, 1), (4, 5))),
    *(canvas(9, 16, -up / 100) for up in (1, 2, 3)),
    *(
        replace(canvas(9, 16, -up / 100), name=f"canvas_9x16{-up or ''}_4x5", aspect=0.8)
        for up in (0, 1, 2, 3)
    ),
    *(strip(h / 100, top) for top in (True, False) for h in (10, 12, 14, 16, 18, 20)),
)
# Aspect crops that cut less than this share are left out: the centre crops cover them.
MIN_ASPECT_CUT = 0.03
# The query's own centre crops (of the picture with borders trimmed), in its orientation as
# uploaded: a crop of a crop meets the bank's views between their steps, and a crop drops
# what was added at the edges (a corner watermark, a caption's first letters).
QUERY_CROPS: tuple[Variant, ...] = tuple(centre_crop(keep) for keep in (0.96, 0.92, 0.88))
# The query's shifted crops: 2, 4 and 6% cut from each side and from each corner (the two
# sides of it) of the trimmed picture, as uploaded. A copy cut unevenly (each side by its
# own amount) is the original shifted and zoomed: these shift it back in 8 directions, and
# the bank's centre, one-side and corner crops (2% steps) meet what is left. No fixed set
# of bank views covers four free cuts; this one covers a shift up to 6% each way. With 4%
# cut from two opposite or three sides as well, the 4% crops cut 0 or 4% from each side in
# every combination (the all-sides one is QUERY_CROPS' crop_c92): the bank's uneven-crop
# grid (:data:`GRID_VARIANTS`) meets them.
SHIFT_CROPS: tuple[Variant, ...] = tuple(
    replace(v, name="shift_" + v.name.removeprefix("crop_"))
    for v in (
        *(one_side_crop(side, cut) for side in "ltrb" for cut in (0.02, 0.04, 0.06)),
        *(corner_crop(c, cut) for c in ("tl", "tr", "bl", "br") for cut in (0.02, 0.04, 0.06)),
        *(sides_crop(sides, 0.04) for sides in ("lr", "tb", "ltr", "ltb", "lrb", "trb")),
    )
)
# When only the loose (JPEG-tolerant) trim finds a border, it may be a JPEG'd pad or the
# picture's own dark or flat edge (a sky, a night scene, a page's margin): the query then
# cuts its crops, halves and shifted crops from the untrimmed picture too, under this prefix,
# since the bank cuts its views from the picture as banked. Without them every cut view of
# such an upload is offset from the bank's (docs/matching.md, "Cut views of the untrimmed
# picture"). For the upload's own check only, as the shifted crops.
UNTRIMMED_PREFIX = "untrimmed_"
UNTRIMMED_VIEWS: frozenset[str] = frozenset(
    UNTRIMMED_PREFIX + v.name for v in (*QUERY_CROPS, *HALF_VARIANTS, *SHIFT_CROPS)
)
# A weak extra view (quality < MIN_QUALITY) matches only this close, and never blocks.
WEAK_VIEW_THRESHOLD = 16
# A cut view of a sparse upload (text on a flat background, rescind.media.robust_sparse)
# meets a banked view (cut or whole) only this close (docs/matching.md, "Sparse pictures").
SPARSE_CUT_THRESHOLD = 15
# Flags of view_kinds(): a weak extra view, a turned view, a cut (cropped or tilted) view, a
# view of a smooth picture (rescind.media.pdq.smooth_buffers), an equalised view, a shifted
# crop (one of SHIFT_CROPS, of the picture or of its equalised copy), a view of a sparse
# upload (rescind.media.robust_sparse), a flat cut view (quality 0: an empty part of a
# picture), a faint cut view (quality below FAINT_CUT_QUALITY, not equalised), a half.
WEAK, TURNED, CUT, SMOOTH, EQUALISED, SHIFTED, SPARSE, FLAT = 1, 2, 4, 8, 16, 32, 64, 128
FAINT, HALF = 256, 512
# Flags for the smooth-gap rule: a hash of quality at most SMOOTH_DIM_QUALITY (``DIM``), one
# of quality at least SMOOTH_VIVID_QUALITY (``VIVID``), any view.
DIM, VIVID = 1024, 2048
# A pair with a smooth side (a gradient) never meets when one hash has quality at most
# SMOOTH_DIM_QUALITY and the other at least SMOOTH_VIVID_QUALITY (:func:`smooth_gap`). A
# smooth picture of quality 0 has almost no luma steps: most of its bits compare DCT
# coefficients near zero, and it lands within 16 bits of a strong gradient of the same
# geometry in other colours (the held-out seed-22 sweep's 4 false pairs, docs/matching.md,
# "Smooth pictures"); its true copies keep their luma steps about as they are.
SMOOTH_DIM_QUALITY = 0
SMOOTH_VIVID_QUALITY = MIN_QUALITY
# A cut view (crop, half, tilt, shifted crop; not equalised) with quality below this is
# *faint*: a part of a flat, hazy picture (a sky), whose bits describe little more than
# which way its light falls and where a scan edge sits. A faint half never meets a faint cut
# view: two different skies' top halves met within 8-16 bits, and a shifted crop of one
# the other's top half at 16 (docs/matching.md, "Faint halves"). Faint crops and tilts
# still meet each other within WEAK_VIEW_THRESHOLD (they hold most of the picture), as a
# faint half meets a stronger view; equalised views keep their own rule.
FAINT_CUT_QUALITY = 20
_HALF_NAMES = frozenset(v.name for v in HALF_VARIANTS)
WHOLE_VIEWS = ("full", "trimmed", "trimmed_jpeg")
# The views of a weak (flat, low-contrast) picture that is not smooth, once more on its
# contrast-equalised copy (:func:`equalised`), named with this prefix (``eq_full``,
# ``eq_crop_c96``, ``eq_full/rot90``...). They meet only equalised views, within
# WEAK_VIEW_THRESHOLD, and never block.
EQUALISED_PREFIX = "eq_"
_SHIFTED_NAMES = frozenset(v.name for v in SHIFT_CROPS)
# An equalised pair with an upload's shifted crop (`eq_shift_tr6`) is held one bit closer
# than WEAK_VIEW_THRESHOLD: at 16 bits such a pair made the one false match of the false-match
# sweep (two generated shape pictures, `eq_shift_tr6` ~ `eq_aspect_16x9`), chosen on the tune
# side (docs/matching.md, "Flat pictures").
EQUALISED_SHIFT_THRESHOLD = 15
# An upload gets its equalised views when its plain hash or this centre crop (of the trimmed
# picture, one of QUERY_CROPS) is weak.
EQUALISED_TRIGGER = "crop_c88"
# Every variant name `bank_signals` can give: what a device may send as a picture's views.
BANK_VARIANT_NAMES: frozenset[str] = frozenset(
    (
        *WHOLE_VIEWS,
        *(f"full/{name}" for name in ORIENTATIONS[1:]),
        *(
            v.name
            for v in (
                *BANK_VARIANTS,
                *ASPECT_VARIANTS,
                *CORNER_VARIANTS,
                *STRAIGHTENED_VARIANTS,
                *HALF_VARIANTS,
                *MIRRORED_VARIANTS,
                *GRID_VARIANTS,
                *FRAMED_VARIANTS,
            )
        ),
    )
)
BANK_VARIANT_NAMES |= frozenset(EQUALISED_PREFIX + name for name in BANK_VARIANT_NAMES)


@dataclass(frozen=True, slots=True)
class Signal:
    """One PDQ hash of one variant of an image.

    ``hash`` is the 256 bits in pdqhash's order, most significant bit first (the hex of
    python-threatexchange, HMA and StopNCII); ``variant`` says which view of the image was
    hashed, e.g. ``"full"``, ``"trimmed"``, ``"crop_c88"``, ``"full/rot90"``.
    """

    hash: bytes
    quality: int
    variant: str
    # Of a smooth picture (a gradient: see :func:`rescind.media.pdq.smooth_buffers`): it
    # matches only within WEAK_VIEW_THRESHOLD and never blocks, whatever its quality.
    smooth: bool = False
    # Of a sparse upload (text on a flat background, :mod:`rescind.media.robust_sparse`):
    # its weak views never match, its cut views meet cut bank views within
    # SPARSE_CUT_THRESHOLD only (:func:`pair_limits`). Set by :func:`query_signals`.
    sparse: bool = False

    @property
    def hex(self) -> str:
        """The 64-character hex form, as the CLI, the API and the exchange write PDQ."""
        return self.hash.hex()

    @property
    def strong(self) -> bool:
        """Whether this hash may block on its own (quality >= :data:`MIN_QUALITY`, not of a
        smooth picture, not an equalised view)."""
        return self.quality >= MIN_QUALITY and not self.smooth and not is_equalised(self.variant)


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The outcome of :func:`match` when some pair of signals is within the threshold.

    ``blockable`` is False when every matching pair involves a low-quality hash: such a match
    may be queued for review but must never block by itself. ``pairs`` lists every matching
    ``(query_variant, bank_variant, distance)``, best first.
    """

    distance: int
    query_variant: str
    bank_variant: str
    blockable: bool
    pairs: tuple[tuple[str, str, int], ...]

    @property
    def plain(self) -> bool:
        """Whether plain PDQ alone would have matched (the ``full`` hashes of both sides).

        A policy that wants a person to look at every copy found only through a trimmed,
        cropped, tilted or turned view can send matches with ``plain`` False to review.
        """
        return any(q == "full" and b == "full" for q, b, _ in self.pairs)


def bank_signals(
    image: Image.Image | NDArray[np.uint8], weak_views: bool = False, *, equalise: bool = True
) -> list[Signal]:
    """Signals to store for a banked image: full, trimmed (if any border) and the bank views.

    Variants: ``full``, its 7 other orientations ``full/<orientation>`` (pixels turned, as
    :func:`query_signals` turns an upload: a platform that sends only the plain hash of a
    mirrored or turned copy meets one of them), ``trimmed``, ``trimmed_jpeg`` (when the loose
    trim differs) and the names in :data:`BANK_VARIANTS` and the families defined after it
    (issue 21's views; docs/matching.md measures each). Tilts and framed views
    (:data:`FRAMED_VARIANTS`) are left out when the picture's own hash is weak: their black
    corners or frame would give a flat picture a strong hash that any flat picture tilted
    or framed the same way matches.

    Weak extra views (quality < :data:`MIN_QUALITY`) are kept only with ``weak_views`` (see
    :func:`match` for how they count); "full" is always first. A weak picture (``full``
    below :data:`MIN_QUALITY`, not smooth) adds, with ``weak_views`` and ``equalise``, the
    bank views of its equalised copy named :data:`EQUALISED_PREFIX` + variant.
    Raises :class:`RobustInputError` (a ``ValueError``) for an unusable image.
    """
    rgb = as_rgb_array(image)
    work = working_copy(rgb)
    work_luma = luma(work)
    # The picture as given in all 8 orientations: a platform that sends only the plain hash
    # of a mirrored or turned upload meets the banked picture's turned hash.
    if is_smooth(work_luma):
        # A smooth picture (a gradient) gets its whole views only, held to the weak radius:
        # its turns, crops and tilts are other gradients (docs/matching.md).
        whole = [_pdq(work_luma if work is rgb else luma(rgb), "full")]
        whole += [_pdq(view, name) for name, view in _trimmed_views(work)]
        return _keep_extras([replace(s, smooth=True) for s in whole], weak_views)
    signals = _orientations(work_luma if work is rgb else luma(rgb), "full")
    signals += [_pdq(view, name) for name, view in _trimmed_views(work)]
    # Crops and tilts of the picture as banked, untrimmed: a copy is cut from what was shared.
    height, width = work_luma.shape[:2]
    for variant in (
        *BANK_VARIANTS,
        *ASPECT_VARIANTS,
        *CORNER_VARIANTS,
        *STRAIGHTENED_VARIANTS,
        *HALF_VARIANTS,
        *MIRRORED_VARIANTS,
        *GRID_VARIANTS,
        *FRAMED_VARIANTS,
    ):
        if (variant.tilt or variant.framed) and not signals[0].strong:
            continue
        if variant.aspect and aspect_cut(height, width, variant.aspect) < MIN_ASPECT_CUT:
            continue
        if (
            variant.canvas
            and not variant.aspect  # a 4:5 crop on a 9:16 screen always has bars
            and aspect_cut(height, width, variant.canvas) < MIN_ASPECT_CUT
        ):
            continue  # bars too thin to matter: the whole views cover it
        view = render_variant(work_luma, variant)
        if view is not None:
            signals.append(_pdq(view, variant.name))
    if signals[0].quality < MIN_QUALITY and equalise:
        signals += _renamed(bank_signals(equalised(work_luma), True, equalise=False))
    return _keep_extras(signals, weak_views)


def query_signals(
    image: Image.Image | NDArray[np.uint8], weak_views: bool = False, *, equalise: bool = True
) -> list[Signal]:
    """Signals to query with for an uploaded image: full and trimmed in all 8 orientations,
    a few centre crops and the halves.

    Variants: ``full``, ``full/<orientation>``, ``trimmed[/<orientation>]``,
    ``trimmed_jpeg[/<orientation>]`` (orientations named as in :data:`ORIENTATIONS`), and
    the :data:`QUERY_CROPS`, :data:`HALF_VARIANTS` and :data:`SHIFT_CROPS` of the tightly
    trimmed picture (of the full one when it has no border), in the orientation uploaded,
    e.g. ``crop_c92``, ``half_t``, ``shift_tl4``; when only the loose trim found a border
    (``trimmed_jpeg`` without ``trimmed``: a JPEG'd pad, or the picture's own dark or flat
    edge), the same cuts of the untrimmed picture as well (:data:`UNTRIMMED_VIEWS`,
    ``untrimmed_half_t``), where the bank cuts its views.

    Weak extra views are kept only with ``weak_views``; "full" (the plain PDQ of the upload)
    is always first. A weak upload (not smooth; its plain hash or its
    :data:`EQUALISED_TRIGGER` centre crop below :data:`MIN_QUALITY`) adds, with
    ``weak_views`` and ``equalise``, the query views of its equalised copy named
    :data:`EQUALISED_PREFIX` + variant.
    """
    rgb = as_rgb_array(image)
    work = working_copy(rgb)
    work_luma = luma(work)
    trimmed = _trimmed_views(work, bounded=True)
    picture = trimmed[0][1] if trimmed else work_luma
    if is_smooth(work_luma) and (picture is work_luma or is_smooth(picture)):
        # A smooth upload (a gradient: smooth as uploaded and inside its borders, so neither
        # a photo in a phone frame nor a photo whose trim cut into it is) is checked as
        # uploaded and trimmed, not turned or cut, and only within the weak radius
        # (docs/matching.md).
        whole = [_pdq(work_luma if work is rgb else luma(rgb), "full")]
        whole += [_pdq(view, name) for name, view in trimmed]
        return _keep_extras([replace(s, smooth=True) for s in whole], weak_views)
    if work is rgb:  # small enough already: "full" is the working copy's first orientation
        signals = _orientations(work_luma, "full")
    else:
        signals = [_pdq(luma(rgb), "full"), *_orientations(work_luma, "full")[1:]]
    for name, view in trimmed:
        signals += _orientations(view, name)
    cuts = (*QUERY_CROPS, *HALF_VARIANTS, *SHIFT_CROPS)
    views = [(v.name, render_variant(picture, v)) for v in cuts]
    if [name for name, _ in trimmed] == ["trimmed_jpeg"]:  # only the loose trim found one
        views += [(UNTRIMMED_PREFIX + v.name, render_variant(work_luma, v)) for v in cuts]
    signals += _pdq_many([(name, view) for name, view in views if view is not None])
    # A flat picture's copy may carry what makes its own hash strong around it (black
    # corners of a tilt, bars, a sticker): its centre crop tells too (docs/matching.md).
    centre = next((s.quality for s in signals if s.variant == EQUALISED_TRIGGER), 100)
    if min(signals[0].quality, centre) < MIN_QUALITY and equalise:
        signals += _renamed(query_signals(equalised(work_luma), True, equalise=False))
    if is_sparse(work_luma, [view for _, view in trimmed]):
        # Text on a flat background: its views describe the layout more than the picture
        # (docs/matching.md, "Sparse pictures"); pair_limits holds them closer (its
        # equalised views, a flat picture's, keep their own rule).
        signals = [replace(s, sparse=True) for s in signals]
    return _keep_extras(signals, weak_views)


def match(
    query: Sequence[Signal],
    bank: Sequence[Signal],
    threshold: int = DEFAULT_THRESHOLD,
    min_quality: int = MIN_QUALITY,
    weak_threshold: int = WEAK_VIEW_THRESHOLD,
) -> MatchResult | None:
    """Compare an upload's signals with one bank entry's; None when no pair matches.

    A pair matches within :func:`pair_limits`: ``threshold``, or ``weak_threshold`` when
    either side is a weak extra view (any variant but ``full`` with quality <
    ``min_quality``); turned views are not compared with crops and tilts; flat cut views
    (quality 0) and a sparse upload's weak views never match, its cut views meet cut bank
    views within :data:`SPARSE_CUT_THRESHOLD`. The best pair
    decides the distance; the match is blockable only if some matching pair has both
    qualities >= ``min_quality``.
    """
    if not query or not bank:
        return None
    q = signals_array(query)
    b = signals_array(bank)
    dist = hamming_matrix(q, b)
    limits = pair_limits(
        view_kinds(query, min_quality), view_kinds(bank, min_quality), threshold, weak_threshold
    )
    hits = np.argwhere(dist <= limits)
    if hits.size == 0:
        return None
    pairs = sorted(
        ((int(dist[i, j]), int(i), int(j)) for i, j in hits),
        key=lambda t: (t[0], t[1], t[2]),
    )
    blockable = any(
        query[i].quality >= min_quality
        and bank[j].quality >= min_quality
        and not (query[i].smooth or bank[j].smooth)
        and not is_equalised(query[i].variant)
        and not is_equalised(bank[j].variant)
        for _, i, j in pairs
    )
    best, bi, bj = pairs[0]
    return MatchResult(
        distance=best,
        query_variant=query[bi].variant,
        bank_variant=bank[bj].variant,
        blockable=blockable,
        pairs=tuple((query[i].variant, bank[j].variant, d) for d, i, j in pairs),
    )


def is_equalised(variant: str) -> bool:
    """Whether a view is of a weak picture's contrast-equalised copy (``eq_full``,
    ``eq_crop_c96/flip_h``: :data:`EQUALISED_PREFIX`)."""
    return variant.startswith(EQUALISED_PREFIX)


def is_turned(variant: str) -> bool:
    """Whether a view is in another orientation than the picture as given (``full/rot90``,
    ``crop_c96/flip_h``)."""
    return "/" in variant


def is_cut(variant: str) -> bool:
    """Whether a view is a crop, tilt, half, frame or shift: anything but the whole picture
    (``full``, ``trimmed``, ``trimmed_jpeg``), in any orientation, of the picture or of its
    equalised copy (``eq_full`` is whole, ``eq_crop_c92`` cut)."""
    return variant.partition("/")[0].removeprefix(EQUALISED_PREFIX) not in WHOLE_VIEWS


def is_half(variant: str) -> bool:
    """Whether a view is one of the halves (:data:`HALF_VARIANTS`), of the picture as given
    or untrimmed, or of its equalised copy (``half_t``, ``untrimmed_half_b``,
    ``eq_half_r``), not turned."""
    base = variant.removeprefix(EQUALISED_PREFIX)
    return base.removeprefix(UNTRIMMED_PREFIX) in _HALF_NAMES


def is_shifted(variant: str) -> bool:
    """Whether a view is one of the upload's shifted crops (:data:`SHIFT_CROPS`), of the
    picture or of its equalised copy, trimmed or not (``eq_untrimmed_shift_tr6``)."""
    base = variant.partition("/")[0].removeprefix(EQUALISED_PREFIX)
    return base.removeprefix(UNTRIMMED_PREFIX) in _SHIFTED_NAMES


def equalised_limit(weak_threshold: int, shifted: bool) -> int:
    """The largest distance at which two equalised views match: ``weak_threshold``, and at
    most :data:`EQUALISED_SHIFT_THRESHOLD` when either is a shifted crop (the rule of
    :func:`pair_limits`, for a Hamming-index caller such as the platform's matcher)."""
    return min(weak_threshold, EQUALISED_SHIFT_THRESHOLD) if shifted else weak_threshold


def view_kinds(signals: Sequence[Signal], min_quality: int = MIN_QUALITY) -> NDArray[np.uint16]:
    """Per signal, the flags :func:`pair_limits` needs: :data:`WEAK`, :data:`TURNED`, :data:`CUT`.

    ``WEAK``: an extra view (not ``full``) with quality < ``min_quality``. ``TURNED``: a view
    in another orientation than uploaded (``.../rot90``). ``CUT``: a crop or tilt (anything
    but ``full``, ``trimmed`` and ``trimmed_jpeg``). ``SMOOTH``, ``SPARSE``: the signal's
    flags. ``EQUALISED``: a view of the equalised copy (:data:`EQUALISED_PREFIX`), otherwise
    flagged as its view of the picture would be. ``SHIFTED``: a shifted crop
    (:data:`SHIFT_CROPS`, also ``CUT``). ``FLAT``: a cut view with quality 0 (an empty half
    or band: its bits are rounding). ``FAINT``: a cut view, not equalised, with quality
    below :data:`FAINT_CUT_QUALITY` (a part of a flat, hazy picture). ``HALF``: a half
    (:func:`is_half`). ``DIM``, ``VIVID``: quality at most :data:`SMOOTH_DIM_QUALITY`, at
    least :data:`SMOOTH_VIVID_QUALITY` (any view; :func:`smooth_gap`).
    """
    kinds = np.zeros(len(signals), np.uint16)
    for i, s in enumerate(signals):
        if is_equalised(s.variant):
            kinds[i] |= EQUALISED
        elif s.quality < FAINT_CUT_QUALITY and is_cut(s.variant):
            kinds[i] |= FAINT
        if is_half(s.variant):
            kinds[i] |= HALF
        if s.variant != "full" and s.quality < min_quality:
            kinds[i] |= WEAK
        if s.quality == 0 and is_cut(s.variant):
            kinds[i] |= FLAT
        if s.sparse:
            kinds[i] |= SPARSE
        if is_turned(s.variant):
            kinds[i] |= TURNED
        if is_cut(s.variant):
            kinds[i] |= CUT
        if is_shifted(s.variant):
            kinds[i] |= SHIFTED
        if s.smooth:
            kinds[i] |= SMOOTH
        if s.quality <= SMOOTH_DIM_QUALITY:
            kinds[i] |= DIM
        if s.quality >= SMOOTH_VIVID_QUALITY:
            kinds[i] |= VIVID
    return kinds


def pair_limits(
    query_kinds: NDArray[np.uint16],
    bank_kinds: NDArray[np.uint16],
    threshold: int = DEFAULT_THRESHOLD,
    weak_threshold: int = WEAK_VIEW_THRESHOLD,
    sparse_cut_threshold: int = SPARSE_CUT_THRESHOLD,
) -> NDArray[np.int32]:
    """The largest distance at which each (query, bank) pair of signals matches; -1: never.

    A pair with a weak extra view matches within ``weak_threshold``. A view the query turned
    is compared with the bank's unturned whole views only: a turned view is for a turned copy
    of the whole picture, and comparing the 7 turns with every crop and tilt doubles the
    pairs (and the chances of a chance match) for copies that are turned *and* cut, which
    the views were not built for; turned against turned repeats unturned against unturned.
    The bank's turned views (``full/rot90``, ``crop_c96/flip_h``, ...) likewise meet the
    query's unturned whole views only (``full``, ``trimmed``, ``trimmed_jpeg``, and every
    hash a platform sends), never its crops or halves: they are there for a platform that
    sends one hash of a turned copy, and a turned view against a cut one is again a copy
    turned *and* cut (the last false match of the sweep was a weak half of a generated
    picture against a flat sky's turned views, docs/matching.md). An equalised view meets
    equalised views only, within ``weak_threshold`` (a flat picture's contrast stretched: a
    review lead, never a block), and no other view meets one; an equalised pair with a
    shifted crop within :data:`EQUALISED_SHIFT_THRESHOLD` (:func:`equalised_limit`). A flat
    cut view (quality 0, on either side: an empty half or band) never matches: every other
    empty part of a picture has its hash (whole views of quality 0, a nearly black picture,
    keep the weak rule: their faint structure finds their mirrored copies). A faint half
    never meets a faint cut view (both below :data:`FAINT_CUT_QUALITY`, neither equalised:
    parts of flat, hazy pictures); a faint half meets a stronger view, and faint crops and
    tilts each other, within ``weak_threshold``. A sparse
    upload's (text on a flat background) weak views never match, and its cut views meet the
    bank's views (cut or whole) within ``sparse_cut_threshold`` only: different captions
    meet there (docs/matching.md, "Sparse pictures"); its whole views keep the usual radius,
    and its equalised views their own rule. A pair with a smooth side never matches when
    one hash is dim and the other vivid (:func:`smooth_gap`). A Hamming-index caller does
    the same with two searches:
    every query signal at ``threshold`` against the whole views (and weak ones at
    ``weak_threshold``), the unturned ones against the cut and turned views, a cut query
    view's hits on turned views dropped.
    """
    q = query_kinds[:, None]
    b = bank_kinds[None, :]
    weak = ((q | b) & (WEAK | SMOOTH | EQUALISED)) != 0
    limits = np.where(weak, min(weak_threshold, threshold), threshold).astype(np.int32)
    crossed = (
        (((q & TURNED) != 0) & ((b & (CUT | TURNED)) != 0))
        | (((b & TURNED) != 0) & ((q & CUT) != 0))
        | (((q ^ b) & EQUALISED) != 0)
    )
    shifted_equalised = (((q & b) & EQUALISED) != 0) & (((q | b) & SHIFTED) != 0)
    limits = np.where(shifted_equalised, np.minimum(limits, EQUALISED_SHIFT_THRESHOLD), limits)
    sparse = ((q & SPARSE) != 0) & ((q & EQUALISED) == 0)
    # A sparse upload's cut view against any banked view, whole ones too: two meme-band
    # layouts met cut against whole at 30 bits (docs/matching.md, "the uneven-crop grid").
    sparse_cut = sparse & ((q & CUT) != 0)
    limits = np.where(sparse_cut, np.minimum(limits, sparse_cut_threshold), limits)
    faint = (((q & b) & FAINT) != 0) & (((q | b) & HALF) != 0)
    # A sparse upload's equalised halves meet nothing: two weak text pictures' (captions of
    # quality 3-8) met eq_half_r against eq_grid_5555 at 10 bits (docs/matching.md).
    sparse_eq_half = (q & (SPARSE | EQUALISED | HALF)) == (SPARSE | EQUALISED | HALF)
    never = crossed | (((q | b) & FLAT) != 0) | (sparse & (((q | b) & WEAK) != 0)) | faint
    never |= sparse_eq_half
    # A smooth side, one hash dim and the other vivid: two gradients of one geometry in other
    # colours, not a copy (smooth_gap).
    gap = (((q & DIM) != 0) & ((b & VIVID) != 0)) | (((q & VIVID) != 0) & ((b & DIM) != 0))
    never |= gap & (((q | b) & SMOOTH) != 0)
    return np.where(never, -1, limits).astype(np.int32)


@dataclass(frozen=True, slots=True)
class UploadView:
    """An upload's hash as :func:`banked_pair_limit` reads it, worked out once per hash.

    ``turned``: in another orientation than uploaded. ``cut``, ``half``, ``equalised``,
    ``shifted``: by its view name (:func:`is_cut`, :func:`is_half`, :func:`is_equalised`,
    :func:`is_shifted`); a hash without a name (one a platform sent, an upload's plain
    hashes) is the picture as uploaded. ``weak``: a weak extra view (or an equalised one),
    ``smooth``, ``sparse``: the :class:`Signal` flags, as far as the caller knows them.
    Worked out from them: ``flat``, a flat cut view (quality 0: an empty half or band);
    ``faint``, a faint cut view (not equalised, quality below :data:`FAINT_CUT_QUALITY`);
    ``inert``, whether it meets no banked hash at all (a flat cut view, a sparse upload's
    weak view but an equalised one, a sparse upload's equalised half): a caller need not
    search it.
    """

    quality: int | None = None
    turned: bool = False
    cut: bool = False
    half: bool = False
    equalised: bool = False
    shifted: bool = False
    weak: bool = False
    smooth: bool = False
    sparse: bool = False
    flat: bool = field(init=False)
    faint: bool = field(init=False)
    inert: bool = field(init=False)

    def __post_init__(self) -> None:
        # Once per hash, not once per hit (a video check meets thousands of frames).
        flat = self.cut and self.quality == 0
        faint = self.cut and not self.equalised and below_quality(self.quality, FAINT_CUT_QUALITY)
        inert = (
            flat
            or (self.sparse and self.weak and not self.equalised)
            or (self.sparse and self.equalised and self.half)
        )
        object.__setattr__(self, "flat", flat)
        object.__setattr__(self, "faint", faint)
        object.__setattr__(self, "inert", inert)

    @classmethod
    def of(
        cls,
        variant: str | None,
        quality: int | None,
        *,
        turned: bool = False,
        weak: bool = False,
        smooth: bool = False,
        sparse: bool = False,
    ) -> UploadView:
        """The view named ``variant`` (None: the picture as uploaded)."""
        if variant is None:
            return cls(quality, turned, weak=weak, smooth=smooth, sparse=sparse)
        return cls(
            quality,
            turned,
            is_cut(variant),
            is_half(variant),
            is_equalised(variant),
            is_shifted(variant),
            weak,
            smooth,
            sparse,
        )


class BankedView(Protocol):
    """A banked hash as :func:`banked_pair_limit` reads it. ``cut``: banked as a cut entry
    (any view but a strong whole one of the picture as given: a crop, tilt, half, a turned
    view, a weak or equalised view); ``turned``, ``equalised``, ``half``: by its view name;
    ``smooth``: of a smooth picture (a gradient)."""

    @property
    def quality(self) -> int | None: ...
    @property
    def cut(self) -> bool: ...
    @property
    def turned(self) -> bool: ...
    @property
    def equalised(self) -> bool: ...
    @property
    def half(self) -> bool: ...
    @property
    def smooth(self) -> bool: ...


def banked_inert(banked: BankedView) -> bool:
    """Whether a banked hash meets no upload's at all (:func:`banked_pair_limit`): a flat cut
    entry (quality 0, not turned: an empty half or band of the picture). A caller need not
    search it."""
    return banked.cut and banked.quality == 0 and not banked.turned


def below_quality(quality: int | None, minimum: int) -> bool:
    """Whether a hash's PDQ quality is known and below ``minimum`` (a hash without one, such
    as an exact hash or one a partner sent bare, is not held to it)."""
    return quality is not None and quality < minimum


def smooth_gap(quality: int | None, other: int | None) -> bool:
    """Whether two hashes' PDQ qualities are too far apart for a pair with a smooth side to
    meet: one at most :data:`SMOOTH_DIM_QUALITY`, the other at least
    :data:`SMOOTH_VIVID_QUALITY`. A smooth picture that dim has almost no luma steps, and its
    bits agree with any strong gradient of the same geometry in other colours; a copy keeps
    its steps about as they are (docs/matching.md, "Smooth pictures"). A hash without a
    quality (one a partner sent bare) is not held to it (:func:`below_quality`)."""
    if quality is None or other is None:
        return False
    low, high = min(quality, other), max(quality, other)
    return low <= SMOOTH_DIM_QUALITY and high >= SMOOTH_VIVID_QUALITY


def banked_pair_limit(
    upload: UploadView,
    banked: BankedView,
    threshold: int,
    min_quality: int = MIN_QUALITY,
    weak_threshold: int = WEAK_VIEW_THRESHOLD,
    sparse_cut_threshold: int = SPARSE_CUT_THRESHOLD,
) -> int:
    """The largest distance at which an upload's hash meets a banked one; -1: never.

    The rule of :func:`pair_limits` for callers that hold a bank entry by its stored flags
    rather than its :class:`Signal` (the platform's matcher, an upload against the banks,
    and its copy sweep, new bank entries against the registered uploads): one rule for both.
    A flat cut view (quality 0) on either side (a banked one unless turned) meets nothing; a
    turned upload view meets no cut entry, and a cut upload view no turned entry; an
    equalised view meets equalised views only, within ``weak_threshold``
    (:func:`equalised_limit`); a faint half never meets a faint cut view; a sparse upload's
    weak views meet nothing, and its views meet a weak cut entry never and any other entry
    within ``sparse_cut_threshold`` when cut themselves; a pair with a smooth side (the
    upload's flag, as far as the caller knows it, or the entry's) meets nothing when one
    quality is dim and the other vivid (:func:`smooth_gap`; an unknown quality is not held
    to it); a weak or smooth view, on either side, within ``weak_threshold``; any other pair
    within ``threshold``.
    """
    if upload.inert:
        return -1
    cut, turned, equalised = banked.cut, banked.turned, banked.equalised  # read once
    if cut and banked.quality == 0 and not turned:  # banked_inert, inline: once per hit
        return -1  # an empty half or band: every empty part of a picture hashes alike
    if (upload.turned and cut) or (upload.cut and turned):
        return -1  # a copy turned *and* cut, which the views were not built for
    if upload.equalised != equalised:
        return -1
    if (
        upload.faint
        and cut
        and (upload.half or banked.half)
        and not (turned or equalised)
        and below_quality(banked.quality, FAINT_CUT_QUALITY)
    ):
        return -1  # parts of two flat, hazy pictures (two skies' top halves)
    limit = threshold
    weak_cut = cut and below_quality(banked.quality, min_quality)
    if upload.sparse and not upload.equalised:
        if weak_cut:
            return -1
        if upload.cut:  # against a whole entry too (two meme-band layouts met at 30 bits)
            limit = min(limit, sparse_cut_threshold)
    if upload.equalised:
        limit = min(limit, equalised_limit(weak_threshold, upload.shifted))
    if upload.weak or upload.smooth or banked.smooth or weak_cut:
        if (upload.smooth or banked.smooth) and smooth_gap(upload.quality, banked.quality):
            return -1  # two gradients of one geometry in other colours, not a copy
        limit = min(limit, weak_threshold)
    return limit


def banked_pair_weak(
    upload: UploadView, banked: BankedView, min_quality: int = MIN_QUALITY
) -> bool:
    """Whether a pair :func:`banked_pair_limit` lets meet may be reviewed but never block: a
    hash of quality below ``min_quality``, of a smooth picture or an equalised view."""
    return (
        upload.smooth
        or banked.smooth
        or upload.equalised
        or below_quality(upload.quality, min_quality)
        or below_quality(banked.quality, min_quality)
    )


def signals_array(signals: Sequence[Signal]) -> NDArray[np.uint8]:
    """The hashes as ``uint8[n, 32]``, the layout ``rescind.index.HammingIndex`` takes."""
    if not signals:
        return np.zeros((0, HASH_BYTES), dtype=np.uint8)
    return np.frombuffer(b"".join(s.hash for s in signals), dtype=np.uint8).reshape(-1, HASH_BYTES)


def hamming_matrix(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> NDArray[np.int32]:
    """All pairwise Hamming distances between two ``uint8[n, 32]`` hash arrays."""
    x = np.ascontiguousarray(a).view(np.uint64)
    y = np.ascontiguousarray(b).view(np.uint64)
    out = np.zeros((x.shape[0], y.shape[0]), dtype=np.int32)
    for k in range(x.shape[1]):
        out += np.bitwise_count(x[:, k, None] ^ y[None, :, k]).astype(np.int32)
    return out


def _trimmed_views(
    work: NDArray[np.uint8], bounded: bool = False
) -> list[tuple[str, NDArray[np.float32]]]:
    """The working copy's luma with flat borders trimmed: tightly, and loosely if different.

    The loose trim is for pads and bars that went through JPEG. Bank and query both use both,
    so a picture's own flat edge (a clear sky) that the loose trim removes from a JPEG'd
    screenshot of it is removed from the banked view too. With ``bounded`` (the query's),
    a trim that finds nothing to leave (a flat, hazy picture inside a pad looks like one
    more bar to the end) is tried again with bars that end before the far edge only
    (:func:`trim_box`, ``bounded``); the bank's trims are as before (``static/views.js``
    mirrors them).
    """
    small = trim_copy(work)  # shared by both trims
    tight = trim_box(work, small=small)
    loose = trim_box(work, JPEG_TOLERANCE, small=small)
    if bounded:
        tight_bounded: tuple[int, int, int, int] | None = None
        if tight is None:
            tight_bounded = trim_box(work, small=small, bounded=True)
            tight = _weak_inside(work, tight_bounded)
        if loose is None:
            loose_bounded = trim_box(work, JPEG_TOLERANCE, small=small, bounded=True)
            # Often the tight box (a pad flat to both tolerances): its inside is hashed once.
            same = loose_bounded is not None and loose_bounded == tight_bounded
            loose = tight if same else _weak_inside(work, loose_bounded)
    views = []
    for name, box in (("trimmed", tight), ("trimmed_jpeg", loose)):
        if box is not None and (name == "trimmed" or box != tight):
            top, bottom, left, right = box
            views.append((name, luma(work[top:bottom, left:right])))
    return views


def _weak_inside(
    work: NDArray[np.uint8], box: tuple[int, int, int, int] | None
) -> tuple[int, int, int, int] | None:
    """The bounded trim's box when the picture inside it is weak (PDQ quality below
    :data:`MIN_QUALITY`: the flat, hazy picture the bounded trim is for), else None. A strong
    picture inside was a generated picture of flat shapes whose "bars" were its own flat
    parts: its flat crops met another's at 2 bits on the held-out sweep (docs/matching.md).
    (A box of a few flat edge lines, under
    :data:`~rescind.media.robust_geometry.BOUNDED_MIN_CUT`, is None already: the
    bounded :func:`trim_box` does not give it.)"""
    if box is None:
        return None
    top, bottom, left, right = box
    inside = _pdq(luma(work[top:bottom, left:right]), "trimmed")
    return box if inside.quality < MIN_QUALITY else None


def _keep_extras(signals: list[Signal], weak_views: bool) -> list[Signal]:
    """Keep the plain hash whatever its quality, the extra views when strong or asked for.

    A weak extra view can never block, and flat views (a dark crop, a smooth gradient turned
    90 degrees) are where unrelated pictures collide: by default they are left out, and when
    kept they match only within :data:`WEAK_VIEW_THRESHOLD`.
    """
    return [s for s in signals if weak_views or s.variant == "full" or s.strong]


def _pdq(luma_view: NDArray[np.float32], variant: str) -> Signal:
    # pdqhash.compute's hash of the view's pixels up to float rounding: the banded filter
    # (rescind.media.pdq.orientation_buffers with exact=False), as for the turned views.
    if min(luma_view.shape) < MIN_HASHABLE_DIM:
        return Signal(bytes(HASH_BYTES), 0, variant)  # PDQ's all-zero hash
    ((hex_hash, quality),) = hashes_of_buffers(
        orientation_buffers(luma_view, orientations=ORIENTATIONS[:1], exact=False)
    )
    return Signal(bytes.fromhex(hex_hash), quality, variant)


def _pdq_many(views: Sequence[tuple[str, NDArray[np.float32]]]) -> list[Signal]:
    """:func:`_pdq` of each view, their DCTs in one batch."""
    hashable = [(name, view) for name, view in views if min(view.shape) >= MIN_HASHABLE_DIM]
    if not hashable:
        return [_pdq(view, name) for name, view in views]
    buffers = np.concatenate(
        [
            orientation_buffers(view, orientations=ORIENTATIONS[:1], exact=False)
            for _, view in hashable
        ]
    )
    hashed = dict(zip((name for name, _ in hashable), hashes_of_buffers(buffers), strict=True))
    out = []
    for name, view in views:
        if name in hashed:
            hex_hash, quality = hashed[name]
            out.append(Signal(bytes.fromhex(hex_hash), quality, name))
        else:
            out.append(_pdq(view, name))  # PDQ's all-zero hash
    return out


def equalised(luma_view: NDArray[np.float32]) -> NDArray[np.uint8]:
    """A grey picture (``uint8[H, W, 1]``) of the luma mapped through its own cumulative
    histogram: each value becomes 255 times the share of the picture's values at or below
    it (ties alike), rounded down.

    A flat, low-contrast picture (a hazy sky, quality below 50) gets its contrast back, so
    its copies' views keep their hashes (docs/matching.md, "Flat pictures").
    """
    flat = luma_view.reshape(-1)
    _, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
    share = np.cumsum(counts, dtype=np.int64) * 255 // flat.size
    return share[inverse].astype(np.uint8).reshape(*luma_view.shape[:2], 1)


def _renamed(signals: list[Signal]) -> list[Signal]:
    """The equalised copy's views, named :data:`EQUALISED_PREFIX` + their variant; none
    when the equalised copy is smooth (equalising a ramp of any profile gives the same
    even ramp: different gradients would meet)."""
    if signals and signals[0].smooth:
        return []
    return [replace(s, variant=EQUALISED_PREFIX + s.variant) for s in signals]


def is_smooth(luma_view: NDArray[np.float32]) -> bool:
    """Whether a picture is smooth (:func:`rescind.media.pdq.smooth_buffers`), judged on
    its 64x64 buffer as :func:`_pdq` filters it (``static/views.js`` does the same)."""
    if min(luma_view.shape) < MIN_HASHABLE_DIM:
        return False
    buffer = orientation_buffers(luma_view, orientations=ORIENTATIONS[:1], exact=False)
    return bool(smooth_buffers(buffer)[0])


def _orientations(luma_view: NDArray[np.float32], variant: str) -> list[Signal]:
    """The view in all 8 orientations, as if the pixels were moved before hashing.

    Not pdqhash's DCT-domain dihedral: its flips are 24-32 bits away from the hash of the
    flipped pixels on 256 px photos (88 on a brick texture), because PDQ's downsampling
    grid is anchored at the top-left corner. :func:`orientation_buffers` is the function
    ``rescind hash --dihedral`` uses too, here with its banded filter (``exact=False``):
    the views need no interoperable bits, and it is 2-3x cheaper than pdqhash's sums.
    """
    labels = [f"{variant}/{name}" if name != "original" else variant for name in ORIENTATIONS]
    if min(luma_view.shape) < MIN_HASHABLE_DIM:  # PDQ's all-zero hash, as _pdq would give
        return [Signal(bytes(HASH_BYTES), 0, label) for label in labels]
    hashes = hashes_of_buffers(orientation_buffers(luma_view, exact=False))
    return [
        Signal(bytes.fromhex(hex_hash), quality, label)
        for (hex_hash, quality), label in zip(hashes, labels, strict=True)
    ]


__all__ = [
    "ASPECT_VARIANTS",
    "BANK_VARIANTS",
    "BANK_VARIANT_NAMES",
    "CORNER_VARIANTS",
    "CUT",
    "DEFAULT_THRESHOLD",
    "DIM",
    "EQUALISED",
    "EQUALISED_PREFIX",
    "EQUALISED_SHIFT_THRESHOLD",
    "FAINT",
    "FAINT_CUT_QUALITY",
    "FLAT",
    "FRAMED_VARIANTS",
    "GRID_CUTS",
    "GRID_VARIANTS",
    "HALF",
    "HALF_VARIANTS",
    "MIN_QUALITY",
    "MIN_SIDE",
    "MIRRORED_VARIANTS",
    "ORIENTATIONS",
    "QUERY_CROPS",
    "SHIFTED",
    "SHIFT_CROPS",
    "SMOOTH",
    "SMOOTH_DIM_QUALITY",
    "SMOOTH_VIVID_QUALITY",
    "SPARSE",
    "SPARSE_CUT_THRESHOLD",
    "STRAIGHTENED_VARIANTS",
    "TURNED",
    "UNTRIMMED_PREFIX",
    "UNTRIMMED_VIEWS",
    "VIVID",
    "WEAK",
    "WEAK_VIEW_THRESHOLD",
    "WHOLE_VIEWS",
    "BankedView",
    "MatchResult",
    "RobustInputError",
    "Signal",
    "UploadView",
    "bank_signals",
    "banked_inert",
    "banked_pair_limit",
    "banked_pair_weak",
    "below_quality",
    "equalised",
    "equalised_limit",
    "hamming_matrix",
    "is_cut",
    "is_equalised",
    "is_half",
    "is_shifted",
    "is_smooth",
    "is_turned",
    "match",
    "pair_limits",
    "query_signals",
    "signals_array",
    "smooth_gap",
    "view_kinds",
]
