"""Safe image decoding (size checked before pixels are touched) and PDQ hashing.

A picture decoded at full size gives pdqhash's hash bit for bit (its float luma of the
RGB pixels, EXIF orientation applied); a large JPEG is decoded at a reduced scale for speed
(:data:`MIN_REDUCED_SIDE`) and lands within a bit or two of it.
"""

from __future__ import annotations

import functools
import io
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from rescind.media.errors import CorruptMedia, MediaError, MediaTooLarge, UnsupportedMedia
from rescind.media.limits import DEFAULT_LIMITS, MediaLimits, within_decode_memory
from rescind.media.pdq import PdqHash, hash_luma, pdq_luma
from rescind.media.sniff import sniff

# JPEGs are decoded at 1/2, 1/4 or 1/8 scale (libjpeg DCT scaling) while the short side
# stays at least this long: 8+ decoded pixels per PDQ tent window keeps the hash within a
# few bits of the full-size reference (see docs/benchmarks.md, "Hashing").
MIN_REDUCED_SIDE = 512

# Errors Pillow and its plugins raise on damaged data; all mean "corrupt" to the user.
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    struct.error,
    zlib.error,
    RuntimeError,
    AttributeError,
)

# For each EXIF orientation: do the displayed image's (rows, columns) run backwards
# relative to the stored pixel grid? Needed to align the JPEG block grid after rotating.
_REVERSED_AXES = {
    1: (False, False),
    2: (False, True),
    3: (True, True),
    4: (True, False),
    5: (False, False),
    6: (False, True),
    7: (True, True),
    8: (True, False),
}


@functools.cache
def _register_heif() -> None:
    """Teach Pillow HEIC/HEIF, once, on first use rather than at import time."""
    from pillow_heif import register_heif_opener

    register_heif_opener()


@dataclass(frozen=True)
class DecodedLuma:
    """Luma of an image as displayed (EXIF applied), possibly at reduced scale."""

    luma: npt.NDArray[Any]
    full_size: tuple[int, int]  # (height, width) as displayed, at full scale
    scale: int
    reverse: tuple[bool, bool]


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation (1-8); 1 when absent or unreadable (then we hash as stored)."""
    try:
        value = image.getexif().get(0x0112, 1)
    except _DECODE_ERRORS:
        return 1
    return value if isinstance(value, int) and value in _REVERSED_AXES else 1


def _to_luma(image: Image.Image) -> npt.NDArray[np.float32]:
    """2-D float32 luma (0-255), pdqhash's for every 8-bit picture: what
    ``pdqhash.compute(np.asarray(image.convert("RGB")))`` works on, never rounded to 8 bits."""
    mode = image.mode
    if mode == "L":
        return pdq_luma(np.asarray(image))
    if mode.startswith("I") or mode == "F":
        # 16/32-bit greyscale: Pillow's convert("L") and convert("RGB") clip rather than
        # scale; we scale 16-bit to 0-255 and keep the fraction.
        wide = np.asarray(image).astype(np.float32)
        if mode != "F":
            wide = wide / np.float32(257.0)
        return np.clip(wide, 0, 255)
    if mode in ("RGBA", "RGBX"):
        return pdq_luma(np.asarray(image))  # alpha ignored, as convert("RGB") drops it
    if mode != "RGB":
        image = image.convert("RGB")  # palette, 1-bit, LA, CMYK, YCbCr, LAB, HSV
    return pdq_luma(np.asarray(image))


def _open_checked(data: bytes, limits: MediaLimits) -> Image.Image:
    """Open lazily (header only) and check the size before any pixel is decoded."""
    if not data:
        raise UnsupportedMedia("empty file (0 bytes)")
    if len(data) > limits.max_image_bytes:
        raise MediaTooLarge(f"image is {len(data)} bytes; the limit is {limits.max_image_bytes}")
    sniffed = sniff(data[:64])
    if sniffed is None or sniffed.kind != "image":
        raise UnsupportedMedia(
            "not a supported image format (JPEG, PNG, WebP, GIF, BMP, TIFF, HEIC, AVIF)"
        )
    if sniffed.format == "HEIF":
        _register_heif()
    try:
        image = Image.open(io.BytesIO(data), formats=[sniffed.format])
    except Image.DecompressionBombError as exc:
        raise MediaTooLarge(f"image is too large to decode: {exc}") from None
    except UnidentifiedImageError:
        raise UnsupportedMedia(
            f"cannot decode this {sniffed.format} file: damaged, or a variant that is not "
            "supported (e.g. floating-point TIFF)"
        ) from None
    except _DECODE_ERRORS as exc:
        raise CorruptMedia(f"cannot read {sniffed.format} header: {exc}") from None
    width, height = image.size
    if width <= 0 or height <= 0:
        raise CorruptMedia(f"{sniffed.format} header gives an empty size {width}x{height}")
    if max(width, height) > limits.max_dimension:
        raise MediaTooLarge(
            f"image is {width}x{height}; the largest side allowed is {limits.max_dimension}"
        )
    if width * height > limits.max_pixels:
        raise MediaTooLarge(
            f"image is {width}x{height} = {width * height} pixels; the limit is {limits.max_pixels}"
        )
    if (
        width * height > limits.ratio_free_pixels
        and width * height > len(data) * limits.max_pixels_per_byte
    ):
        raise MediaTooLarge(
            f"image declares {width}x{height} pixels in {len(data)} bytes: over "
            f"{limits.max_pixels_per_byte} pixels per byte above {limits.ratio_free_pixels} "
            "pixels, a decompression bomb rather than a picture"
        )
    return image


# Peak memory of hashing one picture, as measured (bench/decode_memory.py: every format
# and mode at 4 and 16 MP, a fresh process's peak RSS; docs/benchmarks.md "Decode budget"):
# the decoded buffer, its RGB or float conversion, the float32 luma and the full-size tent
# filter (the peak: luma + 8 bytes a pixel), the robust views' grey copy. 1-bit, grey,
# palette, RGB(A) and 16-bit pictures measured 12 bytes a decoded pixel, up to 15 in a
# process whose allocator was already fragmented; CMYK and LA (4 bytes a pixel, converted
# to RGB) 15, HEIF and AVIF 14, WebP (its decoder's own RGBA canvas) 19, animated 20.
DECODE_BASE_BYTES = 16 * 1024**2
DECODE_BYTES_PER_PIXEL = 16
WIDE_DECODE_BYTES_PER_PIXEL = 20
WEBP_DECODE_BYTES_PER_PIXEL = 24
_WIDE_FORMATS = {"HEIF", "AVIF"}
_NARROW_MODES = {"1", "L", "P", "RGB", "RGBA", "RGBX"}


def _jpeg_scale(width: int, height: int) -> int:
    """The DCT scale (1, 2, 4, 8) a large JPEG is decoded at for a check."""
    for candidate in (8, 4, 2):
        if min(width, height) // candidate >= MIN_REDUCED_SIDE:
            return candidate
    return 1


def _cost(image: Image.Image, reduce: bool) -> int:
    """Estimated peak bytes of hashing an opened (not yet decoded) picture: header only."""
    width, height = image.size
    scale = _jpeg_scale(width, height) if reduce and image.format == "JPEG" else 1
    pixels = -(-width // scale) * -(-height // scale)
    if image.format == "WEBP":
        per_pixel = WEBP_DECODE_BYTES_PER_PIXEL
    elif image.format in _WIDE_FORMATS or image.mode not in _NARROW_MODES:
        per_pixel = WIDE_DECODE_BYTES_PER_PIXEL
    else:
        per_pixel = DECODE_BYTES_PER_PIXEL
    return DECODE_BASE_BYTES + per_pixel * pixels


def quiet_decoder_warnings() -> None:
    """Keep Pillow's warnings on hostile input (DecompressionBombWarning, EXIF, palette and
    APNG warnings) out of the process's output: our own limits decide about a picture.

    Process-wide and idempotent; called where a process that decodes pictures sets up
    (``rescind.services``' builders for the web app and the worker, ``rescind hash``).
    Not ``warnings.catch_warnings`` around each decode: that swaps the process's filter list,
    is not thread-safe, and pictures are decoded on several threads at once, where it lost
    other code's filters.
    """
    warnings.filterwarnings("ignore", module=r"PIL(\..*)?")


def image_decode_cost(
    data: bytes, limits: MediaLimits = DEFAULT_LIMITS, reduce: bool = True
) -> int:
    """Estimated peak bytes of hashing `data` (:func:`decode_luma` with ``reduce``, its PDQ
    hashes and copy-robust views), from its header alone: nothing is decoded.

    Raises :class:`MediaTooLarge` when it is over ``limits.max_decode_bytes`` (or any other
    header limit), like :func:`decode_luma`, which checks the same estimate.
    """
    image = _open_checked(data, limits)
    return within_decode_memory(_cost(image, reduce), limits, "picture")


def decode_luma(
    data: bytes, limits: MediaLimits = DEFAULT_LIMITS, reduce: bool = True
) -> DecodedLuma:
    """Decode an image to luma, reduced in the decoder when it is a large JPEG (unless not
    ``reduce``: then at full size, as a browser decodes it, for the bank's views).

    Raises a :class:`MediaError` subclass for anything that is not a sound, small-enough image.
    """
    image = _open_checked(data, limits)
    within_decode_memory(_cost(image, reduce), limits, "picture")
    try:
        width, height = image.size
        scale = 1
        if reduce and image.format == "JPEG":
            scale = _jpeg_scale(width, height)
            if scale > 1:
                # Asking for "L" makes libjpeg skip the chroma planes: JPEG's Y is
                # PDQ's luma up to rounding, close enough for the reduced path. At
                # full size we decode RGB as the reference does, for its exact bits.
                image.draft("L", (width // scale, height // scale))
                scale = max(1, round(width / image.size[0]))
        image.load()
        orientation = _orientation(image)
        if orientation != 1:
            image = ImageOps.exif_transpose(image)
        luma = _to_luma(image)
    except MediaError:
        raise
    except Image.DecompressionBombError as exc:
        raise MediaTooLarge(f"image is too large to decode ({exc})") from None
    except MemoryError:
        raise MediaTooLarge("image needs more memory than is available to decode") from None
    except _DECODE_ERRORS as exc:
        raise CorruptMedia(f"cannot decode {image.format} image: {exc}") from None
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    rows, cols = luma.shape[:2]
    if (rows, cols) != (-(-height // scale), -(-width // scale)):
        # The header's size decided the limits and the hash's geometry: a file that decodes
        # to another size (a HEIF clean-aperture box larger than the picture) is not sound.
        at = f" at 1/{scale} scale" if scale > 1 else ""
        raise CorruptMedia(f"image declares {width}x{height} but decodes to {cols}x{rows}{at}")
    return DecodedLuma(luma, (height, width), scale, _REVERSED_AXES[orientation])


def hash_image_bytes(
    data: bytes, *, dihedral: bool = False, limits: MediaLimits = DEFAULT_LIMITS
) -> list[PdqHash]:
    """PDQ hashes of an image given as bytes; the first is the image as displayed.

    With ``dihedral`` the 7 other rotations/flips follow, each labelled in ``orientation``.
    """
    decoded = decode_luma(data, limits)
    return hash_luma(
        decoded.luma, decoded.full_size, decoded.scale, decoded.reverse, dihedral=dihedral
    )


def hash_image(
    path: str | Path, *, dihedral: bool = False, limits: MediaLimits = DEFAULT_LIMITS
) -> list[PdqHash]:
    """PDQ hashes of an image file; see :func:`hash_image_bytes`."""
    return hash_image_bytes(Path(path).read_bytes(), dihedral=dihedral, limits=limits)
