"""Fuzz the decoders: mutated valid files must hash or raise MediaError, nothing else."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rescind.media import MediaError, MediaLimits, hash_bytes
from tests.media.conftest import encode, moving_frames, photo, write_video

# Small limits keep every example fast even when a mutation inflates a header.
LIMITS = MediaLimits(max_pixels=4_000_000, max_video_frames=2_000, max_wall_seconds=5)


@functools.cache
def seeds() -> dict[str, bytes]:
    """One small valid file per decoder."""
    small = photo("astronaut").resize((48, 40))
    out = {
        fmt: encode(small, fmt)
        for fmt in ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "HEIF", "AVIF")
    }
    frames = moving_frames(1, 5, (64, 48))
    with tempfile.TemporaryDirectory() as tmp:
        for name, codec in (("mp4", "libx264"), ("webm", "libvpx-vp9"), ("avi", "mpeg4")):
            path = write_video(Path(tmp) / f"seed.{name}", frames, 5, codec=codec)
            out[name] = path.read_bytes()
    return out


@st.composite
def mutated(draw: st.DrawFn, seed: str) -> bytes:
    data = bytearray(seeds()[seed])
    kind = draw(st.sampled_from(["flip", "truncate", "overwrite", "insert"]))
    if kind == "flip":
        for _ in range(draw(st.integers(1, 16))):
            pos = draw(st.integers(0, len(data) - 1))
            data[pos] ^= 1 << draw(st.integers(0, 7))
    elif kind == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif kind == "overwrite":
        pos = draw(st.integers(0, len(data) - 1))
        chunk = draw(st.binary(min_size=1, max_size=64))
        data[pos : pos + len(chunk)] = chunk
    else:
        pos = draw(st.integers(0, len(data)))
        data[pos:pos] = draw(st.binary(min_size=1, max_size=256))
    return bytes(data)


def check(data: bytes) -> None:
    try:
        result = hash_bytes(data, limits=LIMITS)
    except MediaError as exc:
        assert str(exc)  # every error carries a message for the user
        return
    assert all(len(h.hash) == 64 for h in result.pdq)


FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.parametrize("seed", ["JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "HEIF", "AVIF"])
def test_mutated_images_only_raise_media_errors(seed: str) -> None:
    @FUZZ
    @given(mutated(seed))
    def run(data: bytes) -> None:
        check(data)

    run()


@pytest.mark.parametrize("seed", ["mp4", "webm", "avi"])
def test_mutated_videos_only_raise_media_errors(seed: str) -> None:
    @FUZZ
    @given(mutated(seed))
    def run(data: bytes) -> None:
        check(data)

    run()


@FUZZ
@given(st.binary(max_size=512))
def test_random_bytes_only_raise_media_errors(data: bytes) -> None:
    check(data)
