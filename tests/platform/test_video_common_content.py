"""Common content: an end card or intro shared by many distinct videos says nothing about
which video an upload is, so its seconds count on neither side of a video match; duplicates
of one banked video count once, so a video banked by many requests still matches. And a
match resting on one second of either video (a still, a title card) is held to a picture's
close radius.

`bench/robustness_video.py --distinct` measures it over thousands of generated videos
(docs/matching.md, "Video").
"""

from __future__ import annotations

import random

from rescind.config import Settings
from rescind.media.video_match import common_moments, related_videos
from rescind.platform.banks import NCII_BANK, add_signals, get_bank
from rescind.platform.matcher import Matcher
from rescind.platform.runtime import PlatformRuntime
from rescind.platform.signals import PdqHash, Signals
from rescind.store import Database
from tests.platform.helpers import (
    check_all,
    check_then_sweep,
    flip,
    random_pdq,
    sweep_bank,
    video_matcher,
    video_of,
)

BLACK = ("0" * 64, 0)  # every black frame's hash, quality 0


def _good(hashes: list[str]) -> list[tuple[str, int]]:
    return [(h, 90) for h in hashes]


def _found(matcher: Matcher, signals: Signals) -> set[str | None]:
    return {matcher.entries[h.entry_id].group_key for h in matcher.match(signals)}


def _copy(hashes: list[str], rng: random.Random) -> list[str]:
    return [flip(h, 8, rng) for h in hashes]  # a re-encoded copy: a few bits off


def test_a_shared_end_card_no_longer_matches_distinct_videos() -> None:
    rng = random.Random(21)
    card = [random_pdq(rng) for _ in range(2)]  # a platform's 2 s end card
    own = {f"v{i}": [random_pdq(rng) for _ in range(4)] for i in range(12)}
    banked = {g: video_of(_good(hs + card)) for g, hs in own.items()}
    # Videos that are nothing but the card (black seconds, then the card).
    banked |= {f"only{i}": video_of([BLACK] * (i + 2) + _good(card)) for i in range(3)}
    matcher = video_matcher(banked)
    card_only = video_of([BLACK, BLACK, *_good(_copy(card, rng))])
    new_video = video_of(_good([random_pdq(rng) for _ in range(3)] + _copy(card, rng)))
    assert _found(matcher, card_only) == set()
    assert _found(matcher, new_video) == set()
    # A real copy that ends on the card still matches its video, and only it.
    assert _found(matcher, video_of(_good(_copy(own["v3"] + card, rng)))) == {"v3"}
    # Without the rule, the card alone matched every video ending on it, and a new video
    # ending on it every video that is only the card.
    off = video_matcher(banked, Settings(video_common_min_videos=0))
    assert _found(off, card_only) == set(banked)
    assert _found(off, new_video) == {"only0", "only1", "only2"}


def test_a_video_banked_by_many_requests_is_not_common_content() -> None:
    rng = random.Random(22)
    video = [random_pdq(rng) for _ in range(8)]
    # The same video banked twelve times (reports, banks), once with an intro of its own.
    banked = {f"dup{i}": video_of(_good(_copy(video, rng))) for i in range(11)}
    banked["intro"] = video_of(_good([random_pdq(rng), *_copy(video, rng)]))
    matcher = video_matcher(banked)
    assert _found(matcher, video_of(_good(_copy(video, rng)))) == set(banked)
    # A 2 s clip of it: a small part of each duplicate, whose other seconds they share.
    assert _found(matcher, video_of(_good(_copy(video[3:5], rng)))) == set(banked)


def test_common_moments_counts_duplicates_once() -> None:
    # Query moment "c" is in five groups: a, b own content of their own; x, y only the
    # shared content (one video between them); d a duplicate of a.
    matched = {
        "c": {g: {"s"} for g in ("a", "b", "x", "y", "d")},
        "m": {"a": {"t"}},
    }
    good = {
        "a": {"s", "t", "u", "w1", "w2"},  # "m" matched its "t" too: three of five its own
        "b": {"s", "v", "w"},
        "x": {"s"},
        "y": {"s"},
        "d": {"s", "t", "u"},
    }

    def related(own: object, group: str) -> set[str]:
        return {"d"} if group == "a" else {"a"} if group == "d" else set()

    # a+d, b, x+y: three videos.
    assert common_moments(matched, good, related, 3) == {"c"}
    assert common_moments(matched, good, related, 4) == set()
    assert common_moments(matched, good, lambda own, group: set(), 4) == {"c"}


def test_a_match_resting_on_one_still_second_must_be_close() -> None:
    rng = random.Random(24)
    title = random_pdq(rng)  # a title card: one still, one hashed second of quality >= 50
    matcher = video_matcher({"card": video_of([BLACK, (title, 90), BLACK])})
    # Another caption on black, 24 bits away: one picture against another, not a copy.
    assert _found(matcher, video_of([(flip(title, 24, rng), 90), BLACK])) == set()
    assert _found(matcher, video_of([(flip(title, 8, rng), 90), BLACK])) == {"card"}
    # Two seconds matched at 24 bits are a video's evidence, as before.
    moving = [random_pdq(rng) for _ in range(2)]
    matcher = video_matcher({"clip": video_of(_good(moving))})
    assert _found(matcher, video_of(_good([flip(h, 24, rng) for h in moving]))) == {"clip"}


def _caption_then_card(caption: str, card: list[str], rng: random.Random) -> Signals:
    """A caption on black (plain, judged from the pixels: a few bits from any other
    caption's hash), two seconds of the video's own, then the end card, as a video hashed
    here is."""
    seconds = [(flip(caption, 6, rng), True), *((random_pdq(rng), False) for _ in range(2))]
    seconds += [(h, False) for h in _copy(card, rng)]
    frames = (PdqHash(h, 90, float(t), plain=plain) for t, (h, plain) in enumerate(seconds))
    return Signals(frames=tuple(frames), plain_known=True)


def _card_videos(seed: int) -> tuple[dict[str, Signals], Signals]:
    """Five distinct videos, each with a caption on black, ending on one end card (on a
    texture: not plain, so the plain-seconds rule does not refuse it), and a video that is
    only the card."""
    rng = random.Random(seed)
    caption = random_pdq(rng)
    card = [random_pdq(rng) for _ in range(2)]
    videos = {f"v{i}": _caption_then_card(caption, card, rng) for i in range(5)}
    return videos, video_of([BLACK, BLACK, *_good(_copy(card, rng))])


def test_plain_frames_do_not_relate_distinct_videos_ending_on_one_card() -> None:
    videos, card_only = _card_videos(25)
    # Meeting at one plain second each (their captions), the five count as five distinct
    # videos: the card is common content, and a video that is only the card matches none.
    assert _found(video_matcher(videos), card_only) == set()
    # Their captions relate them when the frames are not known to be plain (hashes a
    # platform sent), as they related every video before: one video, the card not common,
    # and the card-only video matched all five.
    unknown = {
        name: Signals(frames=tuple(PdqHash(h.hash, h.quality, h.t) for h in signals.frames))
        for name, signals in videos.items()
    }
    assert _found(video_matcher(unknown), card_only) == set(videos)


def test_a_check_does_not_relate_banked_videos_through_their_plain_frames(
    database: Database, runtime: PlatformRuntime
) -> None:
    videos, card_only = _card_videos(26)
    with database.session() as session:
        bank = get_bank(session, NCII_BANK)
        for signals in videos.values():
            add_signals(session, bank, signals, source="reviewer")
    runtime.sync_all()  # the frames' plain flags come from their entries' provenance
    assert runtime.matcher.match(card_only) == []


def test_the_copy_sweep_does_not_relate_registered_videos_through_their_plain_frames(
    settings: Settings, database: Database, runtime: PlatformRuntime
) -> None:
    videos, card_only = _card_videos(27)
    check_all(runtime, videos)  # registered with their frames' plain flags
    with database.session() as session:
        add_signals(session, get_bank(session, NCII_BANK), card_only, source="reviewer")
    runtime.sync_all()
    assert sweep_bank(database, settings, runtime) == []


def test_a_plain_video_banked_by_many_requests_is_not_common_content() -> None:
    rng = random.Random(28)
    # Dark shapes moving on a flat background: every second plain, seven seconds.
    video = [(random_pdq(rng), True) for _ in range(7)]

    def plain_copy(seconds: list[tuple[str, bool]]) -> Signals:
        frames = (
            PdqHash(flip(h, 4, rng), 90, float(t), plain=p) for t, (h, p) in enumerate(seconds)
        )
        return Signals(frames=tuple(frames), plain_known=True)

    banked = {f"dup{i}": plain_copy(video) for i in range(6)}
    # A 3 s clip of it: under half of each duplicate, whose other plain seconds they share
    # (four each): one video, not six, so the clip is not common content.
    assert _found(video_matcher(banked), plain_copy(video[:3])) == set(banked)


def test_related_videos_need_two_plain_moments_each_or_one_frame_that_is_not_plain() -> None:
    # (my moment, other video, its moment, through a plain frame)
    assert related_videos([(1, "a", 5, False)]) == {"a"}
    # One plain second against one: a caption on black near another video's dark shapes.
    assert related_videos([(1, "b", 5, True), (1, "b", 5, True)]) == set()
    # Two of mine against one of theirs (two captions near one slide): still one second.
    assert related_videos([(1, "c", 5, True), (2, "c", 5, True)]) == set()
    # Two plain moments each: a duplicate of a plain video.
    assert related_videos([(1, "d", 5, True), (2, "d", 6, True)]) == {"d"}


def test_a_copy_holding_two_of_three_plain_seconds_is_found_by_check_and_sweep(
    settings: Settings, database: Database, runtime: PlatformRuntime
) -> None:
    rng = random.Random(29)
    slides = [random_pdq(rng) for _ in range(3)]  # a three-slide deck: every second plain

    def plain(hashes: list[str]) -> Signals:
        frames = (PdqHash(flip(h, 4, rng), 90, float(t), plain=True) for t, h in enumerate(hashes))
        return Signals(frames=tuple(frames), plain_known=True)

    # A copy whose third slide met nothing (letterboxed, a logo over it): two plain seconds,
    # all of the copy and two thirds of the deck. Found both ways, as a copy of the deck.
    uploads = {"copy": plain(slides[:2]), "other": plain([random_pdq(rng) for _ in range(2)])}
    checked, copies = check_then_sweep(database, settings, runtime, uploads, plain(slides))
    assert checked == {"copy"}
    assert {c.content.content_id for c in copies} == {"copy"}
