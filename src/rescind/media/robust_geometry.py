"""Geometry for copy-robust hashing: input checks, border trimming, crops and tilts.

Pure numpy/PIL. Works on a bounded working copy so that a 12 MP upload costs the same as a
512 px one; the "full" hash is still computed on the image as given (see ``robust.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from rescind.media.pdq import pdq_luma

MIN_SIDE = 16  # below this PDQ has nothing to work with; variants smaller than this are skipped
WORK_SIDE = 512  # longest side of the working copy that variants are cut from
TRIM_SIDE = 256  # longest side of the copy that borders are looked for in (speed)
FLAT_TOLERANCE = 3  # per-channel distance from a bar's colour (pads are flat; skies are not)
JPEG_TOLERANCE = 10  # the same for a JPEG-compressed pad, whose noise reaches 5-10 levels
BAR_TOLERANCE = 16  # once a bar has started: JPEG ringing near the picture and around text
FLAT_SHARE = 0.9  # a flat line: this share of its pixels is the bar's colour
BAR_SHARE = 0.5  # a line inside a bar (text, icons): at least this share is the bar's colour
BAR_WINDOW = 16  # rows measured at first to find where a bar ends (doubled while it goes on)
MAX_TRIM = 0.9  # never trim more than this share of a side: what is left would be a sliver
# The bounded trim's bars (trim_box): a flat, hazy picture inside bars is flat line by line,
# so a "bar" that reaches past this share of a side from its edge is taken for the picture.
BOUNDED_BARS = 0.4
# ... and a bounded trim is kept only when it cuts at least this share of the height or of
# the width (trim_box): a pad, not a few flat edge lines of the picture.
BOUNDED_MIN_CUT = 0.02


class RobustInputError(ValueError):
    """The image cannot be hashed: empty, too small, or not 8-bit RGB."""


@dataclass(frozen=True, slots=True)
class Variant:
    """A view of the (trimmed) picture: cut fractions from each side, then tilt by degrees."""

    name: str
    left: float = 0.0
    top: float = 0.0
    right: float = 0.0
    bottom: float = 0.0
    tilt: float = 0.0
    # Width/height of the largest centred crop to keep (after the cuts above); 0: none.
    aspect: float = 0.0
    # With a tilt: keep the largest upright rectangle of the view's shape inside the turned
    # picture (no black corners), as a photo editor's straighten tool does.
    inscribed: bool = False
    mirror: bool = False  # mirrored left to right, last
    # Framing, after the cuts and before the mirror (what a copy adds around a picture): a
    # border on all four sides of this share of the longer side, a strip of this share of
    # the height added above (> 0) or below (< 0), or bars up to a canvas of this
    # width/height with the view centred (moved down by ``shift`` of the canvas height).
    # What is added has luma ``fill``; PDQ leaves out the DCT's first row and column, so
    # the colour of full-width or full-height bars and strips does not change the hash.
    frame: float = 0.0
    strip: float = 0.0
    canvas: float = 0.0
    shift: float = 0.0
    fill: float = 0.0

    @property
    def framed(self) -> bool:
        """Whether the view adds something around the picture (border, strip or bars)."""
        return bool(self.frame or self.strip or self.canvas)


def aspect_crop(width: int, height: int) -> Variant:
    """A variant keeping the largest centred crop of ``width``:``height``, as feeds cut."""
    return Variant(f"aspect_{width}x{height}", aspect=width / height)


def corner_crop(corner: str, fraction: float) -> Variant:
    """A variant cutting ``fraction`` off the two sides of ``corner``: ``tl``, ``tr``, ``bl``
    or ``br``."""
    top = fraction if corner[0] == "t" else 0.0
    bottom = fraction if corner[0] == "b" else 0.0
    left = fraction if corner[1] == "l" else 0.0
    right = fraction if corner[1] == "r" else 0.0
    return Variant(f"crop_{corner}{round(fraction * 100)}", left, top, right, bottom)


def frame(share: float, fill: float) -> Variant:
    """A variant with a border of ``share`` of the longer side on all sides, of luma ``fill``."""
    colour = {0.0: "black", 255.0: "white"}.get(fill, "grey")
    return Variant(f"frame_{colour}{round(share * 100)}", frame=share, fill=fill)


def strip(share: float, top: bool) -> Variant:
    """A variant with a strip of ``share`` of its height added above or below (a caption)."""
    return Variant(
        f"strip_{'t' if top else 'b'}{round(share * 100)}", strip=share if top else -share
    )


def canvas(width: int, height: int, shift: float = 0.0) -> Variant:
    """A variant centred on a ``width``:``height`` canvas with bars (letterbox or pillarbox),
    moved down by ``shift`` of the canvas height (a picture above the middle of a screen)."""
    moved = f"{round(shift * 100):+d}" if shift else ""
    return Variant(f"canvas_{width}x{height}{moved}", canvas=width / height, shift=shift)


def straightened(degrees: float) -> Variant:
    """A variant turned by ``degrees`` and cut to the upright rectangle inside it."""
    return Variant(f"tiltcrop{degrees:+g}", tilt=degrees, inscribed=True)


def one_side_crop(side: str, fraction: float) -> Variant:
    """A variant cutting ``fraction`` off one side: ``"l"``, ``"t"``, ``"r"`` or ``"b"``."""
    return sides_crop(side, fraction)


def sides_crop(sides: str, fraction: float) -> Variant:
    """A variant cutting ``fraction`` off each of ``sides`` (letters of ``"ltrb"``, in that
    order: ``"lr"``, ``"ltb"``...)."""
    cuts = [fraction if s in sides else 0.0 for s in "ltrb"]
    return Variant(f"crop_{sides}{round(fraction * 100)}", cuts[0], cuts[1], cuts[2], cuts[3])


def centre_crop(keep: float) -> Variant:
    """A variant keeping the central ``keep`` share of each side."""
    cut = (1 - keep) / 2
    return Variant(f"crop_c{round(keep * 100)}", cut, cut, cut, cut)


def as_rgb_array(image: Image.Image | NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Check and convert the input to a contiguous ``uint8[H, W, 3]`` array.

    Accepts a PIL image (converted to RGB) or a ``uint8`` array of shape ``(H, W, 3)``;
    raises :class:`RobustInputError` naming the problem otherwise. A grey array of shape
    ``(H, W, 1)`` is accepted too and kept as it is: every step treats it exactly as the RGB
    image with that grey in all three channels (same trims, same luma, same hashes), on a
    third of the pixels.
    """
    if isinstance(image, Image.Image):
        if image.width == 0 or image.height == 0:
            raise RobustInputError("image is empty (0 pixels)")
        arr = np.asarray(image.convert("RGB"))
    elif isinstance(image, np.ndarray):
        arr = image
        if arr.dtype != np.uint8:
            raise RobustInputError(f"image array must be uint8, got {arr.dtype}")
        if arr.ndim != 3 or arr.shape[2] not in (1, 3):
            raise RobustInputError(f"image array must have shape (H, W, 3), got {arr.shape}")
    else:
        raise RobustInputError(f"expected a PIL image or a numpy array, got {type(image).__name__}")
    if arr.size == 0:
        raise RobustInputError("image is empty (0 pixels)")
    if min(arr.shape[0], arr.shape[1]) < MIN_SIDE:
        raise RobustInputError(
            f"image is {arr.shape[1]}x{arr.shape[0]}; both sides must be >= {MIN_SIDE} px"
        )
    return np.ascontiguousarray(arr)


def working_copy(rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The image scaled down (box filter) so its longest side is at most :data:`WORK_SIDE`."""
    return _shrink(rgb, WORK_SIDE)


def trim_box(
    rgb: NDArray[np.uint8],
    tolerance: int = FLAT_TOLERANCE,
    small: NDArray[np.uint8] | None = None,
    *,
    bounded: bool = False,
) -> tuple[int, int, int, int] | None:
    """The ``(top, bottom, left, right)`` box left after removing flat borders, or None.

    A border is a run of lines (rows or columns) of one colour: solid pads, letterbox bars,
    coloured UI bars with small icons, caption strips with text. Bars of different colours
    stacked at one edge all go. The tolerance is tight: a pad is flat to a level or two,
    while skies, paper and dark backgrounds in photos are not, and trimming into the
    picture itself would make a copy's trim differ from the original's.
    None when nothing is flat at the edges or when trimming would leave a sliver.
    ``small`` is :func:`trim_copy` of ``rgb`` when the caller has it already.

    ``bounded``: a bar that runs on to the trim's limit (:data:`MAX_TRIM`) or past
    :data:`BOUNDED_BARS` of the side is not a bar, and the bars before it stay trimmed. A
    flat, hazy picture inside a pad is flat to the tolerance line by line, so the plain
    trim takes it for one more bar, runs to the far edge and gives None; the bounded trim
    keeps it (:func:`rescind.media.robust.query_signals` falls back to it). A bounded box
    that cuts under :data:`BOUNDED_MIN_CUT` of the height and of the width is None too: a
    few flat edge lines of the picture itself (a hazy picture made grey), not a pad.
    """
    height, width = rgb.shape[:2]
    if small is None:
        small = trim_copy(rgb)
    box = _trim_box_exact(small, tolerance, bounded)
    if box is None:
        return None
    if small is not rgb:
        # Map back from the analysis copy; a fraction of a pixel there is ~1 px here.
        sy, sx = height / small.shape[0], width / small.shape[1]
        top, bottom, left, right = box
        box = round(top * sy), round(bottom * sy), round(left * sx), round(right * sx)
    if bounded and _edge_lines(box, height, width):
        return None
    return box


def _edge_lines(box: tuple[int, int, int, int], height: int, width: int) -> bool:
    """Whether ``box`` cuts under :data:`BOUNDED_MIN_CUT` of the height and of the width
    (measured on the picture as given, after mapping back from the analysis copy)."""
    top, bottom, left, right = box
    return top + height - bottom < BOUNDED_MIN_CUT * height and (
        left + width - right < BOUNDED_MIN_CUT * width
    )


def trim_copy(rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The copy :func:`trim_box` looks for borders in (``rgb`` itself when small enough)."""
    return _shrink(rgb, TRIM_SIDE)


def _shrink(rgb: NDArray[np.uint8], side: int) -> NDArray[np.uint8]:
    height, width = rgb.shape[:2]
    scale = side / max(height, width)
    if scale >= 1:
        return rgb
    size = (max(MIN_SIDE, round(width * scale)), max(MIN_SIDE, round(height * scale)))
    if rgb.ndim == 3 and rgb.shape[2] == 1:  # grey: the same box filter on its one channel
        grey = Image.fromarray(np.ascontiguousarray(rgb[:, :, 0]))
        return np.asarray(grey.resize(size, Image.Resampling.BOX))[:, :, None]
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BOX))


def _trim_box_exact(
    rgb: NDArray[np.uint8], tolerance: int, bounded: bool = False
) -> tuple[int, int, int, int] | None:
    height, width = rgb.shape[:2]
    pixels = rgb.astype(np.int16)
    top, bottom = _border_rows(pixels, tolerance, bounded)
    if top + bottom > MAX_TRIM * height:
        return None  # flat from edge to edge, or nearly: nothing left to hash as a picture
    inner = pixels[top : height - bottom]
    left, right = _border_rows(inner.transpose(1, 0, 2), tolerance, bounded)
    if left + right > MAX_TRIM * width:
        return None
    # Side bars gone, rows can be flat where a side bar broke them (a framed screenshot).
    more_top, more_bottom = _border_rows(inner[:, left : width - right], tolerance, bounded)
    top, bottom = top + more_top, bottom + more_bottom
    if top + bottom + left + right == 0:
        return None
    if top + bottom > MAX_TRIM * height or left + right > MAX_TRIM * width:
        return None
    if height - top - bottom < MIN_SIDE or width - left - right < MIN_SIDE:
        return None
    return top, height - bottom, left, width - right


def _border_rows(
    pixels: NDArray[np.int16], tolerance: int, bounded: bool = False
) -> tuple[int, int]:
    """How many border rows lead and trail ``pixels`` (H, W, 3)."""
    lead = _leading_border(pixels, tolerance, bounded)
    trail = _leading_border(pixels[::-1][: pixels.shape[0] - lead], tolerance, bounded)
    return lead, trail


def _leading_border(pixels: NDArray[np.int16], tolerance: int, bounded: bool = False) -> int:
    """Rows at the top that belong to bars (with ``bounded``, bars that end before the
    trim's limit only).

    A bar starts with a row flat to ``tolerance`` (natural edges rarely are), may hold rows
    with text or icons on its colour, and ends at its last row that is mostly its colour
    within :data:`BAR_TOLERANCE` (JPEG rings next to the picture and around text).
    """
    height = pixels.shape[0]
    limit = int(height * MAX_TRIM) + 1
    done = 0
    while done < min(height, limit):
        colour = np.median(pixels[done], axis=0)
        # Most pictures have no border: decide on the first line before measuring the rest.
        if (np.abs(pixels[done] - colour).max(axis=1) <= tolerance).mean() < FLAT_SHARE:
            break
        share = _bar_shares(pixels[done:limit], colour, max(tolerance, BAR_TOLERANCE))
        on_bar = share >= BAR_SHARE
        run = int(np.argmin(on_bar)) if not on_bar.all() else on_bar.size
        flat = np.flatnonzero(share[:run] >= FLAT_SHARE)
        if bounded and (run == on_bar.size or done + flat[-1] + 1 > BOUNDED_BARS * height):
            break  # on to the far edge or past the middle: the picture itself, not a bar
        done += int(flat[-1]) + 1
    return done


def _bar_shares(
    rows: NDArray[np.int16], colour: NDArray[np.float64], tolerance: int
) -> NDArray[np.float64]:
    """The share of each row within ``tolerance`` of ``colour``, from the first row through
    the first that is off the bar (under :data:`BAR_SHARE`), or all rows when none is.

    Measured in windows that double in size: a bar mostly ends within a few rows, and
    measuring every row up to the trim's limit for each bar stepped over made flat, hazy
    pictures (a bar per line) quadratic. A row's share does not depend on the window.
    """
    shares = []
    start, size = 0, BAR_WINDOW
    while start < rows.shape[0]:
        window = rows[start : start + size]
        share = (np.abs(window - colour).max(axis=2) <= tolerance).mean(axis=1)
        shares.append(share)
        if (share < BAR_SHARE).any():
            break
        start, size = start + size, size * 2
    return np.concatenate(shares)


def luma(rgb: NDArray[np.uint8]) -> NDArray[np.float32]:
    """PDQ's luminance as pdqhash computes it (float32, never rounded); a grey
    ``(H, W, 1)`` array is weighed as three equal channels, to the same last bit."""
    return pdq_luma(rgb)


def render_variant(luma_view: NDArray[np.float32], variant: Variant) -> NDArray[np.float32] | None:
    """The variant's view of a luma array, or None when smaller than :data:`MIN_SIDE`."""
    view = luma_view
    if variant.tilt:
        # Same canvas, black corners: how most editors and screenshots of tilted photos look.
        image = Image.fromarray(view).rotate(
            variant.tilt, resample=Image.Resampling.BICUBIC, fillcolor=0.0
        )
        view = np.asarray(image, dtype=np.float32)
        if variant.inscribed:
            view = _inscribed(view, variant.tilt)
    height, width = view.shape[:2]
    top, bottom = round(height * variant.top), height - round(height * variant.bottom)
    left, right = round(width * variant.left), width - round(width * variant.right)
    if variant.aspect:
        h, w = bottom - top, right - left
        if w / h > variant.aspect:
            keep = round(h * variant.aspect)
            left += (w - keep) // 2
            right = left + keep
        else:
            keep = round(w / variant.aspect)
            top += (h - keep) // 2
            bottom = top + keep
    if bottom - top < MIN_SIDE or right - left < MIN_SIDE:
        return None
    view = view[top:bottom, left:right]
    if variant.framed:
        view = _framed(view, variant)
    return view[:, ::-1] if variant.mirror else view


def _framed(view: NDArray[np.float32], variant: Variant) -> NDArray[np.float32]:
    """The view with the variant's border, strip or bars of luma ``fill`` around it."""
    height, width = view.shape[:2]
    top = bottom = left = right = 0
    if variant.frame:
        top = bottom = left = right = round(max(height, width) * variant.frame)
    if variant.strip > 0:
        top = round(height * variant.strip)
    elif variant.strip < 0:
        bottom = round(height * -variant.strip)
    if variant.canvas:
        if width / height < variant.canvas:
            canvas_h, canvas_w = height, round(height * variant.canvas)
        else:
            canvas_h, canvas_w = round(width / variant.canvas), width
        top = (canvas_h - height) // 2 + round(canvas_h * variant.shift)
        top = min(max(top, 0), canvas_h - height)
        bottom = canvas_h - height - top
        left = (canvas_w - width) // 2
        right = canvas_w - width - left
    out = np.full((height + top + bottom, width + left + right), variant.fill, np.float32)
    out[top : top + height, left : left + width] = view
    return out


def aspect_cut(height: int, width: int, aspect: float) -> float:
    """The share of its longer-cut side that :func:`aspect_crop` removes from a picture."""
    return max(0.0, 1 - (height * aspect) / width, 1 - width / (height * aspect))


def _inscribed(view: NDArray[np.float32], degrees: float) -> NDArray[np.float32]:
    """The largest centred rectangle of ``view``'s shape inside it turned by ``degrees``."""
    height, width = view.shape[:2]
    a = np.radians(abs(degrees))
    k = 1 / (np.cos(a) + np.sin(a) * max(width / height, height / width))
    h, w = height * k, width * k
    top, left = round((height - h) / 2), round((width - w) / 2)
    return view[top : top + round(h), left : left + round(w)]
