"""The one backoff function: doubling from its base, capped, and jittered within its range."""

from __future__ import annotations

import random

import pytest

from rescind.jobs.queue import backoff_delay


def _samples(attempts: int, n: int = 400, **kw: float) -> list[float]:
    return [backoff_delay(attempts, **kw) for _ in range(n)]


@pytest.mark.parametrize("jitter", [0.0, 0.5, 1.0])
def test_each_wait_stays_within_its_jitter_range(jitter: float) -> None:
    random.seed(17)
    for attempts, ceiling in [(0, 2.0), (1, 2.0), (2, 4.0), (3, 8.0), (10, 1024.0)]:
        delays = _samples(attempts, base_s=2.0, cap_s=3600.0, jitter=jitter)
        assert all(ceiling * (1 - jitter) <= d <= ceiling for d in delays), attempts
        if jitter:
            # Jitter really spreads the waits over (almost) the whole range.
            assert len({round(d, 6) for d in delays}) > 300
            assert min(delays) < ceiling * (1 - jitter) + 0.1 * ceiling * jitter
            assert max(delays) > ceiling - 0.1 * ceiling * jitter
        else:
            assert set(delays) == {ceiling}


def test_the_ceiling_doubles_then_stays_at_the_cap() -> None:
    fixed = [backoff_delay(n, base_s=3.0, cap_s=100.0, jitter=0.0) for n in range(1, 9)]
    assert fixed == [3.0, 6.0, 12.0, 24.0, 48.0, 96.0, 100.0, 100.0]
    # However many failures came before, a wait never overflows past the cap.
    assert backoff_delay(10_000, base_s=2.0, cap_s=3600.0, jitter=0.0) == 3600.0
    assert all(d <= 3600.0 for d in _samples(5000))


def test_the_default_is_full_jitter_from_two_seconds_to_an_hour() -> None:
    assert all(0.0 <= d <= 2.0 for d in _samples(1))
    assert all(0.0 <= d <= 3600.0 for d in _samples(40))
    assert min(_samples(40)) < 360.0  # full jitter: some waits are short even late on


def test_jitter_outside_zero_to_one_is_refused() -> None:
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="jitter"):
            backoff_delay(1, jitter=bad)
