"""A flat, hazy picture inside a pad, bars or a screenshot frame: the query's bounded trim.

The plain trim takes a flat, hazy picture (flat to its tolerance line by line) for one more
bar after the pad and runs to the far edge: no trim at all, so the copy's views were of the
picture with its pad and never met the bank's (docs/matching.md, "Hazy pictures in a frame").
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageOps

from rescind.media.pdq import pdq_luma
from rescind.media.robust import MIN_QUALITY, bank_signals, is_smooth, match, query_signals
from rescind.media.robust_geometry import JPEG_TOLERANCE, trim_box, working_copy

from .test_robust import hazy_sky, photo


def padded(image: Image.Image, frac: float, fill: tuple[int, int, int]) -> Image.Image:
    return ImageOps.expand(image, border=round(max(image.size) * frac), fill=fill)


def hazy(name: str) -> Image.Image:
    """A photo made 256x256, soft and hazy (PDQ quality far below 50, not smooth)."""
    from PIL import ImageFilter

    small = photo(name).resize((256, 256), Image.Resampling.LANCZOS)
    soft = np.asarray(small.filter(ImageFilter.GaussianBlur(2)), np.float32)
    pixels = np.round(175 + (soft - soft.mean(axis=(0, 1))) * 0.05)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def test_the_bounded_trim_finds_the_pad_around_a_hazy_picture() -> None:
    image = padded(hazy("camera"), 0.10, (0, 0, 0))
    work = working_copy(np.asarray(image))
    assert trim_box(work) is None  # the picture looks like one more bar to the far edge
    top, bottom, left, right = trim_box(work, bounded=True) or (0, 0, 0, 0)
    assert abs(top - 26) <= 1 and abs(left - 26) <= 1
    assert abs(bottom - 282) <= 1 and abs(right - 282) <= 1
    # A hazy picture with no pad has no bars, bounded or not.
    assert trim_box(working_copy(np.asarray(hazy("camera"))), bounded=True) is None


def test_a_hazy_pictures_padded_copy_is_found_for_review() -> None:
    """Fails before the bounded trim: no trim, every view of the copy holds the pad."""
    for name in ("camera", "coffee", "coins"):
        image = hazy(name)
        bank = bank_signals(image, weak_views=True)
        assert bank[0].quality < MIN_QUALITY and not is_smooth(pdq_luma(np.asarray(image)))
        for fill in ((0, 0, 0), (255, 255, 255)):
            result = match(query_signals(padded(image, 0.10, fill), weak_views=True), bank)
            assert result is not None, (name, fill)
            assert not result.blockable
            assert any(q.removeprefix("eq_") == "trimmed" for q, _, _ in result.pairs)


def test_another_hazy_picture_in_a_pad_is_not_found() -> None:
    """The false-match guard: the trimmed view of one padded hazy picture (or sky) meets
    neither another hazy picture nor another sky."""
    skies = [hazy_sky(1, (125, 160, 205)), hazy_sky(2, (190, 192, 192))]
    pictures = [hazy("camera"), hazy("coffee"), hazy("coins"), *skies]
    banks = [bank_signals(p, weak_views=True) for p in pictures]
    for i, picture in enumerate(pictures):
        for fill in ((0, 0, 0), (255, 255, 255)):
            query = query_signals(padded(picture, 0.10, fill), weak_views=True)
            for j, bank in enumerate(banks):
                assert (match(query, bank) is not None) is (i == j), (i, j, fill)


def flat_shapes() -> Image.Image:
    """A generated picture of flat shapes (a light ground, a flat rectangle, two lines), as
    the held-out sweep's: its flat parts look like bars to the bounded trim."""
    from PIL import ImageDraw

    image = Image.new("RGB", (324, 270), (208, 246, 226))
    draw = ImageDraw.Draw(image)
    draw.rectangle((84, 10, 287, 190), fill=(146, 224, 183))
    draw.line((32, 22, 45, 255), fill=(160, 100, 40), width=10)
    draw.line((210, 190, 215, 237), fill=(200, 50, 90), width=3)
    return image


def test_the_bounded_trim_is_kept_only_around_a_weak_picture() -> None:
    """A picture of flat shapes whose plain trim finds nothing: the bounded trim finds a box
    (its "bars" are its own flat parts), but the picture inside is strong, so the upload is
    checked untrimmed as before. Ungated, its flat centre crop's equalised view met another
    generated picture's at 2 bits on the held-out sweep (a review-level false match)."""
    work = working_copy(np.asarray(flat_shapes()))
    assert trim_box(work) is None and trim_box(work, bounded=True) is not None
    signals = query_signals(flat_shapes(), weak_views=True)
    assert not any(s.variant.partition("/")[0].removeprefix("eq_") == "trimmed" for s in signals)


def test_a_few_flat_edge_lines_of_a_hazy_picture_are_not_a_pad() -> None:
    """Fails before the floor on the bounded trim (BOUNDED_MIN_CUT): on the held-out split,
    greyscale left a hazy picture's two edge rows and columns flat, the bounded trim cut
    those 2 pixels, and the check's views, taken inside them, no longer met the bank's cuts
    of the picture. Here two flat edge lines of a hazy picture, a little darker: the bounded
    trim gives no box (the floor is trim_box's own, so every caller of a bounded trim has
    it) and the check keeps the picture whole (before the floor, it took a trimmed view
    inside the 2 pixels; these three pictures' copies are found either way, the held-out
    one was not)."""
    found = 0
    for name in ("camera", "coffee", "coins"):
        image = hazy(name)
        pixels = np.asarray(image).copy()
        level = int(np.median(pixels)) - 24  # flat lines a little darker than the picture
        pixels[:2] = level
        pixels[:, :2] = level
        edged = np.asarray(working_copy(pixels))
        assert trim_box(edged, bounded=True) is None  # 2-pixel "bars": edge lines, not a pad
        query = query_signals(Image.fromarray(pixels), weak_views=True)
        assert not any(s.variant.startswith("trimmed") for s in query), name
        found += match(query, bank_signals(image, weak_views=True)) is not None
    assert found == 3


def test_a_pad_under_the_floor_is_not_trimmed_and_the_copy_is_checked_as_before() -> None:
    """The floor's edge, on padded copies of a hazy picture (262 and 260 px square): a pad of
    3 pixels cuts 2.3% of each side and is a bounded trim's box; a pad of 2 pixels cuts 1.5%
    and is none (it failed when the floor was applied after trim_box, by the query only:
    trim_box gave the 2-pixel box). The copy in the 2-pixel pad is checked as before the
    bounded trim, with no ``trimmed`` view of its own (its equalised copy's plain trim still
    finds the pad), and is found."""
    image = hazy("coins")
    bank = bank_signals(image, weak_views=True)
    for fill in ((0, 0, 0), (255, 255, 255)):
        thin, thinner = (ImageOps.expand(image, border=k, fill=fill) for k in (3, 2))
        assert trim_box(working_copy(np.asarray(thin)), bounded=True) == (3, 259, 3, 259)
        assert trim_box(working_copy(np.asarray(thinner)), bounded=True) is None
        query = query_signals(thinner, weak_views=True)
        assert not any(s.variant.startswith("trimmed") for s in query), fill
        assert any(s.variant.startswith("eq_trimmed") for s in query), fill
        assert match(query, bank) is not None, fill


def test_the_inside_of_a_pad_both_bounded_trims_find_is_hashed_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The tight and the loose bounded trim find the same pad around a hazy picture: the
    check hashes the picture inside it once to see whether it is weak (twice before: the
    cost of a check), and its views are the same (one ``trimmed`` view, no
    ``trimmed_jpeg``)."""
    from rescind.media import robust

    work = working_copy(np.asarray(padded(hazy("coins"), 0.10, (0, 0, 0))))
    box = (26, 282, 26, 282)
    assert trim_box(work, bounded=True) == trim_box(work, JPEG_TOLERANCE, bounded=True) == box
    hashed: list[str] = []
    real_pdq = robust._pdq

    def counted(view: NDArray[np.float32], variant: str) -> robust.Signal:
        hashed.append(variant)
        return real_pdq(view, variant)

    monkeypatch.setattr(robust, "_pdq", counted)
    views = robust._trimmed_views(work, bounded=True)
    assert [name for name, _ in views] == ["trimmed"]
    assert views[0][1].shape == (256, 256)
    assert len(hashed) == 1
