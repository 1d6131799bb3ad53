"""The copy sweep: find every registered content item that matches new bank entries.

PDQ and frame hashes are searched in the registry index (in memory, milliseconds even at
millions of items), exact hashes through the database index; every candidate is re-read from
the database before it counts. Orientation is covered by banking the 8 dihedral hashes of an
item when its media was hashed, and by the registry holding the dihedral hashes of uploads.
A banked turned view meets a registered upload's whole views only, not its crops or halves
(by the registry row's view name, as the matcher does in `/v1/check`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select, text
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.media.robust import (
    UploadView,
    banked_inert,
    banked_pair_limit,
    banked_pair_weak,
    below_quality,
)
from rescind.media.video_match import common_moments, decide, moment, related_videos, shares
from rescind.platform.banks import BankPolicy, EntryView
from rescind.platform.registry import signals_of
from rescind.platform.runtime import PlatformRuntime
from rescind.platform.signals import (
    EXACT_TYPES,
    PDQ,
    PDQ_CUT,
    PDQ_DIHEDRAL,
    VIDEO_PDQ,
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


# content pk, signal type, quality, view name (pictures), time (video frames), sparse
# (pictures: the upload is text on a flat background; None when not known)
_Row = tuple[int, str, int | None, str | None, float | None, bool | None, bool | None]


def _rows(session: Session, signal_ids: list[int]) -> dict[int, _Row]:
    """Registry rows by id: (content pk, signal type, quality, variant, t, sparse, plain)."""
    found: dict[int, _Row] = {}
    for start in range(0, len(signal_ids), _CHUNK):
        chunk = signal_ids[start : start + _CHUNK]
        for sid, pk, st, quality, variant, t, sparse, plain in session.execute(
            select(
                ContentSignal.id,
                ContentSignal.content_pk,
                ContentSignal.signal_type,
                ContentSignal.quality,
                ContentSignal.variant,
                ContentSignal.t,
                ContentSignal.sparse,
                ContentSignal.plain,
            ).where(ContentSignal.id.in_(chunk))
        ):
            found[sid] = (pk, st, quality, variant, t, sparse, plain)
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
    # registry keeps none (rescind.media.robust.banked_pair_limit): they have nothing to
    # sweep. A flat cut view of a banked picture (quality 0, not turned: an empty half or
    # band) meets nothing, as in the matcher: every empty part of a picture hashes alike.
    pictures = [(e, EntryView.of(e)) for e in entries if e.signal_type in (PDQ, PDQ_CUT)]
    images = [(e, view) for e, view in pictures if not (view.equalised or banked_inert(view))]
    results = runtime.registry.search([e.value for e, _ in images], bank.threshold)
    candidates = sorted({sid for found in results for sid, _ in found})
    rows = _rows(session, candidates)
    runtime.registry.forget([sid for sid in candidates if sid not in rows])
    # Each registered upload's hash (a row a search found; a video frame's hash is not one)
    # as the pair rule reads it, once per row, not once per banked view it meets:
    # rescind.media.robust.banked_pair_limit, the matcher's rule. A turned view of the
    # banked picture (`full/rot90`, `crop_c96/flip_h`) meets its whole views only, never its
    # crops or halves, and its turned hashes (`pdq_dihedral`) no crop or tilt; a flat cut
    # view meets nothing, a faint half no faint cut view; a sparse upload's (text on a flat
    # background) crops and halves meet banked ones only close by, and no weak one; weak
    # and smooth banked views only close by, and a smooth banked view none of quality 0
    # against a row of 50 or more, or the other way (`smooth_gap`: two gradients of one
    # geometry in other colours; a row without a quality is not held to it). A row without
    # a view name (a hash a platform sent, or a row registered before migration 0019) is
    # taken as a whole view, and one without the sparse flag (before migration 0020) as not
    # sparse, as the matcher takes such hashes. The registry keeps no weak view of an
    # upload, and does not know whether it was smooth: only the banked side's flag counts.
    uploads = {
        sid: (
            row[0],
            UploadView.of(row[3], row[2], turned=row[1] == PDQ_DIHEDRAL, sparse=bool(row[5])),
        )
        for sid, row in rows.items()
        if row[1] in (PDQ, PDQ_DIHEDRAL)
    }
    for (entry, view), found in zip(images, results, strict=True):
        for sid, distance in found:
            registered = uploads.get(sid)
            if registered is None:
                continue  # gone since, or a video frame's hash
            pk, upload = registered
            if distance <= banked_pair_limit(upload, view, bank.threshold, minimum):
                keep(pk, entry.id, distance, not banked_pair_weak(upload, view, minimum))

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

    The matcher's rule, from the bank's side: shares count moments (whole seconds, views
    once), frames under `pdq_min_quality` (black, flat, dark) count on neither side (every
    black frame hashes alike, and would tie any two videos with black seconds), and nor do
    the banked video's seconds found in `video_common_min_videos` or more distinct
    registered videos (an end card, a channel intro; re-uploads of one video count once).
    """
    minimum = settings.pdq_min_quality
    by_group: dict[str, list[BankEntry]] = defaultdict(list)
    for e in entries:
        if e.signal_type == VIDEO_PDQ and not below_quality(e.quality, minimum):
            by_group[e.group_key or f"entry:{e.id}"].append(e)
    found_all: list[tuple[int, int, int]] = []
    for frames in by_group.values():
        results = runtime.registry.search([e.value for e in frames], bank.threshold)
        candidates = sorted({sid for found in results for sid, _ in found})
        rows = _rows(session, candidates)
        bank_moments = [moment(e.t, e.id) for e in frames]
        pairs: dict[int, set[tuple[Any, Any]]] = defaultdict(set)  # pk -> moment pairs
        # bank moment -> content pk -> its moments matched
        matched: dict[Any, dict[Any, set[Any]]] = defaultdict(lambda: defaultdict(set))
        # pk -> hits: (bank moment, entry, distance, the banked frame is plain)
        best: dict[int, list[tuple[Any, int, int, bool]]] = defaultdict(list)
        for entry, bank_moment, found in zip(frames, bank_moments, results, strict=True):
            plain = bool((entry.provenance or {}).get("plain"))
            for sid, distance in found:
                row = rows.get(sid)
                if row and row[1] == VIDEO_PDQ and not below_quality(row[2], minimum):
                    content_moment = moment(row[4], sid)
                    pairs[row[0]].add((bank_moment, content_moment))
                    matched[bank_moment][row[0]].add(content_moment)
                    best[row[0]].append((bank_moment, entry.id, distance, plain))
        if not pairs:
            continue
        good = _good_frames(session, list(pairs), minimum)
        good_moments: dict[Any, set[Any]] = {
            pk: {m for _, _, m, _ in good.get(pk, ())} for pk in pairs
        }
        common = common_moments(
            matched,
            good_moments,
            lambda own, pk: _related(session, runtime, own, pk, bank.threshold, minimum),
            settings.video_common_min_videos,
        )
        for pk, matched_pairs in pairs.items():
            # The banked video is the query of the rule; the registered video is banked.
            share = shares(bank_moments, good_moments[pk], matched_pairs, common)
            chosen = decide(
                share,
                [(m, d, plain, (entry_id, d)) for m, entry_id, d, plain in best[pk]],
                common,
                settings.video_bank_match_fraction,
                settings.video_query_match_fraction,
            )
            if chosen is not None:
                found_all.append((pk, *chosen))
    return found_all


def _good_frames(
    session: Session, pks: list[int], minimum: int
) -> dict[int, list[tuple[int, str, Any, bool]]]:
    """Each registered video's frames of quality high enough: (signal id, hash, moment,
    plain: judged plain from the pixels, False when not known)."""
    found: dict[int, list[tuple[int, str, Any, bool]]] = defaultdict(list)
    for start in range(0, len(pks), _CHUNK):
        for pk, sid, value, t, plain in session.execute(
            select(
                ContentSignal.content_pk,
                ContentSignal.id,
                ContentSignal.value,
                ContentSignal.t,
                ContentSignal.plain,
            ).where(
                ContentSignal.content_pk.in_(pks[start : start + _CHUNK]),
                ContentSignal.signal_type == VIDEO_PDQ,
                or_(ContentSignal.quality.is_(None), ContentSignal.quality >= minimum),
            )
        ):
            found[pk].append((sid, value, moment(t, sid), bool(plain)))
    return found


def _related(
    session: Session,
    runtime: PlatformRuntime,
    own: Mapping[Any, Set[Any]],
    pk: Any,
    radius: int,
    minimum: int,
) -> set[Any]:
    """The registered videos of ``own`` (each with the moments matched) that share frames
    with ``pk`` outside them: re-uploads of one video, not two that only end on one card,
    nor two that meet at one plain second each (``content_signals.plain``;
    `rescind.media.video_match.related_videos`, as `/v1/check`'s matcher decides)."""
    rests = [
        (m, value, plain)
        for _, value, m, plain in _good_frames(session, [pk], minimum).get(pk, ())
        if m not in own[pk]
    ]
    results = runtime.registry.search([value for _, value, _ in rests], radius)
    rows = _rows(session, sorted({sid for found in results for sid, _ in found}))
    links = []
    for (mine, _, plain), found in zip(rests, results, strict=True):
        for sid, _distance in found:
            row = rows.get(sid)
            if (
                row
                and row[0] != pk
                and row[0] in own
                and row[1] == VIDEO_PDQ
                and not below_quality(row[2], minimum)
                and moment(row[4], sid) not in own[row[0]]
            ):
                links.append((mine, row[0], moment(row[4], sid), plain or bool(row[6])))
    return related_videos(links)
