"""A grey picture given as one channel gets exactly the views of the same grey in RGB.

Uploads reach the copy-robust views as a decoded luma plane; they go through as a
one-channel array, a third of the pixels to shrink and search for borders. The hashes must
not move by a bit from what three equal channels give."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

from rescind.media.robust import bank_signals, query_signals
from rescind.media.robust_geometry import RobustInputError, as_rgb_array, luma, trim_box

PICTURES = ["astronaut", "camera", "chelsea", "coffee", "page", "text", "brick", "moon"]


def _grey(name: str) -> np.ndarray:
    image = np.asarray(getattr(skimage.data, name)())
    if image.ndim == 3:
        image = np.round(luma(np.ascontiguousarray(image[:, :, :3]))).astype(np.uint8)
    return image


def _framed(grey: np.ndarray) -> np.ndarray:
    """The picture on a flat pad with a caption bar: something for the trims to find."""
    h, w = grey.shape
    out = np.full((h + 90, w + 40), 23, np.uint8)
    out[70 : 70 + h, 20 : 20 + w] = grey
    out[10:30, 40:200] = 240  # caption text on the pad
    return out


@pytest.mark.parametrize("name", PICTURES)
@pytest.mark.parametrize("frame", [False, True], ids=["plain", "framed"])
def test_one_channel_grey_gives_the_hashes_of_three(name: str, frame: bool) -> None:
    grey = _grey(name)
    if frame:
        grey = _framed(grey)
    one = np.ascontiguousarray(grey[:, :, None])
    three = np.ascontiguousarray(np.repeat(one, 3, axis=2))
    for signals in (query_signals, bank_signals):
        from_one = [(s.variant, s.hex, s.quality) for s in signals(one)]
        from_three = [(s.variant, s.hex, s.quality) for s in signals(three)]
        assert from_one == from_three
    assert trim_box(one) == trim_box(three)
    if frame:
        assert trim_box(one) is not None


def test_other_channel_counts_are_refused() -> None:
    with pytest.raises(RobustInputError, match=r"\(H, W, 3\)"):
        as_rgb_array(np.zeros((64, 64, 2), np.uint8))
    with pytest.raises(RobustInputError, match=r"\(H, W, 3\)"):
        as_rgb_array(np.zeros((64, 64), np.uint8))
