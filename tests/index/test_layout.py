"""The table layout: table-B matches carry their own row numbers (3 bytes each below 2**24
rows, 4 above), so they need no lookup through table A; exact at both widths."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from unittest.mock import patch

import numpy as np
import pytest
from index_reference import flip, random_codes, reference

from rescind.index import HammingIndex, build, segment

WIDTHS = {3: build.SHORT_ROWS, 4: 0}  # row-number width -> the row count from which it applies


@contextmanager
def rows_of_width(width: int) -> Iterator[None]:
    """Tables even on small segments, with row numbers of ``width`` bytes."""
    with (
        patch.object(segment, "SMALL_SEGMENT", 0),
        patch.object(build, "SHORT_ROWS", WIDTHS[width]),
    ):
        yield


def only_in_table_b(code: np.ndarray) -> np.ndarray:
    """``code`` at distance exactly 31 such that only table B of group 0 finds it at radius
    31: in group 0 its low chunk is 2 bits away and its high chunk 1 (3, the group's
    threshold, but more than half of it in the key chunk of table A), every other group is
    4 bits away (past its threshold)."""
    bits = [0, 1, 16] + [32 * g + k for g in range(1, 8) for k in range(4)]
    return flip(code, bits)


@pytest.mark.parametrize("width", [3, 4])
def test_rows_found_through_table_b_only(width: int) -> None:
    rng = np.random.default_rng(width)
    seeds = random_codes(rng, 40)
    targets = np.array([only_in_table_b(s) for s in seeds])
    # the same (A, B) pair of group 0 under several rows, and unrelated rows around them
    twins = np.array([t.copy() for t in targets[:10]])
    twins[:, 31] ^= 0xFF  # far in group 7: never within 31 of the seed
    bank = np.concatenate([targets, twins, random_codes(rng, 3000)])
    ids = rng.permutation(10 * bank.shape[0])[: bank.shape[0]].astype(np.int64)
    with rows_of_width(width):
        index = HammingIndex()
        index.add(ids, bank)
        for radius in (31, 30, 32):
            expected = [reference(ids, bank, q, radius) for q in seeds]
            assert index.search(seeds, radius) == expected
            assert [index.search_one(q, radius) for q in seeds] == expected
        assert all(ids[i] in {m[0] for m in index.search_one(seeds[i], 31)} for i in range(40))
        assert not any(index.search_one(seeds[i], 30) for i in range(40) if not i % 7)


@pytest.mark.parametrize("width", [3, 4])
def test_both_widths_through_adds_removes_and_save_load(width: int) -> None:
    rng = np.random.default_rng(100 + width)
    seeds = random_codes(rng, 30)
    bank = np.array(
        [flip(seeds[f], rng.choice(256, int(rng.integers(0, 30)), replace=False))
         for f in rng.integers(0, 30, 1500)]
    )  # fmt: skip
    ids = np.arange(bank.shape[0], dtype=np.int64) * 3
    queries = np.array(
        [flip(bank[i], rng.choice(256, int(rng.integers(0, 20)), replace=False))
         for i in rng.integers(0, bank.shape[0], 60)]
    )  # fmt: skip
    with rows_of_width(width):
        index = HammingIndex()
        index.add(ids[:1000], bank[:1000])
        index.add(ids[1000:], bank[1000:])
        assert index.search(queries, 31) == [reference(ids, bank, q, 31) for q in queries]
        gone = ids[rng.random(ids.shape[0]) < 0.3]
        index.remove(gone)
        keep = ~np.isin(ids, gone)
        expected = [reference(ids[keep], bank[keep], q, 31) for q in queries]
        assert index.search(queries, 31) == expected
        with TemporaryDirectory() as tmp:
            index.save(Path(tmp) / "bank.idx")
            loaded = HammingIndex.load(Path(tmp) / "bank.idx")
        assert loaded.search(queries, 31) == expected
        assert [loaded.search_one(q, 31) for q in queries] == expected


def test_codes_start_on_a_cache_line_after_build_merge_and_load() -> None:
    """Each 32-byte code lies in one cache line (numpy puts large arrays 16 bytes past a
    page, which split every other code over two lines, the second one fetched only when
    the candidate was verified); the copy changes no result."""
    rng = np.random.default_rng(7)
    bank = random_codes(rng, 9000)
    ids = np.arange(9000, dtype=np.int64)
    queries = np.array([flip(bank[i], rng.choice(256, 12, replace=False)) for i in range(40)])
    unaligned = np.empty(9000 * 32 + 16, np.uint8)[16:].reshape(9000, 32)
    unaligned[:] = bank
    index = HammingIndex()
    index.add(ids[:5000], unaligned[:5000])
    index.add(ids[5000:], unaligned[5000:])
    index.remove(ids[::7])
    keep = ids % 7 != 0
    expected = [reference(ids[keep], bank[keep], q, 31) for q in queries]
    with TemporaryDirectory() as tmp:
        index.save(Path(tmp) / "bank.idx")
        loaded = HammingIndex.load(Path(tmp) / "bank.idx")
    for ix in (index, loaded):
        assert all(seg.codes.ctypes.data % 64 == 0 for seg in ix._snap.segments)
        assert ix.search(queries, 31) == expected
        assert [ix.search_one(q, 31) for q in queries] == expected
