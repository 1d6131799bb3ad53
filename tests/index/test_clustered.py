"""Exactness on clustered banks: families of near-duplicates, as real banks are (every banked
picture brings ~40 views within a few bits of each other), with biased bits so that some
buckets hold whole families. Checked against the brute-force reference through every path:
single and batched searches on one and several threads, searches whose hits and candidates
outgrow the work buffers, after removals and replacements, and after save and load."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from tempfile import TemporaryDirectory
from unittest.mock import patch

import numpy as np
import numpy.typing as npt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from index_reference import flip, reference

from rescind.index import HammingIndex, hamming, plan, segment

U8 = npt.NDArray[np.uint8]


def clustered(rng: np.random.Generator, families: int, size: int, skew: float) -> U8:
    """``families`` seeds with biased bits, each with ``size`` variants at 0-40 bit flips."""
    bias = np.clip(0.5 + rng.normal(0, skew, 256), 0.02, 0.98)
    seeds = np.packbits(rng.random((families, 256)) < bias, axis=1, bitorder="little")
    return np.array(
        [
            flip(seed, rng.choice(256, int(rng.integers(0, 41)), replace=False))
            for seed in seeds
            for _ in range(size)
        ],
        np.uint8,
    ).reshape(-1, 32)


def near_queries(rng: np.random.Generator, bank: U8, count: int) -> U8:
    """Stored codes with 0-25 bits flipped: queries inside the families."""
    picks = rng.integers(0, bank.shape[0], count)
    return np.array(
        [flip(bank[i], rng.choice(256, int(rng.integers(0, 26)), replace=False)) for i in picks],
        np.uint8,
    ).reshape(-1, 32)


@contextmanager
def tiny_buffers() -> Iterator[None]:
    """Work buffers just big enough for the probes: every batch outgrows them mid-way."""
    plan._local.__dict__.clear()
    with patch.object(plan, "MIN_CAPACITY", 1):
        yield
    plan._local.__dict__.clear()


def check(index: HammingIndex, model: dict[int, U8], queries: U8, radius: int) -> None:
    ids = np.array(list(model), np.int64)
    bank = np.array(list(model.values()), np.uint8).reshape(-1, 32)
    expected = [reference(ids, bank, q, radius) for q in queries]
    assert index.search(queries, radius) == expected
    assert index.search(queries, radius, workers=2) == expected
    assert [index.search_one(q, radius) for q in queries] == expected


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    families=st.integers(1, 12),
    size=st.integers(1, 60),
    skew=st.sampled_from([0.0, 0.15, 0.3]),
    radius=st.sampled_from([0, 8, 16, 31, 32, 40]),
    tiny=st.booleans(),
)
def test_clustered_banks_through_adds_removes_and_save_load(
    seed: int, families: int, size: int, skew: float, radius: int, tiny: bool
) -> None:
    rng = np.random.default_rng(seed)
    bank = clustered(rng, families, size, skew)
    n = bank.shape[0]
    ids = rng.permutation(4 * n)[:n].astype(np.int64)
    queries = np.concatenate([near_queries(rng, bank, 40), bank[:3]])
    with (
        patch.object(segment, "SMALL_SEGMENT", 0),  # tables even for small segments
        patch.object(hamming, "DELTA_CAPACITY", 64),  # buffer, segments and merges
        tiny_buffers() if tiny else nullcontext(),
    ):
        index = HammingIndex()
        model: dict[int, U8] = {}
        for lo in range(0, n, max(1, n // 3)):  # a few adds: segments plus the buffer
            hi = min(n, lo + max(1, n // 3))
            index.add(ids[lo:hi], bank[lo:hi])
            model.update(zip(ids[lo:hi].tolist(), bank[lo:hi], strict=True))
        check(index, model, queries, radius)

        gone = ids[rng.random(n) < 0.3]  # a third of every family removed
        assert index.remove(gone) == len(gone)
        for i in gone.tolist():
            del model[i]
        moved = ids[~np.isin(ids, gone)][:5]  # replaced by members of another family
        if moved.size:
            index.add(moved, bank[-moved.size :])
            model.update(zip(moved.tolist(), bank[-moved.size :], strict=True))
        check(index, model, queries, radius)

        with TemporaryDirectory() as tmp:
            index.save(Path(tmp) / "bank.idx")
            loaded = HammingIndex.load(Path(tmp) / "bank.idx")
        assert len(loaded) == len(model)
        check(loaded, model, queries, radius)


def test_a_family_bigger_than_the_buffers_in_a_long_batch() -> None:
    """300 near-duplicates of one picture and a batch of 200 queries among them: tens of
    thousands of hits, far more than a work buffer holds at first, in one and two threads;
    and single searches with many hits (their list built from slices of the buffer)."""
    rng = np.random.default_rng(31)
    seed = rng.integers(0, 256, 32, dtype=np.uint8)
    family = np.array([flip(seed, rng.choice(256, int(rng.integers(0, 12)), replace=False))
                       for _ in range(300)])  # fmt: skip
    others = clustered(rng, 20, 30, 0.15)
    bank = np.concatenate([family, others])
    ids = np.arange(bank.shape[0], dtype=np.int64) * 5
    index = HammingIndex()
    index.add(ids, bank)
    queries = np.concatenate([near_queries(rng, family, 150), near_queries(rng, others, 50)])
    expected = [reference(ids, bank, q, 31) for q in queries]
    assert sum(len(e) for e in expected) > 4 * plan.MIN_CAPACITY
    assert max(len(e) for e in expected) > plan.SMALL_RESULT
    plan._local.__dict__.clear()
    assert index.search(queries, 31) == expected
    assert index.search(queries, 31, workers=2) == expected
    assert [index.search_one(q, 31) for q in queries] == expected


def test_a_match_deep_in_a_long_bucket_with_no_hit_in_its_first_entries() -> None:
    """A bucket of 201 entries (a chunk value a whole family shares) whose only match sorts
    last: the first pass tests 64 entries and finds nothing, and the bucket must still be
    scanned to its end because it is long (the probes for that pass are listed without a
    branch on the first pass's hits)."""
    rng = np.random.default_rng(5)
    query = rng.integers(0, 256, 32, dtype=np.uint8)
    query[2:4] = 0xFF  # chunk 1 (group 0's partner in table A): 0xFFFF, so it sorts last
    # only group 0 finds the match: every other group 4 bits away, 28 bits in all
    match = flip(query, [32 * g + k for g in range(1, 8) for k in range(4)])
    fillers = rng.integers(0, 256, (200, 32), dtype=np.uint8)
    fillers[:, 0:2] = query[0:2]  # the same chunk 0: the same bucket of table A
    fillers[:, 2] = 0x0F  # partner chunk 4+ bits from 0xFFFF and below it
    bank = np.concatenate([fillers, [match]])
    ids = rng.permutation(1000)[: bank.shape[0]].astype(np.int64)
    with patch.object(segment, "SMALL_SEGMENT", 0):
        index = HammingIndex()
        index.add(ids, bank)
        index.compact()  # one segment with tables, not the buffer's scan
    assert index.segment_count == 1
    expected = reference(ids, bank, query, 31)
    assert expected == [(int(ids[-1]), 28)]
    assert index.search_one(query, 31) == expected
    assert index.search(query[None], 31) == [expected]


def test_buckets_of_every_length_around_the_vector_widths_are_searched_to_their_ends() -> None:
    """A bucket (a family sharing the query's chunk 0) of each length around 32, 64 and 96
    entries, each entry within or just past the radius: the first pass tests a bucket's
    first 64 entries in two vectors of 32 and the second pass the rest, so each length
    splits the work its own way. Every match is found by single and batched searches."""
    rng = np.random.default_rng(11)
    for length in (1, 31, 32, 33, 63, 64, 65, 95, 96, 97, 130):
        query = rng.integers(0, 256, 32, dtype=np.uint8)
        family = [
            # chunk 1 (the partner tested in the bucket) 0-3 bits from the query's, every
            # other group 4-7 bits (over its threshold, 3): group 0 is the only group that
            # finds a match, so only this bucket does; 28-34 bits in all, so more than half
            # of the bucket matches
            flip(
                query,
                [
                    *rng.choice(np.arange(16, 32), int(rng.integers(0, 4)), False),
                    *(32 * g + k for g in range(1, 7) for k in rng.choice(32, 4, False)),
                    *(224 + rng.choice(32, int(rng.integers(4, 8)), False)),
                ],
            )
            for _ in range(length)
        ]
        # enough other rows that the query's candidates stay within its work budget (it
        # would scan instead, see ``segment.query_work_limit``)
        bank = np.concatenate([family, rng.integers(0, 256, (8192, 32), np.uint8)])
        ids = rng.permutation(10 * bank.shape[0])[: bank.shape[0]].astype(np.int64)
        index = HammingIndex()
        index.add(ids, bank)
        index.compact()
        chunk = int(query[0]) | int(query[1]) << 8
        offs = index._snap.segments[0].offs[0, 0]
        assert int(offs[chunk + 1]) - int(offs[chunk]) >= length  # table A of group 0
        assert len(reference(ids, bank, query, 31)) >= length // 3
        for q in (query, flip(query, [3]), flip(query, [1, 200])):
            expected = reference(ids, bank, q, 31)
            assert index.search_one(q, 31) == expected
            assert index.search(q[None], 31) == [expected]
