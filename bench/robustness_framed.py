"""Framed views on copies framed otherwise than ``bench/robustness.py`` frames them.

A platform that sends only ``rescind hash`` of a copy with a border, bars, a screen or a
caption strip around the picture meets the bank's framed views (``FRAMED_VARIANTS``) or
nothing. These frames use widths, colours, shapes and positions that neither the views nor
the benchmark's transforms use. Per copy: how many of the 39 photos of both splits are found
through the plain hash of the copy, without and with the framed views, and the false
matches against the other photos' banks.

    PYTHONPATH=src .venv/bin/python bench/robustness_framed.py
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from PIL import Image, ImageDraw, ImageFilter, ImageOps

from rescind.media.robust import bank_signals, match
from robustness import _FRAMED_VIEWS, family, load_split, plain_signal
from robustness_media import jpeg

Fill = tuple[int, int, int]


def canvas(im: Image.Image, aspect: float, fill: Fill, up: float = 0.0) -> Image.Image:
    """The picture on a canvas of width/height ``aspect``, ``up`` of its height above the
    middle."""
    w, h = im.size
    cw, ch = (round(h * aspect), h) if w / h < aspect else (w, round(w / aspect))
    out = Image.new("RGB", (cw, ch), fill)
    out.paste(im, ((cw - w) // 2, (ch - h) // 2 - round(up * ch)))
    return out


def caption(im: Image.Image, share: float, top: bool, fill: Fill, ink: Fill) -> Image.Image:
    """A strip of ``share`` of the height with text, above or below."""
    n = round(im.height * share)
    out = Image.new("RGB", (im.width, im.height + n), fill)
    out.paste(im, (0, n if top else 0))
    y = n // 3 if top else im.height + n // 3
    ImageDraw.Draw(out).text((im.width // 10, y), "so true lol", fill=ink)
    return out


def blurred_bars(im: Image.Image, aspect: float) -> Image.Image:
    """Bars filled with a blurred, stretched copy of the picture, as video apps do."""
    w, h = im.size
    cw, ch = (round(h * aspect), h) if w / h < aspect else (w, round(w / aspect))
    out = im.resize((cw, ch)).filter(ImageFilter.GaussianBlur(20))
    out.paste(im, ((cw - w) // 2, (ch - h) // 2))
    return out


def border(share: float, fill: Fill) -> Callable[[Image.Image], Image.Image]:
    return lambda im: ImageOps.expand(im, round(max(im.size) * share), fill)


WHITE, BLACK = (255, 255, 255), (0, 0, 0)
COPIES: dict[str, Callable[[Image.Image], Image.Image]] = {
    "border 1.5% white": border(0.015, WHITE),
    "border 3.5% grey (100)": border(0.035, (100, 100, 100)),
    "border 13% black": border(0.13, BLACK),
    "border 7.5% white, JPEG q70": lambda im: jpeg(70)(border(0.075, WHITE)(im), 0),
    "no-crop square, white": lambda im: canvas(im, 1.0, WHITE),
    "no-crop 4:5, white": lambda im: canvas(im, 0.8, WHITE),
    "letterbox 16:9, grey bars": lambda im: canvas(im, 16 / 9, (60, 60, 60)),
    "letterbox 16:9, blurred bars": lambda im: blurred_bars(im, 16 / 9),
    "story 9:16, 2.5% above the middle": lambda im: canvas(im, 9 / 16, WHITE, 0.025),
    "caption 11% above, black strip": lambda im: caption(im, 0.11, True, BLACK, WHITE),
    "caption 19% below, white strip": lambda im: caption(im, 0.19, False, WHITE, BLACK),
}


def main() -> None:
    photos: dict[str, Image.Image] = {}
    for split in ("tune", "held-out"):
        loaded, _ = load_split(split, Path(tempfile.mkdtemp(prefix="rescind-framed-")))
        photos |= loaded
    names = sorted(photos)
    bank = {n: bank_signals(photos[n], weak_views=True) for n in names}
    unframed = {
        n: [s for s in b if family(s.variant) not in _FRAMED_VIEWS] for n, b in bank.items()
    }
    print(f"{len(names)} photos; hashes only: found without / with the framed views, false")
    for label, make in COPIES.items():
        before = after = false = 0
        for n in names:
            sent = plain_signal(make(photos[n]))
            before += match(sent, unframed[n]) is not None
            after += match(sent, bank[n]) is not None
            false += sum(match(sent, bank[m]) is not None for m in names if m != n)
        print(f"{label:36} {before:3d} {after:3d} {false:3d}")


if __name__ == "__main__":
    main()
