"""Generated test media: scikit-image's shipped photos and synthetic videos made with PyAV."""

from __future__ import annotations

import io
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image
from skimage import data as skdata


def photo(name: str = "astronaut") -> Image.Image:
    """A natural photo that scikit-image ships (on disk, no download)."""
    array = getattr(skdata, name)()
    return Image.fromarray(array)


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    """The image encoded in a Pillow format, as bytes."""
    if fmt == "HEIF":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    buf = io.BytesIO()
    image.save(buf, format=fmt, **options)
    return buf.getvalue()


def moving_frames(
    seconds: float, fps: int, size: tuple[int, int], static: bool = False
) -> list[NDArray[np.uint8]]:
    """RGB frames of a photo panning and a square moving: each second looks different."""
    width, height = size
    src = np.asarray(photo("astronaut").resize((width * 2, height * 2)))
    frames = []
    for i in range(round(seconds * fps)):
        step = 0 if static else i
        x = (step * width // (fps * 4)) % width
        y = (step * height // (fps * 6)) % height
        frame = src[y : y + height, x : x + width].copy()
        if not static:
            side = max(4, height // 4)
            sx = (step * 7) % max(1, width - side)
            frame[:side, sx : sx + side] = (255, 255 - (step * 9) % 256, 0)
        frames.append(np.ascontiguousarray(frame))
    return frames


def write_video(
    path: Path,
    frames: list[NDArray[np.uint8]],
    fps: int,
    codec: str = "libx264",
    gop: int | None = None,
    audio: bool = False,
    rotation: int = 0,
    pix_fmt: str = "yuv420p",
    colorspace: int | None = None,
) -> Path:
    """Encode RGB frames (and optionally a second of silence) with PyAV.

    ``rotation`` stores a display matrix: players turn the picture that many degrees
    counter-clockwise, as phones do for portrait video. ``colorspace`` is the colour matrix
    the header names (FFmpeg's numbering: 1 is BT.709).
    """
    height, width = frames[0].shape[:2] if frames else (0, 0)
    with av.open(str(path), "w") as container:
        stream = None
        if frames:
            stream = container.add_stream(codec, rate=fps)
            stream.width, stream.height = width, height
            stream.pix_fmt = pix_fmt
            if colorspace is not None:
                stream.codec_context.colorspace = colorspace
            if codec == "libx264":
                stream.options = {"preset": "ultrafast", "crf": "20"}
            if gop:
                stream.gop_size = gop
            if rotation:
                stream.set_display_rotation(rotation)
        sound = container.add_stream("aac", rate=16000) if audio else None
        for array in frames:
            assert stream is not None
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)
        if sound is not None:
            samples = np.zeros((1, 16000), dtype=np.float32)
            aframe = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            aframe.sample_rate = 16000
            aframe.pts = 0
            aframe.time_base = Fraction(1, 16000)
            for packet in sound.encode(aframe):
                container.mux(packet)
            for packet in sound.encode():
                container.mux(packet)
    return path


VideoMaker = Callable[..., Path]


@pytest.fixture
def make_video(tmp_path: Path) -> VideoMaker:
    """Build a video file in the test's temporary directory."""

    def make(
        name: str = "clip.mp4",
        seconds: float = 4,
        fps: int = 10,
        size: tuple[int, int] = (160, 120),
        codec: str = "libx264",
        gop: int | None = None,
        static: bool = False,
        audio: bool = False,
    ) -> Path:
        frames = moving_frames(seconds, fps, size, static=static)
        return write_video(tmp_path / name, frames, fps, codec=codec, gop=gop, audio=audio)

    return make
