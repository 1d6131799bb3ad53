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

Video frames have a test of their own, :func:`plain_share`: a frame is *plain* (a title
card, a caption on black, flat or over a gradient, a slide) when at least
:data:`PLAIN_SHARE` of its 4x4 blocks are flat or a smooth gradient. A video match resting
on a few plain moments only is one caption against another
(`rescind.media.video_match.decide`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from rescind.media.pdq import MIN_HASHABLE_DIM, ORIENTATIONS, orientation_buffers

SPARSE_BLOCK = 4
# Equal pixels: a block's luma range within float rounding of one level.
SPARSE_RANGE = 0.01
SPARSE_SHARE = 0.15
# A video frame is plain when this share of the 4x4 blocks of its 64x64 PDQ buffer fit a
# plane (flat, or a gradient) within PLAIN_RESIDUAL luma levels (root mean square). Chosen
# on the frames of `bench/robustness_video.py --distinct 540 --seed 2` and `--seed 4`
# (quality >= 50, videos without bars): captions on black 0.84 or more, captions over
# gradients 0.74 or more, slides 0.64 or more in 95 of 100 frames; moving noise at most
# 0.62, screen recordings 0.63, photos panned or held still at most 0.58 in 95 of 100 (the
# rest: tiles of sky or of a white page, which carry as little).
PLAIN_SHARE = 0.7
PLAIN_RESIDUAL = 1.0


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


def _plane_projection() -> NDArray[np.float64]:
    """The matrix taking a 4x4 block (16 values) to its residual from the best-fit plane."""
    yy, xx = np.mgrid[0:SPARSE_BLOCK, 0:SPARSE_BLOCK]
    basis = np.stack([np.ones(SPARSE_BLOCK**2), xx.ravel(), yy.ravel()], axis=1)
    return np.asarray(np.eye(SPARSE_BLOCK**2) - basis @ np.linalg.pinv(basis), np.float64)


_PLANE_RESIDUAL = _plane_projection()


def plain_share(buffer: NDArray[np.float32]) -> float:
    """The share of the 4x4 blocks of a 64x64 PDQ buffer (luma 0-255) that are flat or a
    smooth gradient: within :data:`PLAIN_RESIDUAL` levels (RMS) of their best-fit plane."""
    side = 64 // SPARSE_BLOCK
    blocks = (
        np.asarray(buffer, np.float64)
        .reshape(side, SPARSE_BLOCK, side, SPARSE_BLOCK)
        .transpose(0, 2, 1, 3)
        .reshape(side * side, SPARSE_BLOCK**2)
    )
    residual = blocks @ _PLANE_RESIDUAL.T
    rms = np.sqrt((residual**2).mean(axis=1))
    return float((rms <= PLAIN_RESIDUAL).mean())


def is_plain(buffer: NDArray[np.float32]) -> bool:
    """Whether a video frame's 64x64 PDQ buffer is plain (:data:`PLAIN_SHARE`)."""
    return plain_share(buffer) >= PLAIN_SHARE


def is_sparse(picture: NDArray[np.float32], trimmed: Sequence[NDArray[np.float32]] = ()) -> bool:
    """Whether an upload is sparse, as given **and** inside each of its trims (``trimmed``:
    the picture inside its flat borders, tightly and loosely; none when it has none): a
    photo on wide bars or in a frame is not, nor one whose loose trim alone finds the frame
    (a phone screenshot through JPEG, whose status bar the tight trim keeps)."""
    if flat_share(picture) < SPARSE_SHARE:
        return False
    return all(flat_share(view) >= SPARSE_SHARE for view in trimmed)
