"""Benchmark: hashing 720p H.264 at 1 frame per second, on one core, against a naive decoder.

Generates 60 s of 720p H.264 (a scikit-image photo panning, a moving square, light grain)
with PyAV, four ways: 30 fps with a keyframe every 30 frames (phone-camera style), 29.97 fps
with a keyframe every 30 frames (keyframes drift off whole seconds by 1 ms per second),
30 fps with x264's default keyframe interval (250 frames, or scene cuts), all with x264's
ultrafast preset (no B-frames), and the last again with the veryfast preset (B-frames, most of
them non-reference). For each, measures seconds of video hashed per wall-clock second by:

- naive: decode every frame, convert every frame to full-size RGB, PDQ the first frame of
  each second (the anchor);
- rescind: ``rescind.media.hash_video`` (decodes only the packets the sampled frames need,
  the decoder skipping the unsampled non-reference ones; hashes luma straight from the
  decoder's plane); for the 29.97 fps clip also with
  ``keyframe_window=0.5`` (a keyframe within half a second may stand in for the sample).

Everything runs on one core: FFmpeg decoder threads off, BLAS threads pinned to 1.

Run: ``.venv/bin/python bench/hash_video.py [--seconds 60] [--repeat 2] [--only TEXT]``
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads: one-core figures
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pdqhash
from PIL import Image
from skimage import data as skdata

from rescind.media import hamming_distance, hash_video, pdq_bits_to_hex

WIDTH, HEIGHT = 1280, 720


def make_video(
    path: Path, seconds: int, rate: Fraction, gop: int | None, preset: str = "ultrafast"
) -> None:
    """Encode the synthetic clip; ``gop`` None keeps x264's default keyframe interval."""
    source = np.asarray(Image.fromarray(skdata.coffee()).resize((2 * WIDTH, 2 * HEIGHT)))
    rng = np.random.default_rng(7)
    grain = rng.integers(-4, 5, size=(8, HEIGHT, WIDTH, 1), dtype=np.int16)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": preset, "crf": "23"}
        if gop:
            stream.gop_size = gop
        for i in range(round(seconds * rate)):
            x = int((WIDTH / 2) * (1 + np.sin(i / 90)))
            y = (i * 3) % HEIGHT
            frame = source[y : y + HEIGHT, x : x + WIDTH].astype(np.int16) + grain[i % 8]
            side = 160
            sx = (i * 11) % (WIDTH - side)
            frame[200 : 200 + side, sx : sx + side] = (40, 200, 90)
            rgb = np.clip(frame, 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def naive(path: Path) -> tuple[list[tuple[float, str]], int]:
    """Anchor: every frame decoded and converted to RGB; PDQ on the first of each second.

    "First frame of second k": the first at or after k, less half a frame for rounding.
    """
    hashes: list[tuple[float, str]] = []
    frames = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "NONE"
        half_frame = 0.5 / float(stream.average_rate)
        next_second = 0
        for frame in container.decode(stream):
            frames += 1
            rgb = frame.to_ndarray(format="rgb24")
            t = float(frame.time)
            if t >= next_second - half_frame:
                hashes.append((round(t, 3), pdq_bits_to_hex(pdqhash.compute(rgb)[0])))
                next_second = int(t + half_frame) + 1
    return hashes, frames


def keyframes(path: Path) -> int:
    """Keyframe count, from packet flags (no decoding)."""
    with av.open(str(path)) as container:
        return sum(1 for p in container.demux(video=0) if p.size and p.is_keyframe)


def main() -> None:
    """Generate the clips, time both hashers, print the table and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60, help="length of the generated clip")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each (best is kept)")
    parser.add_argument("--only", default="", help="run only the clips whose label has this")
    args = parser.parse_args()
    clips = [
        ("30 fps, keyframe every 30 frames", Fraction(30), 30, "ultrafast"),
        ("29.97 fps, keyframe every 30 frames", Fraction(30000, 1001), 30, "ultrafast"),
        ("30 fps, x264 default (keyint 250)", Fraction(30), None, "ultrafast"),
        ("30 fps, x264 default (keyint 250), B-frames", Fraction(30), None, "veryfast"),
    ]
    clips = [clip for clip in clips if args.only in clip[0]]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, rate, gop, preset in clips:
            path = Path(tmp) / "clip.mp4"
            make_video(path, args.seconds, rate, gop, preset)
            naive_s = naive_cpu = float("inf")
            for _ in range(args.repeat):
                started, cpu = time.perf_counter(), time.process_time()
                anchor, _decoded = naive(path)
                naive_s = min(naive_s, time.perf_counter() - started)
                naive_cpu = min(naive_cpu, time.process_time() - cpu)
            for window in (0.0, 0.5) if label.startswith("29.97") else (0.0,):
                ours_s = ours_cpu = float("inf")
                for _ in range(args.repeat):
                    started, cpu = time.perf_counter(), time.process_time()
                    ours = hash_video(path, collapse=False, keyframe_window=window)
                    ours_s = min(ours_s, time.perf_counter() - started)
                    ours_cpu = min(ours_cpu, time.process_time() - cpu)
                name = label + (f", keyframe_window={window:g}" if window else "")
                if window:
                    # Other frames than the anchor's by design: check they stay in their second.
                    assert all(abs((h.t or 0) - k) <= window for k, h in enumerate(ours))
                    bits = "other frames"
                else:
                    assert [h.t for h in ours] == [t for t, _ in anchor], "sampling differs"
                    pairs = zip(ours, anchor, strict=True)
                    d = np.asarray([hamming_distance(h.hash, a) for h, (_, a) in pairs])
                    bits = f"{np.median(d):g} / {d.max()}"
                rows.append(
                    (name, keyframes(path), naive_s, naive_cpu, ours_s, ours_cpu, len(ours), bits)
                )
    print(
        f"{args.seconds} s of {WIDTH}x{HEIGHT} H.264, 1 hash per second, one core, "
        f"best of {args.repeat}"
    )
    print()
    print(
        "| clip | keyframes | naive: s | naive: x real time (wall / CPU) | rescind: s "
        "| rescind: x real time (wall / CPU) | speed-up | hashes | bits from naive: median / max |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, keys, naive_s, naive_cpu, ours_s, ours_cpu, n, bits in rows:
        secs = args.seconds
        print(
            f"| {name} | {keys} | {naive_s:.2f} | {secs / naive_s:.1f} / {secs / naive_cpu:.1f} "
            f"| {ours_s:.2f} | {secs / ours_s:.1f} / {secs / ours_cpu:.1f} "
            f"| {naive_s / ours_s:.1f}x | {n} | {bits} |"
        )
    print()
    print("CPU: process CPU time, i.e. the figure for one dedicated core when others share it.")


if __name__ == "__main__":
    main()
