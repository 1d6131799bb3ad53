"""Benchmark: device hashing (``/static/hasher.js``) in headless Chromium against the server.

Generates test media (scikit-image photos, a 12 MP JPEG, 60 s of 720p H.264, a short WebM)
and hashes each file twice in the same run: in Chromium through ``hashFile`` (the app serves
the page and the module; the file is handed over by a file input, as a person would), and
with ``rescind.media`` (``hash_file``; the bank views of ``media_signals``). Prints, per
file, the time taken and the bits of difference: of ``pdq[0]`` (or each video frame) from
the server's hash and from pdqhash's on the same pixels, and the largest over the bank
views. The anchors: a 12 MP JPEG with all its bank views in under 1 s, 60 s of 720p H.264 in
under 10 s.

Run: ``PYTHONPATH=src .venv/bin/python bench/browser_hash.py [--only TEXT] [--json PATH]``
"""

from __future__ import annotations

import argparse
import io
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any

import av
import numpy as np
import pdqhash
import uvicorn
from PIL import Image, ImageOps
from playwright.sync_api import sync_playwright
from skimage import data as skdata

from rescind.config import Settings
from rescind.media import hamming_distance, hash_file, hash_video, pdq_bits_to_hex
from rescind.media.image import decode_luma
from rescind.media.pdq import hash_luma
from rescind.media.robust import bank_signals
from rescind.platform.media_signals import _robust
from rescind.store.db import upgrade_database
from rescind.web import create_app

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

HASH_JS = """
async (input, path) => {
  const { hashFile, _internal } = await import("/static/hasher.js");
  _internal.videoPath = path;
  _internal.lastVideoPath = null;
  const file = input.files[0];
  const started = performance.now();
  let longest = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) longest = Math.max(longest, entry.duration);
  });
  observer.observe({ type: "longtask" });
  const result = await hashFile(file);
  const ms = performance.now() - started;
  await new Promise((r) => setTimeout(r, 50));
  observer.disconnect();
  return { ms, longest, path: _internal.lastVideoPath, ...result };
}
"""


def photo(name: str) -> Image.Image:
    return Image.fromarray(getattr(skdata, name)()).convert("RGB")


def encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def write_video(
    path: Path, seconds: int, size: tuple[int, int], codec: str, rate: int, phone: bool = False
) -> None:
    """A coffee photo panning with a moving square and light grain. H.264 has a keyframe
    every second; `phone` makes it as a phone camera or an editor might: B-frames and a
    keyframe every 4 s, so most sampled frames need delta frames decoded."""
    width, height = size
    source = np.asarray(photo("coffee").resize((2 * width, 2 * height)))
    rng = np.random.default_rng(7)
    grain = rng.integers(-4, 5, size=(4, height, width, 1), dtype=np.int16)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=Fraction(rate))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if codec == "libx264" and phone:
            stream.options = {"preset": "veryfast", "crf": "23", "bf": "3"}
            stream.gop_size = 4 * rate
        elif codec == "libx264":
            stream.options = {"preset": "ultrafast", "crf": "23"}
            stream.gop_size = rate
        else:
            stream.options = {"deadline": "realtime", "cpu-used": "8", "b": "1M"}
            stream.gop_size = 2 * rate
        for i in range(seconds * rate):
            x = int((width / 2) * (1 + np.sin(i / 90)))
            y = int((height / 2) * (1 + np.cos(i / 70)))
            frame = source[y : y + height, x : x + width].astype(np.int16) + grain[i % 4]
            side = height // 5
            sx = (i * 11) % (width - side)
            frame[:side, sx : sx + side] = (250, 40, 40)
            array = np.clip(frame, 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def make_media(root: Path) -> list[Path]:
    files = []
    for name in ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins"):
        path = root / f"{name}-q85.jpg"
        path.write_bytes(encode(photo(name), "JPEG", quality=85))
        files.append(path)
    big = root / "astronaut-12mp.jpg"
    big.write_bytes(
        encode(photo("astronaut").resize((4000, 3000), Image.LANCZOS), "JPEG", quality=90)
    )
    files.append(big)
    mp4 = root / "coffee-720p-60s.mp4"
    write_video(mp4, 60, (1280, 720), "libx264", 30)
    files.append(mp4)
    phone = root / "coffee-720p-60s-bframes.mp4"
    write_video(phone, 60, (1280, 720), "libx264", 30, phone=True)
    files.append(phone)
    webm = root / "coffee-360p-10s.webm"
    write_video(webm, 10, (640, 360), "libvpx-vp9", 25)
    files.append(webm)
    return files


@contextmanager
def served(root: Path) -> Iterator[str]:
    settings = Settings(
        environment="test", data_dir=root, database_url=f"sqlite:///{root / 'bench.db'}"
    )
    upgrade_database(settings)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def tree_cpu_seconds() -> float:
    """User + system CPU seconds of this process's descendants (the browser's processes)."""
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parent[pid] = int(fields[1])
        ticks[pid] = int(fields[11]) + int(fields[12])
    mine = {os.getpid()}
    grew = True
    while grew:
        more = {pid for pid, ppid in parent.items() if ppid in mine and pid not in mine}
        mine |= more
        grew = bool(more)
    mine.discard(os.getpid())
    return sum(ticks.get(pid, 0) for pid in mine) / os.sysconf("SC_CLK_TCK")


def pdqhash_of(path: Path) -> str:
    image = ImageOps.exif_transpose(Image.open(path))
    bits, _ = pdqhash.compute(np.ascontiguousarray(np.asarray(image.convert("RGB"))))
    return pdq_bits_to_hex(bits)


def compare_image(path: Path, got: dict[str, Any]) -> tuple[str, dict[str, int]]:
    started = time.perf_counter()
    server = hash_file(path)
    raw = path.read_bytes()
    # What bank_signals_from_media computes: full-size decode, orientations at full size.
    decoded = decode_luma(raw, reduce=False)
    views = {
        s.variant: s.hex for s in _robust(decoded.luma, partial(bank_signals, weak_views=True))
    }
    turns = hash_luma(
        decoded.luma, decoded.full_size, decoded.scale, decoded.reverse, dihedral=True
    )
    views.update({f"full/{h.orientation}": h.hash for h in turns[1:]})
    server_s = time.perf_counter() - started
    ours = got["pdq"][0]["hash"]
    per_view = {
        v["variant"]: hamming_distance(v["hash"], views[v["variant"]]) for v in got["views"]
    }
    line = (
        f"pdq[0] {hamming_distance(ours, server['pdq'][0]['hash']):3} bits from server, "
        f"{hamming_distance(ours, pdqhash_of(path)):3} from pdqhash; "
        f"{len(per_view)} views, max {max(per_view.values(), default=0)} bits; "
        f"server {server_s * 1000:.0f} ms"
    )
    assert got["md5"] == server["md5"] and got["sha256"] == server["sha256"]
    return line, per_view


def compare_video(path: Path, got: dict[str, Any]) -> str:
    started = time.perf_counter()
    server = hash_video(path, collapse=False)
    server_s = time.perf_counter() - started
    by_t = {round(h.t or 0.0, 2): h for h in server}
    bits = []
    for frame in got["pdq"]:
        theirs = by_t.get(round(frame["t"], 2))
        bits.append(hamming_distance(frame["hash"], theirs.hash) if theirs else 999)
    within = sum(b <= 2 for b in bits)
    return (
        f"{len(got['pdq'])} frames (server {len(server)} uncollapsed), "
        f"{within}/{len(bits)} within 2 bits, max {max(bits, default=0)}; "
        f"server {server_s * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="only files whose name contains this")
    parser.add_argument("--json", type=Path, help="write the device results here")
    parser.add_argument(
        "--video-path",
        choices=("both", "auto", "webcodecs", "element"),
        default="both",
        help="how the device decodes videos: WebCodecs, the <video> element, each in turn "
        "(both), or WebCodecs with the element as fallback (auto)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = [f for f in make_media(root) if args.only in f.name]
        results = {}
        worst: dict[str, int] = {}
        with served(root) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page()
            page.goto(f"{base}/")
            page.evaluate(
                "() => { const i = document.createElement('input'); i.type = 'file';"
                " i.id = 'bench-file'; document.body.append(i); }"
            )
            print(
                f"{'file':30} {'MB':>6} {'path':>9} {'device':>9} {'cpu':>7} {'long task':>9}  "
                "agreement"
            )
            ways = {
                "both": ["webcodecs", "element"],
                "auto": [None],
                "webcodecs": ["webcodecs"],
                "element": ["element"],
            }[args.video_path]
            runs = [
                (path, way)
                for path in files
                for way in (ways if path.suffix in (".mp4", ".webm", ".mov") else [None])
            ]
            for path, way in runs:
                page.set_input_files("#bench-file", str(path))
                cpu = tree_cpu_seconds()
                got = page.eval_on_selector("#bench-file", HASH_JS, way)
                cpu = tree_cpu_seconds() - cpu
                results[f"{path.name} {way or ''}".strip()] = got
                if got["kind"] == "image":
                    line, per_view = compare_image(path, got)
                    for k, v in per_view.items():
                        worst[k] = max(worst.get(k, 0), v)
                else:
                    line = compare_video(path, got)
                size = path.stat().st_size / 1e6
                ran = got["path"] or "-"
                print(
                    f"{path.name:30} {size:6.1f} {ran:>9} {got['ms']:7.0f}ms {cpu:6.1f}s "
                    f"{got['longest']:7.0f}ms  {line}"
                )
            browser.close()
        print("max bits per bank view: " + " ".join(f"{k}={v}" for k, v in worst.items()))
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
