"""Distinct videos that share black seconds do not match; a copy still does.

The classic vPDQ false match: every black frame hashes alike (quality 0), so a black upload
(audio over a black screen) holds all of its seconds in any video with a black intro or a
fade to black, and the reverse. Hashes under the minimum quality count on neither side of
the shares (docs/matching.md, "Video"); `bench/robustness_video.py --distinct` measures it
over thousands of videos.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from rescind.config import Settings
from rescind.media.video_match import Shares, decide
from rescind.platform.matcher import Matcher
from rescind.platform.media_signals import (
    bank_signals_from_media,
    media_limits,
    signals_from_media,
)
from tests.media.conftest import moving_frames, write_video
from tests.platform.helpers import video_matcher

LIMITS = media_limits(10 * 1024 * 1024)
SIZE = (160, 120)


def _black(seconds: float, fps: int) -> list[NDArray[np.uint8]]:
    return [np.zeros((SIZE[1], SIZE[0], 3), np.uint8) for _ in range(round(seconds * fps))]


def _fade_out(frames: list[NDArray[np.uint8]]) -> list[NDArray[np.uint8]]:
    n = len(frames)
    return [(f * (1 - i / n)).astype(np.uint8) for i, f in enumerate(frames)]


def _found(matcher: Matcher, path: Path) -> set[str | None]:
    hits = matcher.match(signals_from_media(path.read_bytes(), LIMITS))
    return {matcher.entries[h.entry_id].group_key for h in hits}


def test_black_seconds_do_not_make_distinct_videos_match(tmp_path: Path) -> None:
    fps = 10
    content = moving_frames(3, fps, SIZE)
    # A clip as uploaded: a black second, the content, a fade to black, black seconds.
    clip = _black(1, fps) + content + _fade_out(moving_frames(1, fps, SIZE)) + _black(2, fps)
    intro = write_video(tmp_path / "intro.mp4", clip, fps)
    # Distinct: audio over a black screen, five seconds of it.
    black = write_video(tmp_path / "black.mp4", _black(5, fps), fps)
    # A copy of the clip: grey, a logo in a corner, re-encoded.
    grey = [np.repeat(f.mean(axis=2, keepdims=True), 3, axis=2).astype(np.uint8) for f in clip]
    for f in grey:
        f[8:24, 120:152] = 255
    copy = write_video(tmp_path / "copy.mp4", grey, fps)
    matcher = video_matcher(
        {
            "intro": bank_signals_from_media(intro.read_bytes(), LIMITS),
            "black": bank_signals_from_media(black.read_bytes(), LIMITS),
        }
    )
    assert _found(matcher, copy) == {"intro"}
    # Both ways: all of the black video's seconds are black seconds of the clip.
    assert _found(matcher, black) == set()
    assert _found(matcher, intro) == {"intro"}


def _panning(name: str, seconds: int, fps: int) -> list[NDArray[np.uint8]]:
    """A camera panning over one of scikit-image's photos: each photo a distinct video."""
    from tests.media.conftest import photo

    src = np.asarray(photo(name).convert("RGB").resize((SIZE[0] * 2, SIZE[1] * 2)))
    frames = []
    for i in range(seconds * fps):
        x, y = i * SIZE[0] // (fps * seconds), i * SIZE[1] // (fps * seconds * 2)
        frames.append(np.ascontiguousarray(src[y : y + SIZE[1], x : x + SIZE[0]]))
    return frames


def _end_card(seconds: int, fps: int) -> list[NDArray[np.uint8]]:
    """A platform's end card: its logo growing on a textured backdrop (not a plain frame, so
    the common-content rule, not the plain-seconds rule, is what keeps it from matching)."""
    backdrop = np.random.default_rng(7).integers(0, 120, (SIZE[1], SIZE[0], 3), dtype=np.uint8)
    frames = []
    for i in range(seconds * fps):
        frame = backdrop.copy()
        r = 12 + i // 2
        frame[60 - r : 60 + r, 80 - 2 * r : 80 + 2 * r] = (250, 40, 90)
        frame[90:100, 40:120] = 255
        frames.append(frame)
    return frames


def test_an_end_card_shared_by_distinct_videos_does_not_make_them_match(
    tmp_path: Path,
) -> None:
    fps = 10
    card = _end_card(2, fps)
    photos = ("astronaut", "coffee", "chelsea", "rocket", "camera", "cat")
    banked = {
        name: bank_signals_from_media(
            write_video(tmp_path / f"{name}.mp4", _panning(name, 3, fps) + card, fps).read_bytes(),
            LIMITS,
        )
        for name in photos
    }
    # A video that is black seconds, then the card: all of its seconds that count are the card.
    only = write_video(tmp_path / "only.mp4", _black(3, fps) + card, fps)
    banked["only"] = bank_signals_from_media(only.read_bytes(), LIMITS)
    matcher = video_matcher(banked)
    # The card alone, and a new video ending on it, match nothing.
    assert _found(matcher, only) == set()
    new = write_video(tmp_path / "new.mp4", _panning("horse", 3, fps) + card, fps)
    assert _found(matcher, new) == set()
    # A grey copy of one of them, ending on the card, still matches it (and only it).
    grey = [
        np.repeat(f.mean(axis=2, keepdims=True), 3, axis=2).astype(np.uint8)
        for f in _panning("coffee", 3, fps) + card
    ]
    assert _found(matcher, write_video(tmp_path / "grey.mp4", grey, fps)) == {"coffee"}
    # Without the rule, the card alone matched every one of them.
    off = video_matcher(banked, Settings(video_common_min_videos=0))
    assert _found(off, only) == set(banked)


def test_a_match_resting_on_two_plain_seconds_counts_only_as_a_whole_copy() -> None:
    """Two captions against two slides (seed 6 of `bench/robustness_video.py`: a still and an
    end card with bars against a dark video ending on the same card, every second plain; seed
    7: dark, slide and screen videos ending on the card against videos that are only the
    card) do not make a match when the two seconds are most of one video only; they do when
    they are at least half of both (a two-slide clip re-encoded, a copy holding two of three
    seconds), as do a third plain second and one second that is not plain."""

    def hits(plain: list[bool]) -> list[tuple[Hashable, int, bool, str]]:
        return [(("s", t), 4, p, f"hit {t}") for t, p in enumerate(plain)]

    card = Shares(query=0.25, bank=1.0, moments=2)  # seed 6's figures
    assert decide(card, hits([True, True]), set(), 0.7, 0.7) is None
    # The other way round (the copy sweep, where the banked video is the query).
    reverse = Shares(query=1.0, bank=0.4, moments=2)
    assert decide(reverse, hits([True, True]), set(), 0.7, 0.7) is None
    assert decide(card, hits([True, False]), set(), 0.7, 0.7) == "hit 0"
    whole = Shares(query=1.0, bank=0.75, moments=2)
    assert decide(whole, hits([True, True]), set(), 0.7, 0.7) == "hit 0"
    # A copy found in the original, holding two of its three seconds (its third second
    # unmatched, letterboxed or at another frame rate): found, either side the query.
    two_of_three = Shares(query=1.0, bank=2 / 3, moments=2)
    assert decide(two_of_three, hits([True, True]), set(), 0.7, 0.7) == "hit 0"
    assert decide(Shares(2 / 3, 1.0, 2), hits([True, True]), set(), 0.7, 0.7) == "hit 0"
    assert decide(Shares(1.0, 0.4, 2), hits([True, True]), set(), 0.7, 0.7) is None
    # One plain second is one picture against another, however much of both it is.
    one = Shares(query=1.0, bank=1.0, moments=1)
    assert decide(one, hits([True]), set(), 0.7, 0.7) is None
    three = Shares(query=0.5, bank=1.0, moments=3)
    assert decide(three, hits([True, True, True]), set(), 0.7, 0.7) == "hit 0"
