"""Letterbox and pillarbox bars: measured per frame, decided once per video."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rescind.media.video_bars import Box, decide_bars, measure_bars

RNG = np.random.default_rng(7)


def picture(height: int, width: int) -> NDArray[np.uint8]:
    return RNG.integers(40, 255, size=(height, width), dtype=np.uint8)


def boxed(inner: NDArray[np.uint8], top: int, side: int, level: int = 16) -> NDArray[np.uint8]:
    h, w = inner.shape
    out = np.full((h + 2 * top, w + 2 * side), level, dtype=np.uint8)
    out[top : top + h, side : side + w] = inner
    return out


def test_letterbox_and_pillarbox_are_measured() -> None:
    assert measure_bars(boxed(picture(100, 160), 20, 0)) == Box(140, 160, 20, 20, 0, 0)
    assert measure_bars(boxed(picture(120, 90), 0, 30)) == Box(120, 150, 0, 0, 30, 30)


def test_a_flat_bright_edge_is_picture_not_a_bar() -> None:
    frame = picture(120, 160)
    frame[:, :40] = 200  # a white wall along the left side
    box = measure_bars(frame)
    assert box is not None and box.left == 0


def test_a_black_frame_is_not_measured_and_the_median_decides() -> None:
    barred = boxed(picture(100, 160), 20, 0)
    assert measure_bars(np.full_like(barred, 16)) is None
    boxes = [measure_bars(barred)] * 5 + [measure_bars(np.full_like(barred, 16))] * 2
    boxes.append(Box(140, 160, 60, 60, 0, 0))  # one dark scene reads as thicker bars
    decided = decide_bars(boxes)
    margin = round(0.01 * 140)
    assert (decided.top, decided.bottom, decided.left, decided.right) == (
        20 + margin,
        20 + margin,
        0,
        0,
    )
    cut = decided.crop(barred)
    assert cut is not None and cut.shape == (100 - 2 * margin, 160)


def test_thin_bars_and_frames_of_another_size_are_left_alone() -> None:
    thin = boxed(picture(136, 160), 2, 0)
    assert decide_bars([measure_bars(thin)] * 3).empty
    box = decide_bars([measure_bars(boxed(picture(100, 160), 20, 0))] * 3)
    assert box.crop(picture(100, 100)) is None
