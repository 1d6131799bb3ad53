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
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from typing import TypeVar

# A match resting on one moment of either video (a still or a title card, one hashed second
# of quality >= 50) is one picture against another: it needs its frames this close, as a
# weak picture view does (`rescind.platform.signals.WEAK_VIEW_RADIUS`). Two different captions
# on black, or a caption over a gradient and a slide, are 20-24 bits apart.
ONE_MOMENT_RADIUS = 16
# A match resting on at most this many moments of either video, each of them plain on the
# query's side (a title card, a caption on black or over a gradient, a slide:
# rescind.media.robust_sparse.plain_share), does not count: two captions on black, or a
# caption and a slide, are a few bits apart whatever they say. Two, not one, since a fresh
# seed of `bench/robustness_video.py` (6) showed two plain seconds against two (a still and
# an end card with bars against a dark video ending on the same card). Two plain moments do
# count when they are at least `PLAIN_WHOLE_SHARE` of both videos (`Shares.whole`: one is a
# copy of the other, a two-slide clip re-encoded, a copy holding two of three seconds);
# every false match on two seen so far was one video holding the other's two plain seconds
# (an end card) among seconds of its own.
PLAIN_MOMENTS = 2
# 0.7 (the match fractions) until the related test of common content stopped joining
# distinct videos through one plain second each (`related_videos`); 0.4-0.6 gave the same
# false matches (none) on seeds 2, 6 and 7 of the bench, 0.5 chosen (docs/matching.md).
PLAIN_WHOLE_SHARE = 0.5
# Plain frames relate two banked videos (common content, `related_videos`) only when they
# link at least this many distinct moments of each: one plain second of one video is within
# the radius of plain seconds of many others (a caption on black, dark shapes, a slide).
RELATED_PLAIN_MOMENTS = 2
# A banked video counts as an identity of its own for common content only when more than
# this share of its good moments is its own (not the shared content).
OWN_CONTENT_SHARE = 0.5
# Distinct videos are counted among at most this many searched ones (in the order of their
# keys; a search per frame of each, once).
MAX_COUNTED = 64

T = TypeVar("T")


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
    # Moments matched on the side with fewer: 1 when the match rests on one second of a
    # video (a still, a title card), which is a picture match (see ONE_MOMENT_RADIUS).
    moments: int = 0

    def matches(self, query_fraction: float, bank_fraction: float) -> bool:
        """The vPDQ rule: enough of the query is in the banked video, or the reverse."""
        return self.query >= query_fraction or self.bank >= bank_fraction

    def whole(self, fraction: float) -> bool:
        """Both ways: at least ``fraction`` of the query is in the banked video, and of the
        banked video in the query."""
        return self.query >= fraction and self.bank >= fraction


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
    found_query &= query_all
    found_bank &= bank_all
    return Shares(
        len(found_query) / (len(query_all) or 1),
        len(found_bank) / (len(bank_all) or 1),
        min(len(found_query), len(found_bank)),
    )


def decide(
    share: Shares,
    hits: Sequence[tuple[Hashable, int, bool, T]],
    common: Set[Hashable],
    query_fraction: float,
    bank_fraction: float,
) -> T | None:
    """Whether a banked video matches, given its ``share`` and the frame ``hits`` that made it
    (query moment, distance, whether the query's frame is plain, what the caller keeps of
    the hit): the closest hit to report, or None.

    The vPDQ rule (`Shares.matches`) first. The hit reported is the closest one outside
    common content, else the closest of all. A match resting on one moment of either video
    (a still, a title card: one picture against another) counts only within
    `ONE_MOMENT_RADIUS`; one resting on `PLAIN_MOMENTS` or fewer, all of them plain frames
    of the query, does not count, unless it rests on exactly `PLAIN_MOMENTS` that are at
    least `PLAIN_WHOLE_SHARE` of both videos (`Shares.whole`, the same whichever side is
    the query). `/v1/check` and
    the copy sweep (the banked video as the query) decide with this one function.
    """
    if not hits or not share.matches(query_fraction, bank_fraction):
        return None
    kept = [h for h in hits if h[0] not in common] or list(hits)
    plain = share.moments <= PLAIN_MOMENTS and all(h[2] for h in kept)
    if plain and (share.moments < PLAIN_MOMENTS or not share.whole(PLAIN_WHOLE_SHARE)):
        return None  # a caption against a caption; an end card inside another video
    _, distance, _, best = min(kept, key=lambda h: h[1])
    if share.moments > 1 or distance <= ONE_MOMENT_RADIUS:
        return best
    return None


def common_moments(
    matched: Mapping[Hashable, Mapping[Hashable, Set[Hashable]]],
    good: Mapping[Hashable, Set[Hashable]],
    related: Callable[[Mapping[Hashable, Set[Hashable]], Hashable], Iterable[Hashable]],
    min_groups: int,
) -> set[Hashable]:
    """The query moments that are common content: matched in ``min_groups`` or more
    distinct videos.

    ``matched`` maps each query moment to the banked videos (groups) it matched and, for
    each, the group's moments it matched; ``good`` gives each group's moments that count
    (quality high enough). A group whose good moments are mostly what the query matched (a
    duplicate of the query's video, a clip of it, a video that is only the end card) is
    nothing but that: all such groups count as one video. The others count once per set of
    related groups: ``related(own, group)`` gives the groups of ``own`` (each with the
    moments the query matched) that share content with ``group`` outside those moments
    (the same long video banked twice, or two compilations of it); two videos that share
    only the end card are not related. Up to MAX_COUNTED groups are searched, each one not
    already related to a searched one; groups beyond are not counted.

    A second next to common content (the last second of a longer version of the end card)
    is common too when it is matched only in videos with the common content, in two or
    more distinct ones.
    """
    if min_groups <= 0:
        return set()
    candidates = {q: groups for q, groups in matched.items() if len(groups) >= min_groups}
    if not candidates:
        return set()
    # Each group's moments the query matched: what is left of it is its own content.
    shared: dict[Hashable, set[Hashable]] = defaultdict(set)
    for groups in matched.values():
        for group, moments in groups.items():
            shared[group] |= moments
    involved = {g for groups in candidates.values() for g in groups}
    mostly_shared = {g for g in involved if not _has_own(good.get(g), shared[g])}
    own = {g: shared[g] for g in involved - mostly_shared}
    parent = {group: group for group in own}
    searched: set[Hashable] = set()  # roots of the sets holding a searched group

    def find(group: Hashable) -> Hashable:
        while parent[group] != group:
            parent[group] = parent[parent[group]]
            group = parent[group]
        return group

    def join(a: Hashable, b: Hashable) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
            if ra in searched:
                searched.discard(ra)
                searched.add(rb)

    if len(own) >= min_groups - 1:  # fewer can never reach min_groups
        count = 0
        for group in sorted(own, key=str):
            if count >= MAX_COUNTED:
                break
            if find(group) in searched:
                continue  # related to a searched group: the same video
            count += 1
            searched.add(find(group))
            for other in related(own, group):
                if other in parent:
                    join(group, other)

    def videos(groups: Iterable[Hashable]) -> int:
        groups = list(groups)
        roots = {find(g) for g in groups if g in own}
        return len(roots & searched) + any(g in mostly_shared for g in groups)

    common = {q for q, groups in candidates.items() if videos(groups) >= min_groups}
    having = {g for q in common for g in candidates[q]}  # the videos with the common content
    seconds = {q[1] for q in common if isinstance(q, tuple) and q[0] == "s"}
    for q, groups in matched.items():
        if (
            q not in common
            and isinstance(q, tuple)
            and q[0] == "s"
            and (q[1] - 1 in seconds or q[1] + 1 in seconds)
            and set(groups) <= having
            and videos(groups) >= 2
        ):
            common.add(q)
    return common


def related_videos(
    links: Iterable[tuple[Hashable, Hashable, Hashable, bool]],
) -> set[Hashable]:
    """The videos a searched video is related to (`common_moments`), given its ``links``:
    (its moment, the other video, the other's moment, whether either frame is plain), each
    a pair of frames within the radius outside what the query matched.

    A pair of frames that are not plain relates the two videos: the same video banked twice.
    Plain frames (a caption on black, a slide, dark shapes on a flat background) are within
    the radius of other videos' plain frames whatever they show, so they relate two videos
    only when they link at least `RELATED_PLAIN_MOMENTS` distinct moments of each (a
    duplicate of a video that is plain throughout links all of its moments); one plain
    second each is not a video (on seed 7 of `bench/robustness_video.py` a black video with
    one caption was "related" so to 7 of the 15 other videos ending on the same end card,
    and the card was not counted as common content).
    """
    related: set[Hashable] = set()
    mine: dict[Hashable, set[Hashable]] = defaultdict(set)
    theirs: dict[Hashable, set[Hashable]] = defaultdict(set)
    for my_moment, other, other_moment, plain in links:
        if not plain:
            related.add(other)
        else:
            mine[other].add(my_moment)
            theirs[other].add(other_moment)
    for other, moments in mine.items():
        if min(len(moments), len(theirs[other])) >= RELATED_PLAIN_MOMENTS:
            related.add(other)
    return related


def _has_own(good: Set[Hashable] | None, shared: Set[Hashable]) -> bool:
    mine = good or frozenset()
    return len(mine - shared) > OWN_CONTENT_SHARE * len(mine)
