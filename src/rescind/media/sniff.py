"""Recognise a file's format from its first bytes, never from its name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["image", "video"]

# ISO base media file brands that mean a still image (HEIF family) rather than a movie.
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_MOV_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


@dataclass(frozen=True)
class Sniffed:
    """What the magic bytes say: image or video, and the decoder to use."""

    kind: Kind
    format: str  # a Pillow format name for images, an FFmpeg demuxer name for videos


def sniff(head: bytes) -> Sniffed | None:
    """The format of data starting with ``head`` (give at least 32 bytes), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "JPEG")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "PNG")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("image", "GIF")
    if head.startswith(b"BM") and len(head) >= 18:
        return Sniffed("image", "BMP")
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return Sniffed("image", "TIFF")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image", "WEBP")
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return Sniffed("video", "avi")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return Sniffed("video", "matroska")  # also WebM
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return Sniffed("image", "HEIF")
        if brand in (b"avif", b"avis"):
            return Sniffed("image", "AVIF")
        return Sniffed("video", "mov")  # MP4, MOV, M4V, 3GP: one FFmpeg demuxer
    if head[4:8] in _MOV_ATOMS:
        return Sniffed("video", "mov")  # old QuickTime files start without 'ftyp'
    return None
