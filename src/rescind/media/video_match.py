"""The video match rule: how much of a video is found in another, counted in sampled moments.

A video is hashed as one PDQ hash per sampled second, and possibly more than one view of
that second (the frame as shown and inside its letterbox bars). Shares are counted over
distinct moments, not hashes: a moment is found when any of its views matches, so extra
views neither dilute a share nor count twice. A hash without a time (hashes sent by a
client without ``t``) is a moment of its own.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass


def moment(t: float | None, fallback: Hashable) -> Hashable:
    """The key of a hash's moment: the whole second it falls in, else ``fallback``.

    Whole seconds, so a bank sampled more densely than once a second (to meet copies cut
    at any offset) counts each second once, as a query sampled once a second does.
    """
    return ("s", math.floor(t + 1e-6)) if t is not None else ("n", fallback)


@dataclass(frozen=True)
class Shares:
    """How much of each side matched."""

    query: float  # of the query's moments, the share with a matching frame in the bank video
    bank: float  # of the banked video's moments, the share found in the query

    def matches(self, query_fraction: float, bank_fraction: float) -> bool:
        """The vPDQ rule: enough of the query is in the banked video, or the reverse."""
        return self.query >= query_fraction or self.bank >= bank_fraction


def shares(
    query_moments: Iterable[Hashable],
    bank_moments: Iterable[Hashable],
    pairs: Iterable[tuple[Hashable, Hashable]],
) -> Shares:
    """Shares of moments matched, given every (query moment, bank moment) pair that matched."""
    query_all = set(query_moments)
    bank_all = set(bank_moments)
    found_query: set[Hashable] = set()
    found_bank: set[Hashable] = set()
    for q, b in pairs:
        found_query.add(q)
        found_bank.add(b)
    return Shares(
        len(found_query & query_all) / (len(query_all) or 1),
        len(found_bank & bank_all) / (len(bank_all) or 1),
    )
