"""Uploaded images are hashed with the copy-robust query views, and the registry keeps them:
a later sweep for a banked picture finds a padded or letterboxed copy registered earlier."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pdqhash
import skimage.data
from PIL import Image, ImageOps
from sqlalchemy import select, update

from rescind.config import Settings
from rescind.media import ORIENTATIONS, hash_bytes, hash_file, pdq_bits_to_hex
from rescind.media.image import decode_luma
from rescind.platform.banks import (
    NCII_BANK,
    add_signals,
    ensure_default_banks,
    get_bank,
    policy_of,
)
from rescind.platform.check import check_and_record
from rescind.platform.enforce import enforce_removal
from rescind.platform.matcher import Matcher, MatcherEntry
from rescind.platform.media_signals import (
    bank_signals_from_media,
    media_limits,
    signals_from_media,
)
from rescind.platform.registry import get_content, signal_values, signals_of
from rescind.platform.runtime import PlatformRuntime
from rescind.platform.signals import PdqHash, Signals
from rescind.platform.sweep import sweep_copies
from rescind.store import Database
from rescind.store.models import BankEntry, Content, ContentSignal
from tests.e2e import media
from tests.media.test_dihedral import pictures
from tests.media.test_robust import DIM_RINGS, RING_GEOMETRY, VIVID_RINGS, rings
from tests.platform.helpers import check_then_sweep, gradient, hamming, make_request

LIMITS = media_limits(10 * 1024 * 1024)


def _astronaut() -> Image.Image:
    return Image.fromarray(skimage.data.astronaut())


def _padded(image: Image.Image) -> Image.Image:
    return ImageOps.expand(image, border=round(0.05 * image.width), fill=(255, 255, 255))


def test_plain_hashes_come_first_and_robust_views_are_bounded() -> None:
    data = media.jpeg(_padded(_astronaut()))
    signals = signals_from_media(data, LIMITS)
    plain = hash_bytes(data, dihedral=True)
    assert [h.hash for h in signals.pdq[:8]] == [h.hash for h in plain.pdq]
    assert [h.orientation for h in signals.pdq[:8]] == list(range(8))
    assert (signals.md5, signals.sha256) == (plain.md5, plain.sha256)
    extra = signals.pdq[8:]
    assert 8 <= len(extra) <= 55
    # The shifted crops serve the check only: the registry keeps the other views.
    shifted = [h for h in extra if (h.variant or "").startswith("shift_")]
    assert len(shifted) == 30
    rows = signal_values(signals)
    registered = [r for r in rows if r.signal_type.startswith("pdq")]
    assert len(registered) == len(signals.pdq) - len(shifted)
    assert len({h.hash for h in signals.pdq}) == len(signals.pdq)
    # Views dropped for quality never reach the platform: every extra one may block.
    assert all(h.quality is not None and h.quality >= 50 for h in extra)


def test_cuts_of_the_untrimmed_picture_serve_the_check_only() -> None:
    # The camera man's sky is flat only to the loose trim: the upload is cut as trimmed and
    # untrimmed, and the untrimmed cuts stay out of the registry, as the shifted crops do.
    data = media.jpeg(Image.fromarray(skimage.data.camera()).convert("RGB"))
    signals = signals_from_media(data, LIMITS)
    assert len(signals.pdq) <= 8 + 90
    untrimmed = [h for h in signals.pdq if (h.variant or "").startswith("untrimmed_")]
    shifted = [h for h in signals.pdq if (h.variant or "").startswith("shift_")]
    assert untrimmed and shifted
    rows = signal_values(signals)
    kept = len(signals.pdq) - len(untrimmed) - len(shifted)
    assert len([r for r in rows if r.signal_type.startswith("pdq")]) == kept
    # An upload without such a border gets none.
    assert not [
        h
        for h in signals_from_media(media.jpeg(_astronaut()), LIMITS).pdq
        if (h.variant or "").startswith("untrimmed_")
    ]


def test_orientations_are_the_clis_bit_for_bit(tmp_path: Path) -> None:
    # One function makes the 8 orientations for `rescind hash --dihedral` and for a media
    # check: the same bits, qualities and order, whatever the size, format or EXIF turn.
    files = pictures(tmp_path)
    big = Image.fromarray(skimage.data.coffee()).resize((1601, 1283))
    for orientation in (1, 6):  # the reduced JPEG path, as displayed and stored sideways
        exif = Image.Exif()
        exif[0x0112] = orientation
        path = tmp_path / f"big-{orientation}.jpg"
        big.save(path, "JPEG", quality=90, exif=exif.tobytes())
        files[path.name] = path
    smooth = 0
    for name, path in files.items():
        cli = hash_file(path, dihedral=True)["pdq"]
        server = signals_from_media(path.read_bytes(), LIMITS).pdq[:8]
        if server[0].smooth:
            # A smooth picture (a gradient) is checked as uploaded only: its plain hash is
            # the CLI's, its turns are left out (they are other gradients).
            smooth += 1
            server = server[:1]
            cli = cli[:1]
            assert all(h.smooth and h.orientation == 0 for h in server), name
        assert [(h.hash, h.quality, h.orientation) for h in server] == [
            (h["hash"], h["quality"], ORIENTATIONS.index(h["orientation"])) for h in cli
        ], name
    assert smooth < len(files) // 2  # most of these pictures are turned


def test_tiny_image_gets_its_plain_hashes_only() -> None:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(out, "PNG")
    signals = signals_from_media(out.getvalue(), LIMITS)
    assert 1 <= len(signals.pdq) <= 8


def test_sweep_finds_a_padded_copy_registered_before_the_picture_was_banked(
    settings: Settings, database: Database, runtime: PlatformRuntime
) -> None:
    original = _astronaut()
    banked = hash_bytes(media.jpeg(original)).pdq[0].hash
    uploads = {
        "padded": media.jpeg(_padded(original)),
        "other": media.jpeg(Image.fromarray(skimage.data.coffee())),
        "other-padded": media.jpeg(_padded(Image.fromarray(skimage.data.chelsea()))),
    }
    for content_id, data in uploads.items():
        signals = signals_from_media(data, LIMITS)
        result = check_and_record(
            runtime.writer, runtime.matcher, content_id, url=None, signals=signals
        )
        assert result.verdict == "allow"
        with database.session() as session:
            content = get_content(session, content_id)
            assert content is not None
            # The registry keeps every PDQ hash of the upload, robust views included, but for
            # the shifted crops (the check's own).
            shifted = [h for h in signals.pdq if (h.variant or "").startswith("shift_")]
            assert shifted
            assert len(signals_of(session, content.id).pdq) == len(signals.pdq) - len(shifted)
    with database.session() as session:
        request = make_request(session, "RSC-TEST-0007", [{"pdq": [banked]}])
        result = enforce_removal(session, settings, request, runtime=runtime)
        # The requester's hash alone finds the copy as a lead for a reviewer, not an action.
        leads = {session.get(Content, lead.content_pk) for lead in result.leads}
        assert {c.content_id for c in leads if c is not None} == {"padded"}
        assert result.actions == []


def test_a_large_jpeg_is_banked_at_full_size_and_checked_reduced() -> None:
    """Banking decodes a large JPEG at full size, as a person's browser does (its plain hash
    is pdqhash's of the full pixels); a check keeps the fast reduced decode."""
    big = _astronaut().resize((2048, 2048), Image.Resampling.BICUBIC)
    data = media.jpeg(big)
    assert decode_luma(data).scale > 1
    full = decode_luma(data, reduce=False)
    assert (full.scale, full.luma.shape) == (1, (2048, 2048))
    bits, _ = pdqhash.compute(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
    banked = bank_signals_from_media(data, LIMITS)
    assert banked.pdq[0].hash == pdq_bits_to_hex(bits)
    assert signals_from_media(data, LIMITS).pdq[0].hash == hash_bytes(data).pdq[0].hash


def test_a_smooth_gradient_matches_only_close_by_and_never_blocks(
    settings: Settings, database: Database
) -> None:
    """Two different gradients, 22 bits apart with quality 100 (plain PDQ would block one on
    the other), do not match; the banked gradient itself is found, for review only; a photo
    still blocks on itself."""
    banked = gradient((320, 240), 0.5, 3.0, 20, 235)
    other = gradient((280, 260), 0.55, 3.1, 60, 200)
    plain_banked, plain_other = hash_bytes(banked).pdq[0], hash_bytes(other).pdq[0]
    assert min(plain_banked.quality, plain_other.quality) == 100
    bits = bin(int(plain_banked.hash, 16) ^ int(plain_other.hash, 16)).count("1")
    assert 16 < bits <= 31
    photo = media.jpeg(_astronaut())
    runtime = PlatformRuntime(settings, database.engine)
    with database.session() as session:
        ensure_default_banks(session, settings)
        bank = get_bank(session, NCII_BANK)
        entries = add_signals(
            session, bank, bank_signals_from_media(banked, LIMITS), source="reviewer"
        )
        # Its whole views only, each marked smooth: no turns, crops or tilts.
        pdq = [e for e in entries if e.signal_type.startswith("pdq")]
        assert pdq and all(e.signal_type == "pdq" for e in pdq)
        assert all((e.provenance or {}).get("smooth") for e in pdq)
        photo_entries = add_signals(
            session, bank, bank_signals_from_media(photo, LIMITS), source="reviewer"
        )
        assert not any((e.provenance or {}).get("smooth") for e in photo_entries)
        session.commit()
    runtime.sync_all()
    # The banked pixels in another file (an exact file match blocks on its MD5 anyway).
    resaved = io.BytesIO()
    Image.open(io.BytesIO(banked)).save(resaved, "PNG", compress_level=1)
    assert resaved.getvalue() != banked
    checks = {"other": other, "banked": resaved.getvalue(), "photo": photo}
    verdicts = {}
    for content_id, data in checks.items():
        signals = signals_from_media(data, LIMITS)
        result = check_and_record(
            runtime.writer, runtime.matcher, content_id, url=None, signals=signals
        )
        verdicts[content_id] = result.verdict
    assert verdicts == {"other": "allow", "banked": "review", "photo": "block"}
    # A platform that sends only the other gradient's plain hash is not matched either:
    # the banked entries know they are smooth.
    hashes_only = signals_from_media(other, LIMITS).pdq[:1]
    assert runtime.matcher.match(Signals(pdq=(replace(hashes_only[0], smooth=False),))) == []


def test_a_dim_smooth_entry_is_not_met_by_a_vivid_gradient_of_its_geometry(
    settings: Settings, database: Database
) -> None:
    """Rings in two colours of nearly one luma (PDQ quality 0) are banked; white-to-black
    rings of the same geometry (quality 100, 10 bits away) are another picture: neither a
    check with the file, nor with its bare hash, nor the copy sweep finds them, while a JPEG
    copy of the banked picture is found for review by the check and the sweep alike
    (`rescind.media.robust.smooth_gap`)."""
    dim = media.jpeg(rings(*RING_GEOMETRY, *DIM_RINGS))
    vivid = _png(rings(*RING_GEOMETRY, *VIVID_RINGS))
    copy = media.jpeg(Image.open(io.BytesIO(dim)))
    banked = bank_signals_from_media(dim, LIMITS)
    uploads = {"vivid": signals_from_media(vivid, LIMITS), "copy": signals_from_media(copy, LIMITS)}
    plain_vivid = uploads["vivid"].pdq[0]
    assert banked.pdq[0].smooth and banked.pdq[0].quality == 0
    assert plain_vivid.smooth and plain_vivid.quality == 100
    assert hamming(plain_vivid.hash, banked.pdq[0].hash) <= 16
    runtime = PlatformRuntime(settings, database.engine)
    with database.session() as session:
        ensure_default_banks(session, settings)
    runtime.sync_all()
    checked, swept = check_then_sweep(database, settings, runtime, uploads, banked)
    assert checked == {"copy"}
    assert [(c.content.content_id, c.actionable) for c in swept] == [("copy", False)]
    hits = runtime.matcher.match(uploads["copy"])
    assert hits and all(h.low_quality for h in hits)
    # A platform that sends the vivid picture's hash alone, with its quality: the banked
    # entry knows it is smooth. Sent without a quality, it is not held to the rule.
    bare = replace(plain_vivid, smooth=False)
    assert runtime.matcher.match(Signals(pdq=(bare,))) == []
    assert runtime.matcher.match(Signals(pdq=(replace(bare, quality=None),)))


def test_a_banked_turned_view_meets_an_uploads_whole_views_not_its_crops(
    settings: Settings, database: Database
) -> None:
    """The rule of `rescind.media.robust.pair_limits` on the platform: a banked picture's
    turned views (`full/rot90`, `crop_t4/flip_h`) are found by a hash sent as it is or an
    upload's whole view, never by an upload's crop or half (the sweep's last false match was
    a weak half against a flat sky's turned views)."""
    runtime = PlatformRuntime(settings, database.engine)
    with database.session() as session:
        ensure_default_banks(session, settings)
        bank = get_bank(session, NCII_BANK)
        entries = add_signals(
            session,
            bank,
            bank_signals_from_media(media.jpeg(_astronaut()), LIMITS),
            source="reviewer",
        )
        session.commit()
        turned = {
            (e.provenance or {})["variant"]: e.value
            for e in entries
            if "/" in str((e.provenance or {}).get("variant", ""))
        }
        # The same entries loaded without a database (as benchmarks do) follow the same rule.
        loaded = Matcher(settings)
        loaded.load_entries(
            MatcherEntry(
                e.id, e.bank_id, e.signal_type, e.value, e.quality, source=e.source,
                variant=(e.provenance or {}).get("variant"),
            )
            for e in entries
        )  # fmt: skip
    runtime.sync_all()
    loaded.banks = runtime.matcher.banks
    assert {"full/rot90", "crop_t4/flip_h"} <= set(turned)
    for matcher in (runtime.matcher, loaded):
        for variant in ("full/rot90", "crop_t4/flip_h"):
            value = turned[variant]
            for query, found in (
                (None, True), ("full", True), ("trimmed", True), ("half_b", False),
                ("crop_c92", False),
            ):  # fmt: skip
                hits = matcher.match(Signals(pdq=(PdqHash(value, 90, variant=query),)))
                assert bool(hits) is found, (variant, query)


def test_the_sweep_keeps_a_banked_turned_view_from_registered_crops(
    settings: Settings, database: Database, runtime: PlatformRuntime
) -> None:
    """The turned-view rule in the copy sweep, as in `/v1/check`: registry rows keep their
    view's name, and a banked turned view (`full/rot90`, `crop_t4/flip_h`) meets a
    registered upload's whole view or a hash a platform sent, never its crop or half. A row
    registered before its name was kept (NULL) keeps the looser rule, until the content is
    checked again."""
    # A real upload's rows carry its views' names.
    upload = signals_from_media(media.jpeg(Image.fromarray(skimage.data.coffee())), LIMITS)
    check_and_record(runtime.writer, runtime.matcher, "coffee", url=None, signals=upload)
    with database.session() as session:
        content = get_content(session, "coffee")
        assert content is not None
        rows = select(ContentSignal).where(ContentSignal.content_pk == content.id)
        stored = {
            (r.value, r.variant)
            for r in session.scalars(rows)
            if r.signal_type in ("pdq", "pdq_dihedral")
        }
    kept = {
        (h.hash, h.variant)
        for h in upload.pdq
        if not h.weak and not (h.variant or "").startswith("shift_")
    }
    assert stored == kept and {"full", "full/rot90", "crop_c92", "half_t"} <= {v for _, v in kept}

    banked = bank_signals_from_media(media.jpeg(_astronaut()), LIMITS)
    turned = {h.variant: h.hash for h in banked.pdq}
    assert {"full/rot90", "crop_t4/flip_h"} <= set(turned)
    # Uploads whose one hash equals a banked turned view, as one of their views (None: a
    # hash a platform sent); "old" is a crop registered before the names were kept.
    views = {"full": "full", "trimmed": "trimmed", "sent": None, "crop": "crop_c92",
             "half": "half_b", "old": "crop_c92"}  # fmt: skip
    for name, value in turned.items():
        if name in ("full/rot90", "crop_t4/flip_h"):
            for key, view in views.items():
                signals = Signals(pdq=(PdqHash(value, 90, variant=view),))
                check_and_record(
                    runtime.writer, runtime.matcher, f"{name}:{key}", url=None, signals=signals
                )
    old = [f"{name}:old" for name in ("full/rot90", "crop_t4/flip_h")]
    with database.session() as session:
        pks = [pk for pk in (getattr(get_content(session, c), "id", None) for c in old) if pk]
        assert len(pks) == 2
        session.execute(
            update(ContentSignal).where(ContentSignal.content_pk.in_(pks)).values(variant=None)
        )
        session.commit()

    def swept() -> set[str]:
        with database.session() as session:
            bank = get_bank(session, NCII_BANK)
            entries = session.scalars(select(BankEntry).where(BankEntry.bank_id == bank.id))
            copies = sweep_copies(session, settings, runtime, list(entries), policy_of(bank))
            return {c.content.content_id for c in copies}

    with database.session() as session:
        add_signals(session, get_bank(session, NCII_BANK), banked, source="reviewer")
        session.commit()
    found = swept()
    for name in ("full/rot90", "crop_t4/flip_h"):
        assert {f"{name}:{key}" for key in ("full", "trimmed", "sent", "old")} <= found
        assert not {f"{name}:{key}" for key in ("crop", "half")} & found
    assert "coffee" not in found

    # Checked again, the old crop's row gets its name, and with it the rule.
    for content_id in old:
        signals = Signals(pdq=(PdqHash(turned[content_id[:-4]], 90, variant="crop_c92"),))
        check_and_record(runtime.writer, runtime.matcher, content_id, url=None, signals=signals)
    assert not set(old) & swept()


def _flat(name: str) -> Image.Image:
    """A photo at 4% of its contrast around grey 170 (a hazy sky's: PDQ quality below 50)."""
    pixels = np.asarray(getattr(skimage.data, name)(), dtype=np.float32)
    squeezed = np.round(170 + (pixels - pixels.mean()) * 0.04)
    return Image.fromarray(np.clip(squeezed, 0, 255).astype(np.uint8)).convert("RGB")


def _straightened(image: Image.Image, degrees: float) -> Image.Image:
    """Turned and cut to the largest upright rectangle of its shape inside (an editor's
    "straighten")."""
    turned = image.rotate(degrees, resample=Image.Resampling.BICUBIC)
    a = np.radians(abs(degrees))
    k = 1 / (np.cos(a) + np.sin(a) * image.width / image.height)
    w, h = image.width * k, image.height * k
    box = ((image.width - w) / 2, (image.height - h) / 2, (image.width + w) / 2)
    return turned.crop((*(round(v) for v in box), round((image.height + h) / 2)))


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_a_flat_pictures_copy_is_found_through_its_equalised_views_for_review(
    settings: Settings, database: Database
) -> None:
    """A weak (flat) picture is banked with its equalised copy's views (`eq_...`, cut
    entries); an upload's equalised views find a straightened copy for review, an unrelated
    flat picture is not found, and the equalised views meet no other hash: not a hash a
    platform sends, nor the registry (an upload's equalised views are not registered)."""
    banked = _png(_flat("chelsea"))
    signals = bank_signals_from_media(banked, LIMITS)
    assert signals.pdq[0].quality is not None and signals.pdq[0].quality < 50
    equalised = [h for h in signals.pdq if (h.variant or "").startswith("eq_")]
    assert equalised and all(h.cut for h in equalised)
    runtime = PlatformRuntime(settings, database.engine)
    with database.session() as session:
        ensure_default_banks(session, settings)
        entries = add_signals(session, get_bank(session, NCII_BANK), signals, source="reviewer")
        equalised_ids = {
            e.id for e in entries if str((e.provenance or {}).get("variant", "")).startswith("eq_")
        }
        session.commit()
    runtime.sync_all()
    copy = signals_from_media(_png(_straightened(_flat("chelsea"), -4)), LIMITS)
    assert any((h.variant or "").startswith("eq_") and h.weak for h in copy.pdq)
    without = Signals(pdq=tuple(h for h in copy.pdq if not (h.variant or "").startswith("eq_")))
    assert runtime.matcher.match(without) == []
    verdicts = {}
    for content_id, data in (
        ("copy", _png(_straightened(_flat("chelsea"), -4))),
        ("other", _png(_flat("astronaut"))),
    ):
        result = check_and_record(
            runtime.writer,
            runtime.matcher,
            content_id,
            url=None,
            signals=signals_from_media(data, LIMITS),
        )
        verdicts[content_id] = result.verdict
    assert verdicts == {"copy": "review", "other": "allow"}
    copy_equalised = {h.hash for h in copy.pdq if (h.variant or "").startswith("eq_")}
    assert not any(row.value in copy_equalised for row in signal_values(copy))
    # The banked equalised hashes sent as they are (no variant), or as an ordinary view,
    # meet no equalised entry; as an upload's equalised view, they are found for review.
    assert len(equalised_ids) == len(equalised)
    for h in equalised:
        for variant in (None, "full", "crop_c92"):
            sent = PdqHash(h.hash, 100, variant=variant)
            hits = runtime.matcher.match(Signals(pdq=(sent,)))
            assert not {hit.entry_id for hit in hits} & equalised_ids
        query = PdqHash(h.hash, 100, weak=True, variant="eq_full")
        hits = runtime.matcher.match(Signals(pdq=(query,)))
        assert hits and all(hit.low_quality for hit in hits)


def test_the_matcher_holds_an_uploads_equalised_shifted_crops_one_bit_closer(
    settings: Settings, database: Database
) -> None:
    """As rescind.media.robust.pair_limits: an equalised entry meets an upload's equalised
    crop 16 bits away, its equalised shifted crop only within 15 (for review, never a block)."""
    banked = "0" * 64
    runtime = PlatformRuntime(settings, database.engine)
    with database.session() as session:
        ensure_default_banks(session, settings)
        entry = PdqHash(banked, 90, cut=True, variant="eq_aspect_16x9")
        add_signals(session, get_bank(session, NCII_BANK), Signals(pdq=(entry,)), source="reviewer")
        session.commit()
    runtime.sync_all()

    def hits(bits: int, variant: str) -> list[bool]:
        value = f"{((1 << bits) - 1) << (256 - bits):064x}"
        query = PdqHash(value, 90, weak=True, variant=variant)
        return [hit.low_quality for hit in runtime.matcher.match(Signals(pdq=(query,)))]

    assert hits(16, "eq_crop_c92") == [True]
    assert hits(16, "eq_shift_tr6") == []
    assert hits(15, "eq_shift_tr6") == [True]
    assert hits(12, "shift_tr6") == []  # equalised entries meet equalised views only


def test_the_matcher_keeps_faint_halves_from_faint_cut_views(
    settings: Settings, database: Database
) -> None:
    """As rescind.media.robust.pair_limits: a banked faint half (a flat sky's top half,
    quality below 20) is not found by an upload's faint half, crop or shifted crop 8 bits
    away (two skies' halves met so), but is by a half with more to it or a hash sent as it
    is, for review only; a banked faint crop still meets an upload's faint crop."""
    half, crop = "0" * 64, "f" * 64
    runtime = PlatformRuntime(settings, database.engine)
    with database.session() as session:
        ensure_default_banks(session, settings)
        entries = (
            PdqHash(half, 11, cut=True, variant="half_t"),
            PdqHash(crop, 11, cut=True, variant="crop_c92"),
        )
        add_signals(session, get_bank(session, NCII_BANK), Signals(pdq=entries), source="reviewer")
        session.commit()
    runtime.sync_all()

    def hits(banked: str, quality: int, variant: str) -> list[bool]:
        value = f"{int(banked, 16) ^ (0xFF << 248):064x}"  # 8 bits away
        query = PdqHash(value, quality, weak=variant != "full", variant=variant)
        return [hit.low_quality for hit in runtime.matcher.match(Signals(pdq=(query,)))]

    for variant in ("half_t", "untrimmed_half_t", "crop_c92", "shift_br4"):
        assert hits(half, 3, variant) == [], variant
    assert hits(half, 20, "half_t") == [True]
    assert hits(half, 3, "full") == [True]
    # A hash a platform sent (no view name) is the picture as uploaded, as the copy sweep
    # reads a registered one: not a faint cut view.
    sent = PdqHash(f"{int(half, 16) ^ (0xFF << 248):064x}", 3)
    assert [hit.low_quality for hit in runtime.matcher.match(Signals(pdq=(sent,)))] == [True]
    assert hits(crop, 3, "crop_c96") == [True]
    assert hits(crop, 3, "half_t") == []


def test_the_copy_sweep_judges_faint_halves_as_the_check_does(
    settings: Settings, database: Database, runtime: PlatformRuntime
) -> None:
    """The copy sweep and `/v1/check` read a pair by one rule
    (rescind.media.robust.banked_pair_limit): a banked faint half (a flat sky's top half)
    meets a registered upload's hash without a view name and its half with more to it, not
    its faint half or faint crop, 8 bits away in both."""
    half = "0" * 64
    near = f"{int(half, 16) ^ (0xFF << 248):064x}"  # 8 bits away
    uploads = {
        "sent": Signals(pdq=(PdqHash(near, 3),)),
        "faint half": Signals(pdq=(PdqHash(near, 3, variant="half_b"),)),
        "faint crop": Signals(pdq=(PdqHash(near, 3, variant="crop_c92"),)),
        "half": Signals(pdq=(PdqHash(near, 20, variant="half_b"),)),
    }
    banked = Signals(pdq=(PdqHash(half, 11, cut=True, variant="half_t"),))
    checked, copies = check_then_sweep(database, settings, runtime, uploads, banked)
    assert {c.content.content_id for c in copies} == checked == {"sent", "half"}
    assert not any(c.actionable for c in copies)  # low quality: review only


def test_an_unevenly_cut_copy_blocks_on_the_banked_grid(
    settings: Settings, database: Database
) -> None:
    """A picture banked as a file stores its uneven-crop grid (`grid_5555` ... `grid_7777`,
    as `pdq_cut` entries); a copy with each side cut by its own share, checked as a file,
    meets one of them through one of its shifted crops and is blocked; without the grid
    entries it is not matched at all."""
    original = Image.fromarray(skimage.data.chelsea())
    w, h = original.size
    cuts = (0.07, 0.03, 0.06, 0.0)
    copy = original.crop(
        (round(w * cuts[0]), round(h * cuts[1]), w - round(w * cuts[2]), h - round(h * cuts[3]))
    )
    runtime = PlatformRuntime(settings, database.engine)
    with database.session() as session:
        ensure_default_banks(session, settings)
        bank = get_bank(session, NCII_BANK)
        entries = add_signals(
            session, bank, bank_signals_from_media(media.jpeg(original), LIMITS), source="reviewer"
        )
        session.commit()
        grid = {
            e.id: e
            for e in entries
            if str((e.provenance or {}).get("variant", "")).startswith("grid_")
        }
        assert len(grid) == 16 and all(e.signal_type == "pdq_cut" for e in grid.values())
        others = [
            MatcherEntry(
                e.id, e.bank_id, e.signal_type, e.value, e.quality, source=e.source,
                variant=(e.provenance or {}).get("variant"),
            )
            for e in entries
            if e.id not in grid
        ]  # fmt: skip
    runtime.sync_all()
    upload = signals_from_media(media.jpeg(copy), LIMITS)
    result = check_and_record(runtime.writer, runtime.matcher, "copy", url=None, signals=upload)
    assert result.verdict == "block"
    assert {hit.entry_id for hit in result.hits if not hit.low_quality} & set(grid)
    without = Matcher(settings)
    without.load_entries(others)
    without.banks = runtime.matcher.banks
    assert without.match(upload) == []
