"""A flat picture's equalised views (`eq_...`: they meet an upload's equalised views only,
within 16 bits, and never block) stay here: no exchange format can say what they are, and a
reader would hold them as ordinary hashes. Exchange files in every format and every feed page
leave them out; the picture's other entries travel."""

from __future__ import annotations

import io
import json

import numpy as np
import skimage.data
from PIL import Image

from rescind.config import Settings
from rescind.exchange.feed import build_page
from rescind.exchange.files import FORMATS, write_line
from rescind.exchange.identity import load_identity
from rescind.exchange.transfer import export_entries
from rescind.platform.banks import NCII_BANK, add_signals, ensure_default_banks, get_bank
from rescind.platform.media_signals import bank_signals_from_media, media_limits
from rescind.store import Database

LIMITS = media_limits(10 * 1024 * 1024)


def _flat_png(name: str) -> bytes:
    """A photo at 4% of its contrast around grey 170 (a hazy sky's: PDQ quality below 50)."""
    pixels = np.asarray(getattr(skimage.data, name)(), dtype=np.float32)
    squeezed = np.clip(np.round(170 + (pixels - pixels.mean()) * 0.04), 0, 255)
    out = io.BytesIO()
    Image.fromarray(squeezed.astype(np.uint8)).convert("RGB").save(out, "PNG")
    return out.getvalue()


def test_a_flat_pictures_equalised_views_are_never_exported(
    database: Database, settings: Settings
) -> None:
    signals = bank_signals_from_media(_flat_png("chelsea"), LIMITS)
    equalised = {h.hash for h in signals.pdq if (h.variant or "").startswith("eq_")}
    assert equalised and signals.md5 and signals.sha256
    # The picture's other entries: its other views, the plain hash among them, and its digests.
    others = {h.hash for h in signals.pdq} - equalised | {signals.md5, signals.sha256}
    with database.session() as session:
        ensure_default_banks(session, settings)
        bank = get_bank(session, NCII_BANK)
        add_signals(session, bank, signals, source="reviewer")
        session.commit()
        exported = list(export_entries(session, settings, bank, "me"))
        identity = load_identity(settings)
        pages = {
            version: json.loads(
                build_page(
                    session, settings, identity, {bank.id: NCII_BANK}, after=0, version=version
                ).body
            )
            for version in (1, 2, 3)
        }
    # Files: the picture's other views go (the plain hash among them), none of its
    # equalised ones, in any format.
    assert {e.value for e in exported} == others
    for fmt in FORMATS:
        text = "".join(line for e in exported if (line := write_line(e, fmt)) is not None)
        assert not any(value in text for value in equalised)
        if fmt != "vpdq":
            assert signals.pdq[0].hash in text
    # The feed: every page format shows the other entries and skips the equalised ones,
    # while its cursor moves past all of them.
    for version, page in pages.items():
        values = page["columns"]["value"] if version >= 2 else [e["value"] for e in page["entries"]]
        assert set(values) == others
        assert page["next"] >= len(signals.pdq) and not page["more"]
