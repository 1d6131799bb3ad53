"""A title card does not match slides; a one-second clip of a banked video still matches.

Captions on black carry little identity: PDQ's bits mostly say where the lines sit, so a
one-line caption and a slide with another line at the same place land a few bits apart. A
video match resting on a few such plain moments of the query does not count
(`rescind.media.video_match.decide`), in `/v1/check` and in the copy sweep alike; a match
resting on one second of a photo-like video does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from rescind.config import Settings
from rescind.media.pdq import hamming_distance
from rescind.media.video_match import ONE_MOMENT_RADIUS
from rescind.platform.banks import NCII_BANK, add_signals, ensure_default_banks, get_bank, policy_of
from rescind.platform.check import check_and_record
from rescind.platform.matcher import Matcher
from rescind.platform.media_signals import (
    bank_signals_from_media,
    media_limits,
    signals_from_media,
)
from rescind.platform.runtime import PlatformRuntime
from rescind.platform.signals import Signals
from rescind.platform.sweep import sweep_copies
from rescind.store import Database
from rescind.store.models import BankEntry
from tests.media.conftest import write_video
from tests.media.test_video_false_matches import SIZE, _panning
from tests.platform.helpers import video_matcher

LIMITS = media_limits(10 * 1024 * 1024)
FPS = 10
# Slides of a deck, two seconds each, and a title card with another caption, set as the
# second slide is: 10 bits from it.
SLIDES = ("Weekly Recap", "Update Live", "Thanks For Watching")
TITLE = "Holiday Intro"


def _caption(text: str) -> NDArray[np.uint8]:
    image = Image.new("RGB", SIZE, (0, 0, 0))
    ImageDraw.Draw(image).text(
        (16, 50), text, fill=(235, 235, 235), font=ImageFont.load_default(size=12)
    )
    return np.asarray(image)


def _videos(folder: Path) -> dict[str, bytes]:
    slides = [_caption(text) for text in SLIDES for _ in range(2 * FPS)]
    photo = _panning("coffee", 4, FPS)
    made = {
        "slides": slides,
        "title": [_caption(TITLE)] * (3 * FPS),
        "photo": photo,
        "clip": photo[2 * FPS : 3 * FPS],  # its third second, alone
    }
    return {
        name: write_video(folder / f"{name}.mp4", frames, FPS).read_bytes()
        for name, frames in made.items()
    }


def _found(matcher: Matcher, signals: Signals) -> set[str | None]:
    return {matcher.entries[h.entry_id].group_key for h in matcher.match(signals)}


def test_a_title_card_is_not_found_in_slides_and_a_clip_of_a_photo_video_is(
    tmp_path: Path,
) -> None:
    videos = _videos(tmp_path)
    banked = {name: bank_signals_from_media(videos[name], LIMITS) for name in ("slides", "photo")}
    title = signals_from_media(videos["title"], LIMITS)
    clip = signals_from_media(videos["clip"], LIMITS)
    # One second each that counts (a still caption collapses to one hash), judged from the
    # pixels: the caption is plain, the photo is not.
    assert {h.t for h in title.frames} == {h.t for h in clip.frames} == {0.0}
    assert all(h.plain for h in title.frames) and not any(h.plain for h in clip.frames)
    # The caption is within the one-moment radius of the second slide: only the plain rule
    # keeps it from matching.
    nearest = min(
        hamming_distance(a.hash, b.hash) for a in title.frames for b in banked["slides"].frames
    )
    assert nearest <= ONE_MOMENT_RADIUS
    matcher = video_matcher(banked)
    assert _found(matcher, title) == set()
    assert _found(matcher, clip) == {"photo"}
    # The slides themselves, checked again, are still found (three plain moments).
    assert _found(matcher, signals_from_media(videos["slides"], LIMITS)) == {"slides"}


def test_the_copy_sweep_does_not_sweep_a_title_card_for_banked_slides(
    settings: Settings, database: Database, tmp_path: Path
) -> None:
    videos = _videos(tmp_path)
    runtime = PlatformRuntime(settings, database.engine)
    with database.session() as session:
        ensure_default_banks(session, settings)
    runtime.sync_all()
    for name in ("title", "clip"):
        signals = signals_from_media(videos[name], LIMITS)
        check_and_record(runtime.writer, runtime.matcher, name, url=None, signals=signals)

    def swept(name: str) -> set[str]:
        with database.session() as session:
            bank = get_bank(session, NCII_BANK)
            known = set(session.scalars(select(BankEntry.id)))
            add_signals(
                session, bank, bank_signals_from_media(videos[name], LIMITS), source="reviewer"
            )
            session.flush()
            entries = [
                e
                for e in session.scalars(select(BankEntry).where(BankEntry.bank_id == bank.id))
                if e.id not in known
            ]
            # Banked from the file, the slides' frames carry what their pixels showed.
            assert any((e.provenance or {}).get("plain") for e in entries) is (name == "slides")
            copies = sweep_copies(session, settings, runtime, entries, policy_of(bank))
            session.commit()
            return {c.content.content_id for c in copies}

    assert swept("slides") == set()
    assert swept("photo") == {"clip"}
