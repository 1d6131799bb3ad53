"""Exact Hamming radius search over 256-bit (PDQ) hashes: :class:`HammingIndex`.

A pure library (numpy + numba); it knows nothing of the web app or the database.
"""

from rescind.index.errors import (
    HammingIndexError,
    IndexFileError,
    InvalidHashError,
    InvalidIdError,
    InvalidRadiusError,
)
from rescind.index.hamming import HammingIndex, warm_up

__all__ = [
    "HammingIndex",
    "HammingIndexError",
    "IndexFileError",
    "InvalidHashError",
    "InvalidIdError",
    "InvalidRadiusError",
    "warm_up",
]
