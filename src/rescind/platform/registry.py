"""The registry of platform content: what exists on the platform, where, and its signals.

Checks and backfill record content here, so a later removal request can find every copy; the
one write path is `registry_writer.write_batch`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rescind.media.robust import SHIFT_CROPS, UNTRIMMED_VIEWS
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
from rescind.security.text import unsafe_in_identifier
from rescind.store.columns import utcnow
from rescind.store.models import Content, ContentSignal

MAX_CONTENT_ID = 255
MAX_URL = 2048
URL_SCHEMES = ("http", "https")
# The upload's shifted crops (rescind.media.robust.SHIFT_CROPS) and the cut views of its
# untrimmed picture (robust.UNTRIMMED_VIEWS): for its own check only.
_CHECK_ONLY = frozenset(v.name for v in SHIFT_CROPS) | UNTRIMMED_VIEWS


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
    if unsafe_in_identifier(content_id):
        raise InvalidSignalError(
            "content_id must not contain control or invisible formatting characters", field=where
        )
    return content_id


def check_url(url: object, where: str = "url") -> str | None:
    """`url` if absent or a plausible http(s) URL of at most 2048 characters: a `javascript:`
    or `file:` URL would reach reviewers' screens and the platform's webhooks as a link."""
    if url is None:
        return None
    if not isinstance(url, str) or len(url) > MAX_URL or not url.strip():
        raise InvalidSignalError("url must have 1-2048 characters", field=where)
    url = url.strip()
    if unsafe_in_identifier(url):
        raise InvalidSignalError(
            "url must not contain control or invisible formatting characters", field=where
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed "[" in the host
        parts, host = None, None
    if parts is None or parts.scheme.lower() not in URL_SCHEMES or not host:
        raise InvalidSignalError("url must be an http:// or https:// URL with a host", field=where)
    return url


class SignalValue(NamedTuple):
    """One registry row's values, named and ordered as `content_signals`' columns."""

    signal_type: str
    value: str
    quality: int | None
    t: float | None  # a video frame's time (seconds)
    variant: str | None  # a picture view's name; None for a hash a platform sent
    # Whether the upload a named view is of is sparse; None without a view name.
    sparse: bool | None
    # Whether a video frame is plain; None for frames a platform sent and for other hashes.
    plain: bool | None


def _sparse(h: PdqHash) -> bool | None:
    """Whether the upload a view is of is sparse (text on a flat background), for the views
    `signals_from_media` named (it judged the picture for them); None for a hash without a
    name (a hash a platform sent; an upload's plain hashes, which the matcher holds to no
    sparse rule either)."""
    return bool(h.sparse) if h.variant else None


def signal_values(signals: Signals) -> list[SignalValue]:
    """The registry rows of `signals`."""
    rows = [
        SignalValue(
            PDQ if h.orientation == 0 else PDQ_DIHEDRAL,
            h.hash,
            h.quality,
            None,
            h.variant or None,
            _sparse(h),
            None,
        )
        for h in signals.pdq
        # A weak view, a shifted crop and a cut of the untrimmed picture serve their own
        # check only: sweeps use the others (they would add 24 and 31 rows to each item's
        # 39 at most).
        if not h.weak and h.variant not in _CHECK_ONLY
    ]
    # A frame's plain flag when it was judged from the pixels (`Signals.plain_known`): a
    # removal banks it from these rows as a file's frames are banked.
    rows += [
        SignalValue(
            VIDEO_PDQ, h.hash, h.quality, h.t, None, None, h.plain if signals.plain_known else None
        )
        for h in signals.frames
    ]
    for signal_type, value in ((MD5, signals.md5), (SHA256, signals.sha256)):
        if value:
            rows.append(SignalValue(signal_type, value, None, None, None, None, None))
    return rows


def same_signals(a: Sequence[SignalValue], b: Sequence[SignalValue]) -> bool:
    """Whether two sets of registry rows hold the same signals (order aside)."""
    return sorted(a, key=repr) == sorted(b, key=repr)


def signal_rows(content_pk: int, signals: Signals) -> list[ContentSignal]:
    """`signal_values` as new rows of `content_pk`."""
    return [
        ContentSignal(content_pk=content_pk, **value._asdict()) for value in signal_values(signals)
    ]


def signal_key(row: ContentSignal) -> SignalValue:
    return SignalValue(
        row.signal_type, row.value, row.quality, row.t, row.variant, row.sparse, row.plain
    )


def get_content(session: Session, content_id: str) -> Content | None:
    """The registered content with the platform's id `content_id`, if any."""
    return session.scalar(select(Content).where(Content.content_id == content_id))


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
    """The stored signals of one content item; its video frames keep their plain flags when
    the rows have them (a video checked as a file since migration 0021), so a removal banks
    them as a file's frames are banked."""
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
    frame_rows = [r for r in rows if r.signal_type == VIDEO_PDQ]
    frames = tuple(PdqHash(r.value, r.quality, r.t, plain=bool(r.plain)) for r in frame_rows)
    known = bool(frame_rows) and all(r.plain is not None for r in frame_rows)
    md5 = next((r.value for r in rows if r.signal_type == MD5), None)
    sha256 = next((r.value for r in rows if r.signal_type == SHA256), None)
    return Signals(pdq=pdq, frames=frames, md5=md5, sha256=sha256, plain_known=known)
