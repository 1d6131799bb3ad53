"""Video views: frames hashed inside their bars, halves, and neighbour frames of a sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rescind.media import hamming_distance
from rescind.media.video import hash_video, hash_video_views
from tests.media.conftest import moving_frames, write_video


def _pillarbox(frames: list[np.ndarray], side: int) -> list[np.ndarray]:
    return [np.pad(f, ((0, 0), (side, side), (0, 0))) for f in frames]


def test_bars_are_trimmed_and_the_frames_meet_the_original(tmp_path: Path) -> None:
    frames = moving_frames(4, 10, (160, 120))
    original = write_video(tmp_path / "o.mp4", frames, 10)
    barred = write_video(tmp_path / "b.mp4", _pillarbox(frames, 40), 10)
    plain = hash_video(original, collapse=False)
    views = hash_video_views(barred, collapse=False)
    assert (views.bars.left, views.bars.right) == (42, 42)  # 40 and a 1% margin
    assert [h.t for h in views.trimmed] == [h.t for h in views.frames] == [0.0, 1.0, 2.0, 3.0]
    full = [hamming_distance(a.hash, b.hash) for a, b in zip(plain, views.frames, strict=True)]
    trimmed = [hamming_distance(a.hash, b.hash) for a, b in zip(plain, views.trimmed, strict=True)]
    assert max(trimmed) <= 24 < min(full)
    # The frames as shown are what `hash_video` gives (the CLI's output does not change).
    assert [h.hash for h in views.frames] == [h.hash for h in hash_video(barred, collapse=False)]


def test_no_bars_no_trimmed_view_and_halves_on_request(tmp_path: Path) -> None:
    path = write_video(tmp_path / "o.mp4", moving_frames(3, 10, (160, 120)), 10)
    views = hash_video_views(path, collapse=False, halves=True)
    assert views.bars.empty and "trimmed" not in views.views
    assert set(views.views) == {"top", "bottom", "left", "right"}
    for hashes in views.views.values():
        assert [h.t for h in hashes] == [0.0, 1.0, 2.0]


def test_neighbours_stand_for_their_sample(tmp_path: Path) -> None:
    path = write_video(tmp_path / "o.mp4", moving_frames(3, 10, (160, 120)), 10)
    views = hash_video_views(path, collapse=False, neighbours=1)
    times = [h.t for h in views.frames]
    assert sorted(set(times)) == [0.0, 1.0, 2.0]
    assert times.count(1.0) == 3 and times.count(0.0) == 2  # the first frame has no left one
    assert len({h.hash for h in views.frames if h.t == 1.0}) == 3


def test_bars_are_found_when_the_only_keyframe_is_black(tmp_path: Path) -> None:
    # A short clip opening on black (one keyframe: that black frame), letterboxed: its
    # first seconds, decoded in order, show the bars.
    black = [np.zeros((120, 160, 3), np.uint8) for _ in range(10)]
    frames = [
        np.pad(f, ((20, 20), (0, 0), (0, 0))) for f in black + moving_frames(4, 10, (160, 120))
    ]
    views = hash_video_views(write_video(tmp_path / "b.mp4", frames, 10))
    assert (views.bars.top, views.bars.bottom, views.bars.left) == (22, 22, 0)
    plain = hash_video_views(write_video(tmp_path / "p.mp4", black * 3, 10))
    assert plain.bars.empty  # black throughout: nothing to measure, nothing cut
