"""Compile (or load from numba's on-disk cache) every compiled hashing path before it is needed.

A fresh install compiles its kernels on first use, which takes seconds: a server pays that at
start, before it says it is ready, not in the first check a platform sends."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from rescind.media.hashing import hash_bytes
from rescind.media.robust import bank_signals, query_signals


def warm_up() -> None:
    """Hash a small generated picture through the paths uploads take (plain PDQ with its 8
    orientations, the copy-robust query and bank views). Safe to call more than once."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, 160, dtype=np.float32)
    grey = (ramp[None, :] * 0.6 + ramp[:120, None] * 0.4) + rng.normal(0, 12, (120, 160))
    rgb = np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    hash_bytes(buffer.getvalue(), dihedral=True)
    query_signals(rgb)
    bank_signals(rgb)
