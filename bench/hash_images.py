"""Benchmark: PDQ of 12-megapixel JPEGs, Rescind's fast path against the reference path.

Test set: every natural photo scikit-image ships on disk, upscaled to 12 MP (bicubic) and
re-encoded as JPEG quality 90. Reference path (what python-threatexchange does): decode at
full size to RGB, ``pdqhash.compute`` on the full array. Ours: ``rescind.media.hash_image``.
Both run on one core (BLAS threads pinned to 1), interleaved file by file so that load from
other processes hits both alike.

Run: ``.venv/bin/python bench/hash_images.py [--repeat N]``
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads: one-core figures
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pdqhash
import skimage
from PIL import Image

from rescind.media import hamming_distance, hash_image, pdq_bits_to_hex

# Photographs (not drawings, charts or synthetic patterns) in skimage/data.
PHOTOS = [
    "astronaut.png",
    "brick.png",
    "camera.png",
    "cell.png",
    "chelsea.png",
    "clock_motion.png",
    "coffee.png",
    "coins.png",
    "grass.png",
    "gravel.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "microaneurysms.png",
    "moon.png",
    "motorcycle_left.png",
    "motorcycle_right.png",
    "page.png",
    "retina.jpg",
    "rocket.jpg",
    "text.png",
]
TARGET_PIXELS = 12_000_000


def build_set(out: Path) -> list[Path]:
    """12 MP JPEG versions of the photos present on disk."""
    data_dir = Path(skimage.__file__).parent / "data"
    files = []
    for name in PHOTOS:
        source = data_dir / name
        if not source.exists():
            continue
        image = Image.open(source)
        image = image.convert("L" if image.mode in ("L", "I;16") else "RGB")
        scale = (TARGET_PIXELS / (image.width * image.height)) ** 0.5
        size = (round(image.width * scale), round(image.height * scale))
        path = out / (source.stem + ".jpg")
        image.resize(size, Image.Resampling.BICUBIC).save(path, quality=90)
        files.append(path)
    return files


def reference(path: Path) -> str:
    """The reference path: full-size RGB decode, pdqhash on every pixel."""
    with Image.open(path) as image:
        bits, _ = pdqhash.compute(np.asarray(image.convert("RGB")))
    return pdq_bits_to_hex(bits)


def main() -> None:
    """Build the set, time both paths, print the table and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="timed passes (best is kept)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = build_set(Path(tmp))
        megapixels = statistics.mean(Image.open(p).width * Image.open(p).height for p in files)
        ref_best = ours_best = ref_cpu_best = ours_cpu_best = float("inf")
        distances: list[int] = []
        for _ in range(args.repeat):
            ref_time = ours_time = ref_cpu = ours_cpu = 0.0
            distances = []
            for path in files:
                started, cpu = time.perf_counter(), time.process_time()
                expected = reference(path)
                ref_time += time.perf_counter() - started
                ref_cpu += time.process_time() - cpu
                started, cpu = time.perf_counter(), time.process_time()
                got = hash_image(path)[0].hash
                ours_time += time.perf_counter() - started
                ours_cpu += time.process_time() - cpu
                distances.append(hamming_distance(expected, got))
            ref_best = min(ref_best, ref_time)
            ours_best = min(ours_best, ours_time)
            ref_cpu_best = min(ref_cpu_best, ref_cpu)
            ours_cpu_best = min(ours_cpu_best, ours_cpu)
    n = len(files)
    bits = np.asarray(distances)
    print(f"{n} JPEGs, mean {megapixels / 1e6:.1f} MP, quality 90; one core; best of {args.repeat}")
    print()
    header = "| path | files | MP | ms/file | files/s | bits from reference: median / p95 / max |"
    print(header)
    print("|---|---|---|---|---|---|")
    print(
        f"| reference (full decode + pdqhash) | {n} | {megapixels / 1e6:.1f} "
        f"| {ref_best / n * 1000:.0f} | {n / ref_best:.2f} | 0 / 0 / 0 |"
    )
    print(
        f"| rescind (reduced luma decode + banded tent filter) | {n} | {megapixels / 1e6:.1f} "
        f"| {ours_best / n * 1000:.0f} | {n / ours_best:.2f} "
        f"| {np.median(bits):g} / {np.percentile(bits, 95):g} / {bits.max()} |"
    )
    print()
    print(f"speed ratio (reference time / ours): {ref_best / ours_best:.1f}x wall-clock, ", end="")
    print(f"{ref_cpu_best / ours_cpu_best:.1f}x CPU time")
    ref_ms, ours_ms = ref_cpu_best / n * 1000, ours_cpu_best / n * 1000
    print(f"CPU ms/file: reference {ref_ms:.0f}, rescind {ours_ms:.0f}")
    per_file = zip(files, distances, strict=True)
    print("bits per file:", " ".join(f"{p.stem}={d}" for p, d in per_file))


if __name__ == "__main__":
    main()
