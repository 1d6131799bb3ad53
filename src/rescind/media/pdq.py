"""PDQ hashes from luma, with PDQ's own downsampling done by us, fast.

The reference path (``pdqhash.compute`` on a full-size RGB array) spends most of its time
in a tent filter over every pixel. PDQ only ever looks at the 64x64 samples of that
filtered image, and the filter is linear and separable, so the 64x64 buffer equals
``Wr @ luma @ Wc.T`` for two small weight matrices that we build once per size. We hand
that 64x64 buffer to ``pdqhash`` (which leaves a 64x64 input unfiltered) for the DCT,
the median threshold and the quality metric, so the hash itself stays the reference's.

When the luma was decoded at a reduced scale (JPEG DCT scaling: each output pixel is
the mean of an ``s x s`` block), the weights are the full-size weights summed over each
block, which keeps the result within a few bits of the full-size reference.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pdqhash

from rescind.media.filters import band_pass

PDQ_DIM = 64
MIN_HASHABLE_DIM = 5  # PDQ gives the all-zero hash, quality 0, below this size
LOW_QUALITY = 50  # Meta's recommendation: do not match on hashes below this quality

# pdqhash.compute_dihedral's output order, labelled by what was done to the original.
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


def fast_luma_to_64(luma: npt.NDArray[Any]) -> FloatArray:
    """:func:`luma_to_64` of a whole 2-D luma array through the compiled passes of
    :mod:`rescind.media.filters`: for the copy-robust views, not the plain hash."""
    height, width = luma.shape
    rows = axis_weights(height, 1, height, False)
    cols = axis_weights(width, 1, width, False)
    partial = band_pass(luma, rows.dense, rows.bounds)
    return band_pass(partial.T, cols.dense, cols.bounds).T


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


def turned_64(luma: npt.NDArray[Any]) -> dict[str, FloatArray]:
    """The 64x64 buffers of a 2-D luma array turned to each of the 8 orientations (as if
    the pixels were moved first, not pdqhash's DCT-domain dihedral), from 2 row passes.

    PDQ's weights along an axis depend only on its length, so a transpose only transposes
    the buffer, and a flip reverses the weights along its axis: the 8 turns are the 4 flips'
    buffers and their transposes. Equal to moving the pixels up to float rounding (the
    passes are compiled, see :mod:`rescind.media.filters`).
    """
    height, width = luma.shape
    rows = axis_weights(height, 1, height, False)
    cols = axis_weights(width, 1, width, False)
    down = band_pass(luma, rows.dense, rows.bounds)
    up = band_pass(luma[::-1], rows.dense, rows.bounds)
    # A column pass is a row pass of the transpose; each result below is transposed back.
    p00 = band_pass(down.T, cols.dense, cols.bounds).T  # as given
    p01 = band_pass(down.T[::-1], cols.dense, cols.bounds).T  # mirrored
    p10 = band_pass(up.T, cols.dense, cols.bounds).T  # upside down
    p11 = band_pass(up.T[::-1], cols.dense, cols.bounds).T  # both
    return {
        "original": p00,
        "rot90": p01.T,
        "rot180": p11,
        "rot270": p10.T,
        "flip_v": p10,
        "flip_h": p01,
        "transpose": p00.T,
        "transverse": p11.T,
    }


# PDQ's DCT: rows 1-16 of the 64-point DCT-II (the DC row left out), as pdqhash builds it.
_DCT = (
    np.sqrt(2 / PDQ_DIM)
    * np.cos(np.pi / 2 / PDQ_DIM * np.arange(1, 17)[:, None] * (2 * np.arange(PDQ_DIM) + 1))
).astype(np.float32)
# pdqhash's luma of a grey RGB pixel (0.299 r + 0.587 g + 0.114 b in float32, in its order).
_GREY = np.arange(256, dtype=np.float32)
_GREY_LUMA = (
    (np.float32(0.299) * _GREY + np.float32(0.587) * _GREY) + np.float32(0.114) * _GREY
).astype(np.float32)


def hashes_of_buffers(buffers: FloatArray) -> list[tuple[str, int]]:
    """(hex, quality) of each 64x64 buffer of ``buffers`` (k x 64 x 64): what
    :func:`hashes_from_64` gives one by one, in a few numpy calls for all of them.

    The steps are pdqhash's on the rounded grey buffer: its float32 luma, the 16x16 DCT,
    bits above the lower median, and the quality from the truncated gradient sum. Only the
    order of float sums differs, so on rare buffers a bit pair flips or the quality moves by
    one (``tests/media/test_pdq_batch.py``); the copy-robust views use it, not the plain hash.
    """
    count = len(buffers)
    if count == 0:
        return []
    grey = np.clip(np.rint(buffers), 0, 255).astype(np.uint8)
    pixels = _GREY_LUMA[grey]
    coefs = (_DCT @ pixels @ _DCT.T).reshape(count, 256)
    median = np.sort(coefs, axis=1)[:, 127:128]  # the lower median, as pdqhash's torben
    # bit i*16 + j is coefficient (i, j); the hex runs from bit 255 down
    packed = np.packbits((coefs > median)[:, ::-1], axis=1)
    hundred, scale = np.float32(100), np.float32(255)
    down = np.trunc((pixels[:, :-1, :] - pixels[:, 1:, :]) * hundred / scale)
    across = np.trunc((pixels[:, :, :-1] - pixels[:, :, 1:]) * hundred / scale)
    gradient = np.abs(down).sum(axis=(1, 2), dtype=np.int64)
    gradient += np.abs(across).sum(axis=(1, 2), dtype=np.int64)
    quality = np.minimum(gradient // 90, 100)
    return [(bytes(p).hex(), int(q)) for p, q in zip(packed, quality, strict=True)]


def hashes_from_64(buffer: FloatArray, dihedral: bool = False) -> list[PdqHash]:
    """PDQ hash (and optionally the 7 other orientations) of a 64x64 luma buffer."""
    grey = np.clip(np.rint(buffer), 0, 255).astype(np.uint8)
    rgb = np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if not dihedral:
        bits, quality = pdqhash.compute(rgb)
        return [PdqHash(pdq_bits_to_hex(bits), int(quality), "original")]
    all_bits, quality = pdqhash.compute_dihedral(rgb)
    return [
        PdqHash(pdq_bits_to_hex(bits), int(quality), name)
        for bits, name in zip(all_bits, ORIENTATIONS, strict=True)
    ]


def empty_hashes(dihedral: bool) -> list[PdqHash]:
    """What PDQ gives for an image too small to hash: zero bits, quality 0."""
    names = ORIENTATIONS if dihedral else ORIENTATIONS[:1]
    return [PdqHash("0" * 64, 0, name) for name in names]


def hash_luma(
    luma: npt.NDArray[Any],
    full_size: tuple[int, int] | None = None,
    scale: int = 1,
    reverse: tuple[bool, bool] = (False, False),
    dihedral: bool = False,
) -> list[PdqHash]:
    """PDQ hashes of a 2-D luma array (values 0-255).

    ``full_size`` is (height, width) of the image the luma was reduced from by ``scale``
    (default: the array itself); ``reverse`` flags axes that run backwards relative to
    the decoder's block grid.
    """
    height, width = full_size if full_size is not None else luma.shape[:2]
    if height < MIN_HASHABLE_DIM or width < MIN_HASHABLE_DIM:
        return empty_hashes(dihedral)
    rows = axis_weights(height, scale, luma.shape[0], reverse[0])
    cols = axis_weights(width, scale, luma.shape[1], reverse[1])
    return hashes_from_64(luma_to_64(luma, rows, cols), dihedral)
