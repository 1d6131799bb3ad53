"""Signals of uploaded media, hashed server-side: MD5, SHA-256 and PDQ.

An image gives its plain PDQ hash (pdqhash's, to the bit, at full size) and the 7 other
orientations, exactly `rescind hash --dihedral`'s (the turned pixels' hashes up to float
rounding, not pdqhash's DCT-domain dihedral), then the copy-robust query views of
`rescind.media.robust.query_signals`: the picture with flat borders, letterbox bars and UI
frames trimmed, each in all 8 orientations (same function, its banded filter), weak views
(quality < 50) dropped. A video gives one hash per sampled frame and, when it has letterbox
or pillarbox bars, a second hash of the same frame inside them (same ``t``; the matcher counts
moments, not hashes). See docs/matching.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import partial

import numpy as np
from numpy.typing import NDArray

from rescind.media import ORIENTATIONS, MediaError, MediaLimits, MediaTooLarge, hash_bytes
from rescind.media import decode_cost as media_decode_cost
from rescind.media.image import decode_luma
from rescind.media.pdq import hash_luma
from rescind.media.robust import (
    CUT,
    EQUALISED,
    WEAK,
    RobustInputError,
    Signal,
    bank_signals,
    query_signals,
    view_kinds,
)
from rescind.media.robust_geometry import working_copy
from rescind.media.sniff import sniff
from rescind.media.video import hash_video_views
from rescind.platform.signals import MAX_FRAMES, PdqHash, Signals

__all__ = [
    "MediaError",
    "bank_signals_from_media",
    "bank_views",
    "decode_cost",
    "media_limits",
    "robust_pdq",
    "signals_from_media",
]


def media_limits(max_bytes: int, max_decode_bytes: int = 4 * 1024**3) -> MediaLimits:
    """Decoding limits for uploads of at most `max_bytes`, each hashed within about
    `max_decode_bytes` of memory (a check must stay interactive)."""
    return MediaLimits(
        max_bytes=max_bytes,
        max_image_bytes=max_bytes,
        max_decode_bytes=max_decode_bytes,
        max_video_seconds=3 * 3600.0,
        max_samples=MAX_FRAMES,
        max_wall_seconds=120.0,
    )


def signals_from_media(data: bytes, limits: MediaLimits) -> Signals:
    """Hash `data` (raises MediaError on anything that is not decodable media within limits).

    An image is decoded once: the first 8 PDQ hashes are exactly `hash_bytes(data,
    dihedral=True)`'s, the copy-robust views follow (at most 90, exact duplicates left out).
    """
    sniffed = sniff(data[:64]) if data else None
    if sniffed is not None and sniffed.kind == "video":
        return _video_signals(data, limits)
    if sniffed is None or sniffed.kind != "image":
        # Everything `hash_bytes` rejects, with the right message.
        hashes = hash_bytes(data, dihedral=True, limits=limits)
        if hashes.kind == "video":
            frames = tuple(PdqHash(h.hash, h.quality, h.t, plain=h.plain) for h in hashes.pdq)
            return Signals(frames=frames, md5=hashes.md5, sha256=hashes.sha256, plain_known=True)
        plain = [PdqHash(h.hash, h.quality, None, i) for i, h in enumerate(hashes.pdq)]
        return Signals(pdq=tuple(plain), md5=hashes.md5, sha256=hashes.sha256)
    if len(data) > limits.max_bytes:
        raise MediaTooLarge(f"file is {len(data)} bytes; the limit is {limits.max_bytes}")
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    sha256 = hashlib.sha256(data).hexdigest()
    decoded = decode_luma(data, limits)
    pdq = [
        PdqHash(h.hash, h.quality, None, i)
        for i, h in enumerate(
            hash_luma(
                decoded.luma, decoded.full_size, decoded.scale, decoded.reverse, dihedral=True
            )
        )
    ]
    views = robust_pdq(decoded.luma)
    if views and views[0].smooth:
        # A smooth picture (a gradient) is checked as uploaded and trimmed, never turned,
        # and only within the weak radius: its turns are other gradients (docs/matching.md).
        pdq = [replace(pdq[0], smooth=True)]
    seen = {h.hash for h in pdq}
    for h in views:
        if h.hash not in seen:
            seen.add(h.hash)
            pdq.append(h)
    return Signals(pdq=tuple(pdq), md5=md5, sha256=sha256)


# A banked video's frames one either side of each sampled one, at its time: a copy sampled a
# frame off (another frame rate, a frame dropped or added) still meets a banked frame.
BANK_NEIGHBOURS = 1
# Banked videos are sampled this often, so a copy cut at any offset (not a whole second)
# still meets a banked frame within a quarter of a second.
BANK_FPS = 2.0


def _video_signals(
    data: bytes, limits: MediaLimits, fps: float = 1.0, neighbours: int = 0
) -> Signals:
    """A video's frame hashes (`hash_bytes`'s first) and their other views, by time."""
    if len(data) > limits.max_bytes:
        raise MediaTooLarge(f"file is {len(data)} bytes; the limit is {limits.max_bytes}")
    views = hash_video_views(data, fps=fps, limits=limits, halves=True, neighbours=neighbours)
    both = sorted(
        [*views.frames, *(h for hs in views.views.values() for h in hs)],
        key=lambda h: h.t or 0.0,
    )
    return Signals(
        frames=tuple(PdqHash(h.hash, h.quality, h.t, plain=h.plain) for h in both),
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        plain_known=True,
    )


def robust_pdq(luma: NDArray[np.generic]) -> list[PdqHash]:
    """`query_signals` of a decoded image's luma, as platform PDQ hashes.

    Works on a grey copy at most 512 px on its longest side (the size `query_signals` cuts
    its views from anyway), so a 12 MP upload costs what a 512 px one does. The orientation
    of each hash is the one its variant was turned to (0 for the views as displayed, which
    the registry records as `pdq`, the others as `pdq_dihedral`); each keeps its variant's
    name (the matcher keeps crops and halves from the bank's turned views). A weak
    picture's equalised views (`rescind.media.robust.EQUALISED_PREFIX`) count as weak:
    they are searched within the weak radius, meet banked equalised views only and are not
    registered. Empty for an image too small to trim or turn.
    """
    views = _robust(luma, partial(query_signals, weak_views=True))
    out = []
    for s, kinds in zip(views, view_kinds(views), strict=True):
        _, _, turned = s.variant.partition("/")
        orientation = ORIENTATIONS.index(turned) if turned else 0
        out.append(
            PdqHash(
                s.hex,
                s.quality,
                None,
                orientation,
                weak=bool(kinds & (WEAK | EQUALISED)),
                variant=s.variant,
                smooth=s.smooth,
                sparse=s.sparse,
            )
        )
    return out


def bank_signals_from_media(data: bytes, limits: MediaLimits) -> Signals:
    """What to bank for an uploaded file (raises MediaError like `signals_from_media`).

    An image is decoded at full size (a large JPEG too, unlike a check), as a browser
    decodes it: a requester's device computes the same views (`static/views.js`). It gives
    its MD5, SHA-256 and plain PDQ hash (`hash_bytes`'s; a large JPEG's at full size), its 7 other
    orientations (exactly `hash_bytes(dihedral=True)`'s, `cut`), then the copy-robust bank
    views of `rescind.media.robust.bank_signals`: the picture with flat borders trimmed
    (matched like the plain hash) and its crops and slight tilts (`cut`: matched only against
    uploads as they are, never their turned views). A video gives its frames, as for a check.
    """
    sniffed = sniff(data[:64]) if data else None
    if sniffed is not None and sniffed.kind == "video":
        return _video_signals(data, limits, fps=BANK_FPS, neighbours=BANK_NEIGHBOURS)
    if sniffed is None or sniffed.kind != "image":
        return signals_from_media(data, limits)
    if len(data) > limits.max_bytes:
        raise MediaTooLarge(f"file is {len(data)} bytes; the limit is {limits.max_bytes}")
    # At full size, not the reduced DCT scale a check decodes a large JPEG at: banking is
    # rare, and a person's device decodes at full size, so its views agree within 2 bits.
    decoded = decode_luma(data, limits, reduce=False)
    turns = hash_luma(
        decoded.luma, decoded.full_size, decoded.scale, decoded.reverse, dihedral=True
    )
    robust = _robust(decoded.luma, partial(bank_signals, weak_views=True))
    # A smooth picture (a gradient) gets its whole views only, no turns, crops or tilts,
    # each marked smooth: the matcher holds them to the weak radius (docs/matching.md).
    smooth = bool(robust) and robust[0].smooth
    plain = PdqHash(turns[0].hash, turns[0].quality, variant="full", smooth=smooth)
    views = [
        (f"full/{ORIENTATIONS[orientation]}", h.hash, h.quality)
        for orientation, h in enumerate([] if smooth else turns[1:], start=1)
    ]
    # The working copy's own orientations are left out: the full-size ones above stand.
    views += [
        (s.variant, s.hex, s.quality) for s in robust if s.variant.partition("/")[0] != "full"
    ]
    pdq = [plain, *bank_views(plain, views, smooth=smooth)]
    return Signals(
        pdq=tuple(pdq),
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def bank_views(
    plain: PdqHash, views: Iterable[tuple[str, str, int]], *, smooth: bool = False
) -> list[PdqHash]:
    """The entries to bank for a picture's views `(variant, hex, quality)` beside its own
    hash `plain`: the rule of `bank_signals_from_media`, for the views a server computes from
    a file and those a requester's device computed (`static/views.js`, the same names).

    The 7 other orientations (`full/<orientation>`, exactly `rescind hash --dihedral`'s)
    are banked as cut entries: a platform that sends the plain hash of a mirrored or turned
    upload meets one of them, and they never meet an upload's own turned views; weak ones
    too (the matcher holds a weak cut entry to the weak views' radius). Of the other views,
    trimmed ones are matched like the plain hash and crops and tilts (`cut`) only against
    uploads as they are; a weak view is kept only as a cut entry, and so are a weak
    picture's equalised views (which meet an upload's equalised views only, see the
    matcher). `full` itself is `plain`.
    Each hash once, in the order given; every entry keeps its variant's name. `smooth`: of
    a smooth picture (`rescind.media.robust.is_smooth`), whose entries are all marked so.
    """
    named = [
        Signal(bytes.fromhex(h), quality, variant, smooth=smooth) for variant, h, quality in views
    ]
    seen = {plain.hash}
    out = []
    for view, kinds in zip(named, view_kinds(named), strict=True):
        base, _, turned = view.variant.partition("/")
        if base == "full":
            if not turned:
                continue
            entry = PdqHash(
                view.hex,
                view.quality,
                orientation=ORIENTATIONS.index(turned),
                cut=True,
                variant=view.variant,
                smooth=smooth,
            )
        elif kinds & (CUT | EQUALISED) or not kinds & WEAK:
            entry = PdqHash(
                view.hex,
                view.quality,
                cut=bool(kinds & (CUT | EQUALISED)),
                variant=view.variant,
                smooth=smooth,
            )
        else:
            continue
        if entry.hash not in seen:
            seen.add(entry.hash)
            out.append(entry)
    return out


def _robust(
    luma: NDArray[np.generic], views: Callable[[NDArray[np.uint8]], list[Signal]]
) -> list[Signal]:
    """`views` (query or bank) of a decoded image, on a grey copy of at most 512 px."""
    if luma.ndim != 2:
        return []
    # Clipped and rounded in one float copy (in place), then bytes: a full-size picture costs
    # 5 bytes a pixel here on top of its luma, not 9 (docs/benchmarks.md, "Decode budget").
    work = np.clip(np.asarray(luma, dtype=np.float32), 0, 255)
    np.round(work, out=work)
    grey = work.astype(np.uint8)
    del work
    try:
        small = working_copy(grey)
        return views(np.ascontiguousarray(small[:, :, None]))  # grey: one channel, not three
    except RobustInputError:
        return []


def decode_cost(data: bytes, limits: MediaLimits, *, bank: bool = False) -> int:
    """Estimated peak bytes of `signals_from_media` (or, with `bank`,
    `bank_signals_from_media`: a large JPEG at full size) on `data`, from its header alone.

    Raises MediaError for what the header already refuses, including an estimate over
    `limits.max_decode_bytes`: the decode would be refused anyway, before any pixel."""
    return media_decode_cost(data, reduce=not bank, limits=limits)
