"""Sparse pictures: text on a flat background (captions, slides, chat screenshots, memes).

A caption puts a few strokes in a field of equal pixels. PDQ's bits then mostly describe the
layout (where the lines sit), so two different captions, or one and the cut views of
another, land close: their weak views (small text in a large field) within 16 bits, their
cut views within 31 (docs/matching.md, "Sparse pictures"). A picture is *sparse* when at
least :data:`SPARSE_SHARE` of the 4x4 blocks of its 64x64 PDQ buffer hold equal pixels.
Photos have texture or noise nearly everywhere (at most 5.5% of such blocks on the
benchmark's photos), generated text pictures 17% or more.

Only the upload is judged (its pixels are at hand in the media path; a bank entry is
hashes). How a sparse upload's views count is :func:`rescind.media.robust.pair_limits`'s.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rescind.media.pdq import MIN_HASHABLE_DIM, ORIENTATIONS, orientation_buffers

SPARSE_BLOCK = 4
# Equal pixels: a block's luma range within float rounding of one level.
SPARSE_RANGE = 0.01
SPARSE_SHARE = 0.15


def flat_share(luma_view: NDArray[np.float32]) -> float:
    """The share of the 4x4 blocks of the view's 64x64 PDQ buffer (as ``_pdq`` filters it)
    whose pixels are equal; 0 for a view too small to hash."""
    if min(luma_view.shape[:2]) < MIN_HASHABLE_DIM:
        return 0.0
    buffer = orientation_buffers(luma_view, orientations=ORIENTATIONS[:1], exact=False)[0]
    side = 64 // SPARSE_BLOCK
    blocks = np.asarray(buffer, np.float32).reshape(side, SPARSE_BLOCK, side, SPARSE_BLOCK)
    spread = blocks.max(axis=(1, 3)) - blocks.min(axis=(1, 3))
    return float((spread <= SPARSE_RANGE).mean())


def is_sparse(picture: NDArray[np.float32], trimmed: NDArray[np.float32] | None) -> bool:
    """Whether an upload is sparse, as given **and** inside its flat borders (``trimmed``,
    None when it has none): a photo on wide bars or in a frame is not."""
    if flat_share(picture) < SPARSE_SHARE:
        return False
    return trimmed is None or flat_share(trimmed) >= SPARSE_SHARE
