"""Text on a flat background through the platform: a banked caption does not catch another
caption through their cut views, its copies still block, and its flat views match nothing
(docs/matching.md, "Sparse pictures")."""

from __future__ import annotations

import io

from PIL import Image

from rescind.config import Settings
from rescind.platform.banks import NCII_BANK, add_signals, ensure_default_banks, get_bank
from rescind.platform.check import check_and_record
from rescind.platform.media_signals import (
    bank_signals_from_media,
    media_limits,
    signals_from_media,
)
from rescind.platform.runtime import PlatformRuntime
from rescind.store import Database
from tests.media.test_robust_sparse import caption

LIMITS = media_limits(10 * 1024 * 1024)


def _file(image: Image.Image, kind: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind, **({"quality": 75} if kind == "JPEG" else {}))
    return buffer.getvalue()


def test_a_banked_caption_blocks_its_copies_not_another_caption(
    settings: Settings, database: Database
) -> None:
    banked = caption("dbsqad klyr ul cpucro", 32)
    other = caption("fmrllvr njqioc dr xjzg", 40)
    runtime = PlatformRuntime(settings, database.engine)
    with database.session() as session:
        ensure_default_banks(session, settings)
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
    verdicts = {}
    for content_id, data in checks.items():
        signals = signals_from_media(data, LIMITS)
        # The upload is sparse: every view it is checked with says so.
        assert all(h.sparse for h in signals.pdq if h.variant is not None)
        result = check_and_record(
            runtime.writer, runtime.matcher, content_id, url=None, signals=signals
        )
        verdicts[content_id] = result.verdict
    # Before the rule the other caption's centre crop met the banked one's 4% top crop at
    # 16 bits, both strong: it blocked.
    assert verdicts == {"other caption": "allow", "jpeg copy": "block", "cut copy": "block"}
