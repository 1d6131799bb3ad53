"""The video match rule: how much of a video is found in another, counted in sampled moments.

A video is hashed as one PDQ hash per sampled second, and possibly more than one view of
that second (the frame as shown and inside its letterbox bars). Shares are counted over
distinct moments, not hashes: a moment is found when any of its views matches, so extra
views neither dilute a share nor count twice. A hash without a time (hashes sent by a
client without ``t``) is a moment of its own.

Common content (`common_moments`): a platform's end card, a channel intro or a logo sting
is in many distinct videos and says nothing about which one a video is. A query moment
whose matches fall in at least ``min_groups`` distinct banked videos counts on neither side,
as a stop word does; duplicates of one video (banked twice, in two banks, by many requests,
or as clips of it) count once, so a widely banked video is not discounted for being banked
widely.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Set
from dataclasses import dataclass

# A banked video counts as an identity of its own for common content only when more than
# this share of its good moments is its own (not the shared content).
OWN_CONTENT_SHARE = 0.5
# Distinct videos are counted among at most this many of those (in the order of their
# keys): the search for what they share costs a search per frame of each, once.
MAX_COUNTED = 64


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
    common: Set[Hashable] = frozenset(),
) -> Shares:
    """Shares of moments matched, given every (query moment, bank moment) pair that matched.

    ``common`` query moments (`common_moments`) count on neither side: not in the query's
    total, and the bank moments they matched not in the banked video's.
    """
    pairs = list(pairs)
    shared = {b for q, b in pairs if q in common}
    query_all = set(query_moments) - common
    bank_all = set(bank_moments) - shared
    found_query: set[Hashable] = set()
    found_bank: set[Hashable] = set()
    for q, b in pairs:
        if q not in common and b not in shared:
            found_query.add(q)
            found_bank.add(b)
    return Shares(
        len(found_query & query_all) / (len(query_all) or 1),
        len(found_bank & bank_all) / (len(bank_all) or 1),
    )


def common_moments(
    matched: Mapping[Hashable, Mapping[Hashable, Set[Hashable]]],
    good: Mapping[Hashable, Set[Hashable]],
    related: Callable[[Mapping[Hashable, Set[Hashable]]], Iterable[tuple[Hashable, Hashable]]],
    min_groups: int,
) -> set[Hashable]:
    """The query moments that are common content: matched in ``min_groups`` or more
    distinct videos.

    ``matched`` maps each query moment to the banked videos (groups) it matched and, for
    each, the group's moments it matched; ``good`` gives each group's moments that count
    (quality high enough). A group whose good moments are mostly the shared content (a
    duplicate of the query's video, a clip of it, a video that is only the end card) is
    nothing but that content: all such groups count as one video. The others count once
    per set of ``related`` groups: ``related`` is given each such group with its shared
    moments and yields the pairs of them that share content outside those moments (the
    same long video banked twice, or two compilations of it); two videos that share only
    the end card are not related.
    """
    if min_groups <= 0:
        return set()
    candidates = {q: groups for q, groups in matched.items() if len(groups) >= min_groups}
    if not candidates:
        return set()
    shared: dict[Hashable, set[Hashable]] = defaultdict(set)
    for groups in candidates.values():
        for group, moments in groups.items():
            shared[group] |= moments
    # Groups that are mostly the shared content count as one video between them; the
    # others once per set of related ones, among the first MAX_COUNTED (the rest not at all).
    mostly_shared = {g for g, m in shared.items() if not _has_own(good.get(g), m)}
    own = {g: shared[g] for g in sorted(set(shared) - mostly_shared, key=str)[:MAX_COUNTED]}
    parent = {group: group for group in own}

    def find(group: Hashable) -> Hashable:
        while parent[group] != group:
            parent[group] = parent[parent[group]]
            group = parent[group]
        return group

    if len(own) >= min_groups - 1:  # fewer can never reach min_groups
        for a, b in related(own):
            if a in parent and b in parent:
                parent[find(a)] = find(b)
    common = set()
    for q, groups in candidates.items():
        videos = {find(g) for g in groups if g in own}
        if len(videos) + any(g in mostly_shared for g in groups) >= min_groups:
            common.add(q)
    return common


def _has_own(good: Set[Hashable] | None, shared: Set[Hashable]) -> bool:
    mine = good or frozenset()
    return len(mine - shared) > OWN_CONTENT_SHARE * len(mine)
