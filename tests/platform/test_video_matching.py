"""Video matching through the server's functions: bank a video, check its copies."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rescind.config import Settings
from rescind.media.video_match import moment, shares
from rescind.platform.banks import BankPolicy
from rescind.platform.matcher import Matcher, MatcherEntry
from rescind.platform.media_signals import (
    bank_signals_from_media,
    media_limits,
    signals_from_media,
)
from rescind.platform.signals import VIDEO_PDQ, PdqHash, Signals
from tests.media.conftest import moving_frames, write_video

LIMITS = media_limits(10 * 1024 * 1024)


def _matcher(banked: Signals) -> Matcher:
    settings = Settings()
    matcher = Matcher(settings)
    matcher.banks = {1: BankPolicy(1, "ncii", "ncii", 31, "block", True)}
    matcher.load_entries(
        MatcherEntry(i, 1, VIDEO_PDQ, h.hash, h.quality, group_key="g", t=h.t)
        for i, h in enumerate(banked.frames, 1)
    )
    return matcher


def test_moments_not_hashes_are_counted() -> None:
    # Two views of second 0 matched count once; second 1 unmatched: half of each side.
    q = [moment(0.0, 0), moment(0.0, 1), moment(1.0, 2)]
    b = [moment(0.0, 0), moment(0.5, 1), moment(1.0, 2)]
    found = shares(q, b, [(q[0], b[0]), (q[1], b[1])])
    assert (found.query, found.bank) == (0.5, 0.5)
    assert moment(None, 7) != moment(None, 8)


def test_a_pillarboxed_copy_with_a_logo_is_found_and_another_video_is_not(
    tmp_path: Path,
) -> None:
    frames = moving_frames(5, 10, (160, 120))
    original = write_video(tmp_path / "o.mp4", frames, 10).read_bytes()
    copy = []
    for f in frames:
        g = np.pad(f, ((0, 0), (40, 40), (0, 0)))
        g[10:50, 150:200] = 255  # a logo over the top right of the picture
        copy.append(g)
    barred = write_video(tmp_path / "c.mp4", copy, 10).read_bytes()
    other_frames = [np.ascontiguousarray(f[::-1, ::-1]) for f in moving_frames(5, 10, (160, 120))]
    other = write_video(tmp_path / "x.mp4", other_frames, 10).read_bytes()

    banked = bank_signals_from_media(original, LIMITS)
    checked = signals_from_media(barred, LIMITS)
    # The bank holds each sampled second's neighbours too; a check samples once a second.
    assert len({h.t for h in banked.frames}) > len({h.t for h in checked.frames})
    matcher = _matcher(banked)
    assert matcher.match(checked)
    assert not matcher.match(signals_from_media(other, LIMITS))


def test_hashes_sent_without_times_still_match_as_frames() -> None:
    frames = tuple(PdqHash(f"{i:064x}", 90, float(i)) for i in range(1, 6))
    matcher = _matcher(Signals(frames=frames))
    untimed = Signals(frames=tuple(PdqHash(h.hash, 90) for h in frames[:4]))
    assert matcher.match(untimed)
