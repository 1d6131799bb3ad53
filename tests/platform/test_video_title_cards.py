"""A title card does not match slides; a one-second clip of a banked video still matches.

Captions on black carry little identity: PDQ's bits mostly say where the lines sit, so a
one-line caption and a slide with another line at the same place land a few bits apart. A
video match resting on a few such plain moments of the query does not count
(`rescind.media.video_match.decide`), in `/v1/check` and in the copy sweep alike, unless
they are two seconds that are most of both videos (a copy of a two-slide clip); a match
resting on one second of a photo-like video does. A registered video keeps its frames' flags
in the registry, so a removal banking them judges it as a banked file is judged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select, update

from rescind.config import Settings
from rescind.media.pdq import hamming_distance
from rescind.media.video_match import ONE_MOMENT_RADIUS
from rescind.platform.banks import NCII_BANK, add_signals, get_bank, policy_of
from rescind.platform.check import check_and_record
from rescind.platform.enforce import enforce_removal
from rescind.platform.matcher import Matcher
from rescind.platform.media_signals import (
    bank_signals_from_media,
    media_limits,
    signals_from_media,
)
from rescind.platform.registry import signal_values
from rescind.platform.runtime import PlatformRuntime
from rescind.platform.signals import Signals
from rescind.platform.sweep import sweep_copies
from rescind.store import Database
from rescind.store.models import BankEntry, Content, ContentSignal
from tests.media.conftest import write_video
from tests.media.test_video_false_matches import SIZE, _panning
from tests.platform.helpers import check_all, make_request, video_matcher, video_of

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
    settings: Settings, database: Database, runtime: PlatformRuntime, tmp_path: Path
) -> None:
    videos = _videos(tmp_path)
    check_all(
        runtime, {name: signals_from_media(videos[name], LIMITS) for name in ("title", "clip")}
    )

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


def test_a_removal_banks_a_registered_title_card_as_plain_and_sweeps_no_slides(
    settings: Settings, database: Database, runtime: PlatformRuntime, tmp_path: Path
) -> None:
    videos = _videos(tmp_path)

    def check(name: str) -> None:
        signals = signals_from_media(videos[name], LIMITS)
        url = f"https://p.example/{name}"
        check_and_record(runtime.writer, runtime.matcher, name, url=url, signals=signals)

    for name in ("title", "slides", "photo", "clip"):
        check(name)
    # A title card registered before its frames' flags were kept (their rows say nothing)
    # gets them when it is checked again.
    with database.session() as session:
        title = session.scalars(select(Content).where(Content.content_id == "title")).one()
        session.execute(
            update(ContentSignal).where(ContentSignal.content_pk == title.id).values(plain=None)
        )
        session.commit()
    check("title")
    with database.session() as session:
        flags = {
            c.content_id: {
                s.plain
                for s in session.scalars(
                    select(ContentSignal).where(
                        ContentSignal.content_pk == c.id, ContentSignal.signal_type == "video_pdq"
                    )
                )
            }
            for c in session.scalars(select(Content))
        }
    assert flags == {"title": {True}, "slides": {True}, "photo": {False}, "clip": {False}}

    def removed(case: int, name: str) -> set[str]:
        with database.session() as session:
            request = make_request(
                session, f"RSC-TEST-{case:04d}", [{"url": f"https://p.example/{name}"}]
            )
            result = enforce_removal(session, settings, request, runtime=runtime)
            assert {c.content_id for c in result.named} == {name}
            # Banked from the registry, the frames carry what the upload's pixels showed,
            # as frames banked from the file do.
            plain = {
                bool((e.provenance or {}).get("plain"))
                for e in result.entries
                if e.signal_type == "video_pdq"
            }
            assert plain == {name == "title"}
            session.commit()
            return {c.content_id for c in result.copies}

    # The caption is 10 bits from the deck's second slide, within the one-moment radius:
    # only its kept flag keeps the deck from being swept (and actioned) with it.
    assert removed(1, "title") == set()
    assert removed(2, "photo") == {"clip"}


def test_the_registry_keeps_a_frames_plain_flag_only_when_its_pixels_were_seen(
    tmp_path: Path,
) -> None:
    videos = _videos(tmp_path)
    title = signals_from_media(videos["title"], LIMITS)
    photo = signals_from_media(videos["photo"], LIMITS)

    def flags(signals: Signals) -> set[bool | None]:
        return {row.plain for row in signal_values(signals) if row.signal_type == "video_pdq"}

    assert flags(title) == {True}
    assert flags(photo) == {False}
    # The same frames sent as hashes by a platform: nothing was judged, nothing is kept.
    sent = video_of([(h.hash, h.quality or 0) for h in title.frames])
    assert flags(sent) == {None}


def _two_slides(folder: Path) -> dict[str, bytes]:
    """A two-slide clip (two plain seconds), a grey re-encoded copy of it, and a longer video
    of captions of its own ending on the same two slides (as videos end on an end card)."""
    deck = [_caption(text) for text in SLIDES[:2] for _ in range(FPS)]
    grey = [np.repeat(f.mean(axis=2, keepdims=True), 3, axis=2).astype(np.uint8) for f in deck]
    own = [_caption(text) for text in ("Morning Show", "Top Stories", "Sports Desk")]
    made = {"deck": deck, "grey": grey, "longer": [f for f in own for _ in range(FPS)] + deck}
    return {
        name: write_video(folder / f"{name}.mp4", frames, FPS).read_bytes()
        for name, frames in made.items()
    }


def test_a_copy_of_two_slides_is_found_and_a_video_ending_on_them_is_not(
    settings: Settings, database: Database, runtime: PlatformRuntime, tmp_path: Path
) -> None:
    """Two plain seconds count when they are most of both videos, whichever is checked
    against which: `/v1/check` finds the copy of the two-slide clip, and banking the clip
    sweeps the registered copy; the video that only ends on the slides is neither found nor
    swept (the slides are 2 of its 5 seconds)."""
    videos = _two_slides(tmp_path)
    checked = {name: signals_from_media(videos[name], LIMITS) for name in ("grey", "longer")}
    assert all(h.plain for s in checked.values() for h in s.frames)
    assert {h.t for h in checked["grey"].frames} == {0.0, 1.0}
    matcher = video_matcher({"deck": bank_signals_from_media(videos["deck"], LIMITS)})
    assert _found(matcher, checked["grey"]) == {"deck"}
    assert _found(matcher, checked["longer"]) == set()
    # The copy sweep: the banked clip is the rule's query, the registered uploads its bank.
    check_all(runtime, checked)
    with database.session() as session:
        bank = get_bank(session, NCII_BANK)
        entries = add_signals(
            session, bank, bank_signals_from_media(videos["deck"], LIMITS), source="reviewer"
        )
        session.flush()
        copies = sweep_copies(session, settings, runtime, entries, policy_of(bank))
        assert {c.content.content_id for c in copies} == {"grey"}
