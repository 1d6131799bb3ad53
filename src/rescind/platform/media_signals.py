"""Signals of uploaded media, hashed server-side: MD5, SHA-256 and PDQ (all 8 orientations
for an image, so mirrored and rotated copies match; one hash per sampled frame for a video)."""

from __future__ import annotations

import hashlib

from rescind.media.errors import MediaError
from rescind.media.limits import MediaLimits
from rescind.platform.signals import PdqHash, Signals

__all__ = ["MediaError", "media_limits", "signals_from_media"]


def media_limits(max_bytes: int) -> MediaLimits:
    """Decoding limits for uploads of at most `max_bytes` (a check must stay interactive)."""
    return MediaLimits(
        max_bytes=max_bytes,
        max_image_bytes=max_bytes,
        max_video_seconds=3 * 3600.0,
        max_wall_seconds=120.0,
    )


def signals_from_media(data: bytes, limits: MediaLimits) -> Signals:
    """Hash `data` (raises MediaError on anything that is not decodable media within limits)."""
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    sha256 = hashlib.sha256(data).hexdigest()
    from rescind.media.image import hash_image_bytes

    hashes = hash_image_bytes(data, dihedral=True, limits=limits)
    pdq = tuple(PdqHash(h.hash, h.quality, None, i) for i, h in enumerate(hashes))
    return Signals(pdq=pdq, md5=md5, sha256=sha256)
