"""PDQ hashes from luma: exactly pdqhash's at full size, a fast close copy when reduced.

At full size (the luma of every pixel) we repeat pdqhash's arithmetic: its float luma,
its box-filter passes and 64x64 samples (:func:`rescind.media.filters.tent_filter`), its DCT
summed in its order at float32, its median and quality. Nothing is rounded to 8 bits on
the way, so the hash equals ``pdqhash.compute(rgb)`` bit for bit.

When the luma was decoded at a reduced scale (JPEG DCT scaling: each output pixel is
the mean of an ``s x s`` block), the filter is linear and separable, so the 64x64 buffer
is ``Wr @ luma @ Wc.T`` with the full-size weights summed over each block: within a bit
or two of the full-size hash, at a fraction of the cost.

The other 7 orientations are the turned pixels' hashes up to float rounding, read from the
one filtered picture (:func:`orientation_buffers`), never pdqhash's DCT-domain dihedral:
PDQ's sampling grid is anchored at the top-left corner, so a flipped picture's hash is
20-90 bits away from the flipped hash.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from rescind.media.filters import band_pass, dct_16, flip_samples, pdq_luma_rgb, tent_filter

PDQ_DIM = 64
MIN_HASHABLE_DIM = 5  # PDQ gives the all-zero hash, quality 0, below this size
LOW_QUALITY = 50  # Meta's recommendation: do not match on hashes below this quality

# pdqhash.compute_dihedral's output order, labelled by what was done to the original.
# (np.rot90 turns counter-clockwise: "rot90" is np.rot90(a), "rot270" np.rot90(a, 3).)
ORIENTATIONS = (
    "original",
    "rot90",  # 90 degrees counter-clockwise
    "rot180",
    "rot270",  # 90 degrees clockwise
    "flip_v",  # upside down (top and bottom swapped)
    "flip_h",  # mirrored (left and right swapped)
    "transpose",  # mirrored across the main diagonal
    "transverse",  # mirrored across the anti-diagonal
)

FloatArray = npt.NDArray[np.float32]
U8Array = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class PdqHash:
    """One PDQ hash: 64 hex digits, its quality (0-100), and where it came from."""

    hash: str
    quality: int
    orientation: str | None = None
    t: float | None = None
    t_end: float | None = None
    # A video frame that is plain (a title card, a caption on black or over a gradient:
    # rescind.media.robust_sparse.plain_share); every view of the frame carries it.
    plain: bool = False

    @property
    def low_quality(self) -> bool:
        """True when the quality is under 50: too flat or small to match on safely."""
        return self.quality < LOW_QUALITY

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by ``rescind hash``: only the fields that apply."""
        out: dict[str, Any] = {"hash": self.hash, "quality": self.quality}
        if self.orientation is not None:
            out["orientation"] = self.orientation
        if self.t is not None:
            out["t"] = self.t
        if self.t_end is not None:
            out["t_end"] = self.t_end
        if self.low_quality:
            out["low_quality"] = True
        return out


def pdq_bits_to_hex(bits: npt.ArrayLike) -> str:
    """Hex of 256 bits in pdqhash's order, most significant first (python-threatexchange)."""
    arr = np.asarray(bits).astype(np.uint8).reshape(-1)
    if arr.size != 256:
        raise ValueError(f"a PDQ hash has 256 bits, got {arr.size}")
    return bytes(np.packbits(arr)).hex()


def pdq_hex_to_array(value: str) -> U8Array:
    """``numpy.uint8[32]`` from 64 hex digits (either case)."""
    if len(value) != 64:
        raise ValueError(f"a PDQ hash is 64 hex digits, got {len(value)} characters")
    try:
        raw = bytes.fromhex(value)
    except ValueError as exc:
        raise ValueError("a PDQ hash must be hexadecimal") from exc
    return np.frombuffer(raw, dtype=np.uint8).copy()


def pdq_array_to_hex(value: npt.ArrayLike) -> str:
    """64 lowercase hex digits from ``numpy.uint8[32]``."""
    arr = np.asarray(value, dtype=np.uint8).reshape(-1)
    if arr.size != 32:
        raise ValueError(f"a PDQ hash is 32 bytes, got {arr.size}")
    return bytes(arr).hex()


def hamming_distance(a: str, b: str) -> int:
    """Number of differing bits between two hex PDQ hashes."""
    return int((int(a, 16) ^ int(b, 16)).bit_count())


@functools.lru_cache(maxsize=256)
def _tent_weights(n: int) -> npt.NDArray[np.float64]:
    """64 x n weights reproducing PDQ's two box passes plus decimation along one axis."""
    window = (n + 2 * PDQ_DIM - 1) // (2 * PDQ_DIM)
    half = (window + 2) // 2
    idx = np.arange(n)
    # PDQ's box filter averages [o - (window - half), o + half - 1], clipped at the edges.
    lo = np.maximum(0, idx - (window - half))
    hi = np.minimum(n - 1, idx + half - 1)
    count = (hi - lo + 1).astype(np.float64)
    out = np.zeros((PDQ_DIM, n))
    for i in range(PDQ_DIM):
        o = int(((i + 0.5) * n) / PDQ_DIM)
        first = np.zeros(n)
        first[lo[o] : hi[o] + 1] = 1.0 / count[o]
        # Second pass: output sample o sums box k's inputs, weighted by first[k] / count[k].
        diff = np.zeros(n + 1)
        per_box = first / count
        np.add.at(diff, lo, per_box)
        np.add.at(diff, hi + 1, -per_box)
        row = np.cumsum(diff)[:n]
        # The running sum leaves rounding residue outside the support: make it exactly zero
        # so that each row's non-zero span is the tent's true footprint.
        row[: lo[lo[o]]] = 0.0
        row[hi[hi[o]] + 1 :] = 0.0
        out[i] = row
    return out


@dataclass(frozen=True)
class AxisWeights:
    """PDQ's filter along one axis: 64 x n weights, and each row's non-zero span."""

    dense: FloatArray
    spans: tuple[tuple[int, int], ...]
    bounds: npt.NDArray[np.int64]  # the spans as an int64 array (64 x 2)


@functools.lru_cache(maxsize=256)
def axis_weights(full: int, scale: int, reduced: int, reverse: bool) -> AxisWeights:
    """Weights for an axis of ``full`` pixels decoded as ``reduced`` blocks of ``scale``.

    ``reverse`` says that the reduced axis runs backwards relative to the decoded data
    (an EXIF flip or rotation), so the partial block at the decoder's far edge comes first.
    """
    weights = _tent_weights(full)
    if scale != 1 or reduced != full:
        if reverse:
            weights = weights[:, ::-1]
        padded = np.zeros((PDQ_DIM, reduced * scale))
        width = min(full, reduced * scale)
        padded[:, :width] = weights[:, :width]
        weights = padded.reshape(PDQ_DIM, reduced, scale).sum(axis=2)
        if reverse:
            weights = weights[:, ::-1]
    spans = []
    for row in weights:
        nonzero = np.flatnonzero(row)
        spans.append((int(nonzero[0]), int(nonzero[-1]) + 1))
    return AxisWeights(
        np.ascontiguousarray(weights, dtype=np.float32), tuple(spans), np.array(spans, np.int64)
    )


def luma_to_64(luma: npt.NDArray[Any], rows: AxisWeights, cols: AxisWeights) -> FloatArray:
    """PDQ's 64x64 downsample of a 2-D luma array, given each axis's weights."""
    return _column_pass(_row_pass(luma, rows), cols)


def _row_pass(luma: npt.NDArray[Any], rows: AxisWeights) -> FloatArray:
    # Each output mixes only a band of about two windows of inputs, so filter band by band:
    # every input pixel is read about twice, instead of 64 times by a dense product.
    # Converted once, not per band: the bands overlap, and 64 conversions cost more than one.
    pixels = luma if luma.dtype == np.float32 else luma.astype(np.float32)
    partial = np.empty((PDQ_DIM, luma.shape[1]), dtype=np.float32)
    for i, (start, stop) in enumerate(rows.spans):
        partial[i] = rows.dense[i, start:stop] @ pixels[start:stop]
    return partial


def _column_pass(partial: FloatArray, cols: AxisWeights) -> FloatArray:
    result = np.empty((PDQ_DIM, PDQ_DIM), dtype=np.float32)
    for j, (start, stop) in enumerate(cols.spans):
        result[:, j] = partial[:, start:stop] @ cols.dense[j, start:stop]
    return result


# Each orientation as (flip rows, flip columns, then transpose), what np.rot90 and
# np.flip do to an array: rot90 = a[:, ::-1].T (counter-clockwise), rot270 = a[::-1].T
# (tests/media/test_dihedral.py checks each against pdqhash of the numpy-turned pixels).
_TURNS = {
    "original": (False, False, False),
    "rot90": (False, True, True),
    "rot180": (True, True, False),
    "rot270": (True, False, True),
    "flip_v": (True, False, False),
    "flip_h": (False, True, False),
    "transpose": (False, False, True),
    "transverse": (True, True, True),
}


# pdqhash's DCT matrix: rows 1-16 of the 64-point DCT-II, a float scale times a double
# cosine, stored as float32 (the C++ builds it with std::cos in double).
_DCT_SCALE = float(np.float32(math.sqrt(2.0 / PDQ_DIM)))
_DCT = np.array(
    [
        [_DCT_SCALE * math.cos((math.pi / 2.0 / PDQ_DIM) * i * (2 * j + 1)) for j in range(64)]
        for i in range(1, 17)
    ],
    dtype=np.float32,
)
# pdqhash's luma of a grey pixel: the RGB formula with r = g = b, in float64 as its binding.
_GREY = np.arange(256, dtype=np.float64)
_GREY_LUMA = ((_GREY * 0.299 + _GREY * 0.587) + _GREY * 0.114).astype(np.float32)


def pdq_luma(pixels: npt.NDArray[np.uint8]) -> FloatArray:
    """pdqhash's float32 luma of 8-bit pixels: ``(H, W, 3+)`` colour (extra channels
    ignored), or ``(H, W)`` / ``(H, W, 1)`` grey taken as equal R, G and B."""
    if pixels.ndim == 3 and pixels.shape[2] >= 3:
        return pdq_luma_rgb(pixels)
    grey = pixels[:, :, 0] if pixels.ndim == 3 else pixels
    return _GREY_LUMA[grey]


def _dct16(buffers: FloatArray) -> FloatArray:
    # pdqhash's dct64To16, compiled (rescind.media.filters.dct_16): its bits, its order.
    return dct_16(buffers, _DCT)


# A picture is smooth when this many of its 256 DCT coefficients (the largest, the DC term
# left out) hold at least SMOOTH_SHARE of the rest's energy: a gradient or a blurred shape,
# whose hash says little about it (docs/matching.md, "Smooth pictures").
SMOOTH_COEFFICIENTS = 16
SMOOTH_SHARE = 0.9


def smooth_buffers(buffers: FloatArray) -> npt.NDArray[np.bool_]:
    """Whether each 64x64 buffer (k x 64 x 64) is smooth: its :data:`SMOOTH_COEFFICIENTS`
    largest DCT coefficients but the DC term hold :data:`SMOOTH_SHARE` of their energy.

    PDQ keeps the 256 coefficients of the 16x16 low-frequency block and sets a bit for each
    above their median. A photo spreads its energy over most of them; a smooth gradient puts
    nearly all of it in a handful, so most of its bits compare coefficients near zero, and
    two different gradients (or a gradient and the turned or cut views of another) land
    within 31 bits. PDQ's quality cannot tell: it measures gradient strength, and a strong
    gradient scores 100. A flat picture (no energy at all) is not smooth by this test; its
    quality is 0. The sums run in float64 over the float32 coefficients, largest first,
    so ``static/views.js`` decides the same way on the same buffer.
    """
    if len(buffers) == 0:
        return np.zeros(0, dtype=np.bool_)
    coefs = _dct16(np.asarray(buffers, dtype=np.float32)).reshape(len(buffers), 256)
    energy = coefs.astype(np.float64) ** 2
    energy[:, 0] = 0.0
    ranked = -np.sort(-energy, axis=1)
    total = np.cumsum(ranked, axis=1)
    top = total[:, SMOOTH_COEFFICIENTS - 1]
    return (total[:, -1] > 0) & (top >= SMOOTH_SHARE * total[:, -1])


def hashes_of_buffers(buffers: FloatArray) -> list[tuple[str, int]]:
    """(hex, quality) of each 64x64 float buffer of ``buffers`` (k x 64 x 64), as pdqhash
    hashes its 64x64 buffer: the DCT, bits above the lower median, the gradient quality."""
    count = len(buffers)
    if count == 0:
        return []
    pixels = np.asarray(buffers, dtype=np.float32)
    coefs = _dct16(pixels).reshape(count, 256)
    median = np.sort(coefs, axis=1)[:, 127:128]  # the lower median, as pdqhash's torben
    # bit i*16 + j is coefficient (i, j); the hex runs from bit 255 down
    packed = np.packbits((coefs > median)[:, ::-1], axis=1)
    # pdqImageDomainQualityMetric: int(((u - v) * 100) / 255) at float32, truncated.
    hundred, scale = np.float32(100), np.float32(255)
    down = np.trunc((pixels[:, :-1, :] - pixels[:, 1:, :]) * hundred / scale)
    across = np.trunc((pixels[:, :, :-1] - pixels[:, :, 1:]) * hundred / scale)
    gradient = np.abs(down).sum(axis=(1, 2), dtype=np.int64)
    gradient += np.abs(across).sum(axis=(1, 2), dtype=np.int64)
    quality = np.minimum(gradient // 90, 100)
    return [(bytes(p).hex(), int(q)) for p, q in zip(packed, quality, strict=True)]


def hashes_from_64(buffer: FloatArray) -> PdqHash:
    """PDQ hash of one 64x64 float luma buffer (not rounded: pdqhash keeps it in float)."""
    ((hex_hash, quality),) = hashes_of_buffers(buffer[None])
    return PdqHash(hex_hash, quality, "original")


def empty_hashes(dihedral: bool) -> list[PdqHash]:
    """What PDQ gives for an image too small to hash: zero bits, quality 0."""
    names = ORIENTATIONS if dihedral else ORIENTATIONS[:1]
    return [PdqHash("0" * 64, 0, name) for name in names]


def orientation_buffers(
    luma: npt.NDArray[Any],
    full_size: tuple[int, int] | None = None,
    scale: int = 1,
    reverse: tuple[bool, bool] = (False, False),
    orientations: tuple[str, ...] = ORIENTATIONS,
    exact: bool = True,
) -> FloatArray:
    """The 64x64 buffers of a 2-D luma array turned to each of ``orientations``, as if
    the pixels were turned before hashing (k x 64 x 64).

    This is the one place orientations are made: ``rescind hash --dihedral``, the
    server's upload hashes and its copy-robust views all call it, so they agree bit for
    bit on the same luma. At full size (the default) the picture is filtered once, as
    pdqhash filters it: ``original`` is pdqhash's buffer to the bit, and each flip is read
    from the same filtered picture (:func:`rescind.media.filters.flip_samples`), pdqhash's
    buffer of the flipped pixels up to float rounding; a transpose transposes the buffer.
    With ``full_size``/``scale``/``reverse`` (see :func:`hash_luma`), or without ``exact``,
    banded weights instead (reversed along a flipped axis): the same tent in another order
    of sums, 2-3x cheaper at 512 px; the copy-robust views need no more than that.
    """
    height, width = full_size if full_size is not None else luma.shape[:2]
    if exact and scale == 1 and (height, width) == luma.shape[:2]:
        pixels = np.ascontiguousarray(luma, dtype=np.float32)
        filtered = tent_filter(pixels)

        def flipped(flip_rows: bool, flip_cols: bool) -> FloatArray:
            return flip_samples(pixels, filtered, flip_rows, flip_cols)

    else:
        partials: dict[bool, FloatArray] = {}

        def flipped(flip_rows: bool, flip_cols: bool) -> FloatArray:
            # Weights over a reversed axis are the flipped axis's weights, reversed.
            if flip_rows not in partials:
                rows = _read_back(height, scale, luma.shape[0], reverse[0], flip_rows)
                partials[flip_rows] = band_pass(luma, rows.dense, rows.bounds).T
            cols = _read_back(width, scale, luma.shape[1], reverse[1], flip_cols)
            return np.ascontiguousarray(band_pass(partials[flip_rows], cols.dense, cols.bounds).T)

    made: dict[tuple[bool, bool], FloatArray] = {}
    out = np.empty((len(orientations), PDQ_DIM, PDQ_DIM), dtype=np.float32)
    for k, name in enumerate(orientations):
        flip_rows, flip_cols, transpose = _TURNS[name]
        if (flip_rows, flip_cols) not in made:
            made[flip_rows, flip_cols] = flipped(flip_rows, flip_cols)
        buffer = made[flip_rows, flip_cols]
        out[k] = buffer.T if transpose else buffer
    return out


@functools.lru_cache(maxsize=256)
def _read_back(full: int, scale: int, reduced: int, reverse: bool, flip: bool) -> AxisWeights:
    """:func:`axis_weights` of the axis flipped, to apply to the axis as it is (the
    flipped axis's weights read backwards): no copy of the pixels is turned."""
    weights = axis_weights(full, scale, reduced, reverse != flip)
    if not flip:
        return weights
    length = weights.dense.shape[1]
    bounds = length - weights.bounds[:, ::-1]
    return AxisWeights(
        np.ascontiguousarray(weights.dense[:, ::-1]),
        tuple((int(a), int(b)) for a, b in bounds),
        np.ascontiguousarray(bounds),
    )


def hash_luma(
    luma: npt.NDArray[Any],
    full_size: tuple[int, int] | None = None,
    scale: int = 1,
    reverse: tuple[bool, bool] = (False, False),
    dihedral: bool = False,
) -> list[PdqHash]:
    """PDQ hashes of a 2-D luma array (values 0-255; float32 for pdqhash's exact bits).

    ``full_size`` is (height, width) of the image the luma was reduced from by ``scale``
    (default: the array itself, the exact path); ``reverse`` flags axes that run
    backwards relative to the decoder's block grid. With ``dihedral`` the 7 other
    orientations of :data:`ORIENTATIONS` follow, hashed from the turned pixels.
    """
    height, width = full_size if full_size is not None else luma.shape[:2]
    if height < MIN_HASHABLE_DIM or width < MIN_HASHABLE_DIM:
        return empty_hashes(dihedral)
    names = ORIENTATIONS if dihedral else ORIENTATIONS[:1]
    buffers = orientation_buffers(luma, (height, width), scale, reverse, names)
    return [
        PdqHash(hex_hash, quality, name)
        for (hex_hash, quality), name in zip(hashes_of_buffers(buffers), names, strict=True)
    ]
