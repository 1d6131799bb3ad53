"""Test media for the robustness benchmark: packaged photos, copy transforms, distractors.

Everything here is either a photo shipped inside a package (scikit-image's ``skimage/data``,
the ``perception`` wheel's ``perception/testing/images``) or generated. Nothing is downloaded
except, optionally, the ``perception`` wheel itself through pip, into a temporary directory.
"""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

# Natural photos in skimage/data. Left out: synthetic pictures (chessboard, color, logo, phantom,
# horse silhouette), multi-frame files, and motorcycle_right (the stereo twin of motorcycle_left:
# a near-duplicate view that a person would call the same picture).
SKIMAGE_PHOTOS = (
    "astronaut.png",
    "brick.png",
    "camera.png",
    "cell.png",
    "chelsea.png",
    "clock_motion.png",
    "coffee.png",
    "coins.png",
    "grass.png",
    "gravel.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "microaneurysms.png",
    "moon.png",
    "motorcycle_left.png",
    "page.png",
    "retina.jpg",
    "rocket.jpg",
    "text.png",
)

Transform = Callable[[Image.Image, int], Image.Image]


def load_skimage_photos() -> dict[str, Image.Image]:
    """The natural photos of skimage/data that are present on disk (some are fetched lazily)."""
    import skimage

    folder = Path(skimage.__file__).parent / "data"
    photos: dict[str, Image.Image] = {}
    for name in SKIMAGE_PHOTOS:
        path = folder / name
        if path.is_file():
            with Image.open(path) as im:
                photos[f"skimage/{name}"] = im.convert("RGB")
    return photos


def load_perception_photos(tmp: Path) -> tuple[dict[str, Image.Image], str]:
    """The test photos inside the ``perception`` wheel, via ``pip download`` into ``tmp``.

    Returns the photos and a note saying where they came from or why there are none.
    """
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(tmp), "perception"]
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    except (subprocess.SubprocessError, OSError) as exc:
        return {}, f"perception wheel unavailable ({type(exc).__name__})"
    photos: dict[str, Image.Image] = {}
    for wheel in sorted(tmp.glob("perception-*.whl")):
        with zipfile.ZipFile(wheel) as zf:
            for name in sorted(zf.namelist()):
                if name.startswith("perception/testing/images/") and name.endswith(".jpg"):
                    with Image.open(io.BytesIO(zf.read(name))) as im:
                        photos[f"perception/{Path(name).name}"] = im.convert("RGB")
        return photos, f"{wheel.name}: {len(photos)} photos"
    return {}, "perception wheel not found after pip download"


def _jitter(seed: int) -> float:
    """A factor in [0.8, 1.2] per image, so that "5%" means 4-6% and no grid lands on it exactly."""
    return float(np.random.default_rng(1000 + seed).uniform(0.8, 1.2))


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(8, size))


def jpeg(quality: int) -> Transform:
    def apply(im: Image.Image, _: int) -> Image.Image:
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=quality)
        with Image.open(io.BytesIO(buf.getvalue())) as out:
            return out.convert("RGB")

    return apply


def resize(scale: float) -> Transform:
    def apply(im: Image.Image, _: int) -> Image.Image:
        size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
        return im.resize(size, Image.Resampling.LANCZOS)

    return apply


def crop(frac: float, one_side: bool) -> Transform:
    """Remove about ``frac`` of the width/height from one side (which varies by image) or all."""

    def apply(im: Image.Image, seed: int) -> Image.Image:
        f = frac * _jitter(seed)
        dx, dy = max(1, round(im.width * f)), max(1, round(im.height * f))
        if not one_side:
            return im.crop((dx, dy, im.width - dx, im.height - dy))
        side = seed % 4
        box = [(dx, 0, im.width, im.height), (0, dy, im.width, im.height)]
        box += [(0, 0, im.width - dx, im.height), (0, 0, im.width, im.height - dy)]
        return im.crop(box[side])

    return apply


def pad(frac: float, colour: tuple[int, int, int] | None) -> Transform:
    """A border of about ``frac`` of the larger side; ``None`` picks a colour per image."""

    def apply(im: Image.Image, seed: int) -> Image.Image:
        fill = colour or tuple(int(c) for c in np.random.default_rng(seed).integers(0, 256, 3))
        border = max(1, round(max(im.size) * frac * _jitter(seed)))
        return ImageOps.expand(im, border=border, fill=fill)

    return apply


def letterbox(aspect: float) -> Transform:
    """Centre the picture on a black canvas of the given width/height ratio."""

    def apply(im: Image.Image, _: int) -> Image.Image:
        w, h = im.size
        cw, ch = (round(h * aspect), h) if w / h < aspect else (w, round(w / aspect))
        canvas = Image.new("RGB", (cw, ch), (0, 0, 0))
        canvas.paste(im, ((cw - w) // 2, (ch - h) // 2))
        return canvas

    return apply


def screenshot(im: Image.Image, seed: int) -> Image.Image:
    """A phone screenshot: coloured status bar with clock and battery, app background, nav bar."""
    rng = np.random.default_rng(seed)
    bar = tuple(int(c) for c in rng.integers(0, 256, 3))
    width = max(im.width, 320)
    shown = im.resize((width, round(im.height * width / im.width)), Image.Resampling.LANCZOS)
    status_h, nav_h, gap = round(width * 0.07), round(width * 0.12), round(width * 0.15)
    height = max(round(width * 16 / 9), shown.height + status_h + nav_h + 2 * gap)
    canvas = Image.new("RGB", (width, height), (18, 18, 18))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, width, status_h), fill=bar)
    draw.text(
        (status_h // 2, status_h // 5), "12:34", fill=(255, 255, 255), font=_font(status_h // 2)
    )
    bx = width - status_h * 2
    draw.rectangle((bx, status_h // 3, bx + status_h, 2 * status_h // 3), outline=(255, 255, 255))
    draw.rectangle((0, height - nav_h, width, height), fill=bar)
    for i, cx in enumerate((width // 4, width // 2, 3 * width // 4)):
        r, cy = nav_h // 5, height - nav_h // 2
        shape = draw.ellipse if i == 1 else draw.rectangle
        shape((cx - r, cy - r, cx + r, cy + r), outline=(255, 255, 255), width=2)
    canvas.paste(shown, (0, status_h + (height - status_h - nav_h - shown.height) // 2))
    return canvas


def mirror(im: Image.Image, _: int) -> Image.Image:
    return ImageOps.mirror(im)


def rotate_right_angle(method: Image.Transpose) -> Transform:
    return lambda im, _: im.transpose(method)


def rotate_small(degrees: float) -> Transform:
    """A slightly tilted copy on the same canvas (the corners that fall off are black)."""

    def apply(im: Image.Image, seed: int) -> Image.Image:
        angle = degrees * _jitter(seed)
        return im.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=(0, 0, 0))

    return apply


def caption(top: bool) -> Transform:
    """A meme-style white strip with black text added above or below the picture."""

    def apply(im: Image.Image, _: int) -> Image.Image:
        strip = max(12, round(im.height * 0.15))
        canvas = Image.new("RGB", (im.width, im.height + strip), (255, 255, 255))
        canvas.paste(im, (0, strip if top else 0))
        y = strip // 4 if top else im.height + strip // 4
        draw = ImageDraw.Draw(canvas)
        draw.text((im.width // 20, y), "when you see it", fill=(0, 0, 0), font=_font(strip // 2))
        return canvas

    return apply


def enhance(kind: str, factor: float) -> Transform:
    classes = {"brightness": ImageEnhance.Brightness, "contrast": ImageEnhance.Contrast}
    return lambda im, _: classes[kind](im).enhance(factor)


def blur(im: Image.Image, _: int) -> Image.Image:
    return im.filter(ImageFilter.GaussianBlur(radius=max(1.0, max(im.size) / 250)))


def greyscale(im: Image.Image, _: int) -> Image.Image:
    return im.convert("L").convert("RGB")


def watermark(im: Image.Image, _: int) -> Image.Image:
    """Semi-transparent text across the middle and a site name in the corner."""
    layer = Image.new("RGBA", im.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    size = max(10, im.width // 8)
    draw.text(
        (im.width // 6, im.height // 2 - size // 2),
        "SAMPLE",
        fill=(255, 255, 255, 110),
        font=_font(size),
    )
    draw.text(
        (im.width - size * 3, im.height - size),
        "site.example",
        fill=(255, 255, 255, 200),
        font=_font(size // 2),
    )
    return Image.alpha_composite(im.convert("RGBA"), layer).convert("RGB")


COLOUR = None  # a per-image colour, see pad()
TRANSFORMS: dict[str, Transform] = {
    "jpeg_q30": jpeg(30),
    "jpeg_q50": jpeg(50),
    "jpeg_q75": jpeg(75),
    "resize_0.5x": resize(0.5),
    "resize_0.25x": resize(0.25),
    **{f"crop_{p}%_one_side": crop(p / 100, True) for p in (2, 5, 10)},
    **{f"crop_{p}%_all_sides": crop(p / 100, False) for p in (2, 5, 10)},
    **{
        f"pad_{p}%_{name}": pad(p / 100, fill)
        for p in (2, 5, 10)
        for name, fill in (("black", (0, 0, 0)), ("white", (255, 255, 255)), ("colour", COLOUR))
    },
    "letterbox_16:9": letterbox(16 / 9),
    "letterbox_9:16": letterbox(9 / 16),
    "screenshot_phone": screenshot,
    "pad_5%_white+jpeg_q75": lambda im, seed: jpeg(75)(pad(0.05, (255, 255, 255))(im, seed), seed),
    "screenshot+jpeg_q75": lambda im, seed: jpeg(75)(screenshot(im, seed), seed),
    "mirror": mirror,
    "rotate_90": rotate_right_angle(Image.Transpose.ROTATE_90),
    "rotate_180": rotate_right_angle(Image.Transpose.ROTATE_180),
    "rotate_270": rotate_right_angle(Image.Transpose.ROTATE_270),
    **{f"rotate_{d:+d}deg": rotate_small(d) for d in (-5, -3, 3, 5)},
    "caption_top": caption(True),
    "caption_bottom": caption(False),
    "brightness_+30%": enhance("brightness", 1.3),
    "contrast_-30%": enhance("contrast", 0.7),
    "blur": blur,
    "greyscale": greyscale,
    "watermark": watermark,
}


def distractors(photos: list[Image.Image], count: int, seed: int = 7) -> list[Image.Image]:
    """Generated pictures that are none of the photos: gradients, noise, shapes, mosaics."""
    rng = np.random.default_rng(seed)
    out: list[Image.Image] = []
    makers = (_gradient, _noise_texture, _shapes, _mosaic)
    for i in range(count):
        out.append(makers[i % len(makers)](rng, photos))
    return out


def _size(rng: np.random.Generator) -> tuple[int, int]:
    return int(rng.integers(160, 480)), int(rng.integers(160, 480))


def _gradient(rng: np.random.Generator, _: list[Image.Image]) -> Image.Image:
    w, h = _size(rng)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    t = (np.cos(angle) * xx / w + np.sin(angle) * yy / h) * rng.uniform(0.5, 3)
    if rng.random() < 0.5:  # radial
        t = np.hypot(xx / w - rng.random(), yy / h - rng.random()) * rng.uniform(1, 4)
    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    wave = (np.sin(t * np.pi) + 1) / 2
    arr = c0 + (c1 - c0) * wave[..., None]
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8))


def _noise_texture(rng: np.random.Generator, _: list[Image.Image]) -> Image.Image:
    w, h = _size(rng)
    cells = int(rng.integers(4, 48))
    small = rng.integers(0, 256, (cells, max(2, cells * w // h), 3), dtype=np.uint8)
    im = Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC)
    fine = rng.normal(0, rng.uniform(0, 25), (h, w, 3))
    return Image.fromarray((np.asarray(im, np.float32) + fine).clip(0, 255).astype(np.uint8))


def _shapes(rng: np.random.Generator, _: list[Image.Image]) -> Image.Image:
    w, h = _size(rng)
    im = Image.new("RGB", (w, h), tuple(int(c) for c in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(im)
    for _ in range(int(rng.integers(3, 25))):
        x0, x1 = sorted(int(v) for v in rng.integers(0, w, 2))
        y0, y1 = sorted(int(v) for v in rng.integers(0, h, 2))
        fill = tuple(int(c) for c in rng.integers(0, 256, 3))
        kind = int(rng.integers(0, 3))
        if kind == 0:
            draw.rectangle((x0, y0, x1, y1), fill=fill)
        elif kind == 1:
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        else:
            draw.line((x0, y0, x1, y1), fill=fill, width=int(rng.integers(1, 12)))
    return im


def _mosaic(rng: np.random.Generator, photos: list[Image.Image]) -> Image.Image:
    """A grid of tiles cut from different photos: every tile is a small part of some photo."""
    n = int(rng.integers(2, 4))
    tile = int(rng.integers(80, 160))
    canvas = Image.new("RGB", (n * tile, n * tile))
    picks = rng.choice(len(photos), size=n * n, replace=len(photos) < n * n)
    for k, idx in enumerate(picks):
        src = photos[int(idx)]
        side = int(min(src.size) * rng.uniform(0.2, 0.45))
        x, y = (
            int(rng.integers(0, src.width - side + 1)),
            int(rng.integers(0, src.height - side + 1)),
        )
        part = src.crop((x, y, x + side, y + side)).resize((tile, tile), Image.Resampling.LANCZOS)
        canvas.paste(part, ((k % n) * tile, (k // n) * tile))
    return canvas
