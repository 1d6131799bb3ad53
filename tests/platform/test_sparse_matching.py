"""Text on a flat background through the platform: a banked caption does not catch another
caption through their cut views, in `/v1/check` or the copy sweep, its copies still block,
and its flat views match nothing (docs/matching.md, "Sparse pictures")."""

from __future__ import annotations

import io

import skimage.data
from PIL import Image
from sqlalchemy import select, update

from rescind.config import Settings
from rescind.platform.banks import NCII_BANK, add_signals, get_bank
from rescind.platform.media_signals import (
    bank_signals_from_media,
    media_limits,
    signals_from_media,
)
from rescind.platform.registry import get_content
from rescind.platform.runtime import PlatformRuntime
from rescind.platform.signals import SPARSE_CUT_RADIUS, PdqHash, Signals
from rescind.store import Database
from rescind.store.models import ContentSignal
from tests.media.test_robust_sparse import caption
from tests.platform.helpers import check_all, check_then_sweep, sweep_bank

LIMITS = media_limits(10 * 1024 * 1024)


def _file(image: Image.Image, kind: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind, **({"quality": 75} if kind == "JPEG" else {}))
    return buffer.getvalue()


def test_a_banked_caption_blocks_its_copies_not_another_caption(
    database: Database, runtime: PlatformRuntime
) -> None:
    banked = caption("dbsqad klyr ul cpucro", 32)
    other = caption("fmrllvr njqioc dr xjzg", 40)
    with database.session() as session:
        add_signals(
            session,
            get_bank(session, NCII_BANK),
            bank_signals_from_media(_file(banked), LIMITS),
            source="reviewer",
        )
        session.commit()
    runtime.sync_all()
    checks = {
        "other caption": _file(other),
        "jpeg copy": _file(banked, "JPEG"),
        "cut copy": _file(banked.crop((16, 9, 784, 441))),
    }
    uploads = {content_id: signals_from_media(data, LIMITS) for content_id, data in checks.items()}
    # The uploads are sparse: every view each is checked with says so.
    assert all(h.sparse for u in uploads.values() for h in u.pdq if h.variant is not None)
    verdicts = check_all(runtime, uploads)
    # Before the rule the other caption's centre crop met the banked one's 4% top crop at
    # 16 bits, both strong: it blocked.
    assert verdicts == {"other caption": "allow", "jpeg copy": "block", "cut copy": "block"}


def test_the_copy_sweep_holds_a_registered_caption_to_the_sparse_rule(
    settings: Settings, database: Database, runtime: PlatformRuntime
) -> None:
    """Registry rows keep whether the upload was sparse (migration 0020), and the copy sweep
    applies the sparse rule `/v1/check` applies: another caption registered before the
    caption was banked is not swept as its copy (a crop of it is 22 bits from a framed view
    of the banked one, both strong), while a copy of the caption and a textured picture's
    cropped copy still are. Rows registered without the flag (NULL: before 0020) keep the
    looser rule."""
    banked = caption("bplsr qnp nlar", 48)
    photo = Image.fromarray(skimage.data.astronaut())
    uploads = {
        "other caption": _file(caption("ngiv mr vrpy", 48)),
        "caption copy": _file(banked.crop((16, 9, 784, 441)), "JPEG"),
        "photo copy": _file(photo.crop((24, 24, 488, 488)), "JPEG"),
    }
    verdicts = check_all(runtime, {c: signals_from_media(d, LIMITS) for c, d in uploads.items()})
    assert set(verdicts.values()) == {"allow"}  # nothing is banked yet
    with database.session() as session:
        flags: dict[str, set[bool | None]] = {}
        for content_id in uploads:
            content = get_content(session, content_id)
            assert content is not None
            rows = session.scalars(
                select(ContentSignal).where(ContentSignal.content_pk == content.id)
            )
            for r in rows:
                if r.signal_type in ("pdq", "pdq_dihedral"):
                    named = r.variant is not None
                    flags.setdefault(f"{content_id}:{'named' if named else 'plain'}", set()).add(
                        r.sparse
                    )
                else:
                    assert r.sparse is None
    assert flags == {
        "other caption:named": {True},
        "other caption:plain": {None},
        "caption copy:named": {True},
        "caption copy:plain": {None},
        "photo copy:named": {False},
        "photo copy:plain": {None},
    }
    with database.session() as session:
        bank = get_bank(session, NCII_BANK)
        for image in (banked, photo):
            add_signals(
                session, bank, bank_signals_from_media(_file(image), LIMITS), source="reviewer"
            )
        session.commit()

    def swept() -> dict[str, int]:
        return {c.content.content_id: c.distance for c in sweep_bank(database, settings, runtime)}

    assert set(swept()) == {"caption copy", "photo copy"}
    # The same rows without the flag, as registered before migration 0020: today's rule
    # finds the other caption, through a pair of crops more than 15 bits apart.
    with database.session() as session:
        session.execute(update(ContentSignal).values(sparse=None))
        session.commit()
    loose = swept()
    assert set(loose) == {"caption copy", "photo copy", "other caption"}
    assert loose["other caption"] > SPARSE_CUT_RADIUS


def test_the_copy_sweep_leaves_flat_cut_views_out_as_the_check_does(
    settings: Settings, database: Database, runtime: PlatformRuntime
) -> None:
    """A flat cut view (quality 0: an empty half or band, whose hash every empty part of a
    picture shares) meets nothing in the copy sweep, as in `/v1/check`: neither a banked one
    (not turned) nor a registered one; the same hashes as whole views are still swept."""
    flat, whole = "f" * 64, "0f" * 32
    uploads = {
        "sent": Signals(pdq=(PdqHash(flat, 90),)),  # meets the banked flat half only
        "flat half": Signals(pdq=(PdqHash(whole, 0, variant="half_b"),)),
        "whole": Signals(pdq=(PdqHash(whole, 90, variant="full"),)),
    }
    banked = Signals(
        pdq=(PdqHash(whole, 90, variant="full"), PdqHash(flat, 0, cut=True, variant="half_t"))
    )
    checked, copies = check_then_sweep(database, settings, runtime, uploads, banked)
    assert {c.content.content_id for c in copies} == checked == {"whole"}
