"""The registry of platform content: what exists on the platform, where, and its signals.

Checks and backfill upsert content here, so a later removal request can find every copy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rescind.platform.errors import ContentNotFoundError, InvalidSignalError
from rescind.platform.signals import (
    MD5,
    PDQ,
    PDQ_DIHEDRAL,
    SHA256,
    VIDEO_PDQ,
    PdqHash,
    Signals,
)
from rescind.store.columns import utcnow
from rescind.store.models import Content, ContentSignal
from rescind.store.statuses import ContentState

MAX_CONTENT_ID = 255
MAX_URL = 2048
# C0 control characters and DEL: never part of an id or a URL. PostgreSQL cannot store a NUL
# at all and SQLite would store it as given, so both backends refuse them here alike.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ContentItem:
    """One item to register: the platform's id, its URL and its signals."""

    content_id: str
    url: str | None
    signals: Signals


def check_content_id(content_id: object, where: str = "content_id") -> str:
    """`content_id` if it is a usable id (1-255 characters), else InvalidSignalError."""
    if not isinstance(content_id, str) or not content_id or len(content_id) > MAX_CONTENT_ID:
        raise InvalidSignalError("content_id must have 1-255 characters", field=where)
    if CONTROL_CHARACTERS.search(content_id):
        raise InvalidSignalError("content_id must not contain control characters", field=where)
    return content_id


def check_url(url: object, where: str = "url") -> str | None:
    """`url` if absent or a plausible http(s) URL of at most 2048 characters."""
    if url is None:
        return None
    if not isinstance(url, str) or len(url) > MAX_URL or not url.strip():
        raise InvalidSignalError("url must have 1-2048 characters", field=where)
    url = url.strip()
    if CONTROL_CHARACTERS.search(url):
        raise InvalidSignalError("url must not contain control characters", field=where)
    return url


SignalValue = tuple[str, str, int | None, float | None]  # type, value, quality, t


def signal_values(signals: Signals) -> list[SignalValue]:
    """The registry rows of `signals`, as (signal_type, value, quality, t)."""
    rows: list[SignalValue] = [
        (PDQ if h.orientation == 0 else PDQ_DIHEDRAL, h.hash, h.quality, None)
        for h in signals.pdq
        if not h.weak  # a weak view serves its own check only: sweeps use the others
    ]
    rows += [(VIDEO_PDQ, h.hash, h.quality, h.t) for h in signals.frames]
    for signal_type, value in ((MD5, signals.md5), (SHA256, signals.sha256)):
        if value:
            rows.append((signal_type, value, None, None))
    return rows


def same_signals(a: Sequence[SignalValue], b: Sequence[SignalValue]) -> bool:
    """Whether two sets of registry rows hold the same signals (order aside)."""
    return sorted(a, key=repr) == sorted(b, key=repr)


def signal_rows(content_pk: int, signals: Signals) -> list[ContentSignal]:
    """`signal_values` as new rows of `content_pk`."""
    return [
        ContentSignal(content_pk=content_pk, signal_type=st, value=v, quality=q, t=t)
        for st, v, q, t in signal_values(signals)
    ]


def signal_key(row: ContentSignal) -> SignalValue:
    return (row.signal_type, row.value, row.quality, row.t)


def get_content(session: Session, content_id: str) -> Content | None:
    """The registered content with the platform's id `content_id`, if any."""
    return session.scalar(select(Content).where(Content.content_id == content_id))


def upsert_content(
    session: Session, content_id: str, *, url: str | None, signals: Signals
) -> Content:
    """Record that `content_id` exists with these signals (replacing older ones if they differ)."""
    now = utcnow()
    content = get_content(session, content_id)
    if content is None:
        try:
            with session.begin_nested():
                content = Content(
                    content_id=content_id,
                    url=url,
                    kind=signals.kind,
                    state=ContentState.LIVE,
                    first_seen_at=now,
                    last_seen_at=now,
                )
                session.add(content)
        except IntegrityError:  # registered concurrently by another request
            content = get_content(session, content_id)
            assert content is not None
    content.last_seen_at = now
    content.forgotten_at = None
    if url is not None:
        content.url = url
    if not signals.empty:
        content.kind = signals.kind
        new_rows = signal_rows(content.id, signals)
        old_rows = list(
            session.scalars(select(ContentSignal).where(ContentSignal.content_pk == content.id))
        )
        if not same_signals(list(map(signal_key, old_rows)), list(map(signal_key, new_rows))):
            if old_rows:
                session.execute(delete(ContentSignal).where(ContentSignal.content_pk == content.id))
            session.add_all(new_rows)
    session.flush()
    return content


def register_contents(session: Session, items: Sequence[ContentItem]) -> list[Content]:
    """Upsert many items (backfill)."""
    return [upsert_content(session, i.content_id, url=i.url, signals=i.signals) for i in items]


def forget_content(session: Session, content_id: str) -> Content:
    """Drop an item's URL and signals (it was deleted on the platform); keeps the id for history."""
    content = get_content(session, check_content_id(content_id))
    if content is None or content.forgotten_at is not None:
        raise ContentNotFoundError(f"no content {content_id!r} is registered", field="content_id")
    session.execute(delete(ContentSignal).where(ContentSignal.content_pk == content.id))
    content.forgotten_at = utcnow()
    content.url = None
    session.flush()
    return content


def signals_of(session: Session, content_pk: int) -> Signals:
    """The stored signals of one content item."""
    rows = list(
        session.scalars(
            select(ContentSignal)
            .where(ContentSignal.content_pk == content_pk)
            .order_by(ContentSignal.id)
        )
    )
    pdq = tuple(
        PdqHash(r.value, r.quality, None, 0 if r.signal_type == PDQ else 1)
        for r in rows
        if r.signal_type in (PDQ, PDQ_DIHEDRAL)
    )
    frames = tuple(PdqHash(r.value, r.quality, r.t) for r in rows if r.signal_type == VIDEO_PDQ)
    md5 = next((r.value for r in rows if r.signal_type == MD5), None)
    sha256 = next((r.value for r in rows if r.signal_type == SHA256), None)
    return Signals(pdq=pdq, frames=frames, md5=md5, sha256=sha256)
