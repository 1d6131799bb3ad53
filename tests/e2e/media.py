"""Generated test images: a "reported" photo, its copies, and unrelated photos.

Only scikit-image's bundled sample photos (a cat, coffee, a rocket...) are used: never any real
intimate imagery.
"""

from __future__ import annotations

import io
import random

import skimage.data
from PIL import Image, ImageEnhance, ImageOps


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    """`image` encoded as JPEG."""
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def reported() -> Image.Image:
    """The image the request is about."""
    return Image.fromarray(skimage.data.chelsea())


def copies(base: Image.Image) -> dict[str, bytes]:
    """Re-encoded, resized, mirrored, rotated, re-coloured and slightly cropped copies."""
    w, h = base.size
    png = io.BytesIO()
    base.save(png, "PNG")
    return {
        "reencoded": jpeg(base, 40),
        "png": png.getvalue(),
        "smaller": jpeg(base.resize((w * 2 // 3, h * 2 // 3))),
        "larger": jpeg(base.resize((w * 3 // 2, h * 3 // 2))),
        "mirrored": jpeg(ImageOps.mirror(base)),
        "rotated": jpeg(base.rotate(90, expand=True)),
        "brighter": jpeg(ImageEnhance.Brightness(base).enhance(1.15)),
        "cropped": jpeg(base.crop((4, 3, w - 4, h - 3))),
    }


def unrelated(count: int, seed: int = 7) -> list[bytes]:
    """Random crops of the other sample photos."""
    rng = random.Random(seed)
    sources = [
        skimage.data.astronaut(),
        skimage.data.coffee(),
        skimage.data.rocket(),
        skimage.data.immunohistochemistry(),
        skimage.data.moon(),
        skimage.data.brick(),
        skimage.data.grass(),
        skimage.data.coins(),
        skimage.data.horse(),
        skimage.data.clock(),
        skimage.data.page(),
    ]
    images = []
    for i in range(count):
        source = Image.fromarray(sources[i % len(sources)]).convert("RGB")
        w, h = source.size
        cw, ch = int(w * rng.uniform(0.4, 0.9)), int(h * rng.uniform(0.4, 0.9))
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        crop = source.crop((x, y, x + cw, y + ch)).resize(
            (rng.randint(96, 200), rng.randint(96, 200))
        )
        images.append(jpeg(crop, rng.randint(60, 95)))
    return images
