"""Conversion and validation of caller input: hashes, ids and radii.

PDQ hex follows python-threatexchange: byte ``i`` of the 32-byte code is hex characters
``2i`` and ``2i + 1`` (what ``bytes.fromhex`` gives). Internally a code is four ``uint64``
words read little-endian from those bytes; Hamming distance does not depend on the word order.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from rescind.index.errors import InvalidHashError, InvalidIdError, InvalidRadiusError

HASH_BYTES = 32
HASH_BITS = 256
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")

Codes = npt.NDArray[np.uint64]  # shape (n, 4)
Ids = npt.NDArray[np.int64]


def _bad_hex(index: int, value: object) -> InvalidHashError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return InvalidHashError(f"hash #{index} is not 64 hex characters: {shown}")


def _from_hex(hexes: list[Any]) -> npt.NDArray[np.uint8]:
    for i, h in enumerate(hexes):
        if not isinstance(h, str) or len(h) != 2 * HASH_BYTES:
            raise _bad_hex(i, h)
    try:
        # One C call for the whole batch. fromhex skips whitespace, so a short result means
        # some string held whitespace: the per-string scan below names it.
        raw = bytes.fromhex("".join(hexes))
    except ValueError:
        raw = b""
    if len(raw) != HASH_BYTES * len(hexes):
        for i, h in enumerate(hexes):
            if not _HEX64.fullmatch(h):
                raise _bad_hex(i, h) from None
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(hexes), HASH_BYTES)


def as_bytes(hashes: object) -> npt.NDArray[np.uint8]:
    """Validate ``hashes`` and return them as a ``uint8`` array of shape ``(n, 32)``.

    Accepts a ``uint8`` array of shape ``(n, 32)`` or ``(32,)``, one 64-character hex string,
    or a sequence (or array) of them.
    """
    if isinstance(hashes, str):
        return _from_hex([hashes])
    if isinstance(hashes, np.ndarray):
        if hashes.dtype.kind in "US":
            return _from_hex(
                [h.decode() if isinstance(h, bytes) else h for h in hashes.ravel().tolist()]
            )
        if hashes.dtype != np.uint8:
            raise InvalidHashError(
                f"hash arrays must have dtype uint8, got {hashes.dtype} (use bytes, not bits)"
            )
        if hashes.ndim == 1 and hashes.shape[0] == HASH_BYTES:
            hashes = hashes.reshape(1, HASH_BYTES)
        if hashes.ndim != 2 or hashes.shape[1] != HASH_BYTES:
            raise InvalidHashError(
                f"hash arrays must have shape (n, {HASH_BYTES}), got {hashes.shape}"
            )
        return np.ascontiguousarray(hashes)
    if isinstance(hashes, bytes | bytearray):
        raise InvalidHashError("hashes must be hex strings or uint8 arrays, not bytes")
    if isinstance(hashes, Iterable):
        return _from_hex(list(hashes))
    raise InvalidHashError(
        f"hashes must be hex strings or a uint8 array, got {type(hashes).__name__}"
    )


def as_codes(hashes: object) -> Codes:
    """Like :func:`as_bytes`, viewed as four ``uint64`` words per code (shape ``(n, 4)``)."""
    if (
        isinstance(hashes, np.ndarray)
        and hashes.dtype == np.uint8
        and hashes.flags.c_contiguous
        and hashes.flags.writeable
        and hashes.shape[-1] == HASH_BYTES
        and hashes.ndim <= 2
    ):
        # Fast path for the common case (one query in search_one costs microseconds).
        # Kernels see one array type only (writable, aligned): no extra JIT specialisations.
        words = hashes.view(np.uint64)
        if words.flags.aligned:
            return words.reshape(-1, 4)
    if isinstance(hashes, str) and len(hashes) == 2 * HASH_BYTES and hashes.isascii():
        try:
            raw = bytes.fromhex(hashes)
        except ValueError:
            raw = b""
        if len(raw) == HASH_BYTES:
            return np.frombuffer(bytearray(raw), dtype=np.uint64).reshape(1, 4)
    return bytes_to_codes(as_bytes(hashes))


def bytes_to_codes(raw: npt.NDArray[np.uint8]) -> Codes:
    """Copy ``(n, 32)`` bytes into ``(n, 4)`` little-endian words."""
    # A fresh, aligned, writable array: one array type for the kernels.
    return np.array(raw, dtype=np.uint8, order="C").view("<u8").astype(np.uint64, copy=False)


def codes_to_bytes(codes: Codes) -> npt.NDArray[np.uint8]:
    """Inverse of :func:`bytes_to_codes`."""
    return np.ascontiguousarray(codes, dtype="<u8").view(np.uint8).reshape(-1, HASH_BYTES)


def as_ids(ids: object, count: int | None = None) -> Ids:
    """Validate ``ids`` (an integer or a sequence/array of integers) as a 1-D int64 array."""
    if isinstance(ids, bool | np.bool_):
        raise InvalidIdError("ids must be integers, not booleans")
    if isinstance(ids, int | np.integer):
        ids = [ids]
    try:
        arr = np.asarray(ids)
    except (TypeError, ValueError) as exc:  # ragged nesting and the like
        raise InvalidIdError(f"ids must be a sequence of integers: {exc}") from None
    if arr.size == 0:
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise InvalidIdError(f"ids must be integers that fit in int64, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise InvalidIdError(f"ids must be one-dimensional, got shape {arr.shape}")
    if arr.dtype.kind == "u" and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
        raise InvalidIdError("ids must fit in int64")
    if count is not None and arr.shape[0] != count:
        raise InvalidIdError(f"got {arr.shape[0]} ids for {count} hashes")
    return np.ascontiguousarray(arr, dtype=np.int64)


def check_radius(radius: object) -> int:
    """Return ``radius`` as an int after checking it is an integer in ``0..256``."""
    if isinstance(radius, bool | np.bool_):
        raise InvalidRadiusError("radius must be an integer, not a boolean")
    try:
        value = operator.index(radius)  # type: ignore[arg-type]
    except TypeError:
        raise InvalidRadiusError(
            f"radius must be an integer, got {type(radius).__name__}"
        ) from None
    if not 0 <= value <= HASH_BITS:
        raise InvalidRadiusError(f"radius must be between 0 and {HASH_BITS}, got {value}")
    return value
