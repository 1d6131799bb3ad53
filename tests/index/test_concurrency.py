"""Searches running while a writer adds, replaces and removes: each sees whole writes only."""

from __future__ import annotations

import threading

import numpy as np
from index_reference import distances, flip, random_codes

from rescind.index import HammingIndex


def test_readers_see_whole_writes_and_true_distances() -> None:
    rng = np.random.default_rng(21)
    query = random_codes(rng, 1)[0]
    base = random_codes(rng, 8000)
    index = HammingIndex()
    index.add(np.arange(8000), base)
    # Batch k: ids 100_000 + 100k .. +99, all within radius 31 of the query.
    batches = []
    for k in range(6):
        codes = np.array([flip(query, rng.choice(256, int(rng.integers(0, 25)), replace=False))
                          for _ in range(100)])  # fmt: skip
        batches.append((np.arange(100) + 100_000 + 100 * k, codes))
    # Replacements alternate one id's hash between two versions.
    versions = [flip(query, [1, 2]), flip(query, list(range(40)))]
    truth = {int(i): c for ids, codes in batches for i, c in zip(ids, codes, strict=True)}
    allowed = {id_: {int(d)} for id_, d in zip(
        truth, distances(np.array(list(truth.values())), query).tolist(), strict=True)}  # fmt: skip
    allowed[7] = {int(distances(base[7:8], query)[0]), 2}
    base_hits = {int(i) for i in np.flatnonzero(distances(base, query) <= 31)}

    stop = threading.Event()
    errors: list[str] = []

    def writer() -> None:
        turn = 0
        while not stop.is_set():
            ids, codes = batches[turn % len(batches)]
            index.add(ids, codes)
            index.add([7], versions[turn % 2])
            index.remove(ids)
            turn += 1

    def reader() -> None:
        while not stop.is_set():
            for result in (index.search_one(query, 31), index.search(query, 31, workers=2)[0]):
                got = {i for i, _ in result}
                for i, d in result:
                    if i >= 100_000 or i == 7:
                        if d not in allowed[i]:
                            errors.append(f"id {i} at distance {d}")
                    elif i not in base_hits:
                        errors.append(f"id {i} should not match")
                extra = got - base_hits - {7}
                # whole batches only: every id of one batch, or none
                if extra and not any(extra == {int(x) for x in ids} for ids, _ in batches):
                    errors.append(f"partial batch of {len(extra)} ids")
                if len(result) != len(got):
                    errors.append("an id reported twice")

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=reader) for _ in range(3)
    ]
    for t in threads:
        t.start()
    timer = threading.Timer(3.0, stop.set)
    timer.start()
    for t in threads:
        t.join()
    assert errors == []


def test_parallel_searches_agree() -> None:
    rng = np.random.default_rng(22)
    bank = random_codes(rng, 10_000)
    index = HammingIndex()
    index.add(np.arange(10_000), bank)
    queries = np.concatenate([bank[:64], random_codes(rng, 64)])
    expected = index.search(queries, 31)
    results: list[list[list[tuple[int, int]]]] = []

    def run() -> None:
        results.append([index.search_one(q, 31) for q in queries])

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4


def test_batches_on_several_threads_from_several_callers_agree() -> None:
    """Callers that each spread a batch over helper threads at once (the helpers are shared:
    one caller's may wait behind another's): every caller gets its own batch's results,
    in order, whatever the number of workers each asks for."""
    rng = np.random.default_rng(23)
    bank = random_codes(rng, 10_000)
    index = HammingIndex()
    index.add(np.arange(10_000), bank)
    batches = [
        np.concatenate([bank[k * 300 : (k + 1) * 300], random_codes(rng, 200)]) for k in range(4)
    ]
    expected = [[index.search_one(q, 31) for q in batch] for batch in batches]
    results: dict[int, list[list[tuple[int, int]]]] = {}

    def run(k: int) -> None:
        for _ in range(5):
            got = index.search(batches[k], 31, workers=2 + k % 2)
            if got != expected[k]:
                results[k] = got
                return
        results[k] = got

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[k] for k in range(4)] == expected
