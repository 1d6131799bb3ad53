"""Search plans: one compiled call searches every segment and the buffer of a snapshot.

A single query costs a few microseconds of memory latency in the kernel, so the Python and
numba dispatch around it must cost less: one call, few arguments. A :class:`SearchPlan` is
built once per snapshot (by the writer that publishes it) and lists, in one int64 array, the
address and size of every array the kernels read: each segment's codes, liveness, ids and
tables, and the append buffer. The kernel views that memory in place (``numba.carray``). The
plan keeps references to the arrays it lists, and a search holds the plan for the whole call,
so the addresses stay valid; every listed array is C-contiguous and never written after it is
published (the buffer only grows past the ``n`` recorded here).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import carray  # type: ignore[attr-defined]

from rescind.index import kernels
from rescind.index._jit import LANES, address_as_pointer, kernel
from rescind.index.build import NBUCKETS, NGROUPS
from rescind.index.codes import Codes, Ids
from rescind.index.segment import (
    Segment,
    probe_template,
    query_work_limit,
    table_radius_limit,
)

# Plan layout: a header, then one record per searched part.
HEADER = 1  # the number of parts
ROWS, CODES, ALIVE, IDS, PERM, VALS, OFFS, TABLE_RADIUS, WORK_LIMIT = range(9)
FIELDS = 9

# Rows of a thread's work buffer (int64, shape (WORK_ROWS, capacity)): the candidate scratch
# of ``kernels.table_search``, the hits (query, id, distance), then the per-probe state.
HIT_QUERY, HIT_ID, HIT_DIST = range(kernels.SCRATCH_ROWS, kernels.SCRATCH_ROWS + 3)
STATE = HIT_DIST + 1
WORK_ROWS = STATE + kernels.STATE_ROWS
MIN_CAPACITY = 4096

Array = Any
Scalar = Any
Hits = tuple[npt.NDArray[np.int64], Ids, npt.NDArray[np.int64]]
Match = tuple[int, int]


def _address(arr: npt.NDArray[Any]) -> int:
    assert arr.flags.c_contiguous, "plans list C-contiguous arrays only"
    return int(arr.__array_interface__["data"][0])


@dataclass(frozen=True, eq=False)
class SearchPlan:
    """The parts of one snapshot, as the search kernel reads them."""

    table: npt.NDArray[np.int64]
    keep: tuple[object, ...]  # the arrays whose addresses ``table`` holds

    @staticmethod
    def build(
        segments: tuple[Segment, ...],
        buffer: tuple[Ids, Codes, npt.NDArray[np.uint8], int],
    ) -> SearchPlan:
        """Plan for ``segments`` plus the first ``n`` rows of ``buffer`` (ids, codes, alive,
        n), skipping parts with no live row."""
        records: list[list[int]] = []
        keep: list[object] = []
        for seg in segments:
            if seg.n_live == 0:
                continue
            record = [0] * FIELDS
            record[ROWS] = len(seg)
            record[CODES] = _address(seg.codes)
            record[ALIVE] = _address(seg.alive)
            record[IDS] = _address(seg.ids)
            record[TABLE_RADIUS] = table_radius_limit(seg)
            if seg.has_tables:
                record[PERM] = _address(seg.perm)
                record[VALS] = _address(seg.vals)
                record[OFFS] = _address(seg.offs)
                record[WORK_LIMIT] = query_work_limit(seg)
            records.append(record)
            keep.append(seg)
        ids, codes, alive, n = buffer
        if n and alive[: (n + 7) // 8].any():
            record = [0] * FIELDS
            record[ROWS] = n
            record[CODES] = _address(codes)
            record[ALIVE] = _address(alive)
            record[IDS] = _address(ids)
            record[TABLE_RADIUS] = -1
            records.append(record)
            keep += [ids, codes, alive]
        table = np.array(
            [len(records), *(x for r in records for x in r)],
            np.int64,
        )
        return SearchPlan(table, tuple(keep))

    def search(self, queries: bytes, radius: int) -> Hits:
        """(query index, id, distance) of every hit, sorted by query, distance and id;
        ``queries`` holds 32 bytes per query (the PDQ bytes, see ``codes``)."""
        template = probe_template(radius)
        work = _work_buffer(template.shape[1])[0]
        while True:
            count = search_plan(self.table, queries, radius, template, work)
            if count < 0:  # many candidates (a skewed bank): more scratch
                work = _work_buffer(4 * work.shape[1])[0]
            elif count > work.shape[1]:  # more hits than room: again, with room for all
                work = _work_buffer(count)[0]
            else:
                hits = work[HIT_QUERY:, :count].copy()
                return hits[0], hits[1], hits[2]

    def search_one(self, query: bytes, radius: int) -> list[Match]:
        """Every ``(id, distance)`` within ``radius`` of one query (32 bytes), sorted.

        The fast path of a single upload: a handful of attribute lookups around one
        compiled call (each numpy call here would cost about as much as a memory miss in
        the kernel)."""
        template = _TEMPLATES.get(radius)
        if template is None:
            template = _TEMPLATES[radius] = probe_template(radius)
        bufs = _local.__dict__.get("work")
        if bufs is None or bufs[3] < len(template[0]):
            bufs = _work_buffer(len(template[0]))
        count = _search_compiled(self.table, query, radius, template, bufs[0])
        if count == 0:
            return []
        if 0 < count <= SMALL_RESULT:  # memoryview items are Python ints
            ids, dist = bufs[1], bufs[2]
            return [(ids[i], dist[i]) for i in range(count)]
        _, id_arr, dist_arr = self.search(query, radius)
        return list(zip(id_arr.tolist(), dist_arr.tolist(), strict=True))


# Up to this many hits, search_one builds its list item by item.
SMALL_RESULT = 64
# Probe templates by radius, for search_one (``probe_template`` is cached too; a dict lookup
# is cheaper than its call).
_TEMPLATES: dict[int, npt.NDArray[np.int64]] = {}

WorkBuffer = tuple[npt.NDArray[np.int64], memoryview, memoryview, int]
_local = threading.local()


def _work_buffer(at_least: int) -> WorkBuffer:
    """This thread's work buffer with room for ``at_least`` probes, candidates and hits:
    the array, memoryviews of its id and distance rows, and its capacity."""
    bufs: WorkBuffer | None = _local.__dict__.get("work")
    if bufs is None or bufs[3] < at_least:
        capacity = max(at_least, MIN_CAPACITY)
        work = np.empty((WORK_ROWS, capacity), np.int64)
        bufs = (work, memoryview(work[HIT_ID]), memoryview(work[HIT_DIST]), capacity)
        _local.work = bufs
    return bufs


def _search_compiled(
    plan: npt.NDArray[np.int64],
    queries: bytes,
    radius: int,
    template: npt.NDArray[np.int64],
    work: npt.NDArray[np.int64],
) -> int:
    """``search_plan`` through its compiled entry point once it has one: the arguments
    always have the same types, so the dispatcher's type matching (about half a
    microsecond here) can be skipped."""
    global _entry
    if _entry is not None:
        count: int = _entry(plan, queries, radius, template, work)
        return count
    count = search_plan(plan, queries, radius, template, work)
    dispatcher: Any = search_plan
    args = (plan, queries, radius, template, work)
    compiled = dispatcher.overloads.get(tuple(dispatcher.typeof_pyval(a) for a in args))
    _entry = getattr(compiled, "entry_point", None)
    return count


_entry: Any = None


@kernel
def _part(plan: Array, part: int, field: int) -> Scalar:
    return plan[HEADER + FIELDS * part + field]


@kernel
def _rows_of(plan: Array, part: int) -> Any:
    """The codes, liveness bits and ids of one part, viewed in place."""
    n = _part(plan, part, ROWS)
    codes = carray(address_as_pointer(_part(plan, part, CODES)), (n, 4), np.uint64)
    alive = carray(address_as_pointer(_part(plan, part, ALIVE)), (n + 7) // 8, np.uint8)
    ids = carray(address_as_pointer(_part(plan, part, IDS)), n, np.int64)
    return n, codes, alive, ids


@kernel
def _tables_of(plan: Array, part: int) -> Any:
    """The tables of one part (flat; ``vals`` with its ``LANES`` readable entries after)."""
    n = _part(plan, part, ROWS)
    perm = carray(address_as_pointer(_part(plan, part, PERM)), NGROUPS * n, np.uint32)
    vals = carray(address_as_pointer(_part(plan, part, VALS)), 2 * NGROUPS * n + LANES, np.uint16)
    offs = carray(
        address_as_pointer(_part(plan, part, OFFS)), 2 * NGROUPS * (NBUCKETS + 1), np.uint32
    )
    return perm, vals, offs


@kernel
def _sort_hits(out: Array, count: int) -> None:
    """Sort the hits ``out[:, :count]`` by (query, distance, id) in place."""
    if count <= 1:
        return
    if count <= 32:  # insertion sort: the usual handful of hits
        for i in range(1, count):
            q, ident, d = out[0, i], out[1, i], out[2, i]
            j = i - 1
            while j >= 0 and (
                out[0, j] > q
                or (out[0, j] == q and (out[2, j] > d or (out[2, j] == d and out[1, j] > ident)))
            ):
                out[0, j + 1], out[1, j + 1], out[2, j + 1] = out[0, j], out[1, j], out[2, j]
                j -= 1
            out[0, j + 1], out[1, j + 1], out[2, j + 1] = q, ident, d
        return
    # stable sorts by id, then distance (counting), then query (counting)
    order = np.argsort(out[1, :count], kind="mergesort")
    for key in (2, 0):
        values = out[key, :count]
        lo = values.min()
        counts = np.zeros(values.max() - lo + 2, np.int64)
        for i in range(count):
            counts[values[i] - lo + 1] += 1
        for k in range(1, counts.shape[0]):
            counts[k] += counts[k - 1]
        reordered = np.empty(count, np.int64)
        for i in order:
            slot = values[i] - lo
            reordered[counts[slot]] = i
            counts[slot] += 1
        order = reordered
    for key in range(3):
        out[key, :count] = out[key, :count][order]


@kernel
def _decode(queries: Array, qi: int, q: Array) -> None:
    """Query ``qi`` of the byte buffer ``queries`` as four little-endian 64-bit words."""
    base = 32 * qi
    for w in range(4):
        word = np.uint64(0)
        for k in range(8):
            word |= np.uint64(queries[base + 8 * w + k]) << np.uint64(8 * k)
        q[w] = word


@kernel
def search_plan(plan: Array, queries: Array, radius: int, template: Array, work: Array) -> Scalar:
    """Every live row within ``radius`` of each query, in every part of ``plan``.

    ``queries`` holds 32 bytes per query (``bytes``); ``template`` lists the buckets a query
    probes at ``radius`` (``segment.probe_template``). ``work`` is int64 of shape
    ``(WORK_ROWS, capacity)`` with capacity >= the probes: candidate scratch, the hits
    ``(query, id, distance)``, sorted by query, distance and id, whose number is returned,
    and per-probe state. When the hits exceed the capacity only the first ones are written
    (unsorted), and the caller runs again with room for all. Returns -1 when the scratch was
    too small for some query's candidates (see ``table_search``); the caller retries with
    more.
    """
    parts = plan[0]
    scratch = work[: kernels.SCRATCH_ROWS]
    out = work[HIT_QUERY:STATE]
    state = work[STATE:]
    nq = len(queries) // 32
    q = np.empty(4, np.uint64)
    chunks = np.empty(16, np.int64)
    count = 0
    # Parts scanned at this radius: blocks of rows stay in cache while every query passes.
    block = 2048
    any_tables = False
    for part in range(parts):
        if radius <= _part(plan, part, TABLE_RADIUS):
            any_tables = True
            continue
        n, codes, alive, ids = _rows_of(plan, part)
        for start in range(0, n, block):
            stop = min(n, start + block)
            for qi in range(nq):
                _decode(queries, qi, q)
                count = kernels.scan_rows(
                    q, qi, radius, codes[start:stop], alive[start >> 3 :], ids[start:stop],
                    stop - start, count, out,
                )  # fmt: skip
    if any_tables:
        for qi in range(nq):
            _decode(queries, qi, q)
            kernels.query_chunks(q, chunks)
            for part in range(parts):
                if radius > _part(plan, part, TABLE_RADIUS):
                    continue
                n, codes, alive, ids = _rows_of(plan, part)
                perm, vals, offs = _tables_of(plan, part)
                found = kernels.table_search(
                    q, chunks, qi, radius, template, n, codes, alive, ids, perm, vals, offs,
                    _part(plan, part, WORK_LIMIT), state, scratch, count, out,
                )  # fmt: skip
                if found == -1:
                    return -1
                if found == kernels.SCAN_INSTEAD:
                    found = kernels.scan_rows(q, qi, radius, codes, alive, ids, n, count, out)
                count = found
    if count <= out.shape[1]:
        _sort_hits(out, count)
    return count
