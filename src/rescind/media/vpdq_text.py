"""Meta vPDQ's per-frame text format: one line per frame, written and parsed strictly.

vPDQ (facebook/ThreatExchange ``vpdq/cpp/io/vpdqio.cpp``) stores a video's hash as lines
``frame_number,quality,hash_hex,timestamp_seconds``: the frame's index in the video, its
PDQ quality (0-100), its PDQ hash as 64 hex digits (pdqhash's order, most significant
first, as everywhere in Rescind) and its time with 3 decimals, e.g.
``12,100,e271017837246aac...055c,12.000``.

Meta's loader takes the first four comma-separated fields of any line and stops on the
first bad number; here every line must be exactly right, and an error names the line and
the field, because a hash file comes from outside and a wrong hash silently misses.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from rescind.media.errors import MediaError
from rescind.media.pdq import PdqHash

TIMESTAMP_DECIMALS = 3  # vpdqio's TIMESTAMP_OUTPUT_PRECISION
_INTEGER = re.compile(r"[0-9]+")
_HEX = re.compile(r"[0-9a-fA-F]{64}")
# What std::stod reads from a vPDQ file, without sign, NaN or infinity (checked apart).
_DECIMAL = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class VpdqFormatError(MediaError, ValueError):
    """A vPDQ text line that is not ``frame_number,quality,hash_hex,timestamp``."""


@dataclass(frozen=True, slots=True)
class VpdqFrame:
    """One frame of a vPDQ hash: its index, PDQ quality, 64-hex PDQ hash, time in seconds."""

    frame_number: int
    quality: int
    hash: str
    timestamp: float


def format_vpdq_line(frame: VpdqFrame) -> str:
    """The frame as one vPDQ line, without the newline. Raises :class:`VpdqFormatError` for
    a frame that could not be read back (bad hash, quality, index or timestamp)."""
    _check(frame.frame_number, frame.quality, frame.hash, frame.timestamp, where="frame")
    seconds = f"{frame.timestamp:.{TIMESTAMP_DECIMALS}f}"
    return f"{frame.frame_number},{frame.quality},{frame.hash.lower()},{seconds}"


def format_vpdq(frames: Iterable[VpdqFrame]) -> str:
    """vPDQ's text for a video: one line per frame, each ending in a newline."""
    return "".join(format_vpdq_line(frame) + "\n" for frame in frames)


def frames_from_hashes(hashes: Iterable[PdqHash], fps: float) -> list[VpdqFrame]:
    """vPDQ frames for a video's sampled frame hashes (each with its time ``t``).

    vPDQ numbers a line by the frame's index in the decoded stream; Rescind samples by time
    and does not keep that index, so the number written is the sample's index at ``fps``
    (``round(t * fps)``): 0, 1, 2... at one frame a second. vPDQ's matching reads only the
    hashes and qualities, so the number changes no match. A run collapsed to one hash with
    ``t_end`` is written out again as one line per sampled time, as vPDQ writes it.
    """
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    out: list[VpdqFrame] = []
    for h in hashes:
        if h.t is None:
            raise VpdqFormatError("a vPDQ line needs the frame's time; this hash has none")
        first = round(h.t * fps)
        last = round(h.t_end * fps) if h.t_end is not None else first
        for number in range(first, last + 1):
            t = h.t if number == first else number / fps
            out.append(VpdqFrame(number, h.quality, h.hash, t))
    return out


def parse_vpdq_line(line: str, line_number: int | None = None) -> VpdqFrame:
    """One vPDQ line (a trailing newline or CR is allowed) as a :class:`VpdqFrame`.

    Raises :class:`VpdqFormatError` saying what is wrong: the field count, a frame number
    or quality that is not a plain integer, a quality outside 0-100, a hash that is not 64
    hex digits, a timestamp that is not a finite, non-negative number of seconds.
    """
    where = f"line {line_number}" if line_number is not None else "vPDQ line"
    fields = line.rstrip("\r\n").split(",")
    if len(fields) != 4:
        raise VpdqFormatError(
            f"{where}: expected 4 fields frame_number,quality,hash,timestamp; got {len(fields)}"
        )
    number_text, quality_text, hash_text, time_text = fields
    if not _INTEGER.fullmatch(number_text):
        raise VpdqFormatError(f"{where}: frame number must be an integer >= 0, got {number_text!r}")
    if not _INTEGER.fullmatch(quality_text):
        raise VpdqFormatError(f"{where}: quality must be an integer 0-100, got {quality_text!r}")
    if not _HEX.fullmatch(hash_text):
        raise VpdqFormatError(f"{where}: hash must be 64 hex digits, got {hash_text!r}")
    if time_text.startswith("-"):
        raise VpdqFormatError(f"{where}: timestamp must not be negative, got {time_text!r}")
    if not _DECIMAL.fullmatch(time_text):
        raise VpdqFormatError(
            f"{where}: timestamp must be a finite number of seconds, got {time_text!r}"
        )
    frame = VpdqFrame(int(number_text), int(quality_text), hash_text.lower(), float(time_text))
    _check(frame.frame_number, frame.quality, frame.hash, frame.timestamp, where=where)
    return frame


def parse_vpdq(text: str) -> list[VpdqFrame]:
    """Every frame of a vPDQ text, in file order; ``""`` gives no frames.

    A blank line is an error, as any other malformed line (see :func:`parse_vpdq_line`);
    the message gives its 1-based line number. A final newline is optional.
    """
    return [parse_vpdq_line(line, i) for i, line in enumerate(text.splitlines(), start=1)]


def _check(frame_number: int, quality: int, hash_hex: str, timestamp: float, where: str) -> None:
    # What both directions require; parsing has already checked the syntax of each field.
    if frame_number < 0:
        raise VpdqFormatError(f"{where}: frame number must be >= 0, got {frame_number}")
    if not 0 <= quality <= 100:
        raise VpdqFormatError(f"{where}: quality must be 0-100, got {quality}")
    if not _HEX.fullmatch(hash_hex):
        raise VpdqFormatError(f"{where}: hash must be 64 hex digits, got {hash_hex!r}")
    if not math.isfinite(timestamp):
        raise VpdqFormatError(f"{where}: timestamp must be finite, got {timestamp}")
    if timestamp < 0:
        raise VpdqFormatError(f"{where}: timestamp must not be negative, got {timestamp}")
