"""Brute-force reference the index is checked against: popcount of XOR over every row."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)


def distances(bank: npt.NDArray[np.uint8], query: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """Hamming distance from ``query`` (32 bytes) to every row of ``bank`` (n, 32)."""
    if bank.shape[0] == 0:
        return np.empty(0, np.int64)
    return POPCOUNT8[np.bitwise_xor(bank, query)].sum(axis=1)


def reference(
    ids: npt.NDArray[np.int64],
    bank: npt.NDArray[np.uint8],
    query: npt.NDArray[np.uint8],
    radius: int,
) -> list[tuple[int, int]]:
    """Every (id, distance) within ``radius``, sorted by (distance, id)."""
    d = distances(bank, query)
    hit = np.flatnonzero(d <= radius)
    return sorted(zip(ids[hit].tolist(), d[hit].tolist(), strict=True), key=lambda t: (t[1], t[0]))


def flip(
    code: npt.NDArray[np.uint8], bits: list[int] | npt.NDArray[np.int64]
) -> npt.NDArray[np.uint8]:
    """A copy of ``code`` with the given bit positions (0..255) flipped."""
    out = code.copy()
    for b in bits:
        out[int(b) // 8] ^= np.uint8(1 << (int(b) % 8))
    return out


def random_codes(rng: np.random.Generator, n: int) -> npt.NDArray[np.uint8]:
    """``n`` uniformly random 32-byte codes."""
    return rng.integers(0, 256, (n, 32), dtype=np.uint8)
