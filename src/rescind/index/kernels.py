"""Compiled search kernels: one query against one segment (tables or scan), and the driver
that runs a batch of queries over every part of a snapshot (``search_plan``).

They live in one file on purpose: numba's on-disk cache is invalidated only when a
function's own file changes, so a kernel calling a kernel of another file could run a stale
copy of it. (``_jit.py`` and ``build.py`` supply intrinsics and constants compiled into these
kernels: change one of them and clear ``__pycache__`` too.)

Layout (built by ``build.py``; ``segment.py`` is the Python side). A 256-bit code is four
``uint64`` words, read little-endian from the 32 PDQ bytes. It is cut into 16 chunks of 16
bits and the chunks are paired into 8 groups of 32 bits: group ``g`` is chunk ``A = 2g``
(low half of its 32 bits) and chunk ``B = 2g + 1`` (high half).

Why it is exact. With radius ``r = 8q + a`` (``0 <= a < 8``), give groups ``0..a`` the
threshold ``q`` and the others ``q - 1``; the thresholds plus one sum to ``r + 1``, so a code
within ``r`` of the query is within its threshold ``t`` in at least one group (refined
pigeonhole, Norouzi et al.). Inside that group ``dA + dB <= t`` forces ``dA <= t // 2`` or
``dB <= t // 2``. Each group therefore has two tables of 65,536 buckets:

* table A: entries sorted by ``(A, B)``, bucket ``A``, each entry storing ``B`` (``vals[0]``)
  and its row (``perm``);
* table B: entries sorted by ``(B, A)``, bucket ``B``, each entry storing ``A`` (``vals[1]``)
  and its row (``perm``, after table A's rows). Before format version 2 table B held no
  rows and each hit was looked up in table A (its bucket offsets, then a search of the
  bucket): two to three more random cache lines per hit, ~11% of a near-duplicate query on
  a clustered bank.

Row numbers take ``width`` bytes (little-endian, read byte by byte): 3 below 2**24 rows, 4
from there on (``build.row_width``), so rows in both tables cost 48 B per row instead of 64.

Probing the buckets within ``t // 2`` of the query's chunk and testing the stored partner chunk
(``dA + dB <= t``, 32 entries per vector comparison) rejects about 99% of the entries from
contiguous memory, so only a few candidates per query touch the full codes (a row number,
then the code: two dependent random lines). A row is reported
only from the first group that can find it, so nothing is reported twice and no visited-set
is needed.

Inside a kernel the tables are flat: ``perm[g * n + j]``, ``vals[(side * 8 + g) * n + j]``,
``offs[(side * 8 + g) * NB + bucket]``, the row of entry ``j`` of table ``side * 8 + g`` at
bytes ``((side * 8 + g) * n + j) * width`` of ``perm``, and ``codes[row, word]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import carray  # type: ignore[attr-defined]

from rescind.index._jit import (
    LANES,
    address_as_pointer,
    held_kernel,
    kernel,
    lanes_within,
    popcount,
    prefetch,
    trailing_zeros,
)
from rescind.index.build import NBUCKETS, NGROUPS

# Relative cost of a candidate (dependent random accesses to its row number and code) against
# scanning one table entry or one row in a brute-force scan. Used to decide when a query is
# cheaper by scan.
VERIFY_COST = 128
# Bucket offsets per table (one past the last bucket).
NB = NBUCKETS + 1
# Probes per block of ``table_search``'s first pass: a block's bounds are read, and its lines
# fetched, one block before it is scanned, its offsets two blocks before. Enough loads in
# flight to cover memory latency, few enough that none is dropped (measured on the AMD EPYC
# machine, 1M clustered bank: 20 against 16, 24 and 32 in blocks; 16 beat 8, 12 and 24 in the
# one-loop form before).
AHEAD = 20
# Table entries (uint16) per 64-byte cache line, and the most lines of one bucket fetched ahead.
LINE_ENTRIES = 32
FETCH_LINES = 8

# Kernels take numpy arrays and return numpy scalars; the typed wrappers live in the callers.
Array = Any
Scalar = Any

# Rows of the candidate scratch buffer (int64, shape (SCRATCH_ROWS, capacity)).
CAND_POS, CAND_GROUP = range(2)
SCRATCH_ROWS = 2
# Rows of a probe template (int64, shape (TEMPLATE_ROWS, probes)): the buckets one query
# probes at a given radius, relative to its own chunks. Per probe: the table, the bits
# flipped in the query's key chunk, and the partner test ``low <= distance <= low + span``.
# And, worked out once here rather than twice per probe and query, the positions of the key
# chunk and the partner chunk among the query's 16 chunks.
TEMPLATE_TABLE, TEMPLATE_FLIP, TEMPLATE_LOW, TEMPLATE_SPAN = range(4)
TEMPLATE_KEY, TEMPLATE_PARTNER = range(4, 6)
TEMPLATE_ROWS = 6
# Rows of the per-probe state of one search (int64, shape (STATE_ROWS, probes)): the
# bucket's start and length, the hits among its first 2 * LANES entries, and (a list, not
# per probe) the probes the second pass visits.
STATE_LO, STATE_LEN, STATE_HITS, STATE_TODO = range(4)
STATE_ROWS = 4
# Returned by ``table_search`` when the query is cheaper by scan (a skewed bank).
SCAN_INSTEAD = -2


@kernel
def group_thresholds(radius: int) -> Array:
    """Per-group thresholds of the refined pigeonhole bound for ``radius`` (-1: skip group)."""
    thr = np.empty(NGROUPS, np.int64)
    q = radius // NGROUPS
    a = radius % NGROUPS
    for g in range(NGROUPS):
        thr[g] = q if g <= a else q - 1
    return thr


@kernel
def probe_template(radius: int, masks: Array, cum: Array) -> Array:
    """The probes of a query at ``radius``: table A of every group first, then table B.

    Table A of group ``g`` is keyed by chunk ``2g`` and tests chunk ``2g + 1``; table B the
    other way round. A probe flipping ``k`` bits of the key chunk (``k <= t // 2``) allows
    partner distances up to ``t - k`` in table A; in table B only those above ``t // 2``
    (the rest is found in table A), and a table-B probe with none left is not listed.
    """
    thr = group_thresholds(radius)
    total = 0
    for g in range(NGROUPS):
        if thr[g] >= 0:
            total += 2 * cum[thr[g] // 2]
    template = np.empty((TEMPLATE_ROWS, total), np.int64)
    count = 0
    for side in range(2):
        for g in range(NGROUPS):
            t = thr[g]
            if t < 0:
                continue
            half = t // 2
            for mi in range(cum[half]):
                mk = np.int64(masks[mi])
                lim = t - np.int64(popcount(np.uint64(mk)))
                low = 0 if side == 0 else half + 1
                if lim < low:
                    continue
                template[TEMPLATE_TABLE, count] = side * NGROUPS + g
                template[TEMPLATE_FLIP, count] = mk
                template[TEMPLATE_LOW, count] = low
                template[TEMPLATE_SPAN, count] = lim - low
                template[TEMPLATE_KEY, count] = 2 * g + side
                template[TEMPLATE_PARTNER, count] = (2 * g + side) ^ 1
                count += 1
    return template[:, :count].copy()


@kernel
def emit(count: Scalar, qi: Scalar, ident: Scalar, d: Scalar, out: Array) -> Scalar:
    """Append the hit ``(qi, ident, d)`` to ``out`` (int64, shape (3, capacity)) if it has
    room; returns the new count either way, so the caller learns how much room it needs."""
    if count < out.shape[1]:
        at = np.uint64(count)
        out[0, at] = qi
        out[1, at] = ident
        out[2, at] = d
    return count + 1


@kernel
def scan_rows(
    q: Array, qi: int, radius: int, codes: Array, alive: Array, ids: Array, n: int,
    count: int, out: Array,
) -> Scalar:  # fmt: skip
    """Every live row among the first ``n`` within ``radius`` of ``q``, by linear scan."""
    q0, q1, q2, q3 = q[0], q[1], q[2], q[3]
    for row in range(n):
        d = (
            popcount(codes[row, 0] ^ q0)
            + popcount(codes[row, 1] ^ q1)
            + popcount(codes[row, 2] ^ q2)
            + popcount(codes[row, 3] ^ q3)
        )
        if np.int64(d) <= radius and (alive[row >> 3] >> (row & 7)) & 1:
            count = emit(count, qi, ids[row], np.int64(d), out)
    return count


@kernel
def query_chunks(q: Array, chunks: Array) -> None:
    """The 16 chunks of 16 bits of the code ``q`` (chunk ``c``: bits ``16c .. 16c + 15``)."""
    for c in range(16):
        chunks[c] = np.int64((q[c >> 2] >> np.uint64(16 * (c & 3))) & np.uint64(0xFFFF))


@kernel
def fetch_lines(arr: Array, start: int, count: Scalar) -> None:
    """Ask for the cache lines of ``arr[start : start + count]`` (uint16), at most
    ``FETCH_LINES`` of them: the whole bucket of a segment of up to ~16M rows, while a huge
    bucket of a skewed bank does not flood the memory system with requests."""
    stop = start + min(count, FETCH_LINES * LINE_ENTRIES)
    for at in range(start, stop, LINE_ENTRIES):
        prefetch(arr, at)
    prefetch(arr, stop - 1)


@kernel
def _first_group(codes: Array, row: Scalar, q: Array, radius: int, g: int) -> Scalar:
    """Whether ``g`` is the first group where ``row`` is within its threshold."""
    for g2 in range(g):
        t = radius // NGROUPS - (0 if g2 <= radius % NGROUPS else 1)
        x = (codes[row, g2 >> 1] ^ q[g2 >> 1]) >> np.uint64(32 * (g2 & 1))
        if np.int64(popcount(x & np.uint64(0xFFFFFFFF))) <= t:
            return False
    return True


@kernel
def _low_bits(k: int) -> Scalar:
    """The ``k`` lowest bits set (0 <= k <= 63)."""
    return (np.uint64(1) << np.uint64(k)) - np.uint64(1)


@kernel
def table_search(
    q: Array, chunks: Array, qi: int, radius: int, template: Array,
    n: int, codes: Array, alive: Array, ids: Array, perm: Array, width: int, vals: Array,
    offs: Array, work_limit: int, state: Array, scratch: Array, count: int, out: Array,
) -> Scalar:  # fmt: skip
    """Every live row within ``radius`` of ``q`` (``chunks``: its 16-bit chunks) through
    the tables of one segment, probing the buckets of ``template``.

    Appends hits to ``out`` (see ``emit``) and returns the new count; or ``SCAN_INSTEAD``
    when the query's table work passes ``work_limit`` (huge buckets: the caller scans the
    rows, which bounds the worst case); or -1 when ``scratch`` is too small for the
    candidates of a query within that budget (the caller retries with a larger one).

    Memory latency is most of the cost, and the arithmetic around it the rest. One pass
    over the probes, in blocks of ``AHEAD``, keeps two blocks' offsets and lines in flight
    while it tests: the bucket offsets of block ``b`` are fetched, the bounds of block
    ``b - 1`` read and its lines fetched, and the first ``2 * LANES`` entries of every
    bucket of block ``b - 2`` tested, with one branch on the data only (whether a bucket
    has more than ``LANES`` entries: rarely, on most banks). Three short loops per block,
    each reading the probe rows it needs: one loop doing all three steps per probe (the
    form before) kept more values live than the registers hold and spilled them to the
    stack. A second pass visits only the buckets with hits (about 4% of them) or longer
    than that, listed by the first pass without a branch (a test per probe here
    mispredicted on every probe with hits: ~0.35 us of a clustered near-duplicate query):
    every hit, in table A or B, is a candidate (its entry carries its row, whose line is
    fetched at once). Then every candidate's row is read and its code fetched, and then
    every code verified.
    """
    cap = scratch.shape[1]
    # the codes as one flat array, viewed in place: numba's reshape calls into its C helper
    # (~2 us a query when it sat in the candidate loop below, once per query since)
    flat_codes = carray(address_as_pointer(np.int64(codes.ctypes.data)), 4 * n, np.uint64)
    nprobes = template.shape[1]
    tables = template[TEMPLATE_TABLE]
    flips = template[TEMPLATE_FLIP]
    lows = template[TEMPLATE_LOW]
    spans = template[TEMPLATE_SPAN]
    keys = template[TEMPLATE_KEY]
    partners = template[TEMPLATE_PARTNER]
    st_lo = state[STATE_LO]
    st_len = state[STATE_LEN]
    st_hits = state[STATE_HITS]
    st_todo = state[STATE_TODO]
    cand_pos = scratch[CAND_POS]
    cand_group = scratch[CAND_GROUP]
    # Indices below are cast to unsigned: numba then emits no wrap-around of negative
    # indices (three instructions an index, about a dozen indices a probe). With the probe
    # template's chunk positions, a clustered 1M non-match went from ~6.1 to ~5.2 us and
    # a random one from ~5.7 to ~4.7 (old and new code alternated in one process)
    # each probe's bucket as an index of ``offs`` (in st_lo until its bounds replace it)
    for p in range(nprobes):
        table = tables[p]
        key = chunks[np.uint64(keys[p])]
        st_lo[p] = table * NB + (key ^ flips[p])
    work = np.int64(0)
    todo = np.int64(0)
    for b0 in range(0, nprobes + 2 * AHEAD, AHEAD):
        # block b0: the offsets of its probes asked for
        for p in range(b0, min(b0 + AHEAD, nprobes)):
            at = st_lo[np.uint64(p)]
            prefetch(offs, at)
            prefetch(offs, at + 1)
        # the block before: bounds read, lines asked for
        for p in range(max(b0 - AHEAD, 0), min(b0, nprobes)):
            up = np.uint64(p)
            at = np.uint64(st_lo[up])
            lo = np.int64(offs[at])
            length = np.int64(offs[at + np.uint64(1)]) - lo
            start = tables[up] * n + lo
            st_lo[up] = start
            st_len[up] = length
            work += length
            # the lines that the scans below read: the first vector load (the second is
            # the same one again if the bucket is short), and the rest of a long bucket
            prefetch(vals, start)
            prefetch(vals, start + LANES - 1)
            if length > LANES:
                fetch_lines(vals, start, max(length, 2 * LANES))
        if work > work_limit:
            return SCAN_INSTEAD
        # the block before that: its first 2 * LANES entries tested
        for p in range(max(b0 - 2 * AHEAD, 0), min(b0 - AHEAD, nprobes)):
            up = np.uint64(p)
            start = st_lo[up]
            length = st_len[up]
            partner = chunks[np.uint64(partners[up])]
            low = lows[up]
            span = spans[up]
            hits = lanes_within(vals, start, partner, low, span) & _low_bits(min(length, LANES))
            # the next LANES entries only if the bucket has them: a branch, well predicted
            # where most buckets are short (the test of the same entries again, masked out,
            # the form before, cost ~2-4% of a non-match query on the 1M benchmark banks)
            if length > LANES:
                second = lanes_within(vals, start + LANES, partner, low, span)
                hits |= (second & _low_bits(min(length - LANES, LANES))) << np.uint64(LANES)
            st_hits[up] = np.int64(hits)
            # the probes the second pass visits, listed without a branch
            st_todo[np.uint64(todo)] = p
            todo += np.int64((hits != 0) | (length > 2 * LANES))
    ncand = 0
    for k in range(todo):
        pk = np.uint64(st_todo[np.uint64(k)])
        hits = np.uint64(st_hits[pk])
        length = st_len[pk]
        table = tables[pk]
        g = table & (NGROUPS - 1)
        lo = st_lo[pk]
        end = lo + length
        j = lo
        while True:
            while hits:
                at = j + trailing_zeros(hits)
                hits &= hits - np.uint64(1)
                if ncand == cap:
                    return -1 if cap < work_limit // VERIFY_COST else SCAN_INSTEAD
                # table A and table B carry row numbers alike (perm[table * n + at])
                cand_pos[np.uint64(ncand)] = at
                # its row number, asked for now (into L2, see ``_jit.prefetch``)
                prefetch(perm, at * width)
                cand_group[np.uint64(ncand)] = g
                ncand += 1
            # the rest of a long bucket, LANES entries at a time
            j = lo + 2 * LANES if j == lo else j + LANES
            if j >= end:
                break
            hits = lanes_within(
                vals, j, chunks[np.uint64(partners[pk])], lows[pk], spans[pk]
            ) & _low_bits(min(end - j, LANES))  # fmt: skip
    if work + VERIFY_COST * ncand > work_limit:
        return SCAN_INSTEAD
    # candidates in two passes: every row number (fetched while the candidates were
    # collected) read and its code and liveness asked for, then every code verified. With
    # the lines going to L2 (``_jit.prefetch``) the core tracks all of a query's misses at
    # once; a sliding window of 8 (the form before) kept fewer in flight: 1-2 us more per
    # clustered near-duplicate query
    for c in range(ncand):
        # the little-endian ``width``-byte row number, read in place (a kernel call taking
        # ``perm`` would cost a pair of reference-count calls per candidate: ~0.5 us a query)
        uc = np.uint64(c)
        pos = np.uint64(cand_pos[uc] * width)
        row = (
            np.int64(perm[pos])
            | (np.int64(perm[pos + np.uint64(1)]) << 8)
            | (np.int64(perm[pos + np.uint64(2)]) << 16)
        )
        if width == 4:
            row |= np.int64(perm[pos + np.uint64(3)]) << 24
        cand_pos[uc] = row
        prefetch(alive, row >> 3)
        prefetch(flat_codes, row * 4)
    for c in range(ncand):
        uc = np.uint64(c)
        cand_row = np.uint64(cand_pos[uc])
        if (alive[cand_row >> np.uint64(3)] >> (cand_row & np.uint64(7))) & 1 == 0:
            continue
        d = np.int64(
            popcount(codes[cand_row, 0] ^ q[0])
            + popcount(codes[cand_row, 1] ^ q[1])
            + popcount(codes[cand_row, 2] ^ q[2])
            + popcount(codes[cand_row, 3] ^ q[3])
        )
        if d > radius:
            continue
        if _first_group(codes, cand_row, q, radius, cand_group[uc]):
            count = emit(count, qi, ids[cand_row], d, out)
    return count


# ---- searching a whole snapshot (see plan.py) -----------------------------------------

# Plan layout: a header, then one record per searched part.
HEADER = 1  # the number of parts
ROWS, CODES, ALIVE, IDS, PERM, VALS, OFFS, TABLE_RADIUS, WORK_LIMIT, PERM_WIDTH = range(10)
FIELDS = 10

# Rows of a thread's work buffer (int64, shape (WORK_ROWS, capacity)): the candidate scratch
# of ``table_search``, the hits (query, id, distance), then the per-probe state.
HIT_QUERY, HIT_ID, HIT_DIST = range(SCRATCH_ROWS, SCRATCH_ROWS + 3)
STATE = HIT_DIST + 1
# and one row holding the query being searched (its four words, then its 16 chunks): two
# arrays a search would otherwise allocate, ~0.1 us of a single query
QUERY = STATE + STATE_ROWS
QUERY_CHUNKS = 4
WORK_ROWS = QUERY + 1
# The least capacity of a work buffer (the query row's entries).
MIN_WORK = QUERY_CHUNKS + 16


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
    width = _part(plan, part, PERM_WIDTH)
    perm = carray(address_as_pointer(_part(plan, part, PERM)), 2 * NGROUPS * n * width, np.uint8)
    vals = carray(address_as_pointer(_part(plan, part, VALS)), 2 * NGROUPS * n + LANES, np.uint16)
    offs = carray(
        address_as_pointer(_part(plan, part, OFFS)), 2 * NGROUPS * (NBUCKETS + 1), np.uint32
    )
    return perm, width, vals, offs


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
    base = np.uint64(32 * qi)
    for w in range(4):
        word = np.uint64(0)
        for k in range(8):
            word |= np.uint64(queries[base + np.uint64(8 * w + k)]) << np.uint64(8 * k)
        q[w] = word


@kernel
def _search_queries(
    plan: Array, queries: Array, radius: int, template: Array, work: Array, lo: int, hi: int,
    count: int,
) -> Scalar:  # fmt: skip
    """Every live row within ``radius`` of queries ``lo .. hi - 1``, in every part of ``plan``,
    appended (unsorted) to the hits of ``work`` after the first ``count``; returns the new
    count (see ``emit``), or -1 when the scratch was too small for some query's candidates
    (see ``table_search``)."""
    parts = plan[0]
    scratch = work[:SCRATCH_ROWS]
    out = work[HIT_QUERY:STATE]
    state = work[STATE:]
    q = work[QUERY, :QUERY_CHUNKS].view(np.uint64)
    chunks = work[QUERY, QUERY_CHUNKS : QUERY_CHUNKS + 16]
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
            for qi in range(lo, hi):
                _decode(queries, qi, q)
                count = scan_rows(
                    q, qi, radius, codes[start:stop], alive[start >> 3 :], ids[start:stop],
                    stop - start, count, out,
                )  # fmt: skip
    if any_tables:
        for qi in range(lo, hi):
            _decode(queries, qi, q)
            query_chunks(q, chunks)
            for part in range(parts):
                if radius > _part(plan, part, TABLE_RADIUS):
                    continue
                n, codes, alive, ids = _rows_of(plan, part)
                perm, width, vals, offs = _tables_of(plan, part)
                found = table_search(
                    q, chunks, qi, radius, template, n, codes, alive, ids, perm, width, vals, offs,
                    _part(plan, part, WORK_LIMIT), state, scratch, count, out,
                )  # fmt: skip
                if found == -1:
                    return -1
                if found == SCAN_INSTEAD:
                    found = scan_rows(q, qi, radius, codes, alive, ids, n, count, out)
                count = found
    return count


@kernel
def search_plan(plan: Array, queries: Array, radius: int, template: Array, work: Array) -> Scalar:
    """Every live row within ``radius`` of each query, in every part of ``plan``.

    ``queries`` holds 32 bytes per query (``bytes``); ``template`` lists the buckets a query
    probes at ``radius`` (``segment.probe_template``). ``work`` is int64 of shape
    ``(WORK_ROWS, capacity)`` with capacity >= the probes and ``MIN_WORK``: candidate scratch, the
    hits ``(query, id, distance)``, sorted by query, distance and id, whose number is
    returned, per-probe state and the query. When the hits exceed the capacity only the
    first ones are written (unsorted), and the caller runs again with room for all. Returns
    -1 when the scratch was too small for some query's candidates (see ``table_search``);
    the caller retries with more.
    """
    count = _search_queries(plan, queries, radius, template, work, 0, len(queries) // 32, 0)
    if 0 <= count <= work.shape[1]:
        _sort_hits(work[HIT_QUERY:STATE], count)
    return count


# Queries searched between two checks of the room left for hits in ``search_batch``.
BATCH_STEP = 32
# ``search_batch`` status: queries done, hits written, and what the buffer lacked.
DONE, FOUND, NEED = range(3)


@kernel
def search_batch(
    plan: Array, queries: Array, radius: int, template: Array, work: Array, start: int,
    status: Array,
) -> None:  # fmt: skip
    """``search_plan`` for a long batch, from query ``start`` on, without searching it all
    again when the hits outgrow ``work``: queries go ``BATCH_STEP`` at a time, and when a
    step's hits do not fit after those already written, or its candidates overflow the
    scratch, the call stops before that step. ``status`` (int64, 3) then holds the first
    query not done (``status[DONE]``: ``start`` if not even the first step fitted), how many
    hits of the queries done the buffer holds, sorted (``status[FOUND]``), and
    ``status[NEED]``: the room the step that did not fit needs (a larger buffer only if that
    exceeds the capacity), -1 for more scratch, 0 once every query is done. The caller takes
    the hits and calls again from ``status[DONE]``: only that step is searched twice.
    """
    nq = len(queries) // 32
    cap = work.shape[1]
    count = 0
    lo = start
    status[NEED] = 0
    while lo < nq:
        hi = min(nq, lo + BATCH_STEP)
        found = _search_queries(plan, queries, radius, template, work, lo, hi, count)
        if found == -1:
            status[NEED] = -1
            break
        if found > cap:
            status[NEED] = found - count
            break
        count = found
        lo = hi
    _sort_hits(work[HIT_QUERY:STATE], count)
    status[DONE] = lo
    status[FOUND] = count


@held_kernel
def search_plan_held(
    plan_at: int, queries: Array, radius: int, template_at: int, probes: int, work_at: int,
    capacity: int,
) -> Scalar:  # fmt: skip
    """``search_plan`` keeping the GIL: the entry of ``SearchPlan.search_one``, whose call
    lasts microseconds, made from a server's event loop (see ``_jit.kernel``).

    The plan, the template (``probes`` columns) and the work buffer (``capacity`` columns)
    come as the addresses of their arrays, which the caller keeps alive for the call: an int
    argument costs numba's entry point a few nanoseconds to take, an array ~50-80 (wrapped
    in a reference-counted structure per call): ~0.1 us of a single query's fixed cost on
    the AMD EPYC machine (docs/benchmarks.md)."""
    parts = carray(address_as_pointer(plan_at), HEADER, np.int64)[0]
    plan = carray(address_as_pointer(plan_at), HEADER + FIELDS * parts, np.int64)
    template = carray(address_as_pointer(template_at), (TEMPLATE_ROWS, probes), np.int64)
    work = carray(address_as_pointer(work_at), (WORK_ROWS, capacity), np.int64)
    return search_plan(plan, queries, radius, template, work)
