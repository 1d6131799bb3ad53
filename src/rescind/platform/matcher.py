"""The in-process matcher: every active bank entry in memory, following `bank_changes` by seq.

Each server process holds one `Matcher`. `sync` applies the change feed incrementally (adds and
withdrawals, no rebuild); a poller calls it every `matcher_poll_s`, so a new bank entry takes
effect everywhere within about a second. Reads (`match`) never wait for a sync: the Hamming
index is safe to search while it is written, and the dictionaries are only ever replaced or
updated key by key.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.index import HammingIndex
from rescind.media.robust import (
    UploadView,
    banked_pair_limit,
    banked_pair_weak,
    below_quality,
)
from rescind.media.video_match import common_moments, decide, moment, related_videos, shares
from rescind.platform.banks import (
    REQUEST_SOURCE,
    REQUESTER_SOURCE,
    BankPolicy,
    EntryView,
    policy_of,
)
from rescind.platform.signals import (
    MD5,
    PDQ,
    PDQ_CUT,
    SHA256,
    VIDEO_PDQ,
    WEAK_VIEW_RADIUS,
    PdqHash,
    Signals,
)
from rescind.store.models import Bank, BankChange, BankEntry, Request
from rescind.store.statuses import BankEntryStatus

SYNC_BATCH = 50_000
NEIGHBOUR_CACHE = 10_000  # video groups whose frames' neighbours are kept (common content)
# id, bank id, signal type, value, quality, group key, request id, case number, status, t,
# source, smooth (a smooth picture's hash, from the provenance), variant (the provenance's),
# plain (a plain video frame, from the provenance)
_Row = tuple[
    int,
    int,
    str,
    str,
    int | None,
    str | None,
    int | None,
    str | None,
    str,
    float | None,
    str,
    bool | None,
    str | None,
    bool | None,
]


@dataclass(frozen=True, slots=True)
class MatcherEntry:
    """One bank entry as the matcher loads it, by name: what `Matcher.load_entries` takes to
    fill a matcher without a database (benchmarks, tests). The change feed loads the same
    fields from `bank_entries`; a field added later gets a default here."""

    entry_id: int
    bank_id: int
    signal_type: str
    value: str
    quality: int | None = None
    group_key: str | None = None  # a video's frames share one
    request_id: int | None = None
    case_number: str | None = None
    status: str = BankEntryStatus.ACTIVE  # any other status withdraws the entry
    t: float | None = None  # a video frame's time (seconds)
    source: str = REQUEST_SOURCE  # `requester`: review only (see EntryRef.review_only)
    smooth: bool = False  # the provenance's `smooth`
    variant: str | None = None  # the provenance's view name (`full/rot90`, `crop_c96`, ...)
    plain: bool = False  # the provenance's `plain` (a video frame judged plain from its pixels)

    def _row(self) -> _Row:
        return (
            self.entry_id, self.bank_id, self.signal_type, self.value, self.quality,
            self.group_key, self.request_id, self.case_number, self.status, self.t,
            self.source, self.smooth, self.variant, self.plain,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class EntryRef:
    """What the matcher keeps of one active bank entry (the hash lives in the index)."""

    bank_id: int
    signal_type: str
    quality: int | None
    group_key: str | None
    request_id: int | None
    case_number: str | None
    t: float | None = None  # a video frame's time (seconds)
    # A requester's hash no reviewer has tied to reported content yet: review, never block.
    review_only: bool = False
    # A smooth picture's hash (a gradient, rescind.media.pdq.smooth_buffers): it matches
    # only within the weak views' radius and never blocks.
    smooth: bool = False
    # A turned view of a banked picture (`full/rot90`, `crop_c96/flip_h`, ...): it meets an
    # upload's whole views only, never its crops or halves
    # (rescind.media.robust.banked_pair_limit).
    turned: bool = False
    # A view of a weak picture's equalised copy (`eq_full`, `eq_crop_c96`...; see
    # rescind.media.robust.EQUALISED_PREFIX): it meets an upload's equalised views only,
    # within the weak views' radius, and never blocks.
    equalised: bool = False
    # A half of a banked picture (`half_t`...): a faint one (quality below
    # FAINT_CUT_QUALITY) never meets an upload's faint cut view, nor a faint cut view an
    # upload's faint half (rescind.media.robust.banked_pair_limit).
    half: bool = False
    # A plain video frame (a title card, a caption on black, a slide:
    # rescind.media.robust_sparse.plain_share), judged from the pixels when the video was
    # banked from a file: alone it does not relate two banked videos (common content,
    # `rescind.media.video_match.related_videos`).
    plain: bool = False

    @property
    def cut(self) -> bool:
        """A cut entry (`pdq_cut`): any view but a strong whole one of the picture as given."""
        return self.signal_type == PDQ_CUT


@dataclass(frozen=True)
class Hit:
    """A bank entry matched by a query, judged against its bank's threshold."""

    entry_id: int
    bank: BankPolicy
    signal_type: str
    distance: int
    low_quality: bool  # PDQ quality below the minimum on either side: review at most
    request_id: int | None
    case_number: str | None
    review_only: bool = False


_EXACT = UploadView()  # an exact hash (MD5, SHA-256): no quality, no view


def _upload_view(h: PdqHash) -> UploadView:
    """An upload's hash as the pair rule reads it (`signals_from_media` names its views; a
    hash a platform sent is the picture as uploaded)."""
    return UploadView.of(
        h.variant,
        h.quality,
        turned=h.orientation != 0,
        weak=h.weak,
        smooth=h.smooth,
        sparse=h.sparse,
    )


class Matcher:
    """Active bank entries of one database, in memory, kept current from the change feed."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.images = HammingIndex()
        # Crops and tilts of banked images: compared with the upload as it is (and its own
        # trimmed and cropped views), never with its turned views (see rescind.media.robust).
        self.cuts = HammingIndex()
        self.frames = HammingIndex()
        self.entries: dict[int, EntryRef] = {}
        self.exact: dict[tuple[str, str], frozenset[int]] = {}
        self.groups: dict[str, frozenset[int]] = {}  # video group -> its frame entry ids
        self.frame_values: dict[int, bytes] = {}  # video frame entry id -> its hash (32 bytes)
        # (video group, radius) -> its good frames searched so far (entry id) -> the other
        # groups' good moments near each, and whether either frame is plain (common content,
        # `_related`); found when first needed.
        self._neighbours: dict[tuple[str, int], dict[int, frozenset[tuple[str, Any, bool]]]] = {}
        self._good: dict[Any, frozenset[Any]] = {}  # video group -> `_good_moments`
        self.banks: dict[int, BankPolicy] = {}
        self.seq = 0
        self.loaded = False
        self.synced_at = 0.0  # time.monotonic() of the last successful sync
        self._lock = threading.Lock()

    # ---- following the database -----------------------------------------------------------

    def sync(self, session: Session) -> int:
        """Apply every change committed since the last sync; returns how many entries changed."""
        with self._lock:
            self.banks = {b.id: policy_of(b) for b in session.scalars(select(Bank))}
            if not self.loaded:
                changed = self._load_all(session)
                self.loaded = True
            else:
                changed = self._follow(session)
            self.synced_at = time.monotonic()
            return changed

    def try_sync(self, session: Session) -> bool:
        """Sync unless another thread is syncing right now (it will cover the same changes)."""
        if not self._lock.acquire(blocking=False):
            return False
        self._lock.release()
        self.sync(session)
        return True

    @staticmethod
    def _columns() -> tuple[Any, ...]:
        return (
            BankEntry.id,
            BankEntry.bank_id,
            BankEntry.signal_type,
            BankEntry.value,
            BankEntry.quality,
            BankEntry.group_key,
            BankEntry.request_id,
            Request.case_number,
            # The raw text: comparing with the StrEnum member is the same, and a million rows
            # skip the column type's per-value conversion.
            type_coerce(BankEntry.status, String),
            BankEntry.t,
            BankEntry.source,
            BankEntry.provenance["smooth"].as_boolean(),
            BankEntry.provenance["variant"].as_string(),
            BankEntry.provenance["plain"].as_boolean(),
        )

    def _load_all(self, session: Session) -> int:
        # Read the feed's position first: entries committed meanwhile are replayed (idempotent).
        self.seq = session.scalar(select(func.max(BankChange.seq))) or 0
        last, total = 0, 0
        # Core rows on the session's connection: the ORM's row handling costs more than the
        # rest of a sync when a million entries arrive at once.
        connection = session.connection()
        while True:
            rows: list[_Row] = cast(
                list[_Row],
                connection.execute(
                    select(*self._columns())
                    .select_from(BankEntry)
                    .outerjoin(Request, Request.id == BankEntry.request_id)
                    .where(BankEntry.status == BankEntryStatus.ACTIVE, BankEntry.id > last)
                    .order_by(BankEntry.id)
                    .limit(SYNC_BATCH)
                ).all(),
            )
            if not rows:
                return total
            self._apply(rows)
            total += len(rows)
            last = rows[-1][0]

    def _follow(self, session: Session) -> int:
        total = 0
        connection = session.connection()  # Core rows, as in _load_all
        while True:
            rows = connection.execute(
                select(*self._columns(), BankChange.seq)
                .select_from(BankChange)
                .join(BankEntry, BankEntry.id == BankChange.entry_id)
                .outerjoin(Request, Request.id == BankEntry.request_id)
                .where(BankChange.seq > self.seq)
                .order_by(BankChange.seq)
                .limit(SYNC_BATCH)
            ).all()
            if not rows:
                return total
            # An entry's current status decides, whatever the op: replays converge. (The seq
            # is the last column: `_apply` reads the first fourteen.)
            latest: dict[int, _Row] = {r[0]: cast(_Row, r) for r in rows}
            self._apply(latest.values())
            self.seq = int(rows[-1][-1])
            total += len(latest)

    def load_entries(self, entries: Iterable[MatcherEntry]) -> None:
        """Add (or, with another status than active, withdraw) `entries`, as a sync applies
        the change feed's rows; with `banks` set, the matcher then matches them."""
        with self._lock:
            self._apply(e._row() for e in entries)

    def _apply(self, rows: Iterable[_Row]) -> None:
        adds: dict[str, tuple[list[int], list[str]]] = {
            PDQ: ([], []),
            PDQ_CUT: ([], []),
            VIDEO_PDQ: ([], []),
        }
        removes: list[int] = []
        exact = dict(self.exact)
        groups = {k: set(v) for k, v in self.groups.items()}
        touched: set[str] = set()  # video groups whose frames changed
        # (variant, smooth, plain) -> the entry's smooth, turned, equalised, half, plain: a
        # bank's entries share a few hundred view names, each read once per batch.
        views: dict[
            tuple[str | None, bool | None, bool | None], tuple[bool, bool, bool, bool, bool]
        ] = {}
        for row in rows:
            entry_id, bank_id, signal_type, value, quality, group_key = row[:6]
            req_id, case, status, t, source, smooth, variant, plain = row[6:14]
            # Interned: a million entries share a handful of types, groups and case numbers.
            eid, st, val = entry_id, sys.intern(signal_type), value
            group_key = None if group_key is None else sys.intern(group_key)
            if status == BankEntryStatus.ACTIVE:
                case = None if case is None else sys.intern(case)
                known = eid in self.entries
                review_only = source == REQUESTER_SOURCE
                flags = views.get((variant, smooth, plain))
                if flags is None:
                    view = EntryView(variant, bool(smooth))  # as the copy sweep reads one
                    flags = (view.smooth, view.turned, view.equalised, view.half, bool(plain))
                    views[(variant, smooth, plain)] = flags
                self.entries[eid] = EntryRef(
                    bank_id, st, quality, group_key, req_id, case, t, review_only, *flags
                )
                if known:
                    continue  # an update of an indexed entry (a reviewer confirmed it)
                if st in adds:
                    adds[st][0].append(eid)
                    adds[st][1].append(val)
                if st in (MD5, SHA256):
                    exact[(st, val)] = exact.get((st, val), frozenset()) | {eid}
                if st == VIDEO_PDQ and group_key:
                    groups.setdefault(str(group_key), set()).add(eid)
                    self.frame_values[eid] = bytes.fromhex(val)
                    touched.add(str(group_key))
            else:
                removes.append(eid)
                if st in (MD5, SHA256):
                    exact[(st, val)] = exact.get((st, val), frozenset()) - {eid}
                if st == VIDEO_PDQ and group_key:
                    groups.get(str(group_key), set()).discard(eid)
                    touched.add(str(group_key))
        for signal_type, index in ((PDQ, self.images), (PDQ_CUT, self.cuts)):
            if adds[signal_type][0]:
                index.add(adds[signal_type][0], adds[signal_type][1])
        if adds[VIDEO_PDQ][0]:
            self.frames.add(adds[VIDEO_PDQ][0], adds[VIDEO_PDQ][1])
        if removes:
            self.images.remove(removes)
            self.cuts.remove(removes)
            self.frames.remove(removes)
        self.exact = {k: v for k, v in exact.items() if v}
        self.groups = {k: frozenset(v) for k, v in groups.items() if v}
        for eid in removes:
            self.entries.pop(eid, None)
            self.frame_values.pop(eid, None)
        if touched:
            # A group's own neighbours are found again; another group's cached neighbours
            # may miss the new frames, but an edge is found from either side (`_related`).
            self._neighbours = {k: v for k, v in self._neighbours.items() if k[0] not in touched}
            self._good = {k: v for k, v in self._good.items() if k not in touched}

    # ---- matching --------------------------------------------------------------------------

    def _radius(self) -> int:
        enabled = [b.threshold for b in self.banks.values() if b.enabled]
        return max(enabled, default=-1)

    def _hit(self, entry_id: int, distance: int, upload: UploadView) -> Hit | None:
        """The hit on `entry_id` of an upload's hash `distance` bits away, if the pair counts
        under the entry's bank and the pair rule (rescind.media.robust.banked_pair_limit, the
        copy sweep's too); for a video frame or an exact hash, `upload` is its quality only."""
        ref = self.entries.get(entry_id)
        if ref is None:
            return None
        bank = self.banks.get(ref.bank_id)
        if bank is None or not bank.enabled:
            return None
        minimum = self.settings.pdq_min_quality
        if distance > banked_pair_limit(upload, ref, bank.threshold, minimum):
            return None
        low = ref.signal_type in (PDQ, PDQ_CUT, VIDEO_PDQ) and banked_pair_weak(
            upload, ref, minimum
        )
        return Hit(
            entry_id,
            bank,
            ref.signal_type,
            distance,
            low,
            ref.request_id,
            ref.case_number,
            ref.review_only,
        )

    def match(self, signals: Signals) -> list[Hit]:
        """Every bank entry the signals match under each bank's policy (best hit per entry)."""
        best: dict[int, Hit] = {}

        def keep(hit: Hit | None) -> None:
            if hit is not None and (
                hit.entry_id not in best or hit.distance < best[hit.entry_id].distance
            ):
                best[hit.entry_id] = hit

        radius = self._radius()
        # Weak extra views (low-quality trims and crops of the upload) and the hashes of a
        # smooth upload (a gradient) only count close by, and never block (and meet no hash
        # across the smooth gap, quality 0 against 50 or more); a flat cut view
        # (quality 0) meets nothing, nor do the weak views of a sparse upload (text on a flat
        # background) but its equalised ones (rescind.media.robust.banked_pair_limit, which
        # judges every hit): those are not searched.
        views = [(h, _upload_view(h)) for h in signals.pdq]
        usable = [(h, view) for h, view in views if not view.inert]
        strong = [(h, view) for h, view in usable if not (h.weak or h.smooth)]
        weak = [(h, view) for h, view in usable if h.weak or h.smooth]
        searches = []
        for queries, r in ((strong, radius), (weak, min(radius, WEAK_VIEW_RADIUS))):
            searches.append((self.images, queries, r))
            # Crops and tilts of banked images meet the upload's views as uploaded, not turned.
            searches.append((self.cuts, [(h, view) for h, view in queries if not view.turned], r))
        for index, queries, r in searches:
            if r < 0 or not queries or not len(index):
                continue
            if len(queries) == 1:  # most checks: the index's low-latency path
                results = [index.search_one(queries[0][0].hash, r)]
            else:
                results = index.search([h.hash for h, _ in queries], r)
            for (_, view), found in zip(queries, results, strict=True):
                for entry_id, distance in found:
                    keep(self._hit(entry_id, distance, view))
        for signal_type, value in ((MD5, signals.md5), (SHA256, signals.sha256)):
            if value:
                for entry_id in self.exact.get((signal_type, value), ()):
                    keep(self._hit(entry_id, 0, _EXACT))
        if radius >= 0 and signals.frames and len(self.frames):
            for hit in self._match_video(signals.frames, radius):
                keep(hit)
        return list(best.values())

    def _match_video(self, frames: tuple[PdqHash, ...], radius: int) -> list[Hit]:
        """vPDQ-style: a banked video matches when enough of it matches in either direction.

        Shares count sampled moments, not hashes (`rescind.media.video_match`): a moment
        with two views (as shown, inside its bars) is found when either view matches.
        As vPDQ does, hashes under `pdq_min_quality` (black, dark or flat frames, the
        darkest seconds of a fade) count on neither side: not as matches, not in the
        shares' totals. Most videos have some (an intro, a fade), and they hash alike:
        counted, a black video would match every video that fades to black. Common
        content (a moment matched in `video_common_min_videos` distinct banked videos,
        duplicates counted once: an end card, a channel intro) counts on neither side
        either (`rescind.media.video_match.common_moments`).
        """
        minimum = self.settings.pdq_min_quality
        frames = tuple(f for f in frames if not below_quality(f.quality, minimum))
        if not frames:
            return []
        results = self.frames.search([f.hash for f in frames], radius)
        query_moments = [moment(f.t, i) for i, f in enumerate(frames)]
        pairs: dict[str, set[tuple[Any, Any]]] = defaultdict(set)  # group -> moment pairs
        # query moment -> group -> its moments matched
        matched: dict[Any, dict[Any, set[Any]]] = defaultdict(lambda: defaultdict(set))
        # group -> (query moment, hit, the query frame is plain)
        bank_frames: dict[str, list[tuple[Any, Hit, bool]]] = defaultdict(list)
        for i, (query, found) in enumerate(zip(frames, results, strict=True)):
            upload = UploadView(query.quality)
            for entry_id, distance in found:
                hit = self._hit(entry_id, distance, upload)
                ref = self.entries.get(entry_id)
                if hit is None or ref is None or not ref.group_key or hit.low_quality:
                    continue
                bank_moment = moment(ref.t, entry_id)
                pairs[ref.group_key].add((query_moments[i], bank_moment))
                matched[query_moments[i]][ref.group_key].add(bank_moment)
                bank_frames[ref.group_key].append((query_moments[i], hit, query.plain))
        good: dict[Any, set[Any]] = {g: self._good_moments(g) for g in bank_frames}
        common = common_moments(
            matched,
            good,
            lambda own, group: self._related(own, group, radius),
            self.settings.video_common_min_videos,
        )
        hits = []
        for group, matched_hits in bank_frames.items():
            share = shares(query_moments, good[group], pairs[group], common)
            best = decide(
                share,
                [(q, h.distance, plain, h) for q, h, plain in matched_hits],
                common,
                self.settings.video_query_match_fraction,
                self.settings.video_bank_match_fraction,
            )
            if best is not None:
                hits.append(best)
        return hits

    def _good_moments(self, group: Any) -> set[Any]:
        """A banked video's moments with a frame of quality high enough to count; worked out
        once and kept until the group's frames change (a check with common content asks
        for every video that has it)."""
        cached = self._good.get(group)
        if cached is not None:
            return set(cached)
        minimum = self.settings.pdq_min_quality
        good = frozenset(
            moment(self.entries[e].t, e)
            for e in self.groups.get(group, ())
            if e in self.entries and not below_quality(self.entries[e].quality, minimum)
        )
        if len(self._good) >= NEIGHBOUR_CACHE:
            self._good = {}
        self._good[group] = good
        return set(good)

    def _related(self, own: Mapping[Any, Set[Any]], group: Any, radius: int) -> set[Any]:
        """The banked videos of ``own`` (each with the moments the query matched) that share
        frames with ``group`` outside those moments: the same video banked twice, not two
        videos that only end on the same card, nor two that meet at one plain second each
        (`rescind.media.video_match.related_videos`; `EntryRef.plain`)."""
        links = []
        for mine, near in self._frame_neighbours(str(group), radius, own[group]):
            for other, other_moment, plain in near:
                if other in own and other_moment not in own[other]:
                    links.append((mine, other, other_moment, plain))
        return related_videos(links)

    def _frame_neighbours(
        self, group: str, radius: int, skip: Set[Any]
    ) -> list[tuple[Any, frozenset[tuple[str, Any, bool]]]]:
        """For each good frame of ``group`` outside the moments ``skip`` (those the query
        matched), its moment and the other groups' good moments within ``radius``, each
        with whether either frame is plain. Each frame is searched the first time it is
        asked for and kept until the group's frames change; the frames the query matched
        are not searched for it: they are common content's, which meet the same content in
        every other video (thousands of hits each, for nothing: docs/benchmarks.md, "Common
        content: the related searches")."""
        cached = self._neighbours.get((group, radius))
        if cached is None:
            if len(self._neighbours) >= NEIGHBOUR_CACHE:
                self._neighbours = {}
            cached = self._neighbours[(group, radius)] = {}
        minimum = self.settings.pdq_min_quality
        wanted = [
            e
            for e in self.groups.get(group, ())
            if e in self.entries
            and e in self.frame_values
            and not below_quality(self.entries[e].quality, minimum)
            and moment(self.entries[e].t, e) not in skip
        ]
        mine = [e for e in wanted if e not in cached]
        codes = np.frombuffer(b"".join(self.frame_values[e] for e in mine), np.uint8)
        results = self.frames.search(codes.reshape(-1, 32), radius) if mine else []
        for e, near in zip(mine, results, strict=True):
            plain = self.entries[e].plain
            others = set()
            for other, _distance in near:
                ref = self.entries.get(other)
                if (
                    ref is not None
                    and ref.group_key
                    and ref.group_key != group
                    and not below_quality(ref.quality, minimum)
                ):
                    others.add((ref.group_key, moment(ref.t, other), plain or ref.plain))
            cached[e] = frozenset(others)
        return [(moment(self.entries[e].t, e), cached[e]) for e in wanted]

    @property
    def size(self) -> int:
        """Active entries held."""
        return len(self.entries)
