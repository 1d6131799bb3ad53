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

from rescind.index import kernels
from rescind.index.build import row_width
from rescind.index.codes import HASH_BYTES, Codes, Ids
from rescind.index.kernels import (
    ALIVE,
    CODES,
    HIT_DIST,
    HIT_ID,
    HIT_QUERY,
    IDS,
    MIN_WORK,
    OFFS,
    PERM,
    PERM_WIDTH,
    ROWS,
    STATE,
    TABLE_RADIUS,
    VALS,
    WORK_LIMIT,
    WORK_ROWS,
    search_batch,
    search_plan_held,
)
from rescind.index.segment import (
    Segment,
    probe_template,
    query_work_limit,
    table_radius_limit,
)

# Smallest work buffer (probes, candidates and hits it has room for), and the capacity up to
# which a batched search doubles it whenever its hits fill it (above, it grows only when one
# step of queries needs more: a buffer of capacity c takes 80 c bytes per thread).
MIN_CAPACITY = 4096
GROW_LIMIT = 1 << 16

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
    table_radius: int  # the largest radius at which some part is searched through tables
    address: int  # of ``table``, for ``search_one``

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
            record = [0] * kernels.FIELDS
            record[ROWS] = len(seg)
            record[CODES] = _address(seg.codes)
            record[ALIVE] = _address(seg.alive)
            record[IDS] = _address(seg.ids)
            record[TABLE_RADIUS] = table_radius_limit(seg)
            if seg.has_tables:
                record[PERM] = _address(seg.perm)
                record[PERM_WIDTH] = row_width(len(seg))
                record[VALS] = _address(seg.vals)
                record[OFFS] = _address(seg.offs)
                record[WORK_LIMIT] = query_work_limit(seg)
            records.append(record)
            keep.append(seg)
        ids, codes, alive, n = buffer
        if n and alive[: (n + 7) // 8].any():
            record = [0] * kernels.FIELDS
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
        table_radius = max((r[TABLE_RADIUS] for r in records), default=-1)
        return SearchPlan(table, tuple(keep), table_radius, _address(table))

    def search(self, queries: bytes, radius: int) -> Hits:
        """(query index, id, distance) of every hit, sorted by query, distance and id;
        ``queries`` holds 32 bytes per query (the PDQ bytes, see ``codes``).

        One compiled call normally; when the hits outgrow this thread's buffer, the call
        stops between steps of queries, the hits so far are kept, and the search goes on
        from the step that did not fit, with a larger buffer (``kernels.search_batch``):
        only that step's queries are searched twice, not the whole batch."""
        template = probe_template(radius) if radius <= self.table_radius else _NO_PROBES
        work = _work_buffer(template.shape[1])[0]
        status = np.zeros(3, np.int64)
        nq = len(queries) // HASH_BYTES
        found: list[npt.NDArray[np.int64]] = []
        start = 0
        while True:
            search_batch(self.table, queries, radius, template, work, start, status)
            done, count, need = (int(x) for x in status)
            if count:
                found.append(work[HIT_QUERY:STATE, :count].copy())
            if done >= nq:
                break
            start = done
            capacity = work.shape[1]
            if need == -1:  # many candidates (a skewed bank): more scratch
                work = _work_buffer(4 * capacity)[0]
            elif need > capacity or capacity < GROW_LIMIT:
                # more room, so that the step that did not fit (searched once for nothing)
                # is rarely followed by another
                work = _work_buffer(max(need, 2 * capacity))[0]
        if not found:
            empty = np.empty(0, np.int64)
            return empty, empty, empty
        hits = found[0] if len(found) == 1 else np.concatenate(found, axis=1)
        return hits[0], hits[1], hits[2]

    def search_one(self, query: bytes, radius: int) -> list[Match]:
        """Every ``(id, distance)`` within ``radius`` of one query (32 bytes), sorted.

        The fast path of a single upload: a handful of attribute lookups around one
        compiled call (each numpy call here would cost about as much as a memory miss in
        the kernel)."""
        probes = _TEMPLATES.get(radius) if radius <= self.table_radius else _NO_PROBES_ONE
        if probes is None:
            template = probe_template(radius)
            probes = _TEMPLATES[radius] = (template, template.shape[1], _address(template))
        try:
            bufs = _local.work
        except AttributeError:
            bufs = _work_buffer(probes[1])
        if bufs[3] < probes[1]:
            bufs = _work_buffer(probes[1])
        # the arrays go by address (see ``search_plan_held``): this plan, the template in
        # _TEMPLATES and this thread's buffer stay referenced for the whole call
        entry = _entry
        if entry is not None:
            count = entry(self.address, query, radius, probes[2], probes[1], bufs[4], bufs[3])
        else:
            count = _first_search(
                self.address, query, radius, probes[2], probes[1], bufs[4], bufs[3]
            )
        if count == 0:
            return []
        ids, dist = bufs[1], bufs[2]  # memoryview items are Python ints
        if count == 1:
            return [(ids[0], dist[0])]
        if 0 < count <= SMALL_RESULT:
            return [(ids[i], dist[i]) for i in range(count)]
        if 0 < count <= bufs[3]:  # many hits, all in the buffer (sorted): no second search
            return list(zip(ids[:count], dist[:count], strict=True))
        _, id_arr, dist_arr = self.search(query, radius)
        return list(zip(id_arr.tolist(), dist_arr.tolist(), strict=True))


# Up to this many hits, search_one builds its list item by item; above, by one zip over
# slices of the buffer, which costs more to start and less per hit (even at ~10 hits in
# ``timeit`` on the AMD EPYC machine; a clustered near-duplicate has 1 hit at the median,
# 19 at the 75th percentile).
SMALL_RESULT = 10
# Probe templates and their lengths by radius, for search_one (``probe_template`` is cached
# too; a dict lookup is cheaper than its call).
_TEMPLATES: dict[int, tuple[npt.NDArray[np.int64], int, int]] = {}
# At a radius where every part is scanned, no probes (a template can be large: 1M probes at
# radius 256).
_NO_PROBES = np.empty((kernels.TEMPLATE_ROWS, 0), np.int64)
_NO_PROBES_ONE = (_NO_PROBES, 0, _address(_NO_PROBES))

WorkBuffer = tuple[npt.NDArray[np.int64], memoryview, memoryview, int, int]
_local = threading.local()


def _work_buffer(at_least: int) -> WorkBuffer:
    """This thread's work buffer with room for ``at_least`` probes, candidates and hits:
    the array, memoryviews of its id and distance rows, its capacity and its address."""
    bufs: WorkBuffer | None = _local.__dict__.get("work")
    if bufs is None or bufs[3] < at_least:
        capacity = max(at_least, MIN_CAPACITY, MIN_WORK)
        work = np.empty((WORK_ROWS, capacity), np.int64)
        ids, dist = memoryview(work[HIT_ID]), memoryview(work[HIT_DIST])
        bufs = (work, ids, dist, capacity, _address(work))
        _local.work = bufs
    return bufs


def _first_search(*args: Any) -> int:
    """``search_plan_held(*args)`` through numba's dispatcher, keeping its compiled entry
    point for search_one: the arguments always have the same types (bytes and ints), so later
    calls can skip the dispatcher's type matching (about half a microsecond here)."""
    global _entry
    count: int = search_plan_held(*args)
    dispatcher: Any = search_plan_held
    compiled = dispatcher.overloads.get(tuple(dispatcher.typeof_pyval(a) for a in args))
    _entry = getattr(compiled, "entry_point", None)
    return count


_entry: Any = None
