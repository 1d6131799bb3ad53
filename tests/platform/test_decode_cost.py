"""The memory a decode reserves is estimated from the header alone, refuses what is over a
decode's limit before any pixel is decoded, and is not less than what hashing really takes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import skimage.data
from PIL import Image

from rescind.media import MediaLimits, MediaTooLarge, decode_cost, hash_bytes, hash_video
from rescind.media.image import DECODE_BASE_BYTES, DECODE_BYTES_PER_PIXEL
from rescind.platform.media_signals import decode_cost as upload_cost
from rescind.platform.media_signals import media_limits
from tests.media.conftest import moving_frames, write_video

MIB = 1024**2
ROOT = Path(__file__).resolve().parents[2]


def _picture(side: int, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).resize((side, side)).save(out, fmt)
    return out.getvalue()


def test_an_input_over_the_decode_memory_is_refused_from_its_header() -> None:
    png = _picture(1000)
    cost = decode_cost(png)
    assert cost == DECODE_BASE_BYTES + DECODE_BYTES_PER_PIXEL * 1000 * 1000
    tight = MediaLimits(max_decode_bytes=cost - 1)
    with pytest.raises(MediaTooLarge, match="MiB of memory"):
        decode_cost(png, limits=tight)
    with pytest.raises(MediaTooLarge, match="MiB of memory"):
        hash_bytes(png, limits=tight)  # `rescind hash` too: the decoder checks the same estimate
    assert hash_bytes(png, limits=MediaLimits(max_decode_bytes=cost)).pdq


def test_a_large_jpeg_costs_what_its_reduced_decode_costs_in_a_check_not_in_a_bank() -> None:
    jpeg = _picture(2048, "JPEG")
    limits = media_limits(10 * MIB)
    # 1/4 scale for a check (512 px short side), full size for the bank.
    assert upload_cost(jpeg, limits) == DECODE_BASE_BYTES + DECODE_BYTES_PER_PIXEL * 512 * 512
    assert upload_cost(jpeg, limits, bank=True) == (
        DECODE_BASE_BYTES + DECODE_BYTES_PER_PIXEL * 2048 * 2048
    )


def test_a_video_over_the_decode_memory_is_refused_before_a_frame_is_decoded(
    tmp_path: Path,
) -> None:
    path = write_video(tmp_path / "v.mp4", moving_frames(2, 10, (320, 240)), 10)
    data = path.read_bytes()
    cost = decode_cost(data)
    # 16 reference frames and 8 working ones of 320x240 4:2:0, the hashing buffers, 20 packets
    assert cost == 16 * MIB + 320 * 240 * (1.5 * 24 + 8) + 20 * 400
    with pytest.raises(MediaTooLarge, match="MiB of memory"):
        hash_video(data, limits=MediaLimits(max_decode_bytes=cost - 1))
    assert hash_video(data, limits=MediaLimits(max_decode_bytes=cost))


_MEASURE = textwrap.dedent(
    """
    import json, sys
    from rescind.media import warm_up
    from rescind.platform.media_signals import (
        bank_signals_from_media, decode_cost, media_limits, signals_from_media)

    def status(field):
        with open("/proc/self/status") as fh:
            return next(int(l.split()[1]) * 1024 for l in fh if l.startswith(field))

    warm_up()
    limits = media_limits(100 * 1024**2)
    out = []
    for path, bank in json.loads(sys.argv[1]):
        data = open(path, "rb").read()
        estimate = decode_cost(data, limits, bank=bank)
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # the peak-RSS mark starts again from the current RSS
        before = status("VmRSS:")
        (bank_signals_from_media if bank else signals_from_media)(data, limits)
        out.append([status("VmHWM:") - before, estimate])
    print(json.dumps(out))
    """
)


@pytest.mark.skipif(not os.access("/proc/self/clear_refs", os.W_OK), reason="Linux peak RSS")
def test_the_real_peak_memory_of_hashing_stays_under_the_estimate(tmp_path: Path) -> None:
    """Measured, in a fresh process: the peak RSS a 3,000 x 3,000 PNG check, a WebP check
    and a 2,400 x 2,400 JPEG banked at full size add stays under each one's estimate (the
    PNG's: ~12 bytes a pixel measured, 16 estimated)."""
    cases = []
    for name, side, fmt, bank in (
        ("a.png", 3000, "PNG", False),
        ("a.webp", 2400, "WEBP", False),
        ("a.jpg", 2400, "JPEG", True),
    ):
        path = tmp_path / name
        path.write_bytes(_picture(side, fmt))
        cases.append([str(path), bank])
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, json.dumps(cases)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=120,
    )
    measured = json.loads(out.stdout)
    for (path, _), (peak, estimate) in zip(cases, measured, strict=True):
        assert peak > 0.4 * estimate, (path, peak, estimate)  # it did decode the picture
        assert peak < estimate, (path, peak / MIB, estimate / MIB)
