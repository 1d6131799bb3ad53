"""Media hashing: safe decoding with limits, PDQ (+ 7 dihedral), MD5/SHA-256, video frames,
and vPDQ's per-frame text format.

Pure library: no web, database or CLI imports. Every error a user's file can cause is a
:class:`MediaError` subclass with a message that is safe to show.
"""

from __future__ import annotations

from rescind.media.errors import (
    CorruptMedia,
    MediaError,
    MediaTimeout,
    MediaTooLarge,
    NoVideoStream,
    UnsupportedMedia,
)
from rescind.media.hashing import (
    MediaHashes,
    decode_cost,
    hash_bytes,
    hash_file,
    hash_path,
    iter_media_paths,
    vpdq_file,
    vpdq_path,
)
from rescind.media.image import hash_image, hash_image_bytes
from rescind.media.limits import DEFAULT_LIMITS, MediaLimits
from rescind.media.pdq import (
    LOW_QUALITY,
    ORIENTATIONS,
    PdqHash,
    hamming_distance,
    hash_luma,
    pdq_array_to_hex,
    pdq_bits_to_hex,
    pdq_hex_to_array,
)
from rescind.media.video import hash_video
from rescind.media.vpdq_text import (
    VpdqFormatError,
    VpdqFrame,
    format_vpdq,
    format_vpdq_line,
    frames_from_hashes,
    parse_vpdq,
    parse_vpdq_line,
)
from rescind.media.warmup import warm_up

__all__ = [
    "DEFAULT_LIMITS",
    "LOW_QUALITY",
    "ORIENTATIONS",
    "CorruptMedia",
    "MediaError",
    "MediaHashes",
    "MediaLimits",
    "MediaTimeout",
    "MediaTooLarge",
    "NoVideoStream",
    "PdqHash",
    "UnsupportedMedia",
    "VpdqFormatError",
    "VpdqFrame",
    "decode_cost",
    "format_vpdq",
    "format_vpdq_line",
    "frames_from_hashes",
    "hamming_distance",
    "hash_bytes",
    "hash_file",
    "hash_image",
    "hash_image_bytes",
    "hash_luma",
    "hash_path",
    "hash_video",
    "iter_media_paths",
    "parse_vpdq",
    "parse_vpdq_line",
    "pdq_array_to_hex",
    "pdq_bits_to_hex",
    "pdq_hex_to_array",
    "vpdq_file",
    "vpdq_path",
    "warm_up",
]
