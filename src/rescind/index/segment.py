"""Immutable segments: a set of (id, code) rows with their multi-index tables.

A segment never changes after it is built, except that a new *version* of it can carry a
different liveness bitmap (removal is a tombstone, copied on write). Rows are kept sorted by
id, so looking an id up is a binary search and no separate id map is stored.

Memory per row: code 32 B + id 8 B + 8 groups x (two 3-byte rows, one per table, and two
2-byte partner chunks) = 120 B, plus 4.2 MB of bucket offsets per segment and one liveness
bit (rows take 4 bytes in segments of 2**24 rows or more: 136 B).

The kernels compare partner chunks 16 at a time and may read up to 15 entries past a bucket,
so the ``vals`` array of a segment always has ``LANES`` readable entries after its end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cache

import numpy as np
import numpy.typing as npt

from rescind.index import kernels
from rescind.index._jit import LANES
from rescind.index.build import NBUCKETS, NGROUPS, build_tables, row_width
from rescind.index.codes import Codes, Ids

# The brute-force scan beats the tables once a query is expected to cost this much per
# stored row (in scanned-row units, see kernels.VERIFY_COST): radius 60 and up on random
# codes.
TABLE_WORK_PER_ROW = 1.0
# Each table query stops and scans instead once its actual work passes this budget, so a
# skewed bank (huge buckets) costs at most about three scans per query.
QUERY_WORK_PER_ROW = 2.0
QUERY_WORK_FLOOR = 4096
# Below this many rows a scan is as fast as the tables, which cost 4 MB of offsets: such
# segments have no tables.
SMALL_SEGMENT = 4096
# Bytes per cache line: a segment's codes start on one (see ``line_aligned``).
LINE_BYTES = 64


@dataclass(frozen=True, eq=False)
class Segment:
    """Rows sorted by id plus their tables; see ``kernels`` for the table layout."""

    ids: Ids  # (n,) ascending, unique
    codes: Codes  # (n, 4)
    perm: npt.NDArray[np.uint8]  # (16, n * w) rows of table A, then B, per group (w bytes)
    vals: npt.NDArray[np.uint16]  # (2, 8, n) partner chunk in table A / table B order
    offs: npt.NDArray[np.uint32]  # (2, 8, 65537) bucket starts in table A / table B
    alive: npt.NDArray[np.uint8]  # (ceil(n / 8),) liveness bits, little-endian bit order
    n_live: int

    def __post_init__(self) -> None:
        if self.vals.size and not _readable_after(self.vals, LANES * self.vals.itemsize):
            object.__setattr__(self, "vals", padded_vals(self.vals))
        if self.codes.size and self.codes.ctypes.data % LINE_BYTES:
            object.__setattr__(self, "codes", line_aligned(self.codes))

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @property
    def has_tables(self) -> bool:
        """Small segments are only ever scanned and carry no tables."""
        return int(self.offs.shape[2]) == NBUCKETS + 1

    @property
    def nbytes(self) -> int:
        """Bytes held by this segment's arrays."""
        return sum(
            int(a.nbytes)
            for a in (self.ids, self.codes, self.perm, self.vals, self.offs, self.alive)
        )

    def with_alive(self, alive: npt.NDArray[np.uint8]) -> Segment:
        """A version of this segment with another liveness bitmap."""
        n_live = int(np.unpackbits(alive, count=len(self), bitorder="little").sum())
        return replace(self, alive=alive, n_live=n_live)

    def live_rows(self) -> npt.NDArray[np.bool_]:
        """Boolean mask of the live rows."""
        return np.unpackbits(self.alive, count=len(self), bitorder="little").astype(bool)

    def find(self, ids: Ids) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """Positions in ``ids`` and rows of this segment where those ids are stored live."""
        n = len(self)
        if n == 0 or ids.shape[0] == 0:
            empty = np.empty(0, np.intp)
            return empty, empty
        rows = np.searchsorted(self.ids, ids)
        rows_clipped = np.minimum(rows, n - 1)
        hit = (rows < n) & (self.ids[rows_clipped] == ids)
        where = np.flatnonzero(hit)
        rows = rows_clipped[where]
        live = (self.alive[rows >> 3] >> (rows & 7)) & 1 == 1
        return where[live], rows[live]


def _readable_after(arr: npt.NDArray[np.generic], nbytes: int) -> bool:
    """Whether the ``nbytes`` after the C-contiguous ``arr`` belong to the same allocation."""
    root = arr
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not (arr.flags.c_contiguous and root.flags.c_contiguous):
        return False
    end = arr.ctypes.data + arr.nbytes + nbytes
    return bool(end <= root.ctypes.data + root.nbytes)


def line_aligned(codes: Codes) -> Codes:
    """A copy of ``codes`` starting on a cache line, so that each 32-byte code lies in one
    line: a candidate's code is then one line to fetch, not two for every other row (numpy
    puts large arrays 16 bytes past a page boundary)."""
    raw = np.empty(codes.nbytes + LINE_BYTES, np.uint8)
    skip = -raw.ctypes.data % LINE_BYTES
    out = raw[skip : skip + codes.nbytes].view(np.uint64).reshape(codes.shape)
    out[:] = codes
    return out


def padded_vals(vals: npt.NDArray[np.uint16]) -> npt.NDArray[np.uint16]:
    """A copy of ``vals`` followed by ``LANES`` readable zero entries."""
    buf = np.zeros(vals.size + LANES, np.uint16)
    buf[: vals.size] = vals.reshape(-1)
    return buf[: vals.size].reshape(vals.shape)


def pack_alive(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint8]:
    """Pack a boolean liveness mask into the bitmap the kernels read."""
    return np.packbits(mask, bitorder="little")


def build_segment(ids: Ids, codes: Codes) -> Segment:
    """Build a segment from unique ``ids`` and their ``codes``."""
    if not bool(np.all(ids[1:] > ids[:-1])):
        order = np.argsort(ids, kind="stable")
        ids = ids[order]
        codes = codes[order]
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    codes = np.ascontiguousarray(codes, dtype=np.uint64)
    n = ids.shape[0]
    if n >= 2**32 - 1:
        raise ValueError("a segment holds fewer than 2**32 - 1 rows")
    if n < SMALL_SEGMENT:
        perm = np.empty((2 * NGROUPS, 0), np.uint8)
        vals = np.empty((2, NGROUPS, 0), np.uint16)
        offs = np.empty((2, NGROUPS, 0), np.uint32)
    else:
        perm = np.empty((2 * NGROUPS, n * row_width(n)), np.uint8)
        vals = np.empty(2 * NGROUPS * n + LANES, np.uint16)[:-LANES].reshape(2, NGROUPS, n)
        offs = np.empty((2, NGROUPS, NBUCKETS + 1), np.uint32)
        build_tables(codes, perm.reshape(-1), row_width(n), vals, offs)
    alive = pack_alive(np.ones(n, dtype=bool))
    return Segment(ids, codes, perm, vals, offs, alive, n)


@cache
def mask_tables() -> tuple[npt.NDArray[np.uint16], npt.NDArray[np.int64]]:
    """All 16-bit masks ordered by popcount, and how many have popcount <= h for each h."""
    values = np.arange(NBUCKETS, dtype=np.uint32)
    pops = np.unpackbits(values.astype("<u2").view(np.uint8)).reshape(-1, 16).sum(axis=1)
    order = np.argsort(pops, kind="stable")
    cum = np.cumsum(np.bincount(pops, minlength=17)).astype(np.int64)
    return values[order].astype(np.uint16), cum


@cache
def probe_template(radius: int) -> npt.NDArray[np.int64]:
    """The buckets a query probes at ``radius`` (see ``kernels.probe_template``)."""
    masks, cum = mask_tables()
    template: npt.NDArray[np.int64] = kernels.probe_template(radius, masks, cum)
    return template


@cache
def _probed_buckets(radius: int) -> int:
    """Buckets probed per query at ``radius`` (both tables of every group)."""
    return int(probe_template(radius).shape[1])


@cache
def _candidate_rate(radius: int) -> float:
    """Expected candidates per stored row and query on uniformly random codes: the chance
    that a row's 32-bit group is within the group's threshold, summed over the groups."""
    within = np.cumsum([math.comb(32, k) for k in range(33)]) / 2.0**32
    return float(sum(within[t] for t in kernels.group_thresholds(radius).tolist() if t >= 0))


def _table_work(n: int, radius: int) -> float:
    """Expected cost of a table search on uniformly random codes, in scanned-row units."""
    scanned = _probed_buckets(radius) * n / NBUCKETS
    return scanned + kernels.VERIFY_COST * _candidate_rate(radius) * n


def table_radius_limit(seg: Segment) -> int:
    """The largest radius at which ``seg`` is searched through its tables (-1: always
    scanned). Table work grows with the radius; past this a linear scan is cheaper."""
    if not seg.has_tables:
        return -1
    return _table_radius_limit(len(seg), TABLE_WORK_PER_ROW)


@cache
def _table_radius_limit(n: int, work_per_row: float) -> int:
    radius = -1
    while radius < 256 and _table_work(n, radius + 1) <= work_per_row * n:
        radius += 1
    return radius


def query_work_limit(seg: Segment) -> int:
    """Table work after which one query on ``seg`` gives up and scans (skewed banks)."""
    return int(QUERY_WORK_PER_ROW * len(seg)) + QUERY_WORK_FLOOR
