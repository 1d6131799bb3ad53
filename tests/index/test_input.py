"""Input forms the index accepts, and the typed errors for the ones it refuses."""

from __future__ import annotations

import numpy as np
import pytest
from index_reference import random_codes

from rescind.index import (
    HammingIndex,
    HammingIndexError,
    InvalidHashError,
    InvalidIdError,
    InvalidRadiusError,
    warm_up,
)
from rescind.index._jit import kernel

HEX = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


@pytest.fixture
def index() -> HammingIndex:
    idx = HammingIndex()
    idx.add([1, 2], [HEX, "0" * 64])
    return idx


def test_hex_follows_threatexchange_byte_order(index: HammingIndex) -> None:
    raw = np.frombuffer(bytes.fromhex(HEX), np.uint8)
    assert index.search_one(raw, 0) == [(1, 0)]
    assert index.search_one(HEX.upper(), 0) == [(1, 0)]
    one_bit = raw.copy()
    one_bit[0] ^= 0x80  # the first hex digit's top bit
    assert index.search_one(one_bit, 1) == [(1, 1)]
    assert index.search_one(format(int(HEX, 16) ^ (1 << 255), "064x"), 1) == [(1, 1)]


def test_hex_matches_threatexchange_index() -> None:
    pdq_index = pytest.importorskip("threatexchange.signal_type.pdq.pdq_index")
    rng = np.random.default_rng(30)
    codes = random_codes(rng, 50)
    codes[25:] = codes[:25] ^ (rng.random((25, 32)) < 0.05).astype(np.uint8)
    hexes = [bytes(c).hex() for c in codes]
    theirs = pdq_index.PDQIndex(entries=[(h, i) for i, h in enumerate(hexes)])
    ours = HammingIndex()
    ours.add(range(50), hexes)
    for h in hexes[:30]:
        expected = sorted((m.metadata, m.similarity_info.distance) for m in theirs.query(h))
        assert sorted(ours.search_one(h, 31)) == expected


def test_input_forms(index: HammingIndex) -> None:
    raw = np.frombuffer(bytes.fromhex(HEX), np.uint8)  # read-only buffer
    assert index.search([HEX], 0) == [[(1, 0)]]
    assert index.search((HEX, HEX), 0) == [[(1, 0)], [(1, 0)]]
    assert index.search(np.array([HEX]), 0) == [[(1, 0)]]
    assert index.search(raw[None, :], 0) == [[(1, 0)]]
    assert index.search(np.stack([raw, raw])[:, ::1], np.int16(0)) == [[(1, 0)]] * 2
    assert index.search([], 5) == []
    assert index.search(np.empty((0, 32), np.uint8), 5) == []
    unaligned = np.empty(33, np.uint8)[1:]
    unaligned[:] = raw
    assert index.search_one(unaligned, 0) == [(1, 0)]
    index.add(np.array([9], np.uint64), HEX)
    index.add(np.int64(10), [HEX])
    assert index.search_one(HEX, 0) == [(1, 0), (9, 0), (10, 0)]
    assert 9 in index and np.int64(10) in index
    assert 3 not in index and "1" not in index and 2**70 not in index and True not in index


def test_empty_index() -> None:
    idx = HammingIndex()
    assert len(idx) == 0
    assert idx.search([HEX, HEX], 31) == [[], []]
    assert idx.search_one(HEX, 256) == []
    assert idx.remove([1]) == 0
    idx.add([], [])
    assert len(idx) == 0


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (HEX[:-1], "not 64 hex"),
        (HEX + "0", "not 64 hex"),
        ("g" + HEX[1:], "not 64 hex"),
        (" " + HEX[1:], "not 64 hex"),
        ("é" + HEX[1:], "not 64 hex"),
        ([HEX, 5], "hash #1"),
        ([HEX, HEX[:10]], "hash #1"),
        (np.zeros((2, 31), np.uint8), "shape"),
        (np.zeros((2, 32, 1), np.uint8), "shape"),
        (np.zeros((2, 32), np.int64), "dtype"),
        (np.zeros((2, 256), bool), "dtype"),
        (bytes(32), "not bytes"),
        (3.5, "float"),
    ],
)
def test_bad_hashes(index: HammingIndex, bad: object, message: str) -> None:
    with pytest.raises(InvalidHashError, match=message):
        index.search(bad, 3)
    with pytest.raises(InvalidHashError):
        index.add([5] if isinstance(bad, str) else list(range(2)), bad)
    assert len(index) == 2  # nothing stored


@pytest.mark.parametrize("radius", [-1, 257, 1.0, "3", None, True])
def test_bad_radius(index: HammingIndex, radius: object) -> None:
    with pytest.raises(InvalidRadiusError):
        index.search([HEX], radius)  # type: ignore[arg-type]
    with pytest.raises(InvalidRadiusError):
        index.search_one(HEX, radius)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ([1, 2, 3], "3 ids for 2 hashes"),
        ([1.0, 2.0], "integers"),
        (["a", "b"], "integers"),
        ([[1], [2]], "one-dimensional"),
        ([True, False], "integers"),
        (np.array([2**63, 1], np.uint64), "int64"),
        ([2**64, 1], "int64"),
    ],
)
def test_bad_ids(index: HammingIndex, ids: object, message: str) -> None:
    with pytest.raises(InvalidIdError, match=message):
        index.add(ids, [HEX, HEX])


def test_errors_are_value_errors() -> None:
    assert issubclass(InvalidHashError, HammingIndexError)
    assert issubclass(HammingIndexError, ValueError)


def test_search_one_refuses_batches(index: HammingIndex) -> None:
    with pytest.raises(InvalidHashError, match="exactly one"):
        index.search_one([HEX, HEX], 3)


def test_kernel_compiles_without_a_cache_location() -> None:
    """Source without a file (no cache locator) falls back to an uncached compile."""
    namespace: dict[str, object] = {}
    exec("def double(x):\n    return 2 * x\n", namespace)
    double = kernel(namespace["double"])  # type: ignore[arg-type]
    assert double(21) == 42


def test_warm_up_compiles_without_warnings() -> None:
    warm_up()
    warm_up()


def test_search_one_takes_every_form_of_one_hash(index: HammingIndex) -> None:
    """The forms search_one checks on its fast path (a 32-byte row, strided or not, hex)
    and those it hands to the general check (a (1, 32) row, a list of one hex string) give
    one result; arrays of another length, shape or type are refused, never read as a hash."""
    raw = np.frombuffer(bytes.fromhex(HEX), np.uint8)
    strided = np.repeat(raw, 2)[::2]
    assert not strided.flags.c_contiguous
    for form in (raw, raw.copy(), raw[None, :], strided, HEX, HEX.upper(), [HEX]):
        assert index.search_one(form, 0) == [(1, 0)], type(form)
    for bad in (raw[:31], np.zeros(33, np.uint8), raw.reshape(2, 16), raw.astype(np.int64),
                HEX[:-2] + "zz", HEX + "00", b"\x00" * 32):  # fmt: skip
        with pytest.raises(InvalidHashError):
            index.search_one(bad, 0)
