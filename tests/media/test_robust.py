"""Copy-robust signals: copies plain PDQ misses are found, distinct pictures are not, weak
hashes never block, bad input is refused clearly."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pdqhash
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageOps
from skimage import data as skdata

from rescind.media.pdq import hash_luma, pdq_luma
from rescind.media.robust import (
    DEFAULT_THRESHOLD,
    EQUALISED,
    EQUALISED_PREFIX,
    EQUALISED_SHIFT_THRESHOLD,
    FAINT,
    FAINT_CUT_QUALITY,
    FRAMED_VARIANTS,
    GRID_VARIANTS,
    MIN_QUALITY,
    ORIENTATIONS,
    QUERY_CROPS,
    UNTRIMMED_PREFIX,
    UNTRIMMED_VIEWS,
    WEAK,
    WEAK_VIEW_THRESHOLD,
    RobustInputError,
    Signal,
    UploadView,
    bank_signals,
    banked_pair_limit,
    hamming_matrix,
    is_smooth,
    match,
    pair_limits,
    query_signals,
    signals_array,
    view_kinds,
)
from rescind.media.robust_geometry import (
    JPEG_TOLERANCE,
    as_rgb_array,
    canvas,
    render_variant,
    straightened,
    trim_box,
    working_copy,
)


def photo(name: str, side: int = 256) -> Image.Image:
    """A photo scikit-image ships, scaled down so the tests stay fast."""
    image = Image.fromarray(getattr(skdata, name)()).convert("RGB")
    scale = side / max(image.size)
    return image.resize((round(image.width * scale), round(image.height * scale)))


def plain(signals: list[Signal]) -> list[Signal]:
    """What plain PDQ matching uses: the one hash of the original orientation."""
    return [s for s in signals if s.variant == "full"]


def crop_one_side(image: Image.Image, frac: float) -> Image.Image:
    return image.crop((round(image.width * frac), 0, image.width, image.height))


def letterbox(image: Image.Image) -> Image.Image:
    width = round(image.height * 16 / 9)
    canvas = Image.new("RGB", (width, image.height))
    canvas.paste(image, ((width - image.width) // 2, 0))
    return canvas


def jpeg(image: Image.Image, quality: int = 75) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    with Image.open(io.BytesIO(buf.getvalue())) as decoded:
        return decoded.convert("RGB")


COPIES: dict[str, Callable[[Image.Image], Image.Image]] = {
    "crop 5% one side": lambda im: crop_one_side(im, 0.05),
    "crop 5% all sides": lambda im: ImageOps.crop(im, round(im.width * 0.05)),
    "border 5% white": lambda im: ImageOps.expand(im, round(im.width * 0.05), (255, 255, 255)),
    "border 5% colour": lambda im: ImageOps.expand(im, round(im.width * 0.05), (30, 140, 200)),
    "letterbox 16:9": letterbox,
    "border 5% white, JPEG q75": lambda im: jpeg(
        ImageOps.expand(im, round(im.width * 0.05), (255, 255, 255))
    ),
    "mirror": ImageOps.mirror,
    "rotate 90": lambda im: im.transpose(Image.Transpose.ROTATE_90),
    "tilt 3 degrees": lambda im: im.rotate(3, resample=Image.Resampling.BICUBIC),
}


@pytest.fixture(scope="module")
def bank() -> dict[str, list[Signal]]:
    return {name: bank_signals(photo(name)) for name in ("astronaut", "coffee", "chelsea")}


@pytest.mark.parametrize("copy", list(COPIES))
@pytest.mark.parametrize("name", ["astronaut", "coffee"])
def test_copy_found_where_plain_pdq_misses(
    bank: dict[str, list[Signal]], name: str, copy: str
) -> None:
    query = query_signals(COPIES[copy](photo(name)))
    assert match(plain(query), plain(bank[name])) is None, "plain PDQ already finds it"
    result = match(query, bank[name])
    assert result is not None
    assert result.blockable
    assert result.distance <= DEFAULT_THRESHOLD
    assert result.pairs[0] == (result.query_variant, result.bank_variant, result.distance)
    assert not result.plain


@pytest.mark.parametrize("copy", list(COPIES))
def test_copies_do_not_match_other_pictures(bank: dict[str, list[Signal]], copy: str) -> None:
    query = query_signals(COPIES[copy](photo("astronaut")))
    assert match(query, bank["coffee"]) is None
    assert match(query, bank["chelsea"]) is None


def test_distinct_pictures_and_synthetic_images_do_not_match(
    bank: dict[str, list[Signal]],
) -> None:
    rng = np.random.default_rng(3)
    synthetic = [
        Image.fromarray(rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)),
        Image.fromarray(np.repeat(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8), 10, 0)),
        photo("camera"),
        photo("rocket"),
    ]
    for image in synthetic:
        query = query_signals(image)
        for signals in bank.values():
            assert match(query, signals) is None
    assert match(query_signals(photo("coffee")), bank["astronaut"]) is None


def test_exact_copy_matches_at_distance_zero(bank: dict[str, list[Signal]]) -> None:
    result = match(query_signals(photo("chelsea")), bank["chelsea"])
    assert result is not None
    assert (result.distance, result.query_variant, result.bank_variant) == (0, "full", "full")
    assert result.blockable
    assert result.plain


def dark_flat(seed: int) -> Image.Image:
    """A nearly black picture with faint structure: PDQ quality far below 50."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 4, (8, 8, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((200, 200), Image.Resampling.BILINEAR)


def test_low_quality_hashes_never_block_alone() -> None:
    image = dark_flat(1)
    bank = bank_signals(image)
    query = query_signals(image)
    assert bank[0].quality < 50
    assert [s.variant for s in bank] == ["full"], "weak extra views are not stored"
    assert [s.variant for s in query] == ["full"], "weak extra views are not queried"
    result = match(query, bank)
    assert result is not None
    assert result.distance == 0
    assert not result.blockable


@pytest.mark.parametrize("fill", [0, 128, 255])
def test_flat_pictures_are_hashed_not_refused(fill: int) -> None:
    flat = np.full((120, 90, 3), fill, np.uint8)  # all border, nothing left after a trim
    for compute in (bank_signals, query_signals):
        signals = compute(flat)
        assert signals[0].variant == "full"
        assert signals[0].quality < 50
    assert trim_box(flat) is None


def test_a_tilted_flat_picture_does_not_match_another_flat_picture() -> None:
    # Black corners give any tilted flat picture a strong hash: a bank entry of a flat picture
    # must not hold tilt views, or every flat upload tilted the same way would block on it.
    banked = dark_flat(1).point(lambda v: v + 120)
    other = dark_flat(2).point(lambda v: v + 200)
    bank = bank_signals(banked, weak_views=True)
    assert bank[0].quality < 50
    assert not [s for s in bank if s.variant.startswith("tilt")]
    for degrees in (-5, -4, -3, 3, 4, 5):
        tilted = other.rotate(degrees, resample=Image.Resampling.BICUBIC)
        assert match(query_signals(tilted, weak_views=True), bank) is None


def test_weak_views_find_copies_of_a_weak_picture_for_review_only() -> None:
    image = dark_flat(4)
    bank = bank_signals(image, weak_views=True)
    assert len(bank) > 1 and (view_kinds(bank)[1:] & (WEAK | EQUALISED)).all()
    for copy in (ImageOps.mirror(image), image.transpose(Image.Transpose.ROTATE_90)):
        assert match(query_signals(copy), bank_signals(image)) is None, "needs the weak views"
        result = match(query_signals(copy, weak_views=True), bank)
        assert result is not None
        assert result.distance <= WEAK_VIEW_THRESHOLD
        assert not result.blockable


def test_weak_extra_views_match_only_within_the_weak_threshold() -> None:
    bits = np.zeros(32, np.uint8)
    near = bits.copy()
    near[: (WEAK_VIEW_THRESHOLD + 8) // 8] = 0xFF  # WEAK_VIEW_THRESHOLD + 8 bits away
    a, b = bytes(bits), bytes(near)
    assert match([Signal(a, 90, "full")], [Signal(b, 90, "crop_c92")]) is not None
    assert match([Signal(a, 30, "full")], [Signal(b, 30, "full")]) is not None  # plain PDQ rule
    for query, bank in (
        (Signal(a, 30, "full/rot90"), Signal(b, 90, "full")),
        (Signal(a, 90, "full"), Signal(b, 30, "crop_c92")),
    ):
        assert (view_kinds([query, bank]) & WEAK).any()
        assert match([query], [bank]) is None
        assert match([query], [bank], weak_threshold=DEFAULT_THRESHOLD) is not None


def test_turned_views_are_not_compared_with_crops_and_tilts() -> None:
    bits = bytes(32)
    turned, cut = Signal(bits, 90, "full/rot90"), Signal(bits, 90, "crop_l6")
    assert match([turned], [cut]) is None
    # A turned view of the query meets no turned view of the bank (that repeats the unturned
    # pair); the bank's turned views meet the upload's whole views as sent, as the platform's
    # cut entries do, but not its crops and halves (a turned view never meets a cut one).
    assert match([turned], [Signal(bits, 90, "full/flip_h")]) is None
    assert match([cut], [turned]) is None
    assert match([Signal(bits, 90, "half_b")], [Signal(bits, 90, "crop_t4/flip_h")]) is None
    assert match([Signal(bits, 90, "full")], [turned]) is not None
    assert match([Signal(bits, 90, "trimmed_jpeg")], [turned]) is not None
    assert match([Signal(bits, 90, "full")], [Signal(bits, 90, "crop_c92/flip_h")]) is not None
    assert match([Signal(bits, 90, "trimmed/flip_h")], [Signal(bits, 90, "trimmed")]) is not None
    assert match([Signal(bits, 90, "crop_c92")], [cut]) is not None


@pytest.mark.parametrize("cuts", [(0.01, 0.06, 0.07, 0.02), (0.07, 0.01, 0.02, 0.06)])
def test_an_uneven_crop_is_found_through_the_shifted_crops(
    cuts: tuple[float, float, float, float],
) -> None:
    """Each side cut by its own amount (left, top, right, bottom): no bank view is that crop,
    and the upload as it is misses; a shifted crop of the upload meets a bank crop."""
    image = photo("coffee")
    w, h = image.size
    copy = image.crop(
        (round(w * cuts[0]), round(h * cuts[1]), w - round(w * cuts[2]), h - round(h * cuts[3]))
    )
    query, bank = query_signals(copy), bank_signals(image)
    unshifted = [s for s in query if not s.variant.startswith("shift_")]
    assert len(unshifted) < len(query)
    assert match(unshifted, bank) is None
    result = match(query, bank)
    assert result is not None
    assert result.blockable
    assert result.query_variant.startswith("shift_")


@pytest.mark.parametrize(
    ("name", "cuts"),
    [
        ("coffee", (0.04, 0.08, 0.03, 0.03)),
        ("chelsea", (0.07, 0.03, 0.06, 0.0)),
        ("astronaut", (0.07, 0.07, 0.01, 0.04)),
    ],
)
def test_an_uneven_crop_the_shifted_crops_miss_meets_the_grid(
    name: str, cuts: tuple[float, float, float, float]
) -> None:
    """Four sides cut by four amounts that no shifted crop brings back within PDQ's reach of
    a centre, one-side or corner crop: the bank's uneven-crop grid (5 or 7% off each side)
    meets one of the upload's 0-or-4% crops, and the match may block."""
    image = photo(name)
    w, h = image.size
    copy = image.crop(
        (round(w * cuts[0]), round(h * cuts[1]), w - round(w * cuts[2]), h - round(h * cuts[3]))
    )
    query, bank = query_signals(copy), bank_signals(image)
    grid = {v.name for v in GRID_VARIANTS}
    assert len([s for s in bank if s.variant in grid]) == len(GRID_VARIANTS) == 16
    assert match(query, [s for s in bank if s.variant not in grid]) is None
    result = match(query, bank)
    assert result is not None
    assert result.blockable
    assert result.bank_variant in grid


@pytest.mark.parametrize("centre", [(0.25, 0.3), (0.5, 0.3), (0.25, 0.5)])
def test_a_picture_with_a_dark_edge_is_also_cut_untrimmed(centre: tuple[float, float]) -> None:
    """The camera man's dark sky is flat only to the loose trim: the bank cuts its halves
    from the picture as banked, so the upload is cut untrimmed too, and a sticker over one
    half leaves the other to meet the bank's (missed before)."""
    image = photo("camera")
    work = working_copy(as_rgb_array(image))
    assert trim_box(work) is None and trim_box(work, JPEG_TOLERANCE) is not None
    copy = image.copy()
    x, y, r = centre[0] * image.width, centre[1] * image.height, 0.12 * image.width
    ImageDraw.Draw(copy).ellipse((x - r, y - r, x + r, y + r), fill=(255, 204, 0))
    query, bank = query_signals(copy), bank_signals(image)
    trimmed_only = [s for s in query if not s.variant.startswith(UNTRIMMED_PREFIX)]
    assert {s.variant for s in query} - {s.variant for s in trimmed_only} <= UNTRIMMED_VIEWS
    assert match(trimmed_only, bank) is None
    result = match(query, bank)
    assert result is not None and result.blockable
    assert result.query_variant.startswith(UNTRIMMED_PREFIX)


def test_only_a_border_the_loose_trim_alone_finds_gets_untrimmed_cuts() -> None:
    """No border, or a pad the tight trim finds: the cut views as before, nothing added."""
    image = photo("astronaut")
    for upload, expected in (
        (image, False),
        (ImageOps.expand(image, 12, (255, 255, 255)), False),
        (photo("camera"), True),
    ):
        untrimmed = [s for s in query_signals(upload) if s.variant in UNTRIMMED_VIEWS]
        assert bool(untrimmed) is expected


def test_query_crops_are_cut_from_the_trimmed_picture() -> None:
    image = photo("astronaut")
    padded = ImageOps.expand(image, 12, (255, 255, 255))
    names = [v.name for v in QUERY_CROPS]
    for query in (query_signals(image), query_signals(padded)):
        assert [s.variant for s in query if s.variant.startswith("crop_")] == names
    assert [s.hash for s in query_signals(padded) if s.variant in names] == [
        s.hash for s in query_signals(image) if s.variant in names
    ]


def test_blockable_needs_a_strong_pair_on_both_sides() -> None:
    bits = bytes(range(32))
    strong, weak = Signal(bits, 100, "full"), Signal(bits, 20, "full")
    for query, bank in ((weak, strong), (strong, weak), (weak, weak)):
        result = match([query], [bank])
        assert result is not None
        assert not result.blockable
    result = match([weak, strong], [strong])
    assert result is not None
    assert result.blockable
    assert match([strong], [strong], min_quality=101) is not None
    assert not match([strong], [strong], min_quality=101).blockable  # type: ignore[union-attr]


def test_match_of_nothing_is_none() -> None:
    signal = Signal(bytes(32), 100, "full")
    assert match([], [signal]) is None
    assert match([signal], []) is None


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((0, 0, 3), np.uint8), "empty"),
        (np.zeros((1, 1, 3), np.uint8), ">= 16"),
        (np.zeros((64, 64, 3), np.float32), "uint8"),
        (np.zeros((64, 64), np.uint8), "shape"),
        (np.zeros((64, 64, 4), np.uint8), "shape"),
        (Image.new("RGB", (1, 1)), ">= 16"),
        ("picture.jpg", "PIL image or a numpy array"),
    ],
)
def test_bad_input_is_refused_clearly(image: object, message: str) -> None:
    for compute in (bank_signals, query_signals):
        with pytest.raises(RobustInputError, match=message):
            compute(image)  # type: ignore[arg-type]


def test_pil_and_array_inputs_agree() -> None:
    image = photo("coffee")
    grey = image.convert("L")
    assert bank_signals(image) == bank_signals(np.asarray(image))
    assert query_signals(grey) == query_signals(np.asarray(grey.convert("RGB")))


def test_hash_bytes_follow_the_threatexchange_hex_convention() -> None:
    array = np.asarray(photo("chelsea"))
    bits, quality = pdqhash.compute(array)
    expected = format(int("".join(str(int(b)) for b in bits), 2), "064x")
    full = query_signals(array)[0]
    assert (full.variant, full.hex, full.quality) == ("full", expected, int(quality))
    assert signals_array([full]).shape == (1, 32)
    assert signals_array([]).shape == (0, 32)


def pixel_orientations(array: NDArray[np.uint8]) -> list[NDArray[np.uint8]]:
    """The 8 orientations by moving pixels, in the order ORIENTATIONS names them."""
    return [
        array,
        np.rot90(array, 1),
        np.rot90(array, 2),
        np.rot90(array, 3),
        array[::-1],
        array[:, ::-1],
        array.transpose(1, 0, 2),
        np.rot90(array, 2).transpose(1, 0, 2),
    ]


def test_orientation_names_match_pdqhash_dihedral_order() -> None:
    array = np.asarray(photo("astronaut"))
    query = query_signals(array)
    assert [s.variant for s in query[:8]] == ["full", *(f"full/{o}" for o in ORIENTATIONS[1:])]
    assert ORIENTATIONS[0] == "original"
    for name, moved in zip(ORIENTATIONS, pixel_orientations(array), strict=True):
        bank = plain(bank_signals(np.ascontiguousarray(moved)))
        result = match(query, bank)
        assert result is not None
        assert result.distance <= 8  # the working copy is 256 px here: no resampling
        assert result.query_variant == ("full" if name == "original" else f"full/{name}")


def test_trim_box_finds_pads_and_bars() -> None:
    image = photo("astronaut", 200)
    padded = ImageOps.expand(image, 20, (250, 250, 250))
    canvas = Image.new("RGB", (240, 330), (200, 30, 30))  # a red status bar, dark app area
    canvas.paste(Image.new("RGB", (240, 300), (15, 15, 15)), (0, 30))
    canvas.paste(image, (20, 70))
    assert trim_box(np.asarray(padded)) == (20, 220, 20, 220)
    # Looked for on a copy of at most 256 px, so within a pixel or two on larger images.
    found = trim_box(np.asarray(canvas))
    assert found is not None
    assert np.abs(np.subtract(found, (70, 270, 20, 220))).max() <= 2
    assert trim_box(np.asarray(image)) is None


def test_hamming_matrix_counts_differing_bits() -> None:
    rng = np.random.default_rng(5)
    a = rng.integers(0, 256, (5, 32), dtype=np.uint8)
    b = rng.integers(0, 256, (7, 32), dtype=np.uint8)
    naive = np.unpackbits(a[:, None] ^ b[None], axis=2).sum(axis=2)
    assert np.array_equal(hamming_matrix(a, b), naive)


def test_feed_crops_are_banked_only_where_they_cut() -> None:
    square = {s.variant for s in bank_signals(np.asarray(photo("astronaut")))}
    wide = {s.variant for s in bank_signals(np.asarray(photo("astronaut"))[:, :200])}
    assert "aspect_1x1" not in square and "aspect_9x16" in square  # a square is its own 1:1
    assert "aspect_1x1" in wide and "aspect_1x1/flip_h" in wide


def test_straightened_views_have_no_black_corners() -> None:
    flat = np.full((300, 450), 200.0, np.float32)
    for degrees in (-6.0, 3.0, 6.0):
        view = render_variant(flat, straightened(degrees))
        assert view is not None
        # The turned picture's black corners were cut away (the outermost pixel may still
        # blend a little of them: the rectangle touches the turned edges).
        assert view[2:-2, 2:-2].min() > 150, degrees
        assert abs(view.shape[1] / view.shape[0] - 1.5) < 0.02  # the picture's own shape


def _gradient(size: tuple[int, int], angle: float, periods: float, lo: int, hi: int) -> Image.Image:
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    t = (np.cos(angle) * xx / width + np.sin(angle) * yy / height) * periods
    wave = lo + (hi - lo) * (np.sin(t * np.pi) + 1) / 2
    return Image.fromarray(wave.clip(0, 255).astype(np.uint8)).convert("RGB")


def test_two_smooth_gradients_do_not_match_where_plain_pdq_would_block() -> None:
    """Smooth pictures: whole views only, matched within the weak radius, never blockable."""
    banked = _gradient((320, 240), 0.5, 3.0, 20, 235)
    other = _gradient((280, 260), 0.55, 3.1, 60, 200)
    bank, query = bank_signals(banked, weak_views=True), query_signals(other, weak_views=True)
    # Plain PDQ: 22 bits apart, quality 100 both: it would block one on the other.
    (plain_bank,), (plain_query,) = bank[:1], query[:1]
    assert min(plain_bank.quality, plain_query.quality) == 100
    distance = int(hamming_matrix(signals_array([plain_query]), signals_array([plain_bank]))[0, 0])
    assert WEAK_VIEW_THRESHOLD < distance <= DEFAULT_THRESHOLD
    # No turns, crops or tilts of a smooth picture, on either side.
    assert [s.variant for s in bank] == ["full"] and bank[0].smooth
    assert [s.variant for s in query] == ["full"] and query[0].smooth
    assert match(query, bank) is None
    # The same pixels are found, for review only.
    same = match(query_signals(banked), bank)
    assert same is not None and same.distance == 0 and not same.blockable


def rings(
    size: tuple[int, int],
    centre: tuple[float, float],
    periods: float,
    inner: tuple[int, int, int],
    outer: tuple[int, int, int],
) -> Image.Image:
    """Sine rings round ``centre`` (a share of the width and height), ``periods`` half-waves
    out, between two colours: one geometry, and as many colourings as colours."""
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    t = np.hypot(xx / width - centre[0], yy / height - centre[1]) * periods
    wave = ((np.sin(t * np.pi) + 1) / 2)[..., None]
    low, high = np.array(inner, np.float32), np.array(outer, np.float32)
    return Image.fromarray((low + (high - low) * wave).clip(0, 255).astype(np.uint8))


# One ring geometry in two colourings: teal to lilac (luma 112 and 96: PDQ quality 0, as a
# JPEG) and white to black (quality 100). The held-out seed-22 sweep's false pairs were such.
RING_GEOMETRY = ((320, 240), (0.91, 0.64), 4.8)
DIM_RINGS = ((39, 143, 145), (129, 57, 213))
VIVID_RINGS = ((255, 255, 255), (0, 0, 0))


def test_a_dim_smooth_picture_does_not_meet_a_vivid_gradient_of_its_geometry() -> None:
    """A smooth picture of PDQ quality 0 lands within 16 bits of a strong gradient of the same
    geometry in other colours (its bits compare DCT coefficients near zero): the pair never
    matches, either way, while the dim picture's own JPEG copy still does (review only)."""
    dim = jpeg(rings(*RING_GEOMETRY, *DIM_RINGS), 90)
    vivid = rings(*RING_GEOMETRY, *VIVID_RINGS)
    banked_dim, banked_vivid = bank_signals(dim, True), bank_signals(vivid, True)
    assert banked_dim[0].smooth and banked_dim[0].quality == 0
    assert banked_vivid[0].smooth and banked_vivid[0].quality == 100
    plain = signals_array([banked_vivid[0], banked_dim[0]])
    assert int(hamming_matrix(plain[:1], plain[1:])[0, 0]) <= WEAK_VIEW_THRESHOLD
    assert match(query_signals(vivid, True), banked_dim) is None
    assert match(query_signals(dim, True), banked_vivid) is None
    # A platform's bare hash (quality known, not known to be smooth) against the smooth entry.
    assert match(rescind_hash(vivid), banked_dim) is None
    kinds = view_kinds([banked_vivid[0], banked_dim[0]])
    assert pair_limits(kinds[:1], kinds[1:])[0, 0] == -1
    assert pair_limits(kinds[1:], kinds[:1])[0, 0] == -1
    copy = match(query_signals(jpeg(dim, 90), True), banked_dim)
    assert copy is not None and copy.distance <= WEAK_VIEW_THRESHOLD and not copy.blockable


@dataclass(frozen=True)
class _Entry:
    """A banked whole view by its stored flags, as the matcher and the copy sweep hold it."""

    quality: int | None
    smooth: bool
    cut: bool = False
    turned: bool = False
    equalised: bool = False
    half: bool = False


@pytest.mark.parametrize(
    ("upload", "banked", "smooth", "limit"),
    [
        (100, 0, (False, True), -1),  # a bare hash of a vivid gradient, a dim smooth entry
        (0, 66, (True, True), -1),
        (66, 0, (True, False), -1),  # the upload's flag decides when the entry has none
        (50, 0, (False, True), -1),
        (49, 0, (False, True), WEAK_VIEW_THRESHOLD),
        (100, 1, (False, True), WEAK_VIEW_THRESHOLD),
        (0, 0, (True, True), WEAK_VIEW_THRESHOLD),  # the dim picture's own copy
        (100, 100, (True, True), WEAK_VIEW_THRESHOLD),
        (100, 0, (False, False), DEFAULT_THRESHOLD),  # no smooth side: the usual rule
        (None, 0, (False, True), WEAK_VIEW_THRESHOLD),  # a hash sent without its quality
    ],
)
def test_the_smooth_gap_is_one_rule_for_signals_and_banked_entries(
    upload: int | None, banked: int, smooth: tuple[bool, bool], limit: int
) -> None:
    """`pair_limits` (the media path, the benchmark) and `banked_pair_limit` (the platform's
    matcher and copy sweep) refuse the same pairs: a smooth side, one quality 0 and the other
    50 or more; a quality not known is not held to it."""
    view = UploadView.of(None, upload, smooth=smooth[0])
    assert banked_pair_limit(view, _Entry(banked, smooth[1]), DEFAULT_THRESHOLD) == limit
    if upload is not None:
        bits = bytes(32)
        kinds = view_kinds(
            [Signal(bits, upload, "full", smooth[0]), Signal(bits, banked, "full", smooth[1])]
        )
        assert pair_limits(kinds[:1], kinds[1:])[0, 0] == limit


def test_photos_and_padded_photos_are_not_smooth() -> None:
    for name in ("astronaut", "camera", "coffee", "moon"):
        picture = photo(name)
        assert not any(s.smooth for s in bank_signals(picture))
        # Judged inside the borders: a letterboxed photo is still a photo.
        boxed = ImageOps.pad(picture, (picture.width, picture.width * 16 // 9), color="black")
        signals = query_signals(boxed)
        assert not any(s.smooth for s in signals) and len(signals) > 8
    assert is_smooth(np.asarray(_gradient((200, 150), 0.2, 1.5, 0, 255).convert("L"), np.float32))


def rescind_hash(image: Image.Image) -> list[Signal]:
    """What a platform that sends hashes sends: `rescind hash` of the upload, nothing else."""
    (h,) = hash_luma(pdq_luma(np.asarray(image.convert("RGB"))))
    return [Signal(bytes.fromhex(h.hash), h.quality, "full")]


def on_canvas(image: Image.Image, size: tuple[int, int], fill: int, top: int) -> Image.Image:
    out = Image.new("RGB", size, (fill, fill, fill))
    out.paste(image, ((size[0] - image.width) // 2, top))
    return out


def with_caption(image: Image.Image, share: float) -> Image.Image:
    """A white strip with black text added above the picture, as memes do."""
    strip = round(image.height * share)
    out = on_canvas(image, (image.width, image.height + strip), 255, strip)
    ImageDraw.Draw(out).text((8, strip // 4), "look at this", fill=(0, 0, 0))
    return out


# Frames of widths and colours between the banked ones (no view is any of them exactly).
FRAMED_COPIES: dict[str, Callable[[Image.Image], Image.Image]] = {
    "white border 6.5%": lambda im: ImageOps.expand(im, round(max(im.size) * 0.065), "white"),
    "black border 2.5%, JPEG q80": lambda im: jpeg(
        ImageOps.expand(im, round(max(im.size) * 0.025), "black"), 80
    ),
    "dark grey border 4%": lambda im: ImageOps.expand(im, round(max(im.size) * 0.04), (40,) * 3),
    "pillarbox to 16:9, grey bars": lambda im: on_canvas(
        im, (round(im.height * 16 / 9), im.height), 90, 0
    ),
    "letterbox to 9:16, white bars": lambda im: on_canvas(
        im, (im.width, round(im.width * 16 / 9)), 255, (round(im.width * 16 / 9) - im.height) // 2
    ),
    "caption strip 15% above": lambda im: with_caption(im, 0.15),
}


@pytest.mark.parametrize("copy", list(FRAMED_COPIES))
@pytest.mark.parametrize("name", ["astronaut", "coffee"])
def test_a_framed_copys_plain_hash_meets_a_banked_framed_view(
    bank: dict[str, list[Signal]], name: str, copy: str
) -> None:
    # A platform that sends only the hash of a framed copy cannot trim it: the bank holds
    # the picture framed (borders, bars, a caption strip) for it to meet.
    sent = rescind_hash(FRAMED_COPIES[copy](photo(name)))
    framed = {v.name for v in FRAMED_VARIANTS}
    unframed = [s for s in bank[name] if s.variant not in framed]
    assert match(sent, unframed) is None, "found without the framed views"
    result = match(sent, bank[name])
    assert result is not None
    assert result.bank_variant in framed
    for other in {"astronaut", "coffee", "chelsea"} - {name}:
        assert match(sent, bank[other]) is None


def test_a_flat_picture_gets_no_framed_views() -> None:
    # A frame around a flat picture gives it a strong hash (the frame's edges), which every
    # flat picture in the same frame would meet: like tilts, framed views need a strong
    # picture.
    banked = dark_flat(1).point(lambda v: v + 120)
    bank = bank_signals(banked, weak_views=True)
    assert bank[0].quality < 50
    framed = {v.name for v in FRAMED_VARIANTS}
    assert not [s for s in bank if s.variant in framed]
    other = dark_flat(2).point(lambda v: v + 200)
    for copy in (
        ImageOps.expand(other, 12, "white"),
        on_canvas(other, (other.width, other.width * 16 // 9), 0, 40),
    ):
        assert match(rescind_hash(copy), bank) is None
        assert match(query_signals(copy, weak_views=True), bank) is None
    strong = {s.variant for s in bank_signals(photo("astronaut"))}
    assert {"frame_white5", "frame_black5", "canvas_9x16", "strip_t14"} <= strong


def test_canvas_views_put_the_picture_on_bars_of_the_screens_shape() -> None:
    view = np.full((300, 450), 200.0, np.float32)
    bars = render_variant(view, canvas(9, 16, -0.02))
    assert bars is not None and bars.shape == (800, 450)
    rows = np.flatnonzero(bars[:, 0] == 200.0)
    assert (rows[0], rows[-1]) == (234, 533)  # 16 px above the middle (250): 2% of 800
    assert bars[:234].max() == 0.0 and bars[534:].max() == 0.0


def flat_photo(name: str) -> Image.Image:
    """A photo squeezed to 4% of its contrast around grey 170 (a hazy sky's kind of
    picture: PDQ quality far below 50, not smooth)."""
    pixels = np.asarray(photo(name), dtype=np.float32)
    squeezed = np.round(170 + (pixels - pixels.mean()) * 0.04)
    return Image.fromarray(np.clip(squeezed, 0, 255).astype(np.uint8))


def without_equalised(signals: list[Signal]) -> list[Signal]:
    return [s for s in signals if not s.variant.startswith(EQUALISED_PREFIX)]


def test_a_flat_pictures_copy_is_found_through_its_equalised_views_for_review() -> None:
    image = flat_photo("chelsea")
    bank = bank_signals(image, weak_views=True)
    assert bank[0].quality < MIN_QUALITY and not is_smooth(pdq_luma(np.asarray(image)))
    assert any(s.variant == "eq_full" for s in bank)
    # Straightened by a photo editor: turned 4 degrees, cut to the largest upright
    # rectangle of its shape inside (no black corners).
    turned = image.rotate(-4, resample=Image.Resampling.BICUBIC)
    k = 1 / (np.cos(np.radians(4)) + np.sin(np.radians(4)) * image.width / image.height)
    w, h = image.width * k, image.height * k
    box = ((image.width - w) / 2, (image.height - h) / 2, (image.width + w) / 2)
    copy = turned.crop((*(round(v) for v in box), round((image.height + h) / 2)))
    query = query_signals(copy, weak_views=True)
    assert match(without_equalised(query), without_equalised(bank)) is None
    result = match(query, bank)
    assert result is not None
    assert result.query_variant.startswith(EQUALISED_PREFIX)
    assert result.bank_variant.startswith(EQUALISED_PREFIX)
    assert result.distance <= WEAK_VIEW_THRESHOLD
    assert not result.blockable
    # Another flat picture is not found through them.
    assert match(query_signals(flat_photo("astronaut"), weak_views=True), bank) is None


def test_a_strong_picture_has_no_equalised_views() -> None:
    image = photo("astronaut")
    assert not any(
        s.variant.startswith(EQUALISED_PREFIX)
        for s in (*bank_signals(image, weak_views=True), *query_signals(image, weak_views=True))
    )


def test_equalised_views_meet_equalised_views_only() -> None:
    bits = bytes(32)
    eq_full, eq_crop = Signal(bits, 100, "eq_full"), Signal(bits, 100, "eq_crop_c92")
    for ordinary in ("full", "trimmed", "crop_c92", "full/rot90", "half_t"):
        assert match([Signal(bits, 100, ordinary)], [eq_full, eq_crop]) is None
        assert match([eq_full, eq_crop], [Signal(bits, 100, ordinary)]) is None
    result = match([eq_full], [eq_crop])
    assert result is not None and not result.blockable  # review at most, whatever the quality
    assert match([Signal(bits, 100, "eq_full/rot90")], [eq_crop]) is None  # the turned rule
    far = bytes([0xFF, 0xFF, 0x01]) + bytes(29)  # 17 bits away
    assert match([Signal(far, 100, "eq_full")], [eq_full]) is None
    kinds = view_kinds([eq_full, eq_crop, Signal(bits, 100, "full")])
    assert list(kinds & EQUALISED) == [EQUALISED, EQUALISED, 0]


def test_a_flat_pictures_tilted_copy_is_checked_with_equalised_views() -> None:
    """Black corners make a tilted flat copy's own hash strong; its weak centre crop still
    asks for the equalised views, which find it (review only)."""
    image = flat_photo("coffee")
    bank = bank_signals(image, weak_views=True)
    query = query_signals(image.rotate(5, resample=Image.Resampling.BICUBIC), weak_views=True)
    assert query[0].quality >= MIN_QUALITY
    assert match(without_equalised(query), without_equalised(bank)) is None
    result = match(query, bank)
    assert result is not None and not result.blockable
    assert result.query_variant.startswith(EQUALISED_PREFIX)


def test_an_equalised_pair_with_a_shifted_crop_is_held_one_bit_closer() -> None:
    """The upload's shifted crops of its equalised copy meet the bank's equalised views
    within EQUALISED_SHIFT_THRESHOLD (15) bits; other equalised pairs within 16."""
    bits = bytes(32)
    at = {n: bytes([0xFF] * (n // 8) + [(0xFF << (8 - n % 8)) & 0xFF]) + bytes(31 - n // 8)
          for n in (15, 16)}  # fmt: skip
    bank = [Signal(bits, 100, "eq_aspect_16x9")]
    assert EQUALISED_SHIFT_THRESHOLD == 15
    for n, found in ((15, True), (16, False)):
        result = match([Signal(at[n], 100, "eq_shift_tr6")], bank)
        assert (result is not None) is found
    result = match([Signal(at[16], 100, "eq_crop_c92")], bank)
    assert result is not None and result.distance == 16 and not result.blockable
    # An ordinary shifted crop keeps its radius against ordinary views.
    assert match([Signal(at[16], 100, "shift_tr6")], [Signal(bits, 100, "aspect_16x9")])


def hazy_sky(seed: int, colour: tuple[int, int, int], side: int = 256) -> Image.Image:
    """A synthetic hazy sky: a flat colour, light falling one way and faint clouds at four
    scales (PDQ quality below 20 on the whole and on its halves; not smooth)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side] / side
    lum = 8.0 * (np.cos(seed) * yy + np.sin(seed) * xx)
    for cells in (4, 8, 16, 32):
        layer = rng.normal(0, 1, (cells, cells)).astype(np.float32)
        lum += 2.0 * np.asarray(
            Image.fromarray(layer, "F").resize((side, side), Image.Resampling.BICUBIC)
        )
    rgb = np.asarray(colour, np.float32) + lum[..., None]
    return Image.fromarray(np.clip(np.round(rgb), 0, 255).astype(np.uint8))


def straightened_copy(image: Image.Image, degrees: float) -> Image.Image:
    """Turned by `degrees` and cut to the largest upright rectangle inside (no corners)."""
    turned = image.rotate(degrees, resample=Image.Resampling.BICUBIC)
    rad = np.radians(abs(degrees))
    k = 1 / (np.cos(rad) + np.sin(rad) * max(image.size) / min(image.size))
    w, h = image.width * k, image.height * k
    box = ((image.width - w) / 2, (image.height - h) / 2, (image.width + w) / 2)
    return turned.crop((*(round(v) for v in box), round((image.height + h) / 2)))


def test_a_half_of_one_flat_sky_does_not_lead_to_another() -> None:
    """Two different hazy skies whose top halves land close (a blue sky's and a grey one's
    met within 8-16 bits on Meta's reference pictures): a faint half (quality below
    FAINT_CUT_QUALITY) never meets a faint cut view, so the copy of one is not sent to review as
    the other. A half with more to it still meets a faint half, for review."""
    blue, grey = hazy_sky(1, (125, 160, 205)), hazy_sky(2, (190, 192, 192))
    bank = bank_signals(blue, weak_views=True)
    query = query_signals(straightened_copy(grey, -4), weak_views=True)
    banked_half = next(s for s in bank if s.variant == "half_t")
    assert banked_half.quality < FAINT_CUT_QUALITY and not is_smooth(pdq_luma(np.asarray(blue)))
    assert match(query, bank) is None
    # The grey sky's top half as close to the blue one's as on the reference pictures.
    near = bytearray(banked_half.hash)
    near[0] ^= 0xFF  # 8 bits away
    collided = [replace(s, hash=bytes(near)) if s.variant == "half_t" else s for s in query]
    faint = next(s for s in collided if s.variant == "half_t")
    assert faint.quality < FAINT_CUT_QUALITY
    assert (view_kinds([faint, banked_half]) & FAINT).all()
    assert match(collided, bank) is None
    assert match([faint], [banked_half], min_quality=MIN_QUALITY) is None
    # A half of quality 20-49 still meets it within the weak radius (review, never a block).
    result = match([replace(faint, quality=FAINT_CUT_QUALITY)], [banked_half])
    assert result is not None and result.distance == 8 and not result.blockable
    # Nor does a faint crop or shifted crop of the upload (a shifted crop of the grey sky
    # met the blue one's top half at 16 bits); a hash a platform sent (a whole view) does.
    for variant in ("crop_c92", "shift_br4"):
        assert match([replace(faint, variant=variant)], [banked_half]) is None
    result = match([replace(faint, variant="full")], [banked_half])
    assert result is not None and not result.blockable
    # Faint crops still meet each other (they hold most of the picture), for review.
    result = match([replace(faint, variant="crop_c92")], [replace(banked_half, variant="crop_c92")])
    assert result is not None and not result.blockable


def test_a_straightened_or_cropped_copy_of_a_textured_picture_still_blocks() -> None:
    """The faint rule leaves pictures with texture alone: a tilted copy cut to hide its
    corners, and a copy with one corner cut away, are found and may block."""
    image = photo("astronaut")
    bank = bank_signals(image, weak_views=True)
    for copy in (
        straightened_copy(image, 4),
        straightened_copy(image, -3),
        image.crop((10, 10, image.width, image.height)),
    ):
        result = match(query_signals(copy, weak_views=True), bank)
        assert result is not None and result.blockable
