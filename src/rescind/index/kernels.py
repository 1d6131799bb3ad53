"""Compiled search kernels: multi-index search through the tables, and brute force.

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
* table B: entries sorted by ``(B, A)``, bucket ``B``, each entry storing only ``A``
  (``vals[1]``); a hit is resolved to rows through table A by binary search.

Probing the buckets within ``t // 2`` of the query's chunk and testing the stored partner chunk
(``dA + dB <= t``) rejects about 99% of the entries from contiguous memory, so only a few
candidates per query touch the full codes. A row is reported only from the first group that
can find it, so nothing is reported twice and no visited-set is needed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rescind.index._jit import kernel, popcount
from rescind.index.build import NGROUPS

# Relative cost of a candidate (random accesses to its row number and code, each a likely
# cache and TLB miss) against scanning one table entry or one row in a brute-force scan:
# measured ~100x on the benchmark machine. Used to decide when a query is cheaper by scan.
VERIFY_COST = 128

# Kernels take numpy arrays and return numpy scalars; the typed wrappers live in the callers.
Array = Any
Scalar = Any


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
def _distance(codes: Array, row: int, q: Array) -> Scalar:
    d = np.uint64(0)
    for w in range(4):
        d += popcount(codes[row, w] ^ q[w])
    return np.int64(d)


@kernel
def _verify(
    codes: Array, alive: Array, row: int, q: Array, radius: int, g: int, qg: Array, thr: Array
) -> Scalar:
    """Distance of ``row`` to the query if live, within radius and first found in group ``g``."""
    if (alive[row >> 3] >> (row & 7)) & 1 == 0:
        return -1
    d = _distance(codes, row, q)
    if d > radius:
        return -1
    for g2 in range(g):
        x = (codes[row, g2 >> 1] >> np.uint64(32 * (g2 & 1))) & np.uint64(0xFFFFFFFF)
        if np.int64(popcount(x ^ qg[g2])) <= thr[g2]:
            return -1  # an earlier group reports it
    return d


@kernel
def _emit(
    count: int, qi: int, row: int, d: int, out_q: Array, out_row: Array, out_d: Array
) -> Scalar:
    if count < out_q.shape[0]:
        out_q[count] = qi
        out_row[count] = row
        out_d[count] = d
    return count + 1


@kernel
def _brute_one(
    q: Array,
    qi: int,
    radius: int,
    codes: Array,
    alive: Array,
    n: int,
    count: int,
    out_q: Array,
    out_row: Array,
    out_d: Array,
) -> Scalar:
    for row in range(n):
        if (alive[row >> 3] >> (row & 7)) & 1 == 0:
            continue
        d = _distance(codes, row, q)
        if d <= radius:
            count = _emit(count, qi, row, d, out_q, out_row, out_d)
    return count


@kernel
def brute_search(
    queries: Array,
    radius: int,
    codes: Array,
    alive: Array,
    n: int,
    out_q: Array,
    out_row: Array,
    out_d: Array,
) -> Scalar:
    """Every live row among the first ``n`` within ``radius`` of each query, by linear scan.

    Rows are scanned in blocks that stay in cache while every query passes over them. Returns
    the number of hits; when it exceeds the output capacity only the first ones are written.
    """
    count = 0
    block = 2048
    for start in range(0, n, block):
        stop = min(n, start + block)
        for qi in range(queries.shape[0]):
            q = queries[qi]
            for row in range(start, stop):
                if (alive[row >> 3] >> (row & 7)) & 1 == 0:
                    continue
                d = _distance(codes, row, q)
                if d <= radius:
                    count = _emit(count, qi, row, d, out_q, out_row, out_d)
    return count


@kernel
def mih_search(
    queries: Array,
    radius: int,
    codes: Array,
    alive: Array,
    perm: Array,
    vals: Array,
    offs: Array,
    masks: Array,
    mask_cum: Array,
    work_limit: int,
    scratch: Array,
    out_q: Array,
    out_row: Array,
    out_d: Array,
) -> Scalar:
    """Every live row within ``radius`` of each query, through the group tables.

    ``masks`` lists the 65,536 16-bit values by popcount and ``mask_cum[h]`` counts those of
    popcount <= h. A query whose table work exceeds ``work_limit`` (a skewed bank with huge
    buckets) is answered by brute force instead, which bounds the worst case. Returns the
    number of hits (see ``brute_search`` for the capacity rule), or -1 when ``scratch``
    (int64, shape (7, cap): candidate and pending-pair buffers) was too small; the caller
    then retries with a larger one. The buffers come from the caller because growing arrays
    inside the loops would slow every query down.

    Memory latency, not arithmetic, is the cost, so the work runs in phases whose loads do
    not wait on each other: (1) every probed bucket's bounds; (2) a touch of every bucket;
    (3) the partner-chunk scans, which buffer table-A candidates and table-B pairs; (4) the
    binary searches resolving those pairs to rows, run in lockstep; (5) a touch of every
    candidate's code; (6) verification.
    """
    n = codes.shape[0]
    thr = group_thresholds(radius)
    qg = np.empty(NGROUPS, np.uint64)
    maxmask = 1
    for g in range(NGROUPS):
        if thr[g] >= 0:
            maxmask = max(maxmask, mask_cum[thr[g] // 2])
    lo = np.empty((NGROUPS, 2, maxmask), np.int64)
    hi = np.empty((NGROUPS, 2, maxmask), np.int64)
    cap = scratch.shape[1]
    cand_row = scratch[0]
    cand_g = scratch[1]
    pend_a = scratch[2]
    pend_b = scratch[3]
    pend_g = scratch[4]
    left = scratch[5]
    right = scratch[6]
    count = 0
    for qi in range(queries.shape[0]):
        q = queries[qi]
        start = count
        for g in range(NGROUPS):
            qg[g] = (q[g >> 1] >> np.uint64(32 * (g & 1))) & np.uint64(0xFFFFFFFF)
        # (1) bucket bounds of every probe
        work = 0
        for g in range(NGROUPS):
            t = thr[g]
            if t < 0:
                continue
            qa = np.int64(qg[g] & np.uint64(0xFFFF))
            qb = np.int64(qg[g] >> np.uint64(16))
            offa = offs[0, g]
            offb = offs[1, g]
            for mi in range(mask_cum[t // 2]):
                mk = np.int64(masks[mi])
                lo[g, 0, mi] = offa[qa ^ mk]
                hi[g, 0, mi] = offa[(qa ^ mk) + 1]
                lo[g, 1, mi] = offb[qb ^ mk]
                hi[g, 1, mi] = offb[(qb ^ mk) + 1]
                work += hi[g, 0, mi] - lo[g, 0, mi] + hi[g, 1, mi] - lo[g, 1, mi]
        if work > work_limit:
            count = _brute_one(q, qi, radius, codes, alive, n, start, out_q, out_row, out_d)
            continue
        # (2) touch each bucket so that the scans find it in cache
        touch = np.int64(0)
        for g in range(NGROUPS):
            t = thr[g]
            if t < 0:
                continue
            for side in range(2):
                for mi in range(mask_cum[t // 2]):
                    j = lo[g, side, mi]
                    k = hi[g, side, mi] - 1
                    if j <= k:  # a bucket's first and last entries: every line it spans
                        touch += np.int64(vals[side, g, j]) + np.int64(vals[side, g, k])
        # (3) partner-chunk scans. Buffers too small for a query within the work budget make
        # the caller retry with bigger ones; beyond the budget the query is scanned instead.
        ncand = 0
        npend = 0
        bail = False
        budget = (work_limit - work) // VERIFY_COST
        for g in range(NGROUPS):
            t = thr[g]
            if t < 0:
                continue
            h = t // 2
            qa = np.int64(qg[g] & np.uint64(0xFFFF))
            qb = np.int64(qg[g] >> np.uint64(16))
            valb = vals[0, g]
            vala = vals[1, g]
            pg = perm[g]
            # table A: buckets with dA <= h, partner test dA + dB <= t
            for mi in range(mask_cum[h]):
                lim = t - np.int64(popcount(np.uint64(masks[mi])))
                for j in range(lo[g, 0, mi], hi[g, 0, mi]):
                    if np.int64(popcount(np.uint64(valb[j] ^ qb))) <= lim:
                        if ncand == cap:
                            if cap < budget:
                                return -1
                            bail = True  # over the work budget anyway: scan instead
                            break
                        cand_row[ncand] = pg[j]
                        cand_g[ncand] = g
                        ncand += 1
                if bail:
                    break
            if bail:
                break
            # table B: buckets with dB <= h, entries with dA > h (the rest came from table A)
            for mi in range(mask_cum[h]):
                mk = np.int64(masks[mi])
                lim = t - np.int64(popcount(np.uint64(mk)))
                prev = np.int64(-1)
                for j in range(lo[g, 1, mi], hi[g, 1, mi]):
                    av = np.int64(vala[j])
                    if av == prev:
                        continue  # same (A, B) pair: one resolve covers its rows
                    prev = av
                    da = np.int64(popcount(np.uint64(av ^ qa)))
                    if da > h and da <= lim:
                        if npend == cap:
                            if cap < budget:
                                return -1
                            bail = True
                            break
                        pend_a[npend] = av
                        pend_b[npend] = qb ^ mk
                        pend_g[npend] = g
                        npend += 1
                if bail:
                    break
            if bail:
                break
        work += VERIFY_COST * (ncand + 2 * npend)
        if bail or work > work_limit:
            count = _brute_one(q, qi, radius, codes, alive, n, start, out_q, out_row, out_d)
            continue
        # (4) resolve table-B pairs (A, B) to their rows in table-A order: a binary search
        # for B inside bucket A, all searches advancing together so their loads overlap
        for p in range(npend):
            left[p] = offs[0, pend_g[p], pend_a[p]]
            right[p] = offs[0, pend_g[p], pend_a[p] + 1]
        active = npend
        while active:
            active = 0
            for p in range(npend):
                lft = left[p]
                rgt = right[p]
                if lft < rgt:
                    mid = (lft + rgt) >> 1
                    below = np.int64(vals[0, pend_g[p], mid]) < pend_b[p]
                    left[p] = mid + 1 if below else lft
                    right[p] = rgt if below else mid
                    active += 1
        for p in range(npend):
            g = pend_g[p]
            k = left[p]
            end = offs[0, g, pend_a[p] + 1]
            while k < end and np.int64(vals[0, g, k]) == pend_b[p]:
                if ncand == cap:
                    if cap < budget:
                        return -1
                    bail = True
                    break
                cand_row[ncand] = perm[g, k]
                cand_g[ncand] = g
                ncand += 1
                k += 1
            if bail:
                break
        if bail:
            count = _brute_one(q, qi, radius, codes, alive, n, start, out_q, out_row, out_d)
            continue
        # (5) touch every candidate's code and liveness byte
        for c in range(ncand):
            row = cand_row[c]
            touch += np.int64(codes[row, 0] & np.uint64(1)) + np.int64(alive[row >> 3])
        if touch == 0x7FFFFFFFFFFFFFFF:
            # Never true: the sum is small. A visible effect keeps the touching loads from
            # being optimised away (the caller treats -1 as "retry").
            return -1
        # (6) verification
        for c in range(ncand):
            row = cand_row[c]
            d = _verify(codes, alive, row, q, radius, cand_g[c], qg, thr)
            if d >= 0:
                count = _emit(count, qi, row, d, out_q, out_row, out_d)
    return count
