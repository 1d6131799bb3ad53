"""The signals (hashes) of a piece of content, validated and normalised once at the edge.

PDQ hashes are 64 lowercase hex characters (python-threatexchange's convention), MD5 32 and
SHA-256 64. A PDQ hash may carry its quality (0-100) and, for video frames, its time `t`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rescind.media import VpdqFormatError, parse_vpdq
from rescind.platform.errors import InvalidSignalError

_HEX = re.compile(r"^[0-9a-f]+$")

PDQ = "pdq"
PDQ_DIHEDRAL = "pdq_dihedral"  # one of the 7 other orientations of an image we hashed
PDQ_CUT = "pdq_cut"  # a crop or slight tilt of a banked image (bank entries only)
VIDEO_PDQ = "video_pdq"
MD5 = "md5"
SHA256 = "sha256"
PDQ_TYPES = (PDQ, PDQ_DIHEDRAL, VIDEO_PDQ)
EXACT_TYPES = (MD5, SHA256)
MAX_PDQ = 64
WEAK_VIEW_RADIUS = 16  # rescind.media.robust.WEAK_VIEW_THRESHOLD
SPARSE_CUT_RADIUS = 15  # rescind.media.robust.SPARSE_CUT_THRESHOLD
MAX_FRAMES = 36_000  # ten hours at one frame per second


@dataclass(frozen=True)
class PdqHash:
    """One PDQ hash: hex, quality when known, time for a video frame, orientation 0-7;
    whether it is of a cut (cropped or tilted) view of a banked image; and whether it is a
    weak extra view (a trimmed, cropped or tilted view with quality below 50), which matches
    only within `WEAK_VIEW_RADIUS` bits and never blocks (see rescind.media.robust);
    whether it is of a smooth upload (a gradient, `rescind.media.pdq.smooth_buffers`),
    which matches as a weak view does but is recorded like any other hash; and, for a
    banked picture's views, the variant's name (`full`, `full/rot90`, `crop_c92`...)."""

    hash: str
    quality: int | None = None
    t: float | None = None
    orientation: int = 0
    cut: bool = False
    weak: bool = False
    variant: str | None = None
    smooth: bool = False
    # Of a sparse upload (text on a flat background, rescind.media.robust_sparse): its weak
    # views never match, its cut views meet a banked picture's cut views within
    # `SPARSE_CUT_RADIUS` only (rescind.media.robust.pair_limits).
    sparse: bool = False
    # A video frame that is plain (a title card, a caption on black or over a gradient, a
    # slide: rescind.media.robust_sparse.plain_share), judged from the pixels when the
    # video was hashed here: a match resting on a few plain moments does not count
    # (rescind.media.video_match.decide).
    plain: bool = False


@dataclass(frozen=True)
class Signals:
    """Everything known about one content item's appearance."""

    pdq: tuple[PdqHash, ...] = ()
    frames: tuple[PdqHash, ...] = ()  # video frame hashes, in time order
    md5: str | None = None
    sha256: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    # The frames' `plain` flags were judged from the pixels (the video was hashed here, or
    # its registry rows kept the flags): False then means not plain, where frames a
    # platform sent are merely not known to be. The registry keeps the flags only then.
    plain_known: bool = False

    @property
    def empty(self) -> bool:
        """True when there is nothing to match on."""
        return not (self.pdq or self.frames or self.md5 or self.sha256)

    @property
    def kind(self) -> str:
        """`video` when frame hashes are present, `image` otherwise."""
        return "video" if self.frames else "image"


def hex_value(value: object, length: int, where: str) -> str:
    """`value` as lowercase hex of exactly `length` characters, or InvalidSignalError."""
    if not isinstance(value, str):
        raise InvalidSignalError(f"expected a hex string of {length} characters", field=where)
    text = value.strip().lower()
    if len(text) != length or not _HEX.match(text):
        raise InvalidSignalError(
            f"expected {length} hexadecimal characters, got {len(text)} characters", field=where
        )
    return text


def _quality(value: object, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise InvalidSignalError("quality must be an integer from 0 to 100", field=where)
    return value


def parse_pdq(value: object, where: str) -> PdqHash:
    """A PDQ hash from `"<64 hex>"` or `{"hash", "quality"?, "t"?}`."""
    if isinstance(value, Mapping):
        t = value.get("t")
        if t is not None and (
            isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t < 0
        ):
            raise InvalidSignalError(
                "t must be a finite, non-negative number of seconds", field=f"{where}.t"
            )
        return PdqHash(
            hex_value(value.get("hash"), 64, f"{where}.hash"),
            _quality(value.get("quality"), f"{where}.quality"),
            None if t is None else float(t),
        )
    return PdqHash(hex_value(value, 64, where))


def _vpdq_frames(text: str, where: str) -> list[object]:
    if text.count("\n") > MAX_FRAMES:
        raise InvalidSignalError(f"at most {MAX_FRAMES} frame hashes", field=where)
    try:
        frames = parse_vpdq(text)
    except VpdqFormatError as exc:
        raise InvalidSignalError(str(exc), field=where) from None
    return [{"hash": f.hash, "quality": f.quality, "t": f.timestamp} for f in frames]


def parse_signals(
    *,
    pdq: Iterable[object] | None = None,
    md5: object = None,
    sha256: object = None,
    video_pdq: Iterable[object] | None = None,
    vpdq: str | None = None,
    prefix: str = "",
) -> Signals:
    """Validate raw API values; field names in errors are prefixed with `prefix`.

    ``vpdq`` is a video's frames as Meta vPDQ's text lines (``frame,quality,hash,timestamp``),
    the other way to send what ``video_pdq`` holds; a body gives one or the other.
    """
    pdq_list = list(pdq or [])
    frame_list = list(video_pdq or [])
    if vpdq is not None:
        if frame_list:
            raise InvalidSignalError(
                "send video frames as video_pdq or as vpdq lines, not both", field=f"{prefix}vpdq"
            )
        frame_list = _vpdq_frames(vpdq, f"{prefix}vpdq")
    if len(pdq_list) > MAX_PDQ:
        raise InvalidSignalError(f"at most {MAX_PDQ} PDQ hashes", field=f"{prefix}pdq")
    if len(frame_list) > MAX_FRAMES:
        raise InvalidSignalError(f"at most {MAX_FRAMES} frame hashes", field=f"{prefix}video_pdq")
    hashes = tuple(parse_pdq(v, f"{prefix}pdq.{i}") for i, v in enumerate(pdq_list))
    frames = tuple(parse_pdq(v, f"{prefix}video_pdq.{i}") for i, v in enumerate(frame_list))
    return Signals(
        pdq=hashes,
        frames=frames,
        md5=None if md5 is None else hex_value(md5, 32, f"{prefix}md5"),
        sha256=None if sha256 is None else hex_value(sha256, 64, f"{prefix}sha256"),
    )
