"""Measure the real peak memory of hashing one upload, per format, mode and size.

Each case runs in a fresh process: the input is generated, the kernels warmed up, the
process's peak-RSS mark reset (``/proc/self/clear_refs``, Linux), then the upload is hashed
as the server does (``signals_from_media`` for a check, ``bank_signals_from_media`` for a
bank entry). The figure is the peak RSS above the RSS just before (the input bytes excluded:
the server holds them already), beside the header-only estimate
(`rescind.platform.media_signals.decode_cost`). The estimate's per-pixel factors were fitted
on these measurements.

Run: ``PYTHONPATH=src .venv/bin/python bench/decode_memory.py [--sizes 2,8,16] [--only png]``
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import io
import json
import subprocess
import sys
import tempfile
import time

CASES = [
    # (name, format, mode, purpose)
    ("jpeg-rgb", "JPEG", "RGB", "check"),
    ("jpeg-rgb", "JPEG", "RGB", "bank"),
    ("jpeg-grey", "JPEG", "L", "check"),
    ("png-rgb", "PNG", "RGB", "check"),
    ("png-rgb", "PNG", "RGB", "bank"),
    ("png-rgba", "PNG", "RGBA", "check"),
    ("png-grey", "PNG", "L", "check"),
    ("png-1bit", "PNG", "1", "check"),
    ("png-palette", "PNG", "P", "check"),
    ("png-16bit", "PNG", "I;16", "check"),
    ("tiff-cmyk", "TIFF", "CMYK", "check"),
    ("gif", "GIF", "P", "check"),
    ("webp-rgb", "WEBP", "RGB", "check"),
    ("heif-rgb", "HEIF", "RGB", "check"),
    ("avif-rgb", "AVIF", "RGB", "check"),
    ("webp-anim", "WEBP-ANIM", "RGB", "check"),
    ("png-anim", "PNG-ANIM", "RGB", "check"),
    ("jpeg-exif6", "JPEG-EXIF6", "RGB", "bank"),
    ("mp4", "MP4", "yuv420p", "check"),
    ("mp4", "MP4", "yuv420p", "bank"),
]


def make_input(fmt: str, mode: str, megapixels: float) -> bytes:
    """A photo-like picture (the astronaut, resized) of about `megapixels`, 4:3."""
    import numpy as np
    import skimage.data
    from PIL import Image

    if fmt == "MP4":
        return make_video(megapixels)
    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = int(megapixels * 1e6 / width)
    picture = Image.fromarray(skimage.data.astronaut()).resize((width, height))
    if mode == "I;16":
        grey = np.asarray(picture.convert("L"), dtype=np.uint16) * 257
        picture = Image.fromarray(grey)
    elif mode == "P":
        picture = picture.quantize(64)
    else:
        picture = picture.convert(mode)
    out = io.BytesIO()
    options: dict[str, object] = {"quality": 90} if fmt in ("JPEG", "WEBP") else {}
    if fmt in ("HEIF", "AVIF"):
        from pillow_heif import register_heif_opener

        register_heif_opener()
    if fmt.endswith("-ANIM"):
        fmt = fmt.removesuffix("-ANIM")
        options.update(save_all=True, append_images=[picture.rotate(180)], duration=500)
    if fmt == "JPEG-EXIF6":
        fmt = "JPEG"
        exif = Image.Exif()
        exif[0x0112] = 6
        options["exif"] = exif.tobytes()
    picture.save(out, fmt, **options)
    return out.getvalue()


def make_video(megapixels: float, seconds: int = 10, fps: int = 25) -> bytes:
    """An H.264 MP4 (yuv420p, 16:9) of about `megapixels` a frame: a photo panning."""
    import av
    import numpy as np
    import skimage.data
    from PIL import Image

    width = int((megapixels * 1e6 * 16 / 9) ** 0.5) // 16 * 16
    height = int(megapixels * 1e6 / width) // 16 * 16
    source = np.asarray(Image.fromarray(skimage.data.astronaut()).resize((width * 2, height)))
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for i in range(seconds * fps):
            x = i * width // (seconds * fps)
            frame = av.VideoFrame.from_ndarray(source[:, x : x + width].copy(), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def _status(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def measure_one(path: str, purpose: str) -> dict[str, object]:
    """In this (fresh) process: peak RSS growth of hashing the file at `path`."""
    from rescind.media import warm_up
    from rescind.platform.media_signals import (
        bank_signals_from_media,
        decode_cost,
        media_limits,
        signals_from_media,
    )

    with open(path, "rb") as fh:
        data = fh.read()
    limits = media_limits(2 * 1024**3)
    warm_up()
    run = bank_signals_from_media if purpose == "bank" else signals_from_media
    estimate = decode_cost(data, limits, bank=purpose == "bank")
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset the peak-RSS mark to the current RSS
    before = _status("VmRSS:")
    cpu, wall = time.process_time(), time.perf_counter()
    run(data, limits)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    peak = _status("VmHWM:") - before
    return {
        "purpose": purpose,
        "bytes": len(data),
        "peak_mb": round(peak / 1e6, 1),
        "estimate_mb": round(estimate / 1e6, 1),
        "cpu_s": round(cpu, 2),
        "wall_s": round(wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="2,8,16", help="megapixels, comma separated")
    parser.add_argument("--only", default="", help="case name substring")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        path, purpose = json.loads(args.one)
        print(json.dumps(measure_one(path, purpose)))
        return
    print("case purpose megapixels bytes peak_mb estimate_mb cpu_s wall_s")
    for name, fmt, mode, purpose in CASES:
        if args.only not in name:
            continue
        for mp in (float(s) for s in args.sizes.split(",")):
            # Made here, not in the measuring process: its allocator starts clean.
            with tempfile.NamedTemporaryFile(suffix=".bin") as fh:
                fh.write(make_input(fmt, mode, mp))
                fh.flush()
                out = subprocess.run(
                    [sys.executable, __file__, "--one", json.dumps([fh.name, purpose])],
                    capture_output=True,
                    text=True,
                    check=True,
                )
            r = json.loads(out.stdout)
            print(
                name, purpose, mp, r["bytes"], r["peak_mb"], r["estimate_mb"], r["cpu_s"],
                r["wall_s"], flush=True,
            )  # fmt: skip


if __name__ == "__main__":
    main()
