"""Copy-robust PDQ signals: what to store for a banked image, what to query with, how to match.

Plain PDQ (one hash, original orientation, threshold 31) misses most re-uploads that a person
would call the same picture: a border, a letterbox, a screenshot frame, a 5% crop, a mirror or
a slight tilt moves the hash by 40-130 bits. This module closes most of that gap with more PDQ
hashes, never with pixels: hash banks are sensitive (an image can be partly reconstructed from
its hash bits), so a bank entry holds hashes only, and a few more of them.

- ``bank_signals(image)``: PDQ of the image as given, of the image with flat borders trimmed,
  and of a fixed set of crops and slight tilts of the untrimmed image (:data:`BANK_VARIANTS`).
- ``query_signals(image)``: PDQ of the upload as given and with flat borders trimmed (tightly,
  and loosely for JPEG'd pads), each in all 8 orientations (pixels moved, then hashed):
  8 to 24 hashes.
- ``match(query, bank)``: the best pair of signals within the threshold. It is blockable only
  when both signals of some matching pair have PDQ quality >= ``min_quality``: flat, dark or
  tiny pictures (and flat parts produced by trimming or cropping) never block on their own.

The rule is "any query signal within radius r of any bank signal of the entry", so it runs on a
Hamming index: store every bank signal under its entry id, search with every query signal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from rescind.media.pdq import ORIENTATIONS, hash_luma
from rescind.media.robust_geometry import (
    JPEG_TOLERANCE,
    MIN_SIDE,
    RobustInputError,
    Variant,
    as_rgb_array,
    centre_crop,
    luma,
    one_side_crop,
    render_variant,
    trim_box,
    working_copy,
)

HASH_BYTES = 32
DEFAULT_THRESHOLD = 31
MIN_QUALITY = 50

# Fixed, so every bank entry has the same shape; see docs/matching.md for why these.
BANK_VARIANTS: tuple[Variant, ...] = (
    *(centre_crop(keep) for keep in (0.96, 0.92, 0.88, 0.84, 0.80, 0.76)),
    *(one_side_crop(side, cut) for side in "ltrb" for cut in (0.03, 0.06, 0.09, 0.12)),
    *(Variant(f"tilt{deg:+d}", tilt=float(deg)) for deg in (-6, -4, -2, 2, 4, 6)),
)


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

    @property
    def hex(self) -> str:
        """The 64-character hex form, as the CLI, the API and the exchange write PDQ."""
        return self.hash.hex()

    @property
    def strong(self) -> bool:
        """Whether this hash may block on its own (quality >= :data:`MIN_QUALITY`)."""
        return self.quality >= MIN_QUALITY


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


def bank_signals(image: Image.Image | NDArray[np.uint8]) -> list[Signal]:
    """Signals to store for a banked image: full, trimmed (if any border) and the bank views.

    Variants: ``full``, ``trimmed``, ``trimmed_jpeg`` (when the loose trim differs) and the
    names in :data:`BANK_VARIANTS`.

    Weak extra views (quality < :data:`MIN_QUALITY`) are left out; "full" is always first.
    Raises :class:`RobustInputError` (a ``ValueError``) for an unusable image.
    """
    rgb = as_rgb_array(image)
    signals = [_pdq(luma(rgb), "full")]
    work = working_copy(rgb)
    signals += [_pdq(view, name) for name, view in _trimmed_views(work)]
    # Crops and tilts of the picture as banked, untrimmed: a copy is cut from what was shared.
    work_luma = luma(work)
    for variant in BANK_VARIANTS:
        view = render_variant(work_luma, variant)
        if view is not None:
            signals.append(_pdq(view, variant.name))
    return _keep_strong_extras(signals)


def query_signals(image: Image.Image | NDArray[np.uint8]) -> list[Signal]:
    """Signals to query with for an uploaded image: full and trimmed, in all 8 orientations.

    Variants: ``full``, ``full/<orientation>``, ``trimmed[/<orientation>]`` and
    ``trimmed_jpeg[/<orientation>]``, orientations named as in :data:`ORIENTATIONS`.

    Weak extra views are left out; "full" (the plain PDQ of the upload) is always first.
    """
    rgb = as_rgb_array(image)
    signals = [_pdq(luma(rgb), "full")]
    work = working_copy(rgb)
    signals += _orientations(luma(work), "full")[1:]
    for name, view in _trimmed_views(work):
        signals += _orientations(view, name)
    return _keep_strong_extras(signals)


def match(
    query: Sequence[Signal],
    bank: Sequence[Signal],
    threshold: int = DEFAULT_THRESHOLD,
    min_quality: int = MIN_QUALITY,
) -> MatchResult | None:
    """Compare an upload's signals with one bank entry's; None when no pair is within threshold.

    The best pair decides the distance; the match is blockable only if some pair within the
    threshold has both qualities >= ``min_quality``.
    """
    if not query or not bank:
        return None
    q = signals_array(query)
    b = signals_array(bank)
    dist = hamming_matrix(q, b)
    hits = np.argwhere(dist <= threshold)
    if hits.size == 0:
        return None
    pairs = sorted(
        ((int(dist[i, j]), int(i), int(j)) for i, j in hits),
        key=lambda t: (t[0], t[1], t[2]),
    )
    blockable = any(
        query[i].quality >= min_quality and bank[j].quality >= min_quality for _, i, j in pairs
    )
    best, bi, bj = pairs[0]
    return MatchResult(
        distance=best,
        query_variant=query[bi].variant,
        bank_variant=bank[bj].variant,
        blockable=blockable,
        pairs=tuple((query[i].variant, bank[j].variant, d) for d, i, j in pairs),
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


def _trimmed_views(work: NDArray[np.uint8]) -> list[tuple[str, NDArray[np.float32]]]:
    """The working copy's luma with flat borders trimmed: tightly, and loosely if different.

    The loose trim is for pads and bars that went through JPEG. Bank and query both use both,
    so a picture's own flat edge (a clear sky) that the loose trim removes from a JPEG'd
    screenshot of it is removed from the banked view too.
    """
    tight = trim_box(work)
    loose = trim_box(work, JPEG_TOLERANCE)
    views = []
    for name, box in (("trimmed", tight), ("trimmed_jpeg", loose)):
        if box is not None and (name == "trimmed" or box != tight):
            top, bottom, left, right = box
            views.append((name, luma(work[top:bottom, left:right])))
    return views


def _keep_strong_extras(signals: list[Signal]) -> list[Signal]:
    """Keep the plain hash whatever its quality, the extra views only when strong.

    A weak extra view can never block, and flat views (a dark crop, a smooth gradient turned
    90 degrees) are where unrelated pictures collide: they would only add false reviews.
    """
    return [s for s in signals if s.variant == "full" or s.strong]


def _pdq(luma_view: NDArray[np.float32], variant: str) -> Signal:
    # The media hasher's PDQ: bit-exact with pdqhash.compute on the same pixels, ~8x faster.
    (pdq,) = hash_luma(luma_view)
    return Signal(bytes.fromhex(pdq.hash), pdq.quality, variant)


def _orientations(luma_view: NDArray[np.float32], variant: str) -> list[Signal]:
    """The view in all 8 orientations, pixels moved before hashing.

    Not pdqhash's DCT-domain dihedral: its flips are 24-32 bits away from the hash of the
    flipped pixels on 256 px photos (88 on a brick texture), because PDQ's downsampling
    grid is anchored at the top-left corner.
    """
    views = (
        luma_view,
        np.rot90(luma_view, 1),
        np.rot90(luma_view, 2),
        np.rot90(luma_view, 3),
        luma_view[::-1],
        luma_view[:, ::-1],
        luma_view.T,
        np.rot90(luma_view, 2).T,
    )
    return [
        _pdq(view, f"{variant}/{name}" if name != "original" else variant)
        for view, name in zip(views, ORIENTATIONS, strict=True)
    ]


__all__ = [
    "BANK_VARIANTS",
    "DEFAULT_THRESHOLD",
    "MIN_QUALITY",
    "MIN_SIDE",
    "ORIENTATIONS",
    "MatchResult",
    "RobustInputError",
    "Signal",
    "bank_signals",
    "hamming_matrix",
    "match",
    "query_signals",
    "signals_array",
]
