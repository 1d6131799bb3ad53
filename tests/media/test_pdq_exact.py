"""The full-size path is pdqhash to the bit; the reduced JPEG path stays within 2 bits.

The reference throughout is ``pdqhash.compute(np.asarray(image.convert("RGB")))`` on the
picture as displayed (EXIF orientation applied), what ``rescind hash`` must equal.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pdqhash
import pytest
from PIL import Image, ImageOps

from rescind.media import hamming_distance, hash_bytes, hash_file, pdq_bits_to_hex
from rescind.media.filters import jarosz_64
from rescind.media.image import decode_luma
from rescind.media.pdq import _dct16, hashes_of_buffers, pdq_luma
from tests.media.conftest import encode, photo

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "moon", "page", "text")
# (width, height): odd, tiny, PDQ's own 64x64 (left unfiltered), very wide and very tall.
SIZES = ((5, 5), (7, 9), (31, 17), (64, 64), (65, 63), (127, 129), (333, 1001), (1500, 40))
SIZES += ((40, 1500), (997, 601))


def reference(data: bytes) -> tuple[str, int]:
    """pdqhash on the full-size RGB pixels of the picture as displayed."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    bits, quality = pdqhash.compute(np.ascontiguousarray(np.asarray(image.convert("RGB"))))
    return pdq_bits_to_hex(bits), int(quality)


def ours(data: bytes) -> tuple[str, int]:
    first = hash_bytes(data).pdq[0]
    return first.hash, first.quality


def generated(width: int, height: int, seed: int = 0) -> Image.Image:
    """A synthetic picture: gradients, a disc, a bar and noise, nothing flat."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    red = 255 * x / max(1, width - 1)
    green = 127 + 100 * np.sin(y / max(1, height) * 7 + x / max(1, width) * 3)
    blue = np.where(
        (x - width / 3) ** 2 + (y - height / 2) ** 2 < (min(width, height) / 3) ** 2, 230, 40
    )
    blue = np.where((x > width * 0.7) & (x < width * 0.8), 10, blue)
    rgb = np.stack([red, green, blue], axis=2) + rng.normal(0, 12, (height, width, 3))
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize("fmt", [("PNG", {}), ("JPEG", {"quality": 95}), ("JPEG", {"quality": 40})])
def test_photos_hash_exactly_as_pdqhash(name: str, fmt: tuple[str, dict[str, int]]) -> None:
    data = encode(photo(name), fmt[0], **fmt[1])
    assert decode_luma(data).scale == 1  # the full-size path
    assert ours(data) == reference(data)


@pytest.mark.parametrize("size", SIZES)
def test_generated_sizes_hash_exactly_as_pdqhash(size: tuple[int, int]) -> None:
    image = generated(*size, seed=size[0])
    for data in (encode(image, "PNG"), encode(image, "JPEG", quality=80)):
        assert ours(data) == reference(data)


@pytest.mark.parametrize(
    "mode", ["L", "P", "RGBA", "LA", "1", "CMYK"], ids=lambda mode: f"mode-{mode}"
)
def test_other_8_bit_modes_hash_as_their_rgb_conversion(mode: str) -> None:
    image = photo("chelsea").convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    data = encode(image, fmt)
    assert ours(data) == reference(data)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_applied_and_exact(orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(generated(301, 203, seed=orientation), "JPEG", quality=90, exif=exif.tobytes())
    assert ours(data) == reference(data)


def _degenerate() -> dict[str, np.ndarray]:
    half = np.asarray(generated(200, 150, seed=1))
    rows, cols = np.mgrid[0:256, 0:256]
    checker = (((rows // 16 + cols // 16) % 2) * 255).astype(np.uint8)
    return {
        "mirrored": np.concatenate([half, half[:, ::-1]], axis=1),
        "flat": np.full((120, 90, 3), 137, np.uint8),
        "checker": np.repeat(checker[:, :, None], 3, axis=2),
        "gradient": np.repeat(rows.astype(np.uint8)[:, :, None], 3, axis=2),
    }


@pytest.mark.parametrize("name", ["mirrored", "flat", "checker", "gradient"])
def test_degenerate_pictures_match_to_the_float_rounding(name: str) -> None:
    # Symmetric and flat pictures have DCT coefficients that are zero in exact arithmetic:
    # their bits come from float rounding, so only pdqhash's own order of sums gives them
    # (a BLAS matrix product for the DCT is 2-124 bits off here).
    data = encode(Image.fromarray(np.ascontiguousarray(_degenerate()[name])), "PNG")
    assert ours(data) == reference(data)


def test_tiny_pictures_give_pdqs_empty_hash() -> None:
    data = encode(generated(4, 40), "PNG")
    assert ours(data) == reference(data) == ("0" * 64, 0)


@pytest.mark.parametrize("quality", [95, 75, 50])
@pytest.mark.parametrize("name", ["astronaut", "coffee", "rocket", "camera"])
def test_reduced_jpeg_path_is_within_two_bits(name: str, quality: int) -> None:
    big = photo(name).resize((1600, 1280), Image.Resampling.BICUBIC)
    data = encode(big, "JPEG", quality=quality)
    assert decode_luma(data).scale == 2  # decoded at half size by libjpeg
    got, expected = ours(data), reference(data)
    assert hamming_distance(got[0], expected[0]) <= 2
    assert abs(got[1] - expected[1]) <= 1


def test_hash_file_is_exact_too(tmp_path: Path) -> None:
    path = tmp_path / "rocket.png"
    photo("rocket").save(path)
    result = hash_file(path)
    assert (result["pdq"][0]["hash"], result["pdq"][0]["quality"]) == reference(path.read_bytes())


@pytest.mark.parametrize("size", [(64, 64), (77, 100), (512, 384), (2000, 300)])
def test_dct_coefficients_equal_pdqhash_float_output(size: tuple[int, int]) -> None:
    # Stronger than equal hashes: every float of pdqhash's 16x16 DCT output, to the bit.
    rgb = np.asarray(generated(*size, seed=3))
    expected, _ = pdqhash.compute_float(rgb)
    coefs = _dct16(jarosz_64(pdq_luma(rgb))[None])[0]
    assert np.array_equal(coefs.reshape(-1)[::-1].astype(np.float64), expected)


def test_luma_is_the_bindings_float64_formula() -> None:
    rng = np.random.default_rng(11)
    rgba = rng.integers(0, 256, (37, 53, 4), dtype=np.uint8)
    rgb = rgba[:, :, :3]
    expected = (rgb[:, :, 0] * 0.299 + rgb[:, :, 1] * 0.587 + rgb[:, :, 2] * 0.114).astype(
        np.float32
    )
    assert np.array_equal(pdq_luma(rgba), expected)
    assert np.array_equal(pdq_luma(rgb[:, ::-1]), expected[:, ::-1])  # any strides
    grey = rgba[:, :, 0]
    assert np.array_equal(pdq_luma(grey), pdq_luma(np.repeat(grey[:, :, None], 3, axis=2)))


def test_no_buffers_no_hashes() -> None:
    assert hashes_of_buffers(np.zeros((0, 64, 64), np.float32)) == []
