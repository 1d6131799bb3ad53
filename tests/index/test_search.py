"""Exactness of search against the brute-force reference, on random and adversarial banks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from unittest.mock import patch

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from index_reference import distances, flip, random_codes, reference

from rescind.index import HammingIndex, plan, segment
from rescind.index.hamming import BATCH

RADII = [*range(0, 65), 96, 128, 200, 256]


@contextmanager
def tables_always(fallback: bool = False) -> Iterator[None]:
    """Use the table kernel even on tiny segments; optionally make every table query give up
    and scan (the in-kernel fallback for skewed banks)."""
    with patch.object(segment, "SMALL_SEGMENT", 0):
        if fallback:
            with (
                patch.object(segment, "QUERY_WORK_PER_ROW", 0.0),
                patch.object(segment, "QUERY_WORK_FLOOR", 0),
            ):
                yield
        else:
            yield


def spread_bits(rng: np.random.Generator, distance: int, how: str) -> npt.NDArray[np.int64]:
    """``distance`` distinct bit positions laid out to stress the pigeonhole bound."""
    if how == "random":
        return rng.choice(256, distance, replace=False)
    # Chunks of 16 bits: chunk 2g is the A half of group g, chunk 2g + 1 the B half.
    groups = rng.permutation(8)
    per_group = [distance // 8 + (1 if i < distance % 8 else 0) for i in range(8)]
    bits: list[int] = []
    for g, k in zip(groups, per_group, strict=True):
        if how == "even":
            ka = k // 2 + int(rng.integers(0, 2)) * (k % 2)
        elif how == "a_only":
            ka = min(k, 16)
        else:  # "b_only"
            ka = max(0, k - 16)
        kb = k - ka
        a_bits = rng.choice(16, ka, replace=False) + 32 * g
        b_bits = rng.choice(16, kb, replace=False) + 32 * g + 16
        bits += [*a_bits.tolist(), *b_bits.tolist()]
    return np.array(bits, np.int64)


@pytest.fixture(scope="module")
def boundary_bank() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """A query plus codes at every distance 0..72 from it, in every layout, plus filler."""
    rng = np.random.default_rng(7)
    query = random_codes(rng, 1)[0]
    crafted = [
        flip(query, spread_bits(rng, d, how))
        for d in range(0, 73)
        for how in ("even", "a_only", "b_only", "random")
        for _ in range(4)
    ]
    bank = np.concatenate([np.array(crafted), random_codes(rng, 3000)])
    ids = rng.permutation(10 * len(bank))[: len(bank)].astype(np.int64) - 5 * len(bank)
    return ids, bank, query


@pytest.mark.parametrize("mode", ["default", "scan_fallback", "tables_at_any_radius"])
def test_every_radius_at_the_boundary(
    boundary_bank: tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8], npt.NDArray[np.uint8]],
    mode: str,
) -> None:
    ids, bank, query = boundary_bank
    any_radius = 1e12 if mode == "tables_at_any_radius" else segment.TABLE_WORK_PER_ROW
    with (
        tables_always(mode == "scan_fallback"),
        patch.object(segment, "TABLE_WORK_PER_ROW", any_radius),
    ):
        index = HammingIndex()
        index.add(ids, bank)
        for radius in RADII:
            expected = reference(ids, bank, query, radius)
            assert index.search_one(query, radius) == expected, radius
            assert index.search(query[None, :], radius) == [expected], radius


def test_default_path_on_a_larger_random_bank() -> None:
    rng = np.random.default_rng(1)
    bank = random_codes(rng, 20_000)
    ids = np.arange(20_000, dtype=np.int64) * 3
    index = HammingIndex()
    index.add(ids, bank)
    near = np.array([flip(bank[i], rng.choice(256, 5 + i % 30, replace=False)) for i in range(40)])
    queries = np.concatenate([near, random_codes(rng, 10)])
    for radius in (0, 8, 31, 32, 47, 64):
        got = index.search(queries, radius)
        assert got == [reference(ids, bank, q, radius) for q in queries], radius


def test_huge_bucket_stays_exact() -> None:
    """Every code shares its first 64 bits: some buckets hold the whole bank."""
    rng = np.random.default_rng(2)
    bank = random_codes(rng, 6000)
    bank[:, :8] = 0xA5
    bank[::3, 8:12] = 0
    ids = np.arange(6000, dtype=np.int64)
    index = HammingIndex()
    index.add(ids, bank)
    queries = np.concatenate([bank[:5], random_codes(rng, 3)])
    queries[5:, :8] = 0xA5
    for radius in (0, 31, 40):
        assert index.search(queries, radius) == [reference(ids, bank, q, radius) for q in queries]


@st.composite
def banks(draw: st.DrawFn) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8], int]:
    """Adversarial banks: families around a few seeds, all-zero/all-one codes, duplicates,
    differences concentrated in one chunk, plus random codes; and queries near them."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    radius = draw(st.sampled_from([0, 1, 2, 3, 7, 8, 15, 16, 30, 31, 32, 33, 48, 63, 64, 100]))
    seeds = random_codes(rng, draw(st.integers(1, 4)))
    seeds[0] = draw(st.sampled_from([0, 255])) if draw(st.booleans()) else seeds[0]
    rows = [random_codes(rng, draw(st.integers(0, 30)))]
    for s in seeds:
        for _ in range(draw(st.integers(1, 25))):
            d = int(rng.choice([radius, radius + 1, int(rng.integers(0, 80))]))
            how = str(rng.choice(["even", "a_only", "b_only", "random"]))
            rows.append(flip(s, spread_bits(rng, min(d, 256), how))[None, :])
        chunk = int(rng.integers(0, 16))  # all the differences in one 16-bit chunk
        rows.append(
            np.array(
                [flip(s, rng.choice(16, int(rng.integers(0, 17)), replace=False) + 16 * chunk)]
            )
        )
    bank = np.concatenate(rows)
    dup = draw(st.integers(0, 5))
    if dup and len(bank):
        bank = np.concatenate([bank, np.repeat(bank[:1], dup, axis=0)])
    queries = np.concatenate([seeds, random_codes(rng, 2)])
    return bank, queries, radius


@contextmanager
def tiny_buffers() -> Iterator[None]:
    """Work buffers just big enough for the probes: candidates and hits overflow them, and
    the kernel asks for bigger ones and runs again."""
    plan._local.__dict__.clear()
    with patch.object(plan, "MIN_CAPACITY", 1):
        yield
    plan._local.__dict__.clear()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=banks(), fallback=st.booleans(), tiny=st.booleans())
def test_matches_reference(
    case: tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8], int],
    fallback: bool,
    tiny: bool,
) -> None:
    bank, queries, radius = case
    ids = np.arange(len(bank), dtype=np.int64) * 7 - 100
    with tables_always(fallback), tiny_buffers() if tiny else nullcontext():
        index = HammingIndex()
        index.add(ids, bank)
        expected = [reference(ids, bank, q, radius) for q in queries]
        assert index.search(queries, radius) == expected
        assert [index.search_one(q, radius) for q in queries] == expected


def test_buffers_grow_for_many_candidates_and_hits() -> None:
    """Radius 0 probes two buckets; 300 copies of a code overflow both the candidate scratch
    and the hit rows of a buffer sized for that."""
    rng = np.random.default_rng(5)
    bank = np.concatenate([np.repeat(random_codes(rng, 1), 300, axis=0), random_codes(rng, 5)])
    ids = np.arange(len(bank), dtype=np.int64)
    with tables_always(), tiny_buffers():
        index = HammingIndex()
        index.add(ids, bank)
        assert index.search_one(bank[0], 0) == [(i, 0) for i in range(300)]
        assert plan._local.work[0].shape[1] >= 300
        assert index.search(bank[:2], 3) == [[(i, 0) for i in range(300)]] * 2


def test_same_hash_under_many_ids_all_returned() -> None:
    code = np.full(32, 0x3C, np.uint8)
    index = HammingIndex()
    index.add([5, 3, 9], np.stack([code, code, code]))
    assert index.search_one(code, 0) == [(3, 0), (5, 0), (9, 0)]


def test_results_sorted_by_distance_then_id() -> None:
    rng = np.random.default_rng(3)
    query = random_codes(rng, 1)[0]
    bank = np.stack([flip(query, list(range(d))) for d in (5, 1, 5, 0, 1)])
    index = HammingIndex()
    index.add([50, 40, 30, 20, 10], bank)
    assert index.search_one(query, 31) == [(20, 0), (10, 1), (40, 1), (30, 5), (50, 5)]
    assert distances(bank, query).tolist() == [5, 1, 5, 0, 1]


def test_batched_search_with_workers_matches_single() -> None:
    """A batch longer than one compiled call's slice, on 1-3 threads: every query gets its
    own results, in order, as a single search gives them."""
    rng = np.random.default_rng(4)
    bank = random_codes(rng, 5000)
    index = HammingIndex()
    index.add(np.arange(5000), bank)
    queries = np.concatenate([bank[:700], random_codes(rng, 300), bank[700:1000]])
    assert queries.shape[0] > 2 * BATCH
    expected = [index.search_one(q, 31) for q in queries]
    assert expected[:700] == [[(i, 0)] for i in range(700)]
    assert expected[1000:] == [[(i, 0)] for i in range(700, 1000)]
    for workers in (1, 2, 3):
        assert index.search(queries, 31, workers=workers) == expected


def test_scanned_radius_needs_no_probe_buffers() -> None:
    """Above the radius where tables pay off every part is scanned: no probe list (150k
    probes at radius 100) is built and the work buffer keeps its size."""
    rng = np.random.default_rng(6)
    bank = random_codes(rng, 5000)
    index = HammingIndex()
    index.add(np.arange(5000), bank)
    plan._local.__dict__.clear()
    assert index.search_one(bank[7], 100) == reference(np.arange(5000), bank, bank[7], 100)
    assert index.search(bank[:3], 100) == [
        reference(np.arange(5000), bank, q, 100) for q in bank[:3]
    ]
    assert plan._local.work[3] == plan.MIN_CAPACITY
