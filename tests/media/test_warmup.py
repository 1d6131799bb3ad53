"""The hashing kernels can be compiled ahead of the first upload, and that changes no hash."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from rescind.media import hash_bytes, warm_up


def test_warm_up_runs_twice_and_hashes_stay_the_same() -> None:
    rng = np.random.default_rng(7)
    picture = rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    before = hash_bytes(buffer.getvalue(), dihedral=True).to_dict()
    warm_up()
    warm_up()
    assert hash_bytes(buffer.getvalue(), dihedral=True).to_dict() == before
