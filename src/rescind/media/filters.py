"""PDQ's luma and 64x64 downsampling exactly as ``pdqhash`` computes them, compiled.

``pdqhash.compute`` takes luma as ``0.299 r + 0.587 g + 0.114 b`` in float64, stored as
float32, then blurs it with two passes of a box filter along rows then columns, each a
running sum in float32 (add the entering pixel, subtract the leaving one, divide by the
window), and keeps 64x64 samples. Float sums depend on their order, so to get pdqhash's
bits we repeat its arithmetic operation for operation: the same running sums, in the
same direction, at float32. Only the loop order across independent sums differs (all
columns of a pass at once, which vectorises); that does not change any value.

A box pass along rows is a pass along columns of the transposed array, so every pass
runs down columns, with a blocked transpose between passes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from rescind.compiled import compile_cached

FloatArray = npt.NDArray[np.float32]
PDQ_DIM = 64
_TILE = 32  # transpose tile: 32 x 32 float32 fit in L1 twice over


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
def _transpose(src: Any, dst: Any) -> None:  # pragma: no cover
    n, m = src.shape
    for i0 in range(0, n, _TILE):
        for j0 in range(0, m, _TILE):
            for i in range(i0, min(i0 + _TILE, n)):
                for j in range(j0, min(j0 + _TILE, m)):
                    dst[j, i] = src[i, j]


def pdq_luma_rgb(rgb: npt.NDArray[np.uint8]) -> FloatArray:
    """pdqhash's float32 luma of an 8-bit ``(H, W, >=3)`` array (any strides; extra
    channels such as alpha are ignored, as pdqhash ignores them)."""
    out = np.empty(rgb.shape[:2], dtype=np.float32)
    _luma_rgb(rgb, out)
    return out


def window_size(length: int) -> int:
    """PDQ's box window along an axis of ``length`` pixels (computeJaroszFilterWindowSize)."""
    return (length + 2 * PDQ_DIM - 1) // (2 * PDQ_DIM)


def jarosz_64(luma: npt.NDArray[Any]) -> FloatArray:
    """pdqhash's 64x64 buffer of a 2-D luma array (any strides): the two box-filter passes
    along rows and columns, then the samples at the centres of a 64x64 grid.

    Bit-identical to pdqhash for float32 input; a 64x64 input is returned as is, as
    pdqhash leaves it unfiltered.
    """
    height, width = luma.shape
    if (height, width) == (PDQ_DIM, PDQ_DIM):
        return np.array(luma, dtype=np.float32)
    along_rows, along_cols = window_size(width), window_size(height)
    source = luma if luma.dtype == np.float32 else luma.astype(np.float32)
    across = np.empty((width, height), dtype=np.float32)  # rows as columns
    across_out = np.empty_like(across)
    down = np.empty((height, width), dtype=np.float32)
    down_out = np.empty_like(down)
    _transpose(source, across)
    for rep in range(2):  # PDQ_NUM_JAROSZ_XY_PASSES
        _box_down(across, across_out, along_rows)
        _transpose(across_out, down)
        _box_down(down, down_out, along_cols)
        if rep == 0:
            _transpose(down_out, across)
    # decimateFloat: (int)(((i + 0.5) * n) / 64), in double as in C.
    rows = (((np.arange(PDQ_DIM) + 0.5) * height) / PDQ_DIM).astype(np.int64)
    cols = (((np.arange(PDQ_DIM) + 0.5) * width) / PDQ_DIM).astype(np.int64)
    return np.ascontiguousarray(down_out[np.ix_(rows, cols)])
