"""Table construction: per group, the (A, B) and (B, A) orders of the rows.

See ``kernels`` for the table layout and why it makes search exact.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rescind.index._jit import kernel

NGROUPS = 8
NBUCKETS = 1 << 16
Array = Any
Scalar = Any
# Row numbers in the tables take 3 bytes below this many rows, 4 from there on.
SHORT_ROWS = 1 << 24


def row_width(n: int) -> int:
    """Bytes per row number in the tables of a segment of ``n`` rows."""
    return 3 if n < SHORT_ROWS else 4


@kernel
def _put_row(perm: Array, at: int, row: Scalar, width: int) -> None:
    """Store ``row`` as entry ``at`` of the little-endian ``width``-byte row numbers."""
    pos = at * width
    for k in range(width):
        perm[pos + k] = np.uint8((row >> np.uint64(8 * k)) & np.uint64(255))


@kernel
def _radix_pass(src: Array, dst: Array, shift: int, counts: Array) -> None:
    """One stable LSD radix pass on the byte of ``src`` at bit ``shift``."""
    pos = np.empty(256, np.int64)
    total = 0
    for k in range(256):
        pos[k] = total
        total += counts[k]
    sh = np.uint64(shift)
    for j in range(src.shape[0]):
        x = src[j]
        digit = np.int64((np.uint64(x) >> sh) & np.uint64(255))
        dst[pos[digit]] = x
        pos[digit] += 1


@kernel
def build_tables(codes: Array, perm: Array, width: int, vals: Array, offs: Array) -> None:
    """Fill ``perm`` (uint8, 16 * n * width: the rows of table A of each group, then of
    table B, ``width`` bytes each), ``vals`` (2, 8, n) and ``offs`` (2, 8, 65537) for
    ``codes`` (n, 4).

    Per group, an LSD radix sort (8-bit digits, stable) of ``(A << 16 | B) << 32 | row``
    gives the ``(A, B)`` order with ties by row; two more passes on ``B`` of that order give
    the ``(B, A)`` order, each entry keeping its row in the low 32 bits. Byte-wide digits
    keep the scatter writes in cache, unlike a 65,536-way counting sort.
    """
    n = codes.shape[0]
    elems = np.empty(n, np.uint64)
    spare = np.empty(n, np.uint64)
    counts = np.zeros((4, 256), np.int64)
    for g in range(NGROUPS):
        word = g >> 1
        shift = np.uint64(32 * (g & 1))
        offa = offs[0, g]
        offb = offs[1, g]
        offa[:] = 0
        offb[:] = 0
        counts[:] = 0
        for r in range(n):
            x = (codes[r, word] >> shift) & np.uint64(0xFFFFFFFF)
            a = x & np.uint64(0xFFFF)
            b = x >> np.uint64(16)
            elems[r] = (((a << np.uint64(16)) | b) << np.uint64(32)) | np.uint64(r)
            offa[np.int64(a) + 1] += 1
            offb[np.int64(b) + 1] += 1
            counts[0, np.int64(b & np.uint64(255))] += 1
            counts[1, np.int64(b >> np.uint64(8))] += 1
            counts[2, np.int64(a & np.uint64(255))] += 1
            counts[3, np.int64(a >> np.uint64(8))] += 1
        for k in range(NBUCKETS):
            offa[k + 1] += offa[k]
            offb[k + 1] += offb[k]
        _radix_pass(elems, spare, 32, counts[0])
        _radix_pass(spare, elems, 40, counts[1])
        _radix_pass(elems, spare, 48, counts[2])
        _radix_pass(spare, elems, 56, counts[3])
        valb = vals[0, g]
        for j in range(n):
            e = elems[j]
            _put_row(perm, g * n + j, e & np.uint64(0xFFFFFFFF), width)
            valb[j] = (e >> np.uint64(32)) & np.uint64(0xFFFF)
            # re-key for the (B, A) order: B in bits 48..63, A in bits 32..47
            a = e >> np.uint64(48)
            b = (e >> np.uint64(32)) & np.uint64(0xFFFF)
            spare[j] = (b << np.uint64(48)) | (a << np.uint64(32)) | (e & np.uint64(0xFFFFFFFF))
        _radix_pass(spare, elems, 48, counts[0])
        _radix_pass(elems, spare, 56, counts[1])
        vala = vals[1, g]
        for j in range(n):
            vala[j] = (spare[j] >> np.uint64(32)) & np.uint64(0xFFFF)
            _put_row(perm, (NGROUPS + g) * n + j, spare[j] & np.uint64(0xFFFFFFFF), width)
