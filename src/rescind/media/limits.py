"""Resource limits applied to every input before and while it is decoded."""

from __future__ import annotations

from dataclasses import dataclass


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
