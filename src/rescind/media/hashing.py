"""One entry point for any supported file: kind by content, digests, PDQ hashes."""

from __future__ import annotations

import hashlib
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rescind.media.errors import MediaError, MediaTooLarge, UnsupportedMedia
from rescind.media.image import hash_image_bytes, image_decode_cost
from rescind.media.limits import DEFAULT_LIMITS, MediaLimits
from rescind.media.pdq import PdqHash
from rescind.media.sniff import sniff
from rescind.media.video import hash_video, video_decode_cost
from rescind.media.vpdq_text import VpdqFrame, format_vpdq, frames_from_hashes

_READ_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class MediaHashes:
    """Everything Rescind matches a file on: its digests and its PDQ hashes."""

    kind: Literal["image", "video"]
    md5: str
    sha256: str
    pdq: list[PdqHash]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``rescind hash`` (without ``path``)."""
        return {
            "kind": self.kind,
            "md5": self.md5,
            "sha256": self.sha256,
            "pdq": [h.to_dict() for h in self.pdq],
        }


def _kind(head: bytes) -> Literal["image", "video"]:
    if not head:
        raise UnsupportedMedia("empty file (0 bytes)")
    sniffed = sniff(head)
    if sniffed is None:
        raise UnsupportedMedia("not a supported image or video format")
    return sniffed.kind


def hash_bytes(
    data: bytes,
    *,
    dihedral: bool = False,
    fps: float = 1.0,
    limits: MediaLimits = DEFAULT_LIMITS,
) -> MediaHashes:
    """Hash an uploaded file held in memory. Raises :class:`MediaError` for bad input.

    Images give one PDQ hash (the image as displayed), plus the 7 other orientations with
    ``dihedral``; videos give one hash per sampled frame at ``fps``.
    """
    if len(data) > limits.max_bytes:
        raise MediaTooLarge(f"file is {len(data)} bytes; the limit is {limits.max_bytes}")
    kind = _kind(data[:64])
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    sha256 = hashlib.sha256(data).hexdigest()
    if kind == "image":
        pdq = hash_image_bytes(data, dihedral=dihedral, limits=limits)
    else:
        pdq = hash_video(data, fps=fps, limits=limits)
    return MediaHashes(kind, md5, sha256, pdq)


def decode_cost(data: bytes, *, reduce: bool = True, limits: MediaLimits = DEFAULT_LIMITS) -> int:
    """Estimated peak bytes of hashing `data` (a picture as :func:`hash_bytes` and the
    server's copy-robust views decode it, reduced when a large JPEG unless not ``reduce``;
    a video's frames), from its header alone: nothing is decoded.

    Raises :class:`MediaError` as hashing would for what the header already shows: not
    media, damaged header, over a size limit, or over ``limits.max_decode_bytes``.
    """
    if len(data) > limits.max_bytes:
        raise MediaTooLarge(f"file is {len(data)} bytes; the limit is {limits.max_bytes}")
    if _kind(data[:64]) == "image":
        return image_decode_cost(data, limits, reduce)
    return video_decode_cost(data, limits)


def hash_path(
    path: str | Path,
    *,
    dihedral: bool = False,
    fps: float = 1.0,
    limits: MediaLimits = DEFAULT_LIMITS,
) -> MediaHashes:
    """Hash a file on disk. Videos are streamed, never read into memory whole.

    Raises :class:`MediaError` for bad input and :class:`OSError` when the file cannot be read.
    """
    path = Path(path)
    info = path.stat()
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(str(path))
    if not stat.S_ISREG(info.st_mode):
        # A pipe would block the read, a device never end (or end at once): neither is a file.
        raise UnsupportedMedia("not a regular file")
    size = info.st_size
    if size > limits.max_bytes:
        raise MediaTooLarge(f"file is {size} bytes; the limit is {limits.max_bytes}")
    with path.open("rb") as fh:
        kind = _kind(fh.read(64))
    if kind == "image":
        if size > limits.max_image_bytes:
            raise MediaTooLarge(f"image is {size} bytes; the limit is {limits.max_image_bytes}")
        return hash_bytes(path.read_bytes(), dihedral=dihedral, fps=fps, limits=limits)
    md5 = hashlib.md5(usedforsecurity=False)
    sha256 = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_READ_CHUNK):
            md5.update(chunk)
            sha256.update(chunk)
    pdq = hash_video(path, fps=fps, limits=limits)
    return MediaHashes(kind, md5.hexdigest(), sha256.hexdigest(), pdq)


def vpdq_path(
    path: str | Path, *, fps: float = 1.0, limits: MediaLimits = DEFAULT_LIMITS
) -> list[VpdqFrame]:
    """A video's frames as vPDQ lines: every sampled frame, none collapsed, as vPDQ writes.

    Raises :class:`UnsupportedMedia` for a picture (vPDQ is a video format), other
    :class:`MediaError` for bad input and :class:`OSError` when the file cannot be read.
    """
    path = Path(path)
    info = path.stat()
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(str(path))
    if not stat.S_ISREG(info.st_mode):
        raise UnsupportedMedia("not a regular file")
    if info.st_size > limits.max_bytes:
        raise MediaTooLarge(f"file is {info.st_size} bytes; the limit is {limits.max_bytes}")
    with path.open("rb") as fh:
        if _kind(fh.read(64)) != "video":
            raise UnsupportedMedia("vPDQ lines are for videos; this file is a picture")
    return frames_from_hashes(hash_video(path, fps=fps, limits=limits, collapse=False), fps)


def _describe(exc: Exception) -> str:
    if isinstance(exc, MediaError):
        return str(exc)
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, OSError):
        return f"cannot read file: {exc.strerror or exc}"
    raise exc


def hash_file(
    path: str | Path,
    *,
    dihedral: bool = False,
    fps: float = 1.0,
    limits: MediaLimits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """The ``rescind hash`` JSON object for one file; never raises for bad media.

    ``{"path", "kind", "md5", "sha256", "pdq": [...]}`` on success, ``{"path", "error"}``
    (plus whatever was known, e.g. ``kind``) when the file cannot be hashed.
    """
    out: dict[str, Any] = {"path": str(path)}
    try:
        out.update(hash_path(path, dihedral=dihedral, fps=fps, limits=limits).to_dict())
    except (MediaError, OSError) as exc:
        out["error"] = _describe(exc)
    return out


def vpdq_file(
    path: str | Path, *, fps: float = 1.0, limits: MediaLimits = DEFAULT_LIMITS
) -> tuple[str, str | None]:
    """``rescind hash --format vpdq`` for one file: (vPDQ text, None) or ("", error)."""
    try:
        return format_vpdq(vpdq_path(path, fps=fps, limits=limits)), None
    except (MediaError, OSError) as exc:
        return "", _describe(exc)


def iter_media_paths(paths: list[Path]) -> list[Path]:
    """The files to hash: each path as given, directories walked recursively in sorted order.

    Paths that do not exist are kept, so the caller reports them as errors.
    """
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.is_file())
        else:
            out.append(path)
    return out
