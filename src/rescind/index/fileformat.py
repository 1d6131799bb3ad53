"""On-disk format of a saved index: one segment, its tables included, so loading is a read.

Layout (all integers little-endian)::

    offset 0   magic        8 bytes  b"RSCNDHIX"
           8   version      u32      FORMAT_VERSION
          12   flags        u32      bit 0: the segment has tables (else it is scanned)
          16   rows         u64      rows stored (all live: a save compacts first)
          24   payload_len  u64      bytes after the 64-byte header
          32   payload_crc  u32      zlib.crc32 of the payload
          36   header_crc   u32      zlib.crc32 of bytes 0..35
          40   zero padding to 64
    64         payload: ids int64[n], codes uint64[n, 4], perm uint8[16, n * w],
               vals uint16[2, 8, n], offs uint32[2, 8, 65537], each padded to 64 bytes
               (without tables: perm, vals and offs are empty). ``perm`` holds the row
               numbers of table A of each group, then of table B, as ``w``-byte
               little-endian integers (``w = build.row_width(n)``: 3 below 2**24 rows).

Version 1 files (perm uint32[8, n]: rows of table A only) are still read: their ids and
codes are checked and the tables are built again (about half a second per million rows).

The checksum catches corruption, not tampering; loading also checks the structural
invariants the kernels rely on (sorted unique ids, bucket offsets within bounds, row numbers
below ``rows``), so even a crafted file cannot make a search read out of bounds.
"""

from __future__ import annotations

import os
import struct
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rescind.index.build import NBUCKETS, NGROUPS, row_width
from rescind.index.errors import IndexFileError
from rescind.index.segment import Segment, build_segment, pack_alive

MAGIC = b"RSCNDHIX"
FORMAT_VERSION = 2
# Older versions this one still reads (their tables are rebuilt on load).
REBUILT_VERSIONS = (1,)
HEADER_SIZE = 64
_HEADER = struct.Struct("<8sIIQQI")  # up to payload_crc; header_crc follows
_ALIGN = 64


FLAG_TABLES = 1


def _layout(
    n: int, tables: bool, version: int = FORMAT_VERSION
) -> list[tuple[str, np.dtype[np.generic], tuple[int, ...]]]:
    t = n if tables else 0
    perm = (
        ("perm", np.dtype("<u4"), (NGROUPS, t))
        if version == 1
        else ("perm", np.dtype("u1"), (2 * NGROUPS, t * row_width(n)))
    )
    return [
        ("ids", np.dtype("<i8"), (n,)),
        ("codes", np.dtype("<u8"), (n, 4)),
        perm,
        ("vals", np.dtype("<u2"), (2, NGROUPS, t)),
        ("offs", np.dtype("<u4"), (2, NGROUPS, NBUCKETS + 1 if tables else 0)),
    ]


def _padded(nbytes: int) -> int:
    return -(-nbytes // _ALIGN) * _ALIGN


def _payload_len(n: int, tables: bool, version: int = FORMAT_VERSION) -> int:
    return sum(
        _padded(int(np.prod(shape)) * dt.itemsize) for _, dt, shape in _layout(n, tables, version)
    )


def write_segment(path: str | os.PathLike[str], seg: Segment) -> None:
    """Write a fully live segment to ``path`` atomically (temporary file, fsync, rename)."""
    if seg.n_live != len(seg):
        raise ValueError("only a compacted segment (no tombstones) can be saved")
    n = len(seg)
    arrays = {"ids": seg.ids, "codes": seg.codes, "perm": seg.perm, "vals": seg.vals}
    arrays["offs"] = seg.offs
    crc = 0
    chunks: list[bytes | memoryview] = []
    for name, dtype, shape in _layout(n, seg.has_tables):
        arr = np.ascontiguousarray(arrays[name], dtype=dtype)
        assert arr.shape == shape
        data = arr.reshape(-1).view(np.uint8).data
        pad = bytes(_padded(data.nbytes) - data.nbytes)
        crc = zlib.crc32(pad, zlib.crc32(data, crc))
        chunks += [data, pad]
    flags = FLAG_TABLES if seg.has_tables else 0
    head = _HEADER.pack(MAGIC, FORMAT_VERSION, flags, n, _payload_len(n, seg.has_tables), crc)
    head += struct.pack("<I", zlib.crc32(head))
    head += bytes(HEADER_SIZE - len(head))
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(head)
            for chunk in chunks:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def read_segment(path: str | os.PathLike[str]) -> Segment:
    """Read and verify a segment written by :func:`write_segment`.

    Raises :class:`IndexFileError` naming the problem: missing or unreadable file, wrong
    magic, unsupported version, truncated or oversized file, checksum mismatch, or broken
    structure.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(HEADER_SIZE)
            if len(head) < HEADER_SIZE:
                raise IndexFileError(f"{path}: truncated (no complete header)")
            magic, version, flags, n, payload_len, crc = _HEADER.unpack_from(head)
            if magic != MAGIC:
                raise IndexFileError(f"{path}: not a Rescind index file (bad magic {magic!r})")
            (header_crc,) = struct.unpack_from("<I", head, _HEADER.size)
            if zlib.crc32(head[: _HEADER.size]) != header_crc:
                raise IndexFileError(f"{path}: corrupt header (checksum mismatch)")
            if version != FORMAT_VERSION and version not in REBUILT_VERSIONS:
                raise IndexFileError(
                    f"{path}: format version {version} is not supported "
                    f"(this Rescind reads version {FORMAT_VERSION})"
                )
            tables = bool(flags & FLAG_TABLES)
            expected = _payload_len(n, tables, version)
            if flags & ~FLAG_TABLES or n >= 2**32 - 1 or payload_len != expected:
                raise IndexFileError(f"{path}: corrupt header (inconsistent sizes)")
            size = os.fstat(f.fileno()).st_size
            if size < HEADER_SIZE + payload_len:
                raise IndexFileError(
                    f"{path}: truncated ({size} bytes, expected {HEADER_SIZE + payload_len})"
                )
            if size > HEADER_SIZE + payload_len:
                raise IndexFileError(f"{path}: trailing data after the index")
            buf = np.empty(payload_len, np.uint8)
            if f.readinto(buf.data) != payload_len:
                raise IndexFileError(f"{path}: truncated while reading")
    except OSError as exc:
        raise IndexFileError(f"{path}: cannot read index file: {exc}") from exc
    if zlib.crc32(buf.data) != crc:
        raise IndexFileError(f"{path}: corrupt payload (checksum mismatch)")
    arrays: dict[str, npt.NDArray[Any]] = {}
    pos = 0
    for name, dtype, shape in _layout(n, tables, version):
        nbytes = int(np.prod(shape)) * dtype.itemsize
        arr = buf[pos : pos + nbytes].view(dtype).reshape(shape)
        arrays[name] = arr if sys.byteorder == "little" else arr.astype(dtype.newbyteorder("="))
        pos += _padded(nbytes)
    if version != FORMAT_VERSION:  # an older layout: keep the rows, build the tables again
        ids = arrays["ids"].view(np.int64)
        if n > 1 and not bool(np.all(ids[1:] > ids[:-1])):
            raise IndexFileError(f"{path}: corrupt index (ids not strictly increasing)")
        return build_segment(ids, arrays["codes"].view(np.uint64))
    if tables:
        _check_tables(str(path), n, arrays)
    elif n > 1 and not bool(np.all(arrays["ids"][1:] > arrays["ids"][:-1])):
        raise IndexFileError(f"{path}: corrupt index (ids not strictly increasing)")
    seg = Segment(
        ids=arrays["ids"].view(np.int64),
        codes=arrays["codes"].view(np.uint64),
        perm=arrays["perm"].view(np.uint8),
        vals=arrays["vals"].view(np.uint16),
        offs=arrays["offs"].view(np.uint32),
        alive=pack_alive(np.ones(n, dtype=bool)),
        n_live=n,
    )
    return seg


def _check_tables(path: str, n: int, arrays: dict[str, npt.NDArray[Any]]) -> None:
    """Invariants the kernels need to stay in bounds; cheap next to the checksum."""
    ids = arrays["ids"]
    offs = arrays["offs"]
    perm = arrays["perm"]
    problems = []
    if n > 1 and not bool(np.all(ids[1:] > ids[:-1])):
        problems.append("ids not strictly increasing")
    if not (bool(np.all(offs[:, :, 0] == 0)) and bool(np.all(offs[:, :, -1] == n))):
        problems.append("bucket offsets do not span the rows")
    elif not bool(np.all(offs[:, :, 1:] >= offs[:, :, :-1])):
        problems.append("bucket offsets not increasing")
    width = row_width(n)
    rows = np.zeros(perm.size // width if n else 0, np.int64)
    for k in range(width):
        rows |= perm.reshape(-1, width)[:, k].astype(np.int64) << (8 * k)
    if n and int(rows.max()) >= n:
        problems.append("row number out of range")
    if problems:
        raise IndexFileError(f"{path}: corrupt index ({'; '.join(problems)})")
