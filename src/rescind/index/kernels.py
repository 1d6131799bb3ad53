"""Compiled kernels: table construction, multi-index search and brute-force search.

Layout (see ``segment.py`` for the Python side). A 256-bit code is four ``uint64`` words,
read little-endian from the 32 PDQ bytes. It is cut into 16 chunks of 16 bits and the chunks
are paired into 8 groups of 32 bits: group ``g`` is chunk ``A = 2g`` (low half of its 32 bits)
and chunk ``B = 2g + 1`` (high half).

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

NGROUPS = 8
NBUCKETS = 1 << 16
# Relative cost of verifying a candidate (a random access to its code) against scanning one
# table entry; used to decide when a query is cheaper by brute force.
VERIFY_COST = 16

# Kernels take numpy arrays and return numpy scalars; the typed wrappers live in the callers.
Array = Any
Scalar = Any


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
def build_tables(codes: Array, perm: Array, vals: Array, offs: Array) -> None:
    """Fill ``perm`` (8, n), ``vals`` (2, 8, n) and ``offs`` (2, 8, 65537) for ``codes`` (n, 4).

    Per group, an LSD radix sort (8-bit digits, stable) of ``(A << 16 | B) << 32 | row``
    gives the ``(A, B)`` order with ties by row; two more passes on ``B`` of that order give
    the ``(B, A)`` order. Byte-wide digits keep the scatter writes in cache, unlike a
    65,536-way counting sort.
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
        pg = perm[g]
        valb = vals[0, g]
        for j in range(n):
            e = elems[j]
            pg[j] = e & np.uint64(0xFFFFFFFF)
            valb[j] = (e >> np.uint64(32)) & np.uint64(0xFFFF)
            # re-key for the (B, A) order: B in bits 48..63, A in bits 32..47
            a = e >> np.uint64(48)
            b = (e >> np.uint64(32)) & np.uint64(0xFFFF)
            spare[j] = (b << np.uint64(48)) | (a << np.uint64(32))
        _radix_pass(spare, elems, 48, counts[0])
        _radix_pass(elems, spare, 56, counts[1])
        vala = vals[1, g]
        for j in range(n):
            vala[j] = (spare[j] >> np.uint64(32)) & np.uint64(0xFFFF)


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
def _flush(
    cand_row: Array,
    cand_g: Array,
    ncand: int,
    q: Array,
    qi: int,
    radius: int,
    codes: Array,
    alive: Array,
    qg: Array,
    thr: Array,
    count: int,
    out_q: Array,
    out_row: Array,
    out_d: Array,
) -> Scalar:
    """Verify buffered candidates; their code loads are independent, so they overlap."""
    for c in range(ncand):
        row = cand_row[c]
        d = _verify(codes, alive, row, q, radius, cand_g[c], qg, thr)
        if d >= 0:
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
    out_q: Array,
    out_row: Array,
    out_d: Array,
) -> Scalar:
    """Every live row within ``radius`` of each query, through the group tables.

    ``masks`` lists the 65,536 16-bit values by popcount and ``mask_cum[h]`` counts those of
    popcount <= h. A query whose table work exceeds ``work_limit`` (a skewed bank with huge
    buckets) is answered by brute force instead, which bounds the worst case. Returns the
    number of hits (see ``brute_search`` for the capacity rule).

    The work is split in phases so that memory loads do not wait on each other: first every
    bucket's bounds, then a touch of every bucket's first line, then the partner-chunk scans
    (which buffer candidates), then the verification of buffered candidates.
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
    cand_cap = 1024
    cand_row = np.empty(cand_cap, np.int64)
    cand_g = np.empty(cand_cap, np.int64)
    count = 0
    for qi in range(queries.shape[0]):
        q = queries[qi]
        start = count
        for g in range(NGROUPS):
            qg[g] = (q[g >> 1] >> np.uint64(32 * (g & 1))) & np.uint64(0xFFFFFFFF)
        # phase 1: bucket bounds of every probe
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
                a = qa ^ mk
                b = qb ^ mk
                lo[g, 0, mi] = offa[a]
                hi[g, 0, mi] = offa[a + 1]
                lo[g, 1, mi] = offb[b]
                hi[g, 1, mi] = offb[b + 1]
                work += hi[g, 0, mi] - lo[g, 0, mi] + hi[g, 1, mi] - lo[g, 1, mi]
        if work > work_limit:
            count = _brute_one(q, qi, radius, codes, alive, n, start, out_q, out_row, out_d)
            continue
        # phase 2: touch each bucket so the scans below find it in cache
        touch = 0
        for g in range(NGROUPS):
            t = thr[g]
            if t < 0:
                continue
            for side in range(2):
                for mi in range(mask_cum[t // 2]):
                    j = lo[g, side, mi]
                    if j < hi[g, side, mi]:
                        touch += vals[side, g, j]
        if touch == -1:  # never true; keeps the touching loads from being optimised away
            work += 1
        # phase 3: partner-chunk scans, candidates buffered then verified
        ncand = 0
        for g in range(NGROUPS):
            t = thr[g]
            if t < 0:
                continue
            h = t // 2
            qa = np.int64(qg[g] & np.uint64(0xFFFF))
            qb = np.int64(qg[g] >> np.uint64(16))
            offa = offs[0, g]
            valb = vals[0, g]
            vala = vals[1, g]
            pg = perm[g]
            # table A: buckets with dA <= h, partner test dA + dB <= t
            for mi in range(mask_cum[h]):
                lim = t - np.int64(popcount(np.uint64(masks[mi])))
                for j in range(lo[g, 0, mi], hi[g, 0, mi]):
                    if np.int64(popcount(np.uint64(valb[j] ^ qb))) <= lim:
                        if ncand == cand_cap:
                            count = _flush(
                                cand_row,
                                cand_g,
                                ncand,
                                q,
                                qi,
                                radius,
                                codes,
                                alive,
                                qg,
                                thr,
                                count,
                                out_q,
                                out_row,
                                out_d,
                            )
                            ncand = 0
                        cand_row[ncand] = pg[j]
                        cand_g[ncand] = g
                        ncand += 1
                        work += VERIFY_COST
            # table B: buckets with dB <= h, entries with dA > h (the rest came from table A)
            for mi in range(mask_cum[h]):
                mk = np.int64(masks[mi])
                b = qb ^ mk
                lim = t - np.int64(popcount(np.uint64(mk)))
                prev = np.int64(-1)
                for j in range(lo[g, 1, mi], hi[g, 1, mi]):
                    av = np.int64(vala[j])
                    if av == prev:
                        continue  # same (A, B) pair: its rows were resolved already
                    prev = av
                    da = np.int64(popcount(np.uint64(av ^ qa)))
                    if da <= h or da > lim:
                        continue
                    hi2 = np.int64(offa[av + 1])
                    left = np.int64(offa[av])
                    right = hi2
                    while left < right:
                        mid = (left + right) >> 1
                        if np.int64(valb[mid]) < b:
                            left = mid + 1
                        else:
                            right = mid
                    while left < hi2 and np.int64(valb[left]) == b:
                        if ncand == cand_cap:
                            count = _flush(
                                cand_row,
                                cand_g,
                                ncand,
                                q,
                                qi,
                                radius,
                                codes,
                                alive,
                                qg,
                                thr,
                                count,
                                out_q,
                                out_row,
                                out_d,
                            )
                            ncand = 0
                        cand_row[ncand] = pg[left]
                        cand_g[ncand] = g
                        ncand += 1
                        work += VERIFY_COST
                        left += 1
            if work > work_limit:
                break
        if work > work_limit:
            count = _brute_one(q, qi, radius, codes, alive, n, start, out_q, out_row, out_d)
            continue
        count = _flush(
            cand_row,
            cand_g,
            ncand,
            q,
            qi,
            radius,
            codes,
            alive,
            qg,
            thr,
            count,
            out_q,
            out_row,
            out_d,
        )
    return count
