"""Hash and request builders for platform tests (random hashes; no media), a check that
records in the caller's transaction, and uploads checked and swept through a runtime."""

from __future__ import annotations

import io
import random
from collections.abc import Mapping
from datetime import timedelta

import numpy as np
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.platform.banks import NCII_BANK, BankPolicy, add_signals, get_bank, policy_of
from rescind.platform.check import check_and_record
from rescind.platform.matcher import Matcher, MatcherEntry
from rescind.platform.runtime import PlatformRuntime
from rescind.platform.signals import VIDEO_PDQ, PdqHash, Signals
from rescind.platform.sweep import Copy, sweep_copies
from rescind.store import Database
from rescind.store.columns import utcnow
from rescind.store.models import BankEntry, Request, RequestItem


def random_pdq(rng: random.Random) -> str:
    """A random 256-bit hash as 64 hex characters."""
    return f"{rng.getrandbits(256):064x}"


def flip(hex_hash: str, bits: int, rng: random.Random) -> str:
    """`hex_hash` with `bits` distinct random bits flipped."""
    value = int(hex_hash, 16)
    for bit in rng.sample(range(256), bits):
        value ^= 1 << bit
    return f"{value:064x}"


def hamming(a: str, b: str) -> int:
    """Bits differing between two hex hashes of equal length."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def make_request(session: Session, case_number: str, items: list[dict[str, object]]) -> Request:
    """A removal request with `items` (RequestItem fields), as intake would store it, its items
    decided `remove` unless they say otherwise."""
    now = utcnow()
    request = Request(
        case_number=case_number,
        status="in_review",
        channel="api",
        received_at=now,
        deadline_at=now + timedelta(hours=48),
        language="en",
        signature="A Person",
        good_faith_statement="I did not consent.",
        requester_name_enc=b"x",
        requester_email_enc=b"x",
        secret_hash="x",
        items=[RequestItem(**{"status": "remove", **item}) for item in items],  # type: ignore[arg-type]
    )
    session.add(request)
    session.flush()
    return request


def gradient_png() -> bytes:
    """A grey sine gradient: a smooth picture (rescind.media.pdq.smooth_buffers)."""
    yy, xx = np.mgrid[0:240, 0:320].astype(np.float32)
    wave = 20 + 215 * (np.sin((0.88 * xx / 320 + 0.48 * yy / 240) * 3.0 * np.pi) + 1) / 2
    out = io.BytesIO()
    Image.fromarray(wave.clip(0, 255).astype(np.uint8)).convert("RGB").save(out, "PNG")
    return out.getvalue()


def gradient(size: tuple[int, int], angle: float, periods: float, lo: int, hi: int) -> bytes:
    """A grey sine gradient as PNG (`periods` half-waves along `angle`, between grey levels
    `lo` and `hi`): a smooth picture (rescind.media.pdq.smooth_buffers)."""
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    t = (np.cos(angle) * xx / width + np.sin(angle) * yy / height) * periods
    wave = lo + (hi - lo) * (np.sin(t * np.pi) + 1) / 2
    out = io.BytesIO()
    Image.fromarray(wave.clip(0, 255).astype(np.uint8)).convert("RGB").save(out, "PNG")
    return out.getvalue()


def video_matcher(banked: dict[str, Signals], settings: Settings | None = None) -> Matcher:
    """A matcher holding each named video's frame hashes (one group per name) in one
    blocking bank, loaded without a database."""
    matcher = Matcher(settings or Settings())
    matcher.banks = {1: BankPolicy(1, "ncii", "ncii", 31, "block", True)}
    frames = [(group, h) for group, signals in banked.items() for h in signals.frames]
    matcher.load_entries(
        MatcherEntry(i, 1, VIDEO_PDQ, h.hash, h.quality, group_key=group, t=h.t, plain=h.plain)
        for i, (group, h) in enumerate(frames, 1)
    )
    return matcher


def video_of(seconds: list[tuple[str, int]]) -> Signals:
    """A video's signals from one (hash, quality) per second, at 0, 1, 2... seconds."""
    return Signals(frames=tuple(PdqHash(h, q, float(t)) for t, (h, q) in enumerate(seconds)))


def check_all(runtime: PlatformRuntime, uploads: Mapping[str, Signals]) -> dict[str, str]:
    """Check and register each upload by its content id, as `/v1/check` does; the verdicts."""
    return {
        content_id: check_and_record(
            runtime.writer, runtime.matcher, content_id, url=None, signals=signals
        ).verdict
        for content_id, signals in uploads.items()
    }


def sweep_bank(
    database: Database, settings: Settings, runtime: PlatformRuntime, bank_name: str = NCII_BANK
) -> list[Copy]:
    """The copy sweep of every entry of one bank against the registered uploads."""
    with database.session() as session:
        bank = get_bank(session, bank_name)
        entries = session.scalars(select(BankEntry).where(BankEntry.bank_id == bank.id))
        return sweep_copies(session, settings, runtime, list(entries), policy_of(bank))


def check_then_sweep(
    database: Database,
    settings: Settings,
    runtime: PlatformRuntime,
    uploads: Mapping[str, Signals],
    banked: Signals,
) -> tuple[set[str], list[Copy]]:
    """Register `uploads` (nothing banked yet), bank `banked` in the ncii bank, then which
    uploads a check finds now, and the copy sweep of the bank: the two to compare."""
    check_all(runtime, uploads)
    with database.session() as session:
        add_signals(session, get_bank(session, NCII_BANK), banked, source="reviewer")
    runtime.sync_all()
    checked = {c for c, signals in uploads.items() if runtime.matcher.match(signals)}
    return checked, sweep_bank(database, settings, runtime)
