"""The copy sweep: find every registered content item that matches new bank entries.

PDQ and frame hashes are searched in the registry index (in memory, milliseconds even at
millions of items), exact hashes through the database index; every candidate is re-read from
the database before it counts. Orientation is covered by banking the 8 dihedral hashes of an
item when its media was hashed, and by the registry holding the dihedral hashes of uploads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select, text
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.media.robust import EQUALISED_PREFIX
from rescind.platform.banks import BankPolicy
from rescind.platform.registry import signals_of
from rescind.platform.runtime import PlatformRuntime
from rescind.platform.signals import (
    EXACT_TYPES,
    PDQ,
    PDQ_CUT,
    PDQ_DIHEDRAL,
    VIDEO_PDQ,
    WEAK_VIEW_RADIUS,
)
from rescind.store.models import EXACT_SIGNALS, BankEntry, Content, ContentSignal

_CHUNK = 5000


@dataclass(frozen=True)
class Copy:
    """A registered item matching a bank entry; `actionable` is False when only review fits."""

    content: Content
    entry_id: int
    distance: int
    actionable: bool


def _rows(session: Session, signal_ids: list[int]) -> dict[int, tuple[int, str, int | None]]:
    found: dict[int, tuple[int, str, int | None]] = {}
    for start in range(0, len(signal_ids), _CHUNK):
        chunk = signal_ids[start : start + _CHUNK]
        for sid, pk, st, quality in session.execute(
            select(
                ContentSignal.id,
                ContentSignal.content_pk,
                ContentSignal.signal_type,
                ContentSignal.quality,
            ).where(ContentSignal.id.in_(chunk))
        ):
            found[sid] = (pk, st, quality)
    return found


def exact_match_query(signal_type: str, value: str) -> Select[int]:
    """The registered items with an exact hash (MD5 or SHA-256) equal to `value`.

    It repeats the partial index's predicate (`EXACT_SIGNALS`) word for word: SQLite uses a
    partial index only for queries whose WHERE clause contains it."""
    return select(ContentSignal.content_pk).where(
        text(EXACT_SIGNALS),
        ContentSignal.signal_type == signal_type,
        ContentSignal.value == value,
    )


def _low(quality: int | None, minimum: int) -> bool:
    return quality is not None and quality < minimum


def sweep_copies(
    session: Session,
    settings: Settings,
    runtime: PlatformRuntime,
    entries: Sequence[BankEntry],
    bank: BankPolicy,
) -> list[Copy]:
    """Registered items matching `entries` (all in `bank`), excluding allow-listed ones."""
    runtime.registry.sync(session)
    minimum = settings.pdq_min_quality
    best: dict[int, tuple[int, int, bool]] = {}  # content pk -> (entry, distance, actionable)

    def keep(pk: int, entry_id: int, distance: int, actionable: bool) -> None:
        old = best.get(pk)
        if old is None or (actionable, -distance) > (old[2], -old[1]):
            best[pk] = (entry_id, distance, actionable)

    # A weak picture's equalised views meet an upload's equalised views only, and the
    # registry keeps none (rescind.media.robust.pair_limits): they have nothing to sweep.
    images = [
        e
        for e in entries
        if e.signal_type in (PDQ, PDQ_CUT)
        and not str((e.provenance or {}).get("variant", "")).startswith(EQUALISED_PREFIX)
    ]
    results = runtime.registry.search([e.value for e in images], bank.threshold)
    candidates = sorted({sid for found in results for sid, _ in found})
    rows = _rows(session, candidates)
    runtime.registry.forget([sid for sid in candidates if sid not in rows])
    for entry, found in zip(images, results, strict=True):
        for sid, distance in found:
            row = rows.get(sid)
            # A crop or tilt of the banked image is compared with uploads as they were, not
            # with their turned views (the rule of rescind.media.robust.pair_limits).
            weak_cut = entry.signal_type == PDQ_CUT and _low(entry.quality, minimum)
            if weak_cut and distance > WEAK_VIEW_RADIUS:
                continue  # a weak crop or tilt of the banked image counts only close by
            smooth = bool((entry.provenance or {}).get("smooth"))
            if smooth and distance > WEAK_VIEW_RADIUS:
                continue  # a smooth banked picture (a gradient) counts only close by
            if row and (row[1] == PDQ or (row[1] == PDQ_DIHEDRAL and entry.signal_type == PDQ)):
                low = smooth or _low(row[2], minimum) or _low(entry.quality, minimum)
                keep(row[0], entry.id, distance, not low)

    for entry in entries:
        if entry.signal_type in EXACT_TYPES:
            for pk in session.scalars(exact_match_query(entry.signal_type, entry.value)):
                keep(pk, entry.id, 0, True)

    for pk, entry_id, distance in _sweep_videos(session, settings, runtime, entries, bank):
        keep(pk, entry_id, distance, True)

    copies = []
    pks = sorted(best)
    for start in range(0, len(pks), _CHUNK):
        contents = session.scalars(
            select(Content).where(
                Content.id.in_(pks[start : start + _CHUNK]), Content.forgotten_at.is_(None)
            )
        )
        for content in contents:
            if _allow_listed(session, runtime, content):
                continue
            entry_id, distance, actionable = best[content.id]
            copies.append(Copy(content, entry_id, distance, actionable))
    return sorted(copies, key=lambda c: c.content.id)


def _allow_listed(session: Session, runtime: PlatformRuntime, content: Content) -> bool:
    hits = runtime.matcher.match(signals_of(session, content.id))
    return any(h.bank.kind == "allow" for h in hits)


def _sweep_videos(
    session: Session,
    settings: Settings,
    runtime: PlatformRuntime,
    entries: Sequence[BankEntry],
    bank: BankPolicy,
) -> list[tuple[int, int, int]]:
    """(content pk, entry id, distance) of registered videos matching a banked video.

    As in the matcher, frames under `pdq_min_quality` (black, flat, dark) count on neither
    side: every black frame hashes alike, and would tie any two videos with black seconds.
    """
    minimum = settings.pdq_min_quality
    by_group: dict[str, list[BankEntry]] = defaultdict(list)
    for e in entries:
        if e.signal_type == VIDEO_PDQ and not _low(e.quality, minimum):
            by_group[e.group_key or f"entry:{e.id}"].append(e)
    found_all: list[tuple[int, int, int]] = []
    for frames in by_group.values():
        results = runtime.registry.search([e.value for e in frames], bank.threshold)
        candidates = sorted({sid for found in results for sid, _ in found})
        rows = _rows(session, candidates)
        matched_content: dict[int, set[int]] = defaultdict(set)  # pk -> content frame ids
        matched_bank: dict[int, dict[int, int]] = defaultdict(dict)  # pk -> entry -> distance
        for entry, found in zip(frames, results, strict=True):
            for sid, distance in found:
                row = rows.get(sid)
                if row and row[1] == VIDEO_PDQ and not _low(row[2], minimum):
                    matched_content[row[0]].add(sid)
                    old = matched_bank[row[0]].get(entry.id, distance)
                    matched_bank[row[0]][entry.id] = min(old, distance)
        if not matched_content:
            continue
        totals = dict(
            session.execute(
                select(ContentSignal.content_pk, func.count())
                .where(
                    ContentSignal.content_pk.in_(list(matched_content)),
                    ContentSignal.signal_type == VIDEO_PDQ,
                    or_(ContentSignal.quality.is_(None), ContentSignal.quality >= minimum),
                )
                .group_by(ContentSignal.content_pk)
            ).all()
        )
        for pk, content_frames in matched_content.items():
            content_share = len(content_frames) / max(1, totals.get(pk, 1))
            bank_share = len(matched_bank[pk]) / len(frames)
            if (
                content_share >= settings.video_query_match_fraction
                or bank_share >= settings.video_bank_match_fraction
            ):
                entry_id, distance = min(matched_bank[pk].items(), key=lambda kv: kv[1])
                found_all.append((pk, entry_id, distance))
    return found_all
