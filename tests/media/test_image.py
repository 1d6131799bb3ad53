"""Image hashing: PDQ equal to the reference, formats, EXIF orientation, dihedral labels."""

from __future__ import annotations

import io

import numpy as np
import pdqhash
import pytest
from PIL import Image, ImageOps
from threatexchange.signal_type.pdq import pdq_hasher

from rescind.media import (
    ORIENTATIONS,
    hamming_distance,
    hash_image,
    hash_image_bytes,
    pdq_array_to_hex,
    pdq_bits_to_hex,
    pdq_hex_to_array,
)
from tests.media.conftest import encode, photo


def reference(image: Image.Image) -> tuple[str, int]:
    """The slow reference path: full-size RGB array into pdqhash, via python-threatexchange."""
    return pdq_hasher._pdq_from_numpy_array(np.asarray(image.convert("RGB")))


def test_hex_follows_threatexchange_on_the_same_pixels(tmp_path) -> None:
    # At 64x64 PDQ does no filtering, so our pipeline and the reference see identical input.
    image = photo("camera").resize((64, 64), Image.Resampling.BOX)
    path = tmp_path / "small.png"
    image.save(path)
    ours = hash_image(path)[0]
    theirs, quality = pdq_hasher.pdq_from_file(path)
    assert ours.hash == theirs
    assert ours.quality == quality
    pixels = np.asarray(photo("chelsea"))
    bits, _ = pdqhash.compute(pixels)
    assert pdq_bits_to_hex(bits) == pdq_hasher._pdq_from_numpy_array(pixels)[0]


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "camera", "rocket"])
def test_full_size_path_equals_the_reference(name: str) -> None:
    image = photo(name)
    ours = hash_image_bytes(encode(image, "PNG"))[0]
    assert (ours.hash, ours.quality) == reference(image)


def test_large_jpeg_uses_reduced_decoding_and_stays_close() -> None:
    # 6 MP, short side 2050: decoded at 1/4 scale (with a partial last block), yet the hash
    # stays near the full decode's.
    big = photo("coffee").resize((3077, 2050), Image.Resampling.BICUBIC)
    data = encode(big, "JPEG", quality=90)
    ours = hash_image_bytes(data)[0]
    expected, _ = reference(Image.open(io.BytesIO(data)))
    assert hamming_distance(ours.hash, expected) <= 8


@pytest.mark.parametrize(
    ("fmt", "options", "max_bits"),
    [
        ("JPEG", {"quality": 90}, 12),
        ("PNG", {}, 4),
        ("WEBP", {"quality": 90}, 12),
        ("GIF", {}, 31),  # 256-colour palette changes luma a little
        ("BMP", {}, 4),
        ("TIFF", {}, 4),
        ("HEIF", {"quality": 90}, 16),
        ("AVIF", {"quality": 90}, 16),
    ],
)
def test_every_supported_format_hashes_like_the_original(fmt, options, max_bits) -> None:
    image = photo("astronaut").resize((256, 256), Image.Resampling.BOX)
    expected, _ = reference(image)
    [h] = hash_image_bytes(encode(image, fmt, **options))
    assert len(h.hash) == 64
    assert hamming_distance(h.hash, expected) <= max_bits


def test_format_is_detected_by_content_not_extension(tmp_path) -> None:
    path = tmp_path / "holiday.jpg"
    path.write_bytes(encode(photo("chelsea"), "PNG"))
    assert hamming_distance(hash_image(path)[0].hash, reference(photo("chelsea"))[0]) <= 4


@pytest.mark.parametrize("orientation", [2, 3, 4, 5, 6, 7, 8])
def test_exif_orientation_is_applied(orientation: int) -> None:
    # 1500x1030: decoded at 1/2 scale with partial blocks on the far edges, which
    # orientations 2-4 and 6-8 move to the near edge.
    upright = photo("coffee").resize((1500, 1030))
    # Store the pixels so that applying `orientation` shows them upright again.
    inverse = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270,
    }[orientation]
    stored = upright.transpose(inverse)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(stored, "JPEG", quality=95, exif=exif.tobytes())
    ours = hash_image_bytes(data)[0]
    expected, _ = reference(upright)
    # The JPEG's own pixels, turned, are the reference; the upright PNG is a few bits off.
    assert ours.hash == reference(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))[0]
    assert hamming_distance(ours.hash, expected) <= 8
    # Without the EXIF tag the same pixels would hash far away (so the tag mattered).
    assert hamming_distance(hash_image_bytes(encode(stored, "JPEG"))[0].hash, expected) > 31


def test_dihedral_gives_eight_labelled_orientations() -> None:
    image = photo("astronaut").resize((256, 256), Image.Resampling.BOX)
    hashes = hash_image_bytes(encode(image, "PNG"), dihedral=True)
    assert [h.orientation for h in hashes] == list(ORIENTATIONS)
    assert len({h.hash for h in hashes}) == 8
    by_name = {h.orientation: h.hash for h in hashes}
    transforms = {
        "rot90": Image.Transpose.ROTATE_90,
        "rot180": Image.Transpose.ROTATE_180,
        "rot270": Image.Transpose.ROTATE_270,
        "flip_h": Image.Transpose.FLIP_LEFT_RIGHT,
        "flip_v": Image.Transpose.FLIP_TOP_BOTTOM,
        "transpose": Image.Transpose.TRANSPOSE,
        "transverse": Image.Transpose.TRANSVERSE,
    }
    for name, op in transforms.items():
        copy_hash = hash_image_bytes(encode(image.transpose(op), "PNG"))[0].hash
        # The label names the transform: its hash is by far the nearest to the real copy's.
        distances = {label: hamming_distance(h, copy_hash) for label, h in by_name.items()}
        assert min(distances, key=distances.__getitem__) == name
        assert distances[name] <= 40
        assert distances["original"] > 64


def test_sixteen_bit_greyscale_is_scaled_not_clipped() -> None:
    grey = np.asarray(photo("camera"), dtype=np.uint16) * 257
    image16 = Image.fromarray(grey)
    ours = hash_image_bytes(encode(image16, "PNG"))[0]
    expected, _ = reference(photo("camera"))
    assert hamming_distance(ours.hash, expected) <= 4


def test_tiny_image_gives_the_empty_hash_with_low_quality() -> None:
    [h] = hash_image_bytes(encode(Image.new("RGB", (3, 3), "white"), "PNG"))
    assert h.hash == "0" * 64
    assert h.quality == 0
    assert h.to_dict()["low_quality"] is True


def test_flat_image_is_flagged_low_quality() -> None:
    [h] = hash_image_bytes(encode(Image.new("RGB", (300, 200), (120, 130, 140)), "PNG"))
    assert h.quality < 50
    assert h.to_dict()["low_quality"] is True


def test_hex_and_array_round_trip() -> None:
    value = hash_image_bytes(encode(photo("rocket"), "PNG"))[0].hash
    array = pdq_hex_to_array(value)
    assert array.dtype == np.uint8
    assert array.shape == (32,)
    assert pdq_array_to_hex(array) == value
    assert pdq_hex_to_array(value.upper()).tolist() == array.tolist()
    with pytest.raises(ValueError, match="64 hex digits"):
        pdq_hex_to_array("abc")
    with pytest.raises(ValueError, match="hexadecimal"):
        pdq_hex_to_array("z" * 64)
