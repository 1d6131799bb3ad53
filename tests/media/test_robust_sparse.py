"""Sparse pictures (text on a flat background): different captions do not match through
their cut or weak views, flat views match nothing, and copies of a caption are still found
and block (docs/matching.md, "Sparse pictures")."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont, ImageOps

from rescind.media.robust import (
    Signal,
    UploadView,
    bank_signals,
    banked_pair_limit,
    hamming_matrix,
    match,
    query_signals,
    signals_array,
)
from rescind.media.robust_sparse import SPARSE_SHARE, flat_share, is_sparse


def caption(line: str, size: int, bg: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """One centred line of text on a flat 800x450 background, as a caption or title card."""
    image = Image.new("RGB", (800, 450), bg)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=size)
    ink = (0, 0, 0) if sum(bg) > 300 else (255, 255, 255)
    draw.text(((800 - draw.textlength(line, font=font)) / 2, 200), line, fill=ink, font=font)
    return image


def unflagged(signals: list[Signal]) -> list[Signal]:
    """The same views without the sparse flag: how they counted before the rule."""
    return [replace(s, sparse=False) for s in signals]


def jpeg(image: Image.Image, quality: int = 75) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def shapes() -> Image.Image:
    """Shapes drawn on a flat background: large areas of exactly equal pixels."""
    image = Image.new("RGB", (480, 360), (40, 90, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse((40, 40, 220, 200), fill=(240, 200, 30))
    draw.rectangle((260, 120, 440, 320), fill=(200, 30, 60))
    draw.polygon([(60, 330), (200, 220), (240, 340)], fill=(20, 160, 80))
    draw.line((10, 350, 470, 10), fill=(250, 250, 250), width=6)
    return image


def test_two_different_captions_no_longer_match() -> None:
    """Two one-line captions on white: one's centre crop was 16 bits from the other's 4% top
    crop, both strong, so it blocked; the upload is sparse and that pair now needs 15."""
    first = caption("dbsqad klyr ul cpucro", 32)
    second = caption("fmrllvr njqioc dr xjzg", 40)
    for a, b in ((first, second), (second, first)):
        query, bank = query_signals(a, weak_views=True), bank_signals(b, weak_views=True)
        assert all(s.sparse for s in query) and not any(s.sparse for s in bank)
        before = match(unflagged(query), bank)
        assert before is not None and before.blockable and before.distance == 16
        assert match(query, bank) is None


def test_flat_views_match_nothing() -> None:
    """Two different captions at the top of a black picture: their bottom halves are empty,
    quality 0 and the same hash; that pair no longer counts, sparse upload or not."""
    first = caption("we never said that", 32, bg=(0, 0, 0)).crop((0, 150, 800, 450))
    second = caption("meet me at the station", 32, bg=(0, 0, 0)).crop((0, 150, 800, 450))
    query, bank = query_signals(first, weak_views=True), bank_signals(second, weak_views=True)
    (q_half,) = [s for s in query if s.variant == "half_b"]
    (b_half,) = [s for s in bank if s.variant == "half_b"]
    assert q_half.quality == b_half.quality == 0
    assert hamming_matrix(signals_array([q_half]), signals_array([b_half]))[0, 0] == 0
    for signals in (query, unflagged(query)):
        result = match(signals, bank)
        assert result is None or not any("half_b" in (q, b) for q, b, _ in result.pairs)


def test_copies_of_a_caption_are_found_and_block() -> None:
    banked = caption("dbsqad klyr ul cpucro", 32)
    bank = bank_signals(banked, weak_views=True)
    copies = {
        "jpeg": jpeg(banked),
        "half size": banked.resize((400, 225), Image.Resampling.BICUBIC),
        "crop 2% all round": banked.crop((16, 9, 784, 441)),
        "letterbox": ImageOps.pad(banked, (800, 800), color=(0, 0, 0)),
        "greyscale": banked.convert("L").convert("RGB"),
    }
    for name, copy in copies.items():
        query = query_signals(copy, weak_views=True)
        assert query[0].sparse, name
        result = match(query, bank)
        assert result is not None and result.blockable, name


def test_pictures_with_large_flat_areas_still_block() -> None:
    """Shapes on a flat background are sparse too: their copies are judged by the same
    rule and still block, cut ones included (a whole view of the copy meets the bank's cut
    views at the usual radius)."""
    banked = shapes()
    assert flat_share(np.asarray(banked.convert("L"), np.float32)) >= SPARSE_SHARE
    bank = bank_signals(banked, weak_views=True)
    copies = {
        "jpeg": jpeg(banked, 50),
        "half size": banked.resize((240, 180), Image.Resampling.BICUBIC),
        "crop 5%": banked.crop((24, 0, 480, 360)),
        "black border": ImageOps.expand(banked, border=24, fill=(0, 0, 0)),
        "mirror": ImageOps.mirror(banked),
    }
    for name, copy in copies.items():
        result = match(query_signals(copy, weak_views=True), bank)
        assert result is not None and result.blockable, name


def test_photos_are_not_sparse() -> None:
    from skimage import data as skdata

    for name in ("astronaut", "camera", "coffee", "moon"):
        picture = np.asarray(Image.fromarray(getattr(skdata, name)()).convert("L"), np.float32)
        assert not is_sparse(picture)
        assert not any(s.sparse for s in query_signals(Image.fromarray(picture.astype(np.uint8))))


def test_title_cards_and_gradients_are_plain_video_frames_and_photos_are_not() -> None:
    """The video frames whose matches need more than one second (docs/matching.md, "Video"):
    a caption on black or over a gradient is plain, a photo (or a tile of one) is not."""
    import skimage.data

    from rescind.media.pdq import axis_weights, luma_to_64
    from rescind.media.robust_sparse import PLAIN_SHARE, is_plain, plain_share

    def buffer(image: Image.Image) -> NDArray[np.float32]:
        luma = np.asarray(image.convert("L"), dtype=np.float32)
        h, w = luma.shape
        return luma_to_64(luma, axis_weights(h, 1, h, False), axis_weights(w, 1, w, False))

    ramp = np.linspace(40, 220, 800, dtype=np.float32)[None, :, None] * np.ones((450, 1, 3))
    over_gradient = Image.fromarray(ramp.astype(np.uint8))
    ImageDraw.Draw(over_gradient).text(
        (200, 200), "Summer Holiday", fill=(255, 255, 255), font=ImageFont.load_default(size=40)
    )
    for plain in (caption("Weekly Recap", 40, (0, 0, 0)), over_gradient):
        assert is_plain(buffer(plain))
    for photo in (skimage.data.astronaut(), skimage.data.coffee(), skimage.data.camera()):
        image = Image.fromarray(photo)
        assert plain_share(buffer(image)) < PLAIN_SHARE
        # As a video frame in JPEG-like noise, too.
        assert not is_plain(buffer(jpeg(image, 40)))


@dataclass(frozen=True)
class _Banked:
    """A banked hash by its stored flags, as the matcher and the copy sweep hold it."""

    quality: int | None = 100
    cut: bool = False
    turned: bool = False
    equalised: bool = False
    half: bool = False
    smooth: bool = False


def test_a_sparse_uploads_cut_view_meets_a_banked_whole_view_within_15_bits_only() -> None:
    """Two meme-band layouts (a caption strip, a black box, a caption strip) met cut against
    whole, an upload's `shift_lr4` against the other's `full`, 30 bits apart and both strong:
    a sparse upload's cut views are held to 15 bits against whole views as against cut ones,
    in `match` and in the rule the matcher and the copy sweep share. Its whole views, and a
    photo's cut views, keep 31."""
    rng = np.random.default_rng(5)
    bits = rng.integers(0, 2, 256).astype(bool)

    def at(n: int) -> bytes:
        flipped = bits.copy()
        flipped[:n] ^= True
        return np.packbits(flipped).tobytes()

    banked = Signal(np.packbits(bits).tobytes(), 100, "full")
    for n, found in ((15, True), (16, False), (30, False)):
        assert (match([Signal(at(n), 100, "shift_lr4", sparse=True)], [banked]) is not None) is (
            found
        ), n
    assert match([Signal(at(30), 100, "shift_lr4")], [banked]) is not None
    assert match([Signal(at(30), 100, "full", sparse=True)], [banked]) is not None
    for variant, limit in (("shift_lr4", 15), ("crop_c92", 15), ("full", 31), (None, 31)):
        upload = UploadView.of(variant, 100, sparse=True)
        assert banked_pair_limit(upload, _Banked(), 31) == limit, variant
        assert banked_pair_limit(upload, _Banked(cut=True), 31) == limit, variant


def test_a_sparse_uploads_equalised_halves_meet_nothing() -> None:
    """Two weak text pictures of the tune-hazy sweep (quality 8 and 3) met through their
    equalised views, the upload's `eq_half_r` against the other's `eq_grid_5555` at 10 bits
    (review level): a sparse upload's equalised halves meet no banked view, in `match` and in
    the rule the matcher and the copy sweep share. Its other equalised views, and a photo's
    equalised halves, keep the equalised rule (16 bits)."""
    bits = bytes(32)
    banked = Signal(bits, 100, "eq_grid_5555")
    assert match([Signal(bits, 8, "eq_half_r", sparse=True)], [banked]) is None
    assert match([Signal(bits, 8, "eq_untrimmed_half_t", sparse=True)], [banked]) is None
    for query in (Signal(bits, 8, "eq_crop_c92", sparse=True), Signal(bits, 8, "eq_half_r")):
        result = match([query], [banked])
        assert result is not None and not result.blockable, query.variant
    assert UploadView.of("eq_half_r", 8, weak=True, sparse=True).inert
    eq_banked = _Banked(cut=True, equalised=True)
    for variant, sparse, limit in (
        ("eq_half_r", True, -1),
        ("eq_half_r", False, 16),
        ("eq_crop_c92", True, 16),
    ):
        upload = UploadView.of(variant, 8, weak=True, sparse=sparse)
        assert banked_pair_limit(upload, eq_banked, 31) == limit, (variant, sparse)


def test_a_hazy_picture_in_a_jpegd_phone_screenshot_is_not_sparse() -> None:
    """Sparse means sparse inside every trim. In a phone screenshot through JPEG the tight
    trim keeps the status bar and the dark app background above the picture (the bar's
    first line is no longer flat), so the tight view is still half flat; the loose trim
    finds the picture. Judged by the tight view alone (before), the upload was sparse and
    its weak views, the hazy picture's own (``trimmed_jpeg``), met nothing."""
    from .test_robust_hazy import hazy

    width, height, status, nav = 320, 569, 22, 38
    canvas = Image.new("RGB", (width, height), (18, 18, 18))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, width, status), fill=(200, 30, 60))
    draw.text((11, 4), "12:34", fill=(255, 255, 255), font=ImageFont.load_default(size=11))
    draw.rectangle((0, height - nav, width, height), fill=(200, 30, 60))
    picture = hazy("coffee").resize((width, width), Image.Resampling.LANCZOS)
    canvas.paste(picture, (0, status + (height - status - nav - width) // 2))
    shot = jpeg(canvas, 75)
    signals = query_signals(shot, weak_views=True)
    assert "trimmed_jpeg" in {s.variant for s in signals}
    assert not any(s.sparse for s in signals)
    # A caption in the same frame stays sparse: its loose trim holds the text's flat field.
    captioned = canvas.copy()
    captioned.paste(caption("see you at eight", 40).resize((width, 180)), (0, 200))
    assert all(s.sparse for s in query_signals(jpeg(captioned, 75), weak_views=True))
