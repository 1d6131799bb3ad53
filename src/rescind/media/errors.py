"""Typed errors for media a user supplied: each says what is wrong with that one input."""

from __future__ import annotations


class MediaError(Exception):
    """The input cannot be hashed. The message is safe to show to the person who supplied it."""


class UnsupportedMedia(MediaError):
    """The bytes are not an image or video format that Rescind decodes."""


class CorruptMedia(MediaError):
    """The format is recognised but the data is damaged, truncated or inconsistent."""


class MediaTooLarge(MediaError):
    """The input exceeds a configured limit (bytes, pixels, dimensions, duration, frames)."""


class MediaTimeout(MediaTooLarge):
    """Decoding took longer than the configured wall-clock limit."""


class NoVideoStream(MediaError):
    """A container (MP4, MKV, ...) that holds no video stream, e.g. audio only."""
