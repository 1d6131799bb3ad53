"""PDQ's 64x64 downsampling for the copy-robust views, compiled.

A robust check hashes a dozen views of one picture (turns, trims, crops: see
:mod:`rescind.media.robust`). In numpy each filter pass is 64 small products whose call
overhead costs more than their arithmetic; here one compiled loop does a pass, without
the GIL. The weights are PDQ's (:func:`rescind.media.pdq.axis_weights`); the sums run in
another order than numpy's, so a buffer can differ from :func:`rescind.media.pdq.luma_to_64`'s
in the last bits of a float and, rarely, a hash by a bit or two near its median. The plain
hashes (``rescind hash``) keep the numpy path, which matches pdqhash.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from rescind.compiled import compile_cached

FloatArray = npt.NDArray[np.float32]


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


def band_pass(
    src: npt.NDArray[Any], dense: FloatArray, bounds: npt.NDArray[np.int64]
) -> FloatArray:
    """``dense @ src`` for a banded ``dense`` (64 x rows; ``bounds``: each row's non-zero
    span), with ``src`` rows x columns."""
    pixels = np.ascontiguousarray(src, dtype=np.float32)
    out = np.empty((dense.shape[0], pixels.shape[1]), dtype=np.float32)
    _band_pass(pixels, dense, bounds, out)
    return out
