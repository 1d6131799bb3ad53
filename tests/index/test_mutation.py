"""Adds, removes, replacements and compaction, checked against a dict model."""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory
from unittest.mock import patch

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from index_reference import flip, random_codes, reference

from rescind.index import HammingIndex, hamming, segment

ID_POOL = st.integers(-5, 60)


class IndexModel(RuleBasedStateMachine):
    """Small buffer and no small-segment shortcut, so segments form, merge and compact."""

    def __init__(self) -> None:
        super().__init__()
        self.patches = [
            patch.object(hamming, "DELTA_CAPACITY", 16),
            patch.object(segment, "SMALL_SEGMENT", 0),
        ]
        for p in self.patches:
            p.start()
        self.rng = np.random.default_rng(0)
        self.index = HammingIndex()
        self.model: dict[int, npt.NDArray[np.uint8]] = {}
        self.seeds = random_codes(self.rng, 3)

    def teardown(self) -> None:
        for p in self.patches:
            p.stop()

    def _codes(self, n: int, near: bool) -> npt.NDArray[np.uint8]:
        if not near:
            return random_codes(self.rng, n)
        out = []
        for _ in range(n):
            s = self.seeds[int(self.rng.integers(0, 3))]
            out.append(flip(s, self.rng.choice(256, int(self.rng.integers(0, 40)), replace=False)))
        return np.array(out, np.uint8).reshape(n, 32)

    @rule(ids=st.lists(ID_POOL, min_size=0, max_size=40), near=st.booleans(), hexed=st.booleans())
    def add(self, ids: list[int], near: bool, hexed: bool) -> None:
        codes = self._codes(len(ids), near)
        if hexed:
            self.index.add(ids, [bytes(c).hex() for c in codes])
        else:
            self.index.add(np.array(ids, np.int64), codes)
        for i, c in zip(ids, codes, strict=True):
            self.model[i] = c  # the last hash for an id wins

    @rule(ids=st.lists(ID_POOL, max_size=20))
    def remove(self, ids: list[int]) -> None:
        expected = len(set(ids) & self.model.keys())
        assert self.index.remove(ids) == expected
        for i in ids:
            self.model.pop(i, None)

    @rule()
    def compact(self) -> None:
        self.index.compact()
        assert self.index.segment_count <= 1

    @precondition(lambda self: len(self.model) < 40)
    @rule()
    def save_and_load(self) -> None:
        with TemporaryDirectory() as tmp:
            path = Path(tmp) / "bank.idx"
            self.index.save(path)
            self.index = HammingIndex.load(path)

    @rule(radius=st.sampled_from([0, 5, 31, 32, 64, 256]), near=st.booleans())
    def search(self, radius: int, near: bool) -> None:
        queries = np.concatenate([self._codes(2, near), self.seeds])
        ids = np.array(list(self.model), np.int64)
        bank = np.array(list(self.model.values()), np.uint8).reshape(-1, 32)
        expected = [reference(ids, bank, q, radius) for q in queries]
        assert self.index.search(queries, radius) == expected
        assert self.index.search_one(queries[0], radius) == expected[0]

    @invariant()
    def size_and_membership(self) -> None:
        assert len(self.index) == len(self.model)
        for i in (-5, 0, 7, 60):
            assert (i in self.index) == (i in self.model)


TestIndexModel = IndexModel.TestCase
TestIndexModel.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)


class CappedIndexModel(IndexModel):
    """The same with merges capped at a few buffers' worth of rows."""

    def __init__(self) -> None:
        super().__init__()
        self.index = HammingIndex(max_segment=40)


TestCappedIndexModel = CappedIndexModel.TestCase
TestCappedIndexModel.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)


def test_readd_replaces_hash() -> None:
    rng = np.random.default_rng(5)
    a, b = random_codes(rng, 2)
    index = HammingIndex()
    index.add([1], a)
    index.add([1], b)
    assert len(index) == 1
    assert index.search_one(a, 0) == []
    assert index.search_one(b, 0) == [(1, 0)]


def test_repeated_id_in_one_call_last_wins() -> None:
    rng = np.random.default_rng(6)
    a, b = random_codes(rng, 2)
    index = HammingIndex()
    index.add([4, 4], np.stack([a, b]))
    assert len(index) == 1
    assert index.search_one(b, 0) == [(4, 0)]
    assert index.search_one(a, 0) == []


def test_remove_unknown_ids_is_not_an_error() -> None:
    index = HammingIndex()
    assert index.remove([1, 2, 3]) == 0
    index.add([1], np.zeros(32, np.uint8))
    assert index.remove([2, 1, 1]) == 1
    assert index.remove(1) == 0
    assert len(index) == 0


def test_bulk_add_then_small_adds_and_removes_across_segments() -> None:
    """Large batches become segments directly; small ones go through the buffer."""
    rng = np.random.default_rng(8)
    bank = random_codes(rng, 30_000)
    index = HammingIndex()
    index.add(np.arange(20_000), bank[:20_000])
    for start in range(20_000, 30_000, 1000):  # buffer fills and flushes
        index.add(np.arange(start, start + 1000), bank[start : start + 1000])
    index.remove(np.arange(0, 30_000, 2))
    index.add(np.arange(0, 100, 2), bank[1:101:2])  # re-add under new hashes
    live = {i: bank[i] for i in range(1, 30_000, 2)}
    live.update({i: bank[i + 1] for i in range(0, 100, 2)})
    ids = np.array(list(live), np.int64)
    codes = np.array(list(live.values()))
    queries = np.concatenate([bank[:20], random_codes(rng, 5)])
    for q in queries:
        assert index.search_one(q, 31) == reference(ids, codes, q, 31)
    assert len(index) == len(live)
    index.compact()
    assert index.segment_count == 1
    assert index.search(queries, 31) == [reference(ids, codes, q, 31) for q in queries]


def test_capped_index_never_merges_past_its_cap() -> None:
    """A stream of small adds: with a cap, no merge builds more than the cap, and the rows
    spread over several segments that are all searched; without one, they settle in a few."""
    rng = np.random.default_rng(12)
    bank = random_codes(rng, 60_000)
    queries = np.concatenate([bank[::4000], random_codes(rng, 5)])
    ids = np.arange(60_000, dtype=np.int64)
    capped, free = HammingIndex(max_segment=10_000), HammingIndex()
    for start in range(0, 60_000, 1000):
        for index in (capped, free):
            index.add(ids[start : start + 1000], bank[start : start + 1000])
    sizes = [len(seg) for seg in capped._snap.segments]
    assert max(sizes) <= 10_000
    assert capped.segment_count >= 6
    assert free.segment_count < capped.segment_count
    expected = [reference(ids, bank, q, 31) for q in queries]
    assert capped.search(queries, 31) == expected
    assert [capped.search_one(q, 31) for q in queries] == expected
    capped.compact()
    assert capped.segment_count == 1
    assert capped.search(queries, 31) == expected


def test_max_segment_must_be_a_positive_int() -> None:
    for bad in (0, -1, 1.5, "10"):
        with pytest.raises(ValueError, match="max_segment"):
            HammingIndex(max_segment=bad)  # type: ignore[arg-type]


def test_index_keeps_its_own_copy_of_the_input() -> None:
    rng = np.random.default_rng(9)
    for n in (10, 10_000):  # through the buffer, and straight into a segment
        bank = random_codes(rng, n)
        ids = np.arange(n, dtype=np.int64)
        original = bank.copy()
        index = HammingIndex()
        index.add(ids, bank)
        bank[:] = 0
        ids[:] = -1
        assert index.search_one(original[3], 0) == [(3, 0)]
