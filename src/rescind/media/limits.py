"""Resource limits applied to every input before and while it is decoded."""

from __future__ import annotations

from dataclasses import dataclass

from rescind.media.errors import MediaTooLarge


@dataclass(frozen=True)
class MediaLimits:
    """Caps that keep memory and time bounded on hostile input.

    Image limits are checked from the header, before any pixel is decoded, so a
    decompression bomb costs a few hundred bytes of reading, not gigabytes of memory.
    """

    max_bytes: int = 2 * 1024**3
    """Largest input accepted, in bytes (images and videos)."""
    max_image_bytes: int = 200 * 1024**2
    """Largest image file accepted, in bytes."""
    max_pixels: int = 120_000_000
    """Largest image area (width x height) decoded; covers 108 MP phone photos."""
    max_dimension: int = 40_000
    """Largest image width or height."""
    ratio_free_pixels: int = 16_000_000
    """Images up to this area are decoded whatever their file size (a few hundred MB and
    well under a second at worst); larger ones must also pass `max_pixels_per_byte`."""
    max_pixels_per_byte: int = 256
    """Above `ratio_free_pixels`, most pixels declared per byte of file. Photos hold 0.5-8
    pixels per byte (PNG ~0.5-2, JPEG ~6-8: scikit-image's samples), scans of text tens;
    only flat synthetic pictures go beyond hundreds, and at 120 MP from 113 KiB (~1,000 per
    byte) such a file costs ~1 GB and 20-30 s of decoding per request: it is refused from
    its header, before any pixel is decoded."""
    max_decode_bytes: int = 4 * 1024**3
    """Most memory hashing one input may need, estimated from its header before anything is
    decoded (`rescind.media.decode_cost`); above it the input is refused. The default covers
    every picture within `max_pixels`; a server sets its own (`media_decode_memory_mb`)."""
    max_video_seconds: float = 6 * 3600.0
    """Longest video (by timestamps) hashed."""
    max_video_frames: int = 1_500_000
    """Most video packets/frames read from one stream."""
    max_frame_pixels: int = 8192 * 8192
    """Largest video frame area."""
    max_samples: int = 25_000
    """Most frame hashes produced for one video."""
    max_wall_seconds: float = 600.0
    """Wall-clock budget for decoding one video."""

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value <= 0:
                raise ValueError(f"MediaLimits.{name} must be positive, got {value!r}")


DEFAULT_LIMITS = MediaLimits()


def within_decode_memory(cost: int, limits: MediaLimits, what: str) -> int:
    """`cost` (estimated peak bytes of hashing one input, a `what`), or MediaTooLarge when
    it is over `limits.max_decode_bytes`."""
    if cost > limits.max_decode_bytes:
        raise MediaTooLarge(
            f"hashing this {what} needs about {cost // 1024**2} MiB of memory; the limit is "
            f"{limits.max_decode_bytes // 1024**2} MiB"
        )
    return cost
