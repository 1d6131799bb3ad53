"""The compiled and batched steps of the copy-robust views agree with the numpy/pdqhash ones."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

from rescind.media.pdq import (
    axis_weights,
    fast_luma_to_64,
    hashes_from_64,
    hashes_of_buffers,
    luma_to_64,
    turned_64,
)

PHOTOS = ("astronaut", "camera", "coffee", "chelsea", "rocket", "page", "moon", "brick", "grass")


def _grey(name: str) -> np.ndarray:
    image = getattr(skimage.data, name)()
    grey = image if image.ndim == 2 else image[..., :3].mean(axis=2)
    return np.ascontiguousarray(grey, dtype=np.float32)


def _buffers() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    out = []
    for name in PHOTOS:
        grey = _grey(name)
        for view in (grey, grey[13:-7, 21:], grey[::3, ::2], grey[50:, :300] * 0.4 + 30):
            out += [np.ascontiguousarray(b) for b in turned_64(view).values()]
    for _ in range(100):
        out.append(rng.random((64, 64), dtype=np.float32) * 255)
        out.append(np.cumsum(rng.standard_normal((64, 64)), axis=1).astype(np.float32) * 4 + 128)
    return out


def test_batched_hashes_are_pdqhash_s() -> None:
    buffers = _buffers()
    batched = hashes_of_buffers(np.stack(buffers))
    same = 0
    for buffer, (hex_hash, quality) in zip(buffers, batched, strict=True):
        (reference,) = hashes_from_64(buffer)
        distance = (int(reference.hash, 16) ^ int(hex_hash, 16)).bit_count()
        assert distance <= 2
        assert abs(quality - reference.quality) <= 1
        same += distance == 0 and quality == reference.quality
    assert same >= 0.99 * len(buffers)
    assert hashes_of_buffers(np.zeros((0, 64, 64), np.float32)) == []


@pytest.mark.parametrize("name", PHOTOS)
def test_compiled_downsampling_is_numpy_s_within_rounding(name: str) -> None:
    grey = _grey(name)[: 301 if name != "page" else None]
    height, width = grey.shape
    reference = luma_to_64(
        grey, axis_weights(height, 1, height, False), axis_weights(width, 1, width, False)
    )
    fast = fast_luma_to_64(grey)
    assert fast.shape == (64, 64)
    np.testing.assert_allclose(fast, reference, rtol=0, atol=1e-3)
    # turned buffers are the plain one moved
    turned = turned_64(grey)
    np.testing.assert_allclose(turned["original"], reference, rtol=0, atol=1e-3)
    np.testing.assert_allclose(
        turned["flip_h"],
        luma_to_64(
            np.ascontiguousarray(grey[:, ::-1]),
            axis_weights(height, 1, height, False),
            axis_weights(width, 1, width, False),
        ),
        rtol=0,
        atol=1e-3,
    )
