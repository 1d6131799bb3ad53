"""PDQ's luma and 64x64 downsampling as ``pdqhash`` computes them, compiled.

``pdqhash.compute`` takes luma as ``0.299 r + 0.587 g + 0.114 b`` in float64, stored as
float32, then blurs it with two passes of a box filter along rows then columns, each a
running sum in float32 (add the entering pixel, subtract the leaving one, divide by the
window), and keeps 64x64 samples. Float sums depend on their order, so to get pdqhash's
bits we repeat its arithmetic operation for operation: the same running sums, in the
same direction, at float32. Only the loop order across independent sums differs (several
rows, or all columns, of a pass at once); that does not change any value.

The other orientations come from the same filtered picture (:func:`flip_samples`), and
the reduced JPEG path and its orientations from banded weights (:func:`band_pass`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from rescind.compiled import compile_cached

FloatArray = npt.NDArray[np.float32]
PDQ_DIM = 64
_ROWS_AT_ONCE = 8  # independent running sums in flight: hides the latency of each add


@compile_cached
def _luma_rgb(rgb: Any, out: Any) -> None:  # pragma: no cover
    # pdqhash's binding: (r * 0.299 + g * 0.587) + b * 0.114 in float64, then float32.
    # Numba does not fuse multiply-adds without fastmath, so each step rounds as numpy's.
    for i in range(rgb.shape[0]):
        for j in range(rgb.shape[1]):
            r = np.float64(rgb[i, j, 0]) * 0.299
            g = np.float64(rgb[i, j, 1]) * 0.587
            b = np.float64(rgb[i, j, 2]) * 0.114
            out[i, j] = np.float32((r + g) + b)


@compile_cached
def _box_down(src: Any, dst: Any, window: int) -> None:  # pragma: no cover
    # PDQ's box1DFloat down every column at once: phase 1 fills the sum, phase 2 writes
    # with a growing window, phase 3 slides it, phase 4 shrinks it at the far edge.
    n, m = src.shape
    half = (window + 2) // 2
    sums = np.zeros(m, np.float32)
    ri = li = oi = count = 0
    for _ in range(half - 1):
        row = src[ri]
        for c in range(m):
            sums[c] += row[c]
        ri += 1
        count += 1
    for _ in range(window - half + 1):
        count += 1
        fc = np.float32(count)
        row, out = src[ri], dst[oi]
        for c in range(m):
            s = sums[c] + row[c]
            sums[c] = s
            out[c] = s / fc
        ri += 1
        oi += 1
    fc = np.float32(count)
    for _ in range(n - window):
        add, sub, out = src[ri], src[li], dst[oi]
        for c in range(m):
            s = (sums[c] + add[c]) - sub[c]
            sums[c] = s
            out[c] = s / fc
        ri += 1
        li += 1
        oi += 1
    for _ in range(half - 1):
        count -= 1
        fc = np.float32(count)
        sub, out = src[li], dst[oi]
        for c in range(m):
            s = sums[c] - sub[c]
            sums[c] = s
            out[c] = s / fc
        li += 1
        oi += 1


@compile_cached
def _box_across(src: Any, dst: Any, window: int) -> None:  # pragma: no cover
    # The same box1DFloat along each row, a few rows side by side: one row's running sum is
    # a chain of dependent adds, several in flight keep the core busy (no transposes).
    n_rows, n = src.shape
    half = (window + 2) // 2
    sums = np.zeros(_ROWS_AT_ONCE, np.float32)
    for r0 in range(0, n_rows, _ROWS_AT_ONCE):
        nr = min(_ROWS_AT_ONCE, n_rows - r0)
        for r in range(nr):
            sums[r] = 0.0
        ri = li = oi = count = 0
        for _ in range(half - 1):
            for r in range(nr):
                sums[r] += src[r0 + r, ri]
            ri += 1
            count += 1
        for _ in range(window - half + 1):
            count += 1
            fc = np.float32(count)
            for r in range(nr):
                s = sums[r] + src[r0 + r, ri]
                sums[r] = s
                dst[r0 + r, oi] = s / fc
            ri += 1
            oi += 1
        fc = np.float32(count)
        for _ in range(n - window):
            for r in range(nr):
                s = (sums[r] + src[r0 + r, ri]) - src[r0 + r, li]
                sums[r] = s
                dst[r0 + r, oi] = s / fc
            ri += 1
            li += 1
            oi += 1
        for _ in range(half - 1):
            count -= 1
            fc = np.float32(count)
            for r in range(nr):
                s = sums[r] - src[r0 + r, li]
                sums[r] = s
                dst[r0 + r, oi] = s / fc
            li += 1
            oi += 1


@compile_cached
def _band_pass(src: Any, dense: Any, bounds: Any, out: Any) -> None:  # pragma: no cover
    # out[i] = sum over the rows r of band i of dense[i, r] * src[r]: one row at a time,
    # so the inner loop runs along contiguous memory.
    width = src.shape[1]
    for i in range(out.shape[0]):
        for c in range(width):
            out[i, c] = 0.0
        for r in range(bounds[i, 0], bounds[i, 1]):
            w = dense[i, r]
            for c in range(width):
                out[i, c] += w * src[r, c]


@compile_cached
def _dct_16(buffers: Any, dct: Any, dct_t: Any, out: Any) -> None:  # pragma: no cover
    # dct64To16: T = D A, then B = T D', each sum over k in pdqhash's order, at float32
    # (each product rounded, then added: no fused multiply-add without fastmath).
    partial = np.empty((16, PDQ_DIM), np.float32)
    for b in range(buffers.shape[0]):
        partial[:] = 0.0
        for i in range(16):
            for k in range(PDQ_DIM):
                d = dct[i, k]
                for j in range(PDQ_DIM):
                    partial[i, j] += d * buffers[b, k, j]
        for i in range(16):
            for j in range(16):
                out[b, i, j] = 0.0
            for k in range(PDQ_DIM):
                p = partial[i, k]
                for j in range(16):
                    out[b, i, j] += p * dct_t[k, j]


def dct_16(buffers: FloatArray, dct: FloatArray) -> FloatArray:
    """pdqhash's 16x16 DCT of each 64x64 buffer (k x 64 x 64), to the bit, given its
    16 x 64 DCT matrix."""
    pixels = np.ascontiguousarray(buffers, dtype=np.float32)
    out = np.empty((len(pixels), 16, 16), dtype=np.float32)
    _dct_16(pixels, dct, np.ascontiguousarray(dct.T), out)
    return out


def band_pass(
    src: npt.NDArray[Any], dense: FloatArray, bounds: npt.NDArray[np.int64]
) -> FloatArray:
    """``dense @ src`` for a banded ``dense`` (64 x rows; ``bounds``: each row's non-zero
    span), with ``src`` rows x columns. Not pdqhash's order of sums: for the reduced path."""
    pixels = np.ascontiguousarray(src, dtype=np.float32)
    out = np.empty((dense.shape[0], pixels.shape[1]), dtype=np.float32)
    _band_pass(pixels, dense, bounds, out)
    return out


def pdq_luma_rgb(rgb: npt.NDArray[np.uint8]) -> FloatArray:
    """pdqhash's float32 luma of an 8-bit ``(H, W, >=3)`` array (any strides; extra
    channels such as alpha are ignored, as pdqhash ignores them)."""
    out = np.empty(rgb.shape[:2], dtype=np.float32)
    _luma_rgb(rgb, out)
    return out


def window_size(length: int) -> int:
    """PDQ's box window along an axis of ``length`` pixels (computeJaroszFilterWindowSize)."""
    return (length + 2 * PDQ_DIM - 1) // (2 * PDQ_DIM)


def _along_rows(pixels: FloatArray, window: int) -> FloatArray:
    """Both of pdqhash's box passes along the rows only (a few rows of a picture)."""
    once = np.empty_like(pixels)
    twice = np.empty_like(pixels)
    _box_across(pixels, once, window)
    _box_across(once, twice, window)
    return twice


def _along_columns(pixels: FloatArray, window: int) -> FloatArray:
    """Both of pdqhash's box passes down the columns only (a few columns of a picture)."""
    once = np.empty_like(pixels)
    twice = np.empty_like(pixels)
    _box_down(pixels, once, window)
    _box_down(once, twice, window)
    return twice


def tent_filter(luma: npt.NDArray[Any]) -> FloatArray:
    """pdqhash's blurred picture at full size: two box passes along rows then columns,
    bit for bit for float32 input. A 64x64 picture is returned as is (pdqhash leaves it
    unfiltered)."""
    height, width = luma.shape
    source = np.ascontiguousarray(luma, dtype=np.float32)
    if (height, width) == (PDQ_DIM, PDQ_DIM):
        return source
    along_rows, along_cols = window_size(width), window_size(height)
    across = np.empty_like(source)
    down = np.empty_like(source)
    for rep in range(2):  # PDQ_NUM_JAROSZ_XY_PASSES
        _box_across(source if rep == 0 else down, across, along_rows)
        _box_down(across, down, along_cols)
    return down


def sample_positions(length: int) -> npt.NDArray[np.int64]:
    """decimateFloat's 64 sample positions along an axis: (int)(((i + 0.5) * n) / 64)."""
    return (((np.arange(PDQ_DIM) + 0.5) * length) / PDQ_DIM).astype(np.int64)


def jarosz_64(luma: npt.NDArray[Any]) -> FloatArray:
    """pdqhash's 64x64 buffer of a 2-D luma array (any strides), bit for bit for float32."""
    height, width = luma.shape
    filtered = tent_filter(luma)
    return np.ascontiguousarray(filtered[np.ix_(sample_positions(height), sample_positions(width))])


def _tent_rows(length: int, positions: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """The weights (one row per position, ``length`` columns) of pdqhash's two box passes
    along an axis, at the given output positions, in exact arithmetic."""
    window = window_size(length)
    half = (window + 2) // 2
    idx = np.arange(length)
    lo = np.maximum(0, idx - (window - half))
    hi = np.minimum(length - 1, idx + half - 1)
    count = (hi - lo + 1).astype(np.float64)
    out = np.zeros((len(positions), length))
    for row, o in zip(out, positions, strict=True):
        for k in range(lo[o], hi[o] + 1):  # second pass: box k, weighted 1 / count[o]
            row[lo[k] : hi[k] + 1] += 1.0 / (count[o] * count[k])
    return out


@dataclass(frozen=True)
class AxisSamples:
    """Where the 64 samples of a (possibly flipped) axis are found in the filtered picture.

    ``positions``: indices into the filtered axis, as it runs in the original picture;
    ``edges``: the few samples that no filtered position equals, each as (sample index,
    first source index, weights over the source from there), taken from the picture itself.
    """

    positions: npt.NDArray[np.int64]
    edges: tuple[tuple[int, int, npt.NDArray[np.float64]], ...]


@functools.lru_cache(maxsize=256)
def axis_samples(length: int, flip: bool) -> AxisSamples:
    """The samples of an axis of ``length`` pixels, or of the same axis reversed.

    Reversing the pixels reverses pdqhash's box, which is not centred for an even window
    (one more pixel after than before): sample ``i`` of the flipped axis is the filtered
    original at ``length - 1 - p_i - 2d`` (``d`` = 1 for an even window, 0 for an odd one;
    two passes), except where the box meets the far edge of the original (at most one
    sample, for windows of 2 pixels): that one is weighed from the pixels directly.
    """
    forward = sample_positions(length)
    if not flip:
        return AxisSamples(forward, ())
    shift = 2 if window_size(length) % 2 == 0 else 0
    positions = np.clip(length - 1 - forward - shift, 0, length - 1)
    wanted = _tent_rows(length, forward)[:, ::-1]  # the flipped axis's tents, as in the original
    found = _tent_rows(length, positions)
    edges = []
    for i in np.flatnonzero(np.abs(wanted - found).max(axis=1) > 1e-9):
        nonzero = np.flatnonzero(wanted[i])
        start, stop = int(nonzero[0]), int(nonzero[-1]) + 1
        edges.append((int(i), start, wanted[i, start:stop].copy()))
    return AxisSamples(positions, tuple(edges))


def flip_samples(
    luma: FloatArray, filtered: FloatArray, flip_rows: bool, flip_cols: bool
) -> FloatArray:
    """The 64x64 buffer of ``luma`` flipped as asked, from ``filtered`` (:func:`tent_filter`
    of ``luma``): pdqhash's buffer of the flipped pixels up to float rounding (pdqhash's
    own bits when nothing is flipped)."""
    height, width = luma.shape
    if (height, width) == (PDQ_DIM, PDQ_DIM):  # unfiltered: flipping the buffer is exact
        return np.ascontiguousarray(
            luma[:: -1 if flip_rows else 1, :: -1 if flip_cols else 1], dtype=np.float32
        )
    rows, cols = axis_samples(height, flip_rows), axis_samples(width, flip_cols)
    buffer = np.ascontiguousarray(filtered[np.ix_(rows.positions, cols.positions)])
    for i, start, weights in rows.edges:
        strip = _along_rows(
            np.ascontiguousarray(luma[start : start + len(weights)]), window_size(width)
        )
        buffer[i] = weights @ strip[:, cols.positions]
    for j, start, weights in cols.edges:
        strip = _along_columns(
            np.ascontiguousarray(luma[:, start : start + len(weights)]), window_size(height)
        )
        buffer[:, j] = strip[rows.positions] @ weights
        for i, row_start, row_weights in rows.edges:  # a corner: both axes from the pixels
            corner = luma[row_start : row_start + len(row_weights), start : start + len(weights)]
            buffer[i, j] = row_weights @ corner.astype(np.float64) @ weights
    return buffer
