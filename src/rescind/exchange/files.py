"""File formats of other tools, read into and written from exchange entries.

- `hma`: the bank content CSV HMA's sample data and seeding use: `hash,id,timestamp,tags`
  (no header; tags separated by spaces; PDQ only, or MD5 when the hash has 32 digits).
- `pytx`: python-threatexchange's local file exchange: `<signal type> <hash>` per line
  (`pdq`, `video_md5`, `video_sha256`).
- `vpdq`: one video's frame hashes as vPDQ writes them: `frame,quality,hash,timestamp`.

These formats carry no status, opinion or provenance: every line is an active, positive entry
whose identity is a digest of its type and value, so importing the same file twice adds nothing.
Nor can they say that a hash is a smooth picture's (a gradient, matched within 16 bits and never
blocking): such an entry is left out of them, as a withdrawn one is.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from rescind.exchange.errors import FormatError
from rescind.exchange.format import ACTIVE, HEX_LENGTHS, ExchangeEntry, Provenance, read_lines
from rescind.platform.errors import InvalidSignalError
from rescind.platform.signals import MD5, PDQ, PDQ_CUT, SHA256, VIDEO_PDQ, hex_value

FORMATS = ("rescind", "hma", "pytx", "vpdq")
FILE_ORIGIN = "file"
_PYTX_NAMES = {"pdq": PDQ, "video_md5": MD5, "video_sha256": SHA256}
_PYTX_OF = {PDQ: "pdq", PDQ_CUT: "pdq", MD5: "video_md5", SHA256: "video_sha256"}


def file_entry(
    signal_type: str,
    value: str,
    *,
    quality: int | None = None,
    t: float | None = None,
    group: str | None = None,
    key: str | None = None,
) -> ExchangeEntry:
    """An entry read from a file with no identities of its own: its id is a digest of `key`
    (by default its type and value)."""
    digest = hashlib.sha256((key or f"{signal_type}:{value}").encode()).hexdigest()[:32]
    return ExchangeEntry(
        id=digest,
        signal_type=signal_type,
        value=value,
        source=Provenance(FILE_ORIGIN),
        quality=quality,
        t=t,
        group=group,
    )


def _hex(value: str, signal_type: str, number: int) -> str:
    try:
        return hex_value(value, HEX_LENGTHS[signal_type], "value")
    except InvalidSignalError as exc:
        raise FormatError(number, exc.detail) from None


def read_hma(lines: Iterable[str]) -> Iterator[ExchangeEntry]:
    """Entries of an HMA bank content CSV."""
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        fields = text.rstrip("\r\n").split(",")
        if len(fields) > 4:
            raise FormatError(number, "expected hash,id,timestamp,tags")
        value = fields[0].strip()
        signal_type = MD5 if len(value) == 32 else PDQ
        yield file_entry(signal_type, _hex(value, signal_type, number))


def read_pytx(lines: Iterable[str]) -> Iterator[ExchangeEntry]:
    """Entries of a python-threatexchange signal file."""
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        name, _, value = text.strip().partition(" ")
        if name not in _PYTX_NAMES:
            raise FormatError(number, f"unknown signal type (known: {', '.join(_PYTX_NAMES)})")
        signal_type = _PYTX_NAMES[name]
        yield file_entry(signal_type, _hex(value.strip(), signal_type, number))


def read_vpdq(lines: Iterable[str]) -> Iterator[ExchangeEntry]:
    """The frames of one video from a vPDQ file; they share one group."""
    frames: list[tuple[float, int, str]] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        fields = text.strip().split(",")
        if len(fields) != 4:
            raise FormatError(number, "expected frame,quality,hash,timestamp")
        try:
            quality, t = int(fields[1]), float(fields[3])
            int(fields[0])
        except ValueError:
            raise FormatError(
                number, "frame and quality must be integers, timestamp a number"
            ) from None
        if not 0 <= quality <= 100 or not math.isfinite(t) or t < 0:
            raise FormatError(number, "quality must be 0-100 and the timestamp >= 0")
        frames.append((t, quality, _hex(fields[2], VIDEO_PDQ, number)))
    group = hashlib.sha256("".join(h for _, _, h in frames).encode()).hexdigest()[:32]
    for t, quality, value in frames:
        # A frame's identity includes its time: a still video repeats one hash.
        yield file_entry(
            VIDEO_PDQ, value, quality=quality, t=t, group=group, key=f"{group}:{t}:{value}"
        )


READERS: dict[str, Callable[[Iterable[str]], Iterator[ExchangeEntry]]] = {
    "rescind": read_lines,
    "hma": read_hma,
    "pytx": read_pytx,
    "vpdq": read_vpdq,
}


def _stamp(at: datetime | None) -> str:
    return (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def write_line(entry: ExchangeEntry, fmt: str, frame: int = 0) -> str | None:
    """`entry` as one line of `fmt`, or None when the format cannot carry it (another signal
    type, a withdrawn entry in a format without status, a smooth picture's entry in a format
    that cannot say so)."""
    if fmt == "rescind":
        return entry.to_line()
    if entry.status != ACTIVE or entry.smooth:
        return None
    if fmt == "hma":
        if entry.signal_type not in (PDQ, PDQ_CUT, MD5):
            return None
        return f"{entry.value},{entry.id},{_stamp(entry.updated_at)},rescind\n"
    if fmt == "pytx":
        name = _PYTX_OF.get(entry.signal_type)
        return None if name is None else f"{name} {entry.value}\n"
    if fmt == "vpdq":
        if entry.signal_type != VIDEO_PDQ:
            return None
        return f"{frame},{entry.quality or 0},{entry.value},{entry.t or 0.0:.3f}\n"
    raise ValueError(f"unknown format {fmt!r}")
