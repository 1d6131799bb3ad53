"""Save/load round trips and clear errors for damaged or foreign files."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from index_reference import random_codes, reference

from rescind.index import HammingIndex, IndexFileError, segment
from rescind.index.build import row_width
from rescind.index.fileformat import FORMAT_VERSION, HEADER_SIZE
from rescind.index.segment import build_segment


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    bank = random_codes(rng, 6000)
    ids = rng.permutation(100_000)[:6000].astype(np.int64)
    index = HammingIndex()
    index.add(ids[:5000], bank[:5000])
    index.add(ids[5000:], bank[5000:])
    index.remove(ids[:10])
    path = tmp_path_factory.mktemp("idx") / "bank.idx"
    index.save(path)
    return path, ids[10:], bank[10:]


def _damaged(src: Path, tmp_path: Path, edit: object) -> Path:
    data = bytearray(src.read_bytes())
    assert callable(edit)
    data = edit(data)
    out = tmp_path / "damaged.idx"
    out.write_bytes(bytes(data))
    return out


def test_round_trip(saved: tuple[Path, np.ndarray, np.ndarray]) -> None:
    path, ids, bank = saved
    index = HammingIndex.load(path)
    assert len(index) == len(ids)
    assert index.segment_count == 1
    queries = np.concatenate([bank[:20], random_codes(np.random.default_rng(0), 5)])
    assert index.search(queries, 31) == [reference(ids, bank, q, 31) for q in queries]
    # a loaded index stays mutable
    index.add([-1], bank[0])
    assert index.search_one(bank[0], 0) == sorted([(-1, 0), (int(ids[0]), 0)])


def test_round_trip_small_and_empty(tmp_path: Path) -> None:
    for n in (0, 1, 3):
        index = HammingIndex()
        codes = random_codes(np.random.default_rng(n), n)
        index.add(np.arange(n), codes)
        index.save(tmp_path / "small.idx")
        loaded = HammingIndex.load(tmp_path / "small.idx")
        assert len(loaded) == n
        for i in range(n):
            assert loaded.search_one(codes[i], 0) == [(i, 0)]
        assert loaded.search(random_codes(np.random.default_rng(9), 2), 10) == [[], []]


def test_save_keeps_the_live_index_searchable(saved: tuple[Path, np.ndarray, np.ndarray]) -> None:
    path, ids, bank = saved
    index = HammingIndex.load(path)
    index.remove(ids[:5])
    index.save(path.with_name("again.idx"))
    assert index.search_one(bank[0], 0) == []
    assert HammingIndex.load(path.with_name("again.idx")).search_one(bank[0], 0) == []


@pytest.mark.parametrize(
    ("name", "edit", "message"),
    [
        ("payload byte", lambda d: d[:-1000] + bytes([d[-1000] ^ 1]) + d[-999:], "checksum"),
        ("first payload byte", lambda d: d[:64] + bytes([d[64] ^ 0x80]) + d[65:], "checksum"),
        ("header byte", lambda d: d[:20] + bytes([d[20] ^ 4]) + d[21:], "corrupt header"),
        ("truncated", lambda d: d[: len(d) // 2], "truncated"),
        ("truncated header", lambda d: d[:30], "truncated"),
        ("empty", lambda d: b"", "truncated"),
        ("trailing data", lambda d: d + b"x", "trailing"),
        ("wrong magic", lambda d: b"NOTANIDX" + d[8:], "not a Rescind index"),
    ],
)
def test_damaged_files_raise_clear_errors(
    saved: tuple[Path, np.ndarray, np.ndarray],
    tmp_path: Path,
    name: str,
    edit: object,
    message: str,
) -> None:
    path, _, _ = saved
    with pytest.raises(IndexFileError, match=message):
        HammingIndex.load(_damaged(path, tmp_path, edit))


def _with_header(data: bytearray, **fields: int) -> bytearray:
    """Rewrite header fields and re-seal the header checksum (a well-formed foreign file)."""
    magic, version, flags, n, plen, crc = struct.unpack_from("<8sIIQQI", data)
    values = {"version": version, "flags": flags, "n": n, "plen": plen, "crc": crc, **fields}
    head = struct.pack(
        "<8sIIQQI", magic, values["version"], values["flags"], values["n"], values["plen"],
        values["crc"],
    )  # fmt: skip
    head += struct.pack("<I", zlib.crc32(head))
    return bytearray(head) + data[len(head) :]


def test_other_version_is_named(saved: tuple[Path, np.ndarray, np.ndarray], tmp_path: Path) -> None:
    path, _, _ = saved
    bad = _damaged(path, tmp_path, lambda d: _with_header(d, version=FORMAT_VERSION + 1))
    with pytest.raises(IndexFileError, match=f"version {FORMAT_VERSION + 1} is not supported"):
        HammingIndex.load(bad)


def test_inconsistent_sizes(saved: tuple[Path, np.ndarray, np.ndarray], tmp_path: Path) -> None:
    path, _, _ = saved
    bad = _damaged(path, tmp_path, lambda d: _with_header(d, n=10**12))
    with pytest.raises(IndexFileError, match="inconsistent sizes"):
        HammingIndex.load(bad)


def test_crafted_file_with_valid_checksum_is_rejected(
    saved: tuple[Path, np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    """A checksum is not a signature: structure is checked so kernels never read out of bounds."""
    path, ids, _ = saved
    n = len(ids)

    def break_perm(d: bytearray) -> bytearray:
        perm_at = HEADER_SIZE + -(-n * 8 // 64) * 64 + -(-n * 32 // 64) * 64
        d[perm_at : perm_at + 4] = struct.pack("<I", n + 5)
        payload = bytes(d[HEADER_SIZE:])
        return _with_header(d, crc=zlib.crc32(payload))

    with pytest.raises(IndexFileError, match="row number out of range"):
        HammingIndex.load(_damaged(path, tmp_path, break_perm))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(IndexFileError, match="cannot read"):
        HammingIndex.load(tmp_path / "nope.idx")


def test_save_is_atomic_and_leaves_no_temporary(tmp_path: Path) -> None:
    index = HammingIndex()
    index.add([1, 2], random_codes(np.random.default_rng(1), 2))
    index.save(tmp_path / "a.idx")
    index.save(tmp_path / "a.idx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.idx"]


def test_small_segment_with_tables_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(segment, "SMALL_SEGMENT", 10)
    index = HammingIndex()
    codes = random_codes(np.random.default_rng(2), 30)
    index.add(np.arange(30), codes)
    index.save(tmp_path / "t.idx")
    loaded = HammingIndex.load(tmp_path / "t.idx")
    assert loaded.search_one(codes[7], 0) == [(7, 0)]


def _version_1_file(path: Path, ids: np.ndarray, bank: np.ndarray) -> None:
    """The file an index of ``ids``/``bank`` had as format version 1 (rows of table A only,
    as uint32), written from a segment built now."""
    seg = build_segment(ids, np.ascontiguousarray(bank).view("<u8"))
    n = len(seg)
    width = row_width(n)
    rows = np.zeros((2 * 8, n), np.uint32)
    for k in range(width):
        rows |= seg.perm.reshape(16, n, width)[:, :, k].astype(np.uint32) << (8 * k)
    arrays = [seg.ids, seg.codes, rows[:8], seg.vals, seg.offs]
    payload = b""
    for arr in arrays:
        data = np.ascontiguousarray(arr).tobytes()
        payload += data + bytes(-len(data) % 64)
    head = struct.pack("<8sIIQQI", b"RSCNDHIX", 1, 1, n, len(payload), zlib.crc32(payload))
    head += struct.pack("<I", zlib.crc32(head))
    path.write_bytes(head + bytes(HEADER_SIZE - len(head)) + payload)


def test_version_1_file_is_read_and_its_tables_rebuilt(
    saved: tuple[Path, np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    """An index saved before table B carried its rows still loads and searches exactly."""
    _, ids, bank = saved
    order = np.argsort(ids)
    old = tmp_path / "v1.idx"
    _version_1_file(old, ids[order], bank[order])
    assert FORMAT_VERSION == 2
    index = HammingIndex.load(old)
    assert len(index) == len(ids)
    queries = np.concatenate([bank[:20], random_codes(np.random.default_rng(3), 5)])
    expected = [reference(ids, bank, q, 31) for q in queries]
    assert index.search(queries, 31) == expected
    index.save(tmp_path / "v2.idx")  # saved again in the current version
    assert struct.unpack_from("<I", (tmp_path / "v2.idx").read_bytes(), 8)[0] == FORMAT_VERSION
    assert HammingIndex.load(tmp_path / "v2.idx").search(queries, 31) == expected
