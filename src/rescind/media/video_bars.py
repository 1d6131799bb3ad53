"""Letterbox and pillarbox bars of a video, decided once for the whole video.

A copy re-encoded for another screen shape gains flat bars (usually black) above and below
or left and right of the picture, which moves every pixel PDQ sees: the copy's frame hashes
are far from the original's. Trimming the bars before hashing brings them back together.

Bars are measured on a few frames spread over the video and the median of each side is
kept, so one dark scene or a fade does not decide for the rest, and every frame of the
video is cut the same way (a per-frame decision would jitter with the content).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# A line is part of a bar when its pixels spread at most this much (luma levels, 5th to
# 95th percentile) and its mean is this close to the outermost line's: compression noise
# on a flat bar stays well inside, a line of picture does not.
_FLAT_SPREAD = 16.0
_SAME_COLOUR = 12.0
# Bars are black (or nearly: limited-range black is 16): a flat wall or sky at the picture's
# edge is picture, and cutting it would make views the copy does not share.
_DARKEST_BAR = 40.0
# Bars thinner than this share of the side are noise (an encoder's black first line).
MIN_BAR_SHARE = 0.02
# What must remain of each axis for a trim to be believed (else it is a dark picture).
MIN_KEEP_SHARE = 0.5
# Trim this much more than measured, as a share of the axis: the bar's edge is blurred by
# compression, and a small crop costs PDQ far less than a sliver of bar.
EDGE_MARGIN = 0.01
# At most this many lines per axis are inspected, evenly spaced (cost stays flat in size).
_PROBE = 256


@dataclass(frozen=True)
class Box:
    """The picture inside its bars: lines cut from each side of a frame as displayed, for
    frames of ``height`` x ``width`` (a frame of another size is not cut)."""

    height: int = 0
    width: int = 0
    top: int = 0
    bottom: int = 0
    left: int = 0
    right: int = 0

    @property
    def empty(self) -> bool:
        """True when nothing is cut."""
        return not (self.top or self.bottom or self.left or self.right)

    def crop(self, luma: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8] | None:
        """``luma`` without the bars; None when nothing is cut or the frame's size differs."""
        if self.empty or luma.shape != (self.height, self.width):
            return None
        return luma[self.top : self.height - self.bottom, self.left : self.width - self.right]


def _bar_lines(lines: npt.NDArray[np.float32]) -> int:
    """How many leading lines (rows of ``lines``) are one flat colour."""
    low, high = np.percentile(lines, [5, 95], axis=1)
    flat = (high - low) <= _FLAT_SPREAD
    means = lines.mean(axis=1)
    same = np.abs(means - means[0]) <= _SAME_COLOUR
    bar = flat & same & (means[0] <= _DARKEST_BAR)
    return int(np.argmin(bar)) if not bar.all() else len(bar)


def measure_bars(luma: npt.NDArray[np.uint8]) -> Box | None:
    """Bars of one frame, in pixels; None when the frame is flat through (a fade, a title)."""
    height, width = luma.shape
    if height < 8 or width < 8:
        return None
    rows = np.linspace(0, width - 1, min(width, _PROBE)).astype(int)
    cols = np.linspace(0, height - 1, min(height, _PROBE)).astype(int)
    across = luma[:, rows].astype(np.float32)  # each row, probed
    down = luma[cols, :].T.astype(np.float32)  # each column, probed
    top = _bar_lines(across)
    if top >= height * (1 - MIN_KEEP_SHARE):
        return None
    bottom = _bar_lines(across[::-1])
    left = _bar_lines(down)
    right = _bar_lines(down[::-1])
    if top + bottom >= height * (1 - MIN_KEEP_SHARE) or left + right >= width * (
        1 - MIN_KEEP_SHARE
    ):
        return None
    return Box(height, width, top, bottom, left, right)


def decide_bars(boxes: Sequence[Box | None]) -> Box:
    """The video's bars: the median of each side over the measured frames, with a margin.

    Sides thinner than `MIN_BAR_SHARE` of the axis are left alone. An empty box when most
    frames could not be measured or the frames measured differ in size.
    """
    measured = [b for b in boxes if b is not None]
    if not measured or len(measured) * 2 < len(boxes):
        return Box()
    height, width = measured[0].height, measured[0].width
    if any((b.height, b.width) != (height, width) for b in measured):
        return Box()

    def side(values: list[int], axis: int) -> int:
        lines = float(np.median(values))
        if lines < MIN_BAR_SHARE * axis:
            return 0
        return min(axis, round(lines + EDGE_MARGIN * axis))

    return Box(
        height,
        width,
        side([b.top for b in measured], height),
        side([b.bottom for b in measured], height),
        side([b.left for b in measured], width),
        side([b.right for b in measured], width),
    )
