"""Signals of uploaded media, hashed server-side: MD5, SHA-256 and PDQ (all 8 orientations
for an image, so mirrored and rotated copies match; one hash per sampled frame for a video)."""

from __future__ import annotations

from rescind.media import MediaError, MediaLimits, hash_bytes
from rescind.platform.signals import MAX_FRAMES, PdqHash, Signals

__all__ = ["MediaError", "media_limits", "signals_from_media"]


def media_limits(max_bytes: int) -> MediaLimits:
    """Decoding limits for uploads of at most `max_bytes` (a check must stay interactive)."""
    return MediaLimits(
        max_bytes=max_bytes,
        max_image_bytes=max_bytes,
        max_video_seconds=3 * 3600.0,
        max_samples=MAX_FRAMES,
        max_wall_seconds=120.0,
    )


def signals_from_media(data: bytes, limits: MediaLimits) -> Signals:
    """Hash `data` (raises MediaError on anything that is not decodable media within limits)."""
    hashes = hash_bytes(data, dihedral=True, limits=limits)
    if hashes.kind == "video":
        frames = tuple(PdqHash(h.hash, h.quality, h.t) for h in hashes.pdq)
        return Signals(frames=frames, md5=hashes.md5, sha256=hashes.sha256)
    pdq = tuple(PdqHash(h.hash, h.quality, None, i) for i, h in enumerate(hashes.pdq))
    return Signals(pdq=pdq, md5=hashes.md5, sha256=hashes.sha256)
