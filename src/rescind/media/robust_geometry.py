"""Geometry for copy-robust hashing: input checks, border trimming, crops and tilts.

Pure numpy/PIL. Works on a bounded working copy so that a 12 MP upload costs the same as a
512 px one; the "full" hash is still computed on the image as given (see ``robust.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

MIN_SIDE = 16  # below this PDQ has nothing to work with; variants smaller than this are skipped
WORK_SIDE = 512  # longest side of the working copy used for trimming and variants
FLAT_TOLERANCE = 24  # per-channel distance from a line's median colour that still counts as flat
FLAT_FRACTION = 0.8  # share of a line's pixels that must be flat (icons and captions in bars)
MAX_TRIM = 0.75  # never trim more than this share of a side: what is left would be a sliver


class RobustInputError(ValueError):
    """The image cannot be hashed: empty, too small, or not 8-bit RGB."""


@dataclass(frozen=True, slots=True)
class Variant:
    """A view of the (trimmed) picture: cut fractions from each side, then tilt by degrees."""

    name: str
    left: float = 0.0
    top: float = 0.0
    right: float = 0.0
    bottom: float = 0.0
    tilt: float = 0.0


def one_side_crop(side: str, fraction: float) -> Variant:
    """A variant cutting ``fraction`` off one side: ``"l"``, ``"t"``, ``"r"`` or ``"b"``."""
    cuts = [fraction if side == s else 0.0 for s in "ltrb"]
    return Variant(f"crop_{side}{round(fraction * 100)}", cuts[0], cuts[1], cuts[2], cuts[3])


def centre_crop(keep: float) -> Variant:
    """A variant keeping the central ``keep`` share of each side."""
    cut = (1 - keep) / 2
    return Variant(f"crop_c{round(keep * 100)}", cut, cut, cut, cut)


def as_rgb_array(image: Image.Image | NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Check and convert the input to a contiguous ``uint8[H, W, 3]`` array.

    Accepts a PIL image (converted to RGB) or a ``uint8`` array of shape ``(H, W, 3)``;
    raises :class:`RobustInputError` naming the problem otherwise.
    """
    if isinstance(image, Image.Image):
        if image.width == 0 or image.height == 0:
            raise RobustInputError("image is empty (0 pixels)")
        arr = np.asarray(image.convert("RGB"))
    elif isinstance(image, np.ndarray):
        arr = image
        if arr.dtype != np.uint8:
            raise RobustInputError(f"image array must be uint8, got {arr.dtype}")
        if arr.ndim != 3 or arr.shape[2] != 3:
            raise RobustInputError(f"image array must have shape (H, W, 3), got {arr.shape}")
    else:
        raise RobustInputError(f"expected a PIL image or a numpy array, got {type(image).__name__}")
    if arr.size == 0:
        raise RobustInputError("image is empty (0 pixels)")
    if min(arr.shape[0], arr.shape[1]) < MIN_SIDE:
        raise RobustInputError(
            f"image is {arr.shape[1]}x{arr.shape[0]}; both sides must be >= {MIN_SIDE} px"
        )
    return np.ascontiguousarray(arr)


def working_copy(rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The image scaled down (box filter) so its longest side is at most :data:`WORK_SIDE`."""
    height, width = rgb.shape[:2]
    scale = WORK_SIDE / max(height, width)
    if scale >= 1:
        return rgb
    size = (max(MIN_SIDE, round(width * scale)), max(MIN_SIDE, round(height * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BOX))


def trim_box(rgb: NDArray[np.uint8]) -> tuple[int, int, int, int] | None:
    """The ``(top, bottom, left, right)`` box left after removing flat borders, or None.

    A border line (row or column) is flat when most of its pixels are close to the line's
    median colour: solid pads, letterbox bars, coloured UI bars with small icons, caption
    strips. Each line has its own colour, so stacked bars of different colours all go.
    None when nothing is flat at the edges or when trimming would leave a sliver.
    """
    height, width = rgb.shape[:2]
    pixels = rgb.astype(np.int16)
    top, bottom = _flat_run(pixels)
    left, right = _flat_run(pixels[top : height - bottom].transpose(1, 0, 2))
    # Columns first removed side bars; rows can now be flat where a side bar broke them.
    top2, bottom2 = _flat_run(pixels[top : height - bottom, left : width - right])
    top, bottom = top + top2, bottom + bottom2
    if top + bottom + left + right == 0:
        return None
    if top + bottom > MAX_TRIM * height or left + right > MAX_TRIM * width:
        return None
    if height - top - bottom < MIN_SIDE or width - left - right < MIN_SIDE:
        return None
    return top, height - bottom, left, width - right


def _flat_run(pixels: NDArray[np.int16]) -> tuple[int, int]:
    """How many flat rows lead and trail ``pixels`` (H, W, 3)."""
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        return 0, 0
    median = np.median(pixels, axis=1, keepdims=True)
    close = np.abs(pixels - median).max(axis=2) <= FLAT_TOLERANCE
    flat = close.mean(axis=1) >= FLAT_FRACTION
    lead = int(np.argmin(flat)) if not flat.all() else flat.size
    trail = int(np.argmin(flat[::-1])) if not flat.all() else 0
    return lead, trail


def render_variant(rgb: NDArray[np.uint8], variant: Variant) -> NDArray[np.uint8] | None:
    """The variant's view of ``rgb``, or None when it would be smaller than :data:`MIN_SIDE`."""
    view = rgb
    if variant.tilt:
        # Same canvas, black corners: how most editors and screenshots of tilted photos look.
        image = Image.fromarray(view).rotate(
            variant.tilt, resample=Image.Resampling.BICUBIC, fillcolor=(0, 0, 0)
        )
        view = np.asarray(image)
    height, width = view.shape[:2]
    top, bottom = round(height * variant.top), height - round(height * variant.bottom)
    left, right = round(width * variant.left), width - round(width * variant.right)
    if bottom - top < MIN_SIDE or right - left < MIN_SIDE:
        return None
    return np.ascontiguousarray(view[top:bottom, left:right])
