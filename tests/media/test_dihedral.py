"""``--dihedral``: one function makes the 8 orientations for the CLI and the server; each is
pdqhash of the turned pixels up to float rounding (0 bits on every picture here).

The turns are written out here with numpy, independently of the orientation code, so a
mislabelled orientation (rot90 and rot270 swapped, say) fails: it lands ~128 bits away.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pdqhash
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageOps

from rescind.media import ORIENTATIONS, hamming_distance, hash_file, pdq_bits_to_hex
from rescind.media.robust import query_signals
from tests.media.conftest import encode, photo
from tests.media.test_pdq_exact import generated

Turn = Callable[[NDArray[np.uint8]], NDArray[np.uint8]]
# What each name means, in numpy's words: np.rot90 turns counter-clockwise.
TURNS: dict[str, Turn] = {
    "original": lambda a: a,
    "rot90": lambda a: np.rot90(a, 1),
    "rot180": lambda a: np.rot90(a, 2),
    "rot270": lambda a: np.rot90(a, 3),
    "flip_v": np.flipud,
    "flip_h": np.fliplr,
    "transpose": lambda a: a.transpose(1, 0, 2),
    "transverse": lambda a: np.rot90(a, 2).transpose(1, 0, 2),
}


# Bits an orientation may be from pdqhash of the turned pixels: the flips are read from the
# filtered original, so sums run in another order (0 on every picture below when written).
ROUNDING_BITS = 2


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def pictures(tmp_path: Path) -> dict[str, Path]:
    # Sizes cover every kind of box window: 1 (<= 128 px), 2 (129-256 px, where one flipped
    # sample is weighed from the pixels), odd and even; PDQ's own 64x64 (unfiltered).
    files = {
        "astronaut.png": encode(photo("astronaut"), "PNG"),
        "odd.png": encode(generated(301, 203, seed=5), "PNG"),
        "small.jpg": encode(generated(97, 61, seed=6), "JPEG", quality=90),
        "rotated.jpg": encode(generated(250, 180, seed=7), "JPEG", exif=_exif(6)),
        "window2.png": encode(photo("brick").resize((200, 150)), "PNG"),
        "window2-edge.png": encode(photo("grass").resize((129, 256)), "PNG"),
        "pdq64.png": encode(generated(64, 64, seed=8), "PNG"),
        "tall.png": encode(generated(64, 300, seed=9), "PNG"),
        "transverse.jpg": encode(photo("coffee").resize((401, 257)), "JPEG", exif=_exif(7)),
        "mirrored.jpg": encode(photo("chelsea"), "JPEG", quality=80, exif=_exif(2)),
        "grey.png": encode(photo("camera").resize((333, 222)), "PNG"),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return {name: tmp_path / name for name in files}


def _displayed(path: Path) -> NDArray[np.uint8]:
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(path.read_bytes())))
    return np.asarray(image.convert("RGB"))


def _pdqhash(rgb: NDArray[np.uint8]) -> tuple[str, int]:
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return pdq_bits_to_hex(bits), int(quality)


def test_each_orientation_is_pdqhash_of_the_turned_pixels(tmp_path: Path) -> None:
    worst = 0
    for path in pictures(tmp_path).values():
        result = hash_file(path, dihedral=True)
        assert [h["orientation"] for h in result["pdq"]] == list(ORIENTATIONS)
        rgb = _displayed(path)
        for entry in result["pdq"]:
            expected, quality = _pdqhash(TURNS[entry["orientation"]](rgb))
            if entry["orientation"] == "original":  # the picture as displayed: to the bit
                assert (entry["hash"], entry["quality"]) == (expected, quality), path.name
            distance = hamming_distance(entry["hash"], expected)
            assert distance <= ROUNDING_BITS, (path.name, entry["orientation"], distance)
            assert abs(entry["quality"] - quality) <= 1, (path.name, entry["orientation"])
            worst = max(worst, distance)
    assert worst <= ROUNDING_BITS


def test_swapped_labels_would_fail() -> None:
    # What the test above guards against: a turn and its neighbours are far apart.
    rgb = np.asarray(photo("astronaut"))
    hashes = {name: _pdqhash(turn(rgb))[0] for name, turn in TURNS.items()}
    assert hamming_distance(hashes["rot90"], hashes["rot270"]) > 64
    assert hamming_distance(hashes["flip_h"], hashes["flip_v"]) > 64


def test_copy_robust_views_are_the_same_orientations_within_rounding(tmp_path: Path) -> None:
    # The query views call the same function with its banded filter (exact=False): for a
    # picture no larger than the 512 px working copy, "full/<name>" is the CLI's "<name>"
    # up to float rounding, so a label mix-up between the two is impossible.
    for path in pictures(tmp_path).values():
        cli = {h["orientation"]: h for h in hash_file(path, dihedral=True)["pdq"]}
        views = {s.variant: s for s in query_signals(_displayed(path), weak_views=True)}
        smooth = views["full"].smooth  # a smooth picture is checked as uploaded only
        for name in ORIENTATIONS[:1] if smooth else ORIENTATIONS:
            view = views["full" if name == "original" else f"full/{name}"]
            assert hamming_distance(view.hex, cli[name]["hash"]) <= ROUNDING_BITS, (path, name)
            assert abs(view.quality - cli[name]["quality"]) <= 1


def test_names_agree_with_pdqhash_dihedral_labels() -> None:
    # pdqhash's DCT-domain dihedral is not the turned pixels' hash, but each of its labels
    # is far nearer the same-named turn than any other: our order is pdqhash's order.
    rgb = np.asarray(photo("chelsea"))
    theirs, _ = pdqhash.compute_dihedral(rgb)
    for name, bits in zip(ORIENTATIONS, theirs, strict=True):
        ours = {other: _pdqhash(TURNS[other](rgb))[0] for other in ORIENTATIONS}
        distances = {other: hamming_distance(h, pdq_bits_to_hex(bits)) for other, h in ours.items()}
        assert min(distances, key=distances.__getitem__) == name


@pytest.mark.parametrize("orientation", [1, 6])
def test_reduced_jpeg_orientations_stay_close(tmp_path: Path, orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    big = photo("coffee").resize((1601, 1283), Image.Resampling.BICUBIC)
    path = tmp_path / "big.jpg"
    path.write_bytes(encode(big, "JPEG", quality=90, exif=exif.tobytes()))
    rgb = _displayed(path)
    for entry in hash_file(path, dihedral=True)["pdq"]:
        expected, _ = _pdqhash(TURNS[entry["orientation"]](rgb))
        assert hamming_distance(entry["hash"], expected) <= 2, entry["orientation"]
